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
    private let phases: [Double]

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

    // MARK: Profiles

    /// Mean household demand (kW) at hour `h` of a November day: low at night,
    /// a morning peak, a midday plateau and a larger evening peak (~0.95 kW mean).
    static func householdKw(hour h: Double) -> Double {
        func bump(_ centre: Double, _ width: Double) -> Double {
            var d = abs(h - centre)
            d = min(d, 24 - d)
            return _exp(-0.5 * (d / width) * (d / width))
        }
        return 0.45 + 0.9 * bump(7.5, 1.2) + 0.35 * bump(13, 2.5) + 1.4 * bump(19, 1.8)
    }

    /// Clear-sky PV output per kWp at hour `h` (short, low November sun).
    static func daylight(hour h: Double) -> Double {
        let sunrise = 7.75, sunset = 16.25
        guard h > sunrise, h < sunset else { return 0 }
        return 0.55 * _pow(_sin(Double.pi * (h - sunrise) / (sunset - sunrise)), 1.3)
    }

    /// Clear-sky fraction (clouds) and wind capacity factor: smooth weather plus per-interval noise.
    func weather(_ k: Int) -> (clear: Double, wind: Double) {
        let t = Double(k) * intervalHours  // simulated hours since the epoch
        var r = SplitMix64(seed: config.seed, stream: RandomDomain.weather.rawValue, UInt64(k) + 1)
        let twoPi = 2 * Double.pi
        let clear = 0.55 + 0.3 * _sin(twoPi * t / 40.8 + phases[0]) + 0.15 * _sin(twoPi * t / 5.3 + phases[1])
            + 0.12 * r.gaussian()
        let wind = 0.45 + 0.3 * _sin(twoPi * t / 55.2 + phases[2]) + 0.15 * _sin(twoPi * t / 7.1 + phases[3])
            + 0.08 * r.gaussian()
        return (min(max(clear, 0.1), 1), min(max(wind, 0.02), 1))
    }

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

    /// One consumer's true net energy (load − rooftop PV, Wh) in an interval,
    /// drawing its randomness from `rng` (always the same number of draws per branch).
    func consumerNetWh(_ a: SimAsset, hour: Double, clear: Double, rng: inout SplitMix64) -> Double {
        let whPerKw = 1000 * intervalHours
        let secs = Double(config.intervalSeconds)
        var h = hour + a.shiftHours
        if h < 0 { h += 24 } else if h >= 24 { h -= 24 }
        let noise = max(0.3, 1 + 0.12 * rng.gaussian())
        var loadWh = Self.householdKw(hour: h) * a.loadScale * noise * whPerKw
        if rng.chance(0.07 * a.spikiness) {  // kettle, oven, heat pump boost, EV top-up
            let kw = rng.uniform(1.5, 7)
            let minutes = min(rng.uniform(3, 15), secs / 60)
            loadWh += kw * 1000 * minutes / 60
        }
        var pvWh = 0.0
        if a.pvKwp > 0 {
            pvWh = a.pvKwp * Self.daylight(hour: hour) * clear * rng.uniform(0.9, 1.05) * whPerKw
        }
        return loadWh - pvWh
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
        let secs = UInt64(config.intervalSeconds)
        let hour = Double((start + secs / 2) % 86_400) / 3600
        let whPerKw = 1000 * intervalHours
        let (clear, windCF) = weather(k)
        var rng = SplitMix64(seed: config.seed, stream: RandomDomain.interval.rawValue, UInt64(k))

        var trueNet = [Double](repeating: 0, count: n)
        var loss = [Double](repeating: 0, count: n)
        var metered = [Double?](repeating: nil, count: n)  // overrides for tampered meters

        // Consumers: own load minus rooftop PV.
        for c in topology.consumers {
            trueNet[c] = consumerNetWh(assets[c], hour: hour, clear: clear, rng: &rng)
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
                phase[ph] += x
                let amps = abs(x) / hours / 230  // mean current over the interval
                cables += ohms * amps * amps * hours
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
        var outputs: [Int: Double] = [:]
        var renewable = 0.0
        var thermal: Int? = nil
        for g in topology.generators {
            let rated = Double(assets[g].ratedKw) * whPerKw
            switch assets[g].kind {
            case .wind: outputs[g] = rated * windCF
            case .solarFarm: outputs[g] = rated * Self.daylight(hour: hour) / 0.55 * 0.8 * clear
            default: thermal = g
            }
            renewable += outputs[g] ?? 0
        }
        if let th = thermal {
            let minStable = 0.15 * Double(assets[th].ratedKw) * whPerKw
            if need - renewable < minStable, renewable > 0 {
                let scale = max(0, need - minStable) / renewable  // curtail renewables
                for (g, v) in outputs { outputs[g] = v * scale }
                renewable *= scale
            }
            outputs[th] = need - renewable
        } else if renewable > 0 {
            for (g, v) in outputs { outputs[g] = v * need / renewable }
        }
        for g in topology.generators { trueNet[g] = -(outputs[g] ?? 0) }
        trueNet[topology.root] = 0

        var readings: [MeterReading] = []
        readings.reserveCapacity(n)
        var noise = SplitMix64(seed: config.seed, stream: Self.meterNoiseDomain, UInt64(k))
        for a in assets {
            let split = a.index == topology.root
                ? MeterSplit(importWh: 0, exportWh: 0)
                : Self.meterValue(metered[a.index] ?? trueNet[a.index], bias: a.meterBias + meterNoise(&noise))
            readings.append(MeterReading(asset: a.id, intervalStart: start, intervalSeconds: config.intervalSeconds,
                                         importWh: split.importWh, exportWh: split.exportWh))
        }
        var incidentWh = tampering.wh
        let onChain = chainIncidents(k, readings: readings, wh: &incidentWh)
        return IntervalOutcome(index: k, intervalStart: start, trueNetWh: trueNet, trueLossWh: loss,
                               theftWh: tampering.theftWh, readings: readings,
                               transfers: transfers(k, readings: readings) + onChain.transfers, incidentWh: incidentWh,
                               silenced: onChain.silenced, duplicates: onChain.duplicates)
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
