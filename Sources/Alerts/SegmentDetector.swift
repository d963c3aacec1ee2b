import GridCore

/// Watches one segment's settled balances for energy that enters and is metered nowhere.
///
/// Each settled, complete interval gives a residual r and a throughput E.
/// The loss model (fitted on this segment's own clean history) predicts the
/// technical loss; the standardised excess z = (r − expected) / σ feeds a
/// one-sided CUSUM (Page 1954): S ← max(0, S + z − k). The alarm condition is
/// S > h. Intervals that look anomalous are kept out of the model so a
/// sustained theft is not learned as "normal loss".
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
        /// Intervals with S back at zero before the condition clears.
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
    public private(set) var suspect = false
    /// The latest judgement (nil while learning).
    public private(set) var last: Judgement?
    /// The interval at which the CUSUM last rose from zero: the maximum-likelihood
    /// estimate of when the shift began (Page's change point), for localisation.
    public private(set) var changePoint: UInt64?
    private var quietIntervals = 0
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
        guard history.count >= parameters.warmup else {
            learn(e, r)
            return nil
        }
        let expected = model.expected(e)
        let sigma = max(model.sigma, parameters.sigmaFloorFraction * abs(e), parameters.sigmaFloorWh)
        let z = (r - expected) / sigma
        let previous = cusum
        cusum = max(0, cusum + z - parameters.k)
        if previous == 0 && cusum > 0 && !suspect { changePoint = b.interval }
        if cusum > parameters.h {
            suspect = true
            quietIntervals = 0
        } else if suspect {
            quietIntervals = cusum == 0 ? quietIntervals + 1 : 0
            if quietIntervals >= parameters.clearAfter { suspect = false }
        }
        if abs(z) < parameters.exclusion && !suspect { learn(e, r) }
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
            sinceFit = 0
        }
    }
}
