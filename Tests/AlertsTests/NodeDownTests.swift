import ChainCore
import GridCore
import XCTest
@testable import Alerts

/// node-down is "not connected for 10 s": also a node that accepts the socket and never
/// answers, whose attempts cycle between connecting and disconnected.
final class NodeDownTests: XCTestCase {
    func status(_ c: NodeStatus.Connection, _ error: String? = nil) -> NodeStatus {
        NodeStatus(name: "n0", endpoint: "ws://10.0.0.1:8546/", connection: c, lastError: error)
    }

    func testANodeCyclingBetweenConnectingAndTimedOutGoesDownAfterTenSecondsWithTheReason() {
        var m = Monitor()
        var out: [AlarmTransition] = []
        // Each attempt: 5 s connecting, then the connect timeout, a short backoff, again.
        for t in stride(from: 0.0, through: 20, by: 1) {
            let phase = Int(t) % 6
            let s = phase < 5 ? status(.connecting, t >= 5 ? "connect timed out after 5.0 seconds" : nil)
                              : status(.disconnected, "connect timed out after 5.0 seconds")
            out += m.apply(.nodes([s]), now: t)
            out += m.tick(now: t + 0.5)
        }
        let raised = out.filter { $0.event == .raised && $0.alarm.kind == .nodeDown }
        XCTAssertEqual(raised.count, 1, "\(out.map { "\($0.event) \($0.alarm.message)" })")
        XCTAssertEqual(raised.first.map { $0.at }, 10)
        XCTAssertTrue(raised.first?.alarm.message.contains("connect timed out after 5.0 seconds") == true, raised.first?.alarm.message ?? "")
        XCTAssertTrue(m.book.isActive(.nodeDown, Monitor.nodeAsset("ws://10.0.0.1:8546/")))
        // Connected: cleared after the off-delay.
        out = []
        for t in stride(from: 21.0, through: 33, by: 1) { out += m.apply(.nodes([status(.connected)]), now: t) }
        XCTAssertEqual(out.filter { $0.alarm.kind == .nodeDown }.map(\.event), [.cleared])
    }

    func testANodeConnectingQuicklyAtStartRaisesNothing() {
        var m = Monitor()
        var out = m.apply(.nodes([status(.connecting)]), now: 0)
        out += m.apply(.nodes([status(.connected)]), now: 3)
        out += m.tick(now: 15)
        XCTAssertEqual(out.filter { $0.alarm.kind == .nodeDown }, [])
    }

    func testAFaultyNodeAlarmSaysWhy() {
        var m = Monitor()
        var s = status(.connected)
        s.trust = .untrusted
        s.lastError = "untrusted: served 3 undecodable logs in eth_getLogs for blocks 0–15 (first: …); its data is not used"
        var out = m.apply(.nodes([s]), now: 0)
        out += m.tick(now: 4)
        let a = out.first { $0.event == .raised && $0.alarm.kind == .nodeDivergent }
        XCTAssertTrue(a?.alarm.message.contains("faulty, its data is not used: untrusted: served 3 undecodable logs") == true, "\(out.map(\.alarm.message))")
    }
}
