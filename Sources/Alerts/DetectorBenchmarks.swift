import ChainCore
import GridCore

/// `make bench`: the flow model and the detectors on one interval of a 1,000,000-consumer grid.
public enum DetectorBenchmarks {
    public struct Result: Sendable {
        public var consumers: Int
        public var meters: Int
        public var segments: Int
        /// Seconds per timed interval: from its first reading block until it is settled and judged.
        public var runs: [Double]
        public var setupSeconds: Double
        public var median: Double { let s = runs.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
    }

    /// Builds a grid of `consumers` (transformers of `perTransformer`, 20 transformers per feeder,
    /// 10 feeders per substation, one transmission root) from registration events, warms the
    /// detectors on `warm` intervals, then times `runs` further intervals, each delivered as
    /// blocks of `eventsPerBlock` readings (every meter reports, so each settles on its last block).
    /// Blocks are built before the clock starts; only the monitor's work is timed.
    public static func interval(consumers: Int = 1_000_000, perTransformer: Int = 100, warm: Int = 4, runs: Int = 3,
                                eventsPerBlock: Int = 10_000) -> Result {
        let clock = ContinuousClock()
        let setupStart = clock.now
        var c = MonitorConfiguration()
        // Memory bound: a week of 1M readings is not kept here; the detectors judge after `warm − 1` intervals.
        c.retainIntervals = warm + 1
        c.detector.warmup = max(1, warm - 1)
        var m = Monitor(configuration: c)
        var blockNumber: UInt64 = 1
        func block(_ events: [GridEvent], timestamp: UInt64) -> LedgerUpdate {
            let hash = Bytes32(uint: 0xB000_0000 + blockNumber)
            let located = events.enumerated().map { i, e in
                LocatedEvent(event: e, origin: EventOrigin(blockNumber: blockNumber, blockHash: hash,
                                                           transactionHash: Bytes32(uint: blockNumber << 20 | UInt64(i)), logIndex: UInt32(i)))
            }
            let h = BlockHeader(number: blockNumber, hash: hash, parentHash: Bytes32(uint: 0xB000_0000 + blockNumber - 1),
                                timestamp: timestamp, miner: .zero)
            blockNumber += 1
            return .block(ChainBlock(header: h, events: located))
        }

        // Topology: root → substations → feeders → transformers → consumers.
        let transformers = (consumers + perTransformer - 1) / perTransformer
        let feeders = (transformers + 19) / 20
        let substations = (feeders + 9) / 10
        let root = AssetID(uint: 1)
        func id(_ kind: UInt64, _ i: Int) -> AssetID { Bytes32(w0: kind, w1: 0, w2: 0, w3: UInt64(i) &+ 1) }
        var regs: [GridEvent] = [.assetRegistered(AssetRegistration(asset: root, parent: .zero, stage: .transmission, ratedKw: 0, name: "TR"))]
        regs.reserveCapacity(consumers + transformers + feeders + substations + 1)
        for s in 0..<substations { regs.append(.assetRegistered(AssetRegistration(asset: id(2, s), parent: root, stage: .substation, ratedKw: 0, name: "SS-\(s)"))) }
        for f in 0..<feeders { regs.append(.assetRegistered(AssetRegistration(asset: id(3, f), parent: id(2, f / 10), stage: .feeder, ratedKw: 0, name: "F-\(f)"))) }
        for t in 0..<transformers { regs.append(.assetRegistered(AssetRegistration(asset: id(4, t), parent: id(3, t / 20), stage: .transformer, ratedKw: 0, name: "TX-\(t)"))) }
        for i in 0..<consumers { regs.append(.assetRegistered(AssetRegistration(asset: id(5, i), parent: id(4, i / perTransformer), stage: .consumer, ratedKw: 0, name: "C-\(i)"))) }
        var start = 0
        while start < regs.count {
            _ = m.apply(block(Array(regs[start..<min(start + eventsPerBlock, regs.count)]), timestamp: 0), now: 0)
            start += eventsPerBlock
        }
        regs = []

        /// One interval's readings: consumers vary, each level up imports its children's sum plus a loss.
        func readings(_ k: Int) -> [LedgerUpdate] {
            let t = UInt64(k) * 900
            var ev: [GridEvent] = []
            ev.reserveCapacity(consumers + transformers + feeders + substations)
            var txSum = [UInt64](repeating: 0, count: transformers)
            for i in 0..<consumers {
                let wh = UInt64(150 + (i % 97) + ((i &* 31 &+ k &* 7) % 23))
                txSum[i / perTransformer] += wh
                ev.append(.meterReading(MeterReading(asset: id(5, i), intervalStart: t, intervalSeconds: 900, importWh: wh, exportWh: 0)))
            }
            var fSum = [UInt64](repeating: 0, count: feeders)
            for x in 0..<transformers {
                let wh = txSum[x] + 40 + txSum[x] / 50
                fSum[x / 20] += wh
                ev.append(.meterReading(MeterReading(asset: id(4, x), intervalStart: t, intervalSeconds: 900, importWh: wh, exportWh: 0)))
            }
            var sSum = [UInt64](repeating: 0, count: substations)
            for f in 0..<feeders {
                let wh = fSum[f] + fSum[f] / 100
                sSum[f / 10] += wh
                ev.append(.meterReading(MeterReading(asset: id(3, f), intervalStart: t, intervalSeconds: 900, importWh: wh, exportWh: 0)))
            }
            for s in 0..<substations {
                ev.append(.meterReading(MeterReading(asset: id(2, s), intervalStart: t, intervalSeconds: 900, importWh: sSum[s] + sSum[s] / 200, exportWh: 0)))
            }
            var out: [LedgerUpdate] = []
            var s = 0
            while s < ev.count {
                out.append(block(Array(ev[s..<min(s + eventsPerBlock, ev.count)]), timestamp: t + 900))
                s += eventsPerBlock
            }
            return out
        }

        for k in 1...warm { for b in readings(k) { _ = m.apply(b, now: Double(k)) } }
        precondition(m.settledInterval == UInt64(warm) * 900, "warm-up intervals settle")
        let setup = clock.now - setupStart
        var times: [Double] = []
        for r in 1...runs {
            let k = warm + r
            let blocks = readings(k)
            let t0 = clock.now
            for b in blocks { _ = m.apply(b, now: Double(k)) }
            let d = clock.now - t0
            precondition(m.settledInterval == UInt64(k) * 900, "the timed interval settled")
            times.append(seconds(d))
        }
        return Result(consumers: consumers, meters: consumers + transformers + feeders + substations,
                      segments: m.detectors.count, runs: times, setupSeconds: seconds(setup))
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
