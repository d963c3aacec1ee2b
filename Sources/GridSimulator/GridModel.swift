import ChainCore
import GridCore

/// The scripted theft: one household under one transformer hides part of
/// its consumption from the chain, by one of the `TheftAttack` methods. The
/// default demo's incident is an unmetered hook-up behind the consumer's
/// meter plus that meter under-reporting by a further 50 %.
struct TheftScenario: Sendable, Equatable {
    /// Asset index of the thief (a consumer).
    let consumer: Int
    /// Asset index of the thief's transformer (where the residual shows).
    let transformer: Int
    /// First stolen interval (index from the epoch).
    let fromIndex: Int
    /// Continuous unmetered load (the default attack's hook-up).
    let hookupKw: Double
    /// Fraction of the thief's own consumption the tampered meter still records (default attack).
    let meterFactor = 0.5
    /// How the theft is done.
    var attack: TheftAttack
    /// False for a theft-free grid (evaluation baselines): nothing is stolen.
    var active = true
}

/// Which incident a model runs.
enum TheftSelection: Sendable, Equatable {
    /// The default demo's unmetered hook-up.
    case scripted
    /// No theft at all.
    case none
    /// This attack, from `fromIndex` (nil: the config's theft interval).
    case attack(TheftAttack, fromIndex: Int? = nil)
}

/// Everything that happened on the grid in one metering interval: the physical
/// truth (for tests and ground truth) and what the meters recorded (for the chain).
struct IntervalOutcome: Sendable {
    let index: Int
    let intervalStart: UInt64
    /// True energy into each asset across its boundary meter (netIn, Wh; negative = export).
    /// The root has no parent connection: 0.
    let trueNetWh: [Double]
    /// True technical loss inside each asset's segment (0 for leaves).
    let trueLossWh: [Double]
    /// Energy that entered the thief's transformer segment and no meter recorded (0 before the theft).
    let theftWh: Double
    /// One reading per asset, in asset order.
    let readings: [MeterReading]
    /// Settled P2P trades between prosumers (and over-claims staged by incidents).
    let transfers: [EnergyTransfer]
    /// Per placed incident (by ordinal): energy stolen, unreported or over-claimed this interval (Wh).
    var incidentWh: [Double] = []
    /// Assets whose readings a silent-meter incident keeps off the chain this interval.
    var silenced: [Int] = []
    /// Conflicting second readings staged by duplicate-reading incidents.
    var duplicates: [MeterReading] = []
    /// Asset indices (ascending) whose reading of this interval never reaches the chain
    /// (their register value is still in `readings`, for the ground truth).
    var missing: [Int] = []
    /// Readings the head-end delivers only with a later interval's batch (ascending by asset).
    var delayed: [DelayedReading] = []
}

/// The synthetic grid's physics: load and PV profiles, technical losses,
/// meter bias and resolution, generation dispatch and the scripted theft.
///
/// `interval(k)` is a pure function of the config and `k`, so any interval can
/// be recomputed in any order (tests, backfill, benchmarks).
struct GridModel: Sendable {
    let config: SimulationConfig
    let topology: GridTopology
    let theft: TheftScenario
    let physics: Physics
    /// Every staged incident, in scenario order (the scripted theft is incident 0 when active).
    let incidents: [ResolvedIncident]
    /// Incidents of `config.incidents` that could not be placed (unknown target…); empty when all were.
    let incidentProblems: [IncidentError]
    /// Per asset: bit 1 = never buys in the P2P market (tampered households), bit 2 = never sells (over-claimers).
    let tradeBlock: [UInt8]

    /// Second-order physics, off in the default demo (whose balance tests assume
    /// the plain model) and on in the evaluation, so that detectors are judged
    /// on losses that are not an exact function of the segment's energy.
    struct Physics: Sendable, Equatable {
        /// Relative standard deviation of each reading's random error (on top of the fixed bias).
        var meterNoise = 0.0
        /// Service-cable I²R per consumer (loop resistance 0.05–0.3 Ω at 230 V) and
        /// consumers spread over three phases, so the LV main's loss follows
        /// Σ phase energy² rather than the total energy².
        var serviceCables = false
        static let ideal = Physics()
        static let realistic = Physics(meterNoise: 0.001, serviceCables: true)
    }
    /// Phases of the weather's slow cycles (per seed).
    let phases: [Double]

    init(config: SimulationConfig, layout: GridTopology.Layout = .standard, theft selection: TheftSelection = .scripted,
         physics: Physics = .ideal) {
        self.config = config
        self.physics = physics
        let topology = GridTopology(config: config, layout: layout)
        self.topology = topology
        var rng = SplitMix64(seed: config.seed, stream: RandomDomain.theft.rawValue)
        let tx = topology.transformers[rng.below(topology.transformers.count)]
        let kids = topology.assets[tx].children
        let households = kids.filter { topology.assets[$0].pvKwp == 0 }
        let pool = households.isEmpty ? kids : households
        let thief = pool[rng.below(pool.count)]
        let hookupKw = (rng.uniform(3, 5) * 10).rounded() / 10
        let scriptedFrom = config.historyIntervals + config.theftIntervalIndex
        var scenario = TheftScenario(consumer: thief, transformer: tx, fromIndex: scriptedFrom,
                                     hookupKw: hookupKw, attack: .unmeteredLoad(kw: hookupKw, meterFactor: 0.5))
        switch selection {
        case .scripted: if config.incidents != nil { scenario.active = false }
        case .none: scenario.active = false
        case .attack(let a, let from):
            scenario = TheftScenario(consumer: thief, transformer: tx, fromIndex: from ?? scriptedFrom,
                                     hookupKw: hookupKw, attack: a)
        }
        theft = scenario
        if selection == .scripted, let specs = config.incidents {
            let placed = Self.place(specs, config: config, topology: topology)
            incidents = placed.incidents
            incidentProblems = placed.problems
        } else {
            incidents = scenario.active ? [ResolvedIncident(scripted: scenario)] : []
            incidentProblems = []
        }
        var block = [UInt8](repeating: 0, count: topology.assets.count)
        block[scenario.consumer] |= 1
        for inc in self.incidents {
            if inc.kind.tampersMeter { block[inc.asset] |= 1 }
            if inc.kind == .overclaim { block[inc.asset] |= 2 }
        }
        tradeBlock = block
        var w = SplitMix64(seed: config.seed, stream: RandomDomain.weather.rawValue)
        phases = (0..<6).map { _ in w.uniform(0, 2 * Double.pi) }
    }

    var intervalHours: Double { Double(config.intervalSeconds) / 3600 }

    // Profiles, calendar and weather: ConsumerProfile.swift.

    /// Segment loss for `energyWh` flowing through asset `a` during one interval.
    func segmentLoss(_ a: SimAsset, energyWh e: Double) -> Double {
        let rated = Double(a.ratedKw) * 1000 * intervalHours
        guard rated > 0 else { return 0 }
        return a.noLoadFraction * rated + a.loadLossAtRated * e * e / rated
    }

    static func meterValue(_ trueWh: Double, bias: Double) -> MeterSplit {
        let m = (trueWh * (1 + bias)).rounded()
        return m >= 0 ? MeterSplit(importWh: UInt64(m), exportWh: 0) : MeterSplit(importWh: 0, exportWh: UInt64(-m))
    }

    struct MeterSplit { let importWh: UInt64; let exportWh: UInt64 }

    /// Intervals in a day (96 for 15-minute intervals).
    var intervalsPerDay: Int { max(1, 86_400 / Int(max(config.intervalSeconds, 1))) }

    /// Random stream domains of the attacks (beside `RandomDomain`, which they must not shift).
    static let theftDayDomain: UInt64 = 0x7468_6566_7464_6179  // "theftday"
    static let thiefLoadDomain: UInt64 = 0x7468_6965_666C_6F64  // "thieflod"

    /// Hour of day (UTC) at the middle of interval `k`.
    func hourOfDay(_ k: Int) -> Double {
        let secs = UInt64(config.intervalSeconds)
        return Double((config.intervalStart(k) + secs / 2) % 86_400) / 3600
    }

    /// The thief's true net energy in interval `k` from its own stream, so any
    /// interval of its day can be recomputed (day-based attacks h4–h6).
    func thiefNetWh(_ k: Int) -> Double { ownNetWh(theft.consumer, k, ordinal: 0) }

    static let meterNoiseDomain: UInt64 = 0x6D65_7465_726E_6F69  // "meternoi"
    static let cableDomain: UInt64 = 0x6361_626C_6573_0000  // "cables"

    func meterNoise(_ rng: inout SplitMix64) -> Double {
        physics.meterNoise > 0 ? physics.meterNoise * rng.gaussian() : 0
    }

    /// A consumer's service-cable loop resistance (Ω) and phase, fixed per seed.
    func serviceCable(_ c: Int) -> (ohms: Double, phase: Int) {
        var r = SplitMix64(seed: config.seed, stream: Self.cableDomain, UInt64(c))
        return (r.uniform(0.05, 0.3), r.below(3))
    }

    // MARK: One interval

    func interval(_ k: Int) -> IntervalOutcome {
        let assets = topology.assets
        let n = assets.count
        let start = config.intervalStart(k)
        let whPerKw = 1000 * intervalHours
        let ctx = context(k)
        var rng = SplitMix64(seed: config.seed, stream: RandomDomain.interval.rawValue, UInt64(k))

        var trueNet = [Double](repeating: 0, count: n)
        var loss = [Double](repeating: 0, count: n)
        var metered = [Double?](repeating: nil, count: n)  // overrides for tampered meters

        // Consumers: own load minus rooftop PV.
        for c in topology.consumers {
            trueNet[c] = consumerNetWh(c, assets[c].profile, ctx, rng: &rng)
        }
        // Thefts: tampered meters and unmetered loads on the line (IncidentEffects.swift).
        let tampering = tamper(k, trueNet: &trueNet, metered: &metered)
        // Upstream: each segment's meter sees its children's true flow plus the segment's loss.
        // Load-dependent losses follow the energy moved through the segment in
        // either direction (its throughput: children's imports, or their exports
        // when the segment back-feeds), which is also what an operator can meter.
        func closeSegment(_ p: Int, extraWh: Double = 0) {
            var imports = extraWh, exports = 0.0
            for c in assets[p].children {
                if trueNet[c] >= 0 { imports += trueNet[c] } else { exports -= trueNet[c] }
            }
            loss[p] = segmentLoss(assets[p], energyWh: max(imports, exports))
            trueNet[p] = imports - exports + loss[p]
        }
        /// An LV segment with service cables and three phases (realistic physics).
        func closeLVSegment(_ p: Int, extraWh: Double) {
            var imports = extraWh, exports = 0.0
            var phase = [extraWh, 0, 0]
            var cables = 0.0
            let hours = intervalHours
            for c in assets[p].children {
                let x = trueNet[c]
                if x >= 0 { imports += x } else { exports -= x }
                let (ohms, ph) = serviceCable(c)
                let amps = abs(x) / hours / 230  // mean current over the interval (one phase)
                if assets[c].profile.evKw >= 11 {
                    // A three-phase connection (11 kW charger): a third of the current on each phase.
                    for j in 0..<3 { phase[j] += x / 3 }
                    cables += ohms * amps * amps * hours / 3
                } else {
                    phase[ph] += x
                    cables += ohms * amps * amps * hours
                }
            }
            let a = assets[p]
            let rated = Double(a.ratedKw) * 1000 * hours
            let sq = 3 * phase.reduce(0) { $0 + $1 * $1 }
            loss[p] = rated > 0 ? a.noLoadFraction * rated + a.loadLossAtRated * sq / rated + cables : cables
            trueNet[p] = imports - exports + loss[p]
        }
        for t in topology.transformers {
            let extra = tampering.lineWh.isEmpty ? 0 : tampering.lineWh[t] ?? 0  // hook-ups bypass every meter
            if physics.serviceCables { closeLVSegment(t, extraWh: extra) } else { closeSegment(t, extraWh: extra) }
        }
        for f in topology.feeders { closeSegment(f) }
        for s in topology.substations { closeSegment(s) }
        // Root: delivers the substations' demand plus its own loss; generation covers it.
        let demand = topology.substations.reduce(0) { $0 + trueNet[$1] }
        loss[topology.root] = segmentLoss(assets[topology.root], energyWh: abs(demand))
        let need = demand + loss[topology.root]
        // Wind and PV farms run on the weather (each site ±20 %); thermal units share the rest
        // by rating, above their minimum stable output (renewables are curtailed below it).
        var outputs: [Int: Double] = [:]
        var renewable = 0.0
        var thermalRated = 0.0
        for g in topology.generators {
            let a = assets[g]
            let rated = Double(a.ratedKw) * whPerKw
            switch a.kind {
            case .wind: outputs[g] = rated * min(1, ctx.wind * a.siteFactor)
            case .solarFarm: outputs[g] = rated * min(1, ctx.solarKwPerKwp * 0.9 * a.siteFactor)
            default: thermalRated += rated
            }
            renewable += outputs[g] ?? 0
        }
        if thermalRated > 0 {
            let minStable = 0.15 * thermalRated
            if need - renewable < minStable, renewable > 0 {
                let scale = max(0, need - minStable) / renewable  // curtail renewables
                for (g, v) in outputs { outputs[g] = v * scale }
                renewable *= scale
            }
            for g in topology.generators where assets[g].kind == .thermal {
                outputs[g] = (need - renewable) * Double(assets[g].ratedKw) * whPerKw / thermalRated
            }
        } else if renewable > 0 {
            for (g, v) in outputs { outputs[g] = v * need / renewable }
        }
        for g in topology.generators { trueNet[g] = -(outputs[g] ?? 0) }
        trueNet[topology.root] = 0

        let readings = meterReadings(k, trueNetWh: trueNet, metered: metered)
        let (missing, late) = delivery(k)
        var incidentWh = tampering.wh
        let onChain = chainIncidents(k, readings: readings, wh: &incidentWh)
        return IntervalOutcome(index: k, intervalStart: start, trueNetWh: trueNet, trueLossWh: loss,
                               theftWh: tampering.theftWh, readings: readings,
                               transfers: transfers(k, readings: readings) + onChain.transfers, incidentWh: incidentWh,
                               silenced: onChain.silenced, duplicates: onChain.duplicates, missing: missing,
                               delayed: late.map { DelayedReading(asset: $0.asset, reading: readings[$0.asset], byIntervals: $0.by) })
    }

    /// A few settled P2P trades: prosumers selling part of their metered export
    /// to neighbours who imported (never more than either meter shows).
    func transfers(_ k: Int, readings: [MeterReading]) -> [EnergyTransfer] {
        var rng = SplitMix64(seed: config.seed, stream: RandomDomain.transfers.rawValue, UInt64(k))
        let assets = topology.assets
        var sellable: [Int: UInt64] = [:]
        var buyable: [Int: UInt64] = [:]
        var sellers: [Int] = []
        var prosumerBuyers: [Int] = []
        var otherBuyers: [Int] = []
        for c in topology.consumers {
            let r = readings[c]
            if assets[c].pvKwp > 0, r.exportWh >= 200, tradeBlock[c] & 2 == 0 { sellers.append(c); sellable[c] = r.exportWh }
            if r.importWh > 0, tradeBlock[c] & 1 == 0 {
                buyable[c] = r.importWh
                if assets[c].pvKwp > 0 { prosumerBuyers.append(c) } else { otherBuyers.append(c) }
            }
        }
        guard !sellers.isEmpty else { return [] }
        let count = min(sellers.count, 2 + rng.below(4))
        var out: [EnergyTransfer] = []
        for _ in 0..<count {
            let si = rng.below(sellers.count)
            let seller = sellers.remove(at: si)
            let pool = prosumerBuyers.isEmpty ? otherBuyers : prosumerBuyers
            guard !pool.isEmpty else { break }
            let buyer = pool[rng.below(pool.count)]
            let cap = min(sellable[seller] ?? 0, buyable[buyer] ?? 0)
            let wh = UInt64(Double(cap) * rng.uniform(0.3, 0.9))
            let price = UInt64(80_000 + rng.below(100) * 1000)
            guard wh > 0 else { continue }
            buyable[buyer]! -= wh
            out.append(EnergyTransfer(from: assets[seller].id, to: assets[buyer].id, intervalStart: config.intervalStart(k),
                                      wh: wh, priceMicrosPerKwh: price))
        }
        return out
    }
}
