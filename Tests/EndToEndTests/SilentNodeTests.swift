import Foundation
import Glibc
import XCTest

/// A node that accepts the socket and never answers goes node-down after the documented timeouts (connect 5 s / request 10 s, node-down after 10 s
/// not connected), with the reason on screen, over WebSocket and over HTTP.
final class SilentNodeTests: XCTestCase {
    func testASilentNodeGoesNodeDownWithTheReasonOnScreen() throws {
        let bin = try gridtopBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-silent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = ["XDG_DATA_HOME": dir.path + "/data", "XDG_CONFIG_HOME": dir.path + "/config",
                   "XDG_STATE_HOME": dir.path + "/state", "XDG_CACHE_HOME": dir.path + "/cache", "TERM": "tmux-256color"]
        // Silent, and answering a byte a second (`.trickle`): both go node-down on the documented timeouts.
        for mode in [SilentNode.Mode.silent, .trickle] {
            let node = try SilentNode(mode)
            defer { node.stop() }
            for url in [node.wsURL, node.httpURL] {
                let started = Date()
                // A journal of its own each time: no alarm restored from an earlier case can answer for this one.
                let db = dir.path + "/j-\(UUID().uuidString).sqlite"
                let s = try TmuxSession(command: [bin.path, "watch", "--any-contract", "--node", url, "--chain-id", "1337", "--db", db],
                                        width: 160, height: 48, environment: env)
                defer { s.kill() }
                let down = s.waitFor(timeout: 40) { $0.contains("node down") && $0.contains("timed out") }
                XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 9.5, "\(mode) \(url): node-down before the documented 10 s")
                let took = Date().timeIntervalSince(started)
                XCTAssertTrue(down.ok, "\(mode) \(url): no node-down with its reason after \(Int(took)) s:\n\(down.screen)")
                print("SilentNodeTests: \(mode) \(url.hasPrefix("ws") ? "WebSocket" : "HTTP"): node down with the reason on screen after \(String(format: "%.1f", took)) s")
                XCTAssertLessThan(took, 30, "\(mode) \(url)")
                s.send("q")
                XCTAssertEqual(s.exitStatus(timeout: 5), 0)
            }
            XCTAssertGreaterThan(node.accepted, 0)
        }
    }

    /// The answer's head at once, its body a byte a second: the body has a deadline of its own.
    func testAnHTTPNodeWhoseBodyTricklesGoesNodeDown() throws {
        let bin = try gridtopBinary()
        let node = try SilentNode(.slowBody)
        defer { node.stop() }
        let started = Date()
        let p = ChildProcess(bin, ["alerts", "--any-contract", "--json", "--chain-id", "1337", "--for", "25s", "--node", node.httpURL])
        try p.start()
        let lines = p.waitForLines(1, timeout: 30)
        let down = Date().timeIntervalSince(started)
        XCTAssertTrue(lines.contains { $0.contains("\"node-down\"") }, "\(lines) \(p.standardError)")
        // No node usable in the run: exit 1, and the line names the request that timed out.
        XCTAssertEqual(p.waitForExit(timeout: 15), 1, p.standardError)
        XCTAssertTrue(p.standardError.contains("eth_chainId timed out after 10.0 seconds"), p.standardError)
        print("SilentNodeTests: slow body HTTP: node-down after \(String(format: "%.1f", down)) s; \(p.standardError.split(separator: "\n").last ?? "")")
    }

    func testAlertsStreamsNodeDownForASilentNode() throws {
        let bin = try gridtopBinary()
        let node = try SilentNode(.silent)
        defer { node.stop() }
        let p = ChildProcess(bin, ["alerts", "--any-contract", "--json", "--chain-id", "1337", "--for", "25s", "--node", node.wsURL])
        try p.start()
        let lines = p.waitForLines(1, timeout: 30)
        XCTAssertTrue(lines.contains { $0.contains("\"node-down\"") && $0.contains("timed out") }, "\(lines) \(p.standardError)")
        p.interrupt()
        p.waitForExit(timeout: 5)
    }
}
