import ChainCore
import Foundation
import XCTest

/// An audit that could not examine every block of its range says which, and exits non-zero.
final class AuditCoverageTests: XCTestCase {
    func testAnAuditWhoseNodeDiesHalfWayNamesTheMissingBlocks() throws {
        let bin = try gridtopBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-audit-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = ["XDG_CONFIG_HOME": dir.appendingPathComponent("config").path, "XDG_DATA_HOME": dir.appendingPathComponent("data").path,
                   "XDG_STATE_HOME": dir.appendingPathComponent("state").path]
        // Dense history: 2 days of 2,000 consumers, one interval a minute afterwards (the audit is about the past).
        let sim = ChildProcess(bin, ["sim", "--nodes", "1", "--consumers", "2000", "--history", "2", "--interval-every", "60s"],
                               environment: env)
        try sim.start()
        defer { sim.interrupt(); sim.waitForExit(timeout: 10) }
        let urls = sim.waitForLines(2, timeout: 180).filter { $0.hasPrefix("ws://") }
        XCTAssertEqual(urls.count, 1, "sim printed: \(sim.outputLines) \(sim.standardError)")
        guard let url = urls.first, let contract = simContract(sim) else { return }

        let state = dir.appendingPathComponent("state.json").path
        let audit = ChildProcess(bin, ["alerts", "--json", "--node", url, "--contract", contract, "--from-block", "0", "--to-block", "head",
                                       "--give-up-after", "5s", "--state-json", state], environment: env)
        try audit.start()
        // Part-way through the history (some blocks applied, per the state file), the node dies for good.
        let deadline = Date().addingTimeInterval(120)
        var applied: UInt64 = 0
        while Date() < deadline, audit.process.isRunning {
            if let text = try? String(contentsOfFile: state, encoding: .utf8),
               let m = text.firstMatch(of: /"head"\s*:\s*(\d+)/), let n = UInt64(m.1), n >= 1 { applied = n; break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertGreaterThan(applied, 0, "no block was applied in 120 s: \(audit.standardError)")
        XCTAssertTrue(audit.process.isRunning, "the audit finished before the node could be killed; make the history bigger")
        kill(sim.process.processIdentifier, SIGKILL)
        let status = audit.waitForExit(timeout: 60)
        XCTAssertEqual(status, 1, "an incomplete audit must fail: \(audit.standardError)")
        let err = audit.standardError.trimmingCharacters(in: .newlines)
        XCTAssertEqual(err.split(separator: "\n").count, 1, err)
        XCTAssertTrue(err.contains("audit incomplete (no node connected for 5.0 seconds)"), err)
        // "N of M blocks not covered: A-B": some, not all, and the ranges named.
        let m = try XCTUnwrap(err.firstMatch(of: /(\d+) of (\d+) blocks not covered: (\d+)-(\d+)/), err)
        let missing = Int(m.1)!, total = Int(m.2)!, first = Int(m.3)!, last = Int(m.4)!
        XCTAssertGreaterThan(missing, 0)
        XCTAssertLessThan(missing, total, "nothing was covered before the kill: \(err)")
        XCTAssertGreaterThan(first, 0, err)
        XCTAssertEqual(last, total - 1, "the missing range runs to the audit's last block: \(err)")
    }
}
