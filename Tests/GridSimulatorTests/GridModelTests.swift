import ChainCore
import GridCore
import XCTest

@testable import GridSimulator

final class GridModelTests: XCTestCase {
    /// Theft from interval 40 (10:00 on day 1), so a morning, a night and a noon are seen before it.
    func config(seed: UInt64 = 7) -> SimulationConfig {
        var c = SimulationConfig()
        c.seed = seed
        c.intervalEvery = .seconds(5)
        c.theftAfter = .seconds(200)  // completions at 5 s, 10 s, … 200 s is interval 39's
        return c
    }

    func testEpochIsAlignedAndTheftIntervalIsExact() {
        XCTAssertEqual(SimulationConfig.epoch % 900, 0)
        var c = SimulationConfig()
        XCTAssertEqual(c.theftIntervalIndex, 11)  // 60 s / 5 s: the 12th interval completes at 60 s
        c.theftAfter = .milliseconds(60_001)
        XCTAssertEqual(c.theftIntervalIndex, 12)
        c.theftAfter = .zero
        XCTAssertEqual(c.theftIntervalIndex, 0)
        c.theftAfter = .seconds(2); c.intervalEvery = .milliseconds(300)
        XCTAssertEqual(c.theftIntervalIndex, 6)  // 7 × 0.3 s = 2.1 s is the first completion ≥ 2 s
        XCTAssertEqual(config().theftIntervalIndex, 39)
    }

    func testTopologyShape() {
        let m = GridModel(config: config())
        let t = m.topology
        let a = t.assets
        // The layout is derived from the 520 consumers (was a fixed 2 × 2 × 5 tree of ~26-consumer
        // transformers): transformers of 50–150 consumers, at least 2 feeders, one substation here.
        XCTAssertGreaterThanOrEqual(t.generators.count, 5)  // thermal, 2 wind farms, 2 PV farms
        XCTAssertEqual(t.substations.count, 1)
        XCTAssertEqual(t.feeders.count, 2)
        XCTAssert((4...10).contains(t.transformers.count), "\(t.transformers.count) transformers")
        XCTAssertEqual(t.consumers.count, 520)
        XCTAssertEqual(a[t.root].stage, .transmission)
        XCTAssertEqual(a[t.root].registration.parent, .zero)
        for g in t.generators { XCTAssertEqual(a[g].stage, .generation); XCTAssertEqual(a[g].parent, t.root) }
        for s in t.substations { XCTAssertEqual(a[s].parent, t.root) }
        for f in t.feeders { XCTAssertEqual(a[a[f].parent!].stage, .substation) }
        for x in t.transformers {
            XCTAssertEqual(a[a[x].parent!].stage, .feeder)
            XCTAssert((50...150).contains(a[x].children.count), "\(a[x].children.count) consumers under \(a[x].code)")
        }
        let prosumers = t.consumers.filter { a[$0].pvKwp > 0 }.count
        XCTAssert((40...120).contains(prosumers), "\(prosumers) prosumers")
        // Ids are keccak(code); every parent is registered before its children.
        XCTAssertEqual(a[t.transformers[0]].id, Keccak256.bytes32("TX-0001"))
        XCTAssertEqual(a[t.consumers[122]].code, "C-00123")
        var seen = Set<AssetID>([.zero])
        for r in t.registrations {
            XCTAssert(seen.contains(r.parent), "parent of \(r.name) registered later")
            seen.insert(r.asset)
        }
        XCTAssertEqual(seen.count, a.count + 1)
        XCTAssert(a[t.transformers[0]].name.hasPrefix("Transformer TX-0001 "))
    }

    func testDeterministicBySeed() {
        let a = GridModel(config: config(seed: 42)), b = GridModel(config: config(seed: 42))
        let c = GridModel(config: config(seed: 43))
        XCTAssertEqual(a.topology.assets.map(\.name), b.topology.assets.map(\.name))
        XCTAssertEqual(a.theft, b.theft)
        for k in [0, 1, 17, 39, 40, 95] {
            XCTAssertEqual(a.interval(k).readings, b.interval(k).readings)
            XCTAssertEqual(a.interval(k).transfers, b.interval(k).transfers)
        }
        // Order does not matter: interval 40 alone equals interval 40 after others.
        XCTAssertEqual(GridModel(config: config(seed: 42)).interval(40).readings, a.interval(40).readings)
        XCTAssertNotEqual(a.interval(5).readings, c.interval(5).readings)
        XCTAssertEqual(GroundTruth(model: a), GroundTruth(model: b))
    }

    /// residual(a) = netIn(a) − Σ netIn(children) − trueLoss(a), from the meters.
    func residual(_ m: GridModel, _ o: IntervalOutcome, _ p: Int) -> (residual: Double, tolerance: Double, energy: Double) {
        let a = m.topology.assets
        let parentIn = p == m.topology.root ? 0 : Double(o.readings[p].netInWh)
        let kids = a[p].children
        let sum = kids.reduce(0.0) { $0 + Double(o.readings[$1].netInWh) }
        // Meter bias ≤ 0.5 % of every flow involved, plus 1 Wh rounding per meter.
        let gross = abs(parentIn) + kids.reduce(0.0) { $0 + abs(Double(o.readings[$1].netInWh)) }
        return (parentIn - sum - o.trueLossWh[p], 0.005 * gross + Double(kids.count + 1), gross / 2)
    }

    func segments(_ m: GridModel) -> [Int] {
        [m.topology.root] + m.topology.substations + m.topology.feeders + m.topology.transformers
    }

    func testEverySegmentBalancesBeforeTheTheft() {
        let m = GridModel(config: config())
        XCTAssertEqual(m.theft.fromIndex, 39)
        for k in 0..<39 {
            let o = m.interval(k)
            XCTAssertEqual(o.theftWh, 0)
            for p in segments(m) {
                let (r, tol, _) = residual(m, o, p)
                XCTAssertLessThanOrEqual(abs(r), tol, "interval \(k) \(m.topology.assets[p].code): residual \(r) Wh")
            }
        }
    }

    func testTheThiefsTransformerDoesNotBalanceAfter() {
        let m = GridModel(config: config())
        let thiefTx = m.theft.transformer
        for k in 39..<(39 + 96) {
            let o = m.interval(k)
            XCTAssertGreaterThan(o.theftWh, 0)
            for p in segments(m) {
                let (r, tol, energy) = residual(m, o, p)
                if p == thiefTx {
                    XCTAssertGreaterThan(r, tol, "interval \(k): theft hidden")
                    XCTAssertEqual(r, o.theftWh, accuracy: tol, "residual should be the stolen energy")
                    // Transformers now serve 50–150 consumers (were ~26), so the 3–5 kW hook-up is a smaller share.
                    let share = o.theftWh / energy
                    XCTAssert((0.01...0.5).contains(share), "interval \(k): theft is \(share) of the transformer's energy")
                } else {
                    // Upstream segments see the theft as load: they still balance.
                    XCTAssertLessThanOrEqual(abs(r), tol, "interval \(k) \(m.topology.assets[p].code)")
                }
            }
        }
        // Over a day the jump is a few percent of the transformer's energy (50–150 consumers under it).
        let day = (39..<(39 + 96)).map { m.interval($0) }
        let stolen = day.reduce(0) { $0 + $1.theftWh }
        let energy = day.reduce(0) { $0 + Double($1.readings[thiefTx].netInWh) }
        XCTAssert((0.015...0.3).contains(stolen / energy), "daily theft share \(stolen / energy)")
    }

    func testLossesAreAFewPercentAndMetersAreDistinct() {
        let m = GridModel(config: config())
        let a = m.topology.assets
        var lossShare: [Double] = []
        for k in stride(from: 0, to: 39, by: 3) {
            let o = m.interval(k)
            for t in m.topology.transformers { lossShare.append(o.trueLossWh[t] / abs(o.trueNetWh[t])) }
            // No two consumer meters move in lockstep.
            let r1 = o.readings[m.topology.consumers[0]], r2 = o.readings[m.topology.consumers[1]]
            XCTAssertNotEqual(r1.netInWh, r2.netInWh)
        }
        XCTAssert(lossShare.allSatisfy { (0.01...0.08).contains($0) }, "\(lossShare.min()!)…\(lossShare.max()!)")
        // Generators export, consumers import at night, some prosumers export at noon.
        let night = m.interval(8)  // 02:00
        for g in m.topology.generators where a[g].kind == .thermal { XCTAssertGreaterThan(night.readings[g].exportWh, 0) }
        XCTAssert(m.topology.consumers.allSatisfy { night.readings[$0].exportWh == 0 })
        let noon = m.interval(48)
        let exporters = m.topology.consumers.filter { noon.readings[$0].exportWh > 0 }
        XCTAssertFalse(exporters.isEmpty)
        XCTAssert(exporters.allSatisfy { a[$0].pvKwp > 0 })
        XCTAssertEqual(night.readings[m.topology.root].importWh, 0)
        XCTAssertEqual(night.readings.count, a.count)
        XCTAssert(night.readings.allSatisfy { $0.intervalStart == SimulationConfig.epoch + 8 * 900 && $0.intervalSeconds == 900 })
    }

    func testTransfersNeverExceedTheMeters() {
        let m = GridModel(config: config())
        var count = 0
        for k in 36..<60 {
            let o = m.interval(k)
            var bought: [AssetID: UInt64] = [:]
            for t in o.transfers {
                let s = o.readings[m.topology.index(of: t.from)!], b = o.readings[m.topology.index(of: t.to)!]
                XCTAssertLessThanOrEqual(t.wh, s.exportWh)
                bought[t.to, default: 0] += t.wh
                XCTAssertLessThanOrEqual(bought[t.to]!, b.importWh)
                XCTAssertNotEqual(t.from, t.to)
                XCTAssertEqual(t.intervalStart, o.intervalStart)
                count += 1
            }
        }
        XCTAssertGreaterThan(count, 5, "daytime should have P2P trades")
    }

    func testGroundTruthNamesTheThief() throws {
        let m = GridModel(config: config(seed: 3))
        let gt = GroundTruth(model: m)
        XCTAssertEqual(gt.incidents.count, 1)
        let i = gt.incidents[0]
        let a = m.topology.assets
        let thief = try XCTUnwrap(m.topology.index(of: i.asset))
        XCTAssertEqual(a[thief].stage, .consumer)
        XCTAssertEqual(a[thief].parentID, i.transformer)
        XCTAssertEqual(i.assetName, a[thief].name)
        XCTAssertEqual(i.transformerName, a[m.topology.index(of: i.transformer)!].name)
        XCTAssertEqual(i.fromInterval, SimulationConfig.epoch + 39 * 900)
        // The first stolen interval is the first with a residual.
        XCTAssertEqual(m.interval(38).theftWh, 0)
        XCTAssertGreaterThan(m.interval(39).theftWh, 0)
        let json = try JSON.parse(gt.json.serialized())
        XCTAssertEqual(Set(json.objectValue!.keys), ["schema", "chainId", "seed", "intervalSeconds", "scenario", "historyIntervals",
                                                     "epoch", "incidents", "contract"])
        XCTAssertEqual(json["contract"]?.stringValue, SimulatedNetwork.meteringContract.hex, "the truth names the contract the chain's events come from")
        XCTAssertEqual(json["schema"], 1)
        XCTAssertEqual(json["chainId"], .number("1196575044"))
        XCTAssertEqual(json["seed"], 3)
        XCTAssertEqual(json["intervalSeconds"], 900)
        let inc = try XCTUnwrap(json["incidents"]?[0])
        // The first version's keys (read by the end-to-end tests) and the scenario-era additions (docs/scenarios.md).
        XCTAssertEqual(Set(inc.objectValue!.keys),
                       ["kind", "attack", "asset", "assetName", "transformer", "transformerName", "fromInterval",
                        "number", "assetCode", "transformerCode", "fromIndex", "toIndex", "toInterval", "expectedAlarm",
                        "alarmAsset", "parameters", "energyWh", "energyThroughIndex"])
        XCTAssertEqual(inc["alarmAsset"], inc["transformer"])
        XCTAssertEqual(inc["expectedAlarm"], "suspected-theft")
        XCTAssertEqual(inc["kind"], "theft")
        XCTAssertEqual(inc["attack"], "unmetered-load")
        XCTAssertEqual(inc["asset"]?.stringValue?.count, 66)
        XCTAssertEqual(inc["fromInterval"], .number(String(SimulationConfig.epoch + 39 * 900)))
        // Different seeds pick different thieves (over a few seeds).
        let thieves = Set((1...6).map { GridModel(config: config(seed: $0)).theft.consumer })
        XCTAssertGreaterThan(thieves.count, 1)
    }

    func testEventsRoundTripThroughTheSchema() throws {
        var c = config()
        c.hostileNames = true
        let m = GridModel(config: c)
        var events = m.topology.registrations.map(GridEvent.assetRegistered)
        let o = m.interval(48)
        events += o.readings.map(GridEvent.meterReading) + o.transfers.map(GridEvent.energyTransfer)
        var hostile = 0
        for e in events {
            let decoded = try LedgerSchemaV1.decode(topics: LedgerSchemaV1.topics(of: e), data: LedgerSchemaV1.data(of: e))
            if case .assetRegistered(let r) = e, r.name.utf8.count > LedgerSchemaV1.maxNameBytes {
                guard case .assetRegistered(let d) = decoded else { return XCTFail("not a registration") }
                XCTAssert(d.name.hasSuffix("…"))
                hostile += 1
            } else {
                XCTAssertEqual(decoded, e)
            }
            if case .assetRegistered(let r) = e, r.name.unicodeScalars.contains(where: { $0.value == 0x1B || $0.value == 0x202E || $0.value == 0x9B }) {
                hostile += 1
            }
        }
        XCTAssertGreaterThanOrEqual(hostile, 4, "hostile names missing")
        XCTAssertFalse(GridModel(config: config()).topology.assets.contains { $0.name.unicodeScalars.contains { $0.value < 0x20 } })
    }
}

