import Alerts
import ChainCore
import GridCore

/// The state of the control room as a front end shows it: the monitor (alarms, grid,
/// nodes, ledger), the latest consensus probe and the time it was taken at.
public struct ControlRoomState: Sendable {
    /// The pure monitor after the last input (a copy: later inputs do not change it).
    public var monitor: Monitor
    /// The latest consensus health probe (validators, missed turns, timing), if any.
    public var consensus: ConsensusHealth?
    /// Wall clock (unix seconds) of this state.
    public var now: Double

    public init(monitor: Monitor, consensus: ConsensusHealth?, now: Double) {
        self.monitor = monitor; self.consensus = consensus; self.now = now
    }
}

/// A front end's view of the control room (the dashboard's screen builder, a test's probe).
///
/// The core calls it on its own executor, one call at a time, in input order:
/// `record` with every ledger update, `show` whenever what an operator sees changed.
/// A state given to `show` never holds a transition the journal does not have yet.
public protocol ControlRoomDisplay: Sendable {
    /// Every ledger update, before the state after it is shown (block history for drill-downs).
    mutating func record(_ update: LedgerUpdate)
    /// A new state to show. Must not block: build what the screen needs and hand it over.
    mutating func show(_ state: ControlRoomState)
}

extension ControlRoomDisplay {
    public mutating func record(_ update: LedgerUpdate) {}
}
