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
    public init() {}
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
    public private(set) var warnings: [String] = []
    public private(set) var intervalSeconds: UInt32 = 900
    /// The newest settled interval and its per-stage flows.
    public private(set) var settledInterval: UInt64?
    public private(set) var stageFlows: [StageFlow] = []
    /// One detector per segment, with its learned loss band and latest judgement.
    public private(set) var detectors: [AssetID: SegmentDetector] = [:]
    private var pending: Set<UInt64> = []
    private var blockIntervals: [Double] = []
    private var nodeDownSince: [String: Double] = [:]
    /// Active stale-meter alarms by asset (upstream causes for inhibition).
    private var staleActive: [AssetID: Int] = [:]
    private var lastCauses = Causes()
    private var topologyChanged = false
    static let chainAsset = Keccak256.bytes32("ledger:chain")

    public init(configuration: MonitorConfiguration = MonitorConfiguration(), book: AlarmBook? = nil) {
        self.configuration = configuration
        self.book = book ?? AlarmBook(policies: configuration.alarmPolicies)
        self.book.policies = configuration.alarmPolicies
        rebuildCauses()
    }

    /// Replaces the alarm set with one rebuilt from the journal (at start, once the chain id is known).
    public mutating func restore(_ restored: AlarmBook) {
        book = restored
        book.policies = configuration.alarmPolicies
        rebuildCauses()
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
        return finish(now: now)
    }

    private mutating func applyUpdate(_ update: LedgerUpdate, now: Double) -> [AlarmTransition] {
        switch update {
        case .chain(let id):
            chainId = id
            return []
        case .block(let block):
            return applyBlock(block, now: now)
        case .retract(let number, let hash):
            ledger.retract(block: hash)
            recentBlocks.removeAll { $0.hash == hash }
            if head?.hash == hash { head = nil }
            warn("block \(number) (\(hash.short)) orphaned by a reorg; its events were taken back")
            return []
        case .nodes(let statuses):
            nodes = statuses
            return checkNodes(now: now)
        case .reorg(let r):
            if r.beyondLimit {
                warn("reorg deeper than \(r.limit) blocks at #\(r.newHead); older blocks were not retracted")
            }
            return []
        case .consensus:
            return []
        case .warning(let text):
            warn(text)
            return []
        }
    }

    /// Time-driven checks (consensus stall). Call about once a second.
    public mutating func tick(now: Double) -> [AlarmTransition] {
        var out: [AlarmTransition] = []
        let chainAsset = Self.chainAsset
        book.tick(now: now)
        if let seen = headSeenAt {
            let typical = blockIntervals.isEmpty ? 1 : LossModel.median(blockIntervals)
            let limit = max(configuration.stallMinimumSeconds, configuration.stallFactor * typical)
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
        return c
    }

    /// The upstream alarm that explains an alarm (first-out: the stall, then divergence, then the topmost stale meter).
    ///
    /// - consensus stall: every grid-side alarm (no blocks means no readings);
    /// - node divergence without a verified majority: theft, conflicting reading, transfer mismatch;
    /// - a stale meter M: stale-meter, theft and transfer-mismatch alarms of every asset below M,
    ///   and the theft alarm of M itself and of M's parent (their balances lack M's reading).
    func cause(for kind: AlarmKind, asset: AssetID, causes: Causes) -> Int? {
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
        var out: [AlarmTransition] = []
        let h = block.header
        if let prev = head, h.number == prev.number + 1, h.timestamp >= prev.timestamp {
            blockIntervals.append(Double(h.timestamp - prev.timestamp))
            if blockIntervals.count > 64 { blockIntervals.removeFirst() }
        }
        if head.map({ h.number >= $0.number }) ?? true {
            head = h
            headSeenAt = now
            if let t = book.clear(.consensusStall, asset: Keccak256.bytes32("ledger:chain"), now: now, message: "blocks again at \(h.number)") {
                out.append(t)
            }
        }
        var row = BlockRow(number: h.number, hash: h.hash, proposer: h.miner, timestamp: h.timestamp,
                           readings: 0, registrations: 0, transfers: 0, rejected: block.rejectedLogs)
        for e in block.events {
            switch e.event {
            case .assetRegistered(let r):
                row.registrations += 1
                topology.register(r, origin: e.origin)
                topologyChanged = true
            case .meterReading(let m):
                row.readings += 1
                out.append(contentsOf: record(m, origin: e.origin, now: now))
            case .energyTransfer:
                row.transfers += 1
            }
        }
        recentBlocks.insert(row, at: 0)
        if recentBlocks.count > configuration.recentBlocks { recentBlocks.removeLast() }
        out.append(contentsOf: settleReady(now: now))
        return out
    }

    private mutating func record(_ m: MeterReading, origin: EventOrigin, now: Double) -> [AlarmTransition] {
        var out: [AlarmTransition] = []
        intervalSeconds = m.intervalSeconds == 0 ? intervalSeconds : m.intervalSeconds
        let name = topology[m.asset]?.name ?? m.asset.short
        let stage = topology[m.asset]?.stage
        switch ledger.record(m, origin: origin) {
        case .recorded:
            if settledInterval.map({ m.intervalStart > $0 }) ?? true { pending.insert(m.intervalStart) }
            if let t = book.clear(.staleMeter, asset: m.asset, now: now, message: "reporting again") { out.append(t) }
        case .duplicate:
            break
        case .conflict(let first):
            let c = AlarmCondition(
                kind: .conflictingReading, asset: m.asset, assetName: name, stage: stage, interval: m.intervalStart,
                message: "two readings for interval \(m.intervalStart): \(first.reading.importWh)/\(first.reading.exportWh) Wh kept, \(m.importWh)/\(m.exportWh) Wh in block \(origin.blockNumber) rejected",
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
        settledInterval = t
        // Stale meters first (upstream causes), so the theft alarms they explain are raised already inhibited.
        out.append(contentsOf: checkStale(t, now: now))
        var lossByStage: [Stage: Int64] = [:]
        var unaccountedByStage: [Stage: Int64] = [:]
        for seg in topology.segments.sorted() {
            guard let asset = topology[seg], let b = ledger.balance(of: seg, in: t, topology: topology) else { continue }
            var det = detectors[seg] ?? SegmentDetector(parameters: configuration.detector)
            let judgement = det.observe(b)
            detectors[seg] = det
            guard b.complete else { continue }
            if let j = judgement {
                lossByStage[asset.stage, default: 0] += Int64(j.expectedLossWh.rounded())
                unaccountedByStage[asset.stage, default: 0] += Int64((j.residualWh - j.expectedLossWh).rounded())
                out.append(contentsOf: judgeTheft(asset, j, now: now))
            } else {
                // Still learning this segment's loss band: all of its residual counts as loss.
                lossByStage[asset.stage, default: 0] += b.residualWh
            }
        }
        let totals = ledger.stageTotals(in: t, topology: topology)
        stageFlows = Stage.known.map { s in
            let tot = totals[s] ?? (0, 0, 0)
            return StageFlow(stage: s, assets: topology.countByStage[s] ?? 0, reporting: tot.reporting,
                             importWh: tot.importWh, exportWh: tot.exportWh, lossWh: lossByStage[s] ?? 0,
                             unaccountedWh: unaccountedByStage[s] ?? 0)
        }
        return out
    }

    private mutating func judgeTheft(_ asset: Asset, _ j: SegmentDetector.Judgement, now: Double) -> [AlarmTransition] {
        if j.suspect {
            let excess = j.residualWh - j.expectedLossWh
            let pct = j.throughputWh > 0 ? 100 * excess / j.throughputWh : 0
            let msg = String(format: "unaccounted %@ (%.1f%% of %@ through) beyond expected loss %@; CUSUM %.1f",
                             Energy.format(excess), pct, Energy.format(j.throughputWh), Energy.format(j.expectedLossWh), j.cusum)
            let c = AlarmCondition(kind: .suspectedTheft, asset: asset.id, assetName: asset.name, stage: asset.stage,
                                   interval: j.interval, message: msg, origin: ledger.entry(asset.id, j.interval)?.origin)
            return raise(c, now: now).map { [$0] } ?? []
        }
        return book.clear(.suspectedTheft, asset: asset.id, now: now, message: "balance back within the loss band").map { [$0] } ?? []
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
                                   interval: last, message: "no reading since interval \(last) (\((t - last) / UInt64(intervalSeconds)) intervals)")
            if let tr = raise(c, now: now) { out.append(tr) }
        }
        return out
    }

    private mutating func checkNodes(now: Double) -> [AlarmTransition] {
        var out: [AlarmTransition] = []
        for n in nodes {
            let id = Keccak256.bytes32("ledger:node:" + n.endpoint)
            let down = n.connection == .disconnected || n.connection == .refused
            if down {
                let since = nodeDownSince[n.endpoint] ?? now
                nodeDownSince[n.endpoint] = since
                if now - since >= configuration.nodeDownAfterSeconds || n.connection == .refused {
                    let why = n.connection == .refused ? "refused" : "unreachable for \(Int(now - since)) s"
                    let c = AlarmCondition(kind: .nodeDown, asset: id, assetName: n.name, stage: nil,
                                           message: "node \(why)\(n.lastError.map { ": " + $0 } ?? "")")
                    if let t = raise(c, now: now) { out.append(t) }
                }
            } else {
                nodeDownSince[n.endpoint] = nil
                if n.connection == .connected, let t = book.clear(.nodeDown, asset: id, now: now, message: "node connected") { out.append(t) }
            }
            if n.trust == .divergent || n.trust == .untrusted {
                let c = AlarmCondition(kind: .nodeDivergent, asset: id, assetName: n.name, stage: nil,
                                       message: n.trust == .untrusted ? "served a block whose hash does not match its header" : "disagrees with the quorum on a block hash")
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
        MonitorSnapshot(chainId: chainId, simulated: configuration.simulated, head: head, headSeenAt: headSeenAt,
                        nodes: nodes, settledInterval: settledInterval, intervalSeconds: intervalSeconds,
                        stages: stageFlows, recentBlocks: recentBlocks, alarms: book.visible, warnings: warnings, now: now,
                        inhibited: book.inhibited, shelved: book.shelved, outOfService: book.outOfService,
                        kpis: book.kpis(now: now))
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
