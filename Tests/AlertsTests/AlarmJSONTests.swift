import ChainCore
import Foundation
import GridCore
import XCTest
@testable import Alerts

/// The JSON-lines format stays as docs/alerts-json.md documents it.
final class AlarmJSONTests: XCTestCase {
    let asset = AssetID.asset(code: "TX-1")

    func testJSONLineHasTheRequiredFieldsAndEscapesChainText() throws {
        var book = AlarmBook()
        let t = book.raise(AlarmCondition(kind: .suspectedTheft, asset: asset, assetName: "evil\u{1b}[2J", stage: .transformer,
                                          interval: 1_794_038_400, message: "x"), now: 1_794_038_401.5)!
        let line = AlarmJSON.line(t)
        XCTAssertFalse(line.contains("\u{1b}"))
        let j = try JSON.parse(line)
        XCTAssertEqual(j["v"]?.intValue, 2)
        XCTAssertEqual(j["event"]?.stringValue, "raised")
        XCTAssertEqual(j["kind"]?.stringValue, "suspected-theft")
        XCTAssertEqual(j["asset"]?.stringValue, asset.hex)
        XCTAssertEqual(j["assetName"]?.stringValue, "evil\u{1b}[2J")
        XCTAssertEqual(j["stage"]?.stringValue, "transformer")
        XCTAssertEqual(j["interval"]?.intValue, 1_794_038_400)
        XCTAssertEqual(j["ts"]?.stringValue, "2026-11-07T08:00:01.500Z")
        XCTAssertEqual(j["message"]?.stringValue, "x")
        XCTAssertEqual(j["state"]?.stringValue, "unacknowledged")
    }

    /// A transition with every optional field set.
    func full() -> AlarmTransition {
        let origin = EventOrigin(blockNumber: 412, blockHash: Bytes32(uint: 9), transactionHash: Bytes32(uint: 10), logIndex: 17)
        var a = Alarm(id: 7, kind: .suspectedTheft, asset: asset, assetName: "TX \"1\"", stage: Stage(rawValue: 9), priority: .high,
                      active: true, acknowledged: true, raisedAt: 1_794_038_400.25, changedAt: 1_794_038_500, interval: 1_794_037_500,
                      message: "m", count: 3, origin: origin)
        a.acknowledgedBy = "ana"; a.acknowledgedAt = 1_794_038_450; a.acknowledgeComment = "crew"
        a.shelving = Shelving(mode: .timed, until: 1_794_040_000, reason: "r", by: "ana", at: 1_794_038_460)
        a.outOfService = OutOfService(reason: "o", by: "bo", at: 1_794_038_470)
        a.suppressedBy = 3; a.annunciated = true; a.comments = 2; a.lastComment = "c"
        a.suspects = [AlarmSuspect(asset: Bytes32(uint: 77), name: "H \"7\"", score: 8.25, deficitWh: 1200),
                      AlarmSuspect(asset: Bytes32(uint: 78), name: "H-8", score: 2.5, deficitWh: 0)]
        return AlarmTransition(event: .shelved, alarm: a, at: 1_794_038_500.125, by: "ana", reason: "r")
    }

    func testEveryTransitionRoundTrips() throws {
        let t = full()
        XCTAssertEqual(try AlarmJSON.transition(fromLine: AlarmJSON.line(t)), t)
        var book = AlarmBook()
        book.raise(AlarmCondition(kind: .consensusStall, asset: .zero, assetName: "chain", stage: nil, message: "s"), now: 5)
        let t2 = book.takeTransitions()[0]
        XCTAssertEqual(try AlarmJSON.transition(fromLine: AlarmJSON.line(t2)), t2)
        XCTAssertEqual(AlarmJSON.parseISO8601("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(AlarmJSON.iso8601(-0.5), "1969-12-31T23:59:59.500Z")
        for x in [0.0, 951_782_400.001, 1_794_038_401.5, 4_102_444_800.999] {
            XCTAssertEqual(AlarmJSON.parseISO8601(AlarmJSON.iso8601(x))!, x, accuracy: 0.0005)
        }
    }

    /// The tables in docs/alerts-json.md list exactly the fields, events and kinds the code writes.
    func testDocumentationListsEveryFieldEventAndKind() throws {
        let doc = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/alerts-json.md").standardized, encoding: .utf8)
        func firstColumn(after heading: String) -> [String] {
            guard let r = doc.range(of: heading) else { XCTFail("no section \(heading)"); return [] }
            var out: [String] = []
            var row = 0
            for line in doc[r.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("|") { row += 1 } else if row > 0 { break } else { continue }
                if row <= 2 { continue }  // header and separator
                let cell = line.dropFirst().split(separator: "|").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                out += cell.components(separatedBy: ", ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "` ")) }
            }
            return out.filter { !$0.isEmpty }
        }
        guard case .object(let o) = AlarmJSON.object(full()) else { return XCTFail() }
        var written = Set(o.keys)
        for nested in ["shelved", "outOfService"] {
            if case .object(let n)? = o[nested] { written.formUnion(n.keys.map { "\(nested).\($0)" }) }
            written.remove(nested)
        }
        XCTAssertEqual(Set(firstColumn(after: "## Fields")), written)
        XCTAssertEqual(Set(firstColumn(after: "## Events")), Set(AlarmEvent.allCases.map(\.rawValue)))
        let kinds = firstColumn(after: "## Alarm kinds")
        XCTAssertEqual(Set(kinds), Set(AlarmKind.allCases.map(\.rawValue)))
        for k in AlarmKind.allCases {
            let row = doc.split(separator: "\n").first { $0.hasPrefix("| `\(k.rawValue)`") }
            XCTAssertTrue(row?.contains("| \(k.defaultPriority.name) |") ?? false, "default priority of \(k.rawValue) documented")
        }
    }
}
