import ChainCore
import GridCore

/// Ranks the consumers under an alarmed segment by how much their own meter's
/// behaviour changed when the segment's balance did: per-consumer change
/// detection, calibrated on each consumer's own history (no fixed thresholds).
///
/// For each consumer, a baseline per hour of day is learned from the
/// reference period (before the segment's estimated change point), and the
/// deficit `D_t = baseline(hour_t) − x_t` is followed into the suspect
/// period. Standardised statistics:
/// - **level**: the mean deficit after the change, in units of the
///   reference deficit's robust spread (MAD) over √n — finds full bypass,
///   h1–h4 (a share of consumption hidden) and h2 (meter off in windows);
/// - **ratio**: the drop of (trimmed) readings over the consumer's own hourly median —
///   the subtle share attacks (h1 α=0.8, h3) beside households with EV sessions;
/// - **shape**: the drop of the correlation between the readings and the
///   consumer's own daily profile (Fisher z) — finds the energy-neutral
///   attacks h5 (flat reports) and h6 (the day reversed), whose level is unchanged.
///
/// Theft that leaves the thief's meter
/// untouched (a hook-up on the line before an honest meter) changes no meter,
/// so it cannot be attributed to a consumer this way.
public enum SuspectRanking {
    public struct Suspect: Sendable, Equatable {
        public var asset: AssetID
        public var score: Double
        public var levelZ: Double
        public var shapeZ: Double
        /// Correlation of the consumer's deficit with the segment's unexplained energy after the change (Fisher z).
        public var excessZ: Double = 0
        /// Estimated energy the meter stopped recording since the change point (Wh).
        public var deficitWh: Double
        /// Drop of the trimmed-mean ratio of readings to the consumer's own hourly median, in robust
        /// standard errors: a share of consumption hidden (h1, h3), seen past EV sessions and
        /// other rare large loads that inflate the mean-based level statistic.
        public var ratioZ: Double = 0
    }

    /// - Parameters:
    ///   - readings: `readings[i][t]`, consumer `i`'s metered net import in interval `t` (nil: missing).
    ///   - hourOfDay: the hour (0…23) of each interval `t`.
    ///   - changePoint: first interval of the suspect period; earlier intervals are the reference.
    /// - Returns: the consumers, most suspect first.
    ///   - residualWh, throughputWh: the segment's balance residual and throughput per interval
    ///     (optional). When given, a third statistic correlates each consumer's deficit with the
    ///     segment's excess over its loss model (fitted on the reference period): the meter whose
    ///     missing energy moves with the unaccounted energy is the likely one — this is what
    ///     finds the energy-neutral attacks, whose deficit changes sign within the day.
    public static func rank(consumers: [AssetID], readings: [[Double?]], hourOfDay: [Int], changePoint: Int,
                            residualWh: [Double?]? = nil, throughputWh: [Double?]? = nil) -> [Suspect] {
        var out: [Suspect] = []
        out.reserveCapacity(consumers.count)
        let excess = residualWh.flatMap { r in throughputWh.map { excessOverLoss(r, $0, changePoint: changePoint) } }
        for (i, id) in consumers.enumerated() where i < readings.count {
            var s = score(id, readings[i], hourOfDay: hourOfDay, changePoint: changePoint)
            if let excess { s.excessZ = excessCorrelation(readings[i], excess, hourOfDay: hourOfDay, changePoint: changePoint) }
            out.append(s)
        }
        // Most consumers are honest: each statistic is re-standardised across the
        // segment's consumers (median and MAD), so days that move everybody
        // (weather, holidays) and serial correlation do not rank anyone, and the
        // two statistics become comparable.
        if out.count >= 5 {
            let lv = out.map(\.levelZ), sh = out.map(\.shapeZ)
            let lm = LossModel.median(lv), ls = max(LossModel.robustSigma(lv), 1e-9)
            let sm = LossModel.median(sh), ss = max(LossModel.robustSigma(sh), 1e-9)
            let ex = out.map(\.excessZ)
            let em = LossModel.median(ex), es = max(LossModel.robustSigma(ex), 1e-9)
            let rz = out.map(\.ratioZ)
            let rm = LossModel.median(rz), rs = max(LossModel.robustSigma(rz), 1e-9)
            for i in out.indices {
                out[i].score = max((out[i].levelZ - lm) / ls, (out[i].shapeZ - sm) / ss,
                                   excess == nil ? -.infinity : (out[i].excessZ - em) / es,
                                   (out[i].ratioZ - rm) / rs)
            }
        }
        return out.sorted { $0.score != $1.score ? $0.score > $1.score : $0.asset < $1.asset }
    }

    static func score(_ id: AssetID, _ xs: [Double?], hourOfDay: [Int], changePoint cp: Int) -> Suspect {
        let n = min(xs.count, hourOfDay.count)
        let split = max(0, min(cp, n))
        var sum = [Double](repeating: 0, count: 24), count = [Double](repeating: 0, count: 24)
        var refSum = 0.0, refCount = 0.0
        for t in 0..<split {
            guard let x = xs[t] else { continue }
            let h = ((hourOfDay[t] % 24) + 24) % 24
            sum[h] += x; count[h] += 1
            refSum += x; refCount += 1
        }
        let none = Suspect(asset: id, score: 0, levelZ: 0, shapeZ: 0, deficitWh: 0)
        guard refCount >= 8, split < n else { return none }
        let refMean = refSum / refCount
        let baseline = (0..<24).map { count[$0] > 0 ? sum[$0] / count[$0] : refMean }
        var refDeficit: [Double] = [], refX: [Double] = [], refB: [Double] = []
        var afterDeficit: [Double] = [], afterX: [Double] = [], afterB: [Double] = []
        for t in 0..<n {
            guard let x = xs[t] else { continue }
            let b = baseline[((hourOfDay[t] % 24) + 24) % 24]
            if t < split { refDeficit.append(b - x); refX.append(x); refB.append(b) } else { afterDeficit.append(b - x); afterX.append(x); afterB.append(b) }
        }
        guard !afterDeficit.isEmpty else { return none }
        // Level: mean deficit after, against the reference spread (floor: the 1 Wh register).
        let spread = max(LossModel.robustSigma(refDeficit), 1)
        let meanAfter = afterDeficit.reduce(0, +) / Double(afterDeficit.count)
        let levelZ = meanAfter / (spread / Double(afterDeficit.count).squareRoot())
        // Shape: correlation with the consumer's own daily profile, before versus after.
        var shapeZ = 0.0
        if afterX.count >= 8 {
            let before = correlation(refX, refB), after = correlation(afterX, afterB)
            shapeZ = (atanh(clamp(before)) - atanh(clamp(after))) * Double(afterX.count - 3).squareRoot()
        }
        var suspect = Suspect(asset: id, score: max(levelZ, shapeZ), levelZ: levelZ, shapeZ: shapeZ,
                              deficitWh: afterDeficit.reduce(0, +))
        suspect.ratioZ = ratioDrop(xs, hourOfDay: hourOfDay, split: split, n: n)
        return suspect
    }

    /// Median of `x_t / m_h` after the split against before, with `m_h` the consumer's median
    /// reading at that hour of day in the reference: robust to the rare large loads (EV
    /// sessions, heat-pump boosts) that dominate means, and scale-free across households.
    static func ratioDrop(_ xs: [Double?], hourOfDay: [Int], split: Int, n: Int) -> Double {
        var byHour = [[Double]](repeating: [], count: 24)
        var all: [Double] = []
        for t in 0..<split { if let x = xs[t] { byHour[((hourOfDay[t] % 24) + 24) % 24].append(x); all.append(x) } }
        guard all.count >= 8 else { return 0 }
        // Floor: a tenth of the consumer's typical reading, and 10 Wh (hours with ~no load say nothing).
        let floor = max(10, 0.1 * abs(LossModel.median(all)))
        let medians = byHour.map { $0.isEmpty ? Double.nan : LossModel.median($0) }
        var before: [Double] = [], after: [Double] = []
        for t in 0..<n {
            guard let x = xs[t] else { continue }
            let m = medians[((hourOfDay[t] % 24) + 24) % 24]
            guard m.isFinite, m > floor else { continue }
            if t < split { before.append(x / m) } else { after.append(x / m) }
        }
        guard before.count >= 8, after.count >= 4 else { return 0 }
        let spread = max(LossModel.robustSigma(before), 0.01)
        // 20 %-trimmed means: nearly the efficiency of the mean, the robustness of the median.
        return (trimmedMean(before) - trimmedMean(after)) / (1.1 * spread / Double(after.count).squareRoot())
    }

    static func trimmedMean(_ xs: [Double], trim: Double = 0.2) -> Double {
        let s = xs.sorted()
        let k = Int(Double(s.count) * trim)
        let kept = s[k..<(s.count - k)]
        return kept.reduce(0, +) / Double(max(kept.count, 1))
    }

    /// The segment's residual minus a robust loss fit (a + bE + cE²) on the reference period.
    static func excessOverLoss(_ r: [Double?], _ e: [Double?], changePoint: Int) -> [Double?] {
        var pts: [(e: Double, r: Double)] = []
        for t in 0..<min(changePoint, r.count, e.count) { if let rr = r[t], let ee = e[t] { pts.append((ee, rr)) } }
        guard pts.count >= 8 else { return r.map { _ in nil } }
        let m = LossModel.fit(pts)
        return (0..<r.count).map { t in
            guard let rr = r[t], t < e.count, let ee = e[t] else { return nil }
            return rr - m.expected(ee)
        }
    }

    /// Fisher z of the correlation, after the change point, of a consumer's deficit with the excess.
    static func excessCorrelation(_ xs: [Double?], _ excess: [Double?], hourOfDay: [Int], changePoint cp: Int) -> Double {
        let n = min(xs.count, excess.count, hourOfDay.count)
        var sum = [Double](repeating: 0, count: 24), count = [Double](repeating: 0, count: 24)
        for t in 0..<min(cp, n) {
            guard let x = xs[t] else { continue }
            sum[hourOfDay[t] % 24] += x; count[hourOfDay[t] % 24] += 1
        }
        var d: [Double] = [], ex: [Double] = []
        for t in max(cp, 0)..<max(n, cp) where t < n {
            guard let x = xs[t], let e = excess[t] else { continue }
            let h = hourOfDay[t] % 24
            guard count[h] > 0 else { continue }
            d.append(sum[h] / count[h] - x); ex.append(e)
        }
        guard d.count >= 8 else { return 0 }
        return atanh(clamp(correlation(d, ex))) * Double(d.count - 3).squareRoot()
    }

    /// Pearson correlation; 0 when either series is constant.
    static func correlation(_ a: [Double], _ b: [Double]) -> Double {
        let n = Double(min(a.count, b.count))
        guard n >= 2 else { return 0 }
        let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in 0..<Int(n) {
            let da = a[i] - ma, db = b[i] - mb
            sab += da * db; saa += da * da; sbb += db * db
        }
        guard saa > 1e-9, sbb > 1e-9 else { return 0 }
        return sab / (saa * sbb).squareRoot()
    }

    static func clamp(_ r: Double) -> Double { min(max(r, -0.999), 0.999) }

    static func atanh(_ x: Double) -> Double { 0.5 * log((1 + x) / (1 - x)) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
