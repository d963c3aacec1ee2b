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
        var connection: (any RPCTransport)?
        var head: BlockHeader?
        var latency = LatencyWindow()
        var secrets: [String]
        /// Verified hashes this node reported, by height (newest ~1024 heights): its votes in the quorum.
        var seen: [UInt64: Bytes32] = [:]
        /// A block whose grid logs are over the hard cap, as the last sync said: kept on the
        /// node's status (a reconnect's "closed" would hide it) until a sync gets past it.
        var unfetchable: String?
    }

    /// A node and its live connection, for one fetch.
    struct Source: Sendable {
        let index: Int
        let conn: any RPCTransport
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
    private var goodRanges = 0
    /// Blocks per batch of `eth_getLogs` by block hash: `batchSize`, halved whenever such a batch
    /// fails (a failed batch is typically an answer over the frame limit, which drops the
    /// connection: the next attempt after the reconnect asks for less), grown back after
    /// successes. Dense blocks (a bulk-loaded day of readings is ~1 MB a block) need small batches.
    private var logsBatch: Int?
    private var goodLogBatches = 0
    /// How this chain's block hashes are computed (learned from the first verified header).
    private(set) var scheme: HeaderHashScheme?
    /// The followed node was found lying or divergent: the next sync may go below the tip.
    private var reconcile = false
    private let started = ContinuousClock.now
    private var warnings: [String] = []
    /// When `.nodes` was last emitted: a long sync (a dense backfill) emits them between blocks,
    /// since the step loop that emits them on a tick waits for the sync.
    private var statusesEmitted = ContinuousClock.now
    /// True from a reorg's first `.retract` until its new branch is emitted.
    private var reorgEmitting = false
    /// Hash per height agreed by the quorum (recomputed each step).
    private var canonical: [UInt64: Bytes32] = [:]
    private var checking: Set<Int> = []
    /// Chain id reported by each node while the chain id is being learned.
    private var chainVotes: [Int: UInt64] = [:]
    private let quorum: Int
    private var batchSize: Int { max(1, min(configuration.batchSize, RPCBatching.maxBatch)) }
    private let filterTopics: JSON
    private let filterAddress: JSON?
    /// Heights fully examined (see `BlockCoverage`).
    private let coverage: CoverageRecord?

    init(configuration: LedgerClientConfiguration, logger: Logger, coverage: CoverageRecord? = nil,
         emit: @escaping @Sendable (LedgerUpdate) async -> Void) {
        self.coverage = coverage
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
        quorum = max(1, configuration.quorum ?? (configuration.nodes.count / 2 + 1))
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

    /// With no configured chain id, it is learned by the same quorum as heads: once `quorum`
    /// nodes report the same id (or, after the startup grace or once every node answered, the
    /// one id most of them report). Until then nodes connect but nothing is synced, so one node
    /// on another chain cannot decide the chain for the others.
    func admit(_ i: Int, chainId id: UInt64) throws {
        nodes[i].status.chainId = id
        if chainId == nil {
            chainVotes[i] = id
            decideChainId()
            if chainId == nil {
                wake()
                if nodes[i].status.connection == .refused, let why = nodes[i].status.lastError { throw LedgerClientError.chainDisputed(why) }
                return
            }
        }
        if let expected = chainId, expected != id {
            let e = refuse(i, expected: expected, got: id)
            warnings.append("node \(nodes[i].status.name) refused: it reports chain id \(id), the chain followed is \(expected)")
            throw e
        }
        wake()
    }

    @discardableResult
    private func refuse(_ i: Int, expected: UInt64, got id: UInt64) -> LedgerClientError {
        refuse(i, .wrongChain(expected: expected, got: id))
    }

    @discardableResult
    private func refuse(_ i: Int, _ e: LedgerClientError) -> LedgerClientError {
        nodes[i].status.connection = .refused
        nodes[i].status.lastError = e.description
        logger.error("node refused", metadata: ["node": "\(nodes[i].status.name)", "error": "\(e)"])
        if let c = nodes[i].connection { Task { await c.close(e) } }
        nodes[i].connection = nil
        nodes[i].head = nil
        if followed == i { followed = nil }
        return e
    }

    private func decideChainId() {
        guard chainId == nil else { return }
        var tally: [UInt64: Int] = [:]
        for (_, id) in chainVotes { tally[id, default: 0] += 1 }
        guard let best = tally.max(by: { $0.value < $1.value }) else { return }
        let unique = tally.values.filter { $0 == best.value }.count == 1
        let everyone = chainVotes.count == nodes.count
        let graceOver = ContinuousClock.now - started >= configuration.startupGrace
        guard best.value >= quorum || (unique && (everyone || graceOver)) else {
            // Nodes on different chains and none of the chain ids has a majority: nothing they say can
            // be believed over the others, so every one of them is refused until --chain-id picks one.
            if !unique, everyone || graceOver {
                let split = tally.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                    .map { "\($0.value) on \($0.key)" }.joined(separator: ", ")
                let why = "the nodes disagree on the chain id (\(split)) and none has a majority: every node is refused; give --chain-id to pick the chain"
                warnings.append(why)
                for (j, _) in chainVotes.sorted(by: { $0.key < $1.key }) { refuse(j, .chainDisputed(why)) }
                chainVotes = [:]
            }
            return
        }
        chainId = best.key
        logger.info("learned chain id", metadata: ["chainId": "\(best.key)", "nodes": "\(best.value)"])
        for (j, id) in chainVotes.sorted(by: { $0.key < $1.key }) where id != best.key {
            refuse(j, expected: best.key, got: id)
            warnings.append("node \(nodes[j].status.name) refused: it reports chain id \(id), the majority (\(best.value) of \(chainVotes.count)) is on \(best.key)")
        }
        chainVotes = [:]
    }

    func nodeLive(_ i: Int, connection: any RPCTransport, clientVersion: String?, head: BlockHeader) {
        if chainId == nil, nodes[i].status.connection == .refused {
            // Refused while it was connecting (the nodes disagree on the chain id).
            Task { await connection.close(.chainDisputed(nodes[i].status.lastError ?? "chain id disputed")) }
            return
        }
        if let expected = chainId, let id = nodes[i].status.chainId, id != expected {
            // Refused while it was connecting (the chain id was decided meanwhile).
            let e = refuse(i, expected: expected, got: id)
            Task { await connection.close(e) }
            return
        }
        nodes[i].connection = connection
        nodes[i].status.connection = .connected
        nodes[i].status.clientVersion = clientVersion.map { scrub(i, $0) }
        if let h = try? accept(i, head) { setHead(i, h) }
        wake()
    }

    func nodeHead(_ i: Int, _ header: BlockHeader) {
        guard nodes[i].connection != nil else { return }
        guard let h = try? accept(i, header) else { return }
        setHead(i, h)
        wake()
    }

    // MARK: Verification and quorum

    /// Every header from a node passes here: its hash must match its fields under a known
    /// scheme (standard/AuRa, QBFT, IBFT 2.0). One that does not marks the node untrusted
    /// for the rest of the run, and its data is never used.
    func accept(_ i: Int, _ h: BlockHeader) throws -> BlockHeader {
        guard nodes[i].status.trust != .untrusted else { throw LedgerClientError.untrusted(nodes[i].status.name) }
        guard let s = HeaderHashing.verify(h, preferred: scheme) else {
            markUntrusted(i, "served block \(h.number) whose hash \(h.hash.short) does not match its header")
            throw LedgerClientError.untrusted(nodes[i].status.name)
        }
        if h.number > 0, scheme != s {  // genesis is hashed the standard way on every engine
            scheme = s
            logger.info("block hash scheme", metadata: ["scheme": "\(s.rawValue)"])
        }
        record(i, h)
        return h
    }

    private func record(_ i: Int, _ h: BlockHeader) {
        nodes[i].seen[h.number] = h.hash
        if nodes[i].seen.count > 2048, let top = nodes[i].seen.keys.max() {
            nodes[i].seen = nodes[i].seen.filter { $0.key + 1024 > top }
        }
    }

    func markUntrusted(_ i: Int, _ why: String) {
        guard nodes[i].status.trust != .untrusted else { return }
        nodes[i].status.trust = .untrusted
        nodes[i].status.lastError = scrub(i, "untrusted: \(why)")
        nodes[i].seen = [:]
        logger.error("node untrusted; excluded", metadata: ["node": "\(nodes[i].status.name)", "why": "\(why)"])
        warnings.append("node \(nodes[i].status.name) is untrusted and excluded: \(why)")
        if followed == i {
            followed = nil
            reconcile = true
        }
        wake()
    }

    /// Majority (or `configuration.quorum`) of configured nodes decides the hash at a height;
    /// each node is judged at the newest height where it can be compared with the quorum.
    func evaluateTrust() {
        var tally: [UInt64: [Bytes32: Int]] = [:]
        for n in nodes where n.status.trust != .untrusted {
            for (h, hash) in n.seen { tally[h, default: [:]][hash, default: 0] += 1 }
        }
        canonical = [:]
        for (h, votes) in tally {
            if let best = votes.max(by: { $0.value < $1.value }), best.value >= quorum { canonical[h] = best.key }
        }
        for i in nodes.indices where nodes[i].status.trust != .untrusted {
            let before = nodes[i].status.trust
            var newest: UInt64?
            for h in nodes[i].seen.keys where canonical[h] != nil && (newest.map { h > $0 } ?? true) { newest = h }
            guard let h = newest else { continue }  // nothing comparable yet: keep the last verdict
            let agrees = nodes[i].seen[h] == canonical[h]
            nodes[i].status.trust = agrees ? .verified : .divergent
            if !agrees, before != .divergent {
                let why = "reports \(nodes[i].seen[h]!.short) at height \(h) where the quorum agrees on \(canonical[h]!.short)"
                nodes[i].status.lastError = "divergent: \(why)"
                logger.error("node divergent; excluded", metadata: ["node": "\(nodes[i].status.name)", "why": "\(why)"])
                warnings.append("node \(nodes[i].status.name) is divergent and excluded: \(why)")
                if followed == i {
                    followed = nil
                    reconcile = true
                }
            }
        }
    }

    struct ProbeTarget: Sendable {
        let index: Int
        let conn: any RPCTransport
        let name: String
        let head: UInt64
    }

    /// The node the consensus probe asks: the followed one, else the best eligible connected node.
    func probeTarget() -> ProbeTarget? {
        let order = (followed.map { [$0] } ?? []) + nodes.indices.sorted { (nodes[$0].head?.number ?? 0) > (nodes[$1].head?.number ?? 0) }
        for i in order where eligible(i) && nodes[i].status.connection == .connected {
            guard let conn = nodes[i].connection, let h = nodes[i].head else { continue }
            return ProbeTarget(index: i, conn: conn, name: nodes[i].status.name, head: h.number)
        }
        return nil
    }

    /// Asks each node that has not yet been compared at the newest height the quorum agrees on
    /// (at or below its head) for its block there, so that a node on another fork is found out
    /// even when it never reports a height the others report (it may be ahead or behind).
    private func crossCheck() {
        guard !canonical.isEmpty else { return }
        for i in nodes.indices where eligible(i) && !checking.contains(i) {
            guard nodes[i].status.connection == .connected, let conn = nodes[i].connection, let head = nodes[i].head else { continue }
            guard let h = canonical.keys.filter({ $0 <= head.number }).max(), nodes[i].seen[h] == nil else { continue }
            checking.insert(i)
            Task {
                let r = try? await conn.call("eth_getBlockByNumber", [.string(Hex.quantity(h)), false])
                await self.crossChecked(i, r)
            }
        }
    }

    private func crossChecked(_ i: Int, _ r: JSON?) {
        checking.remove(i)
        guard let r, !r.isNull, nodes[i].connection != nil else { return }
        guard let h = try? BlockHeader(json: r) else {
            nodeProblem(i, "cross-check: undecodable block")
            return
        }
        _ = try? accept(i, h)
        wake()
    }

    private func eligible(_ i: Int) -> Bool {
        nodes[i].status.trust != .untrusted && nodes[i].status.trust != .divergent
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

    func nodeHealth(_ i: Int, peerCount: UInt64?, syncing: Bool?, finalized: UInt64? = nil) {
        nodes[i].status.peerCount = peerCount
        nodes[i].status.syncing = syncing
        nodes[i].status.finalizedNumber = finalized
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
        if let error { nodes[i].status.lastError = scrub(i, PlainWords.describe(error)) }
        if followed == i { followed = nil }
        wake()
    }

    func recordLatency(_ i: Int, _ d: Duration) {
        nodes[i].latency.add(d)
    }

    // MARK: The loop

    func step(_ wake: Wake) async {
        decideChainId()
        if !chainAnnounced, let id = chainId {
            chainAnnounced = true
            await emit(.chain(id: id))
        }
        evaluateTrust()
        if case .tick = wake {
            crossCheck()
            await emitStatuses()
        }
        while !warnings.isEmpty { await emit(.warning(warnings.removeFirst())) }
        guard chainAnnounced else { return }
        await syncIfNeeded()
    }

    func statuses() -> [NodeStatus] {
        let usable = nodes.indices.filter { nodes[$0].status.connection == .connected && eligible($0) }.map { nodes[$0] }
        let best = usable.compactMap { $0.head?.number }.max()
        return nodes.map { n in
            var s = n.status
            if let u = n.unfetchable { s.lastError = u }
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
        var candidates = nodes.indices.filter {
            nodes[$0].status.connection == .connected && nodes[$0].connection != nil && nodes[$0].head != nil && eligible($0)
        }
        if window.isEmpty, ContinuousClock.now - started < configuration.startupGrace,
            nodes.contains(where: { $0.status.connection == .connecting })
        {
            return  // first sync: give every node a moment to report, so the quorum can speak first
        }
        // Nodes the quorum has verified are followed in preference to ones not yet compared.
        if candidates.contains(where: { nodes[$0].status.trust == .verified }) {
            candidates = candidates.filter { nodes[$0].status.trust == .verified }
        }
        candidates.sort { a, b in
            let ha = nodes[a].head!.number, hb = nodes[b].head!.number
            if ha != hb { return ha > hb }
            if a == followed { return true }
            if b == followed { return false }
            return a < b
        }
        for i in candidates {
            guard let conn = nodes[i].connection, var head = nodes[i].head else { continue }
            let src = Source(index: i, conn: conn)
            if let tip = window.tip, !verifyTip {
                if window.contains(head.hash) {
                    if reconcile, head.number < tip.number {
                        // Blocks above this verified head came from a node now excluded: retract them.
                        for o in window.removeAbove(head.number) { await emit(.retract(number: o.number, hash: o.hash)) }
                        followed = i
                    }
                    reconcile = false
                    return  // the best node has nothing new
                }
                if head.number < tip.number, i != followed, !reconcile { continue }  // lagging, not ours to reorg on
            }
            do {
                if verifyTip {
                    head = try await header(src, "eth_getBlockByNumber", ["latest", false])
                    verifyTip = false
                    if window.contains(head.hash) { return }
                }
                try await sync(to: head, via: src)
                nodes[i].unfetchable = nil
                followed = i
                reconcile = false
                return
            } catch is CancellationError {
                return
            } catch LedgerClientError.untrusted {
                continue  // already reported; nothing it served was emitted
            } catch {
                if Task.isCancelled { return }
                if case LedgerClientError.malformedFrame(let m) = error, m.contains("hard cap") {
                    nodes[i].unfetchable = scrub(i, "sync failed: \(error)")
                }
                nodeProblem(i, "sync failed: \(error)")
            }
        }
    }

    // MARK: Sync

    private func sync(to head: BlockHeader, via src: Source) async throws {
        guard let tip = window.tip else {
            // First start: backfill from `fromBlock`, then the head.
            try await backfill(from: configuration.fromBlock, to: head, via: src)
            return
        }
        var segment: [BlockHeader] = [head]
        if head.number > tip.number + 1 {
            let gap = head.number - tip.number - 1
            if gap > configuration.denseGapLimit {
                logger.info("long gap; backfilling blocks with grid events only", metadata: ["gap": "\(gap)"])
                try await backfill(from: tip.number + 1, to: head, via: src)
                return
            }
            let mids = try await headers(byNumber: Array((tip.number + 1)..<head.number), via: src)
            segment = mids + [head]
            for k in 1..<segment.count where segment[k].parentHash != segment[k - 1].hash {
                throw LedgerClientError.inconsistent("block \(segment[k].number) does not link to its parent")
            }
        }
        // Walk back until the segment hangs on a block we emitted (a reorg if below our tip).
        var depth = 0
        var beyondLimit = false
        while let first = segment.first, first.number > 0 {
            let p = first.number - 1
            if let known = window.hash(at: p) {
                if known == first.parentHash { break }
            } else if window.lowest.map({ p < $0 }) ?? true {
                break  // below everything we know: nothing to compare with
            }
            depth += 1
            if depth > configuration.maxReorgDepth {
                beyondLimit = true  // reported below, once the new blocks are fetched
                break
            }
            let parent = try await header(src, "eth_getBlockByHash", [.string(first.parentHash.hex), false])
            guard parent.number == p, parent.hash == first.parentHash else {
                throw LedgerClientError.inconsistent("parent of block \(first.number) has number \(parent.number)")
            }
            segment.insert(parent, at: 0)
        }
        let logs = try await logs(forBlocks: segment.map(\.hash), via: src)
        let ancestor: UInt64? = segment[0].number > 0 ? segment[0].number - 1 : nil
        let orphaned = window.removeAbove(ancestor)
        if !orphaned.isEmpty {
            logger.warning("reorg", metadata: ["depth": "\(orphaned.count)", "newHead": "\(head.number)"])
            reorgEmitting = true
        }
        defer { reorgEmitting = false }
        for o in orphaned { await emit(.retract(number: o.number, hash: o.hash)) }
        let limit = configuration.maxReorgDepth
        if beyondLimit {
            // The fork point is below the limit: blocks under the segment stay as they were shown.
            logger.error("reorg deeper than the limit; older blocks are not retracted",
                         metadata: ["limit": "\(limit)", "retracted": "\(orphaned.count)", "newHead": "\(head.number)"])
            // At least the retracted blocks and the one shown at the fork side (its hash did not match).
            let provenOrphans = orphaned.count + (ancestor.flatMap { window.hash(at: $0) } != nil ? 1 : 0)
            await emit(.reorg(ReorgReport(newHead: head.number, newHeadHash: head.hash, depth: provenOrphans,
                                          limit: limit, beyondLimit: true)))
        } else if !orphaned.isEmpty {
            await emit(.reorg(ReorgReport(newHead: head.number, newHeadHash: head.hash, depth: orphaned.count,
                                          limit: limit, beyondLimit: false)))
        }
        for (h, l) in zip(segment, logs) { await emitBlock(h, logs: l, atHead: h.hash == head.hash) }
    }

    /// `eth_getLogs` calls a backfill keeps in flight: while the client decodes one answer the
    /// node prepares the next, so the two sides overlap (the answers are still taken in order).
    static let backfillDepth = 2
    /// Blocks in the first backfill ranges, before the density of grid logs is known.
    static let firstBackfillSpan: UInt64 = 16
    /// Logs per answer aimed at once the density is known: a few megabytes, small enough
    /// for the pipeline to overlap and for buffers to be reused, large enough that the
    /// per-call cost is small.
    static let backfillAnswerLogs = 4096

    /// The hash of the canonical block at `number` as the node says now (nil: none).
    private static func canonicalHash(_ conn: any RPCTransport, _ number: UInt64) async throws -> Bytes32? {
        let r = try await conn.call("eth_getBlockByNumber", [.string(Hex.quantity(number)), false])
        if r.isNull { return nil }
        do { return try BlockHeader(json: r).hash } catch {
            throw LedgerClientError.badResponse(method: "eth_getBlockByNumber", error.description)
        }
    }

    /// Times a backfill reads a range again because a reorg changed it while it read.
    static let backfillRereads = 8

    /// Emits every block in `from...head.number` that holds grid events, then `head`.
    ///
    /// Blocks are emitted as their range's answer arrives (in height order), and each answered
    /// range is recorded in `coverage`: a sync that fails half-way keeps what it did, and the
    /// next one resumes above the tip instead of starting again. An answer over the frame limit
    /// (a dense block: a bulk-loaded interval of readings is tens of megabytes) is asked again on
    /// a wide connection to the same node whose limit is `maxFrameSizeHardCap`; ranges shrink to
    /// one block before a single block's logs are declared too large to fetch.
    ///
    /// A reorg while it reads is caught: each range's answer is bracketed by the hash of the
    /// range's last block, asked before and after (a change of any block at or below it changes
    /// that hash); a range whose hash moved is read again before anything of it is emitted. Once
    /// every range is read, all those hashes are asked again: a range that changed after it was
    /// emitted is retracted, with everything above it, and read again, so what stands emitted is
    /// the final chain (the audit of issue #17 item 5).
    private func backfill(from: UInt64, to head: BlockHeader, via src: Source) async throws {
        var wide: (conn: any RPCTransport, runner: Task<Void, Never>)?
        defer {
            if let w = wide {
                Task { await w.conn.close(.disconnected("dense backfill done")) }
                w.runner.cancel()
            }
        }
        var via = src
        var rereads = 0
        var restartAt: UInt64? = from
        // Each emitted range's last block and its hash when read (checked again at the end).
        var rangeEnds: [(start: UInt64, end: UInt64, hash: Bytes32?)] = []
        var orphanedWhileReading = 0
        defer { reorgEmitting = false }
        while let startAt = restartAt, startAt < head.number {
            restartAt = nil
            rangeEnds.removeAll { $0.start >= startAt }
            // Ranges are asked for in order, up to `backfillDepth` at a time, and their answers
            // taken in the same order: a refused range drops the ones after it and is asked
            // again, smaller, so every block is covered exactly once.
            var next = startAt
            // Blocks asked for next: the range limit learned from the node (`logRange`), and
            // after the first answer also what keeps an answer near `answerTarget` logs at the
            // density seen so far (far below the frame limit; dense history comes in pieces).
            var span = min(logRange, Self.firstBackfillSpan)
            let answerTarget = min(Self.backfillAnswerLogs, max(64, configuration.maxFrameSize / 4 / 1024))
            var inFlight: [(start: UInt64, end: UInt64, answer: Task<(logs: [GridLog], endHash: Bytes32?, steady: Bool), any Error>)] = []
            defer { for f in inFlight { f.answer.cancel() } }
            var wideOpens = 0
            // The head's own height is fetched by hash at the end (a range answer may predate a reorg).
            let last = head.number - 1
            while next <= last || !inFlight.isEmpty {
                while inFlight.count < Self.backfillDepth, next <= last {
                    let end = min(last, next + min(span, logRange) - 1)
                    var filter: [String: JSON] = [
                        "fromBlock": .string(Hex.quantity(next)), "toBlock": .string(Hex.quantity(end)), "topics": filterTopics,
                    ]
                    if let filterAddress { filter["address"] = filterAddress }
                    let f = JSON.object(filter)
                    let conn = via.conn
                    inFlight.append((next, end, Task {
                        let before = try await Self.canonicalHash(conn, end)
                        let logs = try await conn.getLogs(f)
                        let after = try await Self.canonicalHash(conn, end)
                        return (logs, before, before == after)
                    }))
                    next = end + 1
                }
                let (start, end, answer) = inFlight.removeFirst()
                let items: [GridLog]
                let endHash: Bytes32?
                do {
                    let got = try await withTaskCancellationHandler { try await answer.value } onCancel: { answer.cancel() }
                    if !got.steady {
                        // The chain changed under this answer: read it again (and what follows).
                        rereads += 1
                        guard rereads <= Self.backfillRereads else {
                            throw LedgerClientError.inconsistent("the chain kept reorganising while blocks \(start)–\(end) were read")
                        }
                        logger.warning("reorg while reading; reading the range again", metadata: ["from": "\(start)", "to": "\(end)"])
                        for f in inFlight { f.answer.cancel() }
                        inFlight = []
                        next = start
                        continue
                    }
                    items = got.logs
                    endHash = got.endHash
                } catch LedgerClientError.rpc(_, let e) where logRange > 1 && e.code != RPCError.methodNotFound {
                    // Range or result limit (geth -32005, Besu range limit, -32003 …): ask for less, same start.
                    logRange = max(1, min(logRange, end - start + 1) / 2)
                    goodRanges = 0
                    logger.info("eth_getLogs refused; narrowing the range", metadata: ["range": "\(logRange)", "error": "\(e)"])
                    for f in inFlight { f.answer.cancel() }
                    inFlight = []
                    next = start
                    continue
                } catch {
                    let reason = await via.conn.closeReason
                    guard !(error is CancellationError), !Task.isCancelled,
                          PlainWords.explain(reason ?? error).kind == .oversizedFrame else {
                        // A timeout may be an answer too big to send in time: ask for less next time.
                        if logRange > 1 { logRange = max(1, logRange / 2) }
                        goodRanges = 0
                        throw error
                    }
                    // Over the frame limit: the connection is gone. Ask again, on a wide connection,
                    // for fewer blocks; a single block over the hard cap cannot be fetched at all.
                    for f in inFlight { f.answer.cancel() }
                    inFlight = []
                    let asked = end - start + 1
                    if wide != nil, asked == 1 {
                        throw LedgerClientError.malformedFrame(
                            "the grid logs of block \(start) are larger than the hard cap of \(configuration.maxFrameSizeHardCap) bytes per answer; they cannot be fetched")
                    }
                    span = max(1, asked / 4)
                    wideOpens += 1
                    guard wideOpens <= 64 else { throw error }
                    if let w = wide { w.runner.cancel() }
                    logger.info("eth_getLogs answer over the frame limit; asking again on a wide connection",
                                metadata: ["from": "\(start)", "blocks": "\(span)", "limit": "\(configuration.maxFrameSizeHardCap)"])
                    let w = try await openWide(src.index)
                    wide = w
                    via = Source(index: src.index, conn: w.conn)
                    next = start
                    continue
                }
                var groups: [Bytes32: (number: UInt64, logs: [GridLog])] = [:]
                try refuseUndecodable(items, from: src, what: "eth_getLogs for blocks \(start)–\(end)")
                for item in items {
                    guard let block = item.block else { continue }
                    guard block.number >= start, block.number <= end else { continue }
                    groups[block.hash, default: (block.number, [])].logs.append(item)
                }
                let ordered = groups.sorted { $0.value.number < $1.value.number }
                let hdrs = try await headers(byHash: ordered.map(\.key), via: via)
                // Coverage grows in step with what was emitted: the blocks between two emitted ones
                // held no grid log, so they are covered once the next one is out (an audit that
                // stops at a block inside this answer sees everything below it covered).
                var covered = start
                for (h, g) in zip(hdrs, ordered) {
                    if h.number > covered { coverage?.insert(covered...(h.number - 1)) }
                    covered = max(covered, h.number + 1)
                    if let tip = window.tip, h.number <= tip.number { continue }
                    await emitBlock(h, logs: g.value.logs)
                }
                if covered <= end { coverage?.insert(covered...end) }
                rangeEnds.append((start, end, endHash))
                let asked = end - start + 1
                let perBlock = Double(items.count) / Double(asked)
                let sized = perBlock > 0 ? UInt64(max(1, min(Double(UInt32.max), Double(answerTarget) / perBlock))) : UInt64(UInt32.max)
                span = max(1, min(sized, asked.multipliedReportingOverflow(by: 4).overflow ? UInt64.max : asked * 4))
                // After a run of good answers, grow back towards the configured range.
                goodRanges += 1
                if goodRanges >= 4, logRange < configuration.logRange {
                    logRange = min(max(1, configuration.logRange), logRange * 2)
                    goodRanges = 0
                }
            }
            // Every range's last block again: one whose hash changed since it was read means a
            // reorg reached back into blocks already emitted. They are retracted, from the
            // earliest such range up, and read again.
            let ends = rangeEnds.sorted { $0.start < $1.start }
            var k = 0
            while k < ends.count, restartAt == nil {
                let chunk = Array(ends[k..<min(ends.count, k + batchSize)])
                let answers = try await via.conn.many(chunk.map { ("eth_getBlockByNumber", [.string(Hex.quantity($0.end)), .bool(false)]) })
                for (r, a) in zip(chunk, answers) {
                    let now = (try? a.get()).flatMap { $0.isNull ? nil : try? BlockHeader(json: $0).hash }
                    guard now != r.hash else { continue }
                    rereads += 1
                    guard rereads <= Self.backfillRereads else {
                        throw LedgerClientError.inconsistent("the chain kept reorganising while blocks \(r.start)–\(head.number) were read")
                    }
                    logger.warning("reorg reached blocks already read; reading them again", metadata: ["from": "\(r.start)", "to": "\(head.number)"])
                    let orphaned = window.removeAbove(r.start > 0 ? r.start - 1 : nil)
                    if !orphaned.isEmpty { reorgEmitting = true }
                    for o in orphaned { await emit(.retract(number: o.number, hash: o.hash)) }
                    orphanedWhileReading += orphaned.count
                    restartAt = r.start
                    break
                }
                k += chunk.count
            }
        }
        // The blocks read must hang on the head: if the head's parent changed meanwhile, the
        // chain moved under the backfill and the next sync follows the new head.
        if let lastRead = rangeEnds.max(by: { $0.end < $1.end }), lastRead.end + 1 == head.number,
           let h = lastRead.hash, h != head.parentHash {
            throw LedgerClientError.inconsistent("the head moved while the backfill read; following the new one")
        }
        if orphanedWhileReading > 0 {
            // Reported once the new branch is read, before its head (the monitor takes the branch in there).
            await emit(.reorg(ReorgReport(newHead: head.number, newHeadHash: head.hash, depth: orphanedWhileReading,
                                          limit: configuration.maxReorgDepth, beyondLimit: false)))
        }
        if window.tip.map({ head.number > $0.number }) ?? true {
            let logs = try await logs(forBlocks: [head.hash], via: via)
            await emitBlock(head, logs: logs[0], atHead: true)
        }
    }

    /// A second connection to node `i` whose frame limit is the hard cap, for answers too large
    /// for the normal one (dense blocks). Closed by the caller.
    private func openWide(_ i: Int) async throws -> (conn: any RPCTransport, runner: Task<Void, Never>) {
        var cfg = configuration
        cfg.maxFrameSize = configuration.maxFrameSizeHardCap
        let conn = try makeTransport(for: configuration.nodes[i], configuration: cfg, logger: logger, onLatency: { _ in })
        let runner = Task { await conn.run() }
        do {
            try await withDeadline(configuration.connectTimeout, what: "connect") { try await conn.waitOpen() }
        } catch {
            runner.cancel()
            throw error
        }
        return (conn, runner)
    }

    private func emitBlock(_ header: BlockHeader, logs: [GridLog], atHead: Bool = false) async {
        var events: [LocatedEvent] = []
        events.reserveCapacity(logs.count)
        var rejected = 0
        var ignored = 0
        var seen = Set<UInt32>()
        seen.reserveCapacity(logs.count)
        for item in logs {
            let log: GridLog.Content
            switch item.content {
            case .success(let c): log = c
            case .failure(let error):
                rejected += 1
                logger.warning("undecodable log rejected", metadata: ["block": "\(header.number)", "error": "\(error)"])
                continue
            }
            guard log.origin.blockHash == header.hash, !log.removed else { continue }
            // The trust boundary, checked again on decode: the node was asked for the metering
            // contracts' logs only, but what it sends is untrusted. Another contract's log changes nothing.
            if !configuration.contracts.isEmpty, !configuration.contracts.contains(log.address) {
                ignored += 1
                continue
            }
            switch log.grid {
            case .none: continue
            case .event(let e):
                guard seen.insert(log.origin.logIndex).inserted else { continue }
                events.append(LocatedEvent(event: e, origin: log.origin))
            case .invalid(let why):
                guard seen.insert(log.origin.logIndex).inserted else { continue }
                rejected += 1
                logger.warning("grid event rejected", metadata: [
                    "block": "\(header.number)", "logIndex": "\(log.origin.logIndex)", "error": "\(why)",
                ])
            }
        }
        events.sort { $0.origin.logIndex < $1.origin.logIndex }
        window.append(number: header.number, hash: header.hash)
        coverage?.insert(header.number...header.number)
        if ignored > 0 {
            logger.warning("logs from other contracts ignored", metadata: ["block": "\(header.number)", "logs": "\(ignored)"])
        }
        await emit(.block(ChainBlock(header: header, events: events, rejectedLogs: rejected, ignoredLogs: ignored, atHead: atHead)))
    }

    private func emitStatuses() async {
        statusesEmitted = .now
        await emit(.nodes(statuses()))
    }

    /// Called by the status clock: while a long sync (a dense backfill) holds the step loop,
    /// which emits `.nodes` on a tick, the node statuses go out from here, so a node that
    /// reconnected during the sync is not shown as connecting until it ends.
    /// Not between a reorg's retractions, its report and its new branch (`reorgEmitting`), which
    /// a consumer reads as one run.
    func emitStatusesIfStale() async {
        guard !reorgEmitting, ContinuousClock.now - statusesEmitted >= configuration.statusEvery * 2 else { return }
        await emitStatuses()
    }

    // MARK: Fetching

    private func header(_ src: Source, _ method: String, _ params: [JSON]) async throws -> BlockHeader {
        let r = try await src.conn.call(method, params)
        if r.isNull { throw LedgerClientError.inconsistent("\(method) found no block") }
        let h: BlockHeader
        do { h = try BlockHeader(json: r) } catch { throw LedgerClientError.badResponse(method: method, error.description) }
        return try accept(src.index, h)
    }

    private func headers(byNumber numbers: [UInt64], via src: Source) async throws -> [BlockHeader] {
        try await batchHeaders(numbers.map { ("eth_getBlockByNumber", [.string(Hex.quantity($0)), false]) }, via: src)
    }

    private func headers(byHash hashes: [Bytes32], via src: Source) async throws -> [BlockHeader] {
        let out = try await batchHeaders(hashes.map { ("eth_getBlockByHash", [.string($0.hex), false]) }, via: src)
        for (h, want) in zip(out, hashes) where h.hash != want {
            throw LedgerClientError.inconsistent("asked for block \(want.short), got \(h.hash.short)")
        }
        return out
    }

    private func batchHeaders(_ calls: [(method: String, params: [JSON])], via src: Source) async throws -> [BlockHeader] {
        var out: [BlockHeader] = []
        out.reserveCapacity(calls.count)
        var k = 0
        while k < calls.count {
            let chunk = Array(calls[k..<min(calls.count, k + batchSize)])
            let results = try await src.conn.many(chunk)
            for (c, r) in zip(chunk, results) {
                let v: JSON
                do { v = try r.get() } catch { throw LedgerClientError.rpc(method: c.method, error) }
                if v.isNull { throw LedgerClientError.inconsistent("\(c.method) \(c.params[0].serialized()) found no block") }
                let h: BlockHeader
                do { h = try BlockHeader(json: v) } catch {
                    throw LedgerClientError.badResponse(method: c.method, error.description)
                }
                if c.method == "eth_getBlockByNumber", let want = c.params[0].quantity, h.number != want {
                    throw LedgerClientError.inconsistent("asked for block \(want), got \(h.number)")
                }
                out.append(try accept(src.index, h))
            }
            k += chunk.count
        }
        return out
    }

    /// A node that serves logs which are not logs (fields missing, a block number of 2^256 or
    /// below zero, a malformed hash…) is faulty: it is marked untrusted (named on the Nodes view,
    /// an alarm), nothing it served is used, and the block is asked of another node.
    private func refuseUndecodable(_ items: [GridLog], from src: Source, what: String) throws {
        var bad = 0
        var first: String?
        for item in items {
            switch item.content {
            case .failure(let e):
                bad += 1
                if first == nil { first = "\(e)" }
            case .success where item.block == nil:
                bad += 1
                if first == nil { first = "a log without a valid blockNumber/blockHash" }
            case .success:
                continue
            }
        }
        guard bad > 0 else { return }
        markUntrusted(src.index, "served \(bad) undecodable log\(bad == 1 ? "" : "s") in \(what) (first: \(first ?? "?")); its data is not used")
        throw LedgerClientError.untrusted(nodes[src.index].status.name)
    }

    /// The grid-event logs of each block, by block hash (exact even across reorgs).
    private func logs(forBlocks hashes: [Bytes32], via src: Source) async throws -> [[GridLog]] {
        var out: [[GridLog]] = []
        var k = 0
        while k < hashes.count {
            let size = max(1, min(logsBatch ?? batchSize, batchSize))
            let chunk = Array(hashes[k..<min(hashes.count, k + size)])
            let calls: [(method: String, params: [JSON])] = chunk.map { h in
                var f: [String: JSON] = ["blockHash": .string(h.hex), "topics": filterTopics]
                if let filterAddress { f["address"] = filterAddress }
                return ("eth_getLogs", [.object(f)])
            }
            let results: [Result<JSON, RPCError>]
            do {
                results = try await src.conn.many(calls)
            } catch {
                let reason = await src.conn.closeReason
                if chunk.count == 1, !Task.isCancelled, PlainWords.explain(reason ?? error).kind == .oversizedFrame {
                    // One dense block over the frame limit: asked again on a wide connection.
                    logger.info("block's logs over the frame limit; asking again on a wide connection",
                                metadata: ["block": "\(chunk[0].short)", "limit": "\(configuration.maxFrameSizeHardCap)"])
                    let w = try await openWide(src.index)
                    defer {
                        Task { await w.conn.close(.disconnected("dense block fetched")) }
                        w.runner.cancel()
                    }
                    do {
                        out.append(try await w.conn.getLogs(calls[0].params[0]))
                    } catch {
                        let wideReason = await w.conn.closeReason
                        guard PlainWords.explain(wideReason ?? error).kind == .oversizedFrame else { throw error }
                        throw LedgerClientError.malformedFrame(
                            "the grid logs of block \(chunk[0].short) are larger than the hard cap of \(configuration.maxFrameSizeHardCap) bytes per answer; they cannot be fetched")
                    }
                    k += 1
                    continue
                }
                if chunk.count > 1 {
                    logsBatch = max(1, chunk.count / 2)
                    goodLogBatches = 0
                    logger.info("eth_getLogs batch failed; asking for fewer blocks at once",
                                metadata: ["blocks": "\(logsBatch ?? 1)", "error": "\(error)"])
                }
                throw error
            }
            if let b = logsBatch, b < batchSize {
                goodLogBatches += 1
                if goodLogBatches >= 8 { logsBatch = min(batchSize, b * 2); goodLogBatches = 0 }
            }
            for (j, r) in results.enumerated() {
                let v: JSON
                do { v = try r.get() } catch { throw LedgerClientError.rpc(method: "eth_getLogs", error) }
                guard let a = GetLogsDecoder.gridLogs(result: v) else {
                    throw LedgerClientError.badResponse(method: "eth_getLogs", "expected an array")
                }
                try refuseUndecodable(a, from: src, what: "eth_getLogs for block \(chunk[j].short)")
                out.append(a)
            }
            k += chunk.count
        }
        return out
    }
}
