import ChainCore
import Alerts

/// What a cell means, not how it looks: the theme maps roles to colours
/// and attributes per terminal capability (256 colours, 8 colours, none).
public enum StyleRole: UInt8, CaseIterable, Sendable, Hashable {
    case normal, dim, title, header, value, good, warn
    case alarmCritical, alarmHigh, alarmMedium, alarmLow
    case selected, simulated
    /// Sparklines and bar charts.
    case chart
    /// The normal band drawn behind a gauge.
    case band
    /// FLOOD and PAUSED banners.
    case banner

    public static func alarm(_ p: AlarmPriority) -> StyleRole {
        switch p {
        case .critical: return .alarmCritical
        case .high: return .alarmHigh
        case .medium: return .alarmMedium
        case .low: return .alarmLow
        }
    }
}

/// One terminal cell: a grapheme cluster, its display width and its role.
/// A wide character occupies its cell (width 2) and the next one, which is a
/// continuation cell (empty text, width 0, same role).
public struct Cell: Equatable, Sendable {
    public var text: String
    public var width: UInt8
    public var role: StyleRole

    public init(text: String, width: UInt8, role: StyleRole) {
        self.text = text; self.width = width; self.role = role
    }

    public static func blank(_ role: StyleRole = .normal) -> Cell { Cell(text: " ", width: 1, role: role) }
    public var isContinuation: Bool { width == 0 }
}

/// A run of changed cells on one row, starting at column `x`.
public struct CellRun: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var cells: [Cell]
}

/// A width × height grid of cells that views draw into; pure and testable.
/// The terminal layer diffs two buffers and flushes only what changed.
public struct CellBuffer: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, role: StyleRole = .normal) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.cells = Array(repeating: .blank(role), count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        cells[y * width + x]
    }

    public mutating func clear(role: StyleRole = .normal) {
        for i in cells.indices { cells[i] = .blank(role) }
    }

    /// Paints `count` columns from (x, y) with blanks of `role`.
    public mutating func fill(x: Int, y: Int, count: Int, role: StyleRole) {
        guard y >= 0, y < height else { return }
        var cx = max(0, x)
        let end = min(width, x + count)
        while cx < end { set(x: cx, y: y, .blank(role)); cx += 1 }
    }

    /// Writes `text` at (x, y), cut by display width to `maxWidth` columns (and
    /// to the right edge); when cut, the last column is `…`. The text is
    /// sanitized again here, so no control character ever reaches a cell.
    /// Zero-width clusters (a stray combining mark) are drawn on a dotted circle.
    /// Returns the number of columns written.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, role: StyleRole = .normal, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height, x >= 0, x < width else { return 0 }
        let limit = min(maxWidth ?? Int.max, width - x)
        guard limit > 0 else { return 0 }
        if let n = putASCII(text, x: x, y: y, role: role, limit: limit) { return n }
        let safe = SafeText.sanitize(text, limit: max(limit * 4, 16))
        var clusters: [(String, Int)] = []
        clusters.reserveCapacity(safe.count)
        var total = 0
        for c in safe {
            var w = DisplayWidth.of(c)
            var s = String(c)
            if w == 0 {
                guard let f = c.unicodeScalars.first, f.properties.generalCategory == .nonspacingMark
                    || f.properties.generalCategory == .enclosingMark || f.properties.generalCategory == .spacingMark
                else { continue }
                s = "\u{25CC}" + s
                w = 1
            }
            clusters.append((s, w))
            total += w
        }
        var budget = limit
        var cut = false
        if total > limit { budget = limit - 1; cut = true }
        var cx = x
        for (s, w) in clusters {
            if cx + w > x + budget { break }
            if w == 2 {
                set(x: cx, y: y, Cell(text: s, width: 2, role: role))
                set(x: cx + 1, y: y, Cell(text: "", width: 0, role: role))
            } else {
                set(x: cx, y: y, Cell(text: s, width: 1, role: role))
            }
            cx += w
        }
        if cut {
            set(x: cx, y: y, Cell(text: "…", width: 1, role: role))
            cx += 1
        }
        return cx - x
    }

    /// Printable ASCII (most of every frame): one byte, one column, nothing to
    /// sanitize or segment. Same result as the general path; nil if `text` is not
    /// printable ASCII.
    private mutating func putASCII(_ text: String, x: Int, y: Int, role: StyleRole, limit: Int) -> Int? {
        var n = 0
        for b in text.utf8 {
            guard b >= 0x20 && b < 0x7F else { return nil }
            n += 1
        }
        let cut = n > limit
        let budget = cut ? limit - 1 : n
        var cx = x
        for b in text.utf8 {
            if cx - x == budget { break }
            set(x: cx, y: y, Cell(text: String(Unicode.Scalar(b)), width: 1, role: role))
            cx += 1
        }
        if cut {
            set(x: cx, y: y, Cell(text: "…", width: 1, role: role))
            cx += 1
        }
        return cx - x
    }

    /// Writes `text` padded/cut to exactly `width` columns, aligned.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, width w: Int, align: DisplayWidth.Alignment, role: StyleRole = .normal) -> Int {
        guard w > 0 else { return 0 }
        let safe = SafeText.sanitize(text, limit: max(w * 4, 16))
        return put(DisplayWidth.fit(safe, w, align), x: x, y: y, role: role, maxWidth: w)
    }

    /// Sets one cell, keeping wide characters whole: overwriting either half
    /// of a wide character blanks the other half.
    mutating func set(x: Int, y: Int, _ cell: Cell) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        let i = y * width + x
        let old = cells[i]
        if old.isContinuation, x > 0 {
            cells[i - 1] = .blank(cells[i - 1].role)
        } else if old.width == 2, x + 1 < width, !(cell.width == 2) {
            cells[i + 1] = .blank(old.role)
        }
        if cell.width == 2 && x + 1 >= width {
            cells[i] = .blank(cell.role)  // a wide char never hangs over the right edge
            return
        }
        if cell.width == 2, x + 2 < width, cells[i + 1].width == 2 {
            cells[i + 2] = .blank(cells[i + 2].role)  // the next wide char loses its lead half
        }
        cells[i] = cell
    }

    /// The rows as plain text (continuation cells add nothing), for tests and logs.
    public func lines(trimTrailing: Bool = true) -> [String] {
        (0..<height).map { y in
            var s = ""
            for x in 0..<width { s += self[x, y].text }
            if trimTrailing {
                while s.last == " " { s.removeLast() }
            }
            return s
        }
    }

    /// The whole buffer as text, one line per row.
    public func dump(trimTrailing: Bool = true) -> String {
        lines(trimTrailing: trimTrailing).joined(separator: "\n")
    }

    /// Display width of row `y` as stored (always `width` for a well-formed buffer).
    public func rowWidth(_ y: Int) -> Int {
        var w = 0
        for x in 0..<width { w += Int(self[x, y].width) }
        return w
    }

    /// The runs of cells that differ between `old` and `new`. If the sizes
    /// differ, every row of `new` is one run (a full repaint). A run never
    /// starts on the second half of a wide character.
    public static func diff(_ old: CellBuffer, _ new: CellBuffer) -> [CellRun] {
        if old.width != new.width || old.height != new.height {
            return (0..<new.height).map { y in
                CellRun(x: 0, y: y, cells: Array(new.cells[(y * new.width)..<((y + 1) * new.width)]))
            }
        }
        var runs: [CellRun] = []
        let w = new.width
        for y in 0..<new.height {
            var x = 0
            let base = y * w
            while x < w {
                if old.cells[base + x] == new.cells[base + x] { x += 1; continue }
                var start = x
                if new.cells[base + start].isContinuation && start > 0 { start -= 1 }
                var end = x + 1
                while end < w && old.cells[base + end] != new.cells[base + end] { end += 1 }
                // Keep a wide character whole at the end of the run.
                if end < w && new.cells[base + end].isContinuation { end += 1 }
                if let last = runs.last, last.y == y, last.x + last.cells.count > start {
                    start = last.x + last.cells.count
                }
                if start < end {
                    runs.append(CellRun(x: start, y: y, cells: Array(new.cells[(base + start)..<(base + end)])))
                }
                x = end
            }
        }
        return runs
    }
}
