import ChainCore
import GridCore

/// A segment-balance detector the evaluation can drive. Alerts'
/// `SegmentDetector` is adapted to it where both modules are visible
/// (the report driver), so the simulator does not depend on the detectors.
public protocol BalanceDetector {
    /// Feeds one balance of the watched segment (complete or not, in interval
    /// order); returns true while the theft condition is raised.
    mutating func observe(_ balance: SegmentBalance) -> Bool
    /// The detector's estimate of the interval the change began (for localisation), if it has one.
    var changePoint: UInt64? { get }
}

extension BalanceDetector {
    public var changePoint: UInt64? { nil }
}

/// What a localisation method sees when the evaluation asks it to rank suspects:
/// every consumer's readings under the alarmed transformer up to the question.
public struct FeederHistory: Sendable {
    public var consumers: [AssetID]
    /// `readings[i][t]`: consumer `i`'s metered net import in interval `t` (nil: missing).
    public var readings: [[Double?]]
    /// Hour of day (0…23) of each interval.
    public var hourOfDay: [Int]
    /// The detector's change-point estimate (interval index), or a few hours before the alarm.
    public var changePoint: Int
    /// Interval index of the alarm.
    public var alarm: Int
    /// The transformer's balance residual and throughput per interval (nil: incomplete).
    public var residualWh: [Double?] = []
    public var throughputWh: [Double?] = []
}

/// Monte-Carlo evaluation of a theft detector on one simulated LV feeder
/// (a transformer with ~100 consumers, one of them stealing).
///
/// Pure and socket-free: each run builds a `GridModel` with a single
/// transformer, feeds every interval's readings through `Topology` and
/// `IntervalLedger` exactly as the monitor does, and hands the transformer's
/// balance to a fresh detector. Everything is a function of the seed.
public enum TheftEvaluation {
    public struct Setup: Sendable, Equatable {
        /// Consumers under the transformer.
        public var consumers = 100
        /// Theft-free days before the theft starts (the detector learns on them).
        public var cleanDays = 3
        /// Days observed after the theft starts (recall within 7 days needs 7).
        public var attackDays = 7
        public var intervalSeconds: UInt32 = 900
        /// Realistic physics (meter noise 0.1 %, service-cable losses, three
        /// unbalanced phases) rather than the demo's plain loss model.
        public var realistic = true
        /// Probability that a reading never arrives (its balance is then incomplete).
        public var missingRate = 0.002
        public init() {}

        var perDay: Int { max(1, 86_400 / Int(max(intervalSeconds, 1))) }
    }

    /// One Monte-Carlo run.
    public struct Run: Sendable, Equatable {
        /// nil: a theft-free run (false-alarm baseline).
        public var attack: TheftAttack?
        public var seed: UInt64
        /// Index of the first stolen interval (nil for theft-free runs).
        public var theftStart: Int?
        /// Intervals from the theft's start to the end of the interval whose balance raised the alarm (1 = at once).
        public var delayIntervals: Int?
        /// True energy hidden from the chain before the alarm (whole run if none), Wh.
        public var stolenBeforeAlarmWh: Double
        /// Energy hidden over the whole attack, and the feeder's metered energy over the same time, Wh.
        public var stolenWh: Double
        public var feederWh: Double
        /// Rank of the thief among the suspects (1 = first), a day after the alarm; nil without alarm or ranker.
        public var thiefRank: Int?
        /// Alarm onsets with no theft present, and the feeder-days they were counted over.
        public var falseAlarms: Int
        public var judgedDays: Double
    }

    /// Runs one scenario. `attack == nil` is a theft-free run: every onset is a false alarm
    /// (the first day, while the detector learns, is not counted).
    /// `rank`, when given, is asked a day after the alarm (or at the end of the run) to order
    /// the transformer's consumers, most suspect first; the thief's place is recorded.
    public static func run<D: BalanceDetector>(attack: TheftAttack?, seed: UInt64, setup: Setup = Setup(), detector: D,
                                               rank: ((FeederHistory) -> [AssetID])? = nil) -> Run {
        var config = SimulationConfig()
        config.consumers = setup.consumers
        config.seed = seed
        config.intervalSeconds = setup.intervalSeconds
        // The harness drops readings itself (`missingRate`, its report's model); none late.
        config.missingReadingRate = 0
        config.lateReadingRate = 0
        var startRng = SplitMix64(seed: seed, stream: 0x6576_616C_7374_6172)  // "evalstar"
        let perDay = setup.perDay
        let theftStart = setup.cleanDays * perDay + startRng.below(perDay)
        let selection: TheftSelection = attack.map { .attack($0, fromIndex: theftStart) } ?? .none
        let model = GridModel(config: config, layout: .singleTransformer, theft: selection,
                              physics: setup.realistic ? .realistic : .ideal)
        let tx = model.topology.transformers[0]
        let txID = model.topology.assets[tx].id
        var topology = Topology()
        for r in model.topology.registrations { topology.register(r) }
        var ledger = IntervalLedger(retainIntervals: 8)
        var det = detector
        let total = attack == nil ? (setup.cleanDays + setup.attackDays) * perDay : theftStart + setup.attackDays * perDay
        var result = Run(attack: attack, seed: seed, theftStart: attack == nil ? nil : theftStart, delayIntervals: nil,
                         stolenBeforeAlarmWh: 0, stolenWh: 0, feederWh: 0, thiefRank: nil, falseAlarms: 0, judgedDays: 0)
        let consumers = model.topology.assets[tx].children
        var history = rank == nil ? [] : [[Double?]](repeating: [], count: consumers.count)
        var hours: [Int] = []
        var residuals: [Double?] = [], throughputs: [Double?] = []
        var alarmAt: Int?
        var changeAt: Int?
        func askRanker() {
            guard let rank, let alarm = alarmAt, result.thiefRank == nil else { return }
            let cp = min(changeAt ?? max(0, alarm - 8), alarm)
            let h = FeederHistory(consumers: consumers.map { model.topology.assets[$0].id }, readings: history,
                                  hourOfDay: hours, changePoint: cp, alarm: alarm, residualWh: residuals, throughputWh: throughputs)
            let order = rank(h)
            let thief = model.topology.assets[model.theft.consumer].id
            result.thiefRank = order.firstIndex(of: thief).map { $0 + 1 } ?? consumers.count
        }
        var was = false
        var cleanCounted = 0
        for k in 0..<total {
            let o = model.interval(k)
            var drop = SplitMix64(seed: seed, stream: 0x6D69_7373_696E_6700, UInt64(k))  // "missing"
            var arrived = [Bool](repeating: true, count: o.readings.count)
            for (i, r) in o.readings.enumerated() {
                if drop.chance(setup.missingRate) { arrived[i] = false } else { _ = ledger.record(r) }
            }
            if rank != nil {
                for (i, c) in consumers.enumerated() { history[i].append(arrived[c] ? Double(o.readings[c].netInWh) : nil) }
                hours.append(Int(model.hourOfDay(k)))
            }
            guard let b = ledger.balance(of: txID, in: o.intervalStart, topology: topology) else { continue }
            if rank != nil {
                residuals.append(b.complete ? Double(b.residualWh) : nil)
                throughputs.append(b.complete ? Double(b.throughputWh) : nil)
            }
            let suspect = det.observe(b)
            let stealing = attack != nil && k >= theftStart
            if stealing {
                result.stolenWh += o.theftWh
                result.feederWh += Double(o.readings[tx].netInWh)
                if result.delayIntervals == nil {
                    result.stolenBeforeAlarmWh += o.theftWh
                    if suspect {
                        result.delayIntervals = k - theftStart + 1
                        alarmAt = k
                        if let cp = det.changePoint { changeAt = Int((cp - model.config.intervalStart(0)) / UInt64(setup.intervalSeconds)) }
                    }
                }
                if let a = alarmAt, k == a + perDay { askRanker() }
            } else if k >= perDay {
                cleanCounted += 1
                if suspect && (!was || k == perDay) { result.falseAlarms += 1 }  // still raised from the learning day counts
            }
            was = suspect
        }
        askRanker()
        result.judgedDays = Double(cleanCounted) / Double(perDay)
        return result
    }

    /// The measures of one row of the report (one attack and parameter).
    public struct Summary: Sendable, Equatable {
        public var label: String
        public var runs: Int
        /// Mean share of the feeder's energy hidden during the attack.
        public var stolenShare: Double
        public var recall24h: Double
        public var recall7d: Double
        /// Hours; nil when fewer than half (median) or 90 % (p90) of runs were detected.
        public var medianDelayHours: Double?
        public var p90DelayHours: Double?
        /// Median kWh hidden before the first alarm.
        public var medianStolenBeforeAlarmKWh: Double
        /// Share of detected runs with the thief among the first three suspects (nil: no ranker or no detection).
        public var top3: Double?
        /// False-alarm onsets before the theft started, per feeder-day (a by-product of theft runs).
        public var falseAlarmsPerDay: Double
    }

    public static func summarize(_ runs: [Run], label: String, setup: Setup = Setup()) -> Summary {
        let hoursPer = Double(setup.intervalSeconds) / 3600
        let perDay = setup.perDay
        let delays = runs.map { $0.delayIntervals.map(Double.init) ?? .infinity }.sorted()
        func quantile(_ q: Double) -> Double? {
            guard !delays.isEmpty else { return nil }
            let i = min(delays.count - 1, Int((q * Double(delays.count)).rounded(.up)) - 1)
            let d = delays[max(0, i)]
            return d.isFinite ? d * hoursPer : nil
        }
        let n = Double(max(runs.count, 1))
        let shares = runs.map { $0.feederWh > 0 ? $0.stolenWh / $0.feederWh : 0 }
        let before = runs.map { $0.stolenBeforeAlarmWh / 1000 }.sorted()
        let ranked = runs.compactMap(\.thiefRank)
        let fa = runs.reduce(0) { $0 + $1.falseAlarms }
        let days = runs.reduce(0.0) { $0 + $1.judgedDays }
        return Summary(
            label: label, runs: runs.count, stolenShare: shares.reduce(0, +) / n,
            recall24h: Double(runs.filter { ($0.delayIntervals ?? .max) <= perDay }.count) / n,
            recall7d: Double(runs.filter { ($0.delayIntervals ?? .max) <= 7 * perDay }.count) / n,
            medianDelayHours: quantile(0.5), p90DelayHours: quantile(0.9),
            medianStolenBeforeAlarmKWh: before.isEmpty ? 0 : before[before.count / 2],
            top3: ranked.isEmpty ? nil : Double(ranked.filter { $0 <= 3 }.count) / Double(ranked.count),
            falseAlarmsPerDay: days > 0 ? Double(fa) / days : 0)
    }

    /// The attacks and parameters of the report: per attack type, a few theft fractions.
    public static let standardAttacks: [TheftAttack] = [
        .bypass,
        .h1(alpha: 0.8), .h1(alpha: 0.5), .h1(alpha: 0.1),
        .h2(minHours: 4, maxHours: 8), .h2(minHours: 8, maxHours: 16),
        .h3(lo: 0.5, hi: 0.9), .h3(lo: 0.1, hi: 0.8),
        .h4(lo: 0.5, hi: 0.9), .h4(lo: 0.1, hi: 0.8),
        .h5, .h6,
        .unmeteredLoad(kw: 1, meterFactor: 1), .unmeteredLoad(kw: 0.3, meterFactor: 1),
    ]

    /// The report's table (Markdown).
    public static func markdownTable(_ rows: [Summary]) -> String {
        func pct(_ x: Double) -> String { String(Int((x * 100).rounded())) + " %" }
        func hours(_ x: Double?) -> String { x.map { fixed($0, 1) + " h" } ?? "—" }
        var out = "| attack | runs | stolen share of feeder energy | recall ≤ 24 h | recall ≤ 7 d | median delay | p90 delay | kWh stolen before alarm (median) | thief in top 3 |\n"
        out += "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for r in rows {
            out += "| \(r.label) | \(r.runs) | \(fixed(r.stolenShare * 100, 2)) % | \(pct(r.recall24h)) | \(pct(r.recall7d)) | "
            out += "\(hours(r.medianDelayHours)) | \(hours(r.p90DelayHours)) | \(fixed(r.medianStolenBeforeAlarmKWh, 1)) | \(r.top3.map(pct) ?? "—") |\n"
        }
        return out
    }

    public static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return "—" }
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let v = (abs(x) * p).rounded()
        let whole = Int(v / p)
        var frac = String(Int(v.truncatingRemainder(dividingBy: p)))
        while frac.count < digits { frac = "0" + frac }
        return (x < 0 && v > 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + frac : "")
    }
}
