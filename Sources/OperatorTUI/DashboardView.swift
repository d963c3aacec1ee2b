import Alerts
import ChainCore
import GridCore

/// Which symbols the views draw with.
public enum GlyphSet: Sendable, Equatable {
    /// Geometric shapes (◆ ▲ ■ ●, ✗, …).
    case unicode
    /// ASCII only, for consoles whose font lacks the shapes (`TERM=linux`).
    case ascii
}

/// How views draw, independent of the terminal.
public struct RenderOptions: Sendable, Equatable {
    public var glyphs: GlyphSet
    public var readOnly: Bool
    /// The header clock's time zone; nil: UTC.
    public var clockZone: ClockZone? = nil

    public init(glyphs: GlyphSet = .unicode, readOnly: Bool = false) {
        self.glyphs = glyphs; self.readOnly = readOnly
    }

    /// Priority glyph + letter, so priority never relies on colour alone: `▲H`.
    public func priorityMark(_ p: AlarmPriority) -> String { Vocabulary.priorityMark(p, glyphs: glyphs) }

    var rejectMark: String { glyphs == .unicode ? "✗" : "x" }
    var warnMark: String { glyphs == .unicode ? "⚠" : "!" }
}

/// The issue #2 screen: header, energy per stage, latest blocks, alarms,
/// (room permitting) nodes and warnings, and a footer. A pure function of
/// the snapshot and the wall clock.
public enum DashboardView {
    public static let minWidth = 80
    public static let minHeight = 24

    /// Draws the dashboard for `snapshot` into `buffer` (all of it).
    /// `now` is the wall clock used for ages (defaults to `snapshot.now`), so
    /// ages can tick between snapshots.
    public static func render(snapshot: MonitorSnapshot, into buffer: inout CellBuffer, now: Double? = nil,
                              options: RenderOptions = RenderOptions()) {
        buffer.clear()
        let w = buffer.width, h = buffer.height
        guard w >= minWidth, h >= minHeight else {
            TooSmallView.render(into: &buffer, needWidth: minWidth, needHeight: minHeight)
            return
        }
        let ctx = Context(snapshot: snapshot, now: now ?? snapshot.now, options: options, width: w)
        drawHeader(ctx, into: &buffer)
        drawFooter(ctx, into: &buffer)
        renderBody(ctx, into: &buffer, top: 1, bottom: h - 1)
    }

    /// Extra rows the Overview adds to the issue #2 dashboard.
    struct OverviewExtras {
        var kpi: (Context, inout CellBuffer, Int, Int) -> Void
        var consensus: (Context, inout CellBuffer, Int, Int) -> Void
    }

    /// Draws the sections into rows `top..<bottom`.
    static func renderBody(_ ctx: Context, into buffer: inout CellBuffer, top: Int, bottom: Int, extras: OverviewExtras? = nil) {
        let snapshot = ctx.snapshot
        // Vertical layout: every section gets its minimum, then rows are
        // granted in order of operational importance.
        let body = bottom - top - (extras == nil ? 0 : 2)
        let stageRows = max(1, snapshot.stages.count)
        var energy = min(2 + stageRows, body - 6)
        var blocks = 3, alarms = 3, nodes = 0, warnings = 0
        let wantBlocks = 2 + max(1, snapshot.recentBlocks.count)
        let wantAlarms = 2 + max(1, snapshot.alarms.count)
        let wantNodes = snapshot.nodes.isEmpty ? 0 : 2 + snapshot.nodes.count
        let wantWarnings = snapshot.warnings.count > 1 ? 1 + snapshot.warnings.count : 0
        var free = body - energy - blocks - alarms
        func grant(_ v: inout Int, upTo target: Int, minStep: Int = 1) {
            guard free > 0, target > v else { return }
            let add = min(free, target - v)
            guard add >= minStep else { return }
            v += add; free -= add
        }
        grant(&alarms, upTo: min(wantAlarms, 2 + 8))
        grant(&blocks, upTo: min(wantBlocks, 2 + 5))
        grant(&nodes, upTo: wantNodes, minStep: min(wantNodes, 3))
        grant(&alarms, upTo: wantAlarms)
        grant(&blocks, upTo: min(wantBlocks, 2 + 10))
        grant(&warnings, upTo: wantWarnings, minStep: min(wantWarnings, 2))
        grant(&blocks, upTo: min(wantBlocks, 2 + 20))
        energy = max(energy, 3)

        var sections: [(Int, (Context, inout CellBuffer, Int, Int) -> Void)] = [(energy, drawEnergy)]
        if let e = extras { sections += [(1, e.kpi), (1, e.consensus)] }
        sections += [(blocks, drawBlocks), (alarms, drawAlarms)]
        if nodes > 0 { sections.append((nodes, drawNodes)) }
        if warnings > 0 { sections.append((warnings, drawWarnings)) }
        let spacers = min(free, sections.count - 1)
        var y = top
        for (i, s) in sections.enumerated() {
            if i > 0 && i <= spacers && !(extras != nil && (i == 1 || i == 2)) { y += 1 }
            s.1(ctx, &buffer, y, s.0)
            y += s.0
        }
    }

    struct Context {
        var snapshot: MonitorSnapshot
        var now: Double
        var options: RenderOptions
        var width: Int
        /// Unaccounted energy per stage, oldest first (Overview trend column).
        var trend: [Stage: [Int64]] = [:]

        /// Chain time now: the head's timestamp advanced by the wall time since
        /// it arrived (robust to clock skew and to a simulated chain clock).
        var chainNow: Double {
            if let head = snapshot.head, let seen = snapshot.headSeenAt { return Double(head.timestamp) + (now - seen) }
            return now
        }
    }

    // MARK: header and footer

    static func drawHeader(_ c: Context, into buf: inout CellBuffer) {
        let s = c.snapshot
        buf.fill(x: 0, y: 0, count: c.width, role: .header)
        var right = c.width
        if s.simulated {
            // Narrow: a shorter marker, so the clock keeps its place.
            let word = c.width < 100 ? "SIMULATED" : "SIMULATED NETWORK"
            let marker = c.options.glyphs == .unicode ? " ◆ \(word) ◆ " : " ** \(word) ** "
            right -= DisplayWidth.of(marker)
            buf.put(marker, x: right, y: 0, role: .simulated)
            right -= 1
        }
        var segments: [(text: String, role: StyleRole, priority: Int)] = []
        segments.append(("gridtop", .title, 0))
        if let site = s.site, !site.isEmpty { segments.append((SafeText.sanitize(site, limit: 32), .title, 3)) }
        // Standing conditions (e.g. --any-contract, every node on the wrong chain) are never dropped.
        for b in s.banners { segments.append((" \(c.options.warnMark) " + SafeText.sanitize(b) + " ", .banner, 0)) }
        // Dropped first when narrow: the chain id (it never changes), then the node count, the
        // untrusted count (both in the Consensus view too), the site; the clock and the head stay.
        segments.append(("chain " + (s.chainId.map { String($0) } ?? "?"), .header, 6))
        if let head = s.head {
            let age = c.now - (s.headSeenAt ?? Double(head.timestamp))
            segments.append(("head #\(head.number) \(Format.age(seconds: age)) ago", .header, 1))
        } else {
            segments.append(("head none yet", .warn, 1))
        }
        let connected = s.nodes.filter { $0.connection == .connected }.count
        segments.append(("nodes \(connected)/\(s.nodes.count)", connected < s.nodes.count || s.nodes.isEmpty ? .warn : .header, 5))
        let bad = s.nodes.filter { $0.trust == .divergent || $0.trust == .untrusted }.count
        if bad > 0 { segments.append(("\(c.options.warnMark) \(bad) untrusted", .warn, 4)) }
        let wall = Int64(c.now.rounded(.down))
        if let z = c.options.clockZone {
            let (offset, name) = z.offset(at: wall)
            segments.append((Format.time(wall + Int64(offset), seconds: true) + " " + name, .header, 1))
        } else {
            segments.append((Format.time(wall, seconds: true) + " UTC", .header, 1))
        }

        let gap = 2
        var keep = segments.indices.map { _ in true }
        func total() -> Int {
            let kept = segments.indices.filter { keep[$0] }
            return kept.reduce(0) { $0 + DisplayWidth.of(segments[$1].text) } + gap * max(0, kept.count - 1) + 1
        }
        while total() > right {
            guard let drop = segments.indices.filter({ keep[$0] && segments[$0].priority > 0 })
                .max(by: { (segments[$0].priority, $0) < (segments[$1].priority, $1) }) else { break }
            keep[drop] = false
        }
        var x = 1
        for i in segments.indices where keep[i] {
            x += buf.put(segments[i].text, x: x, y: 0, role: segments[i].role, maxWidth: max(0, right - x)) + gap
        }
    }

    static func drawFooter(_ c: Context, into buf: inout CellBuffer) {
        let y = buf.height - 1
        var hints = "q quit  ^L repaint"
        if c.options.readOnly { hints = "READ-ONLY  " + hints }
        let hw = DisplayWidth.of(hints)
        buf.put(hints, x: c.width - hw - 1, y: y, role: .dim)
        let ws = c.snapshot.warnings
        if let first = ws.first {
            var text = "\(c.options.warnMark) " + SafeText.sanitize(first)
            if ws.count > 1 { text += "  (+\(ws.count - 1) more)" }
            buf.put(text, x: 0, y: y, role: .warn, maxWidth: c.width - hw - 3)
        }
    }

    static func sectionTitle(_ title: String, _ detail: String, detailRole: StyleRole = .normal,
                             into buf: inout CellBuffer, y: Int, width: Int) {
        let n = buf.put(title, x: 0, y: y, role: .title)
        if !detail.isEmpty { buf.put(detail, x: n + 2, y: y, role: detailRole, maxWidth: width - n - 2) }
    }

    // MARK: energy per stage

    static func drawEnergy(_ c: Context, into buf: inout CellBuffer, y: Int, rows: Int) {
        let s = c.snapshot
        var detail = s.settledInterval.map {
            "interval " + Format.utcRange(start: $0, seconds: s.intervalSeconds) + " (" + Format.duration(seconds: s.intervalSeconds) + ")"
        } ?? "no settled interval yet"
        // Not yet `confirmations` deep: a reorg may still change these figures.
        if s.settledInterval != nil && s.settledProvisional {
            detail += s.settledByFinalized.map { " · provisional (above the finalized block #\($0))" } ?? " · provisional (\(s.confirmations) confirmations)"
        }
        sectionTitle("ENERGY PER STAGE", detail, detailRole: s.settledInterval == nil ? .dim : .normal, into: &buf, y: y, width: c.width)
        let unit = Format.EnergyUnit.choose(forWh: s.stages.flatMap { [$0.importWh, $0.exportWh, $0.lossWh, $0.unaccountedWh] })
        let vw = 12
        var cols: [TableColumn<StageFlow>] = [
            TableColumn(title: "stage", width: 12, priority: 0) { (SafeText.sanitize($0.stage.name), nil) },
            TableColumn(title: "meters", width: 9, align: .right, priority: 1) {
                ("\($0.reporting)/\($0.assets)", $0.reporting < $0.assets ? .warn : nil)
            },
            TableColumn(title: "import", width: vw, align: .right, priority: 2) { (Format.energy(wh: $0.importWh, unit: unit), .value) },
            TableColumn(title: "export", width: vw, align: .right, priority: 3) { (Format.energy(wh: $0.exportWh, unit: unit), .value) },
            TableColumn(title: "exp. loss", width: vw, align: .right, priority: 5) { (Format.energy(wh: $0.lossWh, unit: unit), nil) },
            TableColumn(title: "unaccounted", width: vw, align: .right, priority: 1) {
                (Format.energy(wh: $0.unaccountedWh, unit: unit, plus: true), $0.unaccountedWh > 0 ? .warn : nil)
            },
            TableColumn(title: "loss", width: 7, align: .right, priority: 7) { (Format.percent($0.lossWh, of: $0.importWh) ?? "-", .dim) },
            TableColumn(title: "unacc.", width: 7, align: .right, priority: 6) {
                (Format.percent($0.unaccountedWh, of: $0.importWh) ?? "-", $0.unaccountedWh > 0 ? .warn : .dim)
            },
        ]
        if !c.trend.isEmpty {
            let trend = c.trend, glyphs = c.options.glyphs
            cols.insert(TableColumn(title: "unacc. trend", width: 12, priority: 4) { st in
                guard let series = trend[st.stage], !series.isEmpty else { return ("", .dim) }
                return (Sparkline.text(series.suffix(12).map(Double.init), width: 12, glyphs: glyphs), .chart)
            }, at: 6)
        }
        let table = TableLayout(cols, totalWidth: c.width - 2)
        guard rows > 1 else { return }
        table.drawHeader(into: &buf, x: 2, y: y + 1, width: c.width - 2)
        if s.stages.isEmpty {
            if rows > 2 { buf.put("no stage data yet", x: 2, y: y + 2, role: .dim) }
            return
        }
        for (i, st) in s.stages.prefix(rows - 2).enumerated() {
            table.drawRow(st, role: .normal, into: &buf, x: 2, y: y + 2 + i)
        }
    }

    // MARK: latest blocks

    static func drawBlocks(_ c: Context, into buf: inout CellBuffer, y: Int, rows: Int) {
        let s = c.snapshot
        let shown = min(s.recentBlocks.count, rows - 2)
        sectionTitle("LATEST BLOCKS", s.recentBlocks.isEmpty ? "" : "\(shown) of \(s.recentBlocks.count) newest first",
                     detailRole: .dim, into: &buf, y: y, width: c.width)
        let chainNow = c.chainNow
        let wide = c.width >= 140
        let mark = c.options.rejectMark
        let cols: [TableColumn<BlockRow>] = [
            TableColumn(title: "block", width: 10, priority: 0) { ("#\($0.number)", .value) },
            TableColumn(title: "age", width: 7, align: .right, priority: 1) { (Format.age(seconds: chainNow - Double($0.timestamp)), nil) },
            TableColumn(title: "hash", width: 11, priority: 3) { ($0.hash.short, .dim) },
            TableColumn(title: "proposer", width: wide ? 42 : 11, priority: 4) { (wide ? $0.proposer.hex : $0.proposer.short, .dim) },
            TableColumn(title: "readings", width: 8, align: .right, priority: 2) { ("\($0.readings)", nil) },
            TableColumn(title: "regs", width: 4, align: .right, priority: 5) { ("\($0.registrations)", nil) },
            TableColumn(title: "xfers", width: 5, align: .right, priority: 5) { ("\($0.transfers)", nil) },
            TableColumn(title: "rejected", width: 12, priority: 1) {
                $0.rejected > 0 ? ("\(mark) \($0.rejected) rejected", .warn) : ("", nil)
            },
        ]
        let table = TableLayout(cols, totalWidth: c.width - 2)
        table.drawHeader(into: &buf, x: 2, y: y + 1, width: c.width - 2)
        if s.recentBlocks.isEmpty {
            buf.put("no blocks yet", x: 2, y: y + 2, role: .dim)
            return
        }
        for (i, b) in s.recentBlocks.prefix(shown).enumerated() {
            table.drawRow(b, role: .normal, into: &buf, x: 2, y: y + 2 + i)
        }
    }

    // MARK: alarms



    /// Short kind labels for narrow screens, where the asset's name needs the room.
    static func shortKindLabel(_ k: AlarmKind) -> String {
        switch k {
        case .suspectedTheft: return "susp. theft"
        case .staleMeter: return "stale meter"
        case .conflictingReading: return "conflict"
        case .transferMismatch: return "xfer mism."
        case .consensusStall: return "cons. stall"
        case .nodeDivergent: return "divergent"
        case .nodeDown: return "node down"
        default: return Vocabulary.kindLabel(k)  // kinds added later: the full label, cut by the column
        }
    }

    /// Alarm state in at most 9 columns: `ACT UNACK`, `CLR ack`.
    static func shortStateText(_ a: Alarm) -> String {
        (a.active ? "ACT" : "CLR") + " " + (a.acknowledged ? "ack" : "UNACK")
    }

    /// Below this width alarm tables use compact labels and give the room to the asset's name.
    static let compactAlarmWidth = 120

    static func drawAlarms(_ c: Context, into buf: inout CellBuffer, y: Int, rows: Int) {
        let list = Vocabulary.ordered(c.snapshot.alarms)
        let shown = min(list.count, rows - 2)
        // Title: counts per priority, each as glyph+letter+count in its alarm role.
        var x = buf.put("ALARMS", x: 0, y: y, role: .title) + 2
        if list.isEmpty {
            buf.put("none", x: x, y: y, role: .dim)
        } else {
            let active = list.filter(\.active).count
            let unack = list.filter { !$0.acknowledged }.count
            x += buf.put("\(active) active  \(unack) unack", x: x, y: y, role: unack > 0 ? .value : .normal) + 2
            for p in AlarmPriority.allCases {
                let n = list.filter { $0.priority == p }.count
                guard n > 0 else { continue }
                x += buf.put("\(c.options.priorityMark(p))\(n)", x: x, y: y, role: .alarm(p)) + 1
            }
            if shown < list.count {
                buf.put(" \(list.count - shown) more not shown", x: x + 1, y: y, role: .warn, maxWidth: c.width - x - 1)
            }
        }
        let now = c.now
        let opts = c.options
        let compact = c.width < compactAlarmWidth
        let cols: [TableColumn<Alarm>] = compact ? [
            TableColumn(title: "pri", width: 3, priority: 0) { (opts.priorityMark($0.priority), .alarm($0.priority)) },
            TableColumn(title: "state", width: 9, priority: 2) { a in (shortStateText(a), a.acknowledged ? nil : .alarm(a.priority)) },
            TableColumn(title: "kind", width: 11, priority: 3) { (shortKindLabel($0.kind), nil) },
            TableColumn(title: "asset", width: 24, priority: 1, flexible: true, maxWidth: 40) { (SafeText.sanitize($0.assetName), nil) },
            TableColumn(title: "age", width: 6, align: .right, priority: 4) { (Format.age(seconds: now - $0.raisedAt), nil) },
            TableColumn(title: "rep", width: 3, align: .right, priority: 6) { ($0.count > 1 ? "x\($0.count)" : "", nil) },
            // The message needs room to say anything: only where the name has what it needs.
            TableColumn(title: "message", width: 20, priority: 9, flexible: true) { (SafeText.sanitize($0.message), nil) },
        ] : [
            TableColumn(title: "pri", width: 3, priority: 0) { (opts.priorityMark($0.priority), .alarm($0.priority)) },
            TableColumn(title: "state", width: 12, priority: 1) { a in
                let text = (a.active ? "ACTIVE" : "clear ") + " " + (a.acknowledged ? "ack" : "UNACK")
                return (text, a.acknowledged ? nil : .alarm(a.priority))
            },
            TableColumn(title: "kind", width: 17, priority: 2) { (Vocabulary.kindLabel($0.kind), nil) },
            TableColumn(title: "asset", width: 12, priority: 3, flexible: true, maxWidth: 28) { (SafeText.sanitize($0.assetName), nil) },
            TableColumn(title: "stage", width: 12, priority: 7) { ($0.stageName, nil) },
            TableColumn(title: "age", width: 6, align: .right, priority: 4) { (Format.age(seconds: now - $0.raisedAt), nil) },
            TableColumn(title: "rep", width: 4, align: .right, priority: 6) { ($0.count > 1 ? "x\($0.count)" : "", nil) },
            TableColumn(title: "since", width: 12, priority: 8) { (Format.time(Int64($0.raisedAt.rounded(.down)), seconds: true) + " Z", .dim) },
            TableColumn(title: "message", width: 16, priority: 5, flexible: true) { (SafeText.sanitize($0.message), nil) },
        ]
        let table = TableLayout(cols, totalWidth: c.width - 2)
        table.drawHeader(into: &buf, x: 2, y: y + 1, width: c.width - 2)
        if list.isEmpty {
            buf.put("no active or unacknowledged alarms", x: 2, y: y + 2, role: .dim)
            return
        }
        for (i, a) in list.prefix(shown).enumerated() {
            let role: StyleRole = !a.active ? .dim : (a.acknowledged ? .normal : .value)
            table.drawRow(a, role: role, into: &buf, x: 2, y: y + 2 + i)
        }
    }

    // MARK: nodes and warnings (when there is room)

    static func drawNodes(_ c: Context, into buf: inout CellBuffer, y: Int, rows: Int) {
        let s = c.snapshot
        sectionTitle("NODES", "", into: &buf, y: y, width: c.width)
        let cols: [TableColumn<NodeStatus>] = [
            TableColumn(title: "node", width: 12, priority: 0, flexible: true, maxWidth: 20) { (SafeText.sanitize($0.name), nil) },
            TableColumn(title: "connection", width: 12, priority: 1) {
                ($0.connection.rawValue, $0.connection == .connected ? nil : .warn)
            },
            TableColumn(title: "trust", width: 10, priority: 1) {
                ($0.trust.rawValue, $0.trust == .divergent || $0.trust == .untrusted ? .alarmHigh : nil)
            },
            TableColumn(title: "head", width: 10, priority: 2) { ($0.headNumber.map { "#\($0)" } ?? "-", nil) },
            TableColumn(title: "lag", width: 5, align: .right, priority: 2) { ("\($0.lag)", $0.lag > 0 ? .warn : nil) },
            TableColumn(title: "latency p50/p99", width: 15, align: .right, priority: 4) { n in
                guard let m = n.latencyMedianMs else { return ("-", .dim) }
                return ("\(Int(m.rounded()))/\(n.latencyP99Ms.map { String(Int($0.rounded())) } ?? "-") ms", nil)
            },
            TableColumn(title: "peers", width: 5, align: .right, priority: 5) { ($0.peerCount.map { String($0) } ?? "-", nil) },
            TableColumn(title: "client", width: 16, priority: 6, flexible: true, maxWidth: 32) {
                (SafeText.sanitize($0.clientVersion ?? "-"), .dim)
            },
            TableColumn(title: "last error", width: 12, priority: 3, flexible: true) {
                (SafeText.sanitize($0.lastError ?? ""), .warn)
            },
        ]
        let table = TableLayout(cols, totalWidth: c.width - 2)
        guard rows > 1 else { return }
        table.drawHeader(into: &buf, x: 2, y: y + 1, width: c.width - 2)
        for (i, n) in s.nodes.prefix(rows - 2).enumerated() {
            table.drawRow(n, role: .normal, into: &buf, x: 2, y: y + 2 + i)
        }
    }

    static func drawWarnings(_ c: Context, into buf: inout CellBuffer, y: Int, rows: Int) {
        sectionTitle("WARNINGS", "\(c.snapshot.warnings.count)", into: &buf, y: y, width: c.width)
        for (i, w) in c.snapshot.warnings.prefix(rows - 1).enumerated() {
            buf.put("\(c.options.warnMark) " + SafeText.sanitize(w), x: 2, y: y + 1 + i, role: .warn, maxWidth: c.width - 2)
        }
    }
}

/// Shown instead of any view when the terminal is below the minimum size.
public enum TooSmallView {
    public static func message(width: Int, height: Int, needWidth: Int, needHeight: Int) -> String {
        "terminal too small: need \(needWidth)×\(needHeight), have \(width)×\(height)"
    }

    public static func render(into buf: inout CellBuffer, needWidth: Int, needHeight: Int) {
        buf.clear()
        guard buf.width > 0, buf.height > 0 else { return }
        let msg = message(width: buf.width, height: buf.height, needWidth: needWidth, needHeight: needHeight)
        let y = buf.height / 2
        let mw = DisplayWidth.of(msg)
        buf.put(msg, x: max(0, (buf.width - mw) / 2), y: y, role: .warn)
        if buf.height > 2 {
            let hint = "q quit"
            buf.put(hint, x: max(0, (buf.width - DisplayWidth.of(hint)) / 2), y: y + 1, role: .dim)
        }
    }
}

/// A time zone as the header clock needs it, resolved once at start by the caller (this module
/// has no calendar): the offset and name now, and after the next daylight-saving change.
public struct ClockZone: Sendable, Equatable {
    public var name: String
    public var offsetSeconds: Int
    /// Unix time of the next change, and the offset and name from then on.
    public var change: (at: Int64, offsetSeconds: Int, name: String)?

    public init(name: String, offsetSeconds: Int, change: (at: Int64, offsetSeconds: Int, name: String)? = nil) {
        self.name = name; self.offsetSeconds = offsetSeconds; self.change = change
    }

    public func offset(at unix: Int64) -> (Int, String) {
        if let c = change, unix >= c.at { return (c.offsetSeconds, c.name) }
        return (offsetSeconds, name)
    }

    public static func == (a: ClockZone, b: ClockZone) -> Bool {
        a.name == b.name && a.offsetSeconds == b.offsetSeconds && a.change?.at == b.change?.at
            && a.change?.offsetSeconds == b.change?.offsetSeconds && a.change?.name == b.change?.name
    }
}
