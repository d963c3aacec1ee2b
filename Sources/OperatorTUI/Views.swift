import Alerts
import ChainCore
import GridCore

/// What every view draws from: the state, its data, and how to draw.
struct ViewContext {
    var state: AppState
    var data: ScreenData
    var options: RenderOptions
    var width: Int
    var height: Int
    var now: Double { state.now }
    var rows: Rows { state.rows }
    var selected: Int { state.list.selected }

    var dash: DashboardView.Context {
        var c = DashboardView.Context(snapshot: data.snapshot, now: state.now, options: options, width: width)
        c.trend = state.stageTrend
        return c
    }
}

/// Draws the whole app for a state: header, tabs, the current view with its
/// breadcrumb trail, overlays (help, prompt) and the bottom line.
public enum AppView {
    public static let minWidth = 80
    public static let minHeight = 24

    public static func render(_ s: AppState, into buf: inout CellBuffer, options: RenderOptions = RenderOptions()) {
        var opts = options
        opts.readOnly = opts.readOnly || s.readOnly
        buf.clear()
        if buf.width < minWidth || buf.height < minHeight {
            TooSmallView.render(into: &buf, needWidth: minWidth, needHeight: minHeight)
            return
        }
        let data = s.data ?? ScreenData(snapshot: MonitorSnapshot(now: s.now))
        let c = ViewContext(state: s, data: data, options: opts, width: buf.width, height: buf.height)
        DashboardView.drawHeader(c.dash, into: &buf)
        drawTabs(c, into: &buf)
        let top = 2, bottom = buf.height - 1
        if s.data == nil {
            buf.put("waiting for the first snapshot…", x: 2, y: buf.height / 2, role: .dim)
        } else {
            switch s.location {
            case .overview: OverviewView.render(c, into: &buf, top: top, bottom: bottom)
            case .grid(let focus): GridView.render(c, focus: focus, into: &buf, top: top, bottom: bottom)
            case .consensus: ConsensusView.render(c, into: &buf, top: top, bottom: bottom)
            case .alarms: AlarmsView.render(c, into: &buf, top: top, bottom: bottom)
            case .blocks: BlocksView.renderList(c, into: &buf, top: top, bottom: bottom)
            case .block(let n, let focus): BlocksView.renderBlock(c, number: n, focus: focus, into: &buf, top: top, bottom: bottom)
            case .asset(let id): AssetView.render(c, asset: id, into: &buf, top: top, bottom: bottom)
            }
        }
        if s.showHelp { HelpView.render(c, into: &buf, top: top, bottom: bottom) }
        if let p = s.prompt { PromptView.render(p, c, into: &buf) }
        drawBottomLine(c, into: &buf)
    }

    /// Row 1: the views as tabs (current one highlighted), PAUSED at the right.
    static func drawTabs(_ c: ViewContext, into buf: inout CellBuffer) {
        let y = 1
        var right = c.width
        if c.state.paused {
            let m = c.options.glyphs == .unicode ? " ‖ PAUSED " : " || PAUSED "
            right -= DisplayWidth.of(m)
            buf.put(m, x: right, y: y, role: .banner)
            right -= 1
        }
        if c.options.readOnly {
            let m = " READ-ONLY "
            right -= DisplayWidth.of(m)
            buf.put(m, x: right, y: y, role: .header)
            right -= 1
        }
        var x = 1
        let current = c.state.screen
        let compact = c.width < 100
        for (i, v) in Screen.tabs.enumerated() {
            let label = " \(i + 1) \(compact && v == .consensus ? "Consens." : v.title) "
            let w = DisplayWidth.of(label)
            if x + w > right { break }
            buf.put(label, x: x, y: y, role: v == current ? .selected : .dim)
            x += w + 1
        }
    }

    /// The last row: command line, filter input, message or key hints.
    static func drawBottomLine(_ c: ViewContext, into buf: inout CellBuffer) {
        let y = buf.height - 1
        let s = c.state
        if let line = s.commandLine {
            buf.put(":" + line, x: 0, y: y, role: .value, maxWidth: c.width - 1)
            buf.put("█", x: min(c.width - 1, 1 + DisplayWidth.of(line)), y: y, role: .value)
            return
        }
        if s.filterEditing {
            let f = s.list.filter
            buf.put("/" + f, x: 0, y: y, role: .value, maxWidth: c.width - 1)
            buf.put("█", x: min(c.width - 1, 1 + DisplayWidth.of(f)), y: y, role: .value)
            let hint = "Enter keep  Esc clear  !text excludes"
            buf.put(hint, x: c.width - DisplayWidth.of(hint) - 1, y: y, role: .dim)
            return
        }
        // A message for the operator outranks the key hints.
        let hints = s.message == nil ? hintText(c) : "? help"
        let hw = DisplayWidth.of(hints)
        buf.put(hints, x: max(0, c.width - hw - 1), y: y, role: .dim)
        let room = c.width - hw - 3
        if let m = s.message {
            buf.put(m, x: 0, y: y, role: .warn, maxWidth: room)
        } else if let first = c.data.snapshot.warnings.first {
            var text = "\(c.options.warnMark) " + SafeText.sanitize(first)
            if c.data.snapshot.warnings.count > 1 { text += "  (+\(c.data.snapshot.warnings.count - 1) more)" }
            buf.put(text, x: 0, y: y, role: .warn, maxWidth: room)
        }
    }

    /// Short key hints for the current view, from the keymap (so they cannot drift).
    static func hintText(_ c: ViewContext) -> String {
        let wanted: [Action]
        switch c.state.screen {
        case .alarms, .asset: wanted = [.acknowledge, .beginShelve, .jumpToOrigin, .toggleHelp]
        case .grid, .blocks: wanted = [.drill, .back, .beginFilter, .toggleHelp]
        default: wanted = [.toggleHelp, .quit]
        }
        let bindings = Keymap.standard.bindings(for: c.state.screen, readOnly: c.options.readOnly)
        var parts: [String] = []
        for a in wanted {
            guard let b = bindings.first(where: { $0.action == a }) else { continue }
            let word = b.help.split(separator: " ").first.map(String.init) ?? ""
            parts.append(b.key.label + " " + word.replacingOccurrences(of: ":", with: ""))
        }
        return parts.joined(separator: "  ")
    }

    // MARK: shared pieces

    /// The breadcrumb trail, e.g. `Alarms › #8123455 › asset TX-07`, cut from the left.
    static func breadcrumbs(_ c: ViewContext) -> [String] {
        c.state.stack.map { label(for: $0, c) }
    }

    static func label(for l: Location, _ c: ViewContext) -> String {
        switch l {
        case .overview: return "Overview"
        case .grid(nil): return "Grid"
        case .grid(let id?): return c.data.grid?[id].map { SafeText.sanitize($0.name, limit: 24) } ?? id.short
        case .consensus: return "Consensus"
        case .alarms: return "Alarms"
        case .blocks: return "Blocks"
        case .block(let n, _): return "block #\(n)"
        case .asset(let id): return "asset " + assetName(id, c)
        }
    }

    static func assetName(_ id: AssetID, _ c: ViewContext) -> String {
        if let n = c.data.grid?[id] { return SafeText.sanitize(n.name, limit: 32) }
        if let a = c.data.allAlarms.first(where: { $0.asset == id }) { return SafeText.sanitize(a.assetName, limit: 32) }
        return id.short
    }

    /// Title row of a view: breadcrumbs on the left, `detail` after them.
    static func drawTitle(_ c: ViewContext, y: Int, detail: String = "", detailRole: StyleRole = .dim, into buf: inout CellBuffer) {
        let sep = c.options.glyphs == .unicode ? " › " : " > "
        var crumbs = breadcrumbs(c)
        let maxW = c.width * 2 / 3
        var text = crumbs.joined(separator: sep)
        while DisplayWidth.of(text) > maxW && crumbs.count > 1 {
            crumbs.removeFirst()
            text = "…" + sep + crumbs.joined(separator: sep)
        }
        var x = 0
        let parts = text.components(separatedBy: sep)
        for (i, p) in parts.enumerated() {
            if i > 0 { x += buf.put(sep, x: x, y: y, role: .dim) }
            x += buf.put(p, x: x, y: y, role: i == parts.count - 1 ? .title : .normal, maxWidth: c.width - x)
        }
        if !detail.isEmpty, x + 2 < c.width {
            buf.put(detail, x: x + 2, y: y, role: detailRole, maxWidth: c.width - x - 2)
        }
    }

    /// "12 of 340 · filter: abc" for a list title.
    static func countText(shown: Int, total: Int, filter: String) -> String {
        var t = shown == total ? "\(total)" : "\(shown) of \(total)"
        if !filter.isEmpty { t += "  filter: " + SafeText.sanitize(filter, limit: 40) }
        return t
    }

    /// The window of a list: stable pages so the selection never jumps around.
    static func window(count: Int, selected: Int, rows: Int) -> Range<Int> {
        guard rows > 0, count > 0 else { return 0..<0 }
        let start = (max(0, selected) / rows) * rows
        return start..<min(count, start + rows)
    }

    /// "rows 41-60 of 10000" when the list is longer than the window.
    static func drawScrollHint(_ r: Range<Int>, count: Int, x: Int, y: Int, into buf: inout CellBuffer, width: Int) {
        guard count > r.count, !r.isEmpty else { return }
        let t = "\(r.lowerBound + 1)-\(r.upperBound) of \(count)"
        buf.put(t, x: max(0, width - DisplayWidth.of(t) - 1), y: y, role: .dim)
    }

    static func notAvailable(_ text: String, x: Int = 2, y: Int, into buf: inout CellBuffer) {
        buf.put(text, x: x, y: y, role: .dim)
    }
}

// MARK: - Overview

enum OverviewView {
    static func render(_ c: ViewContext, into buf: inout CellBuffer, top: Int, bottom: Int) {
        let extras = DashboardView.OverviewExtras(
            kpi: { _, buf, y, _ in AlarmsView.drawKPIStrip(c, y: y, into: &buf, label: true) },
            consensus: { _, buf, y, _ in ConsensusView.drawSummary(c, y: y, into: &buf) })
        DashboardView.renderBody(c.dash, into: &buf, top: top, bottom: bottom, extras: extras)
    }
}

// MARK: - Alarms

enum AlarmsView {

    /// Alarm KPIs from the data, or estimated from the visible list.
    static func kpis(_ c: ViewContext) -> (AlarmKPIs, estimated: Bool, Vocabulary.Counts) {
        let k = c.state.alarmCounts
        if let real = c.data.kpis { return (real, false, k) }
        return (AlarmKPIs(alarmsLast10Min: k.last10Min), true, k)
    }

    /// One row: alarm counts per priority, 10-min rate, shelved/inhibited, stale, chattering.
    static func drawKPIStrip(_ c: ViewContext, y: Int, into buf: inout CellBuffer, label: Bool) {
        let (kpi, est, k) = kpis(c)
        var x = 0
        if label { x += buf.put("ALARM KPIs", x: 0, y: y, role: .title) + 2 }
        if kpi.flood {
            x += buf.put(" FLOOD ", x: x, y: y, role: .banner) + 1
        }
        for p in AlarmPriority.allCases {
            let n = k.byPriority[p.rawValue]
            x += buf.put("\(c.options.priorityMark(p))\(n)", x: x, y: y, role: n > 0 ? .alarm(p) : .dim) + 1
        }
        x += 1
        var parts: [(String, StyleRole)] = [
            ("\(k.unack) unack", k.unack > 0 ? .value : .normal),
            ("10-min \(est ? "≈" : "")\(kpi.alarmsLast10Min)/\(AlarmKPIs.floodThreshold)", kpi.flood ? .warn : .normal),
            ("shelved \(c.data.shelved)", c.data.shelved > 0 ? .value : .normal),
            ("inhibited \(c.data.inhibited)", .normal),
        ]
        if let ph = kpi.alarmsPerHour { parts.append((String(format1(ph)) + "/h", ph > 12 ? .warn : .normal)) }
        if est {
            parts.append(("stale/chattering n/a", .dim))
        } else {
            parts.append(("stale \(kpi.stale)", kpi.stale > 0 ? .warn : .normal))
            parts.append(("chattering \(kpi.chattering)", kpi.chattering > 0 ? .warn : .normal))
            if let t = kpi.timeInFlood { parts.append(("in flood \(format1(t * 100))%", t > 0.01 ? .warn : .normal)) }
        }
        for (t, r) in parts {
            guard x + DisplayWidth.of(t) < c.width else { break }
            x += buf.put(t, x: x, y: y, role: r) + 2
        }
    }

    static func format1(_ v: Double) -> String {
        let t = Int((v * 10).rounded())
        return "\(t / 10).\(abs(t % 10))"
    }

    static func stateText(_ a: Alarm, _ ann: AlarmAnnotation?) -> String {
        if ann?.isShelved == true { return "SHELVED" }
        if ann?.isInhibited == true { return "INHIBITED" }
        return (a.active ? "ACTIVE" : "clear ") + " " + (a.acknowledged ? "ack" : "UNACK")
    }

    static func render(_ c: ViewContext, into buf: inout CellBuffer, top: Int, bottom: Int) {
        let list = c.rows.alarms
        let detail = AppView.countText(shown: list.count, total: c.rows.unfiltered, filter: c.state.list.filter)
            + "  sort: \(c.state.alarmSort.rawValue)\(c.state.alarmSortReversed ? " ↑" : "")"
            + (c.state.showHidden ? "  +shelved/inhibited" : "")
        AppView.drawTitle(c, y: top, detail: detail, into: &buf)
        var y = top + 1
        let (kpi, _, k) = kpis(c)
        if kpi.flood {
            let m = c.options.glyphs == .unicode ? "◆" : "!"
            let text = " \(m) ALARM FLOOD: \(kpi.alarmsLast10Min) alarms in 10 min (≥ \(AlarmKPIs.floodThreshold)). Work highest priority first. \(m) "
            buf.fill(x: 0, y: y, count: c.width, role: .banner)
            buf.put(text, x: 0, y: y, role: .banner, maxWidth: c.width)
            y += 1
        }
        drawKPIStrip(c, y: y, into: &buf, label: false)
        _ = k
        y += 1
        let detailRows = c.height >= 40 ? 5 : 1
        let listBottom = bottom - detailRows
        drawTable(c, list: list, annotations: c.data.annotations, y: y, bottom: listBottom, into: &buf,
                  empty: c.rows.unfiltered == 0 ? "no active or unacknowledged alarms" : "no alarm matches the filter")
        let sel = c.selected
        if list.indices.contains(sel) {
            drawDetail(c, list[sel], y: listBottom, rows: detailRows, into: &buf)
        }
    }

    static func columns(_ c: ViewContext, annotations: [Int: AlarmAnnotation]) -> [TableColumn<Alarm>] {
        let now = c.now, opts = c.options
        if c.width < DashboardView.compactAlarmWidth {
            // Narrow: the asset's name first; compact state and kind; stage and message only in the detail line.
            return [
                TableColumn(title: "pri", width: 3, priority: 0) { (opts.priorityMark($0.priority), .alarm($0.priority)) },
                TableColumn(title: "state", width: 9, priority: 2) { a in
                    let ann = annotations[a.id]
                    let text = ann?.isShelved == true ? "SHELVED" : ann?.isInhibited == true ? "INHIBITED" : DashboardView.shortStateText(a)
                    return (text, a.acknowledged || ann?.isShelved == true ? nil : .alarm(a.priority))
                },
                TableColumn(title: "kind", width: 11, priority: 3) { (DashboardView.shortKindLabel($0.kind), nil) },
                TableColumn(title: "asset", width: 24, priority: 1, flexible: true, maxWidth: 40) { (SafeText.sanitize($0.assetName), nil) },
                TableColumn(title: "age", width: 6, align: .right, priority: 4) { (Format.age(seconds: now - $0.raisedAt), nil) },
                TableColumn(title: "rep", width: 3, align: .right, priority: 6) { ($0.count > 1 ? "x\($0.count)" : "", nil) },
                TableColumn(title: "evidence", width: 9, priority: 5) { ($0.origin.map { "#\($0.blockNumber)" } ?? "-", .dim) },
                TableColumn(title: "stage", width: 12, priority: 7) { ($0.stageName, nil) },
                TableColumn(title: "message", width: 16, priority: 8, flexible: true) { (SafeText.sanitize($0.message), nil) },
            ]
        }
        return [
            TableColumn(title: "pri", width: 3, priority: 0) { (opts.priorityMark($0.priority), .alarm($0.priority)) },
            TableColumn(title: "state", width: 12, priority: 1) { a in
                let ann = annotations[a.id]
                return (stateText(a, ann), a.acknowledged || ann?.isShelved == true ? nil : .alarm(a.priority))
            },
            TableColumn(title: "kind", width: 17, priority: 2) { (Vocabulary.kindLabel($0.kind), nil) },
            TableColumn(title: "asset", width: 14, priority: 3, flexible: true, maxWidth: 30) { (SafeText.sanitize($0.assetName), nil) },
            TableColumn(title: "stage", width: 12, priority: 7) { ($0.stageName, nil) },
            TableColumn(title: "age", width: 6, align: .right, priority: 4) { (Format.age(seconds: now - $0.raisedAt), nil) },
            TableColumn(title: "count", width: 5, align: .right, priority: 5) { ($0.count > 1 ? "x\($0.count)" : "1", $0.count > 1 ? nil : .dim) },
            TableColumn(title: "evidence", width: 10, priority: 6) { ($0.origin.map { "#\($0.blockNumber)" } ?? "-", .dim) },
            TableColumn(title: "message", width: 16, priority: 8, flexible: true) { (SafeText.sanitize($0.message), nil) },
        ]
    }

    static func drawTable(_ c: ViewContext, list: [Alarm], annotations: [Int: AlarmAnnotation], y: Int, bottom: Int,
                          into buf: inout CellBuffer, empty: String, selectable: Bool = true) {
        let table = TableLayout(columns(c, annotations: annotations), totalWidth: c.width - 2)
        table.drawHeader(into: &buf, x: 2, y: y, width: c.width - 2)
        let rows = bottom - y - 1
        guard rows > 0 else { return }
        if list.isEmpty {
            AppView.notAvailable(empty, y: y + 1, into: &buf)
            return
        }
        let win = AppView.window(count: list.count, selected: c.selected, rows: rows)
        AppView.drawScrollHint(win, count: list.count, x: 0, y: y, into: &buf, width: c.width)
        for (r, i) in win.enumerated() {
            let a = list[i]
            let isSel = selectable && i == c.selected
            let base: StyleRole = isSel ? .selected : (!a.active ? .dim : (a.acknowledged ? .normal : .value))
            if isSel {
                buf.fill(x: 0, y: y + 1 + r, count: c.width, role: .selected)
                buf.put(c.options.glyphs == .unicode ? "▶" : ">", x: 0, y: y + 1 + r, role: .selected)
            }
            table.drawRow(a, role: base, into: &buf, x: 2, y: y + 1 + r, override: isSel ? { i in i == 0 ? nil : .selected } : nil)
        }
    }

    /// The selected alarm in full: message, who acknowledged, shelve reason, comments.
    static func drawDetail(_ c: ViewContext, _ a: Alarm, y: Int, rows: Int, into buf: inout CellBuffer) {
        guard rows > 0 else { return }
        let ann = c.data.annotations[a.id]
        var lines: [(String, StyleRole)] = []
        var first = "\(c.options.priorityMark(a.priority)) \(a.priority.name) · \(Vocabulary.kindLabel(a.kind)) · " + SafeText.sanitize(a.message)
        if let o = a.origin { first += " · evidence block #\(o.blockNumber) log \(o.logIndex) (e)" }
        lines.append((first, .normal))
        if let by = a.acknowledgedBy { lines.append(("acknowledged by " + SafeText.sanitize(by, limit: 40), .dim)) }
        if let u = ann?.shelvedUntil {
            let until = u.isInfinite ? "until it clears" : "until " + Format.time(Int64(u), seconds: false) + " UTC"
            lines.append(("shelved \(until) by \(SafeText.sanitize(ann?.shelvedBy ?? "?", limit: 24)): " + SafeText.sanitize(ann?.shelveReason ?? ""), .warn))
        }
        if let i = ann?.inhibitedBy { lines.append(("inhibited by " + SafeText.sanitize(i, limit: 60), .dim)) }
        for cm in ann?.comments.suffix(3) ?? [] { lines.append(("comment: " + SafeText.sanitize(cm), .dim)) }
        if rows == 1 {
            buf.put(lines[0].0, x: 2, y: y, role: .dim, maxWidth: c.width - 3)
            return
        }
        buf.fill(x: 0, y: y, count: c.width, role: .header)
        buf.put("SELECTED ALARM", x: 2, y: y, role: .header)
        for (i, l) in lines.prefix(rows - 1).enumerated() {
            buf.put(l.0, x: 2, y: y + 1 + i, role: l.1, maxWidth: c.width - 3)
        }
    }
}

// MARK: - Grid

enum GridView {
    static func render(_ c: ViewContext, focus: AssetID?, into buf: inout CellBuffer, top: Int, bottom: Int) {
        guard let g = c.data.grid else {
            AppView.drawTitle(c, y: top, into: &buf)
            AppView.notAvailable("grid topology not available yet (the monitor has not published it)", y: top + 2, into: &buf)
            return
        }
        let rows = c.rows.grid
        var suspects = 0
        if rows.count <= 5_000 { for id in rows where g[id]?.suspect == true { suspects += 1 } }
        var detail = AppView.countText(shown: rows.count, total: c.rows.unfiltered, filter: c.state.list.filter)
            + (focus == nil ? " roots, \(g.count) assets" : " children")
        if suspects > 0 { detail += "  \(suspects) suspect" }
        AppView.drawTitle(c, y: top, detail: detail, into: &buf)
        var y = top + 1
        if let f = focus, let node = g[f] {
            // The focused segment itself, with its balance.
            let path = g.path(to: f).map { SafeText.sanitize($0.name, limit: 20) }.joined(separator: c.options.glyphs == .unicode ? " › " : " > ")
            buf.put("path " + path, x: 2, y: y, role: .dim, maxWidth: c.width - 3)
            y += 1
            drawBalanceLine(c, node, y: y, into: &buf)
            y += 1
        }
        let table = TableLayout(columns(c, g), totalWidth: c.width - 2)
        table.drawHeader(into: &buf, x: 2, y: y, width: c.width - 2)
        let n = bottom - y - 1
        if rows.isEmpty {
            AppView.notAvailable(c.rows.unfiltered == 0 ? "no assets below this one" : "no asset matches the filter", y: y + 1, into: &buf)
            return
        }
        let win = AppView.window(count: rows.count, selected: c.selected, rows: n)
        AppView.drawScrollHint(win, count: rows.count, x: 0, y: y, into: &buf, width: c.width)
        let gaugeCol = table.placed.first { table.columns[$0.index].title == "balance against band" }
        for (r, i) in win.enumerated() {
            guard let node = g[rows[i]] else { continue }
            let isSel = i == c.selected
            let ry = y + 1 + r
            let role: StyleRole = isSel ? .selected : (node.suspect ? .alarmHigh : .normal)
            if isSel {
                buf.fill(x: 0, y: ry, count: c.width, role: .selected)
                buf.put(c.options.glyphs == .unicode ? "▶" : ">", x: 0, y: ry, role: .selected)
            }
            table.drawRow(node, role: role, into: &buf, x: 2, y: ry, override: isSel ? { _ in .selected } : nil)
            if let gc = gaugeCol, let b = node.balance {
                let (lo, hi) = (b.bandLowWh.map(Double.init), b.bandHighWh.map(Double.init))
                BandGauge.draw(value: Double(b.residualWh), low: lo, high: hi, x: 2 + gc.x, y: ry, width: gc.width,
                               markerRole: verdictRole(b, suspect: node.suspect), glyphs: c.options.glyphs, into: &buf)
            }
        }
    }

    static func verdictRole(_ b: SegmentStatus, suspect: Bool) -> StyleRole {
        if suspect { return .alarmHigh }
        switch b.verdict {
        case .above, .below: return .warn
        default: return .value
        }
    }

    static func verdictText(_ n: GridNode, _ glyphs: GlyphSet) -> (String, StyleRole?) {
        let up = glyphs == .unicode ? "▲" : "^"
        if n.suspect { return ("\(up) SUSPECT", .alarmHigh) }
        guard let b = n.balance else { return ("", nil) }
        switch b.verdict {
        case .normal: return ("in band", .dim)
        case .above: return ("above band", .warn)
        case .below: return ("below band", .warn)
        case .incomplete: return ("incomplete", .dim)
        case .learning: return ("learning", .dim)
        }
    }

    static func columns(_ c: ViewContext, _ g: GridTree) -> [TableColumn<GridNode>] {
        let glyphs = c.options.glyphs
        let arrow = glyphs == .unicode ? "▸" : "+"
        // Narrow screens: the name gets the room; the stage shows in the title and path instead.
        let compact = c.width < DashboardView.compactAlarmWidth
        return [
            TableColumn(title: "asset", width: compact ? 30 : 18, priority: 0, flexible: true, maxWidth: compact ? 44 : 36) { n in
                let kids = g.children[n.id]?.count ?? 0
                return ((kids > 0 ? arrow + " " : "  ") + SafeText.sanitize(n.name), nil)
            },
            TableColumn(title: "stage", width: 12, priority: compact ? 7 : 3) { (n: GridNode) in (n.stage.name, .dim) },
            TableColumn(title: "below", width: compact ? 5 : 6, align: .right, priority: 5) { n in
                let k = g.children[n.id]?.count ?? 0
                return (k > 0 ? "\(k)" : "", .dim)
            },
            TableColumn(title: "residual", width: 11, align: .right, priority: 1) { n in
                guard let b = n.balance else { return ("-", .dim) }
                return (Format.energy(wh: b.residualWh, unit: .kWh, plus: true), nil)
            },
            TableColumn(title: compact ? "flow%" : "of flow", width: compact ? 6 : 7, align: .right, priority: 4) { n in
                guard let b = n.balance else { return ("", nil) }
                return (Format.percent(b.residualWh, of: b.throughputWh) ?? "-", .dim)
            },
            TableColumn(title: "balance against band", width: 20, priority: 6) { _ in ("", nil) },
            TableColumn(title: "status", width: 11, priority: 2) { verdictText($0, glyphs) },
        ]
    }

    static func drawBalanceLine(_ c: ViewContext, _ node: GridNode, y: Int, into buf: inout CellBuffer) {
        var x = 2
        x += buf.put(SafeText.sanitize(node.name, limit: 30), x: x, y: y, role: node.suspect ? .alarmHigh : .value) + 2
        guard let b = node.balance else {
            buf.put("balance not available", x: x, y: y, role: .dim)
            return
        }
        x += buf.put("residual " + Format.energy(wh: b.residualWh, unit: .kWh, plus: true), x: x, y: y, role: .normal) + 2
        if let lo = b.bandLowWh, let hi = b.bandHighWh {
            x += buf.put("band " + Format.energy(wh: lo, unit: .kWh) + " … " + Format.energy(wh: hi, unit: .kWh), x: x, y: y, role: .dim) + 2
        }
        let vt = verdictText(node, c.options.glyphs)
        x += buf.put(vt.0, x: x, y: y, role: vt.1 ?? .normal) + 2
        if c.width - x >= 12 {
            BandGauge.draw(value: Double(b.residualWh), low: b.bandLowWh.map(Double.init), high: b.bandHighWh.map(Double.init),
                           x: x, y: y, width: min(30, c.width - x - 1), markerRole: verdictRole(b, suspect: node.suspect),
                           glyphs: c.options.glyphs, into: &buf)
        }
    }
}

// MARK: - Consensus

enum ConsensusView {
    static func drawSummary(_ c: ViewContext, y: Int, into buf: inout CellBuffer) {
        let cs = c.data.consensusOrDerived
        let nodes = c.data.snapshot.nodes
        var x = buf.put("CONSENSUS", x: 0, y: y, role: .title) + 2
        var parts: [(String, StyleRole)] = []
        parts.append(((cs.protocolName ?? "protocol ?"), cs.protocolName == nil ? .dim : .normal))
        parts.append(("\(cs.validators.count) validators", .normal))
        if !cs.blockIntervals.isEmpty {
            let avg = cs.blockIntervals.reduce(0, +) / Double(cs.blockIntervals.count)
            let mx = cs.blockIntervals.max() ?? 0
            parts.append(("interval avg \(AlarmsView.format1(avg))s max \(AlarmsView.format1(mx))s", mx > 3 * max(avg, 0.1) ? .warn : .normal))
        }
        let verified = nodes.filter { $0.trust == .verified }.count
        let bad = nodes.filter { $0.trust == .divergent || $0.trust == .untrusted }.count
        parts.append(("nodes \(verified)/\(nodes.count) verified", verified < nodes.count ? .warn : .normal))
        if bad > 0 { parts.append(("\(c.options.warnMark) \(bad) divergent/untrusted", .alarmHigh)) }
        let spark = Sparkline.text(cs.blockIntervals, width: 16, glyphs: c.options.glyphs, zeroBased: true)
        for (t, r) in parts {
            guard x + DisplayWidth.of(t) < c.width else { break }
            x += buf.put(t, x: x, y: y, role: r) + 2
        }
        if !spark.isEmpty, x + 16 < c.width { buf.put(spark, x: x, y: y, role: .chart) }
    }

    static func render(_ c: ViewContext, into buf: inout CellBuffer, top: Int, bottom: Int) {
        let cs = c.data.consensusOrDerived
        var detail = cs.protocolName.map { "protocol \($0)" } ?? "protocol not reported"
        if c.data.consensus == nil { detail += "  (validators derived from the recent blocks)" }
        AppView.drawTitle(c, y: top, detail: detail, into: &buf)
        let avail = bottom - top - 1
        let nodeRows = min(max(1, c.rows.nodes.count), max(3, avail / 3))
        let chartRows = max(3, min(8, avail / 4))
        let valRows = max(1, avail - (nodeRows + 2) - (chartRows + 2) - 2)
        var y = top + 1
        // Validators.
        buf.put("VALIDATORS", x: 0, y: y, role: .title)
        let vcols: [TableColumn<ValidatorStats>] = [
            TableColumn(title: "validator", width: c.width >= 140 ? 42 : 13, priority: 0) { (c.width >= 140 ? $0.address.hex : $0.address.short, nil) },
            TableColumn(title: "name", width: 12, priority: 5, flexible: true, maxWidth: 24) { (SafeText.sanitize($0.name ?? "-"), $0.name == nil ? .dim : nil) },
            TableColumn(title: "proposals", width: 9, align: .right, priority: 1) { ("\($0.proposals)", nil) },
            TableColumn(title: "last block", width: 11, align: .right, priority: 2) { ($0.lastProposed.map { "#\($0)" } ?? "-", nil) },
            TableColumn(title: "missed", width: 6, align: .right, priority: 3) { v in
                guard let m = v.missedTurns else { return ("n/a", .dim) }
                return ("\(m)", m > 0 ? .warn : nil)
            },
            TableColumn(title: "in-turn", width: 7, align: .right, priority: 4) { v in
                guard let s = v.inTurnShare else { return ("n/a", .dim) }
                return (AlarmsView.format1(s * 100) + "%", s < 0.5 ? .warn : nil)
            },
        ]
        let vt = TableLayout(vcols, totalWidth: c.width - 2)
        vt.drawHeader(into: &buf, x: 2, y: y + 1, width: c.width - 2)
        if cs.validators.isEmpty { AppView.notAvailable("no validator data yet", y: y + 2, into: &buf) }
        for (i, v) in cs.validators.prefix(valRows).enumerated() { vt.drawRow(v, role: .normal, into: &buf, x: 2, y: y + 2 + i) }
        if cs.validators.count > valRows { buf.put("+\(cs.validators.count - valRows) more", x: c.width - 12, y: y, role: .dim) }
        y += 2 + valRows + 1
        // Nodes.
        let nodes = c.data.snapshot.nodes
        buf.put("NODES", x: 0, y: y, role: .title)
        let nx = 7 + buf.put(AppView.countText(shown: c.rows.nodes.count, total: nodes.count, filter: c.state.list.filter), x: 7, y: y, role: .dim)
        let ignored = c.data.snapshot.ignoredLogs
        if ignored > 0 {
            // Logs a node sent from contracts other than the metering contracts: they changed nothing.
            buf.put("\(c.options.warnMark) ignored: \(ignored) log\(ignored == 1 ? "" : "s") from other contracts",
                    x: nx + 2, y: y, role: .warn, maxWidth: max(0, c.width - nx - 3))
        }
        let ncols: [TableColumn<NodeStatus>] = [
            TableColumn(title: "node", width: 12, priority: 0, flexible: true, maxWidth: 20) { (SafeText.sanitize($0.name), nil) },
            TableColumn(title: "trust", width: 10, priority: 0) { n in
                let bad = n.trust == .divergent || n.trust == .untrusted
                return ((bad ? c.options.warnMark + " " : "") + n.trust.rawValue, bad ? .alarmHigh : (n.trust == .verified ? nil : .dim))
            },
            TableColumn(title: "connection", width: 12, priority: 1) { ($0.connection.rawValue, $0.connection == .connected ? nil : .warn) },
            TableColumn(title: "head", width: 10, priority: 2) { ($0.headNumber.map { "#\($0)" } ?? "-", nil) },
            TableColumn(title: "lag", width: 4, align: .right, priority: 2) { ("\($0.lag)", $0.lag > 0 ? .warn : nil) },
            TableColumn(title: "latency", width: 11, align: .right, priority: 3) { n in
                guard let m = n.latencyMedianMs else { return ("-", .dim) }
                return ("\(Int(m.rounded()))/\(n.latencyP99Ms.map { String(Int($0.rounded())) } ?? "-")ms", nil)
            },
            TableColumn(title: "peers", width: 5, align: .right, priority: 4) { ($0.peerCount.map { String($0) } ?? "-", nil) },
            TableColumn(title: "sync", width: 7, priority: 5) { n in
                guard let s = n.syncing else { return ("-", .dim) }
                return (s ? "syncing" : "synced", s ? .warn : nil)
            },
            TableColumn(title: "client", width: 14, priority: 6, flexible: true, maxWidth: 40) { (SafeText.sanitize($0.clientVersion ?? "-"), .dim) },
            TableColumn(title: "last error", width: 12, priority: 7, flexible: true) { (SafeText.sanitize($0.lastError ?? ""), .warn) },
        ]
        let nt = TableLayout(ncols, totalWidth: c.width - 2)
        nt.drawHeader(into: &buf, x: 2, y: y + 1, width: c.width - 2)
        if nodes.isEmpty { AppView.notAvailable("no nodes configured", y: y + 2, into: &buf) }
        let win = AppView.window(count: c.rows.nodes.count, selected: c.selected, rows: nodeRows)
        for (r, i) in win.enumerated() {
            let n = nodes[c.rows.nodes[i]]
            let sel = i == c.selected
            if sel { buf.put(c.options.glyphs == .unicode ? "▶" : ">", x: 0, y: y + 2 + r, role: .selected) }
            nt.drawRow(n, role: .normal, into: &buf, x: 2, y: y + 2 + r)
        }
        y += 2 + nodeRows + 1
        // Block interval chart.
        guard y + 2 < bottom else { return }
        let iv = cs.blockIntervals
        var title = "BLOCK INTERVALS"
        if !iv.isEmpty {
            let avg = iv.reduce(0, +) / Double(iv.count)
            title += "  last \(iv.count)  min \(AlarmsView.format1(iv.min()!))s  avg \(AlarmsView.format1(avg))s  max \(AlarmsView.format1(iv.max()!))s"
            if let t = cs.targetBlockSeconds { title += "  target \(AlarmsView.format1(t))s" }
        }
        buf.put(title, x: 0, y: y, role: .title, maxWidth: c.width)
        let h = min(chartRows, bottom - y - 1)
        if iv.isEmpty {
            AppView.notAvailable("no block intervals yet", y: y + 1, into: &buf)
            return
        }
        let axisW = 7
        let maxV = max(iv.max() ?? 1, (cs.targetBlockSeconds ?? 0) * 1.5)
        let bars = BarChart.rows(iv, width: c.width - axisW - 2, height: h, maxValue: maxV, glyphs: c.options.glyphs)
        for (i, line) in bars.enumerated() {
            let ry = y + 1 + i
            if i == 0 { buf.put(AlarmsView.format1(maxV) + "s", x: 0, y: ry, width: axisW - 1, align: .right, role: .dim) }
            if i == bars.count - 1 { buf.put("0s", x: 0, y: ry, width: axisW - 1, align: .right, role: .dim) }
            buf.put(line, x: axisW, y: ry, role: .chart)
        }
    }
}

// MARK: - Blocks

enum BlocksView {

    static func verificationRole(_ v: BlockVerification) -> StyleRole {
        switch v {
        case .verified: return .good
        case .pending: return .dim
        case .disputed: return .warn
        case .invalid: return .alarmHigh
        }
    }

    static func renderList(_ c: ViewContext, into buf: inout CellBuffer, top: Int, bottom: Int) {
        let rows = c.rows.blocks
        AppView.drawTitle(c, y: top, detail: AppView.countText(shown: rows.count, total: c.rows.unfiltered, filter: c.state.list.filter) + " newest first", into: &buf)
        let dash = c.dash
        let chainNow = dash.chainNow
        let wide = c.width >= 140
        let mark = c.options.rejectMark
        let details = c.data.blocks
        let cols: [TableColumn<BlockRow>] = [
            TableColumn(title: "block", width: 10, priority: 0) { ("#\($0.number)", .value) },
            TableColumn(title: "age", width: 7, align: .right, priority: 1) { (Format.age(seconds: chainNow - Double($0.timestamp)), nil) },
            TableColumn(title: "verified", width: 8, priority: 2) { b in
                guard let v = details[b.number]?.verification else { return ("-", .dim) }
                return (v.rawValue, verificationRole(v))
            },
            TableColumn(title: "hash", width: wide ? 66 : 11, priority: 3) { (wide ? $0.hash.hex : $0.hash.short, .dim) },
            TableColumn(title: "proposer", width: 11, priority: 4) { ($0.proposer.short, .dim) },
            TableColumn(title: "readings", width: 8, align: .right, priority: 2) { ("\($0.readings)", nil) },
            TableColumn(title: "regs", width: 4, align: .right, priority: 5) { ("\($0.registrations)", nil) },
            TableColumn(title: "xfers", width: 5, align: .right, priority: 5) { ("\($0.transfers)", nil) },
            TableColumn(title: "rejected", width: 12, priority: 1) { $0.rejected > 0 ? ("\(mark) \($0.rejected) rejected", .warn) : ("", nil) },
        ]
        let table = TableLayout(cols, totalWidth: c.width - 2)
        let y = top + 1
        table.drawHeader(into: &buf, x: 2, y: y, width: c.width - 2)
        if rows.isEmpty {
            AppView.notAvailable(c.rows.unfiltered == 0 ? "no blocks yet" : "no block matches the filter", y: y + 1, into: &buf)
            return
        }
        // Blocks a reorg took off the chain: listed apart, on the last line, never as the chain.
        var bottom = bottom
        let orphans = c.data.snapshot.orphanedBlocks
        if !orphans.isEmpty, bottom - y > 3 {
            bottom -= 1
            let list = orphans.prefix(6).map { "#\($0.number) \($0.hash.short)" }.joined(separator: ", ")
            buf.put("\(c.options.warnMark) orphaned by reorgs (not on the chain): \(list)\(orphans.count > 6 ? ", …" : "")",
                    x: 2, y: bottom, role: .warn, maxWidth: c.width - 3)
        }
        let win = AppView.window(count: rows.count, selected: c.selected, rows: bottom - y - 1)
        AppView.drawScrollHint(win, count: rows.count, x: 0, y: y, into: &buf, width: c.width)
        for (r, i) in win.enumerated() {
            let sel = i == c.selected
            if sel {
                buf.fill(x: 0, y: y + 1 + r, count: c.width, role: .selected)
                buf.put(c.options.glyphs == .unicode ? "▶" : ">", x: 0, y: y + 1 + r, role: .selected)
            }
            table.drawRow(rows[i], role: sel ? .selected : .normal, into: &buf, x: 2, y: y + 1 + r, override: sel ? { _ in .selected } : nil)
        }
    }

    static func renderBlock(_ c: ViewContext, number n: UInt64, focus: EventOrigin?, into buf: inout CellBuffer, top: Int, bottom: Int) {
        let detail = c.data.blocks[n]
        let row = c.data.snapshot.recentBlocks.first { $0.number == n }
        let header = detail?.header ?? (c.data.snapshot.head?.number == n ? c.data.snapshot.head : nil)
        // Evidence in a block that a reorg took off the chain: said so, never shown as the chain's block.
        let canonicalHash = header?.hash ?? row?.hash
        let orphaned = focus.map { f in
            c.data.snapshot.orphanedBlocks.contains { $0.hash == f.blockHash } || (canonicalHash.map { $0 != f.blockHash } ?? false)
        } ?? false
        var status = ""
        if let d = detail { status = d.verification.rawValue.uppercased() }
        if orphaned { status = "ORPHANED" }
        AppView.drawTitle(c, y: top, detail: status, detailRole: orphaned ? .alarmHigh : detail.map { verificationRole($0.verification) } ?? .dim, into: &buf)
        var y = top + 1
        var lines: [(String, String, StyleRole)] = []
        if orphaned, let f = focus {
            let now = canonicalHash.map { "; #\(n) on the chain is now \($0.short)" } ?? ""
            lines.append(("orphaned", "\(c.options.warnMark) the evidence's block \(f.blockHash.short) was taken off the chain by a reorg\(now)", .alarmHigh))
        }
        if let h = header {
            lines.append(("hash", c.width >= 100 ? h.hash.hex : h.hash.short, .value))
            lines.append(("parent", c.width >= 100 ? h.parentHash.hex : h.parentHash.short, .dim))
            lines.append(("time", Format.date(Int64(h.timestamp)) + " " + Format.time(Int64(h.timestamp), seconds: true) + " UTC", .normal))
            lines.append(("proposer", c.width >= 100 ? h.miner.hex : h.miner.short, .normal))
            lines.append(("gas", "\(h.gasUsed) of \(h.gasLimit)", .dim))
        } else if let r = row {
            lines.append(("hash", c.width >= 100 ? r.hash.hex : r.hash.short, .value))
            lines.append(("time", Format.date(Int64(r.timestamp)) + " " + Format.time(Int64(r.timestamp), seconds: true) + " UTC", .normal))
            lines.append(("proposer", r.proposer.short, .normal))
            lines.append(("header", "full header not available", .dim))
        } else {
            lines.append(("block", "#\(n) is not in the recent window; details not available", .dim))
        }
        if let r = row {
            lines.append(("events", "\(r.readings) readings, \(r.registrations) registrations, \(r.transfers) transfers"
                + (r.rejected > 0 ? ", \(c.options.rejectMark) \(r.rejected) rejected" : ""), r.rejected > 0 ? .warn : .normal))
        }
        if let d = detail {
            let agree = d.agreeingNodes.isEmpty ? "none reported" : d.agreeingNodes.map { SafeText.sanitize($0, limit: 20) }.joined(separator: ", ")
            lines.append(("agreeing", agree, d.agreeingNodes.isEmpty ? .dim : .good))
            if !d.disagreeingNodes.isEmpty {
                lines.append(("disagree", c.options.warnMark + " " + d.disagreeingNodes.map { SafeText.sanitize($0, limit: 20) }.joined(separator: ", "), .alarmHigh))
            }
        } else {
            lines.append(("verified", "verification and agreeing nodes not available", .dim))
        }
        // Two columns of header facts when wide, one otherwise.
        let half = c.width >= 140 ? (lines.count + 1) / 2 : lines.count
        let maxLines = max(2, (bottom - y) / 2 - 1)
        for (i, l) in lines.prefix(maxLines * (c.width >= 140 ? 2 : 1)).enumerated() {
            let col = i < half ? 0 : c.width / 2
            let ry = y + (i < half ? i : i - half)
            buf.put(l.0, x: col + 2, y: ry, role: .dim)
            buf.put(l.1, x: col + 12, y: ry, role: l.2, maxWidth: (c.width >= 140 ? c.width / 2 : c.width) - 13)
        }
        y += min(half, maxLines) + 1
        // Transactions and decoded events.
        guard y + 2 < bottom else { return }
        let refs = c.rows.events
        buf.put("TRANSACTIONS AND GRID EVENTS", x: 0, y: y, role: .title)
        guard let d = detail else {
            AppView.notAvailable("transactions not available for this block", y: y + 1, into: &buf)
            return
        }
        buf.put(AppView.countText(shown: refs.count, total: c.rows.unfiltered, filter: c.state.list.filter) + " events in \(d.transactions.count) transactions",
                x: 30, y: y, role: .dim, maxWidth: c.width - 31)
        let opts = c.options
        let cols: [TableColumn<(BlockTransaction, BlockEvent)>] = [
            TableColumn(title: "tx", width: 11, priority: 1) { ($0.0.hash.short, .dim) },
            TableColumn(title: "log", width: 4, align: .right, priority: 2) { ("\($0.1.origin.logIndex)", .dim) },
            TableColumn(title: "event", width: 12, priority: 0) { ($0.1.rejected == nil ? Vocabulary.eventKind($0.1.event) : opts.rejectMark + " rejected", $0.1.rejected == nil ? nil : .warn) },
            TableColumn(title: "asset", width: 16, priority: 0, flexible: true, maxWidth: 30) { p in
                (SafeText.sanitize(p.1.assetName ?? p.1.asset.short), nil)
            },
            TableColumn(title: "detail", width: 20, priority: 3, flexible: true) { p in (eventDetail(p.1), p.1.rejected == nil ? nil : .warn) },
        ]
        let table = TableLayout(cols, totalWidth: c.width - 2)
        table.drawHeader(into: &buf, x: 2, y: y + 1, width: c.width - 2)
        if refs.isEmpty {
            AppView.notAvailable(c.rows.unfiltered == 0 ? "no grid events in this block" : "no event matches the filter", y: y + 2, into: &buf)
            return
        }
        let win = AppView.window(count: refs.count, selected: c.selected, rows: bottom - y - 2)
        AppView.drawScrollHint(win, count: refs.count, x: 0, y: y + 1, into: &buf, width: c.width)
        for (r, i) in win.enumerated() {
            let ref = refs[i]
            let tx = d.transactions[ref.tx], ev = tx.events[ref.event]
            let ry = y + 2 + r
            let sel = i == c.selected
            let isOrigin = focus.map { $0.logIndex == ev.origin.logIndex && $0.transactionHash == ev.origin.transactionHash } ?? false
            if sel {
                buf.fill(x: 0, y: ry, count: c.width, role: .selected)
                buf.put(opts.glyphs == .unicode ? "▶" : ">", x: 0, y: ry, role: .selected)
            }
            if isOrigin { buf.put(opts.glyphs == .unicode ? "◆" : "*", x: 1, y: ry, role: .alarmHigh) }
            table.drawRow((tx, ev), role: sel ? .selected : .normal, into: &buf, x: 2, y: ry, override: sel ? { _ in .selected } : nil)
        }
    }

    static func eventDetail(_ e: BlockEvent) -> String {
        if let r = e.rejected { return "rejected: " + SafeText.sanitize(r) }
        switch e.event {
        case .assetRegistered(let r):
            return "\(r.stage.name), \(r.ratedKw) kW, parent \(r.parent.isZero ? "none" : r.parent.short)"
        case .meterReading(let m):
            return "import \(Format.energy(wh: Int64(clamping: m.importWh), unit: .kWh)) export \(Format.energy(wh: Int64(clamping: m.exportWh), unit: .kWh)) @ \(Format.time(Int64(clamping: m.intervalStart)))"
        case .energyTransfer(let t):
            return "\(Format.energy(wh: Int64(clamping: t.wh), unit: .kWh)) → " + SafeText.sanitize(e.counterpartName ?? t.to.short)
        }
    }
}

// MARK: - Asset

enum AssetView {
    static func render(_ c: ViewContext, asset id: AssetID, into buf: inout CellBuffer, top: Int, bottom: Int) {
        let node = c.data.grid?[id]
        let detail = c.data.assets[id]
        AppView.drawTitle(c, y: top, detail: id.short, into: &buf)
        var y = top + 1
        let sep = c.options.glyphs == .unicode ? " › " : " > "
        if let n = node {
            var info = "\(n.stage.name)"
            if n.ratedKw > 0 { info += ", rated \(n.ratedKw) kW" }
            let kids = c.data.grid?.children[id]?.count ?? 0
            if kids > 0 { info += ", \(kids) below" }
            if n.suspect { info += ", SUSPECT" }
            buf.put(info, x: 2, y: y, role: n.suspect ? .alarmHigh : .normal, maxWidth: c.width - 3)
            y += 1
            let path = c.data.grid!.path(to: id).map { SafeText.sanitize($0.name, limit: 20) }.joined(separator: sep)
            buf.put("in tree  " + path + "   (t shows it)", x: 2, y: y, role: .dim, maxWidth: c.width - 3)
            y += 1
            GridView.drawBalanceLine(c, n, y: y, into: &buf)
            y += 1
        } else {
            AppView.notAvailable("place in the grid tree not available", y: y, into: &buf)
            y += 1
        }
        // Readings sparkline.
        let readings = detail?.readings ?? []
        buf.put("READINGS", x: 0, y: y, role: .title)
        if readings.isEmpty {
            buf.put("readings history not available", x: 10, y: y, role: .dim)
        } else {
            let net = readings.map { Double($0.netInWh) }
            let sw = min(readings.count, max(10, c.width - 60))
            let spark = Sparkline.text(net, width: sw, glyphs: c.options.glyphs, zeroBased: true)
            var x = 10 + buf.put(spark, x: 10, y: y, role: .chart) + 2
            let last = readings.last!
            x += buf.put("last \(Format.energy(wh: last.netInWh, unit: .kWh)) net in", x: x, y: y, role: .value) + 2
            let lo = net.min() ?? 0, hi = net.max() ?? 0
            buf.put("min \(Format.energy(wh: Int64(lo), unit: .kWh)) max \(Format.energy(wh: Int64(hi), unit: .kWh)) over \(readings.count)",
                    x: x, y: y, role: .dim, maxWidth: max(0, c.width - x - 1))
        }
        y += 1
        // Transfers.
        let transfers = detail?.transfers ?? []
        let tRows = transfers.isEmpty ? 1 : min(transfers.count, c.height >= 40 ? 6 : 2)
        buf.put("TRANSFERS", x: 0, y: y, role: .title)
        if transfers.isEmpty {
            buf.put("no transfers known", x: 11, y: y, role: .dim)
            y += 1
        } else {
            buf.put("\(transfers.count)", x: 11, y: y, role: .dim)
            for (i, t) in transfers.prefix(tRows).enumerated() {
                let dir = t.from == id ? "sold" : "bought"
                let other = t.from == id ? (t.toName ?? t.to.short) : (t.fromName ?? t.from.short)
                let text = "\(Format.time(Int64(clamping: t.intervalStart))) \(dir) \(Format.energy(wh: Int64(clamping: t.wh), unit: .kWh)) "
                    + (t.from == id ? "to " : "from ") + SafeText.sanitize(other, limit: 30)
                    + (t.origin.map { "  #\($0.blockNumber)" } ?? "")
                buf.put(text, x: 2, y: y + 1 + i, role: .normal, maxWidth: c.width - 3)
            }
            y += 1 + tRows
        }
        // Its alarms (selectable: ack, shelve, evidence work here too).
        let list = c.rows.alarms
        buf.put("ALARMS", x: 0, y: y, role: .title)
        buf.put(AppView.countText(shown: list.count, total: c.rows.unfiltered, filter: c.state.list.filter), x: 8, y: y, role: .dim)
        AlarmsView.drawTable(c, list: list, annotations: c.data.annotations, y: y + 1, bottom: bottom, into: &buf,
                             empty: "no alarms on this asset")
    }
}

// MARK: - Overlays

enum HelpView {
    static func render(_ c: ViewContext, into buf: inout CellBuffer, top: Int, bottom: Int) {
        let lines = Keymap.standard.helpLines(for: c.state.screen, readOnly: c.options.readOnly)
        let cmds = ":alarms :blocks :grid :consensus :overview :block N :asset NAME :theme NAME :q"
        let twoCols = lines.count > bottom - top - 5
        let colW = twoCols ? min((lines.map { DisplayWidth.of($0) }.max() ?? 20) + 2, (c.width - 6) / 2) : (lines.map { DisplayWidth.of($0) }.max() ?? 20) + 2
        let perCol = twoCols ? (lines.count + 1) / 2 : lines.count
        let w = min(c.width - 2, (twoCols ? colW * 2 : colW) + 4)
        let h = min(bottom - top, perCol + 5)
        let x0 = max(1, (c.width - w) / 2)
        for r in 0..<h { buf.fill(x: x0, y: top + r, count: w, role: .header) }
        buf.put("HELP · \(c.state.screen.title)" + (c.options.readOnly ? " · READ-ONLY: actions hidden" : "") + " · ? or Esc closes",
                x: x0 + 2, y: top, role: .title, maxWidth: w - 4)
        if let j = c.state.journalPath {
            buf.put("alarm journal: " + SafeText.sanitize(j, limit: 200), x: x0 + 2, y: top + 1, role: .header, maxWidth: w - 4)
        }
        for (i, l) in lines.enumerated() {
            let col = twoCols && i >= perCol ? 1 : 0
            let row = col == 1 ? i - perCol : i
            guard top + 2 + row < top + h - 2 else { continue }
            buf.put(l, x: x0 + 2 + col * colW, y: top + 2 + row, role: .header, maxWidth: colW - 1)
        }
        buf.put("commands: " + cmds, x: x0 + 2, y: top + h - 2, role: .header, maxWidth: w - 4)
    }
}

enum PromptView {
    static func render(_ p: Prompt, _ c: ViewContext, into buf: inout CellBuffer) {
        if p.kind == .confirm { return renderConfirm(p, c, into: &buf) }
        let w = min(c.width - 4, 76)
        let h = p.kind == .shelve ? 7 : 6
        let x0 = (c.width - w) / 2
        let y0 = max(2, (c.height - h) / 2)
        for r in 0..<h { buf.fill(x: x0, y: y0 + r, count: w, role: .header) }
        let title = (p.kind == .shelve ? "SHELVE  " : "COMMENT  ") + p.label
        buf.put(title, x: x0 + 2, y: y0, role: .title, maxWidth: w - 4)
        var y = y0 + 2
        for (i, name) in p.fieldNames.enumerated() {
            let active = i == p.field
            buf.put(DisplayWidth.fit(name, 9), x: x0 + 2, y: y, role: .header)
            let fw = w - 14
            buf.fill(x: x0 + 12, y: y, count: fw, role: active ? .selected : .normal)
            var text = p.fields[i]
            if DisplayWidth.of(text) > fw - 2 { text = "…" + String(text.suffix(fw - 3)) }
            let n = buf.put(text, x: x0 + 12, y: y, role: active ? .selected : .normal, maxWidth: fw - 1)
            if active { buf.put("█", x: x0 + 12 + n, y: y, role: .selected) }
            y += 1
        }
        if let e = p.error {
            buf.put(c.options.warnMark + " " + e, x: x0 + 2, y: y, role: .warn, maxWidth: w - 4)
        } else if p.kind == .shelve {
            let limit = ShelveDuration.text(c.state.shelveLimitSeconds)
            buf.put("duration: 30m, 2h, 1h30m (max \(limit)) or once (until it clears)", x: x0 + 2, y: y, role: .header, maxWidth: w - 4)
        }
        buf.put("Enter confirm  Tab next field  Esc cancel", x: x0 + 2, y: y0 + h - 1, role: .header, maxWidth: w - 4)
    }

    /// The yes/no question that names an action's target: `ack #17 suspected theft TX-0004?`.
    static func renderConfirm(_ p: Prompt, _ c: ViewContext, into buf: inout CellBuffer) {
        let w = min(c.width - 4, 76), h = 5
        let x0 = (c.width - w) / 2
        let y0 = max(2, (c.height - h) / 2)
        for r in 0..<h { buf.fill(x: x0, y: y0 + r, count: w, role: .header) }
        buf.put("CONFIRM  " + p.label, x: x0 + 2, y: y0, role: .title, maxWidth: w - 4)
        buf.put(p.question ?? "send?", x: x0 + 2, y: y0 + 2, role: .warn, maxWidth: w - 4)
        buf.put("y yes  n / Esc no", x: x0 + 2, y: y0 + h - 1, role: .header, maxWidth: w - 4)
    }
}
