import ChainCore
import GridCore

/// Measurements for `make bench` (plain functions; the caller prints them).
public enum AlarmBenchmarks {
    public struct EngineResult: Sendable {
        public var liveAlarms: Int
        public var updates: Int
        public var transitions: Int
        public var seconds: Double
        public var updatesPerSecond: Double { Double(updates) / seconds }
    }

    /// Condition updates per second through `AlarmBook` holding `liveAlarms` alarms.
    ///
    /// The mix a busy grid gives: most updates re-report an active condition (no transition),
    /// one in 16 reports a condition gone, one in 16 a cleared one back (a repeat), with
    /// the transitions drained every 1,000 updates as the monitor does. Setup is not timed.
    public static func engine(liveAlarms: Int = 100_000, updates: Int = 1_000_000, seed: UInt64 = 1) -> EngineResult {
        var book = AlarmBook()
        let assets = (0..<liveAlarms).map { AssetID(uint: UInt64($0) &+ 1) }
        let conditions = assets.enumerated().map { i, a in
            AlarmCondition(kind: i % 4 == 0 ? .staleMeter : .suspectedTheft, asset: a, assetName: "A\(i)", stage: .consumer,
                           interval: UInt64(i), message: "bench")
        }
        for (i, c) in conditions.enumerated() { book.raise(c, now: Double(i) * 1e-3) }
        _ = book.takeTransitions()
        var state = seed
        var transitions = 0
        let clock = ContinuousClock()
        let start = clock.now
        for u in 0..<updates {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let i = Int((state >> 33) % UInt64(liveAlarms))
            let now = 1e6 + Double(u) * 1e-4
            switch (state >> 20) & 15 {
            case 0: book.clear(conditions[i].kind, asset: assets[i], now: now)
            default: book.raise(conditions[i], now: now)
            }
            if u % 1000 == 999 { transitions += book.takeTransitions().count }
        }
        transitions += book.takeTransitions().count
        let d = clock.now - start
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return EngineResult(liveAlarms: liveAlarms, updates: updates, transitions: transitions, seconds: seconds)
    }
}
