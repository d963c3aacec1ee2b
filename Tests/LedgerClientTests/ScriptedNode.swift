import ChainCore
import GridCore
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// A chain built in the test: canonical blocks plus orphaned ones (still served by hash).
actor TestChain {
    static let contract = try! Address(hex: "0x00000000000000000000000000000000000e1ec7")
    let chainId: UInt64
    private(set) var canonical: [BlockHeader] = []
    private var byHash: [Bytes32: BlockHeader] = [:]
    private var logsByHash: [Bytes32: [Log]] = [:]
    private var salt: UInt64 = 0
    /// Nodes told about new heads and logs.
    private var nodes: [ScriptedNode] = []

    /// Besu-style QBFT chain: these validators propose in turn, and hashes follow Besu's BFT rule.
    let qbftValidators: [Address]?
    /// Round at which the next mined block is sealed (QBFT): proposers of earlier rounds missed their turn.
    var nextRound: UInt64 = 0
    /// Seconds between blocks.
    var blockTime: UInt64 = 5

    init(chainId: UInt64 = 1337, salt: UInt64 = 0, qbftValidators: [Address]? = nil) {
        self.chainId = chainId
        self.salt = salt
        self.qbftValidators = qbftValidators?.sorted()
        var g = BlockHeader(number: 0, hash: .zero, parentHash: .zero, timestamp: 1_794_038_400, miner: .zero,
                            extraData: Array("genesis-\(chainId)-\(salt)".utf8))
        if let vs = self.qbftValidators { g.extraData = TestChain.qbftExtra(vanity: 0, validators: vs, round: 0, seals: 0) }
        g.hash = g.computedHash()
        canonical = [g]
        byHash[g.hash] = g
        logsByHash[g.hash] = []
    }

    func attach(_ node: ScriptedNode) { nodes.append(node) }

    func setNextRound(_ r: UInt64) { nextRound = r }

    /// QBFT extraData: rlp[vanity, validators, [], round, seals].
    static func qbftExtra(vanity: UInt64, validators: [Address], round: UInt64, seals: Int) -> [UInt8] {
        RLP.encode(.list([
            .bytes(Bytes32(uint: vanity).bytes), .list(validators.map { .bytes($0.bytes) }), .list([]), .uint(round),
            .list((0..<seals).map { .bytes([UInt8](repeating: UInt8(truncatingIfNeeded: $0 &+ 1), count: 65)) }),
        ]))
    }

    var head: BlockHeader { canonical.last! }

    /// A log as a contract would emit it; `rawData`/`rawTopics` override for malformed events.
    struct Item: Sendable {
        var event: GridEvent?
        var rawTopics: [Bytes32]? = nil
        var rawData: [UInt8]? = nil
        /// Emitted by another contract than the metering contract (a forgery).
        var address: Address? = nil
        init(_ e: GridEvent, from address: Address? = nil) { event = e; self.address = address }
        init(topics: [Bytes32], data: [UInt8]) { event = nil; rawTopics = topics; rawData = data }
    }

    private func build(parent: BlockHeader, items: [Item]) -> (BlockHeader, [Log]) {
        salt &+= 1
        let n = parent.number + 1
        var h = BlockHeader(number: n, hash: .zero, parentHash: parent.hash, timestamp: parent.timestamp + blockTime, miner: .zero,
                            extraData: Array("block-\(chainId)-\(n)-\(salt)".utf8))
        if let vs = qbftValidators {
            // Round-robin after the parent's proposer, skipping one validator per round.
            let base = vs.firstIndex(of: parent.miner).map { $0 + 1 } ?? 0
            h.miner = vs[(base + Int(nextRound)) % vs.count]
            h.extraData = TestChain.qbftExtra(vanity: salt, validators: vs, round: nextRound, seals: (vs.count * 2) / 3 + 1)
            h.hash = HeaderHashing.hash(h, scheme: .qbft)!
            nextRound = 0
        } else {
            h.hash = h.computedHash()
        }
        let hash = h.hash
        var logs: [Log] = []
        for (i, it) in items.enumerated() {
            let topics = it.rawTopics ?? LedgerSchemaV1.topics(of: it.event!)
            let data = it.rawData ?? LedgerSchemaV1.data(of: it.event!)
            logs.append(Log(address: it.address ?? TestChain.contract, topics: topics, data: data, blockNumber: n, blockHash: hash,
                            transactionHash: Keccak256.bytes32("tx-\(hash.hex)-\(i)"), transactionIndex: UInt32(i),
                            logIndex: UInt32(i)))
        }
        return (h, logs)
    }

    /// Mines one block on the canonical head and tells every node.
    @discardableResult
    func mine(_ items: [Item] = []) async -> BlockHeader {
        let (h, logs) = build(parent: head, items: items)
        canonical.append(h)
        byHash[h.hash] = h
        logsByHash[h.hash] = logs
        for n in nodes { await n.announce(h, logs: logs, removed: []) }
        return h
    }

    @discardableResult
    func mine(readings: [MeterReading]) async -> BlockHeader {
        await mine(readings.map { Item(.meterReading($0)) })
    }

    /// Builds `count` blocks without telling anyone (history before the client starts).
    func prebuild(_ blocks: [[Item]]) {
        for items in blocks {
            let (h, logs) = build(parent: head, items: items)
            canonical.append(h)
            byHash[h.hash] = h
            logsByHash[h.hash] = logs
        }
    }

    /// Replaces the newest `depth` blocks with `replacement` (a reorg), telling every node:
    /// removed logs, then the new heads.
    func reorg(depth: Int, replacement: [[Item]]) async -> [BlockHeader] {
        let orphaned = Array(canonical.suffix(depth))
        canonical.removeLast(depth)
        var removed: [Log] = []
        for o in orphaned.reversed() {
            removed += (logsByHash[o.hash] ?? []).map { var l = $0; l.removed = true; return l }
        }
        var out: [BlockHeader] = []
        var first = true
        for items in replacement {
            let (h, logs) = build(parent: head, items: items)
            canonical.append(h)
            byHash[h.hash] = h
            logsByHash[h.hash] = logs
            out.append(h)
            for n in nodes { await n.announce(h, logs: logs, removed: first ? removed : []) }
            first = false
        }
        return out
    }

    func block(number: UInt64) -> BlockHeader? { number < canonical.count ? canonical[Int(number)] : nil }
    func block(hash: Bytes32) -> BlockHeader? { byHash[hash] }
    func logs(hash: Bytes32) -> [Log] { logsByHash[hash] ?? [] }
    func canonicalLogs(from: UInt64, to: UInt64) -> [Log] {
        guard from <= to, from < canonical.count else { return [] }
        return canonical[Int(from)...Int(min(to, UInt64(canonical.count - 1)))].flatMap { logsByHash[$0.hash] ?? [] }
    }

    /// Sum of import Wh of every canonical meter reading (the ground truth).
    func totalImportWh() -> UInt64 {
        canonical.flatMap { logsByHash[$0.hash] ?? [] }.reduce(0) { sum, log in
            if case .meterReading(let m)? = try? LedgerSchemaV1.decode(log) { return sum + m.importWh }
            return sum
        }
    }
}

/// A scripted JSON-RPC node: a real Hummingbird WebSocket server on 127.0.0.1,
/// serving a `TestChain`, with faults on demand.
actor ScriptedNode {
    struct Conn {
        var outbound: WebSocketOutboundWriter
        var channel: any Channel
        var subscriptions: [String: Kind] = [:]
    }
    enum Kind { case newHeads, logs }

    let chain: TestChain
    let chainIdOverride: UInt64?
    private var conns: [Int: Conn] = [:]
    private var nextConn = 0
    private var nextSub = 0
    private var serverTask: Task<Void, Never>?
    private(set) var port = 0
    /// Refuse WebSocket upgrades (the node is down).
    private(set) var down = false
    /// newHeads notifications still to swallow.
    var skipHeads = 0
    /// Answers to hold back (no reply at all) for these methods; "*" for all.
    var silent: Set<String> = []
    /// Replies are sent as fragmented messages: continuation frames of this many bytes.
    private(set) var fragmentBytes: Int?
    private(set) var connectionsAccepted = 0
    private(set) var calls: [String: Int] = [:]
    /// Serve headers with a changed field but the original hash (a lying node).
    private(set) var tamperHeaders = false
    /// Namespaces (e.g. "qbft") answered with -32601, as when not enabled on the node.
    private(set) var disabledNamespaces: Set<String> = []
    /// Batches larger than this are refused as geth does: `[{id: first, error: -32600 "batch too large"}]`.
    private(set) var maxBatch: Int?
    /// Sizes of the batches received.
    private(set) var batchSizes: [Int] = []
    /// `eth_getLogs` over more blocks than this is refused (-32005), like Besu/Infura range limits.
    private(set) var maxLogRange: UInt64?
    private(set) var logRanges: [UInt64] = []
    /// Every eth_getLogs filter and `logs` subscription filter received, in order.
    private(set) var logFilters: [JSON] = []
    private(set) var subscriptionFilters: [JSON] = []
    /// Answer eth_getLogs as if no address were given (a node that ignores the filter).
    private(set) var ignoreAddressFilter = false
    func setIgnoreAddressFilter(_ v: Bool) { ignoreAddressFilter = v }

    init(chain: TestChain, chainIdOverride: UInt64? = nil) {
        self.chain = chain
        self.chainIdOverride = chainIdOverride
    }

    var url: String { "ws://127.0.0.1:\(port)/" }
    var openConnections: Int { conns.count }

    func start() async throws {
        await chain.attach(self)
        let (portStream, portSink) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "scripted-node")
        logger.logLevel = .critical
        let app = Application(
            router: Router(),
            server: .http1WebSocketUpgrade(configuration: .init(maxFrameSize: 1 << 24)) { [self] _, channel, _ in
                if await self.down { return .dontUpgrade }
                return .upgrade([:]) { inbound, outbound, _ in
                    let id = await self.register(outbound, channel)
                    do {
                        for try await message in inbound.messages(maxSize: 1 << 24) {
                            if case .text(let text) = message { await self.handle(id, text) }
                        }
                    } catch {}
                    await self.unregister(id)
                }
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        serverTask = Task { try? await app.run() }
        for await p in portStream {
            port = p
            break
        }
    }

    func stop() async {
        down = true
        dropConnections()
        serverTask?.cancel()
        _ = await serverTask?.value
    }

    // MARK: Faults

    /// Closes every TCP connection abruptly.
    func dropConnections() {
        for (_, c) in conns { c.channel.close(promise: nil) }
        conns = [:]
    }

    func setDown(_ d: Bool) {
        down = d
        if d { dropConnections() }
    }

    func skipNextHeads(_ n: Int) { skipHeads = n }

    /// Sends raw text (e.g. not JSON) on every connection.
    func sendRaw(_ text: String) async {
        for (_, c) in conns { try? await c.outbound.write(.text(text)) }
    }

    func setSilent(_ methods: Set<String>) { silent = methods }
    func setTamperHeaders(_ t: Bool) { tamperHeaders = t }
    func setDisabledNamespaces(_ n: Set<String>) { disabledNamespaces = n }
    func setMaxBatch(_ n: Int?) { maxBatch = n }
    func setMaxLogRange(_ n: UInt64?) { maxLogRange = n }
    func setFragmentBytes(_ n: Int?) { fragmentBytes = n }
    /// Rewrites the text of the next `count` answers to a single `eth_getLogs` call (truncate, reorder…).
    func setGetLogsMangler(count: Int, _ f: @escaping @Sendable (String) -> String) { getLogsMangler = (count, f) }
    private var getLogsMangler: (count: Int, rewrite: @Sendable (String) -> String)?

    /// A header as this node serves it (tampered if it lies).
    private func serve(_ h: BlockHeader?) -> JSON {
        guard var h else { return .null }
        if tamperHeaders { h.gasUsed += 21_000 }
        return h.json
    }

    // MARK: Serving

    private func register(_ outbound: WebSocketOutboundWriter, _ channel: any Channel) -> Int {
        nextConn += 1
        connectionsAccepted += 1
        conns[nextConn] = Conn(outbound: outbound, channel: channel)
        return nextConn
    }

    private func unregister(_ id: Int) { conns[id] = nil }

    func announce(_ header: BlockHeader, logs: [Log], removed: [Log]) async {
        guard !down else { return }
        let skip = skipHeads > 0
        if skip { skipHeads -= 1 }
        for (_, c) in conns {
            for (sub, kind) in c.subscriptions {
                switch kind {
                case .logs:
                    for l in removed + logs {
                        try? await c.outbound.write(.text(JSONRPC.subscriptionNotification(subscription: sub, result: l.json).serialized()))
                    }
                case .newHeads:
                    if skip { continue }
                    try? await c.outbound.write(.text(JSONRPC.subscriptionNotification(subscription: sub, result: serve(header)).serialized()))
                }
            }
        }
    }

    private func handle(_ id: Int, _ text: String) async {
        guard let json = try? JSON.parse(text) else { return }
        let reply: JSON?
        if case .array(let items) = json {
            batchSizes.append(items.count)
            if let maxBatch, items.count > maxBatch {
                let first = items.first?["id"] ?? .null
                let e = JSONRPC.error(id: first, RPCError(code: RPCError.invalidRequest, message: "batch too large"))
                if let c = conns[id] { try? await c.outbound.write(.text(JSON.array([e]).serialized())) }
                return
            }
            var out: [JSON] = []
            for item in items { if let r = await answer(id, item) { out.append(r) } }
            reply = out.isEmpty ? nil : .array(out)
        } else {
            reply = await answer(id, json)
            if let reply, json["method"]?.stringValue == "eth_getLogs", let m = getLogsMangler, m.count > 0 {
                getLogsMangler = m.count > 1 ? (m.count - 1, m.rewrite) : nil
                if let c = conns[id] { try? await c.outbound.write(.text(m.rewrite(reply.serialized()))) }
                return
            }
        }
        if let reply, let c = conns[id] { try? await write(c, reply.serialized()) }
    }

    /// One reply: a single text frame, or with `fragmentBytes` a message in many frames.
    private func write(_ c: Conn, _ text: String) async throws {
        guard let n = fragmentBytes else { return try await c.outbound.write(.text(text)) }
        let bytes = Array(text.utf8)
        try await c.outbound.withTextMessageWriter { w in
            var k = 0
            while k < bytes.count {
                try await w(ByteBuffer(bytes: bytes[k..<min(bytes.count, k + n)]))
                k += n
            }
        }
    }

    private func answer(_ connID: Int, _ json: JSON) async -> JSON? {
        guard case .request(let id, let method, let params)? = try? JSONRPC.message(json) else { return nil }
        calls[method, default: 0] += 1
        if silent.contains(method) || silent.contains("*") { return nil }
        if let ns = method.split(separator: "_").first, disabledNamespaces.contains(String(ns)) {
            return JSONRPC.error(id: id, RPCError(code: RPCError.methodNotFound, message: "the method \(method) does not exist/is not available"))
        }
        do {
            return JSONRPC.result(id: id, try await result(connID, method, params.arrayValue ?? []))
        } catch let e as RPCError {
            return JSONRPC.error(id: id, e)
        } catch {
            return JSONRPC.error(id: id, RPCError(code: RPCError.internalError, message: "\(error)"))
        }
    }

    private func blockNumber(_ p: JSON?) async throws -> UInt64 {
        switch p?.stringValue {
        case "latest"?, "safe"?, "finalized"?, "pending"?: return await chain.head.number
        case "earliest"?: return 0
        default:
            guard let n = p?.quantity else { throw RPCError(code: RPCError.invalidParams, message: "bad block number") }
            return n
        }
    }

    private func result(_ connID: Int, _ method: String, _ params: [JSON]) async throws -> JSON {
        switch method {
        case "eth_chainId": return .string(Hex.quantity(chainIdOverride ?? chain.chainId))
        case "web3_clientVersion": return "ScriptedNode/v1.0/linux"
        case "net_peerCount": return "0x3"
        case "eth_syncing": return false
        case "eth_blockNumber": return .string(Hex.quantity(await chain.head.number))
        case "eth_getBlockByNumber":
            return serve(await chain.block(number: try await blockNumber(params.first)))
        case "eth_getBlockByHash":
            guard let s = params.first?.stringValue, let h = try? Bytes32(hex: s) else {
                throw RPCError(code: RPCError.invalidParams, message: "bad hash")
            }
            return serve(await chain.block(hash: h))
        case "eth_getLogs":
            guard let f = params.first else { throw RPCError(code: RPCError.invalidParams, message: "missing filter") }
            logFilters.append(f)
            var logs: [Log]
            if let s = f["blockHash"]?.stringValue, let h = try? Bytes32(hex: s) {
                guard await chain.block(hash: h) != nil else { throw RPCError(code: -32000, message: "unknown block") }
                logs = await chain.logs(hash: h)
            } else {
                let from = try await blockNumber(f["fromBlock"] ?? "earliest")
                let to = try await blockNumber(f["toBlock"] ?? "latest")
                guard from <= to else { throw RPCError(code: RPCError.invalidParams, message: "invalid block range params") }
                logRanges.append(to - from + 1)
                if let maxLogRange, to - from + 1 > maxLogRange {
                    throw RPCError(code: -32005, message: "query exceeds max block range \(maxLogRange)")
                }
                logs = await chain.canonicalLogs(from: from, to: to)
            }
            if let topics = f["topics"]?[0]?.arrayValue {
                let allowed = Set(topics.compactMap { $0.stringValue.flatMap { try? Bytes32(hex: $0) } })
                logs = logs.filter { $0.topics.first.map(allowed.contains) ?? false }
            }
            if let addrs = f["address"]?.arrayValue, !ignoreAddressFilter {
                let allowed = Set(addrs.compactMap { $0.stringValue.flatMap { try? Address(hex: $0) } })
                logs = logs.filter { allowed.contains($0.address) }
            }
            return .array(logs.map(\.json))
        case "eth_subscribe":
            let kind: Kind
            switch params.first?.stringValue {
            case "newHeads"?: kind = .newHeads
            case "logs"?:
                kind = .logs
                subscriptionFilters.append(params.count > 1 ? params[1] : .null)
            default: throw RPCError(code: RPCError.invalidParams, message: "unsupported subscription")
            }
            nextSub += 1
            let sub = "0x" + String(nextSub, radix: 16) + "cafe"
            conns[connID]?.subscriptions[sub] = kind
            return .string(sub)
        case "qbft_getValidatorsByBlockNumber", "ibft_getValidatorsByBlockNumber":
            guard let vs = await chain.qbftValidators else { throw RPCError(code: RPCError.methodNotFound, message: "not a BFT chain") }
            return .array(vs.map { .string($0.hex) })
        case "qbft_getSignerMetrics", "ibft_getSignerMetrics":
            guard await chain.qbftValidators != nil else { throw RPCError(code: RPCError.methodNotFound, message: "not a BFT chain") }
            let from = try await blockNumber(params.first ?? "earliest")
            let to = try await blockNumber(params.count > 1 ? params[1] : "latest")
            var metrics: [Address: (Int, UInt64)] = [:]
            for n in from...max(from, to) {
                guard let b = await chain.block(number: n) else { break }
                let m = metrics[b.miner] ?? (0, 0)
                metrics[b.miner] = (m.0 + 1, max(m.1, n))
            }
            return .array(metrics.sorted { $0.key < $1.key }.map { a, m in
                ["address": .string(a.hex), "proposedBlockCount": .string(Hex.quantity(UInt64(m.0))),
                 "lastProposedBlockNumber": .string(Hex.quantity(m.1))]
            })
        case "eth_unsubscribe":
            guard let s = params.first?.stringValue else { return false }
            return .bool(conns[connID]?.subscriptions.removeValue(forKey: s) != nil)
        default:
            throw RPCError(code: RPCError.methodNotFound, message: "the method \(method) does not exist/is not available")
        }
    }
}
