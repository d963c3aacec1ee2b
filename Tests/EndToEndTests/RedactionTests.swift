import Foundation
import Glibc
import XCTest

/// Credentials never reach a sink: two nodes that refuse every request with 401 and echo the
/// request (its line and every header: Basic authorization made from the URL's userinfo, a
/// Bearer token) in the body. Planted secrets: the password, `user:pass`, its Basic token, a
/// query key, a path key, a Bearer token. Sinks: the screen, the log file, the JSON stream,
/// stderr, the journal, and the process list (the URL comes from the environment).
final class RedactionTests: XCTestCase {
    func testNoPlantedSecretReachesAnySink() throws {
        let bin = try gridtopBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-redact-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let basic = Data("gridop:s3cretPass99".utf8).base64EncodedString()
        let secrets = ["s3cretPass99", "gridop:s3cretPass99", basic, "QK-abcdef123456", "PATHKEY0123456789abcdefXYZ", "tok-9f8e7d6c5b4a3210"]
        let ws = try SilentNode(.echo), http = try SilentNode(.echo)
        defer { ws.stop(); http.stop() }
        let url0 = "ws://gridop:s3cretPass99@127.0.0.1:\(ws.port)/v1/PATHKEY0123456789abcdefXYZ/?apikey=QK-abcdef123456"
        let url1 = "http://127.0.0.1:\(http.port)/rpc?apikey=QK-abcdef123456"
        var env = ["XDG_DATA_HOME": dir.path + "/data", "XDG_CONFIG_HOME": dir.path + "/config",
                   "XDG_STATE_HOME": dir.path + "/state", "XDG_CACHE_HOME": dir.path + "/cache", "TERM": "tmux-256color",
                   "NODE0": url0, "NODE1": url1, "TOK": "tok-9f8e7d6c5b4a3210"]
        let nodeArgs = ["--node", "$NODE0", "--node", "$NODE1", "--header", "1=Authorization: Bearer $TOK", "--chain-id", "1337"]

        // Headless: the JSON stream and stderr.
        let alerts = ChildProcess(bin, ["alerts", "--any-contract", "--json", "--for", "14s"] + nodeArgs, environment: env)
        try alerts.start()
        Thread.sleep(forTimeInterval: 2)
        let argv = (try? String(contentsOfFile: "/proc/\(alerts.process.processIdentifier)/cmdline", encoding: .utf8)) ?? ""
        XCTAssertFalse(argv.isEmpty)
        // Every request refused: no usable node in the run, so a script gets exit 1 and one line.
        XCTAssertEqual(alerts.waitForExit(timeout: 30), 1, alerts.standardError)
        XCTAssertTrue(alerts.standardError.contains("no ledger node was reachable"), alerts.standardError)
        let stream = alerts.outputLines.joined(separator: "\n")
        XCTAssertTrue(stream.contains("node-down"), "the nodes' refusal is reported: \(stream)")

        // The dashboard: the screen, the log file, the journal.
        env["GRIDTOP_OPERATOR"] = "ana"
        let db = dir.path + "/watch.sqlite"
        let s = try TmuxSession(command: [bin.path, "watch", "--any-contract"] + nodeArgs + ["--db", db], width: 200, height: 50, environment: env)
        defer { s.kill() }
        let down = s.waitFor(timeout: 30) { $0.contains("node down") && $0.contains("401") }
        XCTAssertTrue(down.ok, "no node-down with the node's answer on screen:\n\(down.screen)")
        var screens = [down.screen]
        for key in ["Enter", "Escape", "n", "Escape"] {
            s.send(key)
            Thread.sleep(forTimeInterval: 0.7)
            screens.append(s.screen())
        }
        s.send("q")
        _ = s.exitStatus(timeout: 10)
        let log = (try? String(contentsOfFile: dir.path + "/state/gridtop/gridtop.log", encoding: .utf8)) ?? ""
        XCTAssertFalse(log.isEmpty, "the log file was written")
        let export = ChildProcess(bin, ["alarms", "export", "--json", "--db", db], environment: env)
        try export.start()
        XCTAssertEqual(export.waitForExit(timeout: 20), 0)
        let journal = export.outputLines.joined(separator: "\n")
        XCTAssertTrue(journal.contains("node-down"), journal)
        XCTAssertTrue(journal.contains("401") || stream.contains("401"), "the node's answer is kept, redacted: \(journal)")

        let sinks: [(String, String)] = [("JSON stream", stream), ("stderr", alerts.standardError), ("process list", argv),
                                         ("screen", screens.joined(separator: "\n")), ("log file", log), ("journal", journal)]
        var leaks: [String] = []
        for (sink, text) in sinks {
            for secret in secrets where text.contains(secret) { leaks.append("\(secret) in the \(sink)") }
        }
        print("RedactionTests: \(secrets.count) secrets × \(sinks.count) sinks (\(sinks.map { "\($0.0) \($0.1.utf8.count) B" }.joined(separator: ", "))): \(leaks.count) leaks")
        XCTAssertEqual(leaks, [], "leaked: \(leaks)")
        XCTAssertGreaterThan(ws.accepted + http.accepted, 2)
    }
}
