import Foundation
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
    /// Overrides the kind's priority (e.g. a reorg beyond the client's limit is critical).
    public var priority: AlarmPriority?
    /// Ranked suspects (suspected theft).
    public var suspects: [AlarmSuspect]

    public init(kind: AlarmKind, asset: AssetID, assetName: String, stage: Stage?, interval: UInt64? = nil,
                message: String, origin: EventOrigin? = nil, priority: AlarmPriority? = nil, suspects: [AlarmSuspect] = []) {
        self.kind = kind; self.asset = asset; self.assetName = assetName; self.stage = stage
        self.interval = interval; self.message = message; self.origin = origin
        self.priority = priority; self.suspects = suspects
    }
}

/// Every way an alarm changes. The raw values are the `event` field of docs/alerts-json.md.
public enum AlarmEvent: String, Sendable, Equatable, CaseIterable {
    /// The condition became active (first time, or again: `count` goes up).
    case raised
    /// The condition went away (after the kind's off-delay).
    case cleared
    /// An operator acknowledged it (with an optional comment in `reason`).
    case acknowledged
    /// An operator shelved it (timed or one-shot, reason required).
    case shelved
    /// The shelf ended: by an operator, on expiry, or (one-shot) when the alarm returned to normal.
    case unshelved
    /// An operator added a comment.
    case commented
    /// An operator took it out of service (reason required).
    case outOfService = "out-of-service"
    /// An operator returned it to service.
    case returnedToService = "returned-to-service"
    /// Suppressed by design: an upstream alarm explains it (inhibition).
    case suppressed
    /// The upstream cause went away (or no longer explains it).
    case unsuppressed
    /// A reorg replaced the block that carried the evidence and the new branch confirms the
    /// condition: the alarm stays as it was (same id, count, acknowledgement, shelving), its
    /// evidence (`block`, `blockHash`, `transaction`, `logIndex`, `interval`, `message`) now the
    /// new branch's; `reason` says which reorg.
    case evidenceMoved = "evidence-moved"

    /// Done by a person (journalled with the operator's name).
    public var isOperatorAction: Bool {
        switch self {
        case .acknowledged, .shelved, .commented, .outOfService, .returnedToService: return true
        case .unshelved: return true  // may also be "system" (expiry, one-shot end); `by` says which
        case .raised, .cleared, .suppressed, .unsuppressed, .evidenceMoved: return false
        }
    }
}

/// A change of one alarm's state, as journalled and streamed (`gridtop alerts --json`).
public struct AlarmTransition: Sendable, Equatable {
    public var event: AlarmEvent
    /// The alarm after the transition.
    public var alarm: Alarm
    /// Wall-clock unix seconds.
    public var at: Double
    /// Who: the operator, or `system` for automatic ends of a shelf; nil for detector transitions.
    public var by: String?
    /// Why: the acknowledgement comment, shelving or out-of-service reason, the comment text, or why a shelf ended.
    public var reason: String?

    public init(event: AlarmEvent, alarm: Alarm, at: Double, by: String? = nil, reason: String? = nil) {
        self.event = event; self.alarm = alarm; self.at = at; self.by = by; self.reason = reason
    }
}

/// The set of alarms and their ISA-18.2 / OPC UA Part 9 life cycle.
///
/// One alarm per (kind, asset); a condition that returns counts a repeat instead
/// of adding a row; a cleared alarm stays until acknowledged. On- and off-delays
/// per kind debounce conditions hovering at a threshold. Shelved, suppressed and
/// out-of-service alarms keep being evaluated underneath; they are just not shown.
///
/// Every mutator returns its main transition (or nil) and also appends every
/// transition it made (e.g. `cleared` followed by a one-shot `unshelved`) to an
/// outbox; the monitor drains it with `takeTransitions()` and journals it.
public struct AlarmBook: Sendable {
    public internal(set) var alarms: [AlarmKey: Alarm] = [:]
    public var policies: [AlarmKind: AlarmPolicy]
    public private(set) var nextId = 1
    private var keyById: [Int: AlarmKey] = [:]
    private var debounce: [AlarmKey: Debounce] = [:]
    private var timedShelves: Set<Int> = []
    var outbox: [AlarmTransition] = []
    private var tracker = AlarmKPITracker()
    /// After a restart: conditions of the held kinds are judged in a shadow book until the
    /// monitor has read current data (`StartupJudgement.swift`).
    var held: HeldJudgement?
    /// The outbox keeps at most this many transitions when nobody drains it.
    public static let outboxLimit = 100_000
    public static let systemOperator = "system"

    /// A condition reported but not yet acted upon (on-delay), or an absence not yet acted upon (off-delay).
    struct Debounce: Sendable {
        var present: Bool
        var since: Double
        var evaluations: Int
        var condition: AlarmCondition?
        var cause: Int?
        var message: String?
    }

    public init(policies: [AlarmKind: AlarmPolicy] = AlarmPolicy.defaults) {
        self.policies = policies
    }

    public func policy(_ kind: AlarmKind) -> AlarmPolicy { policies[kind] ?? .default(for: kind) }

    public func alarm(id: Int) -> Alarm? { keyById[id].flatMap { alarms[$0] } }

    public subscript(key: AlarmKey) -> Alarm? { alarms[key] }

    /// Everything since the last call, in order.
    public mutating func takeTransitions() -> [AlarmTransition] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox
    }

    private mutating func emit(_ t: AlarmTransition) -> AlarmTransition {
        outbox.append(t)
        if outbox.count > Self.outboxLimit { outbox.removeFirst(outbox.count - Self.outboxLimit) }
        return t
    }

    // MARK: Conditions (detectors)

    /// The condition is present (one evaluation). Raises the alarm once the kind's on-delay is met;
    /// `inhibitedBy` is the id of an upstream alarm that explains it (suppressed by design).
    @discardableResult
    public mutating func raise(_ c: AlarmCondition, now: Double, inhibitedBy cause: Int? = nil) -> AlarmTransition? {
        let key = AlarmKey(kind: c.kind, asset: c.asset)
        if held != nil, held!.kinds.contains(c.kind) {
            held!.judge(key, present: true, message: c.message)
            held!.shadow[0].raise(c, now: now, inhibitedBy: nil)
            _ = held!.shadow[0].takeTransitions()
            return nil
        }
        if let i = alarms.index(forKey: key), alarms.values[i].active {
            // Still the same condition: keep it fresh (in place), cancel a pending clear, no new transition.
            if !debounce.isEmpty { debounce[key] = nil }
            alarms.values[i].message = c.message
            if let iv = c.interval { alarms.values[i].interval = iv }
            if !c.suspects.isEmpty { alarms.values[i].suspects = c.suspects }
            if let p = c.priority, p < alarms.values[i].priority { alarms.values[i].priority = p }
            return nil
        }
        let delay = policy(c.kind).onDelay
        if delay.isImmediate {
            debounce[key] = nil
            return activate(c, now: now, cause: cause)
        }
        var d = debounce[key].flatMap { $0.present ? $0 : nil } ?? Debounce(present: true, since: now, evaluations: 0)
        d.evaluations += 1
        d.condition = c
        d.cause = cause
        if d.evaluations >= delay.evaluations && now - d.since >= delay.seconds {
            debounce[key] = nil
            return activate(c, now: now, cause: cause)
        }
        debounce[key] = d
        return nil
    }

    /// A reorg moved the evidence of an active alarm to the new branch (`evidence-moved`): the
    /// condition is unchanged, so is everything the operator did; the evidence and its message
    /// are the new branch's. Nil (and nothing emitted) when the alarm is not active or the
    /// evidence is where it was.
    @discardableResult
    public mutating func moveEvidence(_ c: AlarmCondition, now: Double, reason: String) -> AlarmTransition? {
        let key = AlarmKey(kind: c.kind, asset: c.asset)
        guard var a = alarms[key], a.active else { return nil }
        let moved = a.origin != c.origin || (c.interval != nil && a.interval != c.interval)
        a.message = c.message
        if let iv = c.interval { a.interval = iv }
        if !c.suspects.isEmpty { a.suspects = c.suspects }
        guard moved else {
            alarms[key] = a
            return nil
        }
        a.origin = c.origin
        a.changedAt = now
        alarms[key] = a
        return emit(AlarmTransition(event: .evidenceMoved, alarm: a, at: now, reason: reason))
    }

    /// The condition is absent (one evaluation). Clears the alarm once the kind's off-delay is met.
    @discardableResult
    public mutating func clear(_ kind: AlarmKind, asset: AssetID, now: Double, message: String? = nil, reason: String? = nil) -> AlarmTransition? {
        let key = AlarmKey(kind: kind, asset: asset)
        if held != nil, held!.kinds.contains(kind) {
            held!.judge(key, present: false, message: message)
            held!.shadow[0].clear(kind, asset: asset, now: now, message: message)
            _ = held!.shadow[0].takeTransitions()
            return nil
        }
        guard let a = alarms[key], a.active else {
            debounce[key] = nil  // a pending raise is called off
            return nil
        }
        let delay = policy(kind).offDelay
        if delay.isImmediate {
            debounce[key] = nil
            return deactivate(key, now: now, message: message, reason: reason)
        }
        var d = debounce[key].flatMap { $0.present ? nil : $0 } ?? Debounce(present: false, since: now, evaluations: 0)
        d.evaluations += 1
        if let message { d.message = message }
        if d.evaluations >= delay.evaluations && now - d.since >= delay.seconds {
            debounce[key] = nil
            return deactivate(key, now: now, message: d.message)
        }
        debounce[key] = d
        return nil
    }

    mutating func activate(_ c: AlarmCondition, now: Double, cause: Int?) -> AlarmTransition {
        let key = AlarmKey(kind: c.kind, asset: c.asset)
        var a: Alarm
        if var old = alarms[key] {
            old.active = true
            old.acknowledged = false
            old.acknowledgedBy = nil
            old.acknowledgedAt = nil
            old.acknowledgeComment = nil
            old.count += 1
            old.changedAt = now
            old.activeSince = now
            old.message = c.message
            old.assetName = c.assetName
            old.interval = c.interval ?? old.interval
            old.origin = c.origin ?? old.origin
            old.priority = c.priority ?? policy(c.kind).priority
            old.suspects = c.suspects
            a = old
        } else {
            a = Alarm(id: nextId, kind: c.kind, asset: c.asset, assetName: c.assetName, stage: c.stage,
                      priority: c.priority ?? policy(c.kind).priority, active: true, acknowledged: false, raisedAt: now,
                      changedAt: now, interval: c.interval, message: c.message, count: 1, origin: c.origin)
            a.suspects = c.suspects
            nextId += 1
            keyById[a.id] = key
        }
        if let cause, cause != a.id { a.suppressedBy = cause }
        a.annunciated = !a.isHidden
        alarms[key] = a
        tracker.recordActivation(id: a.id, priority: a.priority, annunciated: a.annunciated, at: now)
        return emit(AlarmTransition(event: .raised, alarm: a, at: now))
    }

    mutating func deactivate(_ key: AlarmKey, now: Double, message: String?, reason: String? = nil) -> AlarmTransition {
        var a = alarms[key]!
        a.active = false
        a.activeSince = nil
        a.changedAt = now
        if let message { a.message = message }
        alarms[key] = a
        let t = emit(AlarmTransition(event: .cleared, alarm: a, at: now, reason: reason))
        if a.shelving?.mode == .oneShot {
            a.shelving = nil
            alarms[key] = a
            _ = emit(AlarmTransition(event: .unshelved, alarm: a, at: now, by: Self.systemOperator,
                                     reason: "one-shot shelf ended: returned to normal"))
        }
        return t
    }

    /// Time-driven work: timed shelves that expired, and on/off-delays measured in seconds.
    /// Call about once a second; returns what changed (also in the outbox).
    @discardableResult
    public mutating func tick(now: Double) -> [AlarmTransition] {
        let before = outbox.count
        if held != nil {
            held!.shadow[0].tick(now: now)
            _ = held!.shadow[0].takeTransitions()
        }
        for id in timedShelves.sorted() {
            guard let key = keyById[id], var a = alarms[key], let s = a.shelving, s.mode == .timed else {
                timedShelves.remove(id); continue
            }
            guard let until = s.until, until <= now else { continue }
            timedShelves.remove(id)
            a.shelving = nil
            a.changedAt = now
            reannunciate(&a, now: now)
            alarms[key] = a
            _ = emit(AlarmTransition(event: .unshelved, alarm: a, at: now, by: Self.systemOperator, reason: "shelf expired"))
        }
        for (key, d) in debounce.sorted(by: { $0.value.since < $1.value.since }) {
            let delay = d.present ? policy(key.kind).onDelay : policy(key.kind).offDelay
            guard d.evaluations >= delay.evaluations, now - d.since >= delay.seconds else { continue }
            debounce[key] = nil
            if d.present, let c = d.condition {
                _ = activate(c, now: now, cause: d.cause)
            } else if !d.present, alarms[key]?.active == true {
                _ = deactivate(key, now: now, message: d.message)
            }
        }
        return Array(outbox[before...])
    }

    /// An alarm that becomes visible again while active has now been shown to an operator.
    private mutating func reannunciate(_ a: inout Alarm, now: Double) {
        if a.active && !a.isHidden && !a.annunciated {
            a.annunciated = true
            tracker.recordAnnunciation(id: a.id, priority: a.priority, at: now)
        }
    }

    // MARK: Inhibition (suppressed by design)

    /// Sets or removes the upstream cause of an alarm; emits `suppressed` / `unsuppressed` when it changes.
    @discardableResult
    public mutating func setSuppression(id: Int, cause: Int?, now: Double) -> AlarmTransition? {
        guard let key = keyById[id], var a = alarms[key], a.suppressedBy != cause, cause != id else { return nil }
        let was = a.suppressedBy
        a.suppressedBy = cause
        if cause == nil { reannunciate(&a, now: now) }
        alarms[key] = a
        if was != nil && cause != nil {
            return emit(AlarmTransition(event: .suppressed, alarm: a, at: now, reason: "now explained by alarm \(cause!)"))
        }
        return emit(AlarmTransition(event: cause == nil ? .unsuppressed : .suppressed, alarm: a, at: now,
                                    reason: cause.map { "explained by alarm \($0)" } ?? "upstream cause gone"))
    }

    // MARK: Operator actions

    /// Acknowledges (compatible form): nil when unknown or already acknowledged.
    @discardableResult
    public mutating func acknowledge(id: Int, by who: String, comment: String? = nil, now: Double) -> AlarmTransition? {
        try? perform(.acknowledge(comment: comment), on: id, by: who, now: now)
    }

    /// Applies an operator action; throws when it is not allowed (the reason says why).
    @discardableResult
    public mutating func perform(_ action: OperatorAction, on id: Int, by who: String, now: Double) throws(AlarmActionError) -> AlarmTransition {
        guard let key = keyById[id], var a = alarms[key] else { throw .unknownAlarm(id) }
        let who = who.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !who.isEmpty else { throw .operatorRequired }
        func required(_ s: String) throws(AlarmActionError) -> String {
            let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !t.isEmpty else { throw .reasonRequired }
            return t
        }
        func optional(_ s: String?) -> String? {
            s.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        var reason: String?
        switch action {
        case .acknowledge(let comment):
            guard !a.acknowledged else { throw .alreadyAcknowledged(id) }
            reason = optional(comment)
            a.acknowledged = true
            a.acknowledgedBy = who
            a.acknowledgedAt = now
            a.acknowledgeComment = reason
        case .shelve(let mode, let until, let why):
            reason = try required(why)
            if mode == .timed {
                guard let until else { throw .expiryRequired }
                guard until > now else { throw .expiryNotInFuture }
                timedShelves.insert(id)
            } else {
                guard a.active else { throw .oneShotNeedsActiveAlarm(id) }
                timedShelves.remove(id)
            }
            a.shelving = Shelving(mode: mode, until: mode == .timed ? until : nil, reason: reason!, by: who, at: now)
        case .unshelve(let why):
            guard a.shelving != nil else { throw .notShelved(id) }
            reason = optional(why)
            a.shelving = nil
            timedShelves.remove(id)
            reannunciate(&a, now: now)
        case .comment(let text):
            guard let t = optional(text) else { throw .emptyComment }
            reason = t
            a.lastComment = t
            a.comments += 1
        case .removeFromService(let why):
            guard a.outOfService == nil else { throw .alreadyOutOfService(id) }
            reason = try required(why)
            a.outOfService = OutOfService(reason: reason!, by: who, at: now)
        case .returnToService(let why):
            guard a.outOfService != nil else { throw .notOutOfService(id) }
            reason = optional(why)
            a.outOfService = nil
            reannunciate(&a, now: now)
        }
        a.changedAt = now
        alarms[key] = a
        return emit(AlarmTransition(event: action.event, alarm: a, at: now, by: who, reason: reason))
    }

    // MARK: Restoring from the journal

    /// Applies a journalled transition (event sourcing): the alarm set after replaying
    /// a journal in order is the one that wrote it. Detector events carry the condition's
    /// fields; operator events change only what the action changes, so actions journalled
    /// by another process (the `gridtop alarms` command) are never undone by a later
    /// detector transition written from an older copy. Emits nothing.
    public mutating func replay(_ t: AlarmTransition) {
        let s = t.alarm
        let key = s.key
        guard var a = alarms[key] else {
            var fresh = s
            if fresh.id >= nextId { nextId = fresh.id + 1 }
            fresh.changedAt = t.at
            alarms[key] = fresh
            keyById[fresh.id] = key
            if fresh.shelving?.mode == .timed { timedShelves.insert(fresh.id) }
            if t.event == .raised { tracker.recordActivation(id: s.id, priority: s.priority, annunciated: s.annunciated, at: t.at) }
            tracker.start(at: t.at)
            return
        }
        switch t.event {
        case .raised, .cleared:
            a.active = s.active
            a.activeSince = s.activeSince
            a.count = max(a.count, s.count)
            a.message = s.message
            a.assetName = s.assetName
            a.interval = s.interval
            a.origin = s.origin
            a.priority = s.priority
            if t.event == .raised {
                a.acknowledged = false
                a.acknowledgedBy = nil
                a.acknowledgedAt = nil
                a.acknowledgeComment = nil
                a.suppressedBy = s.suppressedBy
                a.annunciated = s.annunciated
                tracker.recordActivation(id: a.id, priority: a.priority, annunciated: s.annunciated, at: t.at)
            }
        case .evidenceMoved:
            a.message = s.message
            a.interval = s.interval
            a.origin = s.origin
            a.suspects = s.suspects
        case .suppressed, .unsuppressed:
            a.suppressedBy = s.suppressedBy
            if !a.annunciated && s.annunciated { tracker.recordAnnunciation(id: a.id, priority: a.priority, at: t.at) }
            a.annunciated = a.annunciated || s.annunciated
        case .acknowledged:
            a.acknowledged = true
            a.acknowledgedBy = t.by
            a.acknowledgedAt = t.at
            a.acknowledgeComment = t.reason
        case .shelved:
            a.shelving = s.shelving
            if s.shelving?.mode == .timed { timedShelves.insert(a.id) } else { timedShelves.remove(a.id) }
        case .unshelved:
            a.shelving = nil
            timedShelves.remove(a.id)
            reannunciate(&a, now: t.at)
        case .commented:
            a.lastComment = t.reason
            a.comments += 1
        case .outOfService:
            a.outOfService = s.outOfService ?? OutOfService(reason: t.reason ?? "", by: t.by ?? "", at: t.at)
        case .returnedToService:
            a.outOfService = nil
            reannunciate(&a, now: t.at)
        }
        a.changedAt = t.at
        alarms[key] = a
    }

    /// A book rebuilt from journalled transitions (oldest first).
    public init(replaying transitions: some Sequence<AlarmTransition>, policies: [AlarmKind: AlarmPolicy] = AlarmPolicy.defaults) {
        self.init(policies: policies)
        for t in transitions { replay(t) }
    }

    // MARK: Queries

    public func isActive(_ kind: AlarmKind, _ asset: AssetID) -> Bool {
        alarms[AlarmKey(kind: kind, asset: asset)]?.active ?? false
    }

    /// The list order: unacknowledged active, then by priority, then newest change.
    public static func urgency(_ x: Alarm, _ y: Alarm) -> Bool {
        func rank(_ a: Alarm) -> Int { (a.active ? 0 : 2) + (a.acknowledged ? 1 : 0) }
        if rank(x) != rank(y) { return rank(x) < rank(y) }
        if x.priority != y.priority { return x.priority < y.priority }
        if x.changedAt != y.changedAt { return x.changedAt > y.changedAt }
        return x.id < y.id
    }

    /// What the operator must see: active or unacknowledged and not hidden, most urgent first
    /// (unacknowledged active, then by priority, then newest).
    public var visible: [Alarm] { alarms.values.filter(\.isVisible).sorted(by: Self.urgency) }

    /// Suppressed by an upstream cause ("N inhibited"), most urgent first.
    public var inhibited: [Alarm] {
        alarms.values.filter { $0.suppressedBy != nil && $0.shelving == nil && $0.outOfService == nil && ($0.active || !$0.acknowledged) }
            .sorted(by: Self.urgency)
    }
    public var shelved: [Alarm] { alarms.values.filter { $0.shelving != nil }.sorted(by: Self.urgency) }
    public var outOfService: [Alarm] { alarms.values.filter { $0.outOfService != nil }.sorted(by: Self.urgency) }

    /// Alarm-system KPIs at `now` (EEMUA 191 / ISA-18.2).
    public func kpis(now: Double) -> AlarmSystemKPIs { tracker.kpis(now: now, alarms: alarms) }
}
