import ChainCore
import Foundation
import GridCore

/// The JSON-lines format of `gridtop alerts --json`, of `gridtop alarms export --json`
/// and of the journal's `state` column (documented in docs/alerts-json.md).
///
/// Version 2 adds, to version 1: the events `shelved`, `unshelved`, `commented`,
/// `out-of-service`, `returned-to-service`, `suppressed`, `unsuppressed`; and the
/// fields `state`, `reason`, `raisedAt`, `changedAt`, `activeSince`, `acknowledgedBy`,
/// `acknowledgedAt`, `acknowledgeComment`, `shelved`, `outOfService`, `suppressedBy`,
/// `annunciated`, `comments`, `lastComment`. No v1 field changed meaning; `by` is now
/// also set on every operator event (and `system` when a shelf ends by itself).
public enum AlarmJSON {
    public static let formatVersion = 2

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
            "state": .string(a.state.rawValue),
            "count": .int(a.count),
            "message": .string(a.message),
            "interval": a.interval.map { .number(String($0)) } ?? .null,
            "raisedAt": .string(iso8601(a.raisedAt)),
            "changedAt": .string(iso8601(a.changedAt)),
            "annunciated": .bool(a.annunciated),
            "comments": .int(a.comments),
        ]
        if let i = a.interval { o["intervalTime"] = .string(iso8601(Double(i))) }
        if let origin = a.origin {
            o["block"] = .number(String(origin.blockNumber))
            o["blockHash"] = .string(origin.blockHash.hex)
            o["transaction"] = .string(origin.transactionHash.hex)
            o["logIndex"] = .int(Int(origin.logIndex))
        }
        if !a.suspects.isEmpty {
            o["suspects"] = .array(a.suspects.map { s in
                .object(["asset": .string(s.asset.hex), "assetName": .string(s.name),
                         "score": .number(String(format: "%.2f", s.score.isFinite ? s.score : 0)), "deficitWh": .number(String(Int64(s.deficitWh.rounded())))])
            })
        }
        if let by = t.by { o["by"] = .string(by) }
        if let r = t.reason { o["reason"] = .string(r) }
        if let s = a.activeSince { o["activeSince"] = .string(iso8601(s)) }
        if let s = a.acknowledgedBy { o["acknowledgedBy"] = .string(s) }
        if let s = a.acknowledgedAt { o["acknowledgedAt"] = .string(iso8601(s)) }
        if let s = a.acknowledgeComment { o["acknowledgeComment"] = .string(s) }
        if let s = a.shelving {
            var so: [String: JSON] = ["mode": .string(s.mode.rawValue), "reason": .string(s.reason), "by": .string(s.by), "at": .string(iso8601(s.at))]
            if let u = s.until { so["until"] = .string(iso8601(u)) }
            o["shelved"] = .object(so)
        }
        if let s = a.outOfService {
            o["outOfService"] = .object(["reason": .string(s.reason), "by": .string(s.by), "at": .string(iso8601(s.at))])
        }
        if let s = a.suppressedBy { o["suppressedBy"] = .int(s) }
        if let s = a.lastComment { o["lastComment"] = .string(s) }
        return .object(o)
    }

    /// One line; strings are JSON-escaped so chain text cannot inject terminal escapes.
    public static func line(_ t: AlarmTransition) -> String { object(t).serialized() }

    public struct DecodeError: Error, CustomStringConvertible, Equatable {
        public let description: String
        init(_ d: String) { description = d }
    }

    /// Reads a transition back (journal restore, consumers' tests). Accepts versions 1 and 2.
    public static func transition(from j: JSON) throws(DecodeError) -> AlarmTransition {
        func str(_ k: String) throws(DecodeError) -> String {
            guard let s = j[k]?.stringValue else { throw DecodeError("missing string field \(k)") }
            return s
        }
        func time(_ s: String?) throws(DecodeError) -> Double? {
            guard let s else { return nil }
            guard let t = parseISO8601(s) else { throw DecodeError("bad time \(s)") }
            return t
        }
        guard let v = j["v"]?.intValue, v == 1 || v == 2 else { throw DecodeError("unknown format version") }
        guard let event = AlarmEvent(rawValue: try str("event")) else { throw DecodeError("unknown event") }
        guard let kind = AlarmKind(rawValue: try str("kind")) else { throw DecodeError("unknown kind") }
        guard let priority = AlarmPriority.allCases.first(where: { $0.name == j["priority"]?.stringValue }) else { throw DecodeError("unknown priority") }
        guard let id = j["id"]?.intValue, let count = j["count"]?.intValue,
              let active = j["active"]?.boolValue, let acknowledged = j["acknowledged"]?.boolValue else { throw DecodeError("missing id/count/active/acknowledged") }
        let asset: AssetID
        do { asset = try AssetID(hex: try str("asset")) } catch { throw DecodeError("bad asset") }
        let stageName = try str("stage")
        let stage: Stage? = stageName == "ledger" ? nil
            : Stage(name: stageName) ?? (stageName.hasPrefix("stage ?") ? UInt8(stageName.dropFirst(7)).map(Stage.init(rawValue:)) : nil)
        guard let at = try time(j["ts"]?.stringValue) else { throw DecodeError("missing ts") }
        var origin: EventOrigin?
        if let b = j["block"]?.stringValue.flatMap(UInt64.init) ?? (j["block"].flatMap { if case .number(let n) = $0 { return UInt64(n) } else { return nil } }),
           let bh = j["blockHash"]?.stringValue, let tx = j["transaction"]?.stringValue, let li = j["logIndex"]?.intValue {
            do {
                origin = EventOrigin(blockNumber: b, blockHash: try Bytes32(hex: bh), transactionHash: try Bytes32(hex: tx), logIndex: UInt32(li))
            } catch { throw DecodeError("bad origin") }
        }
        var interval: UInt64?
        if case .number(let n)? = j["interval"] { interval = UInt64(n) }
        let raisedAt = try time(j["raisedAt"]?.stringValue) ?? at
        var a = Alarm(id: id, kind: kind, asset: asset, assetName: try str("assetName"), stage: stage, priority: priority,
                      active: active, acknowledged: acknowledged, raisedAt: raisedAt,
                      changedAt: try time(j["changedAt"]?.stringValue) ?? at, interval: interval,
                      message: try str("message"), count: count, origin: origin)
        a.activeSince = try time(j["activeSince"]?.stringValue) ?? (v == 1 && active ? raisedAt : nil)
        a.acknowledgedBy = j["acknowledgedBy"]?.stringValue ?? (event == .acknowledged ? j["by"]?.stringValue : nil)
        a.acknowledgedAt = try time(j["acknowledgedAt"]?.stringValue)
        a.acknowledgeComment = j["acknowledgeComment"]?.stringValue
        if let s = j["shelved"] {
            guard let mode = Shelving.Mode(rawValue: s["mode"]?.stringValue ?? ""), let reason = s["reason"]?.stringValue,
                  let by = s["by"]?.stringValue, let sat = try time(s["at"]?.stringValue) else { throw DecodeError("bad shelved") }
            a.shelving = Shelving(mode: mode, until: try time(s["until"]?.stringValue), reason: reason, by: by, at: sat)
        }
        if let s = j["outOfService"] {
            guard let reason = s["reason"]?.stringValue, let by = s["by"]?.stringValue, let sat = try time(s["at"]?.stringValue) else { throw DecodeError("bad outOfService") }
            a.outOfService = OutOfService(reason: reason, by: by, at: sat)
        }
        a.suppressedBy = j["suppressedBy"]?.intValue
        a.annunciated = j["annunciated"]?.boolValue ?? true
        a.comments = j["comments"]?.intValue ?? 0
        if case .array(let list)? = j["suspects"] {
            for s in list {
                guard let hex = s["asset"]?.stringValue, let id = try? AssetID(hex: hex), let name = s["assetName"]?.stringValue,
                      case .number(let score)? = s["score"], let sc = Double(score) else { throw DecodeError("bad suspect") }
                var deficit = 0.0
                if case .number(let d)? = s["deficitWh"] { deficit = Double(d) ?? 0 }
                a.suspects.append(AlarmSuspect(asset: id, name: name, score: sc, deficitWh: deficit))
            }
        }
        a.lastComment = j["lastComment"]?.stringValue
        return AlarmTransition(event: event, alarm: a, at: at, by: j["by"]?.stringValue, reason: j["reason"]?.stringValue)
    }

    public static func transition(fromLine line: String) throws -> AlarmTransition {
        try transition(from: try JSON.parse(line))
    }

    /// `2026-11-07T08:00:01.500Z`: UTC, milliseconds.
    public static func iso8601(_ unix: Double) -> String {
        let ms = Int64((unix * 1000).rounded(.down))
        var secs = ms / 1000
        var milli = ms % 1000
        if milli < 0 { milli += 1000; secs -= 1 }
        let c = UTCTime.civil(secs)
        func p(_ v: Int64, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(p(c.year, 4))-\(p(Int64(c.month), 2))-\(p(Int64(c.day), 2))T\(p(Int64(c.hour), 2)):\(p(Int64(c.minute), 2)):\(p(Int64(c.second), 2)).\(p(milli, 3))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC), as written by `iso8601`.
    public static func parseISO8601(_ s: String) -> Double? {
        let b = Array(s.utf8)
        guard b.count >= 20, b.last == UInt8(ascii: "Z"), b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58 else { return nil }
        func num(_ r: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in r { guard b[i] >= 48 && b[i] <= 57 else { return nil }; v = v * 10 + Int64(b[i] - 48) }
            return v
        }
        guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13), let mi = num(14..<16),
              let se = num(17..<19), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61 else { return nil }
        var frac = 0.0
        if b.count > 20 {
            guard b[19] == 46, b.count > 21, let f = num(20..<(b.count - 1)) else { return nil }
            frac = Double(f) / pow(10, Double(b.count - 21))
        }
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = mo > 2 ? mo - 3 : mo + 9
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Double(days * 86400 + h * 3600 + mi * 60 + se) + frac
    }
}
