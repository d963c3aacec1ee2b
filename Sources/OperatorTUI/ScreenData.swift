import Alerts
import ChainCore
import GridCore

// The screen's view model: `MonitorSnapshot` plus everything the views can
// show that the snapshot does not (yet) carry. Every extra is optional; a
// view whose data is missing says "not available" and carries on.
//
// The integrator fills the extras (see `docs/operator-guide.md`, section
// "For integrators"); `ScreenData(snapshot:)` alone gives a working screen.

/// One asset in the grid tree, with the last settled balance of its segment.
public struct GridNode: Sendable, Equatable {
    public var id: AssetID
    /// Untrusted (from the chain): the views sanitize it.
    public var name: String
    public var stage: Stage
    /// nil for a root.
    public var parent: AssetID?
    public var ratedKw: UInt32
    /// The segment's balance (this asset and its children) in the last settled interval.
    public var balance: SegmentStatus?
    /// The detector holds this segment (or asset) suspect.
    public var suspect: Bool
    /// For a consumer ranked as a suspect under a suspect segment: its score (larger: more suspect).
    public var suspectScore: Double? = nil

    public init(id: AssetID, name: String, stage: Stage, parent: AssetID? = nil, ratedKw: UInt32 = 0,
                balance: SegmentStatus? = nil, suspect: Bool = false) {
        self.id = id; self.name = name; self.stage = stage; self.parent = parent; self.ratedKw = ratedKw
        self.balance = balance; self.suspect = suspect
    }
}

/// A segment's balance against its normal band (watt-hours, one interval).
public struct SegmentStatus: Sendable, Equatable {
    /// Energy in through the segment's meter minus what its children took.
    public var residualWh: Int64
    /// Energy flowing through the segment (for percentages).
    public var throughputWh: Int64
    /// The normal band of the residual (expected loss ± the detector's tolerance); nil while learning.
    public var bandLowWh: Int64?
    public var bandHighWh: Int64?
    /// False when a meter is missing: never evidence of theft.
    public var complete: Bool

    public init(residualWh: Int64, throughputWh: Int64, bandLowWh: Int64? = nil, bandHighWh: Int64? = nil, complete: Bool = true) {
        self.residualWh = residualWh; self.throughputWh = throughputWh
        self.bandLowWh = bandLowWh; self.bandHighWh = bandHighWh; self.complete = complete
    }

    public enum Verdict: Sendable, Equatable { case normal, below, above, incomplete, learning }

    public var verdict: Verdict {
        if !complete { return .incomplete }
        guard let lo = bandLowWh, let hi = bandHighWh else { return .learning }
        if residualWh > hi { return .above }
        if residualWh < lo { return .below }
        return .normal
    }
}

/// The topology as the views need it: nodes by id, children in a stable order.
public struct GridTree: Sendable, Equatable {
    public var nodes: [AssetID: GridNode]
    public var children: [AssetID: [AssetID]]
    public var roots: [AssetID]

    public init(nodes: [GridNode] = []) {
        var byID: [AssetID: GridNode] = [:]
        byID.reserveCapacity(nodes.count)
        var children: [AssetID: [AssetID]] = [:]
        var roots: [AssetID] = []
        for n in nodes {
            byID[n.id] = n
            if let p = n.parent { children[p, default: []].append(n.id) } else { roots.append(n.id) }
        }
        self.nodes = byID; self.children = children; self.roots = roots
    }

    /// From GridCore's topology, with balances and suspects from the detectors.
    public init(topology: Topology, balances: [AssetID: SegmentStatus] = [:], suspects: Set<AssetID> = [],
                suspectScores: [AssetID: Double] = [:]) {
        var byID: [AssetID: GridNode] = [:]
        byID.reserveCapacity(topology.count)
        for (id, a) in topology.assets {
            byID[id] = GridNode(id: id, name: a.name, stage: a.stage, parent: a.isRoot ? nil : a.parent, ratedKw: a.ratedKw,
                                balance: balances[id], suspect: suspects.contains(id))
            if let sc = suspectScores[id] { byID[id]?.suspectScore = sc }
        }
        self.nodes = byID
        self.roots = topology.roots
        var ch: [AssetID: [AssetID]] = [:]
        for (id, _) in byID { let c = topology.children(of: id); if !c.isEmpty { ch[id] = c } }
        self.children = ch
    }

    public var count: Int { nodes.count }
    public subscript(id: AssetID) -> GridNode? { nodes[id] }
    public func children(of id: AssetID?) -> [AssetID] { id.map { children[$0] ?? [] } ?? roots }

    /// Root first, the asset last.
    public func path(to id: AssetID) -> [GridNode] {
        var out: [GridNode] = []
        var cur = nodes[id]
        while let n = cur, out.count <= nodes.count {
            out.append(n)
            cur = n.parent.flatMap { nodes[$0] }
        }
        return out.reversed()
    }
}

/// One metering interval of one asset.
public struct ReadingPoint: Sendable, Equatable {
    public var intervalStart: UInt64
    public var importWh: UInt64
    public var exportWh: UInt64
    public init(intervalStart: UInt64, importWh: UInt64, exportWh: UInt64) {
        self.intervalStart = intervalStart; self.importWh = importWh; self.exportWh = exportWh
    }
    public var netInWh: Int64 { Int64(clamping: importWh) &- Int64(clamping: exportWh) }
}

/// An energy transfer touching an asset.
public struct TransferRow: Sendable, Equatable {
    public var from: AssetID
    public var to: AssetID
    /// Untrusted names (nil: unknown asset).
    public var fromName: String?
    public var toName: String?
    public var intervalStart: UInt64
    public var wh: UInt64
    public var priceMicrosPerKwh: UInt64
    public var origin: EventOrigin?
    public init(from: AssetID, to: AssetID, fromName: String? = nil, toName: String? = nil, intervalStart: UInt64,
                wh: UInt64, priceMicrosPerKwh: UInt64, origin: EventOrigin? = nil) {
        self.from = from; self.to = to; self.fromName = fromName; self.toName = toName
        self.intervalStart = intervalStart; self.wh = wh; self.priceMicrosPerKwh = priceMicrosPerKwh; self.origin = origin
    }
}

/// What the operator needs to know about one asset beyond the tree.
public struct AssetDetail: Sendable, Equatable {
    /// Oldest first.
    public var readings: [ReadingPoint]
    /// Newest first.
    public var transfers: [TransferRow]
    public init(readings: [ReadingPoint] = [], transfers: [TransferRow] = []) {
        self.readings = readings; self.transfers = transfers
    }
}

/// How far a block has been checked.
public enum BlockVerification: String, Sendable, Equatable {
    /// Header hash recomputed and the quorum of nodes agrees.
    case verified
    /// Seen, not yet compared or hashed.
    case pending
    /// Nodes disagree about this height.
    case disputed
    /// The header does not hash to the block's hash.
    case invalid
}

/// One decoded grid event inside a transaction.
public struct BlockEvent: Sendable, Equatable {
    public var event: GridEvent
    public var origin: EventOrigin
    /// Names of the assets it touches (untrusted), when known.
    public var assetName: String?
    public var counterpartName: String?
    /// Why the decoder rejected the log, if it did (untrusted text).
    public var rejected: String?
    public init(event: GridEvent, origin: EventOrigin, assetName: String? = nil, counterpartName: String? = nil, rejected: String? = nil) {
        self.event = event; self.origin = origin; self.assetName = assetName
        self.counterpartName = counterpartName; self.rejected = rejected
    }

    /// The asset the event is about (a transfer's seller).
    public var asset: AssetID {
        switch event {
        case .assetRegistered(let r): return r.asset
        case .meterReading(let m): return m.asset
        case .energyTransfer(let t): return t.from
        }
    }
}

public struct BlockTransaction: Sendable, Equatable {
    public var hash: Bytes32
    public var from: Address?
    public var events: [BlockEvent]
    public init(hash: Bytes32, from: Address? = nil, events: [BlockEvent]) {
        self.hash = hash; self.from = from; self.events = events
    }
}

/// Everything known about one block, for the drill-down.
public struct BlockDetail: Sendable, Equatable {
    public var header: BlockHeader
    public var verification: BlockVerification
    /// Nodes that report the same hash at this height (safe display names).
    public var agreeingNodes: [String]
    public var disagreeingNodes: [String]
    public var transactions: [BlockTransaction]
    public init(header: BlockHeader, verification: BlockVerification, agreeingNodes: [String] = [],
                disagreeingNodes: [String] = [], transactions: [BlockTransaction] = []) {
        self.header = header; self.verification = verification; self.agreeingNodes = agreeingNodes
        self.disagreeingNodes = disagreeingNodes; self.transactions = transactions
    }
}

/// One validator's record over the recent window.
public struct ValidatorStats: Sendable, Equatable {
    public var address: Address
    /// Untrusted label, when known.
    public var name: String?
    public var proposals: Int
    public var lastProposed: UInt64?
    /// Turns it should have taken but did not (nil: the consensus protocol does not say).
    public var missedTurns: Int?
    /// Share of its proposals made in turn (0…1); nil when unknown.
    public var inTurnShare: Double?
    public init(address: Address, name: String? = nil, proposals: Int, lastProposed: UInt64? = nil,
                missedTurns: Int? = nil, inTurnShare: Double? = nil) {
        self.address = address; self.name = name; self.proposals = proposals; self.lastProposed = lastProposed
        self.missedTurns = missedTurns; self.inTurnShare = inTurnShare
    }
}

/// Consensus health beyond the node list.
public struct ConsensusStats: Sendable, Equatable {
    /// "qbft", "clique", "aura", … (nil: unknown).
    public var protocolName: String?
    public var validators: [ValidatorStats]
    /// Seconds between consecutive blocks, oldest first.
    public var blockIntervals: [Double]
    public var targetBlockSeconds: Double?
    public init(protocolName: String? = nil, validators: [ValidatorStats] = [], blockIntervals: [Double] = [], targetBlockSeconds: Double? = nil) {
        self.protocolName = protocolName; self.validators = validators; self.blockIntervals = blockIntervals
        self.targetBlockSeconds = targetBlockSeconds
    }
}

/// Alarm-system key performance indicators (ISA-18.2 / EEMUA 191).
public struct AlarmKPIs: Sendable, Equatable {
    /// Annunciated alarms in the last 10 minutes.
    public var alarmsLast10Min: Int
    /// Alarms per hour over the shift so far.
    public var alarmsPerHour: Double?
    /// ≥ 10 alarms in 10 minutes.
    public var flood: Bool
    /// Share of time in flood (0…1) over the shift.
    public var timeInFlood: Double?
    /// Active for more than 24 h.
    public var stale: Int
    /// ≥ 3 activate/clear cycles within a minute.
    public var chattering: Int
    public init(alarmsLast10Min: Int, alarmsPerHour: Double? = nil, flood: Bool? = nil, timeInFlood: Double? = nil,
                stale: Int = 0, chattering: Int = 0) {
        self.alarmsLast10Min = alarmsLast10Min; self.alarmsPerHour = alarmsPerHour
        self.flood = flood ?? (alarmsLast10Min >= AlarmKPIs.floodThreshold)
        self.timeInFlood = timeInFlood; self.stale = stale; self.chattering = chattering
    }
    public static let floodThreshold = 10
}

/// Shelving, inhibition and comments of one alarm (ISA-18.2 states the
/// snapshot's `Alarm` does not carry yet).
public struct AlarmAnnotation: Sendable, Equatable {
    /// Unix seconds when a timed shelve ends; `.infinity` for one-shot (until it clears).
    public var shelvedUntil: Double?
    public var shelveReason: String?
    public var shelvedBy: String?
    /// The alarm id (or a description) that inhibits this one.
    public var inhibitedBy: String?
    /// Operator comments, oldest first (untrusted? no: local, still sanitized).
    public var comments: [String]
    public init(shelvedUntil: Double? = nil, shelveReason: String? = nil, shelvedBy: String? = nil,
                inhibitedBy: String? = nil, comments: [String] = []) {
        self.shelvedUntil = shelvedUntil; self.shelveReason = shelveReason; self.shelvedBy = shelvedBy
        self.inhibitedBy = inhibitedBy; self.comments = comments
    }
    public var isShelved: Bool { shelvedUntil != nil }
    public var isInhibited: Bool { inhibitedBy != nil }
}

/// Everything the operator's screen shows, as one immutable value.
public struct ScreenData: Sendable, Equatable {
    public var snapshot: MonitorSnapshot
    /// The grid's tree with balances and suspects. nil: Grid view says "not available".
    public var grid: GridTree?
    /// Per-asset readings and transfers. Missing assets: "no history".
    public var assets: [AssetID: AssetDetail]
    /// Per-block header, verification, transactions and decoded events.
    public var blocks: [UInt64: BlockDetail]
    /// Validators and block intervals. nil: derived from `recentBlocks` where possible.
    public var consensus: ConsensusStats?
    /// Alarm-system KPIs. nil: only what the alarm list itself gives.
    public var kpis: AlarmKPIs?
    /// Shelved and inhibited alarms are not in `snapshot.alarms`' visible set
    /// on every engine; list them here (they appear when the operator toggles them on).
    public var hiddenAlarms: [Alarm]
    /// Shelving / inhibition / comments by alarm id.
    public var annotations: [Int: AlarmAnnotation]
    /// Counts when the engine only reports numbers (nil: count `annotations`).
    public var shelvedCount: Int?
    public var inhibitedCount: Int?
    /// Per-stage unaccounted energy of past settled intervals, oldest first, for
    /// the Overview trend. Empty: the screen accumulates it from snapshots.
    public var stageTrend: [Stage: [Int64]]

    public init(snapshot: MonitorSnapshot, grid: GridTree? = nil, assets: [AssetID: AssetDetail] = [:],
                blocks: [UInt64: BlockDetail] = [:], consensus: ConsensusStats? = nil, kpis: AlarmKPIs? = nil,
                hiddenAlarms: [Alarm] = [], annotations: [Int: AlarmAnnotation] = [:], shelvedCount: Int? = nil,
                inhibitedCount: Int? = nil, stageTrend: [Stage: [Int64]] = [:]) {
        self.snapshot = snapshot; self.grid = grid; self.assets = assets; self.blocks = blocks
        self.consensus = consensus; self.kpis = kpis; self.hiddenAlarms = hiddenAlarms; self.annotations = annotations
        self.shelvedCount = shelvedCount; self.inhibitedCount = inhibitedCount; self.stageTrend = stageTrend
    }

    /// The screen data for a bare snapshot: every extra empty.
    public static func from(_ snapshot: MonitorSnapshot) -> ScreenData { ScreenData(snapshot: snapshot) }

    public var shelved: Int { shelvedCount ?? annotations.values.filter(\.isShelved).count }
    public var inhibited: Int { inhibitedCount ?? annotations.values.filter(\.isInhibited).count }

    /// All alarms the Alarms view can list (visible plus the hidden ones, once each).
    public var allAlarms: [Alarm] {
        if hiddenAlarms.isEmpty { return snapshot.alarms }
        let ids = Set(snapshot.alarms.map(\.id))
        return snapshot.alarms + hiddenAlarms.filter { !ids.contains($0.id) }
    }

    /// Consensus stats, derived from the recent blocks when the extras are missing.
    public var consensusOrDerived: ConsensusStats {
        if let c = consensus { return c }
        var byProposer: [Address: (Int, UInt64)] = [:]
        for b in snapshot.recentBlocks {
            let cur = byProposer[b.proposer] ?? (0, 0)
            byProposer[b.proposer] = (cur.0 + 1, max(cur.1, b.number))
        }
        let validators = byProposer.map { ValidatorStats(address: $0.key, proposals: $0.value.0, lastProposed: $0.value.1) }
            .sorted { $0.address < $1.address }
        let ts = snapshot.recentBlocks.sorted { $0.number < $1.number }
        var intervals: [Double] = []
        for i in ts.indices.dropFirst() where ts[i].number == ts[i - 1].number + 1 {
            intervals.append(Double(ts[i].timestamp) - Double(ts[i - 1].timestamp))
        }
        return ConsensusStats(validators: validators, blockIntervals: intervals)
    }
}
