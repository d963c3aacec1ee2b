/// Terminal display width of text, computed in pure Swift from Unicode
/// properties (general category, Emoji_Presentation) and East-Asian-Wide
/// ranges. Never calls `wcwidth`, so it does not depend on the locale and
/// gives the same answer in tests and at the console.
///
/// East-Asian *ambiguous* characters (box drawing, ▲, ×, …) count as one
/// column, as in every non-CJK locale.
public enum DisplayWidth {
    /// Width of one Unicode scalar on its own: 0, 1 or 2.
    public static func of(scalar u: Unicode.Scalar) -> Int {
        let v = u.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }  // controls: SafeText replaces them before display
        if v < 0x300 { return 1 }                           // fast path: Latin
        if v == 0x200B || v == 0x200C || v == 0x200D || v == 0x2060 || v == 0xFEFF { return 0 }
        if (0x1160...0x11FF).contains(v) || (0xD7B0...0xD7FF).contains(v) { return 0 }  // Hangul medial/final jamo
        switch u.properties.generalCategory {
        case .nonspacingMark, .enclosingMark: return 0
        case .format: return v == 0x00AD || (0x0600...0x0605).contains(v) ? 1 : 0
        default: break
        }
        if isWide(v) || u.properties.isEmojiPresentation { return 2 }
        return 1
    }

    /// Width of one grapheme cluster (what a terminal cell holds).
    public static func of(_ c: Character) -> Int {
        let scalars = c.unicodeScalars
        guard let first = scalars.first else { return 0 }
        if first.value < 0x300, scalars.count == 1 { return of(scalar: first) }
        let base = of(scalar: first)
        if base == 2 { return 2 }
        if scalars.count > 1 {
            // Emoji sequences: VS16 (text → emoji presentation), ZWJ sequences, keycaps, flags.
            var sawEmoji = first.properties.isEmoji
            for s in scalars.dropFirst() {
                if s.value == 0xFE0F && sawEmoji { return 2 }
                if s.properties.isEmojiPresentation { return 2 }
                if s.properties.isEmoji && s.value > 0xFF { sawEmoji = true }
            }
        }
        return base
    }

    /// Total display width of a string.
    public static func of<S: StringProtocol>(_ s: S) -> Int {
        var w = 0
        for c in s { w += of(c) }
        return w
    }

    /// East Asian Width W or F (outside the emoji ranges, which
    /// `isEmojiPresentation` covers).
    static func isWide(_ v: UInt32) -> Bool {
        if v < 0x1100 { return false }
        switch v {
        case 0x1100...0x115F, 0x2329...0x232A,
             0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF,
             0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
             0x16FE0...0x16FE4, 0x17000...0x18CFF, 0x1B000...0x1B2FF,
             0x1F200...0x1F202, 0x1F210...0x1F23B, 0x1F240...0x1F248, 0x1F250...0x1F251,
             0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// `s` cut to at most `width` columns; if it had to be cut, the last
    /// column is an ellipsis. A wide character is never split.
    public static func truncate(_ s: String, to width: Int, ellipsis: Character = "…") -> String {
        guard width > 0 else { return "" }
        if of(s) <= width { return s }
        var out = ""
        var used = 0
        for c in s {
            let w = of(c)
            if used + w > width - 1 { break }
            out.append(c)
            used += w
        }
        out.append(ellipsis)
        return out
    }

    public enum Alignment: Sendable { case left, right, center }

    /// `s` truncated and padded with spaces to exactly `width` columns.
    public static func fit(_ s: String, _ width: Int, _ align: Alignment = .left) -> String {
        guard width > 0 else { return "" }
        let t = truncate(s, to: width)
        let pad = width - of(t)
        if pad <= 0 { return t }
        switch align {
        case .left: return t + String(repeating: " ", count: pad)
        case .right: return String(repeating: " ", count: pad) + t
        case .center:
            let l = pad / 2
            return String(repeating: " ", count: l) + t + String(repeating: " ", count: pad - l)
        }
    }
}
