/// Speed of the simulated grid at scale, for `make bench` (GridtopBench).
///
/// Public so the benchmark executable can drive the internal model without
/// `@testable`; pure and socket-free.
public enum SimulatorBenchmarks {
    public struct Result: Sendable {
        public var consumers: Int
        public var transformers: Int
        public var feeders: Int
        public var substations: Int
        public var generators: Int
        public var assets: Int
        /// Building the topology (layout, profiles, names, asset ids) and the model.
        public var buildSeconds: Double
        /// One interval's generation (every consumer's load, losses, dispatch, meter
        /// readings, delivery, P2P trades), per repetition, in the order run.
        public var intervalSeconds: [Double]
        public var readingsPerInterval: Int
        public var medianIntervalSeconds: Double {
            let s = intervalSeconds.sorted()
            return s.isEmpty ? 0 : s[s.count / 2]
        }
    }

    /// Builds the grid of `consumers` (standard derived layout, the demo's physics) and times
    /// `repetitions` intervals spread over a day (night, morning, noon, evening…).
    public static func grid(consumers: Int, seed: UInt64 = 1, repetitions: Int = 5, realistic: Bool = false) -> Result {
        var config = SimulationConfig()
        config.consumers = consumers
        config.seed = seed
        let clock = ContinuousClock()
        let t0 = clock.now
        let model = GridModel(config: config, physics: realistic ? .realistic : .ideal)
        let build = clock.now - t0
        let t = model.topology
        var times: [Double] = []
        var readings = 0
        for r in 0..<max(1, repetitions) {
            let k = 8 + (r * 17) % 96  // 02:00, 06:15, 10:30, 14:45, 19:00, …
            let s = clock.now
            let o = model.interval(k)
            times.append(seconds(clock.now - s))
            readings = o.readings.count - o.missing.count - o.delayed.count
        }
        return Result(consumers: t.consumers.count, transformers: t.transformers.count, feeders: t.feeders.count,
                      substations: t.substations.count, generators: t.generators.count, assets: t.assets.count,
                      buildSeconds: seconds(build), intervalSeconds: times, readingsPerInterval: readings)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
