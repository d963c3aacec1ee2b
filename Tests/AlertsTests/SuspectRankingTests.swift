import ChainCore
import GridCore
import XCTest
@testable import Alerts

final class SuspectRankingTests: XCTestCase {
    /// 40 households over 4 days with individual daily shapes and noise; from the
    /// start of day 3 household 17 hides its consumption as `tamper` says.
    func feeder(seed: UInt64, tamper: (_ day: [Double], _ slot: Int) -> Double) -> (ids: [AssetID], readings: [[Double?]], hours: [Int], stolen: [Double]) {
        var stolen = [Double](repeating: 0, count: 4 * 96)
        var rng = SplitMix(state: seed)
        let n = 40, days = 4, perDay = 96
        var readings: [[Double?]] = []
        for i in 0..<n {
            let scale = 150 + Double(i % 7) * 30
            let peak = 17 + Double(i % 5)
            var truth: [Double] = []
            for t in 0..<(days * perDay) {
                let h = Double(t % perDay) / 4
                let shape = 0.5 + 1.2 * exp(-0.5 * pow((h - peak) / 1.8, 2)) + 0.6 * exp(-0.5 * pow((h - 7.5) / 1.2, 2))
                truth.append(max(5, scale * shape * (1 + 0.15 * rng.gaussian())))
            }
            var metered: [Double?] = truth.map { $0.rounded() }
            if i == 17 {
                for d in 2..<days {
                    let day = Array(truth[(d * perDay)..<((d + 1) * perDay)])
                    for s in 0..<perDay {
                        metered[d * perDay + s] = tamper(day, s).rounded()
                        stolen[d * perDay + s] = day[s] - metered[d * perDay + s]!
                    }
                }
            }
            if i == 3 { metered[50] = nil; metered[250] = nil }  // missing readings are skipped
            readings.append(metered)
        }
        let ids = (0..<n).map { Keccak256.bytes32("C-\($0)") }
        return (ids, readings, (0..<(days * perDay)).map { ($0 % perDay) / 4 }, stolen)
    }

    func rankOfThief(_ tamper: @escaping ([Double], Int) -> Double, seed: UInt64, afterHours: Int = 24) -> Int {
        let f = feeder(seed: seed, tamper: tamper)
        let end = 2 * 96 + afterHours * 4
        let ranked = SuspectRanking.rank(consumers: f.ids, readings: f.readings.map { Array($0.prefix(end)) },
                                         hourOfDay: Array(f.hours.prefix(end)), changePoint: 2 * 96)
        XCTAssertEqual(ranked.count, 40)
        return ranked.firstIndex { $0.asset == f.ids[17] }! + 1
    }

    func testFindsLevelAttacks() {
        for seed: UInt64 in 1...3 {
            XCTAssertEqual(rankOfThief({ _, _ in 0 }, seed: seed, afterHours: 4), 1, "bypass, seed \(seed)")
            XCTAssertEqual(rankOfThief({ d, s in 0.5 * d[s] }, seed: seed), 1, "h1 α=0.5, seed \(seed)")
            XCTAssertLessThanOrEqual(rankOfThief({ d, s in (s >= 40 && s < 64) ? 0 : d[s] }, seed: seed), 3, "h2, seed \(seed)")
        }
    }

    /// h1 α=0.8 (a fifth hidden) beside honest households that charge an EV (7 kW, 2.5 h)
    /// on random evenings, before and after the change point: their readings swing far more
    /// than the thief's fifth, yet the ratio statistic (medians of reading / own hourly
    /// median) still names the thief.
    func testSubtleShareTheftOutranksHonestEVOwners() {
        var firstPlaces = 0
        for seed: UInt64 in 1...5 {
            var f = feeder(seed: seed, tamper: { d, s in 0.8 * d[s] })
            var rng = SplitMix(state: seed &* 31)
            for ev in [2, 9, 23, 31] {  // honest EV owners: a session on about half the evenings
                for d in 0..<3 where rng.next() % 2 == 0 {
                    let start = d * 96 + 72 + Int(rng.next() % 8)
                    for t in start..<(start + 10) { f.readings[ev][t] = (f.readings[ev][t] ?? 0) + 1750 }
                }
            }
            let end = 2 * 96 + 24 * 4
            let ranked = SuspectRanking.rank(consumers: f.ids, readings: f.readings.map { Array($0.prefix(end)) },
                                             hourOfDay: Array(f.hours.prefix(end)), changePoint: 2 * 96)
            let rank = ranked.firstIndex { $0.asset == f.ids[17] }! + 1
            XCTAssertLessThanOrEqual(rank, 3, "seed \(seed): thief ranked \(rank)")
            if rank == 1 { firstPlaces += 1 }
            XCTAssertGreaterThan(ranked.first { $0.asset == f.ids[17] }!.ratioZ, 3, "seed \(seed)")
        }
        XCTAssertGreaterThanOrEqual(firstPlaces, 1)
    }

    func testFindsEnergyNeutralAttacksByShape() {
        for seed: UInt64 in 1...3 {
            XCTAssertLessThanOrEqual(rankOfThief({ d, _ in d.reduce(0, +) / Double(d.count) }, seed: seed), 3, "h5, seed \(seed)")
            XCTAssertLessThanOrEqual(rankOfThief({ d, s in d[d.count - 1 - s] }, seed: seed), 3, "h6, seed \(seed)")
        }
    }

    /// With the segment's residual, the deficit that moves with the unaccounted energy names the thief.
    func testExcessCorrelationFindsEnergyNeutralThieves() {
        for seed: UInt64 in 4...6 {
            for (name, tamper) in [("h5", { (d: [Double], _: Int) in d.reduce(0, +) / Double(d.count) }),
                                   ("h6", { (d: [Double], s: Int) in d[d.count - 1 - s] })] {
                let f = feeder(seed: seed, tamper: tamper)
                var rng = SplitMix(state: seed &+ 99)
                let through = f.readings[0].indices.map { t in f.readings.reduce(0.0) { $0 + ($1[t] ?? 0) } }
                let residual: [Double?] = through.indices.map { t in 50 + 0.03 * through[t] + f.stolen[t] + 15 * rng.gaussian() }
                let end = 3 * 96
                let ranked = SuspectRanking.rank(consumers: f.ids, readings: f.readings.map { Array($0.prefix(end)) },
                                                 hourOfDay: Array(f.hours.prefix(end)), changePoint: 2 * 96,
                                                 residualWh: Array(residual.prefix(end)), throughputWh: through.prefix(end).map { $0 })
                XCTAssertEqual(ranked.first?.asset, f.ids[17], "\(name), seed \(seed)")
                XCTAssertGreaterThan(ranked.first?.excessZ ?? 0, 5)
            }
        }
    }

    func testHonestFeederRanksNobodyFarOut() {
        let f = feeder(seed: 9) { d, s in d[s] }  // "thief" reports honestly
        let ranked = SuspectRanking.rank(consumers: f.ids, readings: f.readings, hourOfDay: f.hours, changePoint: 2 * 96)
        XCTAssertLessThan(ranked[0].score, 8, "an honest feeder's top score is ordinary")
        XCTAssertEqual(Set(ranked.map(\.asset)).count, 40)
    }

    func testTooLittleHistoryGivesNoScores() {
        let f = feeder(seed: 2) { _, _ in 0 }
        let ranked = SuspectRanking.rank(consumers: f.ids, readings: f.readings, hourOfDay: f.hours, changePoint: 4)
        XCTAssert(ranked.allSatisfy { $0.levelZ == 0 && $0.shapeZ == 0 })
    }

    func testChangePointMarksWhereTheCusumRose() {
        var det = SegmentDetector()
        var rng = SplitMix(state: 5)
        for i in 0..<200 {
            let load = 8000 + 400 * rng.gaussian()
            let theft = i >= 120 ? 300.0 : 0
            let b = SegmentBalance(segment: .zero, interval: UInt64(i * 900), netInWh: Int64(load * 1.03 + theft),
                                   childrenNetInWh: Int64(load), throughputWh: Int64(load * 1.03 + theft),
                                   childrenReporting: 10, childrenExpected: 10, complete: true)
            _ = det.observe(b)
        }
        XCTAssertTrue(det.suspect)
        let cp = try! XCTUnwrap(det.changePoint)
        XCTAssert((110 * 900...121 * 900).contains(Int(cp)), "change point \(cp / 900)")
    }
}
