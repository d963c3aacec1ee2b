import ChainCore
import GridCore

/// A condition a detector reports: the input to the alarm book.
public struct AlarmCondition: Sendable, Equatable {
    public var kind: AlarmKind
    public var asset: AssetID
    public var assetName: String
    public var stage: Stage?
    public var interval: UInt64?
    public var message: String
    public var origin: EventOrigin?

    public init(kind: AlarmKind, asset: AssetID, assetName: String, stage: Stage?, interval: UInt64? = nil,
                message: String, origin: EventOrigin? = nil) {
        self.kind = kind; self.asset = asset; self.assetName = assetName; self.stage = stage
        self.interval = interval; self.message = message; self.origin = origin
    }
}

public enum AlarmEvent: String, Sendable, Equatable {
    case raised, cleared, acknowledged
}

/// A change of one alarm's state, as journalled and streamed (`gridtop alerts --json`).
public struct AlarmTransition: Sendable, Equatable {
    public var event: AlarmEvent
    public var alarm: Alarm
    /// Wall-clock unix seconds.
    public var at: Double
    public var by: String?
}

/// The set of alarms and their life cycle: active/cleared × unacknowledged/acknowledged.
///
/// One alarm per (kind, asset); a condition that returns counts a repeat
/// instead of adding a row; a cleared alarm stays until acknowledged.
public struct AlarmBook: Sendable {
    public private(set) var alarms: [AlarmKey: Alarm] = [:]
    private var nextId = 1

    public init() {}

    public mutating func raise(_ c: AlarmCondition, now: Double) -> AlarmTransition? {
        let key = AlarmKey(kind: c.kind, asset: c.asset)
        if var a = alarms[key] {
            if a.active {
                // Still the same condition: keep it fresh, no new transition.
                a.message = c.message
                if let i = c.interval { a.interval = i }
                alarms[key] = a
                return nil
            }
            a.active = true
            a.acknowledged = false
            a.acknowledgedBy = nil
            a.count += 1
            a.changedAt = now
            a.message = c.message
            a.interval = c.interval ?? a.interval
            a.origin = c.origin ?? a.origin
            alarms[key] = a
            return AlarmTransition(event: .raised, alarm: a, at: now)
        }
        let a = Alarm(id: nextId, kind: c.kind, asset: c.asset, assetName: c.assetName, stage: c.stage,
                      priority: c.kind.defaultPriority, active: true, acknowledged: false, raisedAt: now,
                      changedAt: now, interval: c.interval, message: c.message, count: 1, origin: c.origin)
        nextId += 1
        alarms[key] = a
        return AlarmTransition(event: .raised, alarm: a, at: now)
    }

    public mutating func clear(_ kind: AlarmKind, asset: AssetID, now: Double, message: String? = nil) -> AlarmTransition? {
        let key = AlarmKey(kind: kind, asset: asset)
        guard var a = alarms[key], a.active else { return nil }
        a.active = false
        a.changedAt = now
        if let message { a.message = message }
        alarms[key] = a
        return AlarmTransition(event: .cleared, alarm: a, at: now)
    }

    public mutating func acknowledge(id: Int, by who: String, now: Double) -> AlarmTransition? {
        guard let key = alarms.first(where: { $0.value.id == id })?.key, var a = alarms[key], !a.acknowledged else { return nil }
        a.acknowledged = true
        a.acknowledgedBy = who
        a.changedAt = now
        alarms[key] = a
        return AlarmTransition(event: .acknowledged, alarm: a, at: now, by: who)
    }

    public func isActive(_ kind: AlarmKind, _ asset: AssetID) -> Bool {
        alarms[AlarmKey(kind: kind, asset: asset)]?.active ?? false
    }

    /// What the operator must see: active or unacknowledged, most urgent first
    /// (unacknowledged active, then by priority, then newest).
    public var visible: [Alarm] {
        alarms.values.filter(\.isVisible).sorted { x, y in
            func rank(_ a: Alarm) -> Int { (a.active ? 0 : 2) + (a.acknowledged ? 1 : 0) }
            if rank(x) != rank(y) { return rank(x) < rank(y) }
            if x.priority != y.priority { return x.priority < y.priority }
            if x.changedAt != y.changedAt { return x.changedAt > y.changedAt }
            return x.id < y.id
        }
    }
}
