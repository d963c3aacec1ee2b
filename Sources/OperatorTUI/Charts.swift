/// Small text charts: sparklines, bar charts and a balance gauge with its
/// normal band. Unicode eighth blocks, or ASCII for consoles without them.
public enum Sparkline {
    static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    static let ascii: [Character] = ["_", ".", "-", "~", "=", "+", "*", "#"]

    /// The last `width` values as one row of bars, scaled between their min and
    /// max (or between 0 and max when `zeroBased`). Empty input gives "".
    public static func text(_ values: [Double], width: Int, glyphs: GlyphSet = .unicode, zeroBased: Bool = false) -> String {
        guard width > 0, !values.isEmpty else { return "" }
        let vs = values.suffix(width).map { $0.isFinite ? $0 : 0 }
        var lo = vs.min()!, hi = vs.max()!
        if zeroBased { lo = min(lo, 0); hi = max(hi, 0) }
        let set = glyphs == .unicode ? blocks : ascii
        var out = ""
        for v in vs {
            let f = hi > lo ? (v - lo) / (hi - lo) : 0.5
            out.append(set[min(set.count - 1, max(0, Int((f * Double(set.count - 1)).rounded())))])
        }
        return out
    }
}

public enum BarChart {
    /// Vertical bars, one column per value, `height` rows, top row first.
    /// Each row is exactly `values.suffix(width).count` columns wide.
    public static func rows(_ values: [Double], width: Int, height: Int, maxValue: Double? = nil, glyphs: GlyphSet = .unicode) -> [String] {
        guard width > 0, height > 0 else { return [] }
        let vs = values.suffix(width).map { $0.isFinite ? max(0, $0) : 0 }
        let top = max(maxValue ?? 0, vs.max() ?? 0, 1e-9)
        var out: [String] = []
        for row in 0..<height {
            let rowBase = Double(height - 1 - row)  // rows from the bottom
            var line = ""
            for v in vs {
                let units = v / top * Double(height) - rowBase  // how much of this cell is filled (0…1)
                if units >= 1 { line.append(glyphs == .unicode ? "█" : "#") } else if units <= 0 { line.append(" ") } else {
                    if glyphs == .unicode {
                        line.append(Sparkline.blocks[min(7, max(0, Int((units * 8).rounded(.down))))])
                    } else {
                        line.append(units >= 0.5 ? "#" : ".")
                    }
                }
            }
            out.append(line)
        }
        return out
    }
}

/// A one-row gauge of a value against its normal band:
/// `····░░░░░●░░····` — the band shaded, the value marked, zero as `┊`.
public enum BandGauge {
    public struct Cells: Equatable {
        /// One character per column.
        public var text: [Character]
        /// Columns inside the band.
        public var band: Range<Int>?
        /// Column of the value marker.
        public var marker: Int
    }

    public static func cells(value: Double, low: Double?, high: Double?, width: Int, glyphs: GlyphSet = .unicode) -> Cells? {
        guard width >= 5, value.isFinite else { return nil }
        var lo = min(value, 0), hi = max(value, 0)
        if let l = low, let h = high, l.isFinite, h.isFinite { lo = min(lo, l); hi = max(hi, h) }
        let span = hi - lo
        let pad = span > 0 ? span * 0.15 : 1
        lo -= pad; hi += pad
        func col(_ v: Double) -> Int { min(width - 1, max(0, Int(((v - lo) / (hi - lo) * Double(width - 1)).rounded()))) }
        var text = [Character](repeating: glyphs == .unicode ? "·" : ".", count: width)
        var band: Range<Int>?
        if let l = low, let h = high, l.isFinite, h.isFinite {
            let a = col(l), b = col(h)
            band = a..<(b + 1)
            for i in a...b { text[i] = glyphs == .unicode ? "░" : "=" }
        }
        text[col(0)] = glyphs == .unicode ? "┊" : ":"
        let m = col(value)
        text[m] = glyphs == .unicode ? "●" : "#"
        return Cells(text: text, band: band, marker: m)
    }

    /// Draws the gauge at (x, y): band in `.band`, the marker in `markerRole`.
    static func draw(value: Double, low: Double?, high: Double?, x: Int, y: Int, width: Int, markerRole: StyleRole,
                     glyphs: GlyphSet, into buf: inout CellBuffer) {
        guard let g = cells(value: value, low: low, high: high, width: width, glyphs: glyphs) else { return }
        for (i, ch) in g.text.enumerated() {
            let role: StyleRole = i == g.marker ? markerRole : (g.band?.contains(i) == true ? .band : .dim)
            buf.put(String(ch), x: x + i, y: y, role: role)
        }
    }
}
