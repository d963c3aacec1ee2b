import Alerts
import ChainCore
import GridCore

/// A key as the app sees it, independent of curses key codes.
public enum Key: Hashable, Sendable {
    case char(Character)
    /// Ctrl plus a letter, lower case: `.ctrl("l")`.
    case ctrl(Character)
    case enter, escape, backspace, tab, backTab
    case up, down, left, right, pageUp, pageDown, home, end
    case function(Int)
    /// The terminal was resized.
    case resize

    /// How the key is written in help text: `q`, `^L`, `Enter`, `F1`.
    public var label: String {
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .ctrl(let c): return "^" + String(c).uppercased()
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .backspace: return "Backspace"
        case .tab: return "Tab"
        case .backTab: return "S-Tab"
        case .up: return "Up"
        case .down: return "Down"
        case .left: return "Left"
        case .right: return "Right"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .function(let n): return "F\(n)"
        case .resize: return "(resize)"
        }
    }
}

/// How long a shelve lasts.
public enum ShelveDuration: Sendable, Equatable {
    /// Timed shelve, seconds from now.
    case seconds(Int)
    /// One-shot shelve (OPC UA OneShotShelve): ends when the alarm returns to normal.
    case untilCleared

    /// Longest timed shelve the prompt accepts: one 12-hour shift.
    public static let maxSeconds = 12 * 3600

    /// `30m`, `2h`, `90s`, `1h30m`, bare minutes (`45`), or `once`/`clear`; a timed shelve
    /// longer than `limit` seconds (the site's shelve limit, default one shift) is refused.
    public static func parse(_ text: String, limit: Int = maxSeconds) -> ShelveDuration? {
        let maxSeconds = limit
        let t = text.lowercased().filter { $0 != " " }
        if t == "once" || t == "clear" || t == "untilclear" || t == "untilcleared" { return .untilCleared }
        if t.isEmpty { return nil }
        if t.allSatisfy(\.isASCIIDigit) {
            guard let m = Int(t), m > 0, m * 60 <= maxSeconds else { return nil }
            return .seconds(m * 60)
        }
        var total = 0, num = ""
        for c in t {
            if c.isASCIIDigit { num.append(c); continue }
            guard let n = Int(num), !num.isEmpty else { return nil }
            switch c {
            case "h": total += n * 3600
            case "m": total += n * 60
            case "s": total += n
            default: return nil
            }
            num = ""
            if total > maxSeconds { return nil }
        }
        guard num.isEmpty, total > 0, total <= maxSeconds else { return nil }
        return .seconds(total)
    }

    /// The alarm engine's shelve action: timed from `now` (wall clock), or one-shot.
    public func action(reason: String, now: Double) -> OperatorAction {
        switch self {
        case .seconds(let s): return .shelve(.timed, until: now + Double(s), reason: reason)
        case .untilCleared: return .shelve(.oneShot, until: nil, reason: reason)
        }
    }

    /// A limit or duration as the operator types it: `12h`, `1h30m`, `90s`.
    public static func text(_ seconds: Int) -> String {
        var out = ""
        if seconds / 3600 > 0 { out += "\(seconds / 3600)h" }
        if seconds % 3600 / 60 > 0 { out += "\(seconds % 3600 / 60)m" }
        if seconds % 60 > 0 || out.isEmpty { out += "\(seconds % 60)s" }
        return out
    }

    /// Why a timed shelve of `seconds` is refused under `limit`, as one line (nil: allowed).
    /// The TUI and `gridtop alarms shelve --for` say the same.
    public static func refusal(seconds: Double, limit: Int = maxSeconds) -> String? {
        guard seconds > Double(limit) else { return nil }
        return "shelve refused: \(text(Int(seconds.rounded()))) is over the shelve limit; give \(text(limit)) or less"
    }

    public var label: String {
        switch self {
        case .untilCleared: return "until it clears"
        case .seconds(let s): return Format.age(seconds: Double(s))
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// The top-level views, in tab order (digits 1…5).
public enum Screen: String, Sendable, Equatable, CaseIterable {
    case overview, grid, consensus, alarms, blocks, asset

    /// The views Tab and digits switch between (Asset is reached by drilling).
    public static let tabs: [Screen] = [.overview, .grid, .consensus, .alarms, .blocks]

    public var title: String {
        switch self {
        case .overview: return "Overview"
        case .grid: return "Grid"
        case .consensus: return "Consensus"
        case .alarms: return "Alarms"
        case .blocks: return "Blocks"
        case .asset: return "Asset"
        }
    }
}

/// One place on the breadcrumb trail.
public enum Location: Sendable, Equatable, Hashable {
    case overview
    /// The grid tree at `focus` (nil: the roots).
    case grid(AssetID?)
    case consensus
    case alarms
    case blocks
    /// One block; `focus` selects the event that raised an alarm.
    case block(UInt64, focus: EventOrigin?)
    case asset(AssetID)

    public var screen: Screen {
        switch self {
        case .overview: return .overview
        case .grid: return .grid
        case .consensus: return .consensus
        case .alarms: return .alarms
        case .blocks, .block: return .blocks
        case .asset: return .asset
        }
    }

    /// The list state key: one selection and filter per place.
    var listKey: String {
        switch self {
        case .overview: return "overview"
        case .grid(let f): return "grid:" + (f?.hex ?? "roots")
        case .consensus: return "consensus"
        case .alarms: return "alarms"
        case .blocks: return "blocks"
        case .block(let n, _): return "block:\(n)"
        case .asset(let a): return "asset:" + a.hex
        }
    }
}

/// What a row is, independent of where it stands in the list: the cursor follows
/// this, not the row number, across new rows, sorting, filtering and resizes.
public enum RowID: Sendable, Equatable, Hashable {
    case alarm(Int)
    case asset(AssetID)
    case block(Bytes32)
    /// A grid event by the transaction and log that carry it.
    case event(Bytes32, UInt32)
    /// A node by its (configured) name.
    case node(String)
}

/// Selection and filter of one list.
public struct ListState: Sendable, Equatable {
    public var selected = 0
    public var filter = ""
    /// The selected row's identity; nil until the list has been shown with a row.
    public var anchor: RowID?
    public init(selected: Int = 0, filter: String = "", anchor: RowID? = nil) {
        self.selected = selected; self.filter = filter; self.anchor = anchor
    }
}

/// How the Alarms view is sorted.
public enum AlarmSort: String, Sendable, Equatable, CaseIterable {
    case priority, age, asset, state, count
}

/// An open prompt for an alarm action.
public struct Prompt: Sendable, Equatable {
    /// `confirm`: a yes/no question before `request` is sent (`y` sends, `n` or Esc cancels).
    public enum Kind: Sendable, Equatable { case shelve, comment, confirm }
    public var kind: Kind
    public var alarmID: Int
    public var key: AlarmKey
    /// Sanitized, for the prompt's label.
    public var label: String
    /// shelve: [duration, reason]; comment: [text].
    public var fields: [String]
    public var field = 0
    public var error: String?
    /// confirm: what `y` sends, and the question naming its target (`ack #17 suspected theft TX-0004?`).
    public var request: OperatorRequest?
    public var question: String?
    /// confirm: the status line once sent.
    public var sentMessage: String?

    public var fieldNames: [String] {
        switch kind {
        case .shelve: return ["duration", "reason"]
        case .comment: return ["comment"]
        case .confirm: return []
        }
    }
}

/// What the reducer asks the app loop to do (bubbletea's commands): returned by
/// `AppReducer.update`, performed by the loop in order, never left in the state.
public enum Effect: Sendable, Equatable {
    /// Hand an operator's action to the control room (never in read-only mode).
    case send(OperatorRequest)
    /// Load the theme of that name (`:theme NAME`); the loop answers with `.themeLoaded`.
    case loadTheme(String)
    /// Repaint the whole screen (Ctrl-L), e.g. after a `wall` message.
    case repaint
    /// Leave the app.
    case quit
}

/// Everything the operator (or the terminal) can ask the app to do.
public enum Action: Equatable, Sendable {
    case quit
    /// Repaint the whole screen (Ctrl-L), e.g. after a `wall` message.
    case repaint
    case resize(width: Int, height: Int)
    case snapshot(MonitorSnapshot)
    case data(ScreenData)
    /// Wall clock advanced (ages tick).
    case tick(now: Double)
    /// The loop's answer to `Effect.loadTheme`: the theme now in use and what to tell the operator.
    case themeLoaded(name: String, message: String)
    // Command line.
    case beginCommand
    case commandInput(Character)
    case commandBackspace
    case commandSubmit
    case commandCancel
    case commandComplete
    // Navigation.
    case showView(Screen)
    case nextView, previousView
    case move(Int)
    case page(Int)
    case first, last
    case drill, back
    case openAsset, jumpToOrigin, showInTree
    case toggleHelp
    case togglePause
    // Filter.
    case beginFilter
    case filterInput(Character)
    case filterBackspace
    case filterSubmit
    case filterCancel
    // Alarms.
    case cycleSort, reverseSort, toggleHidden
    case acknowledge, beginShelve, beginComment, unshelve
    case promptInput(Character)
    case promptBackspace
    case promptNextField
    case promptSubmit
    case promptCancel
}

/// All the state the views draw from. Views are pure functions of it.
public struct AppState: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// The breadcrumb trail; never empty. The last entry is shown.
    public var stack: [Location] = [.overview]
    public var data: ScreenData?
    /// Data that arrived while paused, applied on resume.
    public var pending: ScreenData?
    public var paused = false
    /// Wall clock (unix seconds) used for ages.
    public var now: Double
    /// The command line's text while it is open (without the leading `:`).
    public var commandLine: String?
    /// True while `/` edits the current list's filter.
    public var filterEditing = false
    public var prompt: Prompt?
    public var showHelp = false
    /// A one-line message for the operator; stays until the next command.
    public var message: String?
    public var readOnly: Bool
    /// Longest timed shelve the prompt accepts (the site's `shelve_limit`).
    public var shelveLimitSeconds = ShelveDuration.maxSeconds
    public var lists: [String: ListState] = [:]
    public var alarmSort: AlarmSort = .priority
    public var alarmSortReversed = false
    /// Show shelved and inhibited alarms too.
    public var showHidden = false
    /// Who is at this console: recorded with every action it sends.
    public var operatorName = "operator"
    /// Theme names for completion (set by the app).
    public var themeNames: [String] = []
    /// Where this console's alarm journal is (shown in the help overlay; `gridtop alarms --db` takes it).
    public var journalPath: String?
    public var themeName = Theme.defaultName
    /// Unaccounted energy per stage per settled interval, oldest first
    /// (accumulated from snapshots unless the data brings its own).
    public var stageTrend: [Stage: [Int64]] = [:]
    var lastTrendInterval: UInt64?
    /// Counts of the snapshot's alarms, made once per data update (not per frame).
    var alarmCounts = Vocabulary.Counts()
    /// The rows of the current list, recomputed when data, place, filter or sort change.
    public internal(set) var rows = Rows()
    var rowsKey: RowsKey?
    var dataVersion = 0
    /// Wall clock when the current list's rows last changed (a row came, went or moved):
    /// an action within `AppReducer.recentChangeSeconds` of it asks to confirm its target.
    public internal(set) var listChangedAt: Double?

    public init(width: Int, height: Int, now: Double = 0, readOnly: Bool = false) {
        self.width = width; self.height = height; self.now = now; self.readOnly = readOnly
    }

    public var location: Location { stack.last ?? .overview }
    public var screen: Screen { location.screen }
    public var snapshot: MonitorSnapshot? { data?.snapshot }

    public var list: ListState {
        get { lists[location.listKey] ?? ListState() }
        set { lists[location.listKey] = newValue }
    }

    /// True while text input (command line, filter, prompt) takes the keys.
    public var isEditing: Bool { commandLine != nil || filterEditing || prompt != nil }
}

/// Derived rows of the current place (indices into the data), so drawing a
/// frame never sorts or filters.
public struct Rows: Sendable, Equatable {
    public var alarms: [Alarm] = []
    public var grid: [AssetID] = []
    public var blocks: [BlockRow] = []
    /// (transaction index, event index) in the block's detail.
    public var events: [EventRef] = []
    public var nodes: [Int] = []
    /// The identity of every row, in order (what the cursor follows).
    public var ids: [RowID] = []
    /// Total before filtering.
    public var unfiltered = 0
    public var count: Int { max(alarms.count, grid.count, blocks.count, events.count, nodes.count) }
}

public struct EventRef: Sendable, Equatable, Hashable {
    public var tx: Int
    public var event: Int
}

struct RowsKey: Equatable, Sendable {
    var location: Location
    var filter: String
    var sort: AlarmSort
    var reversed: Bool
    var showHidden: Bool
    var dataVersion: Int
}

/// The reducer: the only place state changes. Pure: it returns what the loop should do
/// (`Effect`s) and never draws, loads or sends anything itself.
public enum AppReducer {
    /// `update(state, message) -> (state, effects)`.
    public static func update(_ state: AppState, _ action: Action) -> (AppState, [Effect]) {
        var s = state
        let effects = reduce(&s, action)
        return (s, effects)
    }

    /// `update` in place: changes `s`, returns the effects for the loop.
    @discardableResult
    public static func reduce(_ s: inout AppState, _ action: Action) -> [Effect] {
        var effects: [Effect] = []
        apply(&s, action, &effects)
        refreshRows(&s)
        clampSelection(&s)
        if s.rows.ids.indices.contains(s.list.selected) {
            let id = s.rows.ids[s.list.selected]
            if s.list.anchor != id { s.list.anchor = id }
        }
        return effects
    }

    static func apply(_ s: inout AppState, _ action: Action, _ fx: inout [Effect]) {
        switch action {
        case .quit:
            fx.append(.quit)
        case .repaint:
            fx.append(.repaint)
        case .resize(let w, let h):
            s.width = max(0, w); s.height = max(0, h)
        case .snapshot(let snap):
            receive(&s, ScreenData(snapshot: snap))
        case .data(let d):
            receive(&s, d)
        case .tick(let now):
            s.now = now
        case .themeLoaded(let name, let message):
            s.themeName = name
            s.message = message
        case .beginCommand:
            s.commandLine = ""
            s.message = nil
            s.showHelp = false
        case .commandInput(let c):
            if s.commandLine != nil, s.commandLine!.count < 200 { s.commandLine!.append(c) }
        case .commandBackspace:
            if let line = s.commandLine {
                if line.isEmpty { s.commandLine = nil } else { s.commandLine!.removeLast() }
            }
        case .commandCancel:
            s.commandLine = nil
        case .commandSubmit:
            guard let line = s.commandLine else { return }
            s.commandLine = nil
            run(command: line, &s, &fx)
        case .commandComplete:
            complete(&s)
        case .showView(let v):
            s.showHelp = false
            if v == .asset {
                if case .asset = s.location { return }
                openAsset(&s)
            } else {
                s.stack = [root(v)]
            }
        case .nextView, .previousView:
            let tabs = Screen.tabs
            let i = tabs.firstIndex(of: s.stack.first?.screen ?? .overview) ?? 0
            let d = action == .nextView ? 1 : tabs.count - 1
            s.stack = [root(tabs[(i + d) % tabs.count])]
            s.showHelp = false
        case .move(let d):
            s.list.selected += d
        case .page(let d):
            s.list.selected += d * max(1, pageRows(s))
        case .first:
            s.list.selected = 0
        case .last:
            s.list.selected = Int.max / 2
        case .drill:
            drill(&s)
        case .back:
            if s.showHelp { s.showHelp = false; return }
            if !s.list.filter.isEmpty { s.list.filter = ""; return }
            if s.stack.count > 1 { s.stack.removeLast() }
        case .openAsset:
            openAsset(&s)
        case .jumpToOrigin:
            jumpToOrigin(&s)
        case .showInTree:
            showInTree(&s)
        case .toggleHelp:
            s.showHelp.toggle()
        case .togglePause:
            s.paused.toggle()
            if !s.paused, let p = s.pending {
                s.pending = nil
                receive(&s, p)
            }
            s.message = s.paused ? "live feed paused (p resumes); alarms keep being recorded" : "live feed resumed"
        case .beginFilter:
            guard filterable(s.location) else {
                s.message = "nothing to filter here"
                return
            }
            s.filterEditing = true
            s.message = nil
        case .filterInput(let c):
            if s.list.filter.count < 80 { s.list.filter.append(c) }
        case .filterBackspace:
            // Backspace on an empty filter stays in filter mode: only Esc (or Enter) leaves it, so
            // the next key is never taken as a command (`a` would acknowledge).
            if !s.list.filter.isEmpty { s.list.filter.removeLast() }
        case .filterSubmit:
            s.filterEditing = false
        case .filterCancel:
            s.filterEditing = false
            s.list.filter = ""
        case .cycleSort:
            let all = AlarmSort.allCases
            s.alarmSort = all[((all.firstIndex(of: s.alarmSort) ?? 0) + 1) % all.count]
            s.message = "alarms sorted by \(s.alarmSort.rawValue)" + (s.alarmSortReversed ? " (reversed)" : "")
        case .reverseSort:
            s.alarmSortReversed.toggle()
            s.message = "alarms sorted by \(s.alarmSort.rawValue)" + (s.alarmSortReversed ? " (reversed)" : "")
        case .toggleHidden:
            s.showHidden.toggle()
            s.message = s.showHidden ? "showing shelved and inhibited alarms" : "hiding shelved and inhibited alarms"
        case .acknowledge, .beginShelve, .beginComment, .unshelve:
            alarmAction(&s, action, &fx)
        case .promptInput(let c):
            guard var p = s.prompt, p.fields.indices.contains(p.field) else { return }
            if p.fields[p.field].count < 200 { p.fields[p.field].append(c) }
            p.error = nil
            s.prompt = p
        case .promptBackspace:
            guard var p = s.prompt, p.fields.indices.contains(p.field) else { return }
            if !p.fields[p.field].isEmpty { p.fields[p.field].removeLast() } else if p.field > 0 { p.field -= 1 }
            s.prompt = p
        case .promptNextField:
            guard var p = s.prompt, p.fields.indices.contains(p.field) else { return }
            p.field = (p.field + 1) % p.fields.count
            s.prompt = p
        case .promptCancel:
            s.prompt = nil
            s.message = "cancelled"
        case .promptSubmit:
            submitPrompt(&s, &fx)
        }
    }

    static func root(_ v: Screen) -> Location {
        switch v {
        case .overview: return .overview
        case .grid: return .grid(nil)
        case .consensus: return .consensus
        case .alarms: return .alarms
        case .blocks: return .blocks
        case .asset: return .overview
        }
    }

    static func filterable(_ l: Location) -> Bool {
        switch l {
        case .overview: return false
        default: return true
        }
    }

    static func pageRows(_ s: AppState) -> Int { max(1, s.height - 8) }

    // MARK: data

    static func receive(_ s: inout AppState, _ d: ScreenData) {
        s.now = max(s.now, d.snapshot.now)
        if s.paused && s.data != nil {
            s.pending = d
            return
        }
        s.data = d
        s.dataVersion &+= 1
        s.alarmCounts = Vocabulary.counts(d.snapshot.alarms, now: s.now)
        if !d.stageTrend.isEmpty {
            s.stageTrend = d.stageTrend
        } else if let iv = d.snapshot.settledInterval, iv != s.lastTrendInterval, !d.snapshot.stages.isEmpty {
            s.lastTrendInterval = iv
            for st in d.snapshot.stages {
                var series = s.stageTrend[st.stage] ?? []
                series.append(st.unaccountedWh)
                if series.count > 96 { series.removeFirst(series.count - 96) }
                s.stageTrend[st.stage] = series
            }
        }
    }

    // MARK: derived rows

    static func refreshRows(_ s: inout AppState) {
        let key = RowsKey(location: s.location, filter: s.list.filter, sort: s.alarmSort, reversed: s.alarmSortReversed,
                          showHidden: s.showHidden, dataVersion: s.dataVersion)
        if key == s.rowsKey { return }
        let samePlace = s.rowsKey?.location == key.location
        // Only new data moves rows under the operator; their own sort, filter or toggle does not count.
        var dataOnly = s.rowsKey
        dataOnly?.dataVersion = key.dataVersion
        let byData = dataOnly == key
        s.rowsKey = key
        let old = s.rows
        s.rows = computeRows(s)
        if !samePlace {
            s.listChangedAt = nil
        } else if byData, old.ids != s.rows.ids {
            s.listChangedAt = s.now
        }
        follow(&s, old: samePlace ? old : nil)
    }

    /// Puts the cursor back on the selected item (by identity) after the rows changed; when the
    /// item has left the list, on its nearest neighbour that is still there (the next row, else
    /// the previous), and says so on the status line.
    static func follow(_ s: inout AppState, old: Rows?) {
        guard let anchor = s.list.anchor, !s.rows.ids.isEmpty || old != nil else { return }
        if s.rows.ids.indices.contains(s.list.selected), s.rows.ids[s.list.selected] == anchor { return }
        if let i = s.rows.ids.firstIndex(of: anchor) {
            s.list.selected = i
            return
        }
        var target: Int?
        if let old, let at = old.ids.firstIndex(of: anchor) {
            var position: [RowID: Int] = [:]
            position.reserveCapacity(s.rows.ids.count)
            for (i, id) in s.rows.ids.enumerated() where position[id] == nil { position[id] = i }
            for id in old.ids[(at + 1)...] { if let i = position[id] { target = i; break } }
            if target == nil { for id in old.ids[..<at].reversed() { if let i = position[id] { target = i; break } } }
        }
        let gone = describe(anchor, old: old ?? Rows(), s)
        if let t = target {
            s.list.selected = t
            s.list.anchor = s.rows.ids[t]
            s.message = "\(gone) left the list; cursor on the next: \(describe(s.rows.ids[t], old: s.rows, s))"
        } else if s.rows.ids.isEmpty {
            // Kept: when the filter is cleared or the item returns, the cursor is on it again.
            s.list.selected = 0
        } else {
            s.list.selected = min(max(0, s.list.selected), s.rows.ids.count - 1)
            s.list.anchor = s.rows.ids[s.list.selected]
            s.message = "\(gone) left the list; cursor on \(describe(s.list.anchor!, old: s.rows, s))"
        }
    }

    /// How the operator knows a row: `alarm #17 suspected theft TX-0004`, `block #131`, `node validator-2`.
    static func describe(_ id: RowID, old: Rows, _ s: AppState) -> String {
        switch id {
        case .alarm(let n):
            if let a = old.alarms.first(where: { $0.id == n }) ?? s.data?.allAlarms.first(where: { $0.id == n }) {
                return "alarm " + target(a)
            }
            return "alarm #\(n)"
        case .asset(let a):
            if let n = s.data?.grid?[a]?.name { return "asset " + SafeText.sanitize(n, limit: 40) }
            return "asset " + String(a.hex.prefix(10))
        case .block(let h):
            if let b = old.blocks.first(where: { $0.hash == h }) ?? s.data?.snapshot.recentBlocks.first(where: { $0.hash == h }) {
                return "block #\(b.number)"
            }
            return "block " + String(h.hex.prefix(10))
        case .event(_, let log):
            return "event (log \(log))"
        case .node(let n):
            return "node " + SafeText.sanitize(n, limit: 40)
        }
    }

    /// An alarm as its confirmation names it: `#17 suspected theft TX-0004`.
    static func target(_ a: Alarm) -> String {
        "#\(a.id) " + Vocabulary.kindLabel(a.kind) + " " + SafeText.sanitize(a.assetName, limit: 40)
    }

    static func matches(_ filter: String, _ fields: [String]) -> Bool {
        if filter.isEmpty { return true }
        let f = filter.lowercased()
        if f.hasPrefix("!") {
            let g = String(f.dropFirst())
            return g.isEmpty || !fields.contains { $0.lowercased().contains(g) }
        }
        return fields.contains { $0.lowercased().contains(f) }
    }

    public static func computeRows(_ s: AppState) -> Rows {
        var r = Rows()
        guard let d = s.data else { return r }
        let filter = s.list.filter
        switch s.location {
        case .overview:
            break
        case .alarms:
            let all = s.showHidden ? d.allAlarms : d.snapshot.alarms.filter { a in
                guard let ann = d.annotations[a.id] else { return true }
                return !ann.isShelved && !ann.isInhibited
            }
            r.unfiltered = all.count
            let list = filter.isEmpty ? all : all.filter { matches(filter, alarmFields($0)) }
            r.alarms = sortAlarms(list, by: s.alarmSort, reversed: s.alarmSortReversed, now: s.now)
        case .asset(let id):
            let all = Vocabulary.ordered(d.allAlarms.filter { $0.asset == id })
            r.unfiltered = all.count
            r.alarms = all.filter { matches(filter, alarmFields($0)) }
        case .grid(let focus):
            guard let g = d.grid else { return r }
            let kids = g.children(of: focus)
            r.unfiltered = kids.count
            if filter.isEmpty {
                r.grid = kids
            } else {
                r.grid = kids.filter { id in
                    guard let n = g[id] else { return false }
                    return matches(filter, [SafeText.sanitize(n.name), n.stage.name, n.suspect ? "suspect" : ""])
                }
            }
        case .blocks:
            r.unfiltered = d.snapshot.recentBlocks.count
            r.blocks = d.snapshot.recentBlocks.filter { b in
                filter.isEmpty || matches(filter, ["#\(b.number)", String(b.number), b.hash.hex, b.proposer.hex,
                                                   b.rejected > 0 ? "rejected" : ""])
            }
        case .block(let n, _):
            guard let detail = d.blocks[n] else { return r }
            for (ti, tx) in detail.transactions.enumerated() {
                for (ei, ev) in tx.events.enumerated() {
                    r.unfiltered += 1
                    if filter.isEmpty || matches(filter, eventFields(ev, tx: tx)) { r.events.append(EventRef(tx: ti, event: ei)) }
                }
            }
        case .consensus:
            r.unfiltered = d.snapshot.nodes.count
            r.nodes = d.snapshot.nodes.indices.filter { i in
                let n = d.snapshot.nodes[i]
                return matches(filter, [SafeText.sanitize(n.name), n.connection.rawValue, n.trust.rawValue,
                                        SafeText.sanitize(n.clientVersion ?? "")])
            }
        }
        r.ids = rowIDs(r, s.location, d)
        return r
    }

    /// The identities of the rows, in their order.
    static func rowIDs(_ r: Rows, _ l: Location, _ d: ScreenData) -> [RowID] {
        switch l {
        case .overview: return []
        case .alarms, .asset: return r.alarms.map { .alarm($0.id) }
        case .grid: return r.grid.map { .asset($0) }
        case .blocks: return r.blocks.map { .block($0.hash) }
        case .block(let n, _):
            guard let detail = d.blocks[n] else { return [] }
            return r.events.map { ref in
                let e = detail.transactions[ref.tx].events[ref.event]
                return .event(e.origin.transactionHash, e.origin.logIndex)
            }
        case .consensus: return r.nodes.map { .node(d.snapshot.nodes[$0].name) }
        }
    }

    static func alarmFields(_ a: Alarm) -> [String] {
        [SafeText.sanitize(a.assetName), Vocabulary.kindLabel(a.kind), a.kind.rawValue, a.priority.name,
         String(a.priority.letter), a.stageName, SafeText.sanitize(a.message),
         a.active ? "active" : "clear", a.acknowledged ? "ack" : "unack"]
    }

    static func eventFields(_ e: BlockEvent, tx: BlockTransaction) -> [String] {
        [Vocabulary.eventKind(e.event), SafeText.sanitize(e.assetName ?? ""), SafeText.sanitize(e.counterpartName ?? ""),
         tx.hash.hex, e.asset.hex, e.rejected == nil ? "" : "rejected"]
    }

    public static func sortAlarms(_ list: [Alarm], by sort: AlarmSort, reversed: Bool, now: Double) -> [Alarm] {
        var out: [Alarm]
        switch sort {
        case .priority:
            out = Vocabulary.ordered(list)
        case .age:
            out = list.sorted { ($0.raisedAt, $0.id) > ($1.raisedAt, $1.id) }
        case .asset:
            out = list.sorted { (SafeText.sanitize($0.assetName), $0.priority.rawValue, $0.id) < (SafeText.sanitize($1.assetName), $1.priority.rawValue, $1.id) }
        case .state:
            func rank(_ a: Alarm) -> Int { (a.acknowledged ? 2 : 0) + (a.active ? 0 : 1) }
            out = list.sorted { (rank($0), $0.priority.rawValue, $0.id) < (rank($1), $1.priority.rawValue, $1.id) }
        case .count:
            out = list.sorted { ($0.count, -$0.priority.rawValue, -$0.id) > ($1.count, -$1.priority.rawValue, -$1.id) }
        }
        return reversed ? out.reversed() : out
    }

    static func clampSelection(_ s: inout AppState) {
        let n = s.rows.count
        let sel = s.list.selected
        let c = n == 0 ? 0 : min(max(0, sel), n - 1)
        if c != sel { s.list.selected = c }
    }

    // MARK: navigation

    static func push(_ s: inout AppState, _ l: Location) {
        if s.location == l { return }
        s.stack.append(l)
        if s.stack.count > 32 { s.stack.removeFirst(s.stack.count - 32) }
        s.showHelp = false
    }

    static func selectedAlarm(_ s: AppState) -> Alarm? {
        switch s.location {
        case .alarms, .asset:
            let i = s.list.selected
            return s.rows.alarms.indices.contains(i) ? s.rows.alarms[i] : nil
        default: return nil
        }
    }

    static func selectedEvent(_ s: AppState) -> BlockEvent? {
        guard case .block(let n, _) = s.location, let d = s.data?.blocks[n] else { return nil }
        let i = s.list.selected
        guard s.rows.events.indices.contains(i) else { return nil }
        let ref = s.rows.events[i]
        return d.transactions[ref.tx].events[ref.event]
    }

    static func drill(_ s: inout AppState) {
        switch s.location {
        case .overview:
            push(&s, .alarms)
        case .alarms, .asset:
            if let a = selectedAlarm(s) {
                if a.origin != nil { jumpToOrigin(&s) } else { push(&s, .asset(a.asset)) }
            }
        case .grid:
            let i = s.list.selected
            guard s.rows.grid.indices.contains(i), let g = s.data?.grid else { return }
            let id = s.rows.grid[i]
            if g.children(of: id).isEmpty { push(&s, .asset(id)) } else { push(&s, .grid(id)) }
        case .blocks:
            let i = s.list.selected
            guard s.rows.blocks.indices.contains(i) else { return }
            push(&s, .block(s.rows.blocks[i].number, focus: nil))
        case .block:
            if let e = selectedEvent(s) { push(&s, .asset(e.asset)) }
        case .consensus:
            break
        }
    }

    static func openAsset(_ s: inout AppState) {
        switch s.location {
        case .alarms, .asset:
            if let a = selectedAlarm(s) { push(&s, .asset(a.asset)) }
        case .grid(let focus):
            let i = s.list.selected
            if s.rows.grid.indices.contains(i) { push(&s, .asset(s.rows.grid[i])) } else if let f = focus { push(&s, .asset(f)) }
        case .block:
            if let e = selectedEvent(s) { push(&s, .asset(e.asset)) }
        default:
            s.message = "select an alarm, an event or a grid asset first"
        }
    }

    static func jumpToOrigin(_ s: inout AppState) {
        guard let a = selectedAlarm(s) else {
            s.message = "select an alarm first"
            return
        }
        guard let o = a.origin else {
            s.message = "this alarm has no on-chain origin (raised by the monitor itself)"
            return
        }
        let loc = Location.block(o.blockNumber, focus: o)
        push(&s, loc)
        // Select the event that raised the alarm.
        if let d = s.data?.blocks[o.blockNumber] {
            var i = 0
            outer: for tx in d.transactions {
                for e in tx.events {
                    if e.origin.logIndex == o.logIndex && e.origin.transactionHash == o.transactionHash { break outer }
                    i += 1
                }
            }
            s.lists[loc.listKey] = ListState(selected: i, filter: "")
        }
    }

    static func showInTree(_ s: inout AppState) {
        var id: AssetID?
        if case .asset(let a) = s.location { id = a } else if let a = selectedAlarm(s) { id = a.asset }
        guard let id, let g = s.data?.grid, let node = g[id] else {
            s.message = "no grid topology for this asset"
            return
        }
        let loc = Location.grid(node.parent)
        push(&s, loc)
        let idx = (s.data?.grid?.children(of: node.parent) ?? []).firstIndex(of: id) ?? 0
        s.lists[loc.listKey] = ListState(selected: idx, filter: "")
    }

    // MARK: alarm actions

    static func alarmAction(_ s: inout AppState, _ action: Action, _ fx: inout [Effect]) {
        let verb: String
        switch action {
        case .acknowledge: verb = "acknowledge"
        case .beginShelve: verb = "shelve"
        case .beginComment: verb = "comment"
        default: verb = "unshelve"
        }
        if s.readOnly {
            s.message = "read-only: \(verb) refused"
            return
        }
        guard let a = selectedAlarm(s) else {
            s.message = "select an alarm first (4 or :alarms)"
            return
        }
        let label = Vocabulary.priorityMark(a.priority) + " " + target(a)
        switch action {
        case .acknowledge:
            if a.acknowledged {
                s.message = "already acknowledged: \(label)"
            } else {
                send(&s, OperatorRequest(alarm: a.id, action: .acknowledge(comment: nil), by: s.operatorName), alarm: a,
                     question: "ack \(target(a))?", sent: "acknowledge sent: \(label)", &fx)
            }
        case .beginShelve:
            // Duration first, as the operator guide has it; Enter or Tab goes on to the reason.
            s.prompt = Prompt(kind: .shelve, alarmID: a.id, key: a.key, label: label, fields: ["", ""], field: 0)
        case .beginComment:
            s.prompt = Prompt(kind: .comment, alarmID: a.id, key: a.key, label: label, fields: [""])
        default:
            if s.data?.annotations[a.id]?.isShelved == true || s.showHidden {
                send(&s, OperatorRequest(alarm: a.id, action: .unshelve(reason: nil), by: s.operatorName), alarm: a,
                     question: "unshelve \(target(a))?", sent: "unshelve sent: \(label)", &fx)
            } else {
                s.message = "not shelved: \(label)"
            }
        }
    }

    /// Seconds after the list changed during which every action asks to confirm its target.
    public static let recentChangeSeconds = 2.0

    /// True when an action on `a` must name its target and wait for `y`: a priority-1/2
    /// (critical, high) alarm, or a list that changed in the last `recentChangeSeconds`.
    static func needsConfirmation(_ s: AppState, _ a: Alarm) -> Bool {
        if a.priority <= .high { return true }
        if let t = s.listChangedAt, s.now - t <= recentChangeSeconds { return true }
        return false
    }

    /// Sends `request` now, or opens a confirmation naming its target.
    static func send(_ s: inout AppState, _ request: OperatorRequest, alarm a: Alarm, question: String, sent: String, _ fx: inout [Effect]) {
        if needsConfirmation(s, a) {
            var p = Prompt(kind: .confirm, alarmID: a.id, key: a.key, label: Vocabulary.priorityMark(a.priority) + " " + target(a), fields: [])
            p.request = request
            p.question = question
            p.sentMessage = sent
            s.prompt = p
            s.message = nil
            return
        }
        fx.append(.send(request))
        s.message = sent
    }

    static func submitPrompt(_ s: inout AppState, _ fx: inout [Effect]) {
        guard var p = s.prompt else { return }
        if s.readOnly { s.prompt = nil; s.message = "read-only: refused"; return }
        switch p.kind {
        case .confirm:
            if let r = p.request { fx.append(.send(r)) }
            s.message = p.sentMessage ?? "sent: \(p.label)"
        case .shelve:
            if case .seconds(let n)? = ShelveDuration.parse(p.fields[0], limit: Int.max / 4),
               let refused = ShelveDuration.refusal(seconds: Double(n), limit: s.shelveLimitSeconds) {
                p.error = refused
                p.field = 0
                s.prompt = p
                return
            }
            guard let dur = ShelveDuration.parse(p.fields[0], limit: s.shelveLimitSeconds) else {
                p.error = p.fields[0].trimmingCharacters(in: " ").isEmpty
                    ? "type a duration: 30m, 2h, 1h30m (at most \(ShelveDuration.text(s.shelveLimitSeconds))) or once"
                    : "duration: 30m, 2h, 1h30m (at most \(ShelveDuration.text(s.shelveLimitSeconds))) or once"
                p.field = 0
                s.prompt = p
                return
            }
            let reason = p.fields[1].trimmingCharacters(in: " ")
            if reason.count < 3 {
                if p.field == 0 { p.field = 1; s.prompt = p; return }
                p.error = "a reason is required"
                s.prompt = p
                return
            }
            fx.append(.send(OperatorRequest(alarm: p.alarmID, action: dur.action(reason: reason, now: s.now), by: s.operatorName)))
            s.message = "shelve sent (\(dur.label)): \(p.label)"
        case .comment:
            let text = p.fields[0].trimmingCharacters(in: " ")
            guard !text.isEmpty else { p.error = "empty comment"; s.prompt = p; return }
            fx.append(.send(OperatorRequest(alarm: p.alarmID, action: .comment(text), by: s.operatorName)))
            s.message = "comment sent: \(p.label)"
        }
        s.prompt = nil
    }

    // MARK: command line

    /// Command words for completion and help.
    public static let commandWords = ["alarms", "asset", "block", "blocks", "consensus", "grid", "help", "overview", "q", "quit", "theme"]

    /// Commands typed after `:`.
    static func run(command: String, _ s: inout AppState, _ fx: inout [Effect]) {
        let cmd = command.trimmingCharacters(in: " ")
        let (word, arg) = splitCommand(cmd)
        switch word {
        case "": break
        case "q", "q!", "quit", "qa", "qa!": fx.append(.quit)
        case "overview", "o": s.stack = [.overview]
        case "grid", "g": s.stack = [.grid(nil)]
        case "consensus", "c": s.stack = [.consensus]
        case "alarms", "a", "alarm": s.stack = [.alarms]
        case "blocks", "b": s.stack = [.blocks]
        case "help", "h": s.showHelp = true
        case "block":
            let digits = arg.hasPrefix("#") ? String(arg.dropFirst()) : arg
            guard let n = UInt64(digits) else {
                s.message = "usage: :block N"
                return
            }
            push(&s, .block(n, focus: nil))
        case "asset":
            guard !arg.isEmpty else { s.message = "usage: :asset NAME"; return }
            if let id = findAsset(arg, in: s) {
                push(&s, .asset(id))
            } else {
                s.message = "no asset named \(SafeText.sanitize(arg, limit: 40)): give its code, name or a unique prefix (Tab)"
            }
        case "theme":
            guard !arg.isEmpty else {
                s.message = "theme \(s.themeName); available: " + s.themeNames.joined(separator: " ")
                return
            }
            fx.append(.loadTheme(arg))
        default:
            s.message = "unknown command: \(SafeText.sanitize(cmd, limit: 40))"
        }
    }

    static func splitCommand(_ cmd: String) -> (String, String) {
        guard let sp = cmd.firstIndex(of: " ") else { return (cmd.lowercased(), "") }
        return (String(cmd[..<sp]).lowercased(), String(cmd[sp...]).trimmingCharacters(in: " "))
    }

    /// Every asset the screen knows by (sanitized) name.
    static func assetNames(_ s: AppState) -> [(String, AssetID)] {
        var out: [(String, AssetID)] = []
        var seen = Set<AssetID>()
        if let g = s.data?.grid {
            for (id, n) in g.nodes { out.append((SafeText.sanitize(n.name), id)); seen.insert(id) }
        }
        for a in s.data?.allAlarms ?? [] where !seen.contains(a.asset) {
            out.append((SafeText.sanitize(a.assetName), a.asset)); seen.insert(a.asset)
        }
        return out
    }

    /// An asset by what the operator knows of it: its code (`TX-0009`, the id is derived from it),
    /// its exact name (case-insensitive), a unique prefix of the name, a unique word of the name
    /// or a prefix of one (`TX-00` when only one name has it), or a 0x id.
    static func findAsset(_ name: String, in s: AppState) -> AssetID? {
        let all = assetNames(s)
        let known = Set(all.map(\.1))
        for code in [name, name.uppercased()] where known.contains(Bytes32.asset(code: code)) { return Bytes32.asset(code: code) }
        let q = name.lowercased()
        if let hit = all.first(where: { $0.0.lowercased() == q }) { return hit.1 }
        let pre = all.filter { $0.0.lowercased().hasPrefix(q) }
        if pre.count == 1 { return pre[0].1 }
        if q.hasPrefix("0x"), let id = try? Bytes32(hex: q) { return id }
        func words(_ n: String) -> [Substring] { n.lowercased().split(whereSeparator: { $0 == " " || $0 == "/" || $0 == "," }) }
        let word = all.filter { words($0.0).contains { $0 == q } }
        if word.count == 1 { return word[0].1 }
        let wordPrefix = all.filter { words($0.0).contains { $0.hasPrefix(q) } }
        if wordPrefix.count == 1 { return wordPrefix[0].1 }
        return nil
    }

    static func complete(_ s: inout AppState) {
        guard let line = s.commandLine else { return }
        let (word, arg) = splitCommand(line)
        let hasSpace = line.contains(" ")
        var candidates: [String]
        var prefix: String
        var lead: String
        if !hasSpace {
            candidates = commandWords; prefix = word; lead = ""
        } else {
            prefix = arg; lead = word + " "
            switch word {
            case "theme": candidates = s.themeNames
            case "asset": candidates = assetNames(s).map(\.0).sorted()
            case "block": candidates = (s.data?.snapshot.recentBlocks ?? []).map { String($0.number) }
            default: candidates = []
            }
        }
        let p = prefix.lowercased()
        let hits = candidates.filter { $0.lowercased().hasPrefix(p) }
        if hits.isEmpty, word == "asset", !p.isEmpty {
            // A code or a word of the name (`TX-00`): list the names that have it; one is filled in.
            let byWord = candidates.filter { $0.lowercased().split(separator: " ").contains { $0.hasPrefix(p) } }
            if byWord.count == 1 { s.commandLine = lead + byWord[0]; s.message = nil; return }
            if !byWord.isEmpty {
                s.message = byWord.prefix(8).joined(separator: " · ") + (byWord.count > 8 ? " … (\(byWord.count))" : "")
                return
            }
        }
        guard !hits.isEmpty else { s.message = "no completion"; return }
        if hits.count == 1 {
            s.commandLine = lead + hits[0] + (hasSpace ? "" : (["asset", "block", "theme"].contains(hits[0]) ? " " : ""))
            s.message = nil
            return
        }
        var common = hits[0]
        for h in hits.dropFirst() {
            while !h.lowercased().hasPrefix(common.lowercased()) { common.removeLast() }
        }
        if common.count >= prefix.count { s.commandLine = lead + common }
        let shown = hits.prefix(8).joined(separator: " ")
        s.message = shown + (hits.count > 8 ? " … (\(hits.count))" : "")
    }

    // MARK: keys

    /// Which action a key means in this state (text input takes keys first).
    public static func action(for key: Key, in s: AppState, keymap: Keymap = .standard) -> Action? {
        if key == .resize { return nil }
        if key == .ctrl("l") { return .repaint }
        if s.commandLine != nil {
            switch key {
            case .escape: return .commandCancel
            case .enter: return .commandSubmit
            case .backspace: return .commandBackspace
            case .tab: return .commandComplete
            case .char(let c): return .commandInput(c)
            default: return nil
            }
        }
        if s.prompt?.kind == .confirm {
            switch key {
            case .char("y"), .char("Y"): return .promptSubmit
            case .char("n"), .char("N"), .escape: return .promptCancel
            default: return nil
            }
        }
        if s.prompt != nil {
            switch key {
            case .escape: return .promptCancel
            case .enter: return .promptSubmit
            case .backspace: return .promptBackspace
            case .tab, .backTab: return .promptNextField
            case .char(let c): return .promptInput(c)
            default: return nil
            }
        }
        if s.filterEditing {
            switch key {
            case .escape: return .filterCancel
            case .enter: return .filterSubmit
            case .backspace: return .filterBackspace
            case .up: return .move(-1)
            case .down: return .move(1)
            case .char(let c): return .filterInput(c)
            default: return nil
            }
        }
        if s.showHelp, key == .char("q") { return .toggleHelp }
        return keymap.action(for: key, screen: s.screen)
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}

/// One key binding with its help text; the help screen is generated from these.
public struct KeyBinding: Sendable, Equatable {
    public var key: Key
    public var action: Action
    public var help: String
    /// Changes alarm state (ack, shelve, …): hidden and refused in read-only mode.
    public var mutating: Bool
    /// The views where it applies; nil = everywhere.
    public var screens: [Screen]?

    public init(_ key: Key, _ action: Action, _ help: String, mutating: Bool = false, screens: [Screen]? = nil) {
        self.key = key; self.action = action; self.help = help; self.mutating = mutating; self.screens = screens
    }
}

/// The table of key bindings: key → action + help text.
public struct Keymap: Sendable, Equatable {
    public var bindings: [KeyBinding]

    public init(_ bindings: [KeyBinding]) { self.bindings = bindings }

    public static let standard: Keymap = {
        var b: [KeyBinding] = [
            KeyBinding(.char("?"), .toggleHelp, "help (this screen)"),
            KeyBinding(.char("q"), .quit, "quit"),
            KeyBinding(.char(":"), .beginCommand, "command line, Tab completes"),
            KeyBinding(.char("/"), .beginFilter, "filter the list (!x excludes)"),
            KeyBinding(.enter, .drill, "drill down"),
            KeyBinding(.escape, .back, "back along the breadcrumbs"),
            KeyBinding(.tab, .nextView, "next view"),
            KeyBinding(.backTab, .previousView, "previous view"),
        ]
        for i in Screen.tabs.indices {
            b.append(KeyBinding(.char(Character(String(i + 1))), .showView(Screen.tabs[i]), "views: 1 Overview … 5 Blocks"))
        }
        b += [
            KeyBinding(.up, .move(-1), "previous row"),
            KeyBinding(.down, .move(1), "next row"),
            KeyBinding(.char("k"), .move(-1), "previous row"),
            KeyBinding(.char("j"), .move(1), "next row"),
            KeyBinding(.pageUp, .page(-1), "previous page"),
            KeyBinding(.pageDown, .page(1), "next page"),
            KeyBinding(.home, .first, "first row"),
            KeyBinding(.end, .last, "last row"),
            KeyBinding(.char("p"), .togglePause, "pause / resume the live feed"),
            KeyBinding(.ctrl("l"), .repaint, "repaint the whole screen"),
            KeyBinding(.char("e"), .jumpToOrigin, "evidence: block and event", screens: [.alarms, .asset]),
            KeyBinding(.char("i"), .openAsset, "open the asset", screens: [.alarms, .grid, .blocks, .asset]),
            KeyBinding(.char("t"), .showInTree, "show the asset in the tree", screens: [.alarms, .asset]),
            KeyBinding(.char("a"), .acknowledge, "acknowledge the alarm", mutating: true, screens: [.alarms, .asset]),
            KeyBinding(.char("s"), .beginShelve, "shelve (duration, reason)", mutating: true, screens: [.alarms, .asset]),
            KeyBinding(.char("c"), .beginComment, "comment on the alarm", mutating: true, screens: [.alarms, .asset]),
            KeyBinding(.char("u"), .unshelve, "unshelve the alarm", mutating: true, screens: [.alarms]),
            KeyBinding(.char("h"), .toggleHidden, "show shelved / inhibited", screens: [.alarms]),
            KeyBinding(.char("o"), .cycleSort, "sort by the next column", screens: [.alarms]),
            KeyBinding(.char("O"), .reverseSort, "reverse the sort", screens: [.alarms]),
        ]
        return Keymap(b)
    }()

    /// The action for a key in a view. Mutating bindings are returned in
    /// read-only mode too: the reducer refuses them with a message.
    public func action(for key: Key, screen: Screen? = nil, readOnly: Bool = false) -> Action? {
        guard let b = bindings.first(where: { $0.key == key && (screen == nil || $0.screens == nil || $0.screens!.contains(screen!)) })
        else { return nil }
        if readOnly && b.mutating { return nil }
        return b.action
    }

    /// Bindings that apply in `screen` (all when nil), without mutating ones in read-only mode.
    public func bindings(for screen: Screen?, readOnly: Bool) -> [KeyBinding] {
        bindings.filter { b in
            (screen == nil || b.screens == nil || b.screens!.contains(screen!)) && !(readOnly && b.mutating)
        }
    }

    /// `key  help` lines, for the help screen and docs; bindings of the same
    /// action share a line (`Up k  previous row`).
    public func helpLines(for screen: Screen? = nil, readOnly: Bool = false) -> [String] {
        var groups: [(keys: [String], help: String)] = []
        for b in bindings(for: screen, readOnly: readOnly) {
            if let i = groups.firstIndex(where: { $0.help == b.help }) { groups[i].keys.append(b.key.label) } else { groups.append(([b.key.label], b.help)) }
        }
        let labels = groups.map { $0.keys.joined(separator: " ") }
        let w = labels.map { DisplayWidth.of($0) }.max() ?? 0
        return zip(labels, groups).map { DisplayWidth.fit($0.0, w) + "  " + $0.1.help }
    }

    /// All bindings as lines (docs).
    public var helpLines: [String] { helpLines(for: nil) }
}
