import ChainCore
import Foundation
import XCTest

/// `gridtop sim` and `gridtop alerts --json` as two real processes on loopback WebSockets.
final class HeadlessAlertsTests: XCTestCase {
    func testTheftAlarmNamesTheTransformerOfTheGroundTruth() throws {
        let bin = try gridtopBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let truthPath = dir.appendingPathComponent("truth.json").path

        let sim = ChildProcess(bin, ["sim", "--nodes", "3", "--seed", "7", "--block-time", "250ms",
                                     "--interval-every", "1s", "--theft-after", "16s", "--truth", truthPath])
        try sim.start()
        defer { sim.interrupt(); sim.waitForExit(timeout: 10) }
        let urls = sim.waitForLines(3, timeout: 30).filter { $0.hasPrefix("ws://") }
        XCTAssertEqual(urls.count, 3, "sim printed: \(sim.outputLines) stderr: \(sim.standardError)")
        guard urls.count == 3 else { return }
        let contract = try XCTUnwrap(simContract(sim), "sim printed no contract: \(sim.outputLines)")

        let truth = try JSON.parse(String(contentsOfFile: truthPath, encoding: .utf8))
        XCTAssertEqual(truth["contract"]?.stringValue, contract, "the ground truth names another contract than the sim printed")
        let theft = truth["incidents"]?.arrayValue?.first { $0["kind"]?.stringValue == "theft" }
        let transformer = try XCTUnwrap(theft?["transformer"]?.stringValue)
        let fromInterval = try XCTUnwrap(theft?["fromInterval"]?.intValue)

        var args = ["alerts", "--json", "--for", "45s", "--contract", contract]
        for u in urls { args += ["--node", u] }
        let alerts = ChildProcess(bin, args)
        try alerts.start()
        let status = alerts.waitForExit(timeout: 90)
        XCTAssertEqual(status, 0, "alerts stderr: \(alerts.standardError)")

        let events = try alerts.outputLines.map { try JSON.parse($0) }
        let thefts = events.filter { $0["kind"]?.stringValue == "suspected-theft" && $0["event"]?.stringValue == "raised" }
        XCTAssertFalse(thefts.isEmpty, "no theft alarm in: \(alerts.outputLines)")
        for e in thefts {
            XCTAssertEqual(e["asset"]?.stringValue, transformer, "alarm on the wrong asset: \(e.serialized())")
            XCTAssertEqual(e["stage"]?.stringValue, "transformer")
            XCTAssertGreaterThanOrEqual(e["interval"]?.intValue ?? 0, fromInterval, "alarm before the theft began")
            for key in ["ts", "event", "kind", "asset", "assetName", "stage", "interval", "message"] {
                XCTAssertNotNil(e[key], "missing \(key)")
            }
        }
        // Quiet before the theft: no alarm of any kind about an interval before it started.
        for e in events where e["kind"]?.stringValue == "suspected-theft" {
            XCTAssertGreaterThanOrEqual(e["interval"]?.intValue ?? 0, fromInterval)
        }

        // The audit form: the same past, replayed from block 0 to the head, then exit by itself.
        var auditArgs = ["alerts", "--json", "--from-block", "0", "--to-block", "head", "--contract", contract]
        for u in urls { auditArgs += ["--node", u] }
        let audit = ChildProcess(bin, auditArgs)
        let started = Date()
        try audit.start()
        XCTAssertEqual(audit.waitForExit(timeout: 60), 0, "audit did not end by itself: \(audit.standardError)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 60)
        let audited = try audit.outputLines.map { try JSON.parse($0) }
        let auditThefts = audited.filter { $0["kind"]?.stringValue == "suspected-theft" && $0["event"]?.stringValue == "raised" }
        XCTAssertFalse(auditThefts.isEmpty, "the audit found no theft: \(audit.outputLines)")
        for e in auditThefts { XCTAssertEqual(e["asset"]?.stringValue, transformer) }
    }
}
