import ChainCore
import GridCore

public struct MonitorConfiguration: Sendable {
    /// The embedded simulated network: the screen says so.
    public var simulated = false
    /// An interval settles when every known meter reported, or when readings
    /// this many intervals newer have arrived (late readings' grace period).
    public var graceIntervals: UInt64 = 2
    /// A meter that reported before and has been silent this many intervals is stale.
    public var staleIntervals: UInt64 = 3
    public var detector = SegmentDetector.Parameters()
    /// No block for max(stallMinimumSeconds, stallFactor × median block interval) is a stall.
    public var stallMinimumSeconds = 15.0
    public var stallFactor = 10.0
    /// A node disconnected longer than this raises node-down.
    public var nodeDownAfterSeconds = 10.0
    public var recentBlocks = 64
    /// Priority, on-delay and off-delay per alarm kind.
    public var alarmPolicies: [AlarmKind: AlarmPolicy] = AlarmPolicy.defaults
    /// Topology-aware inhibition (suppression by design) of alarms an upstream cause explains.
    public var inhibition = true
    /// Intervals of readings and transfers kept (memory bound; also the suspect ranking's history).
    public var retainIntervals = 7 * 96
    /// Transfer reconciliation: what a party's trades may exceed its meter by (the 1 Wh register resolution).
    public var transferToleranceWh: UInt64 = 1
    /// validator-missing-turns: at least this many missed turns in the probe's window…
    public var validatorMissedTurns = 3
    /// …and at least this share of the validator's due turns (proposed + missed).
    public var validatorMissedShare = 0.2
    /// node-lag: a connected node more than this many blocks behind the quorum's head
    /// (for as long as the kind's on-delay, 30 s by default).
    public var nodeLagBlocks: UInt64 = 5
    /// low-peers: a connected node reporting fewer peers than this (0 turns the check off).
    public var minimumPeers: UInt64 = 1
    /// deep-reorg: a reorg orphaning at least this many blocks; one beyond the client's limit is critical.
    public var deepReorgDepth = 3
    /// deep-reorg clears once the chain has grown this many blocks past the reorg's new head.
    public var deepReorgClearBlocks: UInt64 = 64
    /// Suspect consumers named by a suspected-theft alarm, and how often (in intervals) the
    /// ranking is refreshed while the segment stays suspect.
    public var suspectsShown = 5
    public var suspectRefreshIntervals: UInt64 = 4
    /// The site's name (the config file's `site`), shown in the screen's header.
    public var site: String? = nil
    /// Conditions of the whole run the operator must see at all times (e.g. `--any-contract`).
    public var banners: [String] = []
    /// Settlement depth: an interval's figures are provisional until the newest block that
    /// carried one of its readings or transfers is this many blocks deep. nil: from the chain's
    /// finality (`defaultConfirmations`). Theft and other grid alarms do not wait for it: they
    /// are raised at once and, should a reorg take their evidence away, cleared as documented
    /// (docs/alerts-json.md, "Alarms across a reorg").
    public var confirmations: UInt64?
    public init() {}

    /// Blocks until final, by consensus engine: QBFT and IBFT 2.0 finalise every block (0);
    /// Clique and AuRa can reorganise the last few (5); anything else (PoS, PoW, unknown) 12.
    public static func defaultConfirmations(engine: ConsensusHealth.Engine?) -> UInt64 {
        switch engine {
        case .qbft?, .ibft2?: return 0
        case .clique?, .aura?: return 5
        case .generic?, nil: return 12
        }
    }
}

/// The pure core of gridtop: ledger updates in, alarm transitions and snapshots out.
///
/// Feeds readings into the interval ledger, settles intervals, runs the
/// detectors on every segment, and keeps the alarm book. No I/O and no
/// clocks: the caller passes `now` (wall-clock unix seconds).
public struct Monitor: Sendable {
    public let configuration: MonitorConfiguration
    public private(set) var topology = Topology()
    public private(set) var ledger = IntervalLedger()
    public private(set) var book: AlarmBook
    public private(set) var chainId: UInt64?
    public private(set) var head: BlockHeader?
    public private(set) var headSeenAt: Double?
    public private(set) var nodes: [NodeStatus] = []
    public private(set) var recentBlocks: [BlockRow] = []
    /// Blocks a reorg took off the chain (newest first): shown as orphaned, never as the chain.
    public private(set) var orphanedBlocks: [BlockRow] = []
    public private(set) var warnings: [String] = []
    private var standingBanners: [String] = []
    /// Nodes (by endpoint) that were connected at least once.
    public private(set) var reachedNodes: Set<String> = []
    /// Logs from contracts other than the configured metering contracts, ignored so far.
    public private(set) var ignoredLogs = 0
    public private(set) var intervalSeconds: UInt32 = 900
    /// The newest settled interval and its per-stage flows.
    public private(set) var settledInterval: UInt64?
    public private(set) var stageFlows: [StageFlow] = []
    /// One detector per segment, with its learned loss band and latest judgement.
    public private(set) var detectors: [AssetID: SegmentDetector] = [:]
    /// Every energy transfer seen, for reconciliation against the meters.
    public private(set) var transfers = TransferLedger()
    /// The latest consensus probe (validators, missed turns, timing).
    public private(set) var consensus: ConsensusHealth?
    /// Ranked suspects per suspected segment, most suspect first.
    public private(set) var suspects: [AssetID: [AlarmSuspect]] = [:]
    /// Per segment, the flows of the newest settled interval.
    public private(set) var segmentFlows: [AssetID: SegmentFlow] = [:]
    /// Failing transfer checks per party: the alarm stays while any remains.
    private var transferMismatches: [AssetID: [MismatchKey: TransferCheck]] = [:]
    private var validatorAssets: Set<AssetID> = []
    private var deepReorgHead: UInt64?
    /// Per interval, the newest block that carried one of its readings or transfers.
    private var intervalLastBlock: [UInt64: UInt64] = [:]
    private var rankedAt: [AssetID: UInt64] = [:]
    struct MismatchKey: Hashable { var interval: UInt64; var side: TransferCheck.Side }
    private var pending: Set<UInt64> = []
    private var blockIntervals: [Double] = []
    private var nodeDownSince: [String: Double] = [:]
    /// Active stale-meter alarms by asset (upstream causes for inhibition).
    private var staleActive: [AssetID: Int] = [:]
    private var lastCauses = Causes()
    private var topologyChanged = false
    /// Every registration of the canonical chain, in chain order (moves included): with the
    /// ledgers' readings and transfers, the facts a reorg replays.
    private var registrations: [(registration: AssetRegistration, origin: EventOrigin)] = []
    /// A reorg being taken in: orphaned blocks retracted, the new branch's blocks queued until
    /// its head arrives, then every grid fact replayed (`completeReorg`).
    private var reorg: ReorgInProgress?
    struct ReorgInProgress {
        var orphaned: Set<Bytes32> = []
        /// The lowest orphaned height: where the branches part ("the reorg at #N").
        var forkHeight: UInt64
        /// The new head the client announced (`ReorgReport`); its block ends the reorg.
        var target: Bytes32?
        var queued: [ChainBlock] = []
    }
    static let chainAsset = Keccak256.bytes32("ledger:chain")

    public init(configuration: MonitorConfiguration = MonitorConfiguration(), book: AlarmBook? = nil) {
        self.configuration = configuration
        self.ledger = IntervalLedger(retainIntervals: configuration.retainIntervals)
        self.transfers = TransferLedger(retainIntervals: configuration.retainIntervals)
        self.book = book ?? AlarmBook(policies: configuration.alarmPolicies)
        self.book.policies = configuration.alarmPolicies
        rebuildCauses()
    }

    /// Replaces the alarm set with one rebuilt from the journal (at start, once the chain id is known).
    ///
    /// When it holds alarms, the conditions judged from chain history are held (`AlarmBook.holdJudgement`)
    /// until the monitor has read current data: the node's head (`ChainBlock.atHead`, the end of the
    /// backfill, on a stalled chain too). Without it (no node answers) nothing is judged. Until then the restored alarms stand unchanged and nothing is journalled
    /// for them; then each is confirmed (the same alarm), raised or cleared on what was read.
    public mutating func restore(_ restored: AlarmBook) {
        book = restored
        book.policies = configuration.alarmPolicies
        if !book.alarms.isEmpty {
            book.holdJudgement()
            warn("\(book.alarms.count) alarm\(book.alarms.count == 1 ? "" : "s") restored from the journal" + Self.restoredSuffix)
        }
        rebuildCauses()
    }

    static let restoredSuffix = "; judged again once current blocks are read"

    /// True while restored alarms wait for the start-up judgement on current data.
    public var isJudgingStartup: Bool { book.isHoldingJudgement }

    /// The stall limit: no block for this long is a stall (also how old a block may be and count as current).
    var stallLimit: Double {
        let typical = blockIntervals.isEmpty ? 1 : LossModel.median(blockIntervals)
        return max(configuration.stallMinimumSeconds, configuration.stallFactor * typical)
    }

    /// Ends the start-up hold: restored alarms confirmed, raised or cleared on the data read since the start.
    private mutating func releaseStartupJudgement(now: Double) {
        rebuildCauses()
        let me = self
        let causes = currentCauses()
        let ts = book.releaseJudgement(now: now) { kind, asset in me.cause(for: kind, asset: asset, causes: causes) }
        rebuildCauses()
        let raised = ts.filter { $0.event == .raised }.count, cleared = ts.filter { $0.event == .cleared }.count
        let text = "restored alarms judged on current data\(head.map { " at block #\($0.number)" } ?? ""): \(raised) raised, \(cleared) cleared, the others stand as journalled"
        // It answers the "restored" warning: in its place.
        if let i = warnings.firstIndex(where: { $0.hasSuffix(Self.restoredSuffix) }) { warnings[i] = text } else { warn(text) }
    }

    /// Applies transitions journalled by another process (e.g. `gridtop alarms ack`); emits nothing.
    public mutating func replay(_ transitions: [AlarmTransition]) {
        for t in transitions { book.replay(t) }
        rebuildCauses()
    }

    private mutating func rebuildCauses() {
        staleActive = [:]
        for a in book.alarms.values where a.kind == .staleMeter && a.active { staleActive[a.asset] = a.id }
        lastCauses = Causes()
        topologyChanged = true
    }

    // MARK: Updates

    public mutating func apply(_ update: LedgerUpdate, now: Double) -> [AlarmTransition] {
        _ = applyUpdate(update, now: now)
        if book.isHoldingJudgement, case .block(let b) = update {
            // The node's head: everything up to it has been read again, so the judgement is on current data.
            if b.atHead { releaseStartupJudgement(now: now) }
        }
        return finish(now: now)
    }

    /// True while a reorg's new branch is being received (its facts are applied at its head).
    public var reorgInProgress: Bool { reorg != nil }

    private mutating func applyUpdate(_ update: LedgerUpdate, now: Double) -> [AlarmTransition] {
        switch update {
        case .block(let block) where reorg?.target != nil:
            // The new branch, up to the head the client announced: taken in at once at its head.
            reorg!.queued.append(block)
            if block.header.hash == reorg!.target { completeReorg(now: now) }
            return []
        case .retract, .reorg:
            break
        default:
            completeReorg(now: now)  // anything else means the client finished the reorg
        }
        switch update {
        case .chain(let id):
            chainId = id
            return []
        case .block(let block):
            return applyBlock(block, now: now)
        case .retract(let number, let hash):
            // The block's facts leave the ledgers now; balances and judgements are redone
            // from the remaining facts once the new branch is in (`completeReorg`).
            ledger.retract(block: hash)
            transfers.retract(block: hash)
            registrations.removeAll { $0.origin.blockHash == hash }
            if reorg == nil { reorg = ReorgInProgress(forkHeight: number) }
            reorg!.orphaned.insert(hash)
            reorg!.forkHeight = min(reorg!.forkHeight, number)
            if let i = recentBlocks.firstIndex(where: { $0.hash == hash }) { orphanedBlocks.insert(recentBlocks[i], at: 0) }
            if orphanedBlocks.count > configuration.recentBlocks { orphanedBlocks.removeLast(orphanedBlocks.count - configuration.recentBlocks) }
            recentBlocks.removeAll { $0.hash == hash }
            if head?.hash == hash { head = nil }
            warn("block \(number) (\(hash.short)) orphaned by a reorg; its events were taken back")
            return []
        case .nodes(let statuses):
            nodes = statuses
            for n in statuses where n.connection == .connected { reachedNodes.insert(n.endpoint) }
            return checkNodes(now: now)
        case .reorg(let r):
            if r.beyondLimit {
                warn("reorg deeper than \(r.limit) blocks at #\(r.newHead); older blocks were not retracted")
            }
            checkReorg(r, now: now)
            if reorg != nil { reorg!.target = r.newHeadHash }
            return []
        case .consensus(let h):
            consensus = h
            checkValidators(h, now: now)
            return []
        case .warning(let text):
            warn(text)
            return []
        }
    }

    /// Time-driven checks (consensus stall). Call about once a second.
    public mutating func tick(now: Double) -> [AlarmTransition] {
        completeReorg(now: now)
        var out: [AlarmTransition] = []
        let chainAsset = Self.chainAsset
        book.tick(now: now)
        if let seen = headSeenAt {
            let typical = blockIntervals.isEmpty ? 1 : LossModel.median(blockIntervals)
            let limit = stallLimit
            let age = now - seen
            if age > limit {
                let c = AlarmCondition(kind: .consensusStall, asset: chainAsset, assetName: "chain \(chainId.map(String.init) ?? "?")",
                                       stage: nil, message: "no new block for \(Int(age)) s (typical interval \(String(format: "%.1f", typical)) s)")
                if let t = raise(c, now: now) { out.append(t) }
            }
        }
        out.append(contentsOf: checkNodes(now: now))
        return finish(now: now)
    }

    // MARK: Alarm plumbing and inhibition

    /// Raises through the book with the upstream cause that explains the condition, if any.
    @discardableResult
    private mutating func raise(_ c: AlarmCondition, now: Double) -> AlarmTransition? {
        let t = book.raise(c, now: now, inhibitedBy: cause(for: c.kind, asset: c.asset, causes: currentCauses()))
        if let t, t.event == .raised, c.kind == .staleMeter { staleActive[c.asset] = t.alarm.id }
        return t
    }

    /// Upstream causes that are active now.
    struct Causes: Equatable {
        var stall: Int?
        var divergence: Int?
        var stale: [AssetID: Int] = [:]
        /// Active node-down alarms by node asset.
        var nodeDown: [AssetID: Int] = [:]
    }

    func currentCauses() -> Causes {
        guard configuration.inhibition else { return Causes() }
        var c = Causes()
        if let a = book[AlarmKey(kind: .consensusStall, asset: Self.chainAsset)], a.active { c.stall = a.id }
        // Divergence explains evidence-derived alarms only when no strict majority of nodes is verified:
        // with a verified quorum, one lying node is outvoted and the evidence stands.
        let verified = nodes.filter { $0.trust == .verified }.count
        if !nodes.isEmpty && verified * 2 <= nodes.count {
            c.divergence = nodes.compactMap { n -> Int? in
                guard let a = book[AlarmKey(kind: .nodeDivergent, asset: Keccak256.bytes32("ledger:node:" + n.endpoint))], a.active else { return nil }
                return a.id
            }.min()
        }
        c.stale = staleActive
        for n in nodes {
            let id = Self.nodeAsset(n.endpoint)
            if let a = book[AlarmKey(kind: .nodeDown, asset: id)], a.active { c.nodeDown[id] = a.id }
        }
        return c
    }

    /// The upstream alarm that explains an alarm (first-out: the stall, then divergence, then the topmost stale meter).
    ///
    /// - consensus stall: every grid-side alarm (no blocks means no readings);
    /// - node divergence without a verified majority: theft, conflicting reading, transfer mismatch;
    /// - a stale meter M: stale-meter, theft and transfer-mismatch alarms of every asset below M,
    ///   and the theft alarm of M itself and of M's parent (their balances lack M's reading).
    /// - node down: that node's lag and low-peers alarms (a node that is down neither syncs nor peers);
    /// - consensus stall: validators' missing turns (nobody proposes while it lasts).
    func cause(for kind: AlarmKind, asset: AssetID, causes: Causes) -> Int? {
        if kind == .nodeLag || kind == .lowPeers { return causes.nodeDown[asset] }
        if kind == .validatorMissingTurns { return causes.stall }
        guard kind.isGridSide else { return nil }
        if let s = causes.stall { return s }
        if kind.isEvidenceDerived, let d = causes.divergence { return d }
        guard kind != .conflictingReading, !causes.stale.isEmpty else { return nil }
        for a in topology.path(to: asset) where a.id != asset {
            if let id = causes.stale[a.id] { return id }
        }
        if kind == .suspectedTheft {
            if let id = causes.stale[asset] { return id }
            for child in topology.children(of: asset) { if let id = causes.stale[child] { return id } }
        }
        return nil
    }

    /// Drains the book, and re-evaluates inhibition when the upstream causes or the topology changed.
    private mutating func finish(now: Double) -> [AlarmTransition] {
        var out = book.takeTransitions()
        for t in out where t.alarm.kind == .staleMeter {
            if t.event == .raised { staleActive[t.alarm.asset] = t.alarm.id }
            if t.event == .cleared { staleActive[t.alarm.asset] = nil }
        }
        // While restored alarms wait for the start-up judgement, their inhibition stands as journalled.
        if book.isHoldingJudgement { return out }
        let causes = currentCauses()
        if causes != lastCauses || topologyChanged {
            lastCauses = causes
            topologyChanged = false
            for a in book.alarms.values.sorted(by: { $0.id < $1.id }) {
                let c = a.active || !a.acknowledged ? cause(for: a.kind, asset: a.asset, causes: causes) : nil
                if c != a.suppressedBy { book.setSuppression(id: a.id, cause: c, now: now) }
            }
            out.append(contentsOf: book.takeTransitions())
        }
        return out
    }

    private mutating func warn(_ text: String) {
        warnings.append(text)
        if warnings.count > 20 { warnings.removeFirst(warnings.count - 20) }
    }

    private mutating func applyBlock(_ block: ChainBlock, now: Double) -> [AlarmTransition] {
        var out = applyHeader(block, now: now)
        out.append(contentsOf: applyEvents(block, now: now))
        return out
    }

    /// The chain side of a block: head, block timing, the Blocks view's row.
    private mutating func applyHeader(_ block: ChainBlock, now: Double) -> [AlarmTransition] {
        var out: [AlarmTransition] = []
        let h = block.header
        if let prev = head, h.number == prev.number + 1, h.timestamp >= prev.timestamp {
            blockIntervals.append(Double(h.timestamp - prev.timestamp))
            if blockIntervals.count > 64 { blockIntervals.removeFirst() }
        }
        if head.map({ h.number >= $0.number }) ?? true {
            head = h
            headSeenAt = now
            // An old block (read again after a restart) is no evidence that the chain makes blocks now.
            if !book.isHoldingJudgement || Double(h.timestamp) >= now - stallLimit,
               let t = book.clear(.consensusStall, asset: Keccak256.bytes32("ledger:chain"), now: now, message: "blocks again at \(h.number)") {
                out.append(t)
            }
            if let d = deepReorgHead, h.number >= d &+ configuration.deepReorgClearBlocks {
                deepReorgHead = nil
                book.clear(.deepReorg, asset: Self.chainAsset, now: now, message: "\(configuration.deepReorgClearBlocks) blocks since the reorg at #\(d)")
            }
        }
        ignoredLogs += block.ignoredLogs
        var row = BlockRow(number: h.number, hash: h.hash, proposer: h.miner, timestamp: h.timestamp,
                           readings: 0, registrations: 0, transfers: 0, rejected: block.rejectedLogs)
        for e in block.events {
            switch e.event {
            case .assetRegistered: row.registrations += 1
            case .meterReading: row.readings += 1
            case .energyTransfer: row.transfers += 1
            }
        }
        orphanedBlocks.removeAll { $0.hash == h.hash }
        recentBlocks.removeAll { $0.hash == h.hash }
        recentBlocks.insert(row, at: 0)
        if recentBlocks.count > configuration.recentBlocks { recentBlocks.removeLast() }
        return out
    }

    /// The grid side of a block: its events in log order, then whatever intervals are ready settle.
    private mutating func applyEvents(_ block: ChainBlock, now: Double) -> [AlarmTransition] {
        var out: [AlarmTransition] = []
        for e in block.events {
            switch e.event {
            case .assetRegistered(let r):
                registrations.append((r, e.origin))
                // Once readings flow, a (re-)registration counts from the next interval to be
                // reported: intervals already reporting are balanced with the tree they had.
                topology.register(r, origin: e.origin, effectiveFrom: ledger.newestInterval.map { $0 &+ UInt64(intervalSeconds) })
                topologyChanged = true
            case .meterReading(let m):
                noteBlock(m.intervalStart, e.origin.blockNumber)
                out.append(contentsOf: record(m, origin: e.origin, now: now))
            case .energyTransfer(let x):
                noteBlock(x.intervalStart, e.origin.blockNumber)
                // Judged at settlement; one for an interval settled already is judged now.
                if transfers.record(x, origin: e.origin), let s = settledInterval, x.intervalStart <= s {
                    judgeTransfers(x.from, x.intervalStart, now: now)
                    if x.to != x.from { judgeTransfers(x.to, x.intervalStart, now: now) }
                }
            }
        }
        out.append(contentsOf: settleReady(now: now))
        return out
    }

    private mutating func noteBlock(_ interval: UInt64, _ block: UInt64) {
        if intervalLastBlock[interval].map({ block > $0 }) ?? true {
            intervalLastBlock[interval] = block
            if intervalLastBlock.count > configuration.retainIntervals + 8, let oldest = intervalLastBlock.keys.min() {
                intervalLastBlock[oldest] = nil
            }
        }
    }

    /// The settlement depth in force: configured, or from the engine the consensus probe found.
    public var confirmations: UInt64 {
        configuration.confirmations ?? MonitorConfiguration.defaultConfirmations(engine: consensus?.engine)
    }

    /// The `finalized` block as the nodes the quorum verified report it (the lowest of them:
    /// one node claiming more finality than the others is not believed), or nil where no such
    /// node supports the tag.
    public var finalizedBlock: UInt64? {
        nodes.filter { $0.connection == .connected && $0.trust == .verified }.compactMap(\.finalizedNumber).min()
    }

    /// The `finalized` block that settles intervals: only without `confirmations` configured,
    /// and not on an engine that finalises every block (QBFT, IBFT 2.0: depth 0 is exact, and
    /// a finalized block polled a moment ago would only lag behind it).
    var settlingFinalized: UInt64? {
        guard configuration.confirmations == nil, MonitorConfiguration.defaultConfirmations(engine: consensus?.engine) > 0 else { return nil }
        return finalizedBlock
    }

    /// An interval whose newest block may still change with a reorg: with `confirmations`
    /// configured, one not yet that deep below the head; otherwise, where the nodes report a
    /// `finalized` block (and the engine does not finalise every block), one above it; else
    /// one not yet as deep as the engine's default.
    public func isProvisional(_ interval: UInt64) -> Bool {
        guard let last = intervalLastBlock[interval] else { return false }
        guard let head else { return true }
        if let finalized = settlingFinalized { return last > finalized }
        return head.number < last &+ confirmations
    }

    // MARK: Reorgs

    /// Takes in a reorg once its new branch has arrived: every grid fact of the chain as it now
    /// is (registrations, readings, transfers that the ledgers retain, the new branch's too) is
    /// replayed, in chain order, through a fresh monitor, whose balances, detectors, settled
    /// figures and judgements replace these. So every interval a reorg touched is balanced and
    /// judged again, settled or not, and the state is the one a fresh run over the final chain
    /// reaches (docs/architecture.md, "Reorgs"). Then the alarms:
    /// - active here, not on the final chain: cleared, reason "evidence orphaned by the reorg at #N"
    ///   (or "not on the chain after the reorg at #N" when its evidence block was not orphaned);
    /// - active on both, evidence in another block: `evidence-moved` to the new branch's evidence;
    /// - active only on the final chain: raised.
    /// Whatever operators did to an alarm (acknowledgement, shelving, comments) is kept.
    private mutating func completeReorg(now: Double) {
        guard let r = reorg else { return }
        reorg = nil
        for b in r.queued { _ = applyHeader(b, now: now) }
        var fresh = Monitor(configuration: configuration)
        fresh.intervalSeconds = intervalSeconds
        for b in Self.replayBlocks(registrations: registrations, ledger: ledger, transfers: transfers, queued: r.queued) {
            _ = fresh.apply(.block(b), now: now)
        }
        topology = fresh.topology
        ledger = fresh.ledger
        transfers = fresh.transfers
        registrations = fresh.registrations
        detectors = fresh.detectors
        settledInterval = fresh.settledInterval
        stageFlows = fresh.stageFlows
        segmentFlows = fresh.segmentFlows
        suspects = fresh.suspects
        rankedAt = fresh.rankedAt
        transferMismatches = fresh.transferMismatches
        pending = fresh.pending
        intervalSeconds = fresh.intervalSeconds
        intervalLastBlock = fresh.intervalLastBlock
        topologyChanged = true
        reconcileAlarms(with: fresh.book, reorg: r, now: now)
        rebuildCauses()
    }

    /// The canonical chain's retained grid facts as blocks, in chain order (what a fresh run receives).
    static func replayBlocks(registrations: [(registration: AssetRegistration, origin: EventOrigin)], ledger: IntervalLedger,
                             transfers: TransferLedger, queued: [ChainBlock]) -> [ChainBlock] {
        var facts: [LocatedEvent] = []
        facts.reserveCapacity(registrations.count + ledger.intervals.values.reduce(0) { $0 + $1.count })
        for (r, o) in registrations { facts.append(LocatedEvent(event: .assetRegistered(r), origin: o)) }
        for (_, entries) in ledger.intervals {
            for (_, e) in entries { if let o = e.origin { facts.append(LocatedEvent(event: .meterReading(e.reading), origin: o)) } }
        }
        for (_, entries) in ledger.shadowed {
            for e in entries { if let o = e.origin { facts.append(LocatedEvent(event: .meterReading(e.reading), origin: o)) } }
        }
        for (_, entries) in transfers.intervals {
            for e in entries { if let o = e.origin { facts.append(LocatedEvent(event: .energyTransfer(e.transfer), origin: o)) } }
        }
        for b in queued { facts.append(contentsOf: b.events) }
        facts.sort { ($0.origin.blockNumber, $0.origin.logIndex) < ($1.origin.blockNumber, $1.origin.logIndex) }
        var out: [ChainBlock] = []
        var seen = Set<LogKey>()
        for f in facts where seen.insert(f.origin.key).inserted {
            if let last = out.last, last.header.hash == f.origin.blockHash {
                out[out.count - 1].events.append(f)
            } else {
                let h = BlockHeader(number: f.origin.blockNumber, hash: f.origin.blockHash, parentHash: .zero, timestamp: 0, miner: .zero)
                out.append(ChainBlock(header: h, events: [f]))
            }
        }
        return out
    }

    /// Brings the grid-side alarms in line with a fresh run's (`completeReorg`).
    private mutating func reconcileAlarms(with freshBook: AlarmBook, reorg r: ReorgInProgress, now: Double) {
        let at = "the reorg at #\(r.forkHeight)"
        var wanted: [AlarmKey: Alarm] = [:]
        for a in freshBook.alarms.values where a.active && a.kind.isGridSide { wanted[a.key] = a }
        for a in book.alarms.values.sorted(by: { $0.id < $1.id }) where a.active && a.kind.isGridSide {
            if let f = wanted[a.key] {
                let c = AlarmCondition(kind: f.kind, asset: f.asset, assetName: f.assetName, stage: f.stage, interval: f.interval,
                                       message: f.message, origin: f.origin, suspects: f.suspects)
                let to = f.origin.map { "block #\($0.blockNumber) (\($0.blockHash.short))" } ?? "no block"
                book.moveEvidence(c, now: now, reason: "evidence moved to \(to) by \(at)")
            } else {
                let orphaned = a.origin.map { r.orphaned.contains($0.blockHash) } ?? false
                let why = orphaned ? "evidence orphaned by \(at)" : "not on the chain after \(at)"
                if a.kind == .staleMeter { staleActive[a.asset] = nil }
                book.clear(a.kind, asset: a.asset, now: now, message: why, reason: why)
            }
        }
        for f in wanted.values.sorted(by: { $0.id < $1.id }) where !(book[f.key]?.active ?? false) {
            raise(AlarmCondition(kind: f.kind, asset: f.asset, assetName: f.assetName, stage: f.stage, interval: f.interval,
                                 message: f.message, origin: f.origin, suspects: f.suspects), now: now)
        }
    }

    private mutating func record(_ m: MeterReading, origin: EventOrigin, now: Double) -> [AlarmTransition] {
        var out: [AlarmTransition] = []
        intervalSeconds = m.intervalSeconds == 0 ? intervalSeconds : m.intervalSeconds
        switch ledger.record(m, origin: origin) {
        case .recorded:
            if settledInterval.map({ m.intervalStart > $0 }) ?? true { pending.insert(m.intervalStart) }
            // (Only a meter with an active stale alarm can clear one: no book lookup per reading.)
            // (While the start-up judgement is held, a stale alarm raised in its shadow book counts too.)
            if staleActive[m.asset] != nil || book.isHoldingJudgement && book.isActiveInJudgement(.staleMeter, m.asset),
               let t = book.clear(.staleMeter, asset: m.asset, now: now, message: "reporting again") { out.append(t) }
            // A late reading for a settled interval re-checks the asset's trades in it.
            if let s = settledInterval, m.intervalStart <= s, transfers.intervals[m.intervalStart] != nil {
                judgeTransfers(m.asset, m.intervalStart, now: now)
            }
        case .duplicate:
            break
        case .conflict(let first):
            let name = topology[m.asset]?.name ?? m.asset.short
            let stage = topology[m.asset]?.stage
            let c = AlarmCondition(
                kind: .conflictingReading, asset: m.asset, assetName: name, stage: stage, interval: m.intervalStart,
                message: "two readings for interval \(UTCTime.minuteText(m.intervalStart)): \(first.reading.importWh)/\(first.reading.exportWh) Wh kept, \(m.importWh)/\(m.exportWh) Wh in block \(origin.blockNumber) rejected",
                origin: origin)
            if let t = raise(c, now: now) { out.append(t) }
        }
        return out
    }

    /// Settles pending intervals in time order once complete or past the grace period.
    private mutating func settleReady(now: Double) -> [AlarmTransition] {
        guard let newest = ledger.newestInterval else { return [] }
        var out: [AlarmTransition] = []
        let metersKnown = ledger.lastReported.count
        for t in pending.sorted() {
            let count = ledger.readings(in: t).count
            let graceOver = newest >= t + configuration.graceIntervals * UInt64(intervalSeconds)
            guard count >= metersKnown || graceOver else { break }
            pending.remove(t)
            if let s = settledInterval, t <= s { continue }
            out.append(contentsOf: settle(t, now: now))
        }
        return out
    }

    private mutating func settle(_ t: UInt64, now: Double) -> [AlarmTransition] {
        var out: [AlarmTransition] = []
        let previous = settledInterval
        settledInterval = t
        // Stale meters first (upstream causes), so the theft alarms they explain are raised already inhibited.
        out.append(contentsOf: checkStale(t, now: now))
        var lossByStage: [Stage: Int64] = [:]
        var unaccountedByStage: [Stage: Int64] = [:]
        var deliveredByStage: [Stage: Int64] = [:]
        var segmentsByStage: [Stage: Int] = [:]
        var incompleteByStage: [Stage: Int] = [:]
        var flows: [AssetID: SegmentFlow] = [:]
        flows.reserveCapacity(segmentFlows.count)
        for seg in topology.segments.sorted() {
            guard let asset = topology[seg], let b = ledger.balance(of: seg, in: t, topology: topology) else { continue }
            var det = detectors[seg] ?? SegmentDetector(parameters: configuration.detector)
            let judgement = det.observe(b)
            detectors[seg] = det
            var flow = SegmentFlow(segment: seg, stage: asset.stage, balance: b)
            segmentsByStage[asset.stage, default: 0] += 1
            deliveredByStage[asset.stage, default: 0] &+= b.childrenNetInWh
            defer { flows[seg] = flow }
            // Incomplete: marked, never judged, never counted as loss or theft.
            guard b.complete else {
                incompleteByStage[asset.stage, default: 0] += 1
                continue
            }
            if let j = judgement {
                let loss = Int64(j.expectedLossWh.rounded())
                flow.expectedLossWh = loss
                flow.unaccountedWh = b.residualWh - loss
                lossByStage[asset.stage, default: 0] += loss
                unaccountedByStage[asset.stage, default: 0] += b.residualWh - loss
                out.append(contentsOf: judgeTheft(asset, j, now: now))
            } else {
                // Still learning this segment's loss band: all of its residual counts as loss.
                lossByStage[asset.stage, default: 0] += b.residualWh
            }
        }
        segmentFlows = flows
        let totals = ledger.stageTotals(in: t, topology: topology)
        stageFlows = Stage.known.map { s in
            let tot = totals[s] ?? (0, 0, 0)
            var f = StageFlow(stage: s, assets: topology.countByStage[s] ?? 0, reporting: tot.reporting,
                              importWh: tot.importWh, exportWh: tot.exportWh, lossWh: lossByStage[s] ?? 0,
                              unaccountedWh: unaccountedByStage[s] ?? 0)
            f.deliveredWh = deliveredByStage[s] ?? 0
            f.segments = segmentsByStage[s] ?? 0
            f.incompleteSegments = incompleteByStage[s] ?? 0
            return f
        }
        // Trades of the newly settled intervals, against the meters.
        for iv in transfers.intervals.keys.sorted() where iv <= t && previous.map({ iv > $0 }) ?? true {
            for p in transfers.parties(in: iv).sorted(by: { $0.hex < $1.hex }) { judgeTransfers(p, iv, now: now) }
        }
        topology.forgetHistory(through: t)
        return out
    }

    private mutating func judgeTheft(_ asset: Asset, _ j: SegmentDetector.Judgement, now: Double) -> [AlarmTransition] {
        if j.suspect {
            let excess = j.residualWh - j.expectedLossWh
            let pct = j.throughputWh > 0 ? 100 * excess / j.throughputWh : 0
            var msg = String(format: "unaccounted %@ (%.1f%% of %@ through) beyond expected loss %@; CUSUM %.1f",
                             Energy.format(excess), pct, Energy.format(j.throughputWh), Energy.format(j.expectedLossWh), j.cusum)
            let step = configuration.suspectRefreshIntervals &* UInt64(intervalSeconds)
            if suspects[asset.id] == nil || rankedAt[asset.id].map({ j.interval >= $0 &+ step }) ?? true {
                suspects[asset.id] = rankSuspects(asset.id, through: j.interval)
                rankedAt[asset.id] = j.interval
            }
            let named = suspects[asset.id] ?? []
            if !named.isEmpty {
                msg += "; suspects: " + named.prefix(3).map { "\($0.name) (\(String(format: "%.1f", $0.score)))" }.joined(separator: ", ")
            }
            let c = AlarmCondition(kind: .suspectedTheft, asset: asset.id, assetName: asset.name, stage: asset.stage,
                                   interval: j.interval, message: msg, origin: ledger.entry(asset.id, j.interval)?.origin,
                                   suspects: named)
            return raise(c, now: now).map { [$0] } ?? []
        }
        if suspects[asset.id] != nil { suspects[asset.id] = nil; rankedAt[asset.id] = nil }
        return book.clear(.suspectedTheft, asset: asset.id, now: now, message: "balance back within the loss band").map { [$0] } ?? []
    }

    /// Ranks the children of a suspect segment (SuspectRanking) on the retained history:
    /// each child's net import per interval, the segment's residual and throughput, and the
    /// detector's change point. Run when the segment turns suspect and every few intervals after.
    func rankSuspects(_ seg: AssetID, through t: UInt64) -> [AlarmSuspect] {
        let kids = topology.children(of: seg, in: t)
        guard !kids.isEmpty, configuration.suspectsShown > 0 else { return [] }
        let ivs = ledger.intervals.keys.filter { $0 <= t }.sorted()
        guard ivs.count >= 2 else { return [] }
        let cpT = detectors[seg]?.changePoint ?? t
        let cp = ivs.firstIndex { $0 >= cpT } ?? ivs.count
        let columns = ivs.map { ledger.readings(in: $0) }
        let readings = kids.map { k in columns.map { col in col[k].map { Double($0.reading.netInWh) } } }
        let hours = ivs.map { Int(($0 % 86_400) / 3_600) }
        var residual: [Double?] = [], throughput: [Double?] = []
        for iv in ivs {
            let b = ledger.balance(of: seg, in: iv, topology: topology)
            let ok = b?.complete ?? false
            residual.append(ok ? Double(b!.residualWh) : nil)
            throughput.append(ok ? Double(b!.throughputWh) : nil)
        }
        let ranked = SuspectRanking.rank(consumers: kids, readings: readings, hourOfDay: hours, changePoint: cp,
                                         residualWh: residual, throughputWh: throughput)
        return ranked.prefix(configuration.suspectsShown).filter { $0.score > 0 && $0.score.isFinite }.map {
            AlarmSuspect(asset: $0.asset, name: topology[$0.asset]?.name ?? $0.asset.short, score: $0.score, deficitWh: $0.deficitWh)
        }
    }

    /// Re-checks one party's trades in one settled interval; the alarm stays while any interval fails.
    private mutating func judgeTransfers(_ asset: AssetID, _ interval: UInt64, now: Double) {
        var failing = transferMismatches[asset] ?? [:]
        failing[MismatchKey(interval: interval, side: .sold)] = nil
        failing[MismatchKey(interval: interval, side: .bought)] = nil
        for c in transfers.checks(for: asset, in: interval, readings: ledger) where c.mismatch(toleranceWh: configuration.transferToleranceWh) {
            failing[MismatchKey(interval: interval, side: c.side)] = c
        }
        transferMismatches[asset] = failing.isEmpty ? nil : failing
        guard let worst = failing.values.max(by: { ($0.excessWh, $0.interval) < ($1.excessWh, $1.interval) }) else {
            book.clear(.transferMismatch, asset: asset, now: now, message: "trades within the meter's readings")
            return
        }
        let a = topology[asset]
        let metered = worst.side == .sold ? "exported" : "imported"
        let top = worst.transfers.first
        var msg = "\(worst.side.rawValue) \(worst.claimedWh) Wh in interval \(UTCTime.minuteText(worst.interval)) but its meter \(metered) \(worst.meteredWh ?? 0) Wh"
            + " (\(worst.excessWh) Wh beyond; \(worst.transfers.count) transfer\(worst.transfers.count == 1 ? "" : "s")"
        if let top, let o = top.origin {
            msg += ", largest \(top.transfer.wh) Wh in block \(o.blockNumber) tx \(o.transactionHash.short)"
        }
        msg += ")"
        if failing.count > 1 { msg += "; \(failing.count) interval/side checks failing" }
        let c = AlarmCondition(kind: .transferMismatch, asset: asset, assetName: a?.name ?? asset.short, stage: a?.stage,
                               interval: worst.interval, message: msg, origin: top?.origin)
        raise(c, now: now)
    }

    static func nodeAsset(_ endpoint: String) -> AssetID { Keccak256.bytes32("ledger:node:" + endpoint) }
    static func validatorAsset(_ a: Address) -> AssetID { Keccak256.bytes32("ledger:validator:" + a.hex) }

    /// Validators missing their turns, from the consensus probe's window.
    private mutating func checkValidators(_ h: ConsensusHealth, now: Double) {
        var listed = Set<AssetID>()
        for v in h.validators {
            guard let missed = v.missedTurns else { continue }
            let id = Self.validatorAsset(v.address)
            listed.insert(id)
            let due = v.proposedBlocks + missed
            let share = due > 0 ? Double(missed) / Double(due) : 0
            if missed >= configuration.validatorMissedTurns && share >= configuration.validatorMissedShare {
                validatorAssets.insert(id)
                let last = v.lastProposedBlock.map { "last proposed #\($0)" } ?? "no block proposed in the window"
                let c = AlarmCondition(kind: .validatorMissingTurns, asset: id, assetName: "validator \(v.address.short)", stage: nil,
                                       message: "missed \(missed) of \(due) turns (\(Int((share * 100).rounded())) %) in blocks \(h.fromBlock)–\(h.toBlock); \(last)")
                raise(c, now: now)
            } else {
                book.clear(.validatorMissingTurns, asset: id, now: now, message: "missed \(missed) of \(due) turns")
            }
        }
        // Validators no longer in the set (voted out) have no turns to miss.
        for id in validatorAssets.subtracting(listed) where !h.validators.isEmpty {
            book.clear(.validatorMissingTurns, asset: id, now: now, message: "no longer a validator")
            if !book.isActive(.validatorMissingTurns, id) { validatorAssets.remove(id) }
        }
    }

    /// A reorg deeper than the threshold (or than the client could follow) raises deep-reorg.
    private mutating func checkReorg(_ r: ReorgReport, now: Double) {
        guard r.beyondLimit || r.depth >= configuration.deepReorgDepth else { return }
        deepReorgHead = r.newHead
        let msg = r.beyondLimit
            ? "reorg deeper than the client's limit of \(r.limit) blocks at #\(r.newHead) (\(r.newHeadHash.short)): older blocks were not retracted, their evidence may be orphaned"
            : "reorg orphaned \(r.depth) blocks; new head #\(r.newHead) (\(r.newHeadHash.short))"
        let c = AlarmCondition(kind: .deepReorg, asset: Self.chainAsset, assetName: "chain \(chainId.map(String.init) ?? "?")",
                               stage: nil, message: msg, priority: r.beyondLimit ? .critical : nil)
        raise(c, now: now)
    }

    private mutating func checkStale(_ t: UInt64, now: Double) -> [AlarmTransition] {
        var out: [AlarmTransition] = []
        let limit = configuration.staleIntervals * UInt64(intervalSeconds)
        guard t >= limit else { return [] }
        // Upstream meters first, so the ones below are raised already inhibited.
        let stale = ledger.lastReported.filter { $0.value + limit <= t }
            .map { (asset: $0.key, last: $0.value, depth: topology.path(to: $0.key).count) }
            .sorted { $0.depth != $1.depth ? $0.depth < $1.depth : $0.asset.hex < $1.asset.hex }
        for (asset, last, _) in stale {
            let a = topology[asset]
            let c = AlarmCondition(kind: .staleMeter, asset: asset, assetName: a?.name ?? asset.short, stage: a?.stage,
                                   interval: last, message: "no reading since interval \(UTCTime.minuteText(last)) (\((t - last) / UInt64(intervalSeconds)) intervals)")
            if let tr = raise(c, now: now) { out.append(tr) }
        }
        return out
    }

    private mutating func checkNodes(now: Double) -> [AlarmTransition] {
        var out: [AlarmTransition] = []
        for n in nodes {
            let id = Self.nodeAsset(n.endpoint)
            // Down is "not connected": a node that accepts the socket and never answers cycles between
            // connecting and disconnected (each attempt timing out), and that is down too.
            let down = n.connection != .connected
            if down {
                let since = nodeDownSince[n.endpoint] ?? now
                nodeDownSince[n.endpoint] = since
                if now - since >= configuration.nodeDownAfterSeconds || n.connection == .refused {
                    let why = n.connection == .refused ? "refused"
                        : "not connected for \(Int(now - since)) s\(n.connection == .connecting ? " (connecting)" : "")"
                    let c = AlarmCondition(kind: .nodeDown, asset: id, assetName: n.name, stage: nil,
                                           message: "node \(why)\(n.lastError.map { ": " + $0 } ?? "")")
                    if let t = raise(c, now: now) { out.append(t) }
                }
            } else {
                nodeDownSince[n.endpoint] = nil
                if n.connection == .connected, let t = book.clear(.nodeDown, asset: id, now: now, message: "node connected") { out.append(t) }
            }
            if n.connection == .connected {
                if n.lag > configuration.nodeLagBlocks {
                    let c = AlarmCondition(kind: .nodeLag, asset: id, assetName: n.name, stage: nil,
                                           message: "\(n.lag) blocks behind the quorum's head (limit \(configuration.nodeLagBlocks))")
                    if let t = raise(c, now: now) { out.append(t) }
                } else if let t = book.clear(.nodeLag, asset: id, now: now, message: "caught up (\(n.lag) behind)") {
                    out.append(t)
                }
                if configuration.minimumPeers > 0, let peers = n.peerCount {
                    if peers < configuration.minimumPeers {
                        let c = AlarmCondition(kind: .lowPeers, asset: id, assetName: n.name, stage: nil,
                                               message: "\(peers) peer\(peers == 1 ? "" : "s") (minimum \(configuration.minimumPeers))")
                        if let t = raise(c, now: now) { out.append(t) }
                    } else if let t = book.clear(.lowPeers, asset: id, now: now, message: "\(peers) peers") {
                        out.append(t)
                    }
                }
            }
            if n.trust == .divergent || n.trust == .untrusted {
                let c = AlarmCondition(kind: .nodeDivergent, asset: id, assetName: n.name, stage: nil,
                                       message: n.trust == .untrusted
                                           ? "faulty, its data is not used: " + (n.lastError ?? "served a block whose hash does not match its header")
                                           : "disagrees with the quorum on a block hash")
                if let t = raise(c, now: now) { out.append(t) }
            } else if n.trust == .verified, let t = book.clear(.nodeDivergent, asset: id, now: now) {
                out.append(t)
            }
        }
        return out
    }

    // MARK: Operator actions

    public mutating func acknowledge(alarm id: Int, by who: String, comment: String? = nil, now: Double) -> AlarmTransition? {
        let t = book.acknowledge(id: id, by: who, comment: comment, now: now)
        _ = book.takeTransitions()
        return t
    }

    /// Acknowledge, shelve, unshelve, comment, out of service, return to service.
    /// Returns every transition made (journal them before reporting the action done).
    public mutating func perform(_ action: OperatorAction, on id: Int, by who: String, now: Double) throws(AlarmActionError) -> [AlarmTransition] {
        do {
            try book.perform(action, on: id, by: who, now: now)
        } catch {
            _ = book.takeTransitions()
            throw error
        }
        return book.takeTransitions()
    }

    // MARK: Output

    public func snapshot(now: Double) -> MonitorSnapshot {
        var s = MonitorSnapshot(chainId: chainId, simulated: configuration.simulated, head: head, headSeenAt: headSeenAt,
                                nodes: nodes, settledInterval: settledInterval, intervalSeconds: intervalSeconds,
                                stages: stageFlows, recentBlocks: recentBlocks, alarms: book.visible, warnings: warnings, now: now,
                                inhibited: book.inhibited, shelved: book.shelved, outOfService: book.outOfService,
                                kpis: book.kpis(now: now), suspects: suspects, consensus: consensus,
                                settledProvisional: settledInterval.map(isProvisional) ?? false, confirmations: confirmations,
                                orphanedBlocks: orphanedBlocks)
        s.site = configuration.site
        s.banners = banners
        s.ignoredLogs = ignoredLogs
        s.settledByFinalized = settlingFinalized
        return s
    }

    /// Adds a standing condition found while running (e.g. the journal could not be opened).
    public mutating func addBanner(_ text: String) {
        if !standingBanners.contains(text) { standingBanners.append(text) }
    }

    /// The run's standing conditions: the configured banners, those found while running, and every node on the wrong chain.
    public var banners: [String] {
        var out = configuration.banners + standingBanners
        if let wrong = WrongChain.banner(nodes: nodes, expected: chainId) { out.append(wrong) }
        return out
    }
}

/// Energy amounts as an operator reads them.
public enum Energy {
    public static func format(_ wh: Double) -> String {
        let a = abs(wh)
        if a >= 1_000_000 { return String(format: "%.2f MWh", wh / 1_000_000) }
        if a >= 1000 { return String(format: "%.2f kWh", wh / 1000) }
        return String(format: "%.0f Wh", wh)
    }
}
