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

    /// Default priority per kind (documented in docs/alerts-json.md).
    public var defaultPriority: AlarmPriority {
        switch self {
        case .suspectedTheft: return .high
        case .conflictingReading, .transferMismatch: return .medium
        case .staleMeter: return .low
        case .consensusStall: return .critical
        case .nodeDivergent: return .high
        case .nodeDown: return .medium
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
    /// The condition is present now.
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
    /// Who acknowledged it, and when (wall clock).
    public var acknowledgedBy: String?

    public var key: AlarmKey { AlarmKey(kind: kind, asset: asset) }
    /// Shown while active or not yet acknowledged: alarms never vanish on their own.
    public var isVisible: Bool { active || !acknowledged }
    public var stageName: String { stage?.name ?? "ledger" }

    public init(id: Int, kind: AlarmKind, asset: AssetID, assetName: String, stage: Stage?, priority: AlarmPriority,
                active: Bool, acknowledged: Bool, raisedAt: Double, changedAt: Double, interval: UInt64?,
                message: String, count: Int, origin: EventOrigin?) {
        self.id = id; self.kind = kind; self.asset = asset; self.assetName = assetName; self.stage = stage
        self.priority = priority; self.active = active; self.acknowledged = acknowledged; self.raisedAt = raisedAt
        self.changedAt = changedAt; self.interval = interval; self.message = message; self.count = count
        self.origin = origin
    }
}

/// One alarm per (kind, asset) condition.
public struct AlarmKey: Hashable, Sendable {
    public var kind: AlarmKind
    public var asset: AssetID
    public init(kind: AlarmKind, asset: AssetID) { self.kind = kind; self.asset = asset }
}
