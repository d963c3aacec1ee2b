import AlarmJournal
import Alerts
import GridCore

/// What the control room reads: everything that can change what an operator sees,
/// in one ordered stream (`ControlRoom.send` / `ControlRoom.submit`).
public enum ControlRoomInput: Sendable {
    /// From the ledger client: the chain id, blocks, retractions, node statuses,
    /// consensus probes, reorg reports, warnings.
    case ledger(LedgerUpdate)
    /// The clock: time-driven checks (consensus stall, shelve expiry, KPI windows, node ages).
    /// About once a second.
    case tick
    /// An operator's action, applied in the order sent. `reply` hears the outcome once the
    /// action is durable in the journal, or refused (then nothing changed).
    case action(OperatorRequest, reply: (@Sendable (ActionOutcome) -> Void)? = nil)
    /// Journal rows written by other processes (`gridtop alarms ack …`, another console),
    /// oldest first. Rows already applied, and the core's own rows, are skipped.
    case journalRows([JournalEntry])
}

/// What became of an operator's action.
public enum ActionOutcome: Sendable, Equatable {
    /// Durable (journalled, when the core has a journal): the transitions it made.
    case done([AlarmTransition])
    /// Not allowed or not written: nothing changed.
    case refused(ActionRefusal)

    /// The refusal, if the action was refused.
    public var refusal: ActionRefusal? {
        if case .refused(let r) = self { return r }
        return nil
    }
}

/// An operator action the control room did not carry out, and why, in words an operator reads:
/// `acknowledge of alarm 3 by bob refused: alarm 3 is already acknowledged by alice`.
public struct ActionRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was asked.
    public var request: OperatorRequest
    /// Why it was refused.
    public var reason: String
    /// The alarm rule that refused it; nil when the journal could not be written or read.
    public var rule: AlarmActionError?

    public init(request: OperatorRequest, reason: String, rule: AlarmActionError? = nil) {
        self.request = request; self.reason = reason; self.rule = rule
    }

    public var description: String { "\(request.summary) refused: \(reason)" }
}
