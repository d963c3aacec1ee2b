import ChainCore
import GridCore
import Logging

/// Shared state of a running client: what every node says, and the one
/// canonical chain the client has emitted. Node workers report into it; a
/// single loop (`LedgerClient.run`) calls `step`, so syncs never overlap and
/// the output stream stays ordered.
actor LedgerHub {
    enum Wake: Sendable { case nodes, tick }

    struct Node {
        var status: NodeStatus
        var connection: RPCConnection?
        var head: BlockHeader?
        var latency = LatencyWindow()
        var secrets: [String]
    }

    let configuration: LedgerClientConfiguration
    let logger: Logger
    nonisolated let wakes: AsyncStream<Wake>
    private let wakeSink: AsyncStream<Wake>.Continuation
    private let emit: @Sendable (LedgerUpdate) async -> Void

    private var nodes: [Node]
    private nonisolated let secretsByNode: [[String]]
    private var chainId: UInt64?
    private var chainAnnounced = false
    private var window: ChainWindow
    private var followed: Int?
    private var verifyTip = false
    private var logRange: UInt64
    private let filterTopics: JSON
    private let filterAddress: JSON?

    init(configuration: LedgerClientConfiguration, logger: Logger, emit: @escaping @Sendable (LedgerUpdate) async -> Void) {
        self.configuration = configuration
        self.logger = logger
        self.emit = emit
        (wakes, wakeSink) = AsyncStream.makeStream(of: Wake.self, bufferingPolicy: .bufferingNewest(1024))
        let secrets = configuration.nodes.map(Redaction.secrets(of:))
        secretsByNode = secrets
        nodes = configuration.nodes.enumerated().map { i, e in
            Node(status: NodeStatus(name: Redaction.scrub(e.name, secrets: secrets[i]), endpoint: e.safeURL),
                 secrets: secrets[i])
        }
        chainId = configuration.expectedChainId
        window = ChainWindow(capacity: max(256, configuration.maxReorgDepth * 2))
        logRange = max(1, configuration.logRange)
        filterTopics = .array([.array(LedgerSchemaV1.allTopics.map { .string($0.hex) })])
        filterAddress = configuration.contracts.isEmpty ? nil : .array(configuration.contracts.map { .string($0.hex) })
    }

    nonisolated func scrub(_ index: Int, _ text: String) -> String {
        Redaction.scrub(text, secrets: secretsByNode[index])
    }

    nonisolated func tick() { wakeSink.yield(.tick) }
    nonisolated func finish() { wakeSink.finish() }
    private func wake() { wakeSink.yield(.nodes) }

    // MARK: Reports from node workers

    func nodeConnecting(_ i: Int) {
        if nodes[i].status.connection != .refused { nodes[i].status.connection = .connecting }
    }

    func admit(_ i: Int, chainId id: UInt64) throws {
        nodes[i].status.chainId = id
        if chainId == nil {
            chainId = id
            logger.info("learned chain id", metadata: ["chainId": "\(id)", "node": "\(nodes[i].status.name)"])
        }
        if let expected = chainId, expected != id {
            nodes[i].status.connection = .refused
            let e = LedgerClientError.wrongChain(expected: expected, got: id)
            nodes[i].status.lastError = e.description
            logger.error("node refused", metadata: ["node": "\(nodes[i].status.name)", "error": "\(e)"])
            throw e
        }
        wake()
    }

    func nodeLive(_ i: Int, connection: RPCConnection, clientVersion: String?, head: BlockHeader) {
        nodes[i].connection = connection
        nodes[i].status.connection = .connected
        nodes[i].status.clientVersion = clientVersion.map { scrub(i, $0) }
        setHead(i, head)
        wake()
    }

    func nodeHead(_ i: Int, _ header: BlockHeader) {
        guard nodes[i].connection != nil else { return }
        setHead(i, header)
        wake()
    }

    private func setHead(_ i: Int, _ h: BlockHeader) {
        nodes[i].head = h
        nodes[i].status.headNumber = h.number
        nodes[i].status.headHash = h.hash
    }

    func removedLog(_ i: Int, blockHash: Bytes32) {
        if window.contains(blockHash) {
            verifyTip = true
            wake()
        }
    }

    func nodeHealth(_ i: Int, peerCount: UInt64?, syncing: Bool?) {
        nodes[i].status.peerCount = peerCount
        nodes[i].status.syncing = syncing
    }

    func nodeProblem(_ i: Int, _ text: String) {
        let t = scrub(i, text)
        nodes[i].status.lastError = t
        logger.warning("node problem", metadata: ["node": "\(nodes[i].status.name)", "error": "\(t)"])
    }

    func nodeDisconnected(_ i: Int, error: (any Error)?) {
        nodes[i].connection = nil
        nodes[i].head = nil
        if nodes[i].status.connection != .refused { nodes[i].status.connection = .disconnected }
        if let error { nodes[i].status.lastError = scrub(i, "\(error)") }
        if followed == i { followed = nil }
        wake()
    }

    func recordLatency(_ i: Int, _ d: Duration) {
        nodes[i].latency.add(d)
    }

    // MARK: The loop

    func step(_ wake: Wake) async {
        if !chainAnnounced, let id = chainId {
            chainAnnounced = true
            await emit(.chain(id: id))
        }
        if case .tick = wake { await emit(.nodes(statuses())) }
        guard chainAnnounced else { return }
        await syncIfNeeded()
    }

    func statuses() -> [NodeStatus] {
        let usable = nodes.filter { $0.status.connection == .connected }
        let best = usable.compactMap { $0.head?.number }.max()
        return nodes.map { n in
            var s = n.status
            if let best, let h = n.head?.number, s.connection == .connected { s.lag = best > h ? best - h : 0 } else { s.lag = 0 }
            if let l = n.latency.summary {
                s.latencyMedianMs = l.median
                s.latencyP99Ms = l.p99
            }
            return s
        }
    }

    /// Follows the best head among connected nodes of the right chain; on failure tries the next one.
    private func syncIfNeeded() async {
        let candidates = nodes.indices.filter {
            nodes[$0].status.connection == .connected && nodes[$0].connection != nil && nodes[$0].head != nil
        }.sorted { a, b in
            let ha = nodes[a].head!.number, hb = nodes[b].head!.number
            if ha != hb { return ha > hb }
            if a == followed { return true }
            if b == followed { return false }
            return a < b
        }
        for i in candidates {
            guard let conn = nodes[i].connection, var head = nodes[i].head else { continue }
            if let tip = window.tip, !verifyTip {
                if window.contains(head.hash) { return }  // the best node has nothing new
                if head.number < tip.number, i != followed { continue }  // lagging, not ours to reorg on
            }
            do {
                if verifyTip {
                    head = try await header(conn, "eth_getBlockByNumber", ["latest", false])
                    verifyTip = false
                    if window.contains(head.hash) { return }
                }
                try await sync(to: head, via: conn)
                followed = i
                return
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                nodeProblem(i, "sync failed: \(error)")
            }
        }
    }

    // MARK: Sync

    private func sync(to head: BlockHeader, via conn: RPCConnection) async throws {
        guard let tip = window.tip else {
            // First start: backfill from `fromBlock`, then the head.
            try await backfill(from: configuration.fromBlock, to: head, via: conn)
            return
        }
        var segment: [BlockHeader] = [head]
        if head.number > tip.number + 1 {
            let gap = head.number - tip.number - 1
            if gap > configuration.denseGapLimit {
                logger.info("long gap; backfilling blocks with grid events only", metadata: ["gap": "\(gap)"])
                try await backfill(from: tip.number + 1, to: head, via: conn)
                return
            }
            let mids = try await headers(byNumber: Array((tip.number + 1)..<head.number), via: conn)
            segment = mids + [head]
            for k in 1..<segment.count where segment[k].parentHash != segment[k - 1].hash {
                throw LedgerClientError.inconsistent("block \(segment[k].number) does not link to its parent")
            }
        }
        // Walk back until the segment hangs on a block we emitted (a reorg if below our tip).
        var depth = 0
        while let first = segment.first, first.number > 0 {
            let p = first.number - 1
            if let known = window.hash(at: p) {
                if known == first.parentHash { break }
            } else if window.lowest.map({ p < $0 }) ?? true {
                break  // below everything we know: nothing to compare with
            }
            depth += 1
            if depth > configuration.maxReorgDepth {
                await emit(.warning("reorg deeper than \(configuration.maxReorgDepth) blocks; older blocks are not retracted"))
                break
            }
            let parent = try await header(conn, "eth_getBlockByHash", [.string(first.parentHash.hex), false])
            guard parent.number == p, parent.hash == first.parentHash else {
                throw LedgerClientError.inconsistent("parent of block \(first.number) has number \(parent.number)")
            }
            segment.insert(parent, at: 0)
        }
        let logs = try await logs(forBlocks: segment.map(\.hash), via: conn)
        let ancestor: UInt64? = segment[0].number > 0 ? segment[0].number - 1 : nil
        let orphaned = window.removeAbove(ancestor)
        if !orphaned.isEmpty {
            logger.warning("reorg", metadata: ["depth": "\(orphaned.count)", "newHead": "\(head.number)"])
        }
        for o in orphaned { await emit(.retract(number: o.number, hash: o.hash)) }
        for (h, l) in zip(segment, logs) { await emitBlock(h, logs: l) }
    }

    /// Emits every block in `from...head.number` that holds grid events, then `head`.
    private func backfill(from: UInt64, to head: BlockHeader, via conn: RPCConnection) async throws {
        var groups: [Bytes32: (number: UInt64, logs: [JSON])] = [:]
        if from <= head.number {
            var start = from
            while start <= head.number {
                let end = min(head.number, start + logRange - 1)
                var filter: [String: JSON] = [
                    "fromBlock": .string(Hex.quantity(start)), "toBlock": .string(Hex.quantity(end)), "topics": filterTopics,
                ]
                if let filterAddress { filter["address"] = filterAddress }
                let result: JSON
                do { result = try await conn.call("eth_getLogs", [.object(filter)]) } catch {
                    // Too many logs for one answer: ask for less next time.
                    if logRange > 1 { logRange = max(1, logRange / 2) }
                    throw error
                }
                guard let items = result.arrayValue else {
                    throw LedgerClientError.badResponse(method: "eth_getLogs", "expected an array")
                }
                for item in items {
                    guard let bh = item["blockHash"]?.stringValue.flatMap({ try? Bytes32(hex: $0) }),
                        let bn = item["blockNumber"]?.quantity
                    else {
                        logger.warning("log without a block reference ignored")
                        continue
                    }
                    guard bn >= start, bn <= end else { continue }
                    groups[bh, default: (bn, [])].logs.append(item)
                }
                start = end + 1
            }
        }
        // At the head's height only the head itself counts (the range answer may predate a reorg).
        groups = groups.filter { $0.value.number != head.number || $0.key == head.hash }
        let ordered = groups.sorted { $0.value.number < $1.value.number }
        var hdrs = try await headers(byHash: ordered.map(\.key), via: conn)
        var logsPerBlock = ordered.map(\.value.logs)
        if groups[head.hash] == nil {
            hdrs.append(head)
            logsPerBlock.append(contentsOf: try await logs(forBlocks: [head.hash], via: conn))
        }
        for (h, l) in zip(hdrs, logsPerBlock) {
            if let tip = window.tip, h.number <= tip.number { continue }
            await emitBlock(h, logs: l)
        }
    }

    private func emitBlock(_ header: BlockHeader, logs: [JSON]) async {
        var events: [LocatedEvent] = []
        var rejected = 0
        var seen = Set<UInt32>()
        for item in logs {
            let log: Log
            do { log = try Log(json: item) } catch {
                rejected += 1
                logger.warning("undecodable log rejected", metadata: ["block": "\(header.number)", "error": "\(error)"])
                continue
            }
            guard log.blockHash == header.hash, !log.removed else { continue }
            if !configuration.contracts.isEmpty, !configuration.contracts.contains(log.address) { continue }
            guard LedgerSchemaV1.isGridEvent(log), seen.insert(log.logIndex).inserted else { continue }
            do {
                events.append(LocatedEvent(event: try LedgerSchemaV1.decode(log), origin: EventOrigin(log: log)))
            } catch {
                rejected += 1
                logger.warning("grid event rejected", metadata: [
                    "block": "\(header.number)", "logIndex": "\(log.logIndex)", "error": "\(error)",
                ])
            }
        }
        events.sort { $0.origin.logIndex < $1.origin.logIndex }
        window.append(number: header.number, hash: header.hash)
        await emit(.block(ChainBlock(header: header, events: events, rejectedLogs: rejected)))
    }

    // MARK: Fetching

    private func header(_ conn: RPCConnection, _ method: String, _ params: [JSON]) async throws -> BlockHeader {
        let r = try await conn.call(method, params)
        if r.isNull { throw LedgerClientError.inconsistent("\(method) found no block") }
        do { return try BlockHeader(json: r) } catch { throw LedgerClientError.badResponse(method: method, error.description) }
    }

    private func headers(byNumber numbers: [UInt64], via conn: RPCConnection) async throws -> [BlockHeader] {
        try await batchHeaders(numbers.map { ("eth_getBlockByNumber", [.string(Hex.quantity($0)), false]) }, via: conn)
    }

    private func headers(byHash hashes: [Bytes32], via conn: RPCConnection) async throws -> [BlockHeader] {
        let out = try await batchHeaders(hashes.map { ("eth_getBlockByHash", [.string($0.hex), false]) }, via: conn)
        for (h, want) in zip(out, hashes) where h.hash != want {
            throw LedgerClientError.inconsistent("asked for block \(want.short), got \(h.hash.short)")
        }
        return out
    }

    private func batchHeaders(_ calls: [(method: String, params: [JSON])], via conn: RPCConnection) async throws -> [BlockHeader] {
        var out: [BlockHeader] = []
        out.reserveCapacity(calls.count)
        var k = 0
        while k < calls.count {
            let chunk = Array(calls[k..<min(calls.count, k + configuration.batchSize)])
            let results = try await conn.many(chunk)
            for (c, r) in zip(chunk, results) {
                let v: JSON
                do { v = try r.get() } catch { throw LedgerClientError.rpc(method: c.method, error) }
                if v.isNull { throw LedgerClientError.inconsistent("\(c.method) \(c.params[0].serialized()) found no block") }
                do { out.append(try BlockHeader(json: v)) } catch {
                    throw LedgerClientError.badResponse(method: c.method, error.description)
                }
            }
            k += chunk.count
        }
        return out
    }

    /// The grid-event logs of each block, by block hash (exact even across reorgs).
    private func logs(forBlocks hashes: [Bytes32], via conn: RPCConnection) async throws -> [[JSON]] {
        var out: [[JSON]] = []
        var k = 0
        while k < hashes.count {
            let chunk = Array(hashes[k..<min(hashes.count, k + configuration.batchSize)])
            let calls: [(method: String, params: [JSON])] = chunk.map { h in
                var f: [String: JSON] = ["blockHash": .string(h.hex), "topics": filterTopics]
                if let filterAddress { f["address"] = filterAddress }
                return ("eth_getLogs", [.object(f)])
            }
            let results = try await conn.many(calls)
            for r in results {
                let v: JSON
                do { v = try r.get() } catch { throw LedgerClientError.rpc(method: "eth_getLogs", error) }
                guard let a = v.arrayValue else { throw LedgerClientError.badResponse(method: "eth_getLogs", "expected an array") }
                out.append(a)
            }
            k += chunk.count
        }
        return out
    }
}
