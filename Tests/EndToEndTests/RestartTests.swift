import ChainCore
import Foundation
import Glibc
import XCTest

/// Alarm state survives restarts of the dashboard: real processes, a real terminal (tmux),
/// a real journal file, a simulated chain over loopback WebSockets.
///
/// `gridtop sim --scenario scenarios/restart.toml` serves two days of history in which a
/// meter went silent and a household started an unmetered load a day ago (both go on). A
/// first `gridtop watch --db J` raises the stale-meter and the theft alarm; the operator
/// acknowledges the first and shelves and comments on the second (`gridtop alarms`, another
/// process, as a second console would). Then the dashboard is restarted ten times with `q`
/// and ten times with kill -9 (at random moments, mid-backfill included): after each, every
/// alarm's journalled state (`alarms list --json --all`) and the journal's length are unchanged.
final class RestartTests: XCTestCase {
    var bin: URL!
    var dir: URL!
    var env: [String: String] = [:]

    override func setUpWithError() throws {
        bin = try gridtopBinary()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-restart-\(UUID().uuidString)")
        for sub in ["data", "config", "state", "cache"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        env = ["XDG_DATA_HOME": dir.appendingPathComponent("data").path, "XDG_CONFIG_HOME": dir.appendingPathComponent("config").path,
               "XDG_STATE_HOME": dir.appendingPathComponent("state").path, "XDG_CACHE_HOME": dir.appendingPathComponent("cache").path,
               "GRIDTOP_OPERATOR": "ana", "TERM": "tmux-256color"]
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// Runs `gridtop ARGS` to its end; its standard output.
    func gridtop(_ args: [String]) -> (status: Int32?, out: [String], err: String) {
        let p = ChildProcess(bin, args, environment: env)
        do { try p.start() } catch { return (nil, [], "\(error)") }
        let status = p.waitForExit(timeout: 30)
        return (status, p.outputLines, p.standardError)
    }

    /// The alarms judged from the chain (the grid's), not node health: a loaded machine may
    /// really time a node out between two restarts, and that is journalled, rightly.
    static let gridKinds: Set<String> = ["stale-meter", "suspected-theft", "conflicting-reading", "transfer-mismatch",
                                         "consensus-stall", "deep-reorg"]

    func isGrid(_ line: String) -> Bool {
        (try? JSON.parse(line))?["kind"]?.stringValue.map { Self.gridKinds.contains($0) } ?? false
    }

    /// Every grid alarm as the journal has it, one JSON line each (their latest transition
    /// included), and the number of journalled transitions of grid alarms.
    func journalState(_ db: String) -> (alarms: [String], transitions: Int) {
        let list = gridtop(["alarms", "list", "--json", "--all", "--db", db])
        XCTAssertEqual(list.status, 0, list.err)
        let export = gridtop(["alarms", "export", "--json", "--db", db])
        XCTAssertEqual(export.status, 0, export.err)
        return (list.out.filter(isGrid).sorted(), export.out.filter(isGrid).count)
    }

    func transitionCounts(_ db: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in gridtop(["alarms", "export", "--json", "--db", db]).out where isGrid(line) {
            guard let j = try? JSON.parse(line), let e = j["event"]?.stringValue, let k = j["kind"]?.stringValue else { continue }
            counts["\(k) \(e)", default: 0] += 1
        }
        return counts
    }

    func testTenRestartsWithQAndTenWithKill9LeaveEveryAlarmAndTheJournalUnchanged() throws {
        let scenario = ScenarioAlarmsTests.repositoryRoot().appendingPathComponent("scenarios/restart.toml").path
        // No live interval completes during the test (one an hour): what the chain says stays the same.
        let sim = ChildProcess(bin, ["sim", "--scenario", scenario, "--nodes", "2", "--interval-every", "1h"], environment: env)
        try sim.start()
        defer { sim.interrupt(); sim.waitForExit(timeout: 10) }
        let url = try XCTUnwrap(sim.waitForLines(2, timeout: 120).first { $0.hasPrefix("ws://") }, sim.standardError)
        let db = dir.appendingPathComponent("journal.sqlite").path
        let pidFile = dir.appendingPathComponent("watch.pid").path

        func startWatch() throws -> TmuxSession {
            try? FileManager.default.removeItem(atPath: pidFile)
            return try TmuxSession(command: ["sh", "-c", "echo $$ > \(TmuxSession.quote(pidFile)); exec \"$0\" \"$@\"",
                                             bin.path, "watch", "--any-contract", "--node", url, "--db", db],
                                   width: 160, height: 48, environment: env)
        }
        func judged(_ s: TmuxSession) -> Bool {
            s.waitFor(timeout: 180) { $0.contains("judged on current data") }.ok
        }

        // The first run: both alarms raised, then the operator acts on them.
        var session = try startWatch()
        defer { session.kill() }  // whichever session is current when the test ends
        var stale: JSON?, theft: JSON?
        let deadline = Date().addingTimeInterval(240)
        while Date() < deadline, stale == nil || theft == nil {
            Thread.sleep(forTimeInterval: 1)
            guard FileManager.default.fileExists(atPath: db) else { continue }
            let alarms = gridtop(["alarms", "list", "--json", "--all", "--db", db]).out.compactMap { try? JSON.parse($0) }
            stale = alarms.first { $0["kind"]?.stringValue == "stale-meter" && $0["active"]?.boolValue == true }
            theft = alarms.first { $0["kind"]?.stringValue == "suspected-theft" && $0["active"]?.boolValue == true }
        }
        let staleID = try XCTUnwrap(stale?["id"]?.intValue, "no stale-meter alarm:\n\(session.screen())")
        let theftID = try XCTUnwrap(theft?["id"]?.intValue, "no theft alarm:\n\(session.screen())")
        for args in [["ack", "\(staleID)", "--comment", "crew sent"],
                     ["shelve", "\(theftID)", "--for", "8h", "--reason", "field check tonight"],
                     ["comment", "\(theftID)", "seal photographed"]] {
            let r = gridtop(["alarms"] + args + ["--db", db, "--operator", "ana"])
            XCTAssertEqual(r.status, 0, "alarms \(args): \(r.err)")
        }
        Thread.sleep(forTimeInterval: 3)  // the dashboard reads the other console's actions
        session.send("q")
        XCTAssertEqual(session.exitStatus(timeout: 10), 0)
        session.kill()
        let before = journalState(db)
        let countsBefore = transitionCounts(db)
        let parsed = before.alarms.compactMap { try? JSON.parse($0) }
        XCTAssertEqual(parsed.first { $0["id"]?.intValue == staleID }?["acknowledged"]?.boolValue, true, "\(before.alarms)")
        XCTAssertEqual(parsed.first { $0["id"]?.intValue == theftID }?["active"]?.boolValue, true, "\(before.alarms)")

        // Ten restarts, each quit with q once the restored alarms were judged on current data.
        for i in 1...10 {
            session = try startWatch()
            XCTAssertTrue(judged(session), "restart \(i): no judgement on screen:\n\(session.screen())")
            let screen = session.screen()
            XCTAssertTrue(screen.contains("stale meter") || screen.contains("stale-meter"), "restart \(i): the acknowledged stale meter is shown:\n\(screen)")
            session.send("q")
            XCTAssertEqual(session.exitStatus(timeout: 10), 0)
            session.kill()
            let now = journalState(db)
            XCTAssertEqual(now.transitions, before.transitions, "restart \(i) with q journalled transitions: \(transitionCounts(db))")
            XCTAssertEqual(now.alarms, before.alarms, "restart \(i) with q changed an alarm")
        }

        // Ten with kill -9: half once judged, half at a random moment (mid-backfill included).
        var rng = SystemRandomNumberGenerator()
        for i in 1...10 {
            session = try startWatch()
            if i % 2 == 0 {
                XCTAssertTrue(judged(session), "kill -9 restart \(i): no judgement on screen:\n\(session.screen())")
                Thread.sleep(forTimeInterval: Double.random(in: 0...2, using: &rng))
            } else {
                Thread.sleep(forTimeInterval: Double.random(in: 0.3...4, using: &rng))
            }
            let pid = try XCTUnwrap(Int32((try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            XCTAssertEqual(Glibc.kill(pid, SIGKILL), 0)
            XCTAssertEqual(session.exitStatus(timeout: 10), 137)
            session.kill()
            let now = journalState(db)
            XCTAssertEqual(now.transitions, before.transitions, "kill -9 restart \(i) journalled transitions: \(transitionCounts(db))")
            XCTAssertEqual(now.alarms, before.alarms, "kill -9 restart \(i) changed an alarm")
        }
        let countsAfter = transitionCounts(db)
        print("RestartTests: journal before \(before.transitions) transitions \(countsBefore.sorted { $0.key < $1.key }), after 10 q + 10 kill -9 restarts \(journalState(db).transitions) \(countsAfter.sorted { $0.key < $1.key })")
        XCTAssertEqual(countsAfter, countsBefore)
    }
}
