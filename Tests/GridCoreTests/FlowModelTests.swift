import ChainCore
import XCTest
@testable import GridCore

/// Flow-model additions: re-parenting honoured from the interval it happens, the own
/// meter's import/export on a balance, and the transfer ledger.
final class FlowModelTests: XCTestCase {
    let tx1 = AssetID.asset(code: "TX-1"), tx2 = AssetID.asset(code: "TX-2"), feeder = AssetID.asset(code: "F-1")
    let c = AssetID.asset(code: "C-1"), d = AssetID.asset(code: "D-1")

    func reg(_ a: AssetID, _ p: AssetID, _ s: Stage) -> AssetRegistration {
        AssetRegistration(asset: a, parent: p, stage: s, ratedKw: 10, name: "x")
    }

    func reading(_ a: AssetID, _ k: UInt64, _ imp: UInt64, _ exp: UInt64 = 0) -> MeterReading {
        MeterReading(asset: a, intervalStart: k * 900, intervalSeconds: 900, importWh: imp, exportWh: exp)
    }

    func testReparentingCountsFromItsIntervalAndEarlierIntervalsKeepTheOldTree() throws {
        var t = Topology()
        for r in [reg(feeder, .zero, .feeder), reg(tx1, feeder, .transformer), reg(tx2, feeder, .transformer),
                  reg(c, tx1, .consumer), reg(d, tx1, .consumer)] { t.register(r) }
        XCTAssertFalse(t.hasPendingHistory, "the initial tree has no history")
        // Switching moves C under TX-2 from interval 5 on.
        XCTAssertTrue(t.register(reg(c, tx2, .consumer), effectiveFrom: 5 * 900))
        XCTAssertEqual(Set(t.children(of: tx1, in: 4 * 900)), [c, d])
        XCTAssertEqual(t.children(of: tx2, in: 4 * 900), [])
        XCTAssertEqual(t.children(of: tx1, in: 5 * 900), [d])
        XCTAssertEqual(t.children(of: tx2, in: 5 * 900), [c])

        var l = IntervalLedger()
        for r in [reading(tx1, 4, 1030), reading(c, 4, 600), reading(d, 4, 400), reading(tx2, 4, 10),
                  reading(tx1, 5, 420), reading(c, 5, 600), reading(d, 5, 400), reading(tx2, 5, 615)] { l.record(r) }
        let b4 = try! XCTUnwrap(l.balance(of: tx1, in: 4 * 900, topology: t))
        XCTAssertEqual(b4.childrenNetInWh, 1000)
        XCTAssertEqual(b4.residualWh, 30)
        XCTAssertTrue(b4.complete)
        XCTAssertNil(l.balance(of: tx2, in: 4 * 900, topology: t), "TX-2 had no children in interval 4")
        let b5 = try! XCTUnwrap(l.balance(of: tx1, in: 5 * 900, topology: t))
        XCTAssertEqual(b5.residualWh, 20)
        XCTAssertEqual(try XCTUnwrap(l.balance(of: tx2, in: 5 * 900, topology: t)).residualWh, 15)

        // Once interval 4 is settled the history is not needed any more.
        t.forgetHistory(through: 4 * 900)
        XCTAssertTrue(t.hasPendingHistory)
        t.forgetHistory(through: 5 * 900)
        XCTAssertFalse(t.hasPendingHistory)
        XCTAssertEqual(t.children(of: tx1, in: 4 * 900), [d])
    }

    func testANewMeterIsNotMissingBeforeItExisted() throws {
        var t = Topology()
        for r in [reg(feeder, .zero, .feeder), reg(tx1, feeder, .transformer), reg(c, tx1, .consumer)] { t.register(r) }
        t.register(reg(d, tx1, .consumer), effectiveFrom: 3 * 900)
        var l = IntervalLedger()
        l.record(reading(tx1, 2, 510)); l.record(reading(c, 2, 500))
        XCTAssertTrue(try XCTUnwrap(l.balance(of: tx1, in: 2 * 900, topology: t)).complete)
        l.record(reading(tx1, 3, 510)); l.record(reading(c, 3, 500))
        let b3 = try XCTUnwrap(l.balance(of: tx1, in: 3 * 900, topology: t))
        XCTAssertFalse(b3.complete, "D-1 exists from interval 3 and has not reported")
        XCTAssertEqual(b3.childrenExpected, 2)
    }

    func testBalanceCarriesTheSegmentsOwnImportAndExport() throws {
        var t = Topology()
        for r in [reg(feeder, .zero, .feeder), reg(tx1, feeder, .transformer), reg(c, tx1, .consumer), reg(d, tx1, .consumer)] { t.register(r) }
        var l = IntervalLedger()
        for r in [reading(tx1, 1, 700, 40), reading(c, 1, 900), reading(d, 1, 0, 300)] { l.record(r) }
        let b = try XCTUnwrap(l.balance(of: tx1, in: 900, topology: t))
        XCTAssertEqual(b.importWh, 700)
        XCTAssertEqual(b.exportWh, 40)
        XCTAssertEqual(b.netInWh, 660)
        XCTAssertEqual(b.childrenNetInWh, 600, "delivered downstream: 900 in to C-1, 300 out of D-1")
        XCTAssertEqual(b.residualWh, 60)
    }

    func origin(_ block: UInt64, _ log: UInt32) -> EventOrigin {
        EventOrigin(blockNumber: block, blockHash: Bytes32(uint: block), transactionHash: Bytes32(uint: block * 100 + UInt64(log)), logIndex: log)
    }

    func testTransferLedgerDeduplicatesLogsRetractsBlocksAndChecksBothSides() throws {
        var x = TransferLedger()
        let sale = EnergyTransfer(from: c, to: d, intervalStart: 900, wh: 300, priceMicrosPerKwh: 1)
        XCTAssertTrue(x.record(sale, origin: origin(7, 0)))
        XCTAssertFalse(x.record(sale, origin: origin(7, 0)), "the same log twice is one transfer")
        XCTAssertTrue(x.record(sale, origin: origin(8, 0)), "an equal trade in another log is another trade")
        var l = IntervalLedger()
        l.record(reading(c, 1, 0, 500))
        let sold = x.checks(for: c, in: 900, readings: l)
        XCTAssertEqual(sold.map(\.side), [.sold])
        XCTAssertEqual(sold.first?.claimedWh, 600)
        XCTAssertEqual(sold.first?.meteredWh, 500)
        XCTAssertTrue(sold.first!.mismatch(toleranceWh: 1))
        XCTAssertFalse(sold.first!.mismatch(toleranceWh: 100))
        let bought = x.checks(for: d, in: 900, readings: l)
        XCTAssertEqual(bought.map(\.side), [.bought])
        XCTAssertNil(bought.first?.meteredWh)
        XCTAssertFalse(bought.first!.mismatch(toleranceWh: 1), "no reading, no evidence")
        XCTAssertEqual(x.retract(block: Bytes32(uint: 8)), [900: [c, d]])
        XCTAssertEqual(x.checks(for: c, in: 900, readings: l).first?.claimedWh, 300)
        XCTAssertTrue(x.record(sale, origin: origin(8, 0)), "a retracted log can come back on the new branch")
    }
}
