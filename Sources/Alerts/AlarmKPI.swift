import Foundation
import ChainCore
import GridCore

/// One alarm among the most frequent in the KPI window.
public struct BadActor: Sendable, Equatable {
    public var id: Int
    public var kind: AlarmKind
    public var asset: AssetID
    public var assetName: String
    public var count: Int
    /// Percent of all annunciated alarms in the window.
    public var share: Double
    public init(id: Int, kind: AlarmKind, asset: AssetID, assetName: String, count: Int, share: Double) {
        self.id = id; self.kind = kind; self.asset = asset; self.assetName = assetName; self.count = count; self.share = share
    }
}

/// Alarm-system performance (EEMUA 191 / ISA-18.2 KPIs), for the KPI strip and the headless commands.
public struct AlarmSystemKPIs: Sendable, Equatable {
    /// The window the rates, mix and bad actors cover (seconds, up to 24 h; shorter right after start).
    public var windowSeconds: Double
    /// Annunciated alarms in the last 10 minutes (target ~1; flood at ≥ 10).
    public var alarmsLast10Minutes: Int
    /// Average annunciated alarms per 10 minutes over the window.
    public var averagePer10Minutes: Double
    /// ≥ `floodThreshold` annunciated in the last 10 minutes.
    public var inFlood: Bool
    /// Percent of the window spent in flood (target < 1 %).
    public var percentTimeInFlood: Double
    /// Active for more than 24 hours.
    public var staleAlarms: Int
    /// Ids of alarms with ≥ 3 activations within the last minute.
    public var chattering: [Int]
    /// The 10 most frequent alarms in the window.
    public var badActors: [BadActor]
    /// Annunciated alarms per priority in the window.
    public var priorityCounts: [AlarmPriority: Int]
    /// Percent low / medium / high (critical counted with high), vs the guideline 80 / 15 / 5.
    public var priorityMix: (low: Double, medium: Double, high: Double) { mix() }
    public static let guideline = (low: 80.0, medium: 15.0, high: 5.0)
    public var unacknowledged: Int
    public var shelved: Int
    public var suppressed: Int
    public var outOfService: Int

    public init(windowSeconds: Double = 0, alarmsLast10Minutes: Int = 0, averagePer10Minutes: Double = 0, inFlood: Bool = false,
                percentTimeInFlood: Double = 0, staleAlarms: Int = 0, chattering: [Int] = [], badActors: [BadActor] = [],
                priorityCounts: [AlarmPriority: Int] = [:], unacknowledged: Int = 0, shelved: Int = 0, suppressed: Int = 0,
                outOfService: Int = 0) {
        self.windowSeconds = windowSeconds; self.alarmsLast10Minutes = alarmsLast10Minutes
        self.averagePer10Minutes = averagePer10Minutes; self.inFlood = inFlood; self.percentTimeInFlood = percentTimeInFlood
        self.staleAlarms = staleAlarms; self.chattering = chattering; self.badActors = badActors
        self.priorityCounts = priorityCounts; self.unacknowledged = unacknowledged; self.shelved = shelved
        self.suppressed = suppressed; self.outOfService = outOfService
    }

    private func mix() -> (low: Double, medium: Double, high: Double) {
        let total = priorityCounts.values.reduce(0, +)
        guard total > 0 else { return (0, 0, 0) }
        func pct(_ n: Int) -> Double { 100 * Double(n) / Double(total) }
        return (pct(priorityCounts[.low] ?? 0), pct(priorityCounts[.medium] ?? 0),
                pct((priorityCounts[.high] ?? 0) + (priorityCounts[.critical] ?? 0)))
    }

    /// As JSON, for `gridtop alarms kpi --json` and the export.
    public var json: JSON {
        let m = priorityMix
        func num(_ d: Double) -> JSON { .number(String(format: "%.2f", d)) }
        return .object([
            "windowSeconds": num(windowSeconds),
            "alarmsLast10Minutes": .int(alarmsLast10Minutes),
            "averagePer10Minutes": num(averagePer10Minutes),
            "inFlood": .bool(inFlood),
            "percentTimeInFlood": num(percentTimeInFlood),
            "staleAlarms": .int(staleAlarms),
            "chattering": .array(chattering.map { .int($0) }),
            "badActors": .array(badActors.map { b in
                .object(["id": .int(b.id), "kind": .string(b.kind.rawValue), "asset": .string(b.asset.hex),
                         "assetName": .string(b.assetName), "count": .int(b.count), "share": num(b.share)])
            }),
            "priorityCounts": .object(Dictionary(uniqueKeysWithValues: AlarmPriority.allCases.map { ($0.name, JSON.int(priorityCounts[$0] ?? 0)) })),
            "priorityMix": .object(["low": num(m.low), "medium": num(m.medium), "high": num(m.high)]),
            "unacknowledged": .int(unacknowledged), "shelved": .int(shelved),
            "suppressed": .int(suppressed), "outOfService": .int(outOfService),
        ])
    }

    public static func == (a: AlarmSystemKPIs, b: AlarmSystemKPIs) -> Bool { a.json == b.json }
}

/// The history the KPIs are computed from: annunciations over the last 24 h and
/// recent activations per alarm. Pure and bounded.
public struct AlarmKPITracker: Sendable {
    public static let window = 86_400.0
    public static let floodWindow = 600.0
    public static let floodThreshold = 10
    public static let chatterWindow = 60.0
    public static let chatterCycles = 3
    public static let staleAfter = 86_400.0

    struct Annunciation: Sendable { var at: Double; var id: Int; var priority: AlarmPriority }
    private var annunciations: [Annunciation] = []
    private var head = 0
    /// The last few activation times per alarm id (annunciated or not: chattering is a property of the condition).
    private var activations: [Int: [Double]] = [:]
    private var startedAt: Double?

    public init() {}

    mutating func recordActivation(id: Int, priority: AlarmPriority, annunciated: Bool, at: Double) {
        if startedAt == nil { startedAt = at }
        var a = activations[id] ?? []
        a.append(at)
        if a.count > Self.chatterCycles { a.removeFirst(a.count - Self.chatterCycles) }
        activations[id] = a
        if annunciated { annunciations.append(Annunciation(at: at, id: id, priority: priority)) }
        prune(now: at)
    }

    mutating func recordAnnunciation(id: Int, priority: AlarmPriority, at: Double) {
        if startedAt == nil { startedAt = at }
        annunciations.append(Annunciation(at: at, id: id, priority: priority))
    }

    mutating func start(at: Double) { if startedAt == nil { startedAt = at } }

    private mutating func prune(now: Double) {
        let horizon = now - Self.window - Self.floodWindow
        while head < annunciations.count && annunciations[head].at < horizon { head += 1 }
        if head > 4096 && head * 2 > annunciations.count {
            annunciations.removeFirst(head)
            head = 0
        }
    }

    func live() -> ArraySlice<Annunciation> { annunciations[head...] }

    /// KPIs at `now` over the alarms currently in the book.
    func kpis(now: Double, alarms: [AlarmKey: Alarm]) -> AlarmSystemKPIs {
        let start = max(startedAt ?? now, now - Self.window)
        let span = max(0, now - start)
        var k = AlarmSystemKPIs(windowSeconds: span)
        let events = live().filter { $0.at >= now - Self.window - Self.floodWindow && $0.at <= now }
        let inWindow = events.filter { $0.at >= start }
        k.alarmsLast10Minutes = events.reduce(0) { $0 + ($1.at > now - Self.floodWindow ? 1 : 0) }
        k.inFlood = k.alarmsLast10Minutes >= Self.floodThreshold
        k.averagePer10Minutes = span > 0 ? Double(inWindow.count) * Self.floodWindow / max(span, Self.floodWindow) : Double(inWindow.count)
        k.percentTimeInFlood = span > 0 ? 100 * Self.timeInFlood(events.map(\.at), from: start, to: now) / span : (k.inFlood ? 100 : 0)
        var byId: [Int: Int] = [:]
        for e in inWindow {
            byId[e.id, default: 0] += 1
            k.priorityCounts[e.priority, default: 0] += 1
        }
        var alarmById: [Int: Alarm] = [:]
        alarmById.reserveCapacity(alarms.count)
        for a in alarms.values {
            alarmById[a.id] = a
            if a.active, let s = a.activeSince, now - s > Self.staleAfter { k.staleAlarms += 1 }
            if a.shelving != nil { k.shelved += 1 }
            if a.outOfService != nil { k.outOfService += 1 }
            if a.suppressedBy != nil { k.suppressed += 1 }
            if a.isVisible && !a.acknowledged { k.unacknowledged += 1 }
        }
        let total = inWindow.count
        k.badActors = byId.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10).compactMap { id, n in
            guard let a = alarmById[id] else { return nil }
            return BadActor(id: id, kind: a.kind, asset: a.asset, assetName: a.assetName, count: n,
                            share: total > 0 ? 100 * Double(n) / Double(total) : 0)
        }
        k.chattering = activations.compactMap { id, times in
            times.count >= Self.chatterCycles && now - times[times.count - Self.chatterCycles] <= Self.chatterWindow
                && times.last! <= now ? id : nil
        }.sorted()
        return k
    }

    /// Seconds within [from, to] during which ≥ floodThreshold annunciations lay in the trailing 10 minutes.
    static func timeInFlood(_ times: [Double], from: Double, to: Double) -> Double {
        guard to > from else { return 0 }
        let starts = times.sorted()
        let ends = starts.map { $0 + floodWindow }
        var i = 0, j = 0, count = 0
        var total = 0.0
        var floodSince: Double?
        while i < starts.count || j < ends.count {
            let t: Double
            // An alarm leaving the window at t and another entering at t: leave first (window is (t-600, t]).
            if j < ends.count && (i >= starts.count || ends[j] <= starts[i]) { t = ends[j]; j += 1; count -= 1 } else { t = starts[i]; i += 1; count += 1 }
            if count >= floodThreshold, floodSince == nil { floodSince = t }
            if count < floodThreshold, let s = floodSince {
                total += max(0, min(t, to) - max(s, from))
                floodSince = nil
            }
        }
        if let s = floodSince { total += max(0, to - max(s, from)) }
        return total
    }
}
