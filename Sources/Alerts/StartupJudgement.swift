import GridCore

/// Alarm state across a restart.
///
/// A restarted monitor is handed the alarm book the journal rebuilt, and then reads the
/// chain again from its start: history it judged before. Judged straight into the book,
/// that history would replay transitions that already happened (a meter that reported
/// yesterday "reporting again", a theft "back within the loss band" for an interval long
/// past, then both raised again minutes later) and the journal, which is the control room's
/// record, would hold transitions that never happened on the grid.
///
/// So until the monitor has read current data (`release`), conditions of the kinds judged
/// from chain history go to a shadow book instead (a copy of the restored one, so on- and
/// off-delays run as usual); the restored alarms stand as they were,
/// with their acknowledgement, shelving and comments, and nothing is journalled for them.
/// At release, for each condition the shadow judged:
/// - judged present and active in the shadow: the restored alarm, if active, is the same
///   alarm (refreshed in place, no transition); otherwise it is raised (a real return);
/// - judged absent and inactive in the shadow: an active restored alarm is cleared (the
///   condition really ended, e.g. while nobody was running);
/// - anything else (not judged at all, or an on/off-delay still running): left as restored,
///   to be judged on the live data that follows.
struct HeldJudgement: Sendable {
    /// The kinds whose conditions are held (judged from chain history).
    var kinds: Set<AlarmKind>
    /// The shadow book (in an array: a value type cannot hold itself directly).
    var shadow: [AlarmBook]
    /// The latest evaluation of each condition, and the message of an absence.
    var judgements: [AlarmKey: (present: Bool, message: String?)] = [:]

    mutating func judge(_ key: AlarmKey, present: Bool, message: String?) {
        judgements[key] = (present, present ? nil : message ?? judgements[key]?.message)
    }
}

extension AlarmKind {
    /// Kinds judged from the chain's history (readings, transfers, blocks, reorgs): a
    /// restart reads that history again, so their judgements are held until it is read.
    /// The others (node health, validators' turns) are judged on what the nodes say now.
    public static let judgedFromHistory: Set<AlarmKind> = [
        .suspectedTheft, .staleMeter, .conflictingReading, .transferMismatch, .consensusStall, .deepReorg,
    ]
}

extension AlarmBook {
    /// True between `holdJudgement` and `releaseJudgement`.
    public var isHoldingJudgement: Bool { held != nil }

    /// While holding: whether the shadow book has this condition active.
    public func isActiveInJudgement(_ kind: AlarmKind, _ asset: AssetID) -> Bool {
        held?.shadow[0].isActive(kind, asset) ?? false
    }

    /// Starts holding the judgements of `kinds` (call on a book just restored from the journal).
    public mutating func holdJudgement(of kinds: Set<AlarmKind> = AlarmKind.judgedFromHistory) {
        guard held == nil else { return }
        // The shadow starts as the restored book, so on- and off-delays run as they would have.
        var shadow = self
        shadow.outbox = []
        held = HeldJudgement(kinds: kinds, shadow: [shadow])
    }

    /// Ends the hold: the restored alarms are confirmed, raised or cleared on what the
    /// shadow judged (see `HeldJudgement`). `cause` gives the upstream alarm that explains
    /// a condition raised now (inhibition). Returns the transitions (also in the outbox).
    @discardableResult
    public mutating func releaseJudgement(now: Double, cause: (AlarmKind, AssetID) -> Int? = { _, _ in nil }) -> [AlarmTransition] {
        guard let h = held else { return [] }
        held = nil
        let before = outbox.count
        let shadow = h.shadow[0]
        // Upstream first (a stale meter before the theft it explains), then by asset: a stable order.
        let order: [AlarmKind] = [.consensusStall, .deepReorg, .staleMeter, .suspectedTheft, .transferMismatch, .conflictingReading]
        let keys = h.judgements.keys.sorted {
            let a = order.firstIndex(of: $0.kind) ?? order.count, b = order.firstIndex(of: $1.kind) ?? order.count
            return a != b ? a < b : $0.asset.hex < $1.asset.hex
        }
        for key in keys {
            let j = h.judgements[key]!
            let judged = shadow[key]
            let judgedActive = judged?.active ?? false
            if j.present && judgedActive, let s = judged {
                if let i = alarms.index(forKey: key), alarms.values[i].active {
                    // The same alarm: its condition still holds. Refreshed, not raised again.
                    alarms.values[i].message = s.message
                    if let iv = s.interval { alarms.values[i].interval = iv }
                    if let o = s.origin { alarms.values[i].origin = o }
                    if !s.suspects.isEmpty { alarms.values[i].suspects = s.suspects }
                } else {
                    let c = AlarmCondition(kind: s.kind, asset: s.asset, assetName: s.assetName, stage: s.stage,
                                           interval: s.interval, message: s.message, origin: s.origin,
                                           priority: s.priority == policy(s.kind).priority ? nil : s.priority, suspects: s.suspects)
                    _ = activate(c, now: now, cause: cause(s.kind, s.asset))
                }
            } else if !j.present && !judgedActive, alarms[key]?.active == true {
                _ = deactivate(key, now: now, message: judged?.message ?? j.message)
            }
        }
        return Array(outbox[before...])
    }
}
