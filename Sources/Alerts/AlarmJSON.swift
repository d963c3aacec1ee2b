import ChainCore
import Foundation
import GridCore

/// The JSON-lines format of `gridtop alerts --json` (documented in docs/alerts-json.md).
public enum AlarmJSON {
    public static let formatVersion = 1

    public static func object(_ t: AlarmTransition) -> JSON {
        let a = t.alarm
        var o: [String: JSON] = [
            "v": .int(formatVersion),
            "ts": .string(iso8601(t.at)),
            "event": .string(t.event.rawValue),
            "id": .int(a.id),
            "kind": .string(a.kind.rawValue),
            "priority": .string(a.priority.name),
            "asset": .string(a.asset.hex),
            "assetName": .string(a.assetName),
            "stage": .string(a.stageName),
            "active": .bool(a.active),
            "acknowledged": .bool(a.acknowledged),
            "count": .int(a.count),
            "message": .string(a.message),
            "interval": a.interval.map { .number(String($0)) } ?? .null,
        ]
        if let i = a.interval { o["intervalTime"] = .string(iso8601(Double(i))) }
        if let origin = a.origin {
            o["block"] = .number(String(origin.blockNumber))
            o["blockHash"] = .string(origin.blockHash.hex)
            o["transaction"] = .string(origin.transactionHash.hex)
            o["logIndex"] = .int(Int(origin.logIndex))
        }
        if let by = t.by { o["by"] = .string(by) }
        return .object(o)
    }

    /// One line; strings are JSON-escaped so chain text cannot inject terminal escapes.
    public static func line(_ t: AlarmTransition) -> String { object(t).serialized() }

    public static func iso8601(_ unix: Double) -> String {
        let d = Date(timeIntervalSince1970: unix)
        var f = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        f.timeZone = TimeZone(identifier: "UTC")!
        return d.formatted(f)
    }
}
