import AlarmJournal
import Alerts
import ArgumentParser
import ChainCore
import ControlRoom
import Foundation
import OperatorTUI

/// `gridtop alarms …`: the alarm journal from the command line (list, acknowledge, shelve, export, KPIs).
struct AlarmsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alarms",
        abstract: "Headless: list, acknowledge, shelve and export alarms from a chain's alarm journal.",
        discussion: """
            Works on the journal the dashboard writes ($XDG_DATA_HOME/gridtop/chain-<id>.sqlite, \
            default ~/.local/share/gridtop/chain-<id>.sqlite), also while the dashboard runs: \
            an action is printed only after it has been committed to disk. See docs/alerts-json.md.
            """,
        subcommands: [List.self, Ack.self, Shelve.self, Unshelve.self, Comment.self, OutOfServiceCommand.self,
                      ReturnToService.self, Export.self, KPI.self])

    struct JournalOptions: ParsableArguments {
        @Option(help: "The journal file (overrides --chain-id and the XDG location).")
        var db: String?
        @Option(help: "The chain whose journal to use (default: the only journal in the data folder).")
        var chainId: UInt64?

        func open() throws -> AlarmJournal {
            if let db {
                guard FileManager.default.fileExists(atPath: db) else { throw ValidationError("no journal at \(db)\(Self.demoHint())") }
                return try AlarmJournal(path: db, chainId: chainId)
            }
            if let chainId {
                let path = JournalLocation.path(chainId: chainId)
                guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no journal for chain \(chainId) at \(path)") }
                return try AlarmJournal(path: path, chainId: chainId)
            }
            let found = JournalLocation.existing()
            guard found.count == 1, let (id, path) = found.first else {
                throw ValidationError(found.isEmpty
                    ? "no alarm journal in \(JournalLocation.directory()); give --db PATH or --chain-id N\(Self.demoHint())"
                    : "several journals (chains \(found.keys.sorted().map(String.init).joined(separator: ", "))); give --chain-id N")
            }
            return try AlarmJournal(path: path, chainId: id)
        }

        /// Where a demo's journal is: `gridtop demo` writes a temporary file per run (shown in its help overlay).
        static func demoHint() -> String {
            let tmp = NSTemporaryDirectory()
            let demos = ((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [])
                .filter { $0.hasPrefix("gridtop-demo-") && $0.hasSuffix(".sqlite") }.sorted()
            let base = tmp.hasSuffix("/") ? tmp : tmp + "/"
            if demos.isEmpty { return "; a demo's journal is \(base)gridtop-demo-<pid>.sqlite while it runs (--db PATH)" }
            return "; demo journals: " + demos.map { base + $0 }.joined(separator: ", ") + " (--db PATH)"
        }
    }

    struct OperatorOptions: ParsableArguments {
        @Option(name: .customLong("operator"), help: "Who does it (default: $GRIDTOP_OPERATOR, then $USER, then your login name).")
        var name: String?
        var resolved: String { OperatorIdentity.resolve(option: name, environment: ProcessInfo.processInfo.environment) }
    }

    /// An action the alarm's state does not allow: `Error: …`, exit status 1, no usage text.
    struct RefusedAction: Error, CustomStringConvertible { let description: String }

    /// Chain text is untrusted: escaped so no control character reaches the terminal.
    static func safe(_ s: String) -> String { SafeText.escaped(s) }

    static func describe(_ a: Alarm) -> String {
        "\(a.id) \(a.kind.rawValue) \(safe(a.assetName)) [\(a.stageName)]"
    }

    /// Performs one operator action and prints it only once it is durable.
    static func act(_ action: OperatorAction, id: Int, options: JournalOptions, who: String) throws {
        let journal = try options.open()
        let entries: [JournalEntry]
        do {
            entries = try journal.perform(action, on: id, by: who)
        } catch JournalError.action(let e) {
            throw RefusedAction(description: e.description)
        }
        for e in entries {
            let t = e.transition
            var line = "\(t.event.rawValue) alarm \(describe(t.alarm)) by \(safe(t.by ?? who))"
            if let r = t.reason { line += ": \(safe(r))" }
            if let u = t.alarm.shelving?.until, t.event == .shelved { line += " (until \(AlarmJSON.iso8601(u)))" }
            print(line + " — journal #\(e.seq)")
        }
    }

    /// The alarm set now, with the latest transition of each alarm.
    static func current(_ journal: AlarmJournal, now: Double) throws -> (AlarmBook, [Int: AlarmTransition]) {
        var book = AlarmBook()
        var last: [Int: AlarmTransition] = [:]
        for e in try journal.entries() {
            book.replay(e.transition)
            last[e.transition.alarm.id] = e.transition
        }
        // Timed shelves that expired while nobody was running: shown as expired (not journalled here).
        for t in book.tick(now: now) { last[t.alarm.id] = t }
        return (book, last)
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The alarms an operator must see (and the shelved, inhibited, out-of-service ones).")
        @OptionGroup var journal: JournalOptions
        @Flag(help: "One JSON object per alarm (docs/alerts-json.md; `event`/`ts` are its latest transition).")
        var json = false
        @Flag(help: "Also alarms that are cleared and acknowledged.")
        var all = false

        func run() throws {
            let now = Date().timeIntervalSince1970
            let (book, last) = try AlarmsCommand.current(try journal.open(), now: now)
            let alarms = book.alarms.values.filter { all || $0.isVisible || $0.isHidden && ($0.active || !$0.acknowledged) }
                .sorted { a, b in a.isVisible != b.isVisible ? a.isVisible : AlarmBook.urgency(a, b) }
            if json {
                for a in alarms {
                    let l = last[a.id]
                    print(AlarmJSON.line(AlarmTransition(event: l?.event ?? .raised, alarm: a, at: l?.at ?? a.changedAt, by: l?.by, reason: l?.reason)))
                }
                return
            }
            if alarms.isEmpty { print("no alarms"); return }
            for a in alarms {
                var tags: [String] = [a.state.rawValue]
                if let s = a.shelving { tags.append(s.mode == Shelving.Mode.timed ? "shelved until \(AlarmJSON.iso8601(s.until ?? 0)) by \(AlarmsCommand.safe(s.by))" : "shelved one-shot by \(AlarmsCommand.safe(s.by))") }
                if let o = a.outOfService { tags.append("out of service by \(AlarmsCommand.safe(o.by))") }
                if let c = a.suppressedBy { tags.append("inhibited by \(c)") }
                if let by = a.acknowledgedBy { tags.append("ack \(AlarmsCommand.safe(by))") }
                print("\(a.priority.letter) \(AlarmsCommand.describe(a)) ×\(a.count) \(tags.joined(separator: ", ")) — \(SafeText.escaped(a.message, quotes: false))")
            }
        }
    }

    struct Ack: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Acknowledge an alarm.")
        @Argument(help: "The alarm id.") var id: Int
        @Option(help: "A comment (what is being done).") var comment: String?
        @OptionGroup var who: OperatorOptions
        @OptionGroup var journal: JournalOptions
        func run() throws { try AlarmsCommand.act(.acknowledge(comment: comment), id: id, options: journal, who: who.resolved) }
    }

    struct Shelve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Shelve an alarm for a time (--for) or until it returns to normal (--one-shot).")
        @Argument(help: "The alarm id.") var id: Int
        @Option(name: .customLong("for"), parsing: .unconditional, help: "How long (e.g. 30m, 8h).") var duration: DurationArgument?
        @Flag(help: "Until the alarm returns to normal.") var oneShot = false
        @Option(help: "Why (required).") var reason: String
        @OptionGroup var who: OperatorOptions
        @OptionGroup var journal: JournalOptions
        @OptionGroup var config: ConfigFileOption

        func validate() throws {
            guard (duration != nil) != oneShot else { throw ValidationError("give either --for DURATION or --one-shot") }
            if let d = duration, d.duration <= .zero { throw ValidationError("--for must be a positive duration such as 30m or 8h") }
        }
        func run() throws {
            // One shelve limit for the TUI and here: the config's shelve_limit, default one 12-hour shift.
            if let d = duration {
                let limit = try config.load().shelveLimitSeconds ?? ShelveDuration.maxSeconds
                if let refused = ShelveDuration.refusal(seconds: d.duration.seconds, limit: limit) { throw RefusedAction(description: refused) }
            }
            let now = Date().timeIntervalSince1970
            let action: OperatorAction = oneShot ? .shelve(.oneShot, until: nil, reason: reason)
                : .shelve(.timed, until: now + duration!.duration.seconds, reason: reason)
            try AlarmsCommand.act(action, id: id, options: journal, who: who.resolved)
        }
    }

    struct Unshelve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unshelve an alarm.")
        @Argument(help: "The alarm id.") var id: Int
        @Option(help: "Why.") var reason: String?
        @OptionGroup var who: OperatorOptions
        @OptionGroup var journal: JournalOptions
        func run() throws { try AlarmsCommand.act(.unshelve(reason: reason), id: id, options: journal, who: who.resolved) }
    }

    struct Comment: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an operator comment to an alarm.")
        @Argument(help: "The alarm id.") var id: Int
        @Argument(help: "The comment.") var text: String
        @OptionGroup var who: OperatorOptions
        @OptionGroup var journal: JournalOptions
        func run() throws { try AlarmsCommand.act(.comment(text), id: id, options: journal, who: who.resolved) }
    }

    struct OutOfServiceCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "out-of-service", abstract: "Take an alarm out of service.")
        @Argument(help: "The alarm id.") var id: Int
        @Option(help: "Why (required).") var reason: String
        @OptionGroup var who: OperatorOptions
        @OptionGroup var journal: JournalOptions
        func run() throws { try AlarmsCommand.act(.removeFromService(reason: reason), id: id, options: journal, who: who.resolved) }
    }

    struct ReturnToService: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "return-to-service", abstract: "Return an alarm to service.")
        @Argument(help: "The alarm id.") var id: Int
        @Option(help: "Why.") var reason: String?
        @OptionGroup var who: OperatorOptions
        @OptionGroup var journal: JournalOptions
        func run() throws { try AlarmsCommand.act(.returnToService(reason: reason), id: id, options: journal, who: who.resolved) }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export the journal (every transition and operator action), oldest first.")
        @Flag(help: "CSV (RFC 4180, with a header row).") var csv = false
        @Flag(help: "JSON lines (docs/alerts-json.md).") var json = false
        @Option(help: "Only what happened since TIME: ISO 8601 (2026-11-20T22:00:00Z), unix seconds, or a duration ago (12h).")
        var since: String?
        @OptionGroup var journal: JournalOptions

        func validate() throws {
            guard csv != json else { throw ValidationError("give exactly one of --csv or --json") }
            if let since, Export.parseSince(since, now: 0) == nil { throw ValidationError("cannot read --since \(since)") }
        }

        static func parseSince(_ s: String, now: Double) -> Double? {
            if let t = AlarmJSON.parseISO8601(s) { return t }
            if s.contains("-"), let t = AlarmJSON.parseISO8601(s + (s.count == 10 ? "T00:00:00Z" : "Z")) { return t }
            if let d = DurationArgument.parse(s), !s.allSatisfy(\.isNumber) { return now - d.seconds }
            return Double(s)
        }

        func run() throws {
            let start = since.flatMap { Export.parseSince($0, now: Date().timeIntervalSince1970) }
            let entries = try journal.open().entries(since: start)
            if json {
                for e in entries { print(AlarmJSON.line(e.transition)) }
                return
            }
            print(AlarmsCommand.csvHeader.joined(separator: ","))
            for e in entries { print(AlarmsCommand.csvRow(e).map { AlarmsCommand.csvCell(SafeText.escaped($0, quotes: false)) }.joined(separator: ",")) }
        }
    }

    static let csvHeader = ["seq", "ts", "event", "id", "kind", "priority", "asset", "assetName", "stage", "state", "active",
                            "acknowledged", "count", "by", "reason", "shelvedUntil", "suppressedBy", "interval", "block",
                            "blockHash", "message"]

    static func csvRow(_ e: JournalEntry) -> [String] {
        let t = e.transition, a = t.alarm
        return [String(e.seq), AlarmJSON.iso8601(t.at), t.event.rawValue, String(a.id), a.kind.rawValue, a.priority.name,
                a.asset.hex, a.assetName, a.stageName, a.state.rawValue, String(a.active), String(a.acknowledged), String(a.count),
                t.by ?? "", t.reason ?? "", a.shelving?.until.map(AlarmJSON.iso8601) ?? "", a.suppressedBy.map(String.init) ?? "",
                a.interval.map(String.init) ?? "", a.origin.map { String($0.blockNumber) } ?? "", a.origin?.blockHash.hex ?? "", a.message]
    }

    /// RFC 4180 quoting; cells a spreadsheet would run as a formula (chain text!) get a leading apostrophe.
    static func csvCell(_ s: String) -> String {
        var v = s
        if let f = v.first, "=+-@\t\r".contains(f), Double(v) == nil { v = "'" + v }
        if v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            v = "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return v
    }

    struct KPI: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "kpi", abstract: "Alarm-system KPIs (EEMUA 191 / ISA-18.2) over the last 24 h.")
        @Flag(help: "As one JSON object.") var json = false
        @OptionGroup var journal: JournalOptions
        func run() throws {
            let now = Date().timeIntervalSince1970
            let k = try AlarmsCommand.current(try journal.open(), now: now).0.kpis(now: now)
            if json { print(k.json.serialized()); return }
            let m = k.priorityMix
            print(String(format: "alarms last 10 min: %d%@   average per 10 min: %.2f   time in flood: %.1f%%",
                         k.alarmsLast10Minutes, k.inFlood ? " (FLOOD)" : "", k.averagePer10Minutes, k.percentTimeInFlood))
            print("unacknowledged \(k.unacknowledged)  shelved \(k.shelved)  inhibited \(k.suppressed)  out of service \(k.outOfService)  stale (>24 h) \(k.staleAlarms)  chattering \(k.chattering.count)")
            print(String(format: "priority mix low/medium/high: %.0f/%.0f/%.0f %% (guideline 80/15/5)", m.low, m.medium, m.high))
            for b in k.badActors {
                print(String(format: "  %5d  %5.1f%%  ", b.count, b.share) + "\(b.id) \(b.kind.rawValue) \(AlarmsCommand.safe(b.assetName))")
            }
        }
    }
}
