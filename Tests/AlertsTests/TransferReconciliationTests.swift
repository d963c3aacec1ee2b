import ChainCore
import GridCore
import XCTest
@testable import Alerts

/// Trades (`EnergyTransfer`) against the meters, through the real monitor pipeline.
final class TransferReconciliationTests: XCTestCase {
    typealias F = ChainFixture
    let feeder = AssetID.asset(code: "F-1"), tx = AssetID.asset(code: "TX-1")
    let seller = AssetID.asset(code: "PV-HOUSE-1"), buyer = AssetID.asset(code: "HOUSE-2"), other = AssetID.asset(code: "HOUSE-3")

    /// A feeder with a transformer and three houses; the seller's rooftop PV exports 500 Wh per interval.
    func start() -> (Monitor, ChainFixture) {
        var m = Monitor()
        var chain = ChainFixture()
        _ = m.apply(chain.append([
            F.register(feeder, under: .zero, .feeder, "F-1"),
            F.register(tx, under: feeder, .transformer, "TX-1"),
            F.register(seller, under: tx, .consumer, "PV-HOUSE-1"),
            F.register(buyer, under: tx, .consumer, "HOUSE-2"),
            F.register(other, under: tx, .consumer, "HOUSE-3"),
        ]).update, now: 1)
        return (m, chain)
    }

    func readings(_ k: UInt64, seller sellerExport: UInt64? = 500, skip: Set<AssetID> = []) -> [GridEvent] {
        var ev = [F.reading(feeder, k, import: 1500), F.reading(tx, k, import: 1450),
                  F.reading(buyer, k, import: 1200), F.reading(other, k, import: 700)]
        if let e = sellerExport { ev.append(F.reading(seller, k, import: 0, export: e)) }
        return ev.filter { e in
            if case .meterReading(let r) = e { return !skip.contains(r.asset) }
            return true
        }
    }

    func mismatches(_ m: Monitor) -> [Alarm] {
        m.book.alarms.values.filter { $0.kind == .transferMismatch && $0.active }.sorted { $0.id < $1.id }
    }

    func testOverClaimRaisesOnTheSellerWithClaimedMeteredAndTheTransfersBlock() {
        var (m, chain) = start()
        for k in UInt64(2)...4 { _ = m.apply(chain.append(readings(k)).update, now: Double(k)) }
        // The seller claims 900 Wh sold in interval 5; its meter exports 500 Wh. The buyer imported 1200 Wh: fine.
        let trade = chain.append([F.transfer(seller, buyer, 5, 900)])
        let before = m.apply(trade.update, now: 5)
        XCTAssertTrue(before.isEmpty, "not judged before the interval settles: \(before.map(\.alarm.message))")
        let out = m.apply(chain.append(readings(5)).update, now: 6)
        let raised = out.filter { $0.event == .raised && $0.alarm.kind == .transferMismatch }
        XCTAssertEqual(raised.count, 1)
        let a = try! XCTUnwrap(raised.first).alarm
        XCTAssertEqual(a.asset, seller)
        XCTAssertEqual(a.assetName, "PV-HOUSE-1")
        XCTAssertEqual(a.interval, 5 * 900)
        XCTAssertTrue(a.message.contains("sold 900 Wh"), a.message)
        XCTAssertTrue(a.message.contains("exported 500 Wh"), a.message)
        XCTAssertTrue(a.message.contains("block \(trade.number)"), a.message)
        XCTAssertEqual(a.origin?.blockNumber, trade.number, "drill-down goes to the transfer's block")
        XCTAssertEqual(a.origin?.blockHash, F.hash(trade.number))
        XCTAssertEqual(a.origin?.transactionHash, Bytes32(uint: trade.number * 1000))
        XCTAssertEqual(a.priority, .medium)
        XCTAssertEqual(mismatches(m).map(\.asset), [seller], "the buyer imported enough: no alarm on it")
    }

    func testBuyerClaimingMoreThanItImportedIsRaisedOnTheBuyer() {
        var (m, chain) = start()
        // HOUSE-3 imported 700 Wh but claims to have bought 800 from the seller, who exported only 500:
        // both parties' trades exceed their meters.
        _ = m.apply(chain.append([F.transfer(seller, other, 2, 800)]).update, now: 1)
        _ = m.apply(chain.append(readings(2)).update, now: 2)
        XCTAssertEqual(Set(mismatches(m).map(\.asset)), [seller, other])
        let onBuyer = try! XCTUnwrap(mismatches(m).first { $0.asset == other })
        XCTAssertTrue(onBuyer.message.contains("bought 800 Wh"), onBuyer.message)
        XCTAssertTrue(onBuyer.message.contains("imported 700 Wh"), onBuyer.message)
    }

    func testHonestTradesNeverRaiseIncludingTheRegisterResolutionAndDuplicateDelivery() {
        var (m, chain) = start()
        var all: [AlarmTransition] = []
        for k in UInt64(2)...12 {
            // Two trades summing to the export plus the 1 Wh register resolution.
            let events = [F.transfer(seller, buyer, k, 301), F.transfer(seller, other, k, 200)] + readings(k)
            let b = chain.append(events)
            all += m.apply(b.update, now: Double(k))
            // The same block delivered twice (a client retry) is the same two logs, not four trades.
            all += m.apply(b.update, now: Double(k))
        }
        XCTAssertEqual(all.filter { $0.alarm.kind == .transferMismatch }.count, 0)
        XCTAssertEqual(m.transfers.transfers(in: 12 * 900).count, 2)
        // 2 Wh beyond is beyond the resolution: that one is raised.
        _ = m.apply(chain.append([F.transfer(seller, buyer, 13, 302), F.transfer(seller, other, 13, 200)] + readings(13)).update, now: 13)
        XCTAssertEqual(mismatches(m).map(\.asset), [seller])
    }

    func testTransferBeforeALateReadingIsJudgedOnlyWhenTheReadingComesAndStaysQuietWhenHonest() {
        var (m, chain) = start()
        var all: [AlarmTransition] = []
        all += m.apply(chain.append(readings(2)).update, now: 2)
        // The trade and every meter but the seller's for interval 3; interval 3 settles after the grace period.
        all += m.apply(chain.append([F.transfer(seller, buyer, 3, 450)] + readings(3, seller: nil)).update, now: 3)
        for k in UInt64(4)...6 { all += m.apply(chain.append(readings(k)).update, now: Double(k)) }
        XCTAssertGreaterThanOrEqual(m.settledInterval ?? 0, 3 * 900, "settled past the grace period")
        XCTAssertTrue(mismatches(m).isEmpty, "a missing reading is no evidence")
        // The seller's reading arrives late: 500 Wh exported, 450 sold: honest.
        all += m.apply(chain.append([F.reading(seller, 3, import: 0, export: 500)]).update, now: 7)
        XCTAssertTrue(all.filter { $0.alarm.kind == .transferMismatch }.isEmpty)
        // A late reading that shows an over-claim is judged at once.
        _ = m.apply(chain.append([F.transfer(seller, buyer, 7, 450)] + readings(7, seller: nil)).update, now: 8)
        for k in UInt64(8)...10 { _ = m.apply(chain.append(readings(k)).update, now: Double(k)) }
        XCTAssertTrue(mismatches(m).isEmpty)
        _ = m.apply(chain.append([F.reading(seller, 7, import: 0, export: 100)]).update, now: 11)
        XCTAssertEqual(mismatches(m).map(\.asset), [seller])
        XCTAssertEqual(mismatches(m).first?.interval, 7 * 900)
    }

    func testTransferArrivingAfterSettlementIsJudgedAtOnce() {
        var (m, chain) = start()
        for k in UInt64(2)...4 { _ = m.apply(chain.append(readings(k)).update, now: Double(k)) }
        XCTAssertEqual(m.settledInterval, 4 * 900)
        let out = m.apply(chain.append([F.transfer(seller, buyer, 3, 650)]).update, now: 5)
        XCTAssertEqual(out.filter { $0.event == .raised }.map(\.alarm.asset), [seller])
    }

    func testRetractionByReorgClearsTheAlarm() {
        var (m, chain) = start()
        for k in UInt64(2)...3 { _ = m.apply(chain.append(readings(k)).update, now: Double(k)) }
        let bad = chain.append([F.transfer(seller, buyer, 3, 2000)])
        _ = m.apply(bad.update, now: 4)
        XCTAssertEqual(mismatches(m).map(\.asset), [seller, buyer])
        // A retract is taken in with the reorg it belongs to: here no report follows, so at the next tick.
        let out = m.apply(.retract(number: bad.number, hash: F.hash(bad.number)), now: 5) + m.tick(now: 5)
        XCTAssertEqual(Set(out.filter { $0.event == .cleared }.map(\.alarm.asset)), [seller, buyer])
        XCTAssertTrue(mismatches(m).isEmpty)
        XCTAssertTrue(m.transfers.transfers(in: 3 * 900).isEmpty)
    }

    func testRetractedReadingMakesTheCheckIncompleteAndAReplacementIsJudgedAgain() {
        var (m, chain) = start()
        _ = m.apply(chain.append([F.transfer(seller, buyer, 2, 400)]).update, now: 1)
        let rb = chain.append(readings(2, seller: 100))
        _ = m.apply(rb.update, now: 2)
        XCTAssertEqual(mismatches(m).map(\.asset), [seller])
        // The block with the seller's reading is orphaned: no reading, no evidence.
        _ = m.apply(.retract(number: rb.number, hash: F.hash(rb.number)), now: 3)
        _ = m.tick(now: 3)
        XCTAssertTrue(mismatches(m).isEmpty)
        // The new branch carries the real reading (500 Wh): honest.
        _ = m.apply(chain.append(readings(2)).update, now: 4)
        XCTAssertTrue(mismatches(m).isEmpty)
    }
}
