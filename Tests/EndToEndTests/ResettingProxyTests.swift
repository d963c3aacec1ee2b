import ChainCore
import Foundation
import XCTest

/// Issue #18: a proxy resetting connections at random (6 resets each, after a random number
/// of bytes towards the client) between `gridtop alerts` and the node, over WebSocket and over
/// HTTP: the audit still covers every block, and its per-segment balances, per-stage energy and
/// grid alarms equal those of the same audit without the proxy.
final class ResettingProxyTests: XCTestCase {
    func testAnAuditThroughAResettingProxyEqualsAFaultFreeOne() throws {
        let bin = try gridtopBinary()
        let home = try TempHome()
        // A day of history, 500 consumers, a bypass staged 12 h back: blocks dense enough that
        // every reset lands inside an eth_getLogs answer.
        let sim = ChildProcess(bin, ["sim", "--nodes", "1", "--consumers", "500", "--history", "1", "--interval-every", "600s",
                                     "--incident", "bypass@-12h"], environment: home.environment)
        try sim.start()
        defer { sim.interrupt(); sim.waitForExit(timeout: 10) }
        let urls = sim.waitForLines(2, timeout: 180).filter { $0.hasPrefix("ws://") }
        guard let url = urls.first, let contract = simContract(sim),
              let port = URL(string: url)?.port.flatMap(UInt16.init(exactly:)) else {
            return XCTFail("sim printed: \(sim.outputLines) \(sim.standardError)")
        }
        let clean = try GridtopAlerts.audit(url, home: home, extra: ["--contract", contract])
        XCTAssertEqual(clean.status, 0)
        let head = clean.state["head"]?.intValue ?? 0
        XCTAssertGreaterThan(head, 90, "a day of history")
        let grid: Set<String> = ["suspected-theft", "stale-meter", "conflicting-reading", "transfer-mismatch"]
        func gridAlarms(_ s: JSON) -> [String] { s.activeAlarmKeys.filter { grid.contains(String($0.split(separator: " ")[0])) } }
        XCTAssertTrue(gridAlarms(clean.state).contains { $0.hasPrefix("suspected-theft") }, "the staged bypass: \(clean.state.activeAlarmKeys)")

        for transport in ["ws", "http"] {
            let proxy = try ResettingProxy(upstream: port, resets: 6, seed: transport == "ws" ? 7 : 11)
            defer { proxy.stop() }
            let node = transport == "ws" ? proxy.wsURL : proxy.httpURL
            // The same range as the clean audit: the chain grows while the sim runs.
            let started = Date()
            let run = try GridtopAlerts(["--node", node, "--contract", contract, "--from-block", "0", "--to-block", "\(head)"], home: home)
            let status = run.child.waitForExit(timeout: 240)
            let state = try run.state() ?? .null
            print("ResettingProxyTests: \(transport): \(proxy.cut) connections reset; exit \(status.map(String.init) ?? "none"); head \(state["head"]?.intValue ?? -1) of \(head); \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
            XCTAssertEqual(status, 0, "\(transport): \(run.child.standardError.suffix(1500))")
            // Each connection is given a byte budget when it opens; one that carries less (a health
            // poll's) ends uncut, so not every planned reset happens.
            XCTAssertGreaterThanOrEqual(proxy.cut, 3, "\(transport): the proxy cut too few connections: the test proved less")
            // A reconnect may bring the node's newer head in before the audit stops: at least the range.
            XCTAssertGreaterThanOrEqual(state["head"]?.intValue ?? 0, head, transport)
            XCTAssertEqual(gridAlarms(state), gridAlarms(clean.state), transport)
            // Compared up to the interval the fault-free audit settled.
            let settled = clean.state["settledInterval"]?.intValue ?? 0
            func upTo(_ s: JSON) -> [JSON] { (s["balances"]?.arrayValue ?? []).filter { ($0["interval"]?.intValue ?? 0) <= settled } }
            XCTAssertFalse(upTo(clean.state).isEmpty)
            XCTAssertEqual(upTo(state), upTo(clean.state), "\(transport): balances differ from the fault-free audit")
        }
    }
}
