import Alerts
import ChainCore
import Foundation
import GridCore

/// Journal write latency for `make bench`: each sample is one transaction committed with fsync
/// (WAL, synchronous = FULL), as the monitor writes a batch and an operator action is written.
public enum JournalBenchmarks {
    public struct LatencyResult: Sendable {
        public var samples: Int
        public var batchSize: Int
        public var medianMs: Double
        public var p99Ms: Double
        public var maxMs: Double
    }

    /// Appends `samples` batches of `batchSize` transitions to a fresh journal in `directory`.
    public static func writeLatency(directory: String, samples: Int = 1000, batchSize: Int = 1) throws -> LatencyResult {
        let path = directory + "/bench-\(UUID().uuidString).sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let journal = try AlarmJournal(path: path, chainId: 1)
        var book = AlarmBook()
        let cond = (0..<batchSize).map { i in
            AlarmCondition(kind: .suspectedTheft, asset: AssetID(uint: UInt64(i + 1)), assetName: "TX-\(i)", stage: .transformer,
                           interval: 900, message: "unaccounted 1.21 kWh (13.0% of 9.30 kWh through) beyond expected loss 0.25 kWh")
        }
        var times: [Double] = []
        times.reserveCapacity(samples)
        let clock = ContinuousClock()
        for s in 0..<samples {
            let now = Double(s)
            for c in cond {
                if book.isActive(c.kind, c.asset) { book.clear(c.kind, asset: c.asset, now: now) } else { book.raise(c, now: now) }
            }
            let batch = book.takeTransitions()
            let t0 = clock.now
            try journal.append(batch)
            let d = clock.now - t0
            times.append((Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) * 1000)
        }
        times.sort()
        func q(_ p: Double) -> Double { times[min(times.count - 1, Int((p * Double(times.count)).rounded(.up)) - 1)] }
        return LatencyResult(samples: samples, batchSize: batchSize, medianMs: q(0.5), p99Ms: q(0.99), maxMs: times.last ?? 0)
    }
}
