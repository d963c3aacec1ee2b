import ChainCore
import XCTest
@testable import GridCore

final class BalanceTests: XCTestCase {
    let root = AssetID.asset(code: "TR-ROOT"), gen = AssetID.asset(code: "GEN-1"), sub = AssetID.asset(code: "SS-1")
    let tx = AssetID.asset(code: "TX-1"), c1 = AssetID.asset(code: "C-1"), c2 = AssetID.asset(code: "C-2")

    func grid() -> Topology {
        var t = Topology()
        t.register(AssetRegistration(asset: root, parent: .zero, stage: .transmission, ratedKw: 0, name: "root"))
        t.register(AssetRegistration(asset: gen, parent: root, stage: .generation, ratedKw: 100, name: "gen"))
        t.register(AssetRegistration(asset: sub, parent: root, stage: .substation, ratedKw: 100, name: "sub"))
        t.register(AssetRegistration(asset: tx, parent: sub, stage: .transformer, ratedKw: 100, name: "tx"))
        t.register(AssetRegistration(asset: c1, parent: tx, stage: .consumer, ratedKw: 10, name: "c1"))
        t.register(AssetRegistration(asset: c2, parent: tx, stage: .consumer, ratedKw: 10, name: "c2"))
        return t
    }

    func reading(_ a: AssetID, _ imp: UInt64, _ exp: UInt64 = 0, at t: UInt64 = 900) -> MeterReading {
        MeterReading(asset: a, intervalStart: t, intervalSeconds: 900, importWh: imp, exportWh: exp)
    }

    func testResidualIsParentMinusChildrenAndRootUsesGenerators() {
        let t = grid()
        var l = IntervalLedger()
        for r in [reading(gen, 0, 1050), reading(sub, 1000), reading(tx, 960), reading(c1, 500), reading(c2, 200, 20)] {
            XCTAssertEqual(l.record(r), .recorded)
        }
        let b = l.balance(of: tx, in: 900, topology: t)!
        XCTAssertEqual(b.residualWh, 960 - 500 - 180)
        XCTAssertTrue(b.complete)
        XCTAssertEqual(b.throughputWh, 980)  // 960 in + 20 exported by c2
        let r = l.balance(of: root, in: 900, topology: t)!
        XCTAssertEqual(r.residualWh, 50)  // 1050 generated − 1000 delivered
        XCTAssertEqual(l.balance(of: sub, in: 900, topology: t)!.residualWh, 40)
    }

    func testMissingChildMakesBalanceIncompleteNotSuspicious() {
        let t = grid()
        var l = IntervalLedger()
        _ = l.record(reading(tx, 960))
        _ = l.record(reading(c1, 500))
        let b = l.balance(of: tx, in: 900, topology: t)!
        XCTAssertFalse(b.complete)
        XCTAssertEqual(b.childrenReporting, 1)
    }

    func testDuplicateIsOneReadingAndConflictKeepsTheFirst() {
        var l = IntervalLedger()
        XCTAssertEqual(l.record(reading(c1, 500)), .recorded)
        XCTAssertEqual(l.record(reading(c1, 500)), .duplicate)
        guard case .conflict(let first) = l.record(reading(c1, 400)) else { return XCTFail("no conflict") }
        XCTAssertEqual(first.reading.importWh, 500)
        XCTAssertEqual(l.reading(c1, 900)?.importWh, 500)
    }

    func testRetractRemovesReadingsOfAnOrphanedBlock() {
        var l = IntervalLedger()
        let h1 = Keccak256.bytes32("b1"), h2 = Keccak256.bytes32("b2")
        _ = l.record(reading(c1, 500), origin: EventOrigin(blockNumber: 1, blockHash: h1, transactionHash: .zero, logIndex: 0))
        _ = l.record(reading(c2, 300), origin: EventOrigin(blockNumber: 2, blockHash: h2, transactionHash: .zero, logIndex: 0))
        XCTAssertEqual(l.retract(block: h2), [900])
        XCTAssertNil(l.reading(c2, 900))
        XCTAssertNotNil(l.reading(c1, 900))
        XCTAssertEqual(l.record(reading(c2, 310)), .recorded)  // the new canonical block's reading
    }

    func testReparentingMovesAndCyclesAreRefused() {
        var t = grid()
        let sub2 = AssetID.asset(code: "SS-2")
        t.register(AssetRegistration(asset: sub2, parent: root, stage: .substation, ratedKw: 1, name: "sub2"))
        t.register(AssetRegistration(asset: tx, parent: sub2, stage: .transformer, ratedKw: 100, name: "tx"))
        XCTAssertEqual(t.children(of: sub), [])
        XCTAssertEqual(t.children(of: sub2), [tx])
        XCTAssertEqual(t.path(to: c1).map(\.id), [root, sub2, tx, c1])
        XCTAssertFalse(t.register(AssetRegistration(asset: sub2, parent: c1, stage: .substation, ratedKw: 1, name: "loop")))
        XCTAssertEqual(t.count, 7)
        XCTAssertEqual(t.countByStage[.consumer], 2)
    }

    func testRetentionBoundsMemory() {
        var l = IntervalLedger(retainIntervals: 4)
        for i in 0..<10 { _ = l.record(reading(c1, 1, at: UInt64(i) * 900)) }
        XCTAssertEqual(l.intervals.count, 4)
        XCTAssertEqual(l.intervals.keys.min(), 6 * 900)
    }
}
