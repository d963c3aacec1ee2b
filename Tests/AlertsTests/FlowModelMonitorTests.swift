import ChainCore
import GridCore
import XCTest
@testable import Alerts

/// The monitor's flow model: per segment and per stage, incomplete intervals marked and
/// never judged, late readings settled after the grace period, re-parenting honoured.
final class FlowModelMonitorTests: XCTestCase {
    typealias F = ChainFixture
    let feeder = AssetID.asset(code: "F-1"), tx1 = AssetID.asset(code: "TX-1"), tx2 = AssetID.asset(code: "TX-2")
    let c1 = AssetID.asset(code: "C-1"), c2 = AssetID.asset(code: "C-2"), c3 = AssetID.asset(code: "C-3")

    func start() -> (Monitor, ChainFixture) {
        var m = Monitor()
        var chain = ChainFixture()
        _ = m.apply(chain.append([
            F.register(feeder, under: .zero, .feeder, "F-1"),
            F.register(tx1, under: feeder, .transformer, "TX-1"),
            F.register(c1, under: tx1, .consumer, "C-1"),
            F.register(c2, under: tx1, .consumer, "C-2"),
            F.register(c3, under: tx1, .consumer, "C-3"),
        ]).update, now: 1)
        return (m, chain)
    }

    /// TX-1 imports what its three consumers take plus 40 Wh of loss (+ `extra` unmetered).
    func readings(_ k: UInt64, skip: Set<AssetID> = [], extra: UInt64 = 0) -> [GridEvent] {
        let loads: [(AssetID, UInt64)] = [(c1, 400 + k % 7), (c2, 300 + 3 * (k % 5)), (c3, 200)]
        let total = loads.reduce(0) { $0 + $1.1 }
        var ev = [F.reading(feeder, k, import: total + 40 + extra + 20), F.reading(tx1, k, import: total + 40 + extra)]
        ev += loads.map { F.reading($0.0, k, import: $0.1) }
        return ev.filter { e in
            if case .meterReading(let r) = e { return !skip.contains(r.asset) }
            return true
        }
    }

    func testSegmentAndStageFlowsOfASettledInterval() throws {
        var (m, chain) = start()
        for k in UInt64(2)...12 { _ = m.apply(chain.append(readings(k)).update, now: Double(k)) }
        XCTAssertEqual(m.settledInterval, 12 * 900)
        let loads: Int64 = (400 + 12 % 7) + (300 + 3 * (12 % 5)) + 200
        let f = try XCTUnwrap(m.segmentFlows[tx1])
        XCTAssertEqual(f.interval, 12 * 900)
        XCTAssertEqual(f.importedWh, loads + 40)
        XCTAssertEqual(f.exportedWh, 0)
        XCTAssertEqual(f.deliveredWh, loads)
        XCTAssertTrue(f.complete)
        XCTAssertEqual(f.childrenReporting, 3)
        // Warmed up (8 clean intervals): the learned loss is the 40 Wh the segment always lost.
        XCTAssertEqual(try XCTUnwrap(f.expectedLossWh), 40, accuracy: 2)
        XCTAssertEqual(try XCTUnwrap(f.unaccountedWh), 0, accuracy: 2)
        let stage = try XCTUnwrap(m.stageFlows.first { $0.stage == .transformer })
        XCTAssertEqual(stage.deliveredWh, loads)
        XCTAssertEqual(stage.importWh, loads + 40)
        XCTAssertEqual(stage.segments, 1)
        XCTAssertEqual(stage.incompleteSegments, 0)
        XCTAssertEqual(m.stageFlows.first { $0.stage == .feeder }?.deliveredWh, loads + 40, "the feeder delivered what TX-1 took")
    }

    func testLateReadingWaitsForTheGracePeriodAndSettlesComplete() throws {
        var (m, chain) = start()
        for k in UInt64(2)...10 { _ = m.apply(chain.append(readings(k)).update, now: Double(k)) }
        // C-3's reading for interval 11 is late; interval 12 also lacks C-2's (so it does not settle with 11).
        _ = m.apply(chain.append(readings(11, skip: [c3])).update, now: 11)
        XCTAssertEqual(m.settledInterval, 10 * 900, "waits for the missing reading")
        _ = m.apply(chain.append(readings(12, skip: [c2]) + [F.reading(c3, 11, import: 200)]).update, now: 12)
        XCTAssertEqual(m.settledInterval, 11 * 900, "settles as soon as the late reading completes it")
        let f = try XCTUnwrap(m.segmentFlows[tx1])
        XCTAssertEqual(f.interval, 11 * 900)
        XCTAssertTrue(f.complete)
        XCTAssertEqual(f.childrenReporting, 3)
    }

    func testIncompleteIntervalIsMarkedAndNeverCountedAsTheft() throws {
        var (m, chain) = start()
        var all: [AlarmTransition] = []
        for k in UInt64(2)...20 { all += m.apply(chain.append(readings(k)).update, now: Double(k)) }
        // Interval 21: C-3 silent and 5 kWh through TX-1 that no meter below saw; 22 also lacks C-3.
        all += m.apply(chain.append(readings(21, skip: [c3], extra: 5000)).update, now: 21)
        all += m.apply(chain.append(readings(22, skip: [c3])).update, now: 22)
        XCTAssertEqual(m.settledInterval, 20 * 900, "within the grace period nothing is settled")
        all += m.apply(chain.append(readings(23, skip: [c3])).update, now: 23)
        XCTAssertEqual(m.settledInterval, 21 * 900, "settled after the grace period, incomplete")
        let f = try XCTUnwrap(m.segmentFlows[tx1])
        XCTAssertFalse(f.complete)
        XCTAssertEqual(f.childrenReporting, 2)
        XCTAssertNil(f.expectedLossWh)
        XCTAssertNil(f.unaccountedWh)
        let stage = try XCTUnwrap(m.stageFlows.first { $0.stage == .transformer })
        XCTAssertEqual(stage.incompleteSegments, 1)
        XCTAssertEqual(stage.unaccountedWh, 0, "an incomplete balance is not unaccounted energy")
        XCTAssertEqual(stage.lossWh, 0)
        XCTAssertFalse(all.contains { $0.alarm.kind == .suspectedTheft })
    }

    func testReparentingIsHonouredFromTheIntervalItHappens() throws {
        var (m, chain) = start()
        _ = m.apply(chain.append([F.register(tx2, under: feeder, .transformer, "TX-2")]).update, now: 1)
        let e = AssetID.asset(code: "E-1")
        _ = m.apply(chain.append([F.register(e, under: tx2, .consumer, "E-1")]).update, now: 1)
        func all(_ k: UInt64, c1Under: AssetID, skip: Set<AssetID> = []) -> [GridEvent] {
            let tx1Load: UInt64 = (c1Under == tx1 ? 400 : 0) + 300 + 200
            let tx2Load: UInt64 = (c1Under == tx2 ? 400 : 0) + 100
            return [F.reading(feeder, k, import: tx1Load + tx2Load + 70), F.reading(tx1, k, import: tx1Load + 30),
                    F.reading(tx2, k, import: tx2Load + 20), F.reading(c1, k, import: 400), F.reading(c2, k, import: 300),
                    F.reading(c3, k, import: 200), F.reading(e, k, import: 100)].filter { ev in
                if case .meterReading(let r) = ev { return !skip.contains(r.asset) }
                return true
            }
        }
        for k in UInt64(2)...3 { _ = m.apply(chain.append(all(k, c1Under: tx1)).update, now: Double(k)) }
        // Interval 4 is reported but for C-3 (late); then switching moves C-1 under TX-2.
        _ = m.apply(chain.append(all(4, c1Under: tx1, skip: [c3])).update, now: 4)
        _ = m.apply(chain.append([F.register(c1, under: tx2, .consumer, "C-1")]).update, now: 4)
        XCTAssertEqual(m.topology.children(of: tx2), [e, c1])
        _ = m.apply(chain.append([F.reading(c3, 4, import: 200)]).update, now: 5)
        XCTAssertEqual(m.settledInterval, 4 * 900)
        let old1 = try XCTUnwrap(m.segmentFlows[tx1]), old2 = try XCTUnwrap(m.segmentFlows[tx2])
        XCTAssertTrue(old1.complete && old2.complete)
        XCTAssertEqual(old1.deliveredWh, 900, "interval 4 balanced with C-1 still under TX-1")
        XCTAssertEqual(old1.importedWh - old1.deliveredWh, 30)
        XCTAssertEqual(old2.deliveredWh, 100)
        _ = m.apply(chain.append(all(5, c1Under: tx2)).update, now: 6)
        XCTAssertEqual(m.settledInterval, 5 * 900)
        let new1 = try XCTUnwrap(m.segmentFlows[tx1]), new2 = try XCTUnwrap(m.segmentFlows[tx2])
        XCTAssertEqual(new1.deliveredWh, 500)
        XCTAssertEqual(new1.importedWh - new1.deliveredWh, 30)
        XCTAssertEqual(new2.deliveredWh, 500)
        XCTAssertEqual(new2.importedWh - new2.deliveredWh, 20)
        XCTAssertTrue(new1.complete && new2.complete)
        XCTAssertFalse(m.topology.hasPendingHistory, "history dropped once settled")
    }
}
