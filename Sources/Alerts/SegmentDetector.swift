import GridCore

/// Watches one segment's settled balances for energy that enters and is metered nowhere.
///
/// Each settled, complete interval gives a residual r and a throughput E.
/// The loss model (fitted on this segment's own clean history) predicts the
/// technical loss; the standardised excess z = (r − expected) / σ feeds a
/// one-sided CUSUM (Page 1954): S ← max(0, S + z − k). The alarm condition is
/// S > h. Intervals that look anomalous are kept out of the model so a
/// sustained theft is not learned as "normal loss".
///
/// A second, slow CUSUM (small reference value) finds small persistent
/// shifts — a household hiding a fifth of its use is ~0.2 % of a feeder —
/// that the fast one's k = 1 σ cancels. Its increments are the same z scaled
/// by √((1−ρ)/(1+ρ)), ρ being the lag-1 autocorrelation of the segment's own
/// fit residuals, so serially correlated residuals (slow drift of losses or
/// load-dependent meter errors) do not turn into false alarms: the run length
/// it allows is calibrated on this segment's data, not on a noise model.
public struct SegmentDetector: Sendable {
    public struct Parameters: Sendable, Equatable {
        /// Clean intervals needed before any judgement.
        public var warmup = 8
        /// History used for the loss model.
        public var window = 96 * 7
        /// CUSUM reference value and decision threshold (in σ units).
        public var k = 1.0
        public var h = 8.0
        /// Half-width of the normal band shown to operators, in σ.
        public var bandSigmas = 3.0
        /// z above this is not used to update the model.
        public var exclusion = 3.0
        /// Floor on σ as a fraction of throughput and in Wh (meter resolution and bias),
        /// so a perfectly quiet history cannot make ordinary noise look like theft.
        public var sigmaFloorFraction = 0.002
        public var sigmaFloorWh = 2.0
        /// Slow CUSUM reference value and threshold (σ units, after the autocorrelation scaling).
        /// For independent z the in-control run length is ~3,000 days of 15-minute intervals.
        public var slowK = 0.25
        public var slowH = 20.0
        /// The slow CUSUM starts after this much learned history (seconds of the segment's
        /// own intervals): its autocorrelation estimate needs a whole daily cycle.
        public var slowWarmupSeconds: UInt64 = 86_400
        /// Intervals in a row back in band (adding nothing to either CUSUM) before the condition
        /// clears; both CUSUMs then restart from zero.
        public var clearAfter = 4
        public init() {}
    }

    public struct Judgement: Sendable, Equatable {
        public var interval: UInt64
        public var residualWh: Double
        public var expectedLossWh: Double
        public var sigmaWh: Double
        public var z: Double
        public var cusum: Double
        /// The theft condition is present.
        public var suspect: Bool
        public var throughputWh: Double
    }

    public let parameters: Parameters
    public private(set) var history: [(e: Double, r: Double)] = []
    public private(set) var model = LossModel()
    public private(set) var cusum = 0.0
    /// The slow CUSUM and the residual autocorrelation that scales it.
    public private(set) var slowCusum = 0.0
    public private(set) var autocorrelation = 0.0
    public private(set) var suspect = false
    /// The latest judgement (nil while learning).
    public private(set) var last: Judgement?
    /// The interval at which the CUSUM last rose from zero: the maximum-likelihood
    /// estimate of when the shift began (Page's change point), for localisation.
    public private(set) var changePoint: UInt64?
    private var quietIntervals = 0
    private var fastRise: UInt64?
    private var firstInterval: UInt64?
    private var slowRise: UInt64?
    private var sinceFit = Int.max

    public init(parameters: Parameters = Parameters()) { self.parameters = parameters }

    /// The expected technical loss for a throughput, once warmed up.
    public func expectedLoss(_ e: Double) -> Double? {
        history.count >= parameters.warmup ? model.expected(e) : nil
    }

    public mutating func observe(_ b: SegmentBalance) -> Judgement? {
        guard b.complete else { return nil }
        let e = Double(b.throughputWh)
        let r = Double(b.residualWh)
        if firstInterval == nil { firstInterval = b.interval }
        guard history.count >= parameters.warmup else {
            learn(e, r)
            return nil
        }
        let expected = model.expected(e)
        // The fit's own uncertainty counts: a young model extrapolating to a
        // load it has not seen yet (the first morning peak) is not trusted as much.
        let sigma = max(model.predictionSigma(e), parameters.sigmaFloorFraction * abs(e), parameters.sigmaFloorWh)
        let z = (r - expected) / sigma
        let previous = cusum, previousSlow = slowCusum
        cusum = max(0, cusum + z - parameters.k)
        let rho = min(max(autocorrelation, 0), 0.95)
        if firstInterval == nil { firstInterval = b.interval }
        let slowReady = b.interval >= (firstInterval ?? b.interval) + parameters.slowWarmupSeconds
        slowCusum = slowReady ? max(0, slowCusum + z * ((1 - rho) / (1 + rho)).squareRoot() - parameters.slowK) : 0
        if !suspect {
            // Page's change-point estimate of whichever statistic trips first.
            if previous == 0 && cusum > 0 && slowCusum <= parameters.slowH { fastRise = b.interval }
            if previousSlow == 0 && slowCusum > 0 { slowRise = b.interval }
        }
        let fastTrips = cusum > parameters.h, slowTrips = slowCusum > parameters.slowH
        if !suspect && (fastTrips || slowTrips) { changePoint = fastTrips ? fastRise : slowRise }
        // Back in band: the interval adds nothing to either statistic (z below the fast reference,
        // and below the slow one once that runs). After `clearAfter` such intervals in a row the
        // condition clears and both charts restart from zero (the segment is back in control):
        // waiting for a CUSUM that a large theft pushed to hundreds of σ to drain at k per
        // interval would keep the alarm for days after the bypass is gone.
        let inBand = z < parameters.k && (!slowReady || z * ((1 - rho) / (1 + rho)).squareRoot() < parameters.slowK)
        if suspect {
            quietIntervals = inBand ? quietIntervals + 1 : 0
            if quietIntervals >= parameters.clearAfter {
                suspect = false
                quietIntervals = 0
                cusum = 0
                slowCusum = 0
            }
        } else if fastTrips || slowTrips {
            suspect = true
            quietIntervals = 0
        }
        // Neither outliers nor intervals under a half-grown slow CUSUM teach the model:
        // a slowly accumulating theft must not be learned as loss.
        if abs(z) < parameters.exclusion && !suspect && slowCusum < parameters.slowH / 2 { learn(e, r) }
        let j = Judgement(interval: b.interval, residualWh: r, expectedLossWh: expected, sigmaWh: sigma, z: z,
                          cusum: cusum, suspect: suspect, throughputWh: e)
        last = j
        return j
    }

    private mutating func learn(_ e: Double, _ r: Double) {
        history.append((e, r))
        if history.count > parameters.window { history.removeFirst(history.count - parameters.window) }
        // Refit every interval while young, then every 4 intervals.
        sinceFit = sinceFit == Int.max ? 0 : sinceFit + 1
        if history.count <= 4 * parameters.warmup || sinceFit >= 4 {
            model = LossModel.fit(history)
            autocorrelation = Self.lagOneAutocorrelation(history.map { $0.r - model.expected($0.e) }, sigma: model.sigma)
            sinceFit = 0
        }
    }

    /// Lag-1 autocorrelation of residuals clipped at ±3σ (robust to the outliers the fit ignores).
    static func lagOneAutocorrelation(_ xs: [Double], sigma: Double) -> Double {
        guard xs.count >= 8, sigma > 0 else { return 0 }
        let c = xs.map { min(max($0, -3 * sigma), 3 * sigma) }
        let m = c.reduce(0, +) / Double(c.count)
        var num = 0.0, den = 0.0
        for i in c.indices {
            den += (c[i] - m) * (c[i] - m)
            if i > 0 { num += (c[i] - m) * (c[i - 1] - m) }
        }
        return den > 0 ? num / den : 0
    }
}
