import ChainCore
import GridCore
import XCTest

@testable import GridSimulator

/// The grid at any size: the derived layout, the consumers' equipment and habits,
/// energy conservation in the truth, and the meter model's missing and late readings.
final class GridLayoutTests: XCTestCase {
    func config(consumers: Int, seed: UInt64 = 1) -> SimulationConfig {
        var c = SimulationConfig()
        c.consumers = consumers
        c.seed = seed
        return c
    }

    // MARK: Layout

    func testTransformersServe50To150ConsumersAtEverySize() {
        for n in [151, 300, 520, 999, 1_000, 4_321, 20_000, 250_000] {
            for seed: UInt64 in [1, 2, 3] {
                var rng = SplitMix64(seed: seed, stream: RandomDomain.topology.rawValue)
                let plan = GridTopology.plan(consumers: n, layout: .standard, rng: &rng)
                let sizes = plan.consumersPerTransformer
                XCTAssertEqual(sizes.reduce(0, +), n)
                XCTAssert(sizes.allSatisfy { (50...150).contains($0) }, "N=\(n) seed \(seed): \(sizes.min()!)…\(sizes.max()!)")
                // Mode 100: the mean is near it.
                if sizes.count >= 20 {
                    let mean = Double(n) / Double(sizes.count)
                    XCTAssert((85...115).contains(mean), "N=\(n): mean \(mean) consumers per transformer")
                }
                XCTAssertEqual(plan.transformersPerFeeder.reduce(0, +), sizes.count)
                XCTAssertEqual(plan.feedersPerSubstation.reduce(0, +), plan.transformersPerFeeder.count)
                XCTAssert(plan.transformersPerFeeder.allSatisfy { $0 >= 1 })
                XCTAssert(plan.feedersPerSubstation.allSatisfy { $0 >= 1 })
                XCTAssertGreaterThanOrEqual(plan.transformersPerFeeder.count, 2, "several feeders")
                if sizes.count >= 60 {
                    // Feeders of ~12 transformers, substations of ~6 feeders.
                    let perFeeder = Double(sizes.count) / Double(plan.transformersPerFeeder.count)
                    let perSubstation = Double(plan.transformersPerFeeder.count) / Double(plan.feedersPerSubstation.count)
                    XCTAssert((9...15).contains(perFeeder), "N=\(n): \(perFeeder) transformers per feeder")
                    XCTAssert((4...8).contains(perSubstation), "N=\(n): \(perSubstation) feeders per substation")
                }
            }
        }
        // Remainder rule: a grid of at most 150 consumers is one transformer (below 50 only if that small).
        for n in [1, 40, 50, 149, 150] {
            var rng = SplitMix64(seed: 1, stream: RandomDomain.topology.rawValue)
            XCTAssertEqual(GridTopology.plan(consumers: n, layout: .standard, rng: &rng).consumersPerTransformer, [n])
        }
    }

    func testBuiltTreeFollowsThePlanAndRegistersParentsFirst() {
        for n in [300, 2_000] {
            let t = GridTopology(config: config(consumers: n, seed: 4))
            let a = t.assets
            XCTAssertEqual(t.consumers.count, n)
            XCTAssert(t.transformers.allSatisfy { (50...150).contains(a[$0].children.count) })
            XCTAssert(t.feeders.allSatisfy { f in !a[f].children.isEmpty && a[f].children.allSatisfy { a[$0].kind == .transformer } })
            XCTAssert(t.substations.allSatisfy { s in a[s].children.allSatisfy { a[$0].kind == .feeder } })
            XCTAssertEqual(Set(a.map(\.id)).count, a.count, "asset ids are unique")
            var seen = Set<AssetID>([.zero])
            for r in t.registrations {
                XCTAssert(seen.contains(r.parent))
                seen.insert(r.asset)
            }
            // Generation sized to the load: thermal ≥ 1.3 × peak (2.2 kW per consumer), wind 0.6 kW and PV 0.4 kWp per consumer.
            func rated(_ k: AssetKind) -> Double { t.generators.filter { a[$0].kind == k }.reduce(0) { $0 + Double(a[$1].ratedKw) } }
            XCTAssertGreaterThanOrEqual(rated(.thermal), 1.3 * 2.2 * Double(n) - 2)
            XCTAssertEqual(rated(.wind), 0.6 * Double(n), accuracy: 3)
            XCTAssertEqual(rated(.solarFarm), 0.4 * Double(n), accuracy: 3)
            XCTAssertGreaterThanOrEqual(t.generators.filter { a[$0].kind == .wind }.count, 2)
            XCTAssertGreaterThanOrEqual(t.generators.filter { a[$0].kind == .solarFarm }.count, 2)
        }
        // At a million consumers (plan only): several thermal units, wind and PV farms.
        var rng = SplitMix64(seed: 1, stream: RandomDomain.topology.rawValue)
        let plan = GridTopology.plan(consumers: 1_000_000, layout: .standard, rng: &rng)
        XCTAssert((8_000...12_000).contains(plan.consumersPerTransformer.count))
        XCTAssert(plan.consumersPerTransformer.allSatisfy { (50...150).contains($0) })
    }

    func testEquipmentProportionsAndNames() {
        let t = GridTopology(config: config(consumers: 8_000, seed: 2))
        let p = t.consumers.map { t.assets[$0].profile }
        let n = Double(p.count)
        let pv = p.filter { $0.pvKwp > 0 }, ev = p.filter { $0.evKw > 0 }, battery = p.filter { $0.batteryKwh > 0 }
        XCTAssertEqual(Double(pv.count) / n, 0.15, accuracy: 0.015)
        XCTAssertEqual(Double(ev.count) / n, 0.12, accuracy: 0.015)
        XCTAssertEqual(Double(battery.count) / Double(pv.count), 0.35, accuracy: 0.05)
        XCTAssert(battery.allSatisfy { $0.pvKwp > 0 && (5...13.5).contains($0.batteryKwh) && (2.5...5).contains($0.batteryKw) })
        XCTAssert(ev.allSatisfy { [3.7, 7.4, 11].contains($0.evKw) })
        XCTAssert(pv.allSatisfy { (3...8).contains($0.pvKwp) })
        // Households differ: levels, shifts and shapes are spread out.
        XCTAssertGreaterThan(Set(p.map { ($0.loadScale * 100).rounded() }).count, 100)
        XCTAssertGreaterThan(p.map(\.loadScale).max()! / p.map(\.loadScale).min()!, 3)
        // The name says what is behind the meter.
        for c in t.consumers.prefix(2_000) {
            let a = t.assets[c]
            XCTAssertEqual(a.name.contains("(PV "), a.profile.pvKwp > 0, a.name)
            XCTAssertEqual(a.name.contains("battery"), a.profile.batteryKwh > 0, a.name)
            XCTAssertEqual(a.name.contains("EV "), a.profile.evKw > 0, a.name)
            XCTAssert(a.name.hasPrefix(a.profile.pvKwp > 0 ? "Prosumer " : "Household "))
        }
    }

    // MARK: Behaviour of the consumers

    func testCalendar() {
        let epochDay = Int(SimulationConfig.epoch / 86_400)
        XCTAssertEqual(SimCalendar.dayOfYear(day: epochDay), 324)  // 2026-11-20
        XCTAssertEqual(SimCalendar.weekday(day: epochDay), 4)  // a Friday
        XCTAssertFalse(SimCalendar.isWeekend(day: epochDay))
        XCTAssertTrue(SimCalendar.isWeekend(day: epochDay + 1))
        XCTAssertEqual(SimCalendar.dayOfYear(day: epochDay + 42), 1)  // 2027-01-01
        XCTAssertEqual(SimCalendar.dayOfYear(day: 0), 1)  // 1970-01-01
        XCTAssertEqual(SimCalendar.dayOfYear(day: 59), 60)  // 1970-03-01
        XCTAssertEqual(SimCalendar.dayOfYear(day: 365 + 365 + 59), 60)  // 1972-02-29 (leap)
        XCTAssertEqual(SimCalendar.dayOfYear(day: 365 + 365 + 365), 366)  // 1972-12-31
        XCTAssertEqual(SimCalendar.weekday(day: 0), 3)  // a Thursday
    }

    func testEVsChargeOnSomeEveningsAndBatteriesMovePVToTheEvening() {
        let m = GridModel(config: config(consumers: 1_500, seed: 5), theft: .none)
        let a = m.topology.assets
        let evs = m.topology.consumers.filter { a[$0].profile.evKw > 0 }.prefix(60)
        XCTAssertFalse(evs.isEmpty)
        var sessionDays = 0, possibleDays = 0, eveningWh = 0.0, totalWh = 0.0
        for c in evs {
            for d in 0..<14 {
                possibleDays += 1
                var dayWh = 0.0
                for s in 0..<96 {
                    let k = d * 96 + s
                    let wh = m.evWh(c, a[c].profile, m.context(k, daySolar: false))
                    XCTAssertLessThanOrEqual(wh, a[c].profile.evKw * 250 + 1e-6, "never above the charger's power")
                    dayWh += wh
                    totalWh += wh
                    if (16..<24).contains(s / 4) { eveningWh += wh }
                }
                if dayWh > 0 { sessionDays += 1 }
            }
        }
        let share = Double(sessionDays) / Double(possibleDays)
        XCTAssert((0.2...0.8).contains(share), "EVs charge on random days: \(share)")
        XCTAssertGreaterThan(eveningWh / totalWh, 0.5, "mostly evening charging")

        // Batteries: the same household with and without its battery, over a few days.
        let owners = m.topology.consumers.filter { a[$0].profile.batteryKwh > 0 }.prefix(10)
        XCTAssertFalse(owners.isEmpty)
        for c in owners {
            var plain = a[c].profile
            plain.batteryKwh = 0
            var charged = 0.0, given = 0.0
            for k in 0..<(3 * 96) {
                let x = m.context(k)
                var r1 = SplitMix64(seed: 9, stream: 9, UInt64(k)), r2 = r1
                let with = m.consumerNetWh(c, a[c].profile, x, rng: &r1), without = m.consumerNetWh(c, plain, x, rng: &r2)
                let delta = with - without  // + charging, − discharging
                XCTAssertLessThanOrEqual(abs(delta), a[c].profile.batteryKw * 250 + 1e-6)
                if delta > 0 { charged += delta; XCTAssertGreaterThan(x.solarKwPerKwp, 0, "charges from PV") }
                if delta < 0 {
                    given -= delta
                    XCTAssert((17..<23).contains(x.hour), "discharges in the evening, at \(x.hour)")
                    XCTAssertGreaterThanOrEqual(with, -1e-9, "never exports from the battery")
                }
            }
            XCTAssertGreaterThan(charged, 0)
            XCTAssertGreaterThan(given, 0)
            XCTAssertLessThanOrEqual(given, charged + 1e-6, "no energy from nowhere")
            XCTAssertLessThanOrEqual(charged, 3 * a[c].profile.batteryKwh * 1000 + 1e-6, "at most one full charge a day")
        }
    }

    func testWeeklyAndSeasonalShapesAndNoLockstep() {
        let m = GridModel(config: config(consumers: 300, seed: 6), theft: .none)
        let a = m.topology.assets
        let households = m.topology.consumers.filter { a[$0].profile.pvKwp == 0 && a[$0].profile.evKw == 0 }.prefix(40)
        // Mean daily profile of a day (expected shape × level, no randomness) per household.
        func day(_ c: Int, _ d: Int) -> [Double] {
            (0..<96).map { s in
                let x = m.context(d * 96 + s, daySolar: false)
                var r = SplitMix64(seed: 1, stream: 1, UInt64(s))
                return m.consumerNetWh(c, a[c].profile, x, rng: &r)
            }
        }
        // 2026-11-20 is a Friday: day 0 weekday, day 1 Saturday.
        var differ = 0
        for c in households.prefix(10) {
            let fri = day(c, 0), sat = day(c, 1)
            let morningFri = fri[28..<36].reduce(0, +), morningSat = sat[28..<36].reduce(0, +)  // 07:00–09:00
            if abs(morningFri - morningSat) > 0.1 * morningFri { differ += 1 }
        }
        XCTAssertGreaterThanOrEqual(differ, 8, "weekend mornings differ from weekdays")
        // Seasons: January uses more than November, July less (at the same weekday and hour).
        func total(_ k: Int) -> Double {
            let x = m.context(k, daySolar: false)
            return households.reduce(0) { s, c in var r = SplitMix64(seed: 2, stream: 2, UInt64(c)); return s + m.consumerNetWh(c, a[c].profile, x, rng: &r) }
        }
        let nov = total(3 * 96 + 76), jan = total((3 + 7 * 8) * 96 + 76), jul = total((3 + 7 * 33) * 96 + 76)  // Mondays, 19:00
        XCTAssertGreaterThan(jan, nov * 1.03)
        XCTAssertLessThan(jul, nov * 0.9)
        // No two meters move in lockstep: pairwise correlation over a day stays well below 1.
        let outcomes = (0..<96).map { m.interval($0) }
        let days = households.map { c in outcomes.map { $0.trueNetWh[c] } }
        var worst = 0.0
        for i in days.indices { for j in days.indices where j > i { worst = max(worst, correlation(days[i], days[j])) } }
        XCTAssertLessThan(worst, 0.97)
    }

    func correlation(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); syy += (y[i] - my) * (y[i] - my) }
        return sxy / (sxx * syy).squareRoot()
    }

    // MARK: Physics

    /// In the truth, every segment's import equals its children's net plus its own loss,
    /// and generation covers the root's demand plus its loss: at sizes the tests can afford.
    func testEnergyIsConservedPerSegmentInTheTruth() {
        for (n, physics) in [(700, GridModel.Physics.ideal), (1_200, .realistic)] {
            let m = GridModel(config: config(consumers: n, seed: 8), theft: .none, physics: physics)
            let a = m.topology.assets
            for k in [0, 30, 50, 76, 200, 300] {
                let o = m.interval(k)
                for p in m.topology.substations + m.topology.feeders + m.topology.transformers {
                    let kids = a[p].children.reduce(0.0) { $0 + o.trueNetWh[$1] }
                    XCTAssertEqual(o.trueNetWh[p], kids + o.trueLossWh[p], accuracy: 1e-6 * max(1, abs(o.trueNetWh[p])))
                    XCTAssertGreaterThan(o.trueLossWh[p], 0)
                }
                let demand = m.topology.substations.reduce(0.0) { $0 + o.trueNetWh[$1] }
                let generation = m.topology.generators.reduce(0.0) { $0 - o.trueNetWh[$1] }
                XCTAssertEqual(generation, demand + o.trueLossWh[m.topology.root], accuracy: 1e-6 * demand)
                XCTAssert(m.topology.generators.allSatisfy { o.trueNetWh[$0] <= 0 }, "generators only export")
            }
        }
    }

    /// Loss parameters: LV transformer segments lose a few percent, cable feeders less.
    func testLVLossesAreAFewPercentAndFeedersLess() {
        let m = GridModel(config: config(consumers: 2_000, seed: 3), theft: .none)
        var tx: [Double] = [], fdr: [Double] = []
        for k in stride(from: 0, to: 96, by: 4) {
            let o = m.interval(k)
            tx += m.topology.transformers.map { o.trueLossWh[$0] / o.trueNetWh[$0] }
            fdr += m.topology.feeders.map { o.trueLossWh[$0] / o.trueNetWh[$0] }
        }
        let mean = { (x: [Double]) in x.reduce(0, +) / Double(x.count) }
        XCTAssert((0.015...0.06).contains(mean(tx)), "LV: \(mean(tx))")
        XCTAssert((0.001...0.015).contains(mean(fdr)), "feeders: \(mean(fdr))")
        XCTAssertLessThan(mean(fdr), mean(tx))
    }

    // MARK: Determinism

    func testSameSeedSameGridAndReadings() {
        let a = GridModel(config: config(consumers: 1_000, seed: 12)), b = GridModel(config: config(consumers: 1_000, seed: 12))
        let c = GridModel(config: config(consumers: 1_000, seed: 13))
        XCTAssertEqual(a.topology.assets.map(\.name), b.topology.assets.map(\.name))
        XCTAssertEqual(a.topology.assets.map(\.profile), b.topology.assets.map(\.profile))
        XCTAssertNotEqual(a.topology.assets.map(\.name), c.topology.assets.map(\.name))
        for k in [0, 77, 700] {
            let x = a.interval(k), y = b.interval(k)
            XCTAssertEqual(x.readings, y.readings)
            XCTAssertEqual(x.missing, y.missing)
            XCTAssertEqual(x.delayed, y.delayed)
            XCTAssertEqual(x.transfers, y.transfers)
            XCTAssertNotEqual(x.readings, c.interval(k).readings)
        }
    }

    // MARK: Meter model: missing and late readings

    func testMissingAndLateReadingsOccurAtTheConfiguredRates() {
        var c = config(consumers: 12_000, seed: 3)
        c.missingReadingRate = 0.002
        c.lateReadingRate = 0.005
        let m = GridModel(config: c, theft: .none)
        let ami = Set(m.topology.transformers + m.topology.consumers)
        var missing = 0, late = 0, byOne = 0, meters = 0
        for k in 0..<25 {
            let (miss, delayed) = m.delivery(k)
            XCTAssert(miss.allSatisfy(ami.contains) && delayed.allSatisfy { ami.contains($0.asset) }, "only AMI meters")
            XCTAssertTrue(Set(miss).isDisjoint(with: delayed.map(\.asset)))
            XCTAssertEqual(miss, miss.sorted())
            XCTAssert(delayed.allSatisfy { (1...2).contains($0.by) })
            missing += miss.count; late += delayed.count; byOne += delayed.filter { $0.by == 1 }.count
            meters += ami.count
        }
        // Binomial: ~300,000 meter-intervals; 5 σ bands.
        XCTAssertEqual(Double(missing) / Double(meters), 0.002, accuracy: 5 * (0.002 / Double(meters)).squareRoot())
        XCTAssertEqual(Double(late) / Double(meters), 0.005, accuracy: 5 * (0.005 / Double(meters)).squareRoot())
        XCTAssertEqual(Double(byOne) / Double(late), 0.5, accuracy: 0.06)
        var off = c
        off.missingReadingRate = 0
        off.lateReadingRate = 0
        let quiet = GridModel(config: off, theft: .none)
        XCTAssert((0..<5).allSatisfy { quiet.delivery($0).missing.isEmpty && quiet.delivery($0).late.isEmpty })
    }

    /// Late readings reach the chain with a later interval's batch, with the same value;
    /// missing ones never; every other reading on time.
    func testTheNetworkPublishesLateReadingsLaterWithTheSameValue() {
        var c = config(consumers: 1_000, seed: 21)
        c.missingReadingRate = 0.01
        c.lateReadingRate = 0.03
        let net = SimulatedNetwork(config: c)
        var published: [Int: [MeterReading]] = [:]  // by the interval whose batch carried them
        for k in 0..<6 {
            published[k] = net.intervalTransactions(k, nextBlock: 5 + UInt64(3 * k)).flatMap(\.events).compactMap {
                if case .meterReading(let r) = $0 { r } else { nil }
            }
        }
        var lateSeen = 0
        for k in 0..<4 {
            let o = net.model.interval(k)
            let start = o.intervalStart
            let onTime = Set(published[k]!.filter { $0.intervalStart == start })
            XCTAssertEqual(onTime.count, o.readings.count - o.missing.count - o.delayed.count)
            for i in o.missing {
                XCTAssertFalse((0..<6).contains { published[$0]!.contains(o.readings[i]) }, "a missing reading was published")
            }
            XCTAssertFalse(o.delayed.isEmpty)
            for d in o.delayed {
                XCTAssertEqual(d.reading, o.readings[d.asset])
                XCTAssertFalse(onTime.contains(d.reading), "late reading published on time")
                XCTAssertEqual(published[k + d.byIntervals]!.filter { $0 == d.reading }.count, 1,
                               "reading of \(d.asset) should arrive \(d.byIntervals) interval(s) later")
                lateSeen += 1
            }
        }
        XCTAssertGreaterThan(lateSeen, 50)
        // Late readings come first in their batch (the head-end transaction).
        let txs = net.intervalTransactions(6, nextBlock: 30)
        XCTAssertEqual(txs.first?.from, SimulatedNetwork.address(of: "head-end"))
        XCTAssertEqual(txs.first?.notBefore, 30)
    }

    func testLargeGridsSpreadRegistrationsAndReadingsOverBoundedBlocks() {
        let net = SimulatedNetwork(config: config(consumers: 45_000, seed: 2))
        XCTAssertEqual(net.registrationBlockCount, 1 + 3)  // upstream, then 45,000 consumers in 3 blocks
        var perBlock: [UInt64: Int] = [:]
        for t in net.registrationTransactions() { perBlock[t.notBefore, default: 0] += t.events.count }
        XCTAssertEqual(perBlock.values.reduce(0, +), net.model.topology.assets.count)
        XCTAssertEqual(Set(perBlock.keys), [1, 2, 3, 4])
        XCTAssert(perBlock.values.allSatisfy { $0 <= SimulatedNetwork.eventsPerBlock + 200 }, "\(perBlock)")
        perBlock = [:]
        for t in net.intervalTransactions(0, nextBlock: 2) { perBlock[t.notBefore, default: 0] += t.events.count }
        XCTAssertGreaterThanOrEqual(perBlock.keys.min()!, net.registrationBlockCount + 1, "readings after the registrations")
        XCTAssert(perBlock.values.allSatisfy { $0 <= SimulatedNetwork.eventsPerBlock + 200 }, "\(perBlock)")
        // The demo keeps its 4 registration blocks.
        XCTAssertEqual(SimulatedNetwork(config: SimulationConfig()).registrationBlockCount, 4)
    }
}
