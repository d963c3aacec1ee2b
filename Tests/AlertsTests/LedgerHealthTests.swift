import ChainCore
import GridCore
import XCTest
@testable import Alerts

/// Validator, node and reorg detectors of the pure monitor, from fixed health data.
final class LedgerHealthTests: XCTestCase {
    static func address(_ b: UInt8) -> Address { try! Address(bytes: [UInt8](repeating: 0x11, count: 19) + [b]) }
    let v1 = LedgerHealthTests.address(0xA1), v2 = LedgerHealthTests.address(0xB2), v3 = LedgerHealthTests.address(0xC3)

    func probe(_ validators: [ConsensusHealth.Validator], from: UInt64 = 100, to: UInt64 = 163) -> LedgerUpdate {
        .consensus(ConsensusHealth(engine: .qbft, node: "node-1", fromBlock: from, toBlock: to, validators: validators))
    }

    func active(_ m: Monitor, _ kind: AlarmKind) -> [Alarm] {
        m.book.alarms.values.filter { $0.kind == kind && $0.active }
    }

    func testValidatorMissingItsTurnsIsRaisedAfterTwoProbesAndClearsAfterTwoCleanOnes() {
        var m = Monitor()
        let bad = probe([.init(address: v1, proposedBlocks: 30, lastProposedBlock: 163, missedTurns: 0),
                         .init(address: v2, proposedBlocks: 0, lastProposedBlock: nil, missedTurns: 21),
                         .init(address: v3, proposedBlocks: 31, lastProposedBlock: 162, missedTurns: 2)])
        XCTAssertTrue(m.apply(bad, now: 1).isEmpty, "one probe is not enough (on-delay: 2 evaluations)")
        let out = m.apply(bad, now: 31)
        let raised = out.filter { $0.event == .raised }
        XCTAssertEqual(raised.count, 1, "\(raised.map(\.alarm.assetName))")
        let a = try! XCTUnwrap(raised.first).alarm
        XCTAssertEqual(a.kind, .validatorMissingTurns)
        XCTAssertEqual(a.asset, Monitor.validatorAsset(v2))
        XCTAssertEqual(a.assetName, "validator \(v2.short)")
        XCTAssertNil(a.stage)
        XCTAssertEqual(a.priority, .medium)
        XCTAssertTrue(a.message.contains("missed 21 of 21 turns"), a.message)
        XCTAssertTrue(a.message.contains("100–163"), a.message)
        XCTAssertEqual(m.snapshot(now: 31).consensus?.validators.count, 3, "the probe is on the snapshot")

        let good = probe([.init(address: v1, proposedBlocks: 30, missedTurns: 0),
                          .init(address: v2, proposedBlocks: 20, missedTurns: 1),
                          .init(address: v3, proposedBlocks: 31, missedTurns: 0)])
        XCTAssertTrue(m.apply(good, now: 61).isEmpty)
        let cleared = m.apply(good, now: 91)
        XCTAssertEqual(cleared.map(\.event), [.cleared])
        XCTAssertTrue(active(m, .validatorMissingTurns).isEmpty)
    }

    func testAFewMissedTurnsAmongManyAndEnginesWithoutTurnDataRaiseNothing() {
        var c = MonitorConfiguration()
        c.validatorMissedTurns = 3
        c.validatorMissedShare = 0.2
        var m = Monitor(configuration: c)
        // 4 of 40 due turns (10 %): a busy validator, not a failing one.
        let busy = probe([.init(address: v1, proposedBlocks: 36, missedTurns: 4),
                          .init(address: v2, proposedBlocks: 0, missedTurns: nil)])
        for t in 0..<5 { XCTAssertTrue(m.apply(busy, now: Double(t)).isEmpty) }
        // A validator voted out of the set has its alarm cleared.
        let out1 = m.apply(probe([.init(address: v3, proposedBlocks: 0, missedTurns: 9), .init(address: v1, proposedBlocks: 30, missedTurns: 0)]), now: 10)
        let out2 = m.apply(probe([.init(address: v3, proposedBlocks: 0, missedTurns: 9), .init(address: v1, proposedBlocks: 30, missedTurns: 0)]), now: 11)
        XCTAssertTrue(out1.isEmpty)
        XCTAssertEqual(out2.map(\.alarm.asset), [Monitor.validatorAsset(v3)])
        _ = m.apply(probe([.init(address: v1, proposedBlocks: 30, missedTurns: 0)]), now: 12)
        let gone = m.apply(probe([.init(address: v1, proposedBlocks: 30, missedTurns: 0)]), now: 13)
        XCTAssertEqual(gone.map(\.event), [.cleared])
        XCTAssertTrue(gone.first?.alarm.message.contains("no longer a validator") ?? false)
    }

    func node(_ name: String, lag: UInt64 = 0, peers: UInt64? = 4, connection: NodeStatus.Connection = .connected) -> NodeStatus {
        NodeStatus(name: name, endpoint: "ws://\(name):8546", connection: connection, trust: .verified, headNumber: 500, lag: lag, peerCount: peers)
    }

    func testNodeLagIsRaisedOnlyWhenItLastsAndClearsWhenCaughtUp() {
        var m = Monitor()
        XCTAssertTrue(m.apply(.nodes([node("a", lag: 40), node("b")]), now: 0).isEmpty)
        XCTAssertTrue(m.tick(now: 20).isEmpty, "a lag shorter than the on-delay (30 s) is catching up, not an alarm")
        let out = m.tick(now: 31)
        XCTAssertEqual(out.map(\.event), [.raised])
        let a = try! XCTUnwrap(out.first).alarm
        XCTAssertEqual(a.kind, .nodeLag)
        XCTAssertEqual(a.assetName, "a")
        XCTAssertEqual(a.asset, Monitor.nodeAsset("ws://a:8546"))
        XCTAssertTrue(a.message.contains("40 blocks behind"), a.message)
        XCTAssertEqual(a.priority, .low)
        // A lag that comes and goes within the delay never raises (node b); a caught up clears after 10 s.
        var later: [AlarmTransition] = []
        later += m.apply(.nodes([node("a"), node("b", lag: 9)]), now: 32)
        later += m.apply(.nodes([node("a"), node("b", lag: 0)]), now: 40)
        XCTAssertTrue(later.isEmpty, "8 s caught up is within the off-delay")
        later += m.apply(.nodes([node("a"), node("b", lag: 9)]), now: 50)
        later += m.tick(now: 60)
        XCTAssertEqual(later.map(\.event), [.cleared])
        XCTAssertEqual(later.first?.alarm.asset, Monitor.nodeAsset("ws://a:8546"))
        XCTAssertEqual(later.first?.alarm.kind, .nodeLag)
        XCTAssertFalse(m.book.alarms.values.contains { $0.asset == Monitor.nodeAsset("ws://b:8546") })
    }

    func testLowPeersUsesTheConfiguredMinimum() {
        var c = MonitorConfiguration()
        c.minimumPeers = 3
        var m = Monitor(configuration: c)
        _ = m.apply(.nodes([node("a", peers: 2), node("b", peers: 3), node("c", peers: nil)]), now: 0)
        let out = m.tick(now: 31)
        XCTAssertEqual(out.map(\.alarm.kind), [.lowPeers])
        XCTAssertEqual(out.first?.alarm.assetName, "a")
        XCTAssertTrue(out.first?.alarm.message.contains("2 peers (minimum 3)") ?? false)
        // The default minimum of 1 in a small consortium: 2 peers are fine, 0 is not.
        var d = Monitor()
        _ = d.apply(.nodes([node("a", peers: 2), node("b", peers: 0)]), now: 0)
        XCTAssertEqual(d.tick(now: 31).map(\.alarm.assetName), ["b"])
    }

    func testNodeDownExplainsItsLagAndLowPeers() {
        var m = Monitor()
        _ = m.apply(.nodes([node("a", lag: 30, peers: 0)]), now: 0)
        let lagging = m.tick(now: 31)
        XCTAssertEqual(Set(lagging.map(\.alarm.kind)), [.nodeLag, .lowPeers])
        _ = m.apply(.nodes([node("a", lag: 30, peers: 0, connection: .disconnected)]), now: 32)
        let out = m.tick(now: 43)
        let down = try! XCTUnwrap(out.first { $0.event == .raised && $0.alarm.kind == .nodeDown }).alarm
        let suppressed = out.filter { $0.event == .suppressed }
        XCTAssertEqual(Set(suppressed.map(\.alarm.kind)), [.nodeLag, .lowPeers])
        XCTAssertTrue(suppressed.allSatisfy { $0.alarm.suppressedBy == down.id })
        let snap = m.snapshot(now: 43)
        XCTAssertEqual(snap.alarms.map(\.kind), [.nodeDown], "only the cause is shown")
        XCTAssertEqual(snap.inhibitedCount, 2)
    }

    func reorg(depth: Int, beyond: Bool = false, head: UInt64 = 200) -> LedgerUpdate {
        .reorg(ReorgReport(newHead: head, newHeadHash: Bytes32(uint: head), depth: depth, limit: 64, beyondLimit: beyond))
    }

    func testDeepReorgIsHighAndBeyondTheLimitCriticalAndClearsOnceTheChainMovesOn() {
        var m = Monitor()
        XCTAssertTrue(m.apply(reorg(depth: 2), now: 1).isEmpty, "a 2-block reorg is ordinary")
        let out = m.apply(reorg(depth: 3), now: 2)
        XCTAssertEqual(out.map(\.alarm.kind), [.deepReorg])
        XCTAssertEqual(out.first?.alarm.priority, .high)
        XCTAssertTrue(out.first?.alarm.message.contains("orphaned 3 blocks") ?? false)
        // Worse while active: the same alarm, escalated.
        _ = m.apply(reorg(depth: 70, beyond: true, head: 210), now: 3)
        let a = try! XCTUnwrap(active(m, .deepReorg).first)
        XCTAssertEqual(a.priority, .critical)
        XCTAssertTrue(a.message.contains("deeper than the client's limit of 64"), a.message)
        // A fresh reorg beyond the limit is critical from the start.
        var n = Monitor()
        XCTAssertEqual(n.apply(reorg(depth: 64, beyond: true), now: 1).first?.alarm.priority, .critical)

        let chain = ChainFixture()
        XCTAssertTrue(m.apply(chain.block(273, []), now: 4).filter { $0.event == .cleared }.isEmpty)
        let cleared = m.apply(chain.block(274, []), now: 5)
        XCTAssertEqual(cleared.filter { $0.event == .cleared }.map(\.alarm.kind), [.deepReorg], "64 blocks past the new head")
    }

    func testNewKindsRoundTripThroughAlarmJSON() throws {
        for kind in [AlarmKind.validatorMissingTurns, .nodeLag, .lowPeers, .deepReorg] {
            let a = Alarm(id: 3, kind: kind, asset: Bytes32(uint: 9), assetName: "x", stage: nil, priority: kind.defaultPriority,
                          active: true, acknowledged: false, raisedAt: 1_795_000_000, changedAt: 1_795_000_000, interval: nil,
                          message: "m", count: 1, origin: nil)
            let t = AlarmTransition(event: .raised, alarm: a, at: 1_795_000_000)
            let line = AlarmJSON.line(t)
            XCTAssertTrue(line.contains("\"kind\":\"\(kind.rawValue)\""), line)
            XCTAssertEqual(try AlarmJSON.transition(fromLine: line).alarm.kind, kind)
        }
    }
}
