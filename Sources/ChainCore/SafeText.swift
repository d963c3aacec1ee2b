/// Makes untrusted text (anything that came from the chain or a node:
/// asset names, client versions, error texts) safe to put on a terminal: the one
/// definition of what is dangerous, used by the screen (`sanitize`: visible stand-ins),
/// the CLI's text lines (`escaped`: JSON-style escapes, lossless) and every JSON
/// line gridtop writes (`JSON.writeString` escapes the same characters).
///
/// Nothing that passes through `sanitize` can start an escape sequence,
/// move the cursor, or reorder the line:
/// - C0 controls U+0000–U+001F become Control Pictures (U+2400 + c; ESC → ␛, LF → ␊),
/// - DEL becomes ␡,
/// - C1 controls U+0080–U+009F (8-bit CSI, OSC, …), bidi controls
///   (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) and the line/paragraph
///   separators U+2028/U+2029 become the placeholder ⍰,
/// - U+FFFD (what a decoder left of invalid bytes) stays visible as it is.
public enum SafeText {
    /// Shown instead of an invisible or dangerous character.
    public static let placeholder: Unicode.Scalar = "\u{2370}"  // ⍰
    /// Longest text kept (in Unicode scalars); longer text is cut with an ellipsis.
    public static let defaultLimit = 512

    public static func sanitize(_ s: String, limit: Int = defaultLimit) -> String {
        if isSafe(s) && s.unicodeScalars.count <= limit { return s }
        var out = String.UnicodeScalarView()
        var n = 0
        for u in s.unicodeScalars {
            if n >= limit { out.append("…"); break }
            out.append(replacement(for: u) ?? u)
            n += 1
        }
        return String(out)
    }

    /// True when `s` contains nothing that `sanitize` would replace.
    public static func isSafe(_ s: String) -> Bool {
        for u in s.unicodeScalars where replacement(for: u) != nil { return false }
        return true
    }

    /// True for a scalar that could start an escape sequence, move the cursor or reorder the line.
    @inline(__always)
    public static func isDangerous(_ u: Unicode.Scalar) -> Bool { replacement(for: u) != nil }

    /// Untrusted text for a line of CLI output: every dangerous scalar, `"` and `\` escaped as in
    /// a JSON string (`\u001b`, `\u202e`, `\n`), so nothing reaches the terminal raw and
    /// nothing is lost. The body of `JSON.string(s).serialized()` without its quotes.
    /// With `quotes: false` only the dangerous scalars are escaped (`"` and `\` stay as they
    /// are): for human-readable message text and CSV cells.
    public static func escaped(_ s: String, quotes: Bool = true) -> String {
        if isSafe(s) && (!quotes || !s.utf8.contains(where: { $0 == 0x22 || $0 == 0x5c })) { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 8)
        if quotes {
            JSON.writeStringBody(s, to: &out)
        } else {
            for u in s.unicodeScalars {
                if isDangerous(u) { JSON.writeEscape(u, to: &out) } else { out.append(contentsOf: String(u).utf8) }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The visible stand-in for a dangerous scalar, or nil if it is harmless.
    @inline(__always)
    static func replacement(for u: Unicode.Scalar) -> Unicode.Scalar? {
        let v = u.value
        if v < 0x20 { return Unicode.Scalar(0x2400 + v) }
        if v < 0x7F { return nil }
        if v == 0x7F { return "\u{2421}" }
        if v <= 0x9F { return placeholder }
        if v < 0x061C { return nil }
        switch v {
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029:
            return placeholder
        default:
            return nil
        }
    }
}
