#if canImport(Glibc)
import Glibc
#endif

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
        /// The same, as CPU time of the measuring thread (what one core spent, whatever
        /// else the machine runs); equals wall time on an idle machine.
        public var buildCPUSeconds: Double
        public var intervalCPUSeconds: [Double]
        public var medianIntervalSeconds: Double { Self.median(intervalSeconds) }
        public var medianIntervalCPUSeconds: Double { Self.median(intervalCPUSeconds) }
        static func median(_ x: [Double]) -> Double {
            let s = x.sorted()
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
        let c0 = threadCPUSeconds()
        let model = GridModel(config: config, physics: realistic ? .realistic : .ideal)
        let build = clock.now - t0
        let buildCPU = threadCPUSeconds() - c0
        var cpu: [Double] = []
        let t = model.topology
        var times: [Double] = []
        var readings = 0
        for r in 0..<max(1, repetitions) {
            let k = 8 + (r * 17) % 96  // 02:00, 06:15, 10:30, 14:45, 19:00, …
            let s = clock.now
            let c = threadCPUSeconds()
            let o = model.interval(k)
            times.append(seconds(clock.now - s))
            cpu.append(threadCPUSeconds() - c)
            readings = o.readings.count - o.missing.count - o.delayed.count
        }
        return Result(consumers: t.consumers.count, transformers: t.transformers.count, feeders: t.feeders.count,
                      substations: t.substations.count, generators: t.generators.count, assets: t.assets.count,
                      buildSeconds: seconds(build), intervalSeconds: times, readingsPerInterval: readings,
                      buildCPUSeconds: buildCPU, intervalCPUSeconds: cpu)
    }

    /// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID).
    public static func threadCPUSeconds() -> Double {
        #if canImport(Glibc)
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        #else
        return 0
        #endif
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
