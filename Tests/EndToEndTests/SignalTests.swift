import Foundation
import Glibc
import XCTest

/// SIGINT and SIGTERM end every command within 2 s with 130 / 143 (real processes); an
/// interrupted audit says which blocks it covered; SIGHUP leaves the dashboard running.
final class SignalTests: XCTestCase {
    var bin: URL!
    var dir: URL!
    var env: [String: String] = [:]

    override func setUpWithError() throws {
        bin = try gridtopBinary()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-signals-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        env = ["XDG_DATA_HOME": dir.path + "/data", "XDG_CONFIG_HOME": dir.path + "/config",
               "XDG_STATE_HOME": dir.path + "/state", "XDG_CACHE_HOME": dir.path + "/cache", "TERM": "tmux-256color"]
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// Sends `sig` and measures how long the process takes to end; its status.
    func signalAndWait(_ p: ChildProcess, _ sig: Int32) -> (status: Int32?, seconds: Double) {
        let t0 = Date()
        kill(p.process.processIdentifier, sig)
        let status = p.waitForExit(timeout: 10)
        return (status, Date().timeIntervalSince(t0) - 0.1)  // waitForExit lets the pipes drain 0.1 s
    }

    func startSim(_ extra: [String] = []) throws -> (ChildProcess, String) {
        let sim = ChildProcess(bin, ["sim", "--nodes", "1", "--block-time", "500ms"] + extra, environment: env)
        try sim.start()
        let url = sim.waitForLines(1, timeout: 120).first { $0.hasPrefix("ws://") }
        struct NoSim: Error, CustomStringConvertible { let description: String }
        guard let url else { throw NoSim(description: "sim printed no URL: \(sim.standardError)") }
        return (sim, url)
    }

    func testSimEndsOnSIGINTAndSIGTERM() throws {
        for (sig, code) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
            let (sim, _) = try startSim()
            let r = signalAndWait(sim, sig)
            XCTAssertEqual(r.status, code, "sim on \(sig): \(sim.standardError)")
            XCTAssertLessThan(r.seconds, 2, "sim took \(r.seconds) s to end on \(sig)")
        }
    }

    func testLiveAlertsEndOnSIGINTAndSIGTERM() throws {
        let (sim, url) = try startSim()
        defer { sim.interrupt(); sim.waitForExit(timeout: 10) }
        for (sig, code) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
            let alerts = ChildProcess(bin, ["alerts", "--any-contract", "--json", "--node", url], environment: env)
            try alerts.start()
            Thread.sleep(forTimeInterval: 3)
            let r = signalAndWait(alerts, sig)
            XCTAssertEqual(r.status, code, "alerts on \(sig): \(alerts.standardError)")
            XCTAssertLessThan(r.seconds, 2, "alerts took \(r.seconds) s on \(sig)")
        }
    }

    func testAnInterruptedAuditSaysWhatItCoveredAndFails() throws {
        // A long history: the audit is still reading when the signal comes.
        let (sim, url) = try startSim(["--history", "7", "--interval-every", "1h"])
        defer { sim.interrupt(); sim.waitForExit(timeout: 10) }
        for (sig, code) in [(SIGTERM, Int32(143)), (SIGINT, Int32(130))] {
            let audit = ChildProcess(bin, ["alerts", "--any-contract", "--json", "--from-block", "0", "--to-block", "head", "--node", url], environment: env)
            try audit.start()
            Thread.sleep(forTimeInterval: 4.5)
            XCTAssertTrue(audit.process.isRunning, "the audit ended before the signal: \(audit.standardError)")
            let r = signalAndWait(audit, sig)
            XCTAssertEqual(r.status, code, audit.standardError)
            XCTAssertLessThan(r.seconds, 2, "audit took \(r.seconds) s on \(sig)")
            let err = audit.standardError
            XCTAssertTrue(err.contains("stopped by \(sig == SIGTERM ? "SIGTERM" : "SIGINT")"), err)
            XCTAssertTrue(err.contains("the audit is incomplete"), err)
            // What it covered, against the range it was asked for (the head resolved to a number).
            XCTAssertNotNil(err.range(of: #"(blocks \d+–\d+ were read|no block was read) of 0–\d+;"#, options: .regularExpression), err)
            print("SignalTests: audit on \(sig == SIGTERM ? "SIGTERM" : "SIGINT"): exit \(r.status.map(String.init) ?? "none") after \(String(format: "%.2f", r.seconds)) s: \(err.split(separator: "\n").last ?? "")")
        }
    }

    func testAnAuditOfASilentNodeEndsOnSIGTERMAndSIGINT() throws {
        let node = try SilentNode(.silent)
        defer { node.stop() }
        for (sig, code) in [(SIGTERM, Int32(143)), (SIGINT, Int32(130))] {
            let audit = ChildProcess(bin, ["alerts", "--any-contract", "--from-block", "0", "--to-block", "head", "--node", node.wsURL], environment: env)
            try audit.start()
            Thread.sleep(forTimeInterval: 1.5)
            let r = signalAndWait(audit, sig)
            XCTAssertEqual(r.status, code, audit.standardError)
            XCTAssertLessThan(r.seconds, 2, "audit of a silent node took \(r.seconds) s on \(sig)")
            XCTAssertTrue(audit.standardError.contains("no block was read of 0–head; the audit is incomplete"), audit.standardError)
        }
    }

    /// The dashboard (demo and watch) in a real terminal: each signal ends it within 2 s with
    /// 130 / 143 and the terminal restored; SIGHUP is ignored.
    func testDashboardEndsOnSIGINTAndSIGTERMAndIgnoresSIGHUP() throws {
        let (sim, url) = try startSim()
        defer { sim.interrupt(); sim.waitForExit(timeout: 10) }
        let pidFile = dir.path + "/dash.pid"
        let commands: [(String, [String])] = [
            ("demo", ["demo", "--block-time", "500ms", "--db", dir.path + "/demo.sqlite"]),
            ("watch", ["watch", "--any-contract", "--node", url, "--db", dir.path + "/watch.sqlite"]),
        ]
        for (name, args) in commands {
            for (sig, code) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
                try? FileManager.default.removeItem(atPath: pidFile)
                let s = try TmuxSession(command: pidWrapped(bin, args, pidFile: pidFile), width: 120, height: 40, environment: env)
                defer { s.kill() }
                let up = s.waitFor(timeout: 60) { $0.contains("head #") }
                XCTAssertTrue(up.ok, "\(name): no dashboard:\n\(up.screen)")
                let pid = try XCTUnwrap(readPid(pidFile))
                // SIGHUP first: documented as ignored; the dashboard goes on.
                kill(pid, SIGHUP)
                Thread.sleep(forTimeInterval: 1.5)
                XCTAssertEqual(Glibc.kill(pid, 0), 0, "\(name) ended on SIGHUP")
                XCTAssertTrue(s.screen().contains("head #"), "\(name) after SIGHUP:\n\(s.screen())")
                let t0 = Date()
                kill(pid, sig)
                let status = s.exitStatus(timeout: 10)
                let took = Date().timeIntervalSince(t0)
                XCTAssertEqual(status, code, "\(name) on \(sig)")
                XCTAssertLessThan(took, 2.2, "\(name) took \(took) s on \(sig)")  // exit file polled every 0.1 s
                // Terminal restored: the alternate screen is gone, the dashboard no longer shown.
                let after = s.screen()
                XCTAssertFalse(after.contains("head #"), "\(name): the screen was not restored:\n\(after)")
            }
        }
    }
}
