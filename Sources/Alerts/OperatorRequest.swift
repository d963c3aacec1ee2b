/// One operator action aimed at one alarm, with who asked for it: the single type every
/// console (the dashboard, `gridtop alarms …`, later the alarm server) hands to the
/// control-room core. The screen never pretends it happened: the next snapshot shows it.
public struct OperatorRequest: Sendable, Equatable {
    /// The alarm's id (`Alarm.id`).
    public var alarm: Int
    /// What to do (acknowledge, shelve, …).
    public var action: OperatorAction
    /// The operator's name, recorded in the journal with the action.
    public var by: String

    public init(alarm: Int, action: OperatorAction, by: String) {
        self.alarm = alarm; self.action = action; self.by = by
    }

    /// `acknowledge of alarm 3 by alice`: how the request is named in a refusal.
    public var summary: String { "\(action.verb) of alarm \(alarm) by \(by)" }
}

extension OperatorAction {
    /// The action as an operator says it (`acknowledge`, `shelve`, `out-of-service`, …).
    public var verb: String {
        switch self {
        case .acknowledge: return "acknowledge"
        case .shelve: return "shelve"
        case .unshelve: return "unshelve"
        case .comment: return "comment"
        case .removeFromService: return "out-of-service"
        case .returnToService: return "return-to-service"
        }
    }
}
