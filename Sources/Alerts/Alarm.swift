import ChainCore
import GridCore

/// What kind of abnormal condition an alarm reports.
public enum AlarmKind: String, Sendable, Equatable, Hashable, CaseIterable {
    /// A segment's balance shows energy entering it that no downstream meter saw.
    case suspectedTheft = "suspected-theft"
    /// A meter stopped reporting.
    case staleMeter = "stale-meter"
    /// Two different readings for the same (asset, interval).
    case conflictingReading = "conflicting-reading"
    /// Energy sold beyond what the seller's meter exported (or bought beyond import).
    case transferMismatch = "transfer-mismatch"
    /// No new block for too long.
    case consensusStall = "consensus-stall"
    /// A node disagrees with the quorum about a block hash.
    case nodeDivergent = "node-divergent"
    /// A node is unreachable.
    case nodeDown = "node-down"
    /// A validator keeps missing its turns to propose (from the consensus probe).
    case validatorMissingTurns = "validator-missing-turns"
    /// A node's head is behind the quorum's best head for too long.
    case nodeLag = "node-lag"
    /// A node has fewer peers than the configured minimum.
    case lowPeers = "low-peers"
    /// A reorg orphaned many blocks (or more than the client could follow).
    case deepReorg = "deep-reorg"

    /// Default priority per kind (documented in docs/alerts-json.md).
    public var defaultPriority: AlarmPriority {
        switch self {
        case .suspectedTheft: return .high
        case .conflictingReading, .transferMismatch: return .medium
        case .staleMeter: return .low
        case .consensusStall: return .critical
        case .nodeDivergent: return .high
        case .nodeDown: return .medium
        case .validatorMissingTurns: return .medium
        case .nodeLag: return .low
        case .lowPeers: return .low
        case .deepReorg: return .high
        }
    }
}

public enum AlarmPriority: Int, Sendable, Comparable, CaseIterable {
    case critical = 0, high = 1, medium = 2, low = 3

    public static func < (a: AlarmPriority, b: AlarmPriority) -> Bool { a.rawValue < b.rawValue }

    public var name: String {
        switch self {
        case .critical: return "critical"
        case .high: return "high"
        case .medium: return "medium"
        case .low: return "low"
        }
    }
    /// One letter, so priority is never shown by colour alone.
    public var letter: Character {
        switch self {
        case .critical: return "C"
        case .high: return "H"
        case .medium: return "M"
        case .low: return "L"
        }
    }
}

/// How an alarm is shelved (OPC UA Part 9 `ShelvedStateMachineType`).
public struct Shelving: Sendable, Equatable {
    public enum Mode: String, Sendable, Equatable {
        /// Until `until` (wall clock); reason and expiry are required.
        case timed
        /// Until the alarm returns to normal (its condition clears).
        case oneShot = "one-shot"
    }
    public var mode: Mode
    /// Wall-clock unix seconds when a timed shelf expires; nil for one-shot.
    public var until: Double?
    public var reason: String
    public var by: String
    public var at: Double

    public init(mode: Mode, until: Double?, reason: String, by: String, at: Double) {
        self.mode = mode; self.until = until; self.reason = reason; self.by = by; self.at = at
    }
}

/// An alarm taken out of service (maintenance, known-bad meter): evaluated, never annunciated.
public struct OutOfService: Sendable, Equatable {
    public var reason: String
    public var by: String
    public var at: Double
    public init(reason: String, by: String, at: Double) { self.reason = reason; self.by = by; self.at = at }
}

/// The ISA-18.2 state of an alarm's condition and acknowledgement.
public enum AlarmState: String, Sendable, Equatable {
    /// Inactive and acknowledged: nothing to show.
    case normal
    /// Active, not acknowledged.
    case unacknowledged
    /// Active, acknowledged.
    case acknowledged
    /// Returned to normal, not acknowledged yet.
    case returnedUnacknowledged = "returned-unacknowledged"
}

/// One alarm as the operator sees it: one per (kind, asset) condition.
public struct Alarm: Sendable, Equatable, Identifiable {
    public var id: Int
    public var kind: AlarmKind
    public var asset: AssetID
    /// Untrusted (from the chain): sanitize before display.
    public var assetName: String
    /// The grid stage of the asset; nil for ledger alarms (nodes, consensus).
    public var stage: Stage?
    public var priority: AlarmPriority
    /// The condition is present now (after on/off delays).
    public var active: Bool
    public var acknowledged: Bool
    /// Unix seconds (wall clock) when first raised, and of the last change.
    public var raisedAt: Double
    public var changedAt: Double
    /// Interval start (unix seconds, chain time) that raised it, if any.
    public var interval: UInt64?
    public var message: String
    /// How often the condition came back (repeats counted, not duplicated).
    public var count: Int
    /// The block and log that carried the evidence, for drill-down.
    public var origin: EventOrigin?
    /// Who acknowledged it, and when (wall clock), with the operator's comment.
    public var acknowledgedBy: String?
    public var acknowledgedAt: Double?
    public var acknowledgeComment: String?
    /// Wall-clock unix seconds of the current activation (nil while cleared).
    public var activeSince: Double?
    /// Set while shelved (timed or one-shot).
    public var shelving: Shelving?
    /// Set while out of service.
    public var outOfService: OutOfService?
    /// Suppressed by design: the id of the upstream alarm that explains this one (inhibition).
    public var suppressedBy: Int?
    /// The current activation was shown to an operator (it was active while not shelved,
    /// suppressed or out of service). An alarm nobody was shown does not demand acknowledgement.
    public var annunciated: Bool
    /// The last operator comment, and how many comments there are.
    public var lastComment: String?
    public var comments: Int
    /// Suspected theft: the consumers under the segment most likely to be stealing, most suspect first.
    public var suspects: [AlarmSuspect] = []

    public var key: AlarmKey { AlarmKey(kind: kind, asset: asset) }
    /// Not annunciated now: shelved, out of service or suppressed by an upstream cause.
    public var isHidden: Bool { shelving != nil || outOfService != nil || suppressedBy != nil }
    /// Shown while active or not yet acknowledged, unless hidden: alarms never vanish on their own.
    public var isVisible: Bool { !isHidden && (active || (!acknowledged && annunciated)) }
    public var stageName: String { stage?.name ?? "ledger" }
    public var state: AlarmState {
        switch (active, acknowledged) {
        case (true, false): return .unacknowledged
        case (true, true): return .acknowledged
        case (false, false): return .returnedUnacknowledged
        case (false, true): return .normal
        }
    }

    public init(id: Int, kind: AlarmKind, asset: AssetID, assetName: String, stage: Stage?, priority: AlarmPriority,
                active: Bool, acknowledged: Bool, raisedAt: Double, changedAt: Double, interval: UInt64?,
                message: String, count: Int, origin: EventOrigin?) {
        self.id = id; self.kind = kind; self.asset = asset; self.assetName = assetName; self.stage = stage
        self.priority = priority; self.active = active; self.acknowledged = acknowledged; self.raisedAt = raisedAt
        self.changedAt = changedAt; self.interval = interval; self.message = message; self.count = count
        self.origin = origin
        self.activeSince = active ? raisedAt : nil
        self.annunciated = active
        self.comments = 0
    }
}

/// One ranked suspect named by a suspected-theft alarm.
public struct AlarmSuspect: Sendable, Equatable {
    public var asset: AssetID
    /// Untrusted (from the chain): sanitize before display.
    public var name: String
    /// Standardised change score across the segment's consumers (larger: more suspect).
    public var score: Double
    /// Estimated energy the meter stopped recording since the change point (Wh).
    public var deficitWh: Double
    public init(asset: AssetID, name: String, score: Double, deficitWh: Double) {
        self.asset = asset; self.name = name; self.score = score; self.deficitWh = deficitWh
    }
}

/// One alarm per (kind, asset) condition.
public struct AlarmKey: Hashable, Sendable {
    public var kind: AlarmKind
    public var asset: AssetID
    public init(kind: AlarmKind, asset: AssetID) { self.kind = kind; self.asset = asset }
}
