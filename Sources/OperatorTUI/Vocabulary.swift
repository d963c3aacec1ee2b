import Alerts
import GridCore

/// The words and orders an operator reads, shared by the reducer (filters, sorts, messages)
/// and the views (columns, labels): pure, so the reducer never calls view code.
public enum Vocabulary {
    /// Priority glyph + letter, so priority never relies on colour alone: `▲H`.
    public static func priorityMark(_ p: AlarmPriority, glyphs: GlyphSet = .unicode) -> String {
        let g: String
        switch (glyphs, p) {
        case (.unicode, .critical): g = "◆"
        case (.unicode, .high): g = "▲"
        case (.unicode, .medium): g = "■"
        case (.unicode, .low): g = "●"
        case (.ascii, .critical): g = "!"
        case (.ascii, .high): g = "^"
        case (.ascii, .medium): g = "="
        case (.ascii, .low): g = "-"
        }
        return g + String(p.letter)
    }

    /// Most urgent first: priority, then unacknowledged, then active, then newest change.
    public static func ordered(_ alarms: [Alarm]) -> [Alarm] {
        alarms.sorted { a, b in
            if a.priority != b.priority { return a.priority < b.priority }
            if a.acknowledged != b.acknowledged { return !a.acknowledged }
            if a.active != b.active { return a.active }
            if a.changedAt != b.changedAt { return a.changedAt > b.changedAt }
            return a.id < b.id
        }
    }

    /// Short words for the kind column (the JSON name is `kind.rawValue`).
    public static func kindLabel(_ k: AlarmKind) -> String {
        switch k {
        case .suspectedTheft: return "suspected theft"
        case .staleMeter: return "stale meter"
        case .conflictingReading: return "reading conflict"
        case .transferMismatch: return "transfer mismatch"
        case .consensusStall: return "consensus stall"
        case .nodeDivergent: return "node divergent"
        case .nodeDown: return "node down"
        case .validatorMissingTurns: return "missed turns"
        case .nodeLag: return "node lag"
        case .lowPeers: return "low peers"
        case .deepReorg: return "deep reorg"
        }
    }

    /// The event's kind as the Block view's column says it.
    public static func eventKind(_ e: GridEvent) -> String {
        switch e {
        case .assetRegistered: return "registration"
        case .meterReading: return "reading"
        case .energyTransfer: return "transfer"
        }
    }

    /// Counts of a list of alarms (made once per data update, not per frame).
    public struct Counts: Equatable, Sendable {
        var total = 0, active = 0, unack = 0
        var byPriority = [0, 0, 0, 0]
        var last10Min = 0
    }

    public static func counts(_ alarms: [Alarm], now: Double) -> Counts {
        var k = Counts()
        k.total = alarms.count
        for a in alarms {
            if a.active { k.active += 1 }
            if !a.acknowledged { k.unack += 1 }
            k.byPriority[a.priority.rawValue] += 1
            if now - a.raisedAt <= 600 { k.last10Min += 1 }
        }
        return k
    }
}
