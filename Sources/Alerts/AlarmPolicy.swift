import ChainCore
import GridCore

/// How long a condition must persist before the alarm changes state (anti-chatter).
///
/// Both parts must hold: at least `evaluations` consecutive evaluations that agree
/// (a detector reporting the condition present, or absent), and at least `seconds`
/// of wall-clock time since the first of them. `.immediate` is one evaluation, no wait.
public struct AlarmDelay: Sendable, Equatable {
    public var evaluations: Int
    public var seconds: Double
    public init(evaluations: Int = 1, seconds: Double = 0) {
        self.evaluations = max(1, evaluations); self.seconds = max(0, seconds)
    }
    public static let immediate = AlarmDelay()
    public static func seconds(_ s: Double) -> AlarmDelay { AlarmDelay(evaluations: 1, seconds: s) }
    public static func evaluations(_ n: Int) -> AlarmDelay { AlarmDelay(evaluations: n, seconds: 0) }
    public var isImmediate: Bool { evaluations <= 1 && seconds <= 0 }
}

/// Per-kind alarm settings: priority, on-delay and off-delay.
public struct AlarmPolicy: Sendable, Equatable {
    public var priority: AlarmPriority
    public var onDelay: AlarmDelay
    public var offDelay: AlarmDelay
    public init(priority: AlarmPriority, onDelay: AlarmDelay = .immediate, offDelay: AlarmDelay = .immediate) {
        self.priority = priority; self.onDelay = onDelay; self.offDelay = offDelay
    }

    /// The documented defaults (docs/alerts-json.md). The grid detectors have their own
    /// hysteresis (CUSUM, 4 intervals back in band, 3 silent intervals), so their alarms
    /// follow them at once; node alarms, evaluated every second, get delays against flapping.
    public static func `default`(for kind: AlarmKind) -> AlarmPolicy {
        switch kind {
        case .nodeDown: return AlarmPolicy(priority: kind.defaultPriority, offDelay: .seconds(10))
        case .nodeDivergent: return AlarmPolicy(priority: kind.defaultPriority, onDelay: .seconds(3), offDelay: .seconds(10))
        // A probe window that shows missed turns twice in a row; two clean probes to clear.
        case .validatorMissingTurns: return AlarmPolicy(priority: kind.defaultPriority, onDelay: .evaluations(2), offDelay: .evaluations(2))
        // Catching up after a restart or a burst is normal: only a lag that lasts counts.
        case .nodeLag: return AlarmPolicy(priority: kind.defaultPriority, onDelay: .seconds(30), offDelay: .seconds(10))
        case .lowPeers: return AlarmPolicy(priority: kind.defaultPriority, onDelay: .seconds(30), offDelay: .seconds(10))
        default: return AlarmPolicy(priority: kind.defaultPriority)
        }
    }

    public static var defaults: [AlarmKind: AlarmPolicy] {
        Dictionary(uniqueKeysWithValues: AlarmKind.allCases.map { ($0, AlarmPolicy.default(for: $0)) })
    }
}

extension AlarmKind {
    /// About the grid (an asset with a stage), as opposed to the ledger (nodes, consensus).
    public var isGridSide: Bool {
        switch self {
        case .suspectedTheft, .staleMeter, .conflictingReading, .transferMismatch: return true
        case .consensusStall, .nodeDivergent, .nodeDown, .validatorMissingTurns, .nodeLag, .lowPeers, .deepReorg: return false
        }
    }
    /// Conclusions drawn from on-chain evidence (a fork or a lying node can fake them).
    public var isEvidenceDerived: Bool {
        switch self {
        case .suspectedTheft, .conflictingReading, .transferMismatch: return true
        default: return false
        }
    }
}

/// What an operator does to an alarm. Every action is journalled before it is reported done.
public enum OperatorAction: Sendable, Equatable {
    case acknowledge(comment: String?)
    /// Timed shelving needs `until` (wall clock, in the future) and a reason; one-shot needs a reason.
    case shelve(Shelving.Mode, until: Double?, reason: String)
    case unshelve(reason: String?)
    case comment(String)
    case removeFromService(reason: String)
    case returnToService(reason: String?)

    public var event: AlarmEvent {
        switch self {
        case .acknowledge: return .acknowledged
        case .shelve: return .shelved
        case .unshelve: return .unshelved
        case .comment: return .commented
        case .removeFromService: return .outOfService
        case .returnToService: return .returnedToService
        }
    }
}

public enum AlarmActionError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownAlarm(Int)
    case alreadyAcknowledged(Int)
    case reasonRequired
    case operatorRequired
    case expiryRequired
    case expiryNotInFuture
    case oneShotNeedsActiveAlarm(Int)
    case notShelved(Int)
    case alreadyOutOfService(Int)
    case notOutOfService(Int)
    case emptyComment

    public var description: String {
        switch self {
        case .unknownAlarm(let id): return "no alarm \(id)"
        case .alreadyAcknowledged(let id): return "alarm \(id) is already acknowledged"
        case .reasonRequired: return "a reason is required"
        case .operatorRequired: return "an operator name is required"
        case .expiryRequired: return "timed shelving needs an expiry"
        case .expiryNotInFuture: return "the shelf must expire in the future"
        case .oneShotNeedsActiveAlarm(let id): return "alarm \(id) is not active: a one-shot shelf would end at once"
        case .notShelved(let id): return "alarm \(id) is not shelved"
        case .alreadyOutOfService(let id): return "alarm \(id) is already out of service"
        case .notOutOfService(let id): return "alarm \(id) is not out of service"
        case .emptyComment: return "the comment is empty"
        }
    }
}
