import ChainCore
import Foundation
import GridCore
import XCTest
@testable import Alerts

/// Topology-aware inhibition through the real monitor pipeline.
final class InhibitionTests: XCTestCase {
    let feeder = AssetID.asset(code: "F-1"), tx = AssetID.asset(code: "TX-1")
    let c1 = AssetID.asset(code: "C-1"), c2 = AssetID.asset(code: "C-2")

    func block(_ n: UInt64, _ events: [GridEvent]) -> LedgerUpdate {
        let hash = Bytes32(uint: 0x1000 + n)
        return .block(ChainBlock(header: BlockHeader(number: n, hash: hash, parentHash: Bytes32(uint: 0x1000 + n - 1), timestamp: n * 900, miner: .zero),
                                 events: events.enumerated().map { i, e in
                                     LocatedEvent(event: e, origin: EventOrigin(blockNumber: n, blockHash: hash, transactionHash: Bytes32(uint: n), logIndex: UInt32(i)))
                                 }))
    }

    func reading(_ a: AssetID, _ k: UInt64, _ wh: UInt64) -> GridEvent {
        .meterReading(MeterReading(asset: a, intervalStart: k * 900, intervalSeconds: 900, importWh: wh, exportWh: 0))
    }

    func testStaleUpstreamMeterInhibitsWhatItExplainsAndConsensusStallInhibitsTheGrid() {
        var m = Monitor()
        var all: [AlarmTransition] = []
        all += m.apply(block(1, [
            .assetRegistered(AssetRegistration(asset: feeder, parent: .zero, stage: .feeder, ratedKw: 1000, name: "F-1")),
            .assetRegistered(AssetRegistration(asset: tx, parent: feeder, stage: .transformer, ratedKw: 400, name: "TX-1")),
            .assetRegistered(AssetRegistration(asset: c1, parent: tx, stage: .consumer, ratedKw: 10, name: "C-1")),
            .assetRegistered(AssetRegistration(asset: c2, parent: tx, stage: .consumer, ratedKw: 10, name: "C-2")),
        ]), now: 1)
        for k in UInt64(2)...12 {
            // TX-1 and C-1 go silent after interval 4 (a comms outage under the transformer).
            var ev = [reading(feeder, k, 2100), reading(c2, k, 1000)]
            if k <= 4 { ev += [reading(tx, k, 2050), reading(c1, k, 1000)] }
            all += m.apply(block(k, ev), now: Double(k))
        }
        let snap = m.snapshot(now: 12)
        let txStale = snap.alarms.first { $0.kind == .staleMeter && $0.asset == tx }
        XCTAssertNotNil(txStale, "the upstream stale meter is shown: \(snap.alarms.map(\.assetName))")
        XCTAssertEqual(snap.inhibitedCount, 1)
        XCTAssertEqual(snap.inhibited.first?.asset, c1)
        XCTAssertEqual(snap.inhibited.first?.suppressedBy, txStale?.id)
        XCTAssertFalse(snap.inhibited.first!.annunciated, "raised already inhibited: never annunciated")
        let c1Raised = all.first { $0.event == .raised && $0.alarm.asset == c1 }
        XCTAssertEqual(c1Raised?.alarm.suppressedBy, txStale?.id, "the raised event says why it is not shown")
        XCTAssertEqual(snap.kpis.alarmsLast10Minutes, 1, "only the cause counts as annunciated")

        // The theft alarm of TX-1 itself, and of the feeder above it, are explained by a stale child.
        let causes = Monitor.Causes(stale: [c1: 77])
        XCTAssertEqual(m.cause(for: .suspectedTheft, asset: tx, causes: causes), 77)
        XCTAssertNil(m.cause(for: .suspectedTheft, asset: feeder, causes: causes))
        XCTAssertEqual(m.cause(for: .suspectedTheft, asset: feeder, causes: Monitor.Causes(stale: [tx: 5])), 5)
        XCTAssertNil(m.cause(for: .staleMeter, asset: tx, causes: Monitor.Causes(stale: [tx: 5])), "never inhibits itself")
        XCTAssertNil(m.cause(for: .conflictingReading, asset: c1, causes: Monitor.Causes(stale: [tx: 5])))

        // Consensus stall: everything grid-side is explained by it (first-out).
        let stalled = m.tick(now: 12 + 10_000)
        let stall = stalled.first { $0.event == .raised && $0.alarm.kind == .consensusStall }
        XCTAssertNotNil(stall)
        XCTAssertTrue(stalled.contains { $0.event == .suppressed && $0.alarm.asset == tx && $0.alarm.suppressedBy == stall?.alarm.id })
        var s2 = m.snapshot(now: 12 + 10_000)
        XCTAssertEqual(s2.alarms.map(\.kind), [.consensusStall])
        XCTAssertEqual(Set(s2.inhibited.map(\.asset)), [tx, c1])

        // Blocks again, and TX-1 reports again: its alarm clears; C-1 (still silent) is shown again.
        var back = m.apply(block(13, [reading(feeder, 13, 2100), reading(c2, 13, 1000), reading(tx, 13, 2050)]), now: 10_013)
        back += m.apply(block(14, [reading(feeder, 14, 2100), reading(c2, 14, 1000), reading(tx, 14, 2050)]), now: 10_014)
        XCTAssertTrue(back.contains { $0.event == .cleared && $0.alarm.kind == .consensusStall })
        XCTAssertTrue(back.contains { $0.event == .cleared && $0.alarm.asset == tx })
        XCTAssertTrue(back.contains { $0.event == .unsuppressed && $0.alarm.asset == c1 })
        s2 = m.snapshot(now: 10_014)
        XCTAssertEqual(s2.inhibitedCount, 0)
        XCTAssertTrue(s2.alarms.contains { $0.asset == c1 && $0.kind == .staleMeter && $0.annunciated })
    }

    func testDivergenceInhibitsEvidenceOnlyWithoutAVerifiedMajority() {
        var m = Monitor()
        func node(_ i: Int, _ trust: NodeStatus.Trust) -> NodeStatus {
            NodeStatus(name: "n\(i)", endpoint: "ws://n\(i)", connection: .connected, trust: trust)
        }
        _ = m.apply(.nodes([node(1, .divergent), node(2, .verified), node(3, .verified)]), now: 0)
        _ = m.tick(now: 4)  // on-delay 3 s
        XCTAssertTrue(m.book.isActive(.nodeDivergent, Keccak256.bytes32("ledger:node:ws://n1")))
        var c = m.currentCausesForTesting()
        XCTAssertNil(c.divergence, "a verified majority outvotes one lying node: evidence stands")
        _ = m.apply(.nodes([node(1, .divergent), node(2, .divergent), node(3, .verified), node(4, .unknown)]), now: 5)
        _ = m.tick(now: 9)
        c = m.currentCausesForTesting()
        XCTAssertNotNil(c.divergence)
        XCTAssertEqual(m.cause(for: .suspectedTheft, asset: tx, causes: c), c.divergence)
        XCTAssertNil(m.cause(for: .staleMeter, asset: tx, causes: c))
        XCTAssertNil(m.cause(for: .nodeDown, asset: tx, causes: c))
    }
}

extension Monitor {
    func currentCausesForTesting() -> Causes { currentCauses() }
}
