import ChainCore
import Foundation
import GridCore
import Logging

/// Benchmarks of the client's hot paths, as plain functions for `make bench`.
/// Build with `-c release`; numbers from debug builds mean little.
public enum LedgerBenchmarks {
    public struct Measurement: Sendable, CustomStringConvertible {
        public var name: String
        /// Items processed in the best run (logs, blocks …).
        public var items: Int
        public var seconds: Double
        public var unit: String
        public var perSecond: Double { seconds > 0 ? Double(items) / seconds : 0 }
        public var description: String {
            "\(name): \(items) \(unit) in \(String(format: "%.3f", seconds)) s = \(Int(perSecond)) \(unit)/s"
        }
    }

    /// A realistic `eth_getLogs` response: `logs` MeterReading logs, four per block, as geth
    /// serialises them (including `blockTimestamp`).
    public static func meterReadingResponse(logs: Int, seed: UInt64 = 1) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(logs * 720 + 64)
        out.append(contentsOf: #"{"jsonrpc":"2.0","id":1,"result":["#.utf8)
        let contract = try! Address(hex: "0x00000000000000000000000000000000000e1ec7")
        var x = seed
        func rnd() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for i in 0..<logs {
            let m = MeterReading(asset: Bytes32(w0: rnd(), w1: rnd(), w2: rnd(), w3: rnd()),
                                 intervalStart: 1_794_038_400 + UInt64(i / 1000) * 900, intervalSeconds: 900,
                                 importWh: rnd() >> 44, exportWh: rnd() >> 48)
            let block = UInt64(i / 4 + 1)
            let log = Log(address: contract, topics: LedgerSchemaV1.topics(of: .meterReading(m)),
                          data: LedgerSchemaV1.data(of: .meterReading(m)), blockNumber: block,
                          blockHash: Bytes32(w0: block, w1: rnd(), w2: 0, w3: block), transactionHash: Bytes32(w0: rnd(), w1: 0, w2: 0, w3: UInt64(i)),
                          transactionIndex: UInt32(i % 4), logIndex: UInt32(i % 4))
            if i > 0 { out.append(UInt8(ascii: ",")) }
            var j = log.json
            if case .object(var o) = j {
                o["blockTimestamp"] = .string(Hex.quantity(1_794_038_400 + block * 5))
                j = .object(o)
            }
            j.write(to: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    public enum DecodePath: String, Sendable {
        /// The streaming decoder (`GetLogsDecoder`).
        case streaming
        /// JSON tree, then `Log(json:)`.
        case generic
    }

    /// MeterReading logs per second from raw `eth_getLogs` response bytes to `GridEvent`s,
    /// on the calling thread (one core); best of `repetitions`.
    public static func decodeThroughput(logs: Int = 100_000, repetitions: Int = 5, path: DecodePath = .streaming) throws -> Measurement {
        let bytes = meterReadingResponse(logs: logs)
        var best = Double.infinity
        var decoded = 0
        for _ in 0..<max(1, repetitions) {
            let t0 = ContinuousClock.now
            switch path {
            case .streaming:
                let (events, _) = try GetLogsDecoder.decodeEvents(bytes)
                decoded = events.count
            case .generic:
                let logs = try bytes.withUnsafeBytes { try GetLogsDecoder.generic($0) }
                var n = 0
                for r in logs {
                    if case .success(let log) = r, case .meterReading = try LedgerSchemaV1.decode(log) { n += 1 }
                }
                decoded = n
            }
            let d = ContinuousClock.now - t0
            best = min(best, Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        }
        precondition(decoded == logs, "benchmark decoded \(decoded) of \(logs) logs")
        return Measurement(name: "decode (\(path.rawValue))", items: decoded, seconds: best, unit: "logs")
    }

    /// One backfill run: blocks/s and logs/s, and the head it ran to.
    public struct Backfill: Sendable {
        public var blocks: Measurement
        public var logs: Measurement
        /// The node's head when the run started: every block up to it was delivered.
        public var head: UInt64
    }

    /// Backfill throughput: a `LedgerClient` on `url` (ws:// on loopback) from `fromBlock` to
    /// the node's head at start; returns blocks/s and logs/s (grid events delivered) from
    /// start until the head block is delivered.
    public static func backfillThroughput(url: String, fromBlock: UInt64 = 0, contracts: [Address] = [],
                                          timeout: Duration = .seconds(600)) async throws -> (blocks: Measurement, logs: Measurement) {
        let r = try await backfill(url: url, fromBlock: fromBlock, contracts: contracts, timeout: timeout)
        return (r.blocks, r.logs)
    }

    public static func backfill(url: String, fromBlock: UInt64 = 0, contracts: [Address] = [],
                                timeout: Duration = .seconds(600)) async throws -> Backfill {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        // The head to reach.
        let probe = RPCConnection(settings: .init(url: url, headers: [:], maxFrameSize: 64 << 20, requestTimeout: .seconds(30)),
                                  logger: logger, onLatency: { _ in })
        let runner = Task { await probe.run() }
        try await withDeadline(.seconds(10), what: "connect") { try await probe.waitOpen() }
        guard let head = try await probe.call("eth_blockNumber").quantity else {
            throw LedgerClientError.badResponse(method: "eth_blockNumber", "expected a quantity")
        }
        await probe.close(.disconnected("done"))
        runner.cancel()

        var config = LedgerClientConfiguration(nodes: [NodeEndpoint(url: url, name: "bench")])
        config.fromBlock = fromBlock
        config.contracts = contracts
        config.maxFrameSize = 64 << 20
        config.requestTimeout = .seconds(60)
        config.startupGrace = .zero
        config.batchSize = 1000
        config.logRange = 100_000
        let client = LedgerClient(configuration: config, logger: logger)
        let counter = BenchCounter(target: head)
        let t0 = ContinuousClock.now
        let task = Task { try await client.run { u in await counter.add(u) } }
        let done = await counter.waitDone(timeout: timeout)
        let elapsed = ContinuousClock.now - t0
        task.cancel()
        _ = try? await task.value
        guard done else { throw LedgerClientError.timeout(method: "backfill to block \(head)", after: timeout) }
        let s = seconds(elapsed)
        let (blocks, logs) = await counter.totals
        return Backfill(blocks: Measurement(name: "backfill blocks", items: blocks, seconds: s, unit: "blocks"),
                        logs: Measurement(name: "backfill logs", items: logs, seconds: s, unit: "logs"), head: head)
    }

    /// Where the time of one `eth_getLogs` for `from...to` goes, on one connection: the round
    /// trip until the whole answer is in (the node's encoding, the transfer, WebSocket framing
    /// and UTF-8 validation), then decoding it with `GetLogsDecoder` and with the generic
    /// JSON tree path.
    public struct GetLogsPhases: Sendable {
        public var logs: Int
        public var bytes: Int
        public var roundTrip: Double
        public var decode: Double
        public var genericDecode: Double
    }

    public static func getLogsPhases(url: String, from: UInt64, to: UInt64) async throws -> GetLogsPhases {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let conn = RPCConnection(settings: .init(url: url, headers: [:], maxFrameSize: 256 << 20, requestTimeout: .seconds(60)),
                                 logger: logger, onLatency: { _ in })
        let runner = Task { await conn.run() }
        defer { runner.cancel() }
        try await withDeadline(.seconds(10), what: "connect") { try await conn.waitOpen() }
        let filter: JSON = ["fromBlock": .string(Hex.quantity(from)), "toBlock": .string(Hex.quantity(to)),
                            "topics": .array([.array(LedgerSchemaV1.allTopics.map { .string($0.hex) })])]
        let t0 = ContinuousClock.now
        let frame = try await conn.getLogsFrame(filter)
        let t1 = ContinuousClock.now
        let logs = try frame.withUnsafeBytes { try GetLogsDecoder.gridLogs($0) }
        let t2 = ContinuousClock.now
        let generic = try frame.withUnsafeBytes { try GetLogsDecoder.genericGridLogs($0) }
        let t3 = ContinuousClock.now
        precondition(logs == generic, "fast and generic decoding disagree")
        await conn.close(.disconnected("done"))
        return GetLogsPhases(logs: logs.count, bytes: frame.count, roundTrip: seconds(t1 - t0), decode: seconds(t2 - t1),
                             genericDecode: seconds(t3 - t2))
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

actor BenchCounter {
    let target: UInt64
    private(set) var blocks = 0
    private(set) var logs = 0
    private var done = false

    init(target: UInt64) { self.target = target }

    var totals: (Int, Int) { (blocks, logs) }

    func add(_ u: LedgerUpdate) {
        guard case .block(let b) = u else { return }
        blocks += 1
        logs += b.events.count
        if b.header.number >= target { done = true }
    }

    func waitDone(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !done, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return done
    }
}
