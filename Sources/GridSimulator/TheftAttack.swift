/// How a stealing household hides its consumption: the attack types of
/// Jokar, Arianpoo and Leung, "Electricity theft detection in AMI using
/// customers' consumption patterns", IEEE Trans. Smart Grid 7(1), 2016,
/// plus a full meter bypass and an unmetered hook-up on the service line.
///
/// Every attack is a pure function of the household's true consumption `x`
/// over the day (`x[0..<T]`, one value per interval), the slot `t`, and a
/// seeded random stream: the same seed always gives the same reports.
public enum TheftAttack: Sendable, Equatable, Hashable {
    /// The tampered meter records `meterFactor · x_t`, and a continuous
    /// unmetered load of `kw` hangs on the line before the meter (the default demo).
    case unmeteredLoad(kw: Double, meterFactor: Double)
    /// h1: records `α · x_t`, α constant (0.1…0.8).
    case h1(alpha: Double)
    /// h2: records 0 during one window a day (start random, length
    /// `minHours…maxHours`), `x_t` otherwise.
    case h2(minHours: Double, maxHours: Double)
    /// h3: records `α_t · x_t`, α_t uniform in `lo…hi` each interval.
    case h3(lo: Double, hi: Double)
    /// h4: records `α_t · mean(x)`, α_t uniform in `lo…hi` each interval.
    case h4(lo: Double, hi: Double)
    /// h5: records the day's mean every interval (energy-neutral over the day).
    case h5
    /// h6: records the day backwards, `x_{T−1−t}` (energy-neutral over the day).
    case h6
    /// The meter is bypassed: records 0.
    case bypass

    /// Short code for reports and ground truth: `"h1"`, `"bypass"`, `"unmetered-load"`.
    public var code: String {
        switch self {
        case .unmeteredLoad: "unmetered-load"
        case .h1: "h1"
        case .h2: "h2"
        case .h3: "h3"
        case .h4: "h4"
        case .h5: "h5"
        case .h6: "h6"
        case .bypass: "bypass"
        }
    }

    /// A label with the parameters (`"h1 α=0.5"`).
    public var label: String {
        switch self {
        case .unmeteredLoad(let kw, let f): "unmetered-load \(fmt(kw)) kW, meter ×\(fmt(f))"
        case .h1(let a): "h1 α=\(fmt(a))"
        case .h2(let lo, let hi): "h2 off \(fmt(lo))–\(fmt(hi)) h/day"
        case .h3(let lo, let hi): "h3 α∈[\(fmt(lo)),\(fmt(hi))]"
        case .h4(let lo, let hi): "h4 α∈[\(fmt(lo)),\(fmt(hi))]·mean"
        case .h5: "h5 flat mean"
        case .h6: "h6 reversed day"
        case .bypass: "full bypass"
        }
    }

    /// True when a report needs the whole day's consumption (h4, h5, h6).
    public var needsDay: Bool {
        switch self {
        case .h4, .h5, .h6: true
        default: false
        }
    }

    /// What the tampered meter records for slot `t` of a day whose true
    /// consumption is `day` (Wh per interval). `rng` is the interval's own
    /// stream (h3, h4); `dayRng` is the day's own stream (h2's window), so the
    /// report is the same whichever order intervals are computed in.
    func reported(day: [Double], slot t: Int, rng: inout SplitMix64, dayRng: inout SplitMix64) -> Double {
        let x = day[t]
        let n = day.count
        switch self {
        case .unmeteredLoad(_, let f): return x * f
        case .h1(let a): return a * x
        case .h2(let lo, let hi):
            let slotsPerHour = Double(n) / 24
            let length = Int((dayRng.uniform(lo, hi) * slotsPerHour).rounded())
            let start = dayRng.below(max(n, 1))
            let inWindow = (t - start + n) % n < length
            return inWindow ? 0 : x
        case .h3(let lo, let hi): return rng.uniform(lo, hi) * x
        case .h4(let lo, let hi): return rng.uniform(lo, hi) * Self.mean(day)
        case .h5: return Self.mean(day)
        case .h6: return day[n - 1 - t]
        case .bypass: return 0
        }
    }

    static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
}

private func fmt(_ x: Double) -> String {
    let r = (x * 100).rounded() / 100
    return r == r.rounded() ? String(Int(r)) : String(r)
}
