/// A segment's technical-loss band, learned from its own history.
///
/// Model: `residual ≈ a + b·E + c·E²` where E is the energy through the
/// segment — a constant no-load part (transformer iron), a linear part that
/// absorbs the fixed calibration bias between the parent meter and its
/// children's meters, and the I²R part. Fitted by iteratively reweighted
/// least squares with Huber weights (robust to outliers), with a small ridge
/// on b and c so that a short or flat history falls back to a constant.
/// Nothing here is tuned to a particular grid: the band comes from the data.
public struct LossModel: Sendable, Equatable {
    public var a: Double = 0
    public var b: Double = 0
    public var c: Double = 0
    /// Energy scale used to normalise E (keeps the normal equations well conditioned).
    public var scale: Double = 1
    /// Robust standard deviation of the fit residuals (Wh).
    public var sigma: Double = 0
    public var samples: Int = 0
    /// Inverse of the weighted normal matrix (row-major 3×3), for the prediction's own
    /// uncertainty: large where the fit extrapolates beyond the energies it has seen.
    public var inverseNormal: [Double] = []

    public init() {}

    /// σ of a new residual at energy `e`: the noise plus the fit's uncertainty there
    /// (regression prediction interval, σ·√(1 + fᵀ(XᵀWX)⁻¹f)).
    public func predictionSigma(_ e: Double) -> Double {
        guard inverseNormal.count == 9 else { return sigma }
        let x = e / scale
        let f = [1, x, x * x]
        var q = 0.0
        for j in 0..<3 { for k in 0..<3 { q += f[j] * inverseNormal[3 * j + k] * f[k] } }
        return sigma * (1 + max(q, 0)).squareRoot()
    }

    public func expected(_ e: Double) -> Double {
        let x = e / scale
        return a + b * x + c * x * x
    }

    /// Fits the model to (E, residual) samples.
    public static func fit(_ points: [(e: Double, r: Double)], ridge: Double = 0.01) -> LossModel {
        var m = LossModel()
        m.samples = points.count
        guard !points.isEmpty else { return m }
        let scale = max(1, points.map { abs($0.e) }.max() ?? 1)
        m.scale = scale
        var w = [Double](repeating: 1, count: points.count)
        for _ in 0..<6 {
            // Normal equations for (a, b, c) with ridge on b and c.
            var ata = [[Double]](repeating: [0, 0, 0], count: 3)
            var atr = [0.0, 0.0, 0.0]
            // (Unrolled: no per-point allocation; the same sums in the same order.)
            var s00 = 0.0, s01 = 0.0, s02 = 0.0, s11 = 0.0, s12 = 0.0, s22 = 0.0
            var s10 = 0.0, s20 = 0.0, s21 = 0.0
            for (i, p) in points.enumerated() {
                let x = p.e / scale
                let f0 = 1.0, f1 = x, f2 = x * x
                let wi = w[i]
                atr[0] += wi * f0 * p.r
                atr[1] += wi * f1 * p.r
                atr[2] += wi * f2 * p.r
                s00 += wi * f0 * f0; s01 += wi * f0 * f1; s02 += wi * f0 * f2
                s10 += wi * f1 * f0; s11 += wi * f1 * f1; s12 += wi * f1 * f2
                s20 += wi * f2 * f0; s21 += wi * f2 * f1; s22 += wi * f2 * f2
            }
            ata = [[s00, s01, s02], [s10, s11, s12], [s20, s21, s22]]
            let lambda = ridge * max(1, Double(points.count)) * 0.01
            ata[1][1] += lambda
            ata[2][2] += lambda
            guard let sol = solve3(ata, atr) else { break }
            m.inverseNormal = (0..<3).flatMap { j -> [Double] in
                var unit = [0.0, 0.0, 0.0]
                unit[j] = 1
                return solve3(ata, unit) ?? [0, 0, 0]
            }
            m.a = sol[0]; m.b = sol[1]; m.c = sol[2]
            let res = points.map { $0.r - m.expected($0.e) }
            let s = robustSigma(res)
            m.sigma = s
            let k = 1.5 * max(s, 1e-9)
            for i in w.indices { w[i] = abs(res[i]) <= k ? 1 : k / abs(res[i]) }
        }
        return m
    }

    /// 1.4826 × median absolute deviation: σ for Gaussian noise, not fooled by outliers.
    public static func robustSigma(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return 0 }
        let med = median(xs)
        return 1.4826 * median(xs.map { abs($0 - med) })
    }

    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        let n = s.count
        if n == 0 { return 0 }
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    static func solve3(_ m: [[Double]], _ v: [Double]) -> [Double]? {
        var a = m
        var b = v
        for col in 0..<3 {
            var pivot = col
            for r in col..<3 where abs(a[r][col]) > abs(a[pivot][col]) { pivot = r }
            guard abs(a[pivot][col]) > 1e-12 else { return nil }
            a.swapAt(col, pivot)
            b.swapAt(col, pivot)
            for r in 0..<3 where r != col {
                let f = a[r][col] / a[col][col]
                for k in col..<3 { a[r][k] -= f * a[col][k] }
                b[r] -= f * b[col]
            }
        }
        return (0..<3).map { b[$0] / a[$0][$0] }
    }
}
