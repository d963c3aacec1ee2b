import ChainCore

/// Everything that shapes one run of the embedded simulated network.
///
/// The grid, its readings and the scripted theft are a pure function of
/// these values (block timestamps are the only wall-clock input).
public struct SimulationConfig: Sendable {
    /// Simulated validator nodes, each serving JSON-RPC on its own port.
    public var nodes: Int = 4
    public var host: String = "127.0.0.1"
    /// Ports `P, P+1, …`; nil asks the OS for ephemeral ports.
    public var basePort: Int? = nil
    /// Real time between blocks.
    public var blockTime: Duration = .seconds(1)
    /// Real time per simulated metering interval.
    public var intervalEvery: Duration = .seconds(5)
    /// Simulated length of one metering interval (15 minutes).
    public var intervalSeconds: UInt32 = 900
    /// Number of LV consumers: the grid's layout is derived from it (a few hundred to 1,000,000).
    public var consumers: Int = 520
    public var seed: UInt64 = 1
    /// Theft starts with the first interval completed after this much real time.
    public var theftAfter: Duration = .seconds(60)
    /// `"GRID"`.
    public var chainId: UInt64 = 0x4752_4944
    /// A few asset names carrying ESC sequences, bidi overrides, C0/C1 controls, very long text.
    public var hostileNames: Bool = false
    /// Scripted faults (per node, on a schedule); see `FaultScript` for the `--fault` syntax.
    public var faults: [FaultScript] = []
    /// The incidents to stage (see `IncidentSpec`, docs/scenarios.md); nil: the default demo's one
    /// scripted theft (an unmetered hook-up on a seed-picked household, after `theftAfter`).
    public var incidents: [IncidentSpec]? = nil
    /// Days of past chain built at start (blocks with past timestamps) before going live.
    public var historyDays: Double = 0
    /// The scenario file's name, if one was loaded (for the ground truth).
    public var scenarioName: String? = nil
    /// Share of AMI readings (consumers' and transformers' meters) that never reach the chain.
    public var missingReadingRate = 0.002
    /// Share of AMI readings that arrive 1–2 intervals late, with a later interval's batch
    /// (within the monitor's grace period of 2 intervals).
    public var lateReadingRate = 0.005

    public init() {}
}

extension SimulationConfig {
    /// Simulated time of the start of interval 0: 2026-11-20T00:00:00Z, aligned to 900 s.
    static let epoch: UInt64 = 1_795_132_800

    /// The epoch rounded down to a multiple of the interval length (a no-op for 900 s).
    var intervalEpoch: UInt64 {
        let len = UInt64(max(intervalSeconds, 1))
        return Self.epoch - Self.epoch % len
    }

    func intervalStart(_ index: Int) -> UInt64 { intervalEpoch + UInt64(index) * UInt64(intervalSeconds) }

    /// Index of the first stolen interval: the first interval whose completion
    /// (at `(k+1) * intervalEvery` after start) is not before `theftAfter`.
    var theftIntervalIndex: Int { Self.firstCompletion(after: theftAfter, every: intervalEvery) }

    /// Index (from the live start) of the first interval whose completion, at `(k+1) * every`
    /// after the start, is not before `after`.
    static func firstCompletion(after: Duration, every: Duration) -> Int {
        let every = max(every.nanoseconds, 1)
        let after = max(after.nanoseconds, 0)
        let completions = (after + every - 1) / every  // ceil(after / every)
        return Int(max(completions - 1, 0))
    }

    /// Intervals in the `historyDays` built at start; the first live interval has this index.
    public var historyIntervals: Int {
        let perDay = 86_400 / Double(max(intervalSeconds, 1))
        return max(0, Int((historyDays * perDay).rounded()))
    }
}

extension Duration {
    /// Whole nanoseconds (saturating), for exact schedule arithmetic.
    var nanoseconds: Int64 {
        let (s, atto) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? Int64.min : Int64.max }
        return ns &+ atto / 1_000_000_000
    }
}
