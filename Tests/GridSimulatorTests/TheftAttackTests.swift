import ChainCore
import GridCore
import XCTest

@testable import GridSimulator

final class TheftAttackTests: XCTestCase {
    /// A 60-consumer single feeder, theft from interval 96 (midnight of day 1).
    func model(_ attack: TheftAttack?, seed: UInt64 = 11, physics: GridModel.Physics = .ideal) -> GridModel {
        var c = SimulationConfig()
        c.consumers = 60
        c.seed = seed
        return GridModel(config: c, layout: .singleTransformer, theft: attack.map { .attack($0, fromIndex: 96) } ?? .none,
                         physics: physics)
    }

    /// (true Wh, metered Wh) of the thief over day 1.
    func thiefDay(_ m: GridModel) -> [(truth: Double, metered: Double, stolen: Double)] {
        (96..<192).map { k in
            let o = m.interval(k)
            return (o.trueNetWh[m.theft.consumer], Double(o.readings[m.theft.consumer].netInWh), o.theftWh)
        }
    }

    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 0.006 * abs(b) + 1 }

    func testFractionAttacks() {
        let h1 = thiefDay(model(.h1(alpha: 0.3)))
        XCTAssert(h1.allSatisfy { close($0.metered, 0.3 * $0.truth) })
        XCTAssert(h1.allSatisfy { abs($0.stolen - 0.7 * $0.truth) < 1e-6 })
        let bypass = thiefDay(model(.bypass))
        XCTAssert(bypass.allSatisfy { $0.metered == 0 && $0.stolen == $0.truth })
        let h3 = thiefDay(model(.h3(lo: 0.2, hi: 0.6)))
        XCTAssert(h3.allSatisfy { $0.metered <= 0.61 * $0.truth + 1 && $0.metered >= 0.19 * $0.truth - 1 })
        let ratios = Set(h3.map { ($0.metered / max($0.truth, 1) * 20).rounded() })
        XCTAssertGreaterThan(ratios.count, 3, "h3's fraction changes every interval")
        let h4 = thiefDay(model(.h4(lo: 0.2, hi: 0.6)))
        let mean = h4.reduce(0) { $0 + $1.truth } / Double(h4.count)
        XCTAssert(h4.allSatisfy { $0.metered <= 0.61 * mean + 1 && $0.metered >= 0.19 * mean - 1 })
    }

    func testOnOffWindow() {
        let d = thiefDay(model(.h2(minHours: 4, maxHours: 8)))
        let off = d.indices.filter { d[$0].metered == 0 && d[$0].truth > 2 }
        XCTAssert((16...32).contains(off.count), "\(off.count) intervals off")
        XCTAssert(d.allSatisfy { $0.metered == 0 || close($0.metered, $0.truth) })
    }

    func testEnergyNeutralAttacks() {
        for attack in [TheftAttack.h5, .h6] {
            let d = thiefDay(model(attack))
            let stolen = d.reduce(0) { $0 + $1.stolen }
            let energy = d.reduce(0) { $0 + $1.truth }
            XCTAssertLessThan(abs(stolen), 1e-6 * energy, "\(attack.code) is energy-neutral over the day")
            XCTAssertGreaterThan(d.reduce(0) { $0 + abs($1.stolen) }, 0.2 * energy, "\(attack.code) still moves energy in time")
        }
        let h5 = thiefDay(model(.h5))
        XCTAssertLessThanOrEqual(Set(h5.map(\.metered)).count, 3)  // flat (bias rounding aside)
        let h6 = thiefDay(model(.h6))
        for t in 0..<96 { XCTAssert(close(h6[t].metered, h6[95 - t].truth)) }
    }

    func testReproducibleAndQuietBeforeAndWithoutTheft() {
        for attack in TheftEvaluation.standardAttacks {
            let a = model(attack), b = model(attack)
            XCTAssertEqual(a.interval(130).readings, b.interval(130).readings)
            XCTAssertEqual(a.interval(95).theftWh, 0)
            XCTAssertEqual(GroundTruth(model: a).incidents.first?.attack, attack.code)
        }
        let none = model(nil)
        XCTAssert((0..<200).allSatisfy { none.interval($0).theftWh == 0 })
        XCTAssertEqual(GroundTruth(model: none).incidents, [])
        // The default demo keeps its scripted unmetered hook-up.
        let demo = GridModel(config: SimulationConfig())
        XCTAssertEqual(GroundTruth(model: demo).incidents.map(\.attack), ["unmetered-load"])
    }

    func testRealisticPhysicsStillBalancesToTheTrueLoss() {
        let m = model(nil, physics: .realistic)
        let tx = m.topology.transformers[0]
        var lossShare: [Double] = []
        for k in stride(from: 0, to: 192, by: 5) {
            let o = m.interval(k)
            let kids = m.topology.assets[tx].children
            let sum = kids.reduce(0.0) { $0 + Double(o.readings[$1].netInWh) }
            let gross = Double(o.readings[tx].netInWh)
            let r = gross - sum - o.trueLossWh[tx]
            XCTAssertLessThanOrEqual(abs(r), 0.012 * gross + 61, "interval \(k)")
            lossShare.append(o.trueLossWh[tx] / gross)
        }
        XCTAssert(lossShare.allSatisfy { (0.01...0.1).contains($0) }, "\(lossShare.min()!)…\(lossShare.max()!)")
    }

    // MARK: The evaluation harness

    struct Always: BalanceDetector { mutating func observe(_ b: SegmentBalance) -> Bool { true } }
    struct Never: BalanceDetector { mutating func observe(_ b: SegmentBalance) -> Bool { false } }

    /// A small self-calibrating detector: a loss model `a + c·E²` fitted by least squares on the
    /// first day's balances, the MAD of its residuals as σ, a CUSUM on z with reference value 3.
    /// (A first-day median/MAD of the residual *share* with k = 1 no longer holds on this grid:
    /// weekend shapes and EV sessions move the load, and the LV loss share with it.)
    struct Simple: BalanceDetector {
        var e: [Double] = [], r: [Double] = []
        var a = 0.0, c = 0.0, mad = 1.0
        var s = 0.0
        mutating func observe(_ b: SegmentBalance) -> Bool {
            guard b.complete, b.throughputWh > 0 else { return s > 20 }
            let x = Double(b.throughputWh), y = Double(b.residualWh)
            guard e.count >= 96 else {
                e.append(x); r.append(y)
                if e.count == 96 { fit() }
                return false
            }
            s = max(0, s + (y - a - c * x * x) / mad - 3)
            return s > 20
        }
        mutating func fit() {
            let q = e.map { $0 * $0 }
            let n = Double(q.count), sq = q.reduce(0, +), sqq = q.reduce(0) { $0 + $1 * $1 }
            let sy = r.reduce(0, +), sqy = zip(q, r).reduce(0) { $0 + $1.0 * $1.1 }
            c = (n * sqy - sq * sy) / (n * sqq - sq * sq)
            a = (sy - c * sq) / n
            let res = zip(q, r).map { $1 - a - c * $0 }
            let med = res.sorted()[48]
            mad = max(1.4826 * res.map { abs($0 - med) }.sorted()[48], 2)
        }
    }

    func small() -> TheftEvaluation.Setup {
        var s = TheftEvaluation.Setup()
        s.consumers = 40
        s.cleanDays = 2
        s.attackDays = 1
        return s
    }

    func testHarnessMeasuresDelayStolenEnergyAndFalseAlarms() {
        let setup = small()
        let always = TheftEvaluation.run(attack: .bypass, seed: 1, setup: setup, detector: Always())
        XCTAssertEqual(always.delayIntervals, 1)
        XCTAssertEqual(always.falseAlarms, 1)  // raised on day 1, before the theft
        XCTAssertGreaterThan(always.stolenWh, 0)
        let never = TheftEvaluation.run(attack: .bypass, seed: 1, setup: setup, detector: Never())
        XCTAssertNil(never.delayIntervals)
        XCTAssertEqual(never.stolenBeforeAlarmWh, never.stolenWh)
        XCTAssertEqual(never.stolenWh, always.stolenWh)
        let share = never.stolenWh / never.feederWh
        XCTAssert((0.003...0.06).contains(share), "a bypassed household is \(share) of a 40-consumer feeder")
        let clean = TheftEvaluation.run(attack: nil, seed: 2, setup: setup, detector: Never())
        XCTAssertNil(clean.theftStart)
        XCTAssertEqual(clean.judgedDays, 2)
        let sum = TheftEvaluation.summarize([always, never], label: "x", setup: setup)
        XCTAssertEqual(sum.recall24h, 0.5)
        XCTAssertEqual(sum.medianDelayHours, 0.25)
        XCTAssertNil(sum.p90DelayHours)
        XCTAssert(TheftEvaluation.markdownTable([sum]).contains("| x | 2 |"))
    }

    func testHarnessDrivesADetectorAtSmallSize() {
        let setup = small()
        let runs = (0..<3).map { TheftEvaluation.run(attack: .bypass, seed: UInt64($0), setup: setup, detector: Simple()) }
        let s = TheftEvaluation.summarize(runs, label: "bypass", setup: setup)
        XCTAssertEqual(s.recall24h, 1)
        let clean = (0..<2).map { TheftEvaluation.run(attack: nil, seed: UInt64(50 + $0), setup: setup, detector: Simple()) }
        XCTAssertEqual(clean.reduce(0) { $0 + $1.falseAlarms }, 0)
    }
}
