import ChainCore
import GridCore
import XCTest
@testable import Alerts

/// Issue #17 item 3: settlement by the nodes' `finalized` block where they support the tag
/// (and no `confirmations` is configured), else by depth.
final class FinalizedSettlementTests: XCTestCase {
    let tx = AssetID.asset(code: "TX-1"), c1 = AssetID.asset(code: "C-1"), c2 = AssetID.asset(code: "C-2")

    /// One block per interval, 12 blocks; then the nodes' statuses (a verified node reporting `finalized`).
    func monitor(confirmations: UInt64?, finalized: UInt64?, trust: NodeStatus.Trust = .verified) -> Monitor {
        var cfg = MonitorConfiguration()
        cfg.confirmations = confirmations
        var m = Monitor(configuration: cfg)
        _ = m.apply(.chain(id: 7), now: 900)
        _ = m.apply(ChainFixture().block(1, [
            ChainFixture.register(tx, under: .zero, .transformer, "TX-1"),
            ChainFixture.register(c1, under: tx, .consumer, "C-1"),
            ChainFixture.register(c2, under: tx, .consumer, "C-2"),
        ], timestamp: 900), now: 900)
        for k in UInt64(2)...12 {
            _ = m.apply(ChainFixture().block(k, [ChainFixture.reading(c1, k, import: 500), ChainFixture.reading(c2, k, import: 400)],
                                             timestamp: k * 900), now: Double(k * 900))
        }
        var n = NodeStatus(name: "n1", endpoint: "ws://n1", connection: .connected, trust: trust, headNumber: 12)
        n.finalizedNumber = finalized
        _ = m.apply(.nodes([n]), now: 12 * 900 + 1)
        return m
    }

    func settledProvisional(_ m: Monitor) throws -> Bool {
        let s = try XCTUnwrap(m.settledInterval, "an interval was settled")
        return m.isProvisional(s)
    }

    func testAtOrBelowTheFinalizedBlockAnIntervalIsSettled() throws {
        let m = monitor(confirmations: nil, finalized: 12)
        XCTAssertEqual(m.finalizedBlock, 12)
        XCTAssertFalse(try settledProvisional(m))
        XCTAssertEqual(m.snapshot(now: 0).settledByFinalized, 12)
    }

    func testAboveTheFinalizedBlockAnIntervalIsProvisional() throws {
        let m = monitor(confirmations: nil, finalized: 3)
        XCTAssertTrue(try settledProvisional(m), "the settled interval's block is above the finalized block #3")
    }

    func testWithoutTheTagTheEnginesDepthRules() throws {
        // No consensus probe: the default depth of 12 for an unknown engine; head 12 is not that deep.
        let m = monitor(confirmations: nil, finalized: nil)
        XCTAssertNil(m.finalizedBlock)
        XCTAssertTrue(try settledProvisional(m))
        XCTAssertNil(m.snapshot(now: 0).settledByFinalized)
    }

    func testAnUnverifiedNodesFinalityIsNotBelieved() throws {
        let m = monitor(confirmations: nil, finalized: 12, trust: .unknown)
        XCTAssertNil(m.finalizedBlock)
        XCTAssertTrue(try settledProvisional(m))
    }

    func testConfiguredConfirmationsWinOverTheTag() throws {
        // --confirmations 0: settled at once, although the node's finalized block lags far behind.
        let m = monitor(confirmations: 0, finalized: 1)
        XCTAssertFalse(try settledProvisional(m))
        XCTAssertNil(m.snapshot(now: 0).settledByFinalized)
    }
}
