import ChainCore
import Foundation
import XCTest

/// What a script sees when things go wrong (one line on stderr, a non-zero exit), and
/// `gridtop alerts --db` journalling while `gridtop alarms` acts on the same journal.
final class HeadlessErrorsTests: XCTestCase {
    static let contract = "0x00000000000000000000000000000000000e1ec7"
    var dir: URL!
    var env: [String: String] = [:]

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-err-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        env = ["XDG_CONFIG_HOME": dir.appendingPathComponent("config").path, "XDG_DATA_HOME": dir.appendingPathComponent("data").path,
               "XDG_STATE_HOME": dir.appendingPathComponent("state").path]
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func run(_ args: [String], timeout: TimeInterval = 30) throws -> (status: Int32?, out: [String], err: String, seconds: Double) {
        let p = ChildProcess(try gridtopBinary(), args, environment: env)
        let started = Date()
        try p.start()
        let status = p.waitForExit(timeout: timeout)
        return (status, p.outputLines, p.standardError, Date().timeIntervalSince(started))
    }

    func assertOneLine(_ err: String, contains words: [String], file: StaticString = #filePath, line: UInt = #line) {
        let lines = err.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "not one line: \(err)", file: file, line: line)
        for w in words { XCTAssertTrue(err.contains(w), "\(w) missing in: \(err)", file: file, line: line) }
        for raw in ["SingleConnectionFailure", "NSCocoaErrorDomain", "NIOConnectionError", "IOError"] {
            XCTAssertFalse(err.contains(raw), "raw library text: \(err)", file: file, line: line)
        }
    }

    func testNoReachableNodeExitsNonZeroWithOneLine() throws {
        let r = try run(["alerts", "--node", "ws://127.0.0.1:1", "--contract", Self.contract, "--for", "3s"])
        XCTAssertEqual(r.status, 1, r.err)
        assertOneLine(r.err, contains: ["no ledger node was reachable", "connection refused", "127.0.0.1:1"])
        XCTAssertTrue(r.out.isEmpty, "stdout is for alarms only: \(r.out)")
        // The log went to the dashboard's log file, not to stderr.
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("state/gridtop/gridtop.log").path))
        let dns = try run(["alerts", "--node", "ws://no-such-node.invalid:8546", "--contract", Self.contract, "--for", "3s"])
        XCTAssertEqual(dns.status, 1, dns.err)
        assertOneLine(dns.err, contains: ["cannot resolve host no-such-node.invalid"])
    }

    func testBadArgumentsAreRefusedAtOnce() throws {
        let empty = try run(["alerts", "--node", "ws://", "--contract", Self.contract])
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.err.contains("no host"), empty.err)
        XCTAssertLessThan(empty.seconds, 5)
        let negative = try run(["alerts", "--node", "ws://127.0.0.1:1", "--contract", Self.contract, "--for", "-5s"])
        XCTAssertNotEqual(negative.status, 0)
        XCTAssertTrue(negative.err.contains("--for must be a positive duration"), negative.err)
        let foo = try run(["foo"])
        XCTAssertEqual(foo.status, 64)
        for cmd in ["demo", "watch", "alerts", "alarms", "sim", "config"] { XCTAssertTrue(foo.err.contains("  \(cmd) "), foo.err) }
        XCTAssertTrue(foo.err.hasPrefix("gridtop: 'foo' is not a command."), foo.err)
        // --db in a folder that does not exist: an error, and the folder is not created.
        let missing = dir.appendingPathComponent("nonexistent/dir/j.sqlite").path
        for cmd in ["watch", "alerts"] {
            let r = try run([cmd, "--node", "ws://127.0.0.1:1", "--contract", Self.contract, "--db", missing])
            XCTAssertEqual(r.status, 1, r.err)
            assertOneLine(r.err, contains: ["alarm journal \(missing)", "does not exist"])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("nonexistent").path))
        let proc = try run(["watch", "--node", "ws://127.0.0.1:1", "--contract", Self.contract, "--db", "/proc/nope/x"])
        XCTAssertEqual(proc.status, 1, proc.err)
        assertOneLine(proc.err, contains: ["/proc/nope/x"])
        // gridtop alarms without a journal names where a demo's journal is.
        let alarms = try run(["alarms", "list"])
        XCTAssertNotEqual(alarms.status, 0)
        XCTAssertTrue(alarms.err.contains("gridtop-demo-"), alarms.err)
    }

    /// One sim, three checks: a chain id no node has; alerts --db journalling; alarms ack on it while it runs.
    func testWrongChainAndTheHeadlessJournalSharedWithGridtopAlarms() throws {
        let bin = try gridtopBinary()
        let sim = ChildProcess(bin, ["sim", "--nodes", "1", "--seed", "7", "--block-time", "250ms", "--interval-every", "1s",
                                     "--theft-after", "12s"], environment: env)
        try sim.start()
        defer { sim.interrupt(); sim.waitForExit(timeout: 10) }
        let urls = sim.waitForLines(2, timeout: 60).filter { $0.hasPrefix("ws://") }
        XCTAssertEqual(urls.count, 1, "sim printed: \(sim.outputLines) \(sim.standardError)")
        guard let url = urls.first, let contract = simContract(sim) else { return }

        let wrong = try run(["alerts", "--node", url, "--contract", contract, "--chain-id", "246", "--for", "60s"], timeout: 40)
        XCTAssertEqual(wrong.status, 1, wrong.err)
        XCTAssertLessThan(wrong.seconds, 30, "ran on with no usable node")
        assertOneLine(wrong.err, contains: ["WRONG CHAIN", "expected 246"])

        let journal = dir.appendingPathComponent("j.sqlite").path
        let alerts = ChildProcess(bin, ["alerts", "--json", "--node", url, "--contract", contract, "--db", journal], environment: env)
        try alerts.start()
        defer { alerts.interrupt(); alerts.waitForExit(timeout: 10) }
        var theft: JSON?
        let deadline = Date().addingTimeInterval(90)
        while theft == nil, Date() < deadline {
            theft = alerts.outputLines.compactMap { try? JSON.parse($0) }
                .first { $0["kind"]?.stringValue == "suspected-theft" && $0["event"]?.stringValue == "raised" }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let id = try XCTUnwrap(theft?["id"]?.intValue, "no theft raised: \(alerts.outputLines.suffix(5)) \(alerts.standardError)")
        // The journal has it, while alerts runs.
        let list = try run(["alarms", "list", "--json", "--db", journal])
        XCTAssertEqual(list.status, 0, list.err)
        XCTAssertTrue(try list.out.map { try JSON.parse($0) }.contains { $0["id"]?.intValue == id }, "alarm \(id) not journalled: \(list.out)")
        let ack = try run(["alarms", "ack", String(id), "--db", journal, "--operator", "e2e-op", "--comment", "crew sent"])
        XCTAssertEqual(ack.status, 0, ack.err)
        // The running alerts process picks the acknowledgement up and streams it.
        let seen = Date().addingTimeInterval(10)
        var acked = false
        while !acked, Date() < seen {
            acked = alerts.outputLines.compactMap { try? JSON.parse($0) }.contains {
                $0["id"]?.intValue == id && $0["event"]?.stringValue == "acknowledged" && $0["by"]?.stringValue == "e2e-op"
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertTrue(acked, "alerts did not pick up the ack: \(alerts.outputLines.suffix(5))")
        XCTAssertTrue(alerts.standardError.isEmpty, "stderr carries only errors: \(alerts.standardError)")
    }
}
