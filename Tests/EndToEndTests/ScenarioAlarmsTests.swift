import ChainCore
import Foundation
import XCTest

/// Every incident kind the simulator stages raises the right alarm on the right asset.
///
/// `gridtop sim --scenario scenarios/e2e-incidents.toml` builds three simulated days of
/// chain at start (incidents from day 2 on, one per transformer); `gridtop alerts --json
/// --from-block 0 --to-block head` audits that chain over real loopback WebSockets and
/// exits by itself. Its alarm lines are judged against the ground truth the simulator
/// wrote (`--truth`): each incident's `expectedAlarm` on its `alarmAsset`, not about an
/// interval before the incident began, and no grid alarm anywhere else.
final class ScenarioAlarmsTests: XCTestCase {
    /// The incident kinds the scenario file must keep staging (so an edit cannot quietly drop one).
    static let kinds: Set<String> = ["unmetered-load", "bypass", "hookup", "h1", "h2", "h3", "h4", "h5", "h6",
                                     "silent", "duplicate", "overclaim"]

    func testEveryIncidentOfTheScenarioRaisesItsAlarmOnItsAsset() throws {
        let bin = try gridtopBinary()
        let scenario = Self.repositoryRoot().appendingPathComponent("scenarios/e2e-incidents.toml").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let truthPath = dir.appendingPathComponent("truth.json").path

        // Live intervals every 30 s: the audit is about the history, the live chain only has to exist.
        let started = Date()
        let sim = ChildProcess(bin, ["sim", "--scenario", scenario, "--truth", truthPath, "--nodes", "2",
                                     "--interval-every", "30s"])
        try sim.start()
        defer { sim.interrupt(); sim.waitForExit(timeout: 10) }
        let urls = sim.waitForLines(2, timeout: 120).filter { $0.hasPrefix("ws://") }
        XCTAssertEqual(urls.count, 2, "sim printed: \(sim.outputLines) stderr: \(sim.standardError)")
        guard urls.count == 2 else { return }
        let contract = try XCTUnwrap(simContract(sim), "sim printed no contract: \(sim.outputLines)")
        let simReady = Date().timeIntervalSince(started)

        let truth = try JSON.parse(String(contentsOfFile: truthPath, encoding: .utf8))
        let intervalSeconds = try XCTUnwrap(truth["intervalSeconds"]?.intValue)
        XCTAssertEqual(truth["historyIntervals"]?.intValue, 3 * 86_400 / intervalSeconds)
        let incidents = try XCTUnwrap(truth["incidents"]?.arrayValue).map(Incident.init)
        XCTAssertEqual(Set(incidents.map(\.attack)), Self.kinds, "the scenario no longer stages every kind")
        XCTAssertTrue(incidents.allSatisfy { !$0.alarmAsset.isEmpty && !$0.expectedAlarm.isEmpty }, "\(incidents)")
        let thefts = incidents.filter { $0.expectedAlarm == "suspected-theft" }
        XCTAssertEqual(Set(thefts.map(\.alarmAsset)).count, thefts.count, "two thefts share a transformer: \(thefts)")

        var args = ["alerts", "--json", "--from-block", "0", "--to-block", "head", "--contract", contract]
        for u in urls { args += ["--node", u] }
        let audit = ChildProcess(bin, args)
        let auditStarted = Date()
        try audit.start()
        let status = audit.waitForExit(timeout: 240)
        let auditSeconds = Date().timeIntervalSince(auditStarted)
        XCTAssertEqual(status, 0, "the audit did not end by itself: \(audit.standardError)")
        let events = try audit.outputLines.map { try JSON.parse($0) }
        let raised = events.filter { $0["event"]?.stringValue == "raised" }
        print("ScenarioAlarmsTests: sim ready after \(String(format: "%.1f", simReady)) s, audit \(String(format: "%.1f", auditSeconds)) s, \(events.count) transitions, \(raised.count) raised")

        for incident in incidents {
            let mine = raised.filter { $0["kind"]?.stringValue == incident.expectedAlarm && $0["asset"]?.stringValue?.lowercased() == incident.alarmAsset }
            let first = mine.compactMap { $0["interval"]?.intValue }.min()
            let delay = first.map { String(format: "%.2f h", Double($0 + intervalSeconds - incident.fromInterval) / 3600) } ?? "not raised"
            print("ScenarioAlarmsTests: #\(incident.number) \(incident.attack) on \(incident.assetCode) (\(incident.transformerCode)) from index \(incident.fromIndex): \(incident.expectedAlarm) \(delay)")
            XCTAssertFalse(mine.isEmpty, "#\(incident.number) \(incident.attack) on \(incident.assetCode) under \(incident.transformerCode): no \(incident.expectedAlarm) raised on \(incident.alarmAsset)")
            // A stale-meter alarm names the last interval the meter reported: the one before the silence.
            let earliest = incident.fromInterval - (incident.expectedAlarm == "stale-meter" ? intervalSeconds : 0)
            for e in mine {
                let at = try XCTUnwrap(e["interval"]?.intValue, "no interval in \(e.serialized())")
                XCTAssertGreaterThanOrEqual(at, earliest, "#\(incident.number) \(incident.attack): alarm about an interval before the incident: \(e.serialized())")
            }
        }

        // No false alarm: every grid alarm raised names an asset the truth names for that kind.
        let expected = Set(incidents.map { "\($0.expectedAlarm) \($0.alarmAsset)" })
        let gridKinds: Set<String> = ["suspected-theft", "stale-meter", "conflicting-reading", "transfer-mismatch"]
        for e in raised {
            guard let kind = e["kind"]?.stringValue, gridKinds.contains(kind), let asset = e["asset"]?.stringValue?.lowercased() else { continue }
            XCTAssertTrue(expected.contains("\(kind) \(asset)"), "false alarm (no such incident): \(e.serialized())")
        }
    }

    struct Incident: CustomStringConvertible {
        var number: Int, attack: String, assetCode: String, transformerCode: String
        var fromIndex: Int, fromInterval: Int, expectedAlarm: String, alarmAsset: String
        init(_ j: JSON) {
            number = j["number"]?.intValue ?? 0
            attack = j["attack"]?.stringValue ?? ""
            assetCode = j["assetCode"]?.stringValue ?? ""
            transformerCode = j["transformerCode"]?.stringValue ?? ""
            fromIndex = j["fromIndex"]?.intValue ?? 0
            fromInterval = j["fromInterval"]?.intValue ?? 0
            expectedAlarm = j["expectedAlarm"]?.stringValue ?? ""
            alarmAsset = j["alarmAsset"]?.stringValue?.lowercased() ?? ""
        }
        var description: String { "#\(number) \(attack) \(assetCode)/\(transformerCode) → \(expectedAlarm) \(alarmAsset)" }
    }

    static func repositoryRoot(file: StaticString = #filePath) -> URL {
        URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
