import ChainCore
import Alerts

/// Terminal colour capability, chosen at start-up.
/// Fallback order: truecolor → 256 → 16 → 8 (`TERM=linux`) → monochrome.
public enum ColorMode: String, Sendable, Equatable, CaseIterable {
    /// 24-bit colour (a `*-direct` terminfo: ncurses takes RGB values as colour numbers).
    case truecolor
    case color256
    case color16
    /// 8 colours (`TERM=linux`).
    case color8
    /// No colour (`NO_COLOR`, or no colour support): attributes only.
    case monochrome

    public static func choose(hasColors: Bool, colors: Int, noColor: Bool) -> ColorMode {
        if noColor || !hasColors || colors < 8 { return .monochrome }
        if colors >= 1 << 24 { return .truecolor }
        if colors >= 256 { return .color256 }
        if colors >= 16 { return .color16 }
        return .color8
    }
}

/// Text attributes independent of curses.
public struct TextAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = TextAttributes(rawValue: 1)
    public static let reverse = TextAttributes(rawValue: 2)
    public static let underline = TextAttributes(rawValue: 4)
    public static let dim = TextAttributes(rawValue: 8)

    static let names: [(String, TextAttributes)] = [("bold", .bold), ("reverse", .reverse), ("underline", .underline), ("dim", .dim)]
}

/// How one role looks in one colour mode: colour numbers for that mode
/// (-1 = terminal default; 0xRRGGBB in truecolor mode) and attributes.
public struct RoleStyle: Sendable, Equatable {
    public var fg: Int
    public var bg: Int
    public var attrs: TextAttributes
    public init(fg: Int = -1, bg: Int = -1, _ attrs: TextAttributes = []) {
        self.fg = fg; self.bg = bg; self.attrs = attrs
    }
}

/// A colour as written in a theme file.
public enum ThemeColor: Sendable, Equatable {
    /// The terminal's own foreground/background.
    case terminalDefault
    /// xterm palette index 0…255.
    case index(Int)
    case rgb(UInt8, UInt8, UInt8)

    static let names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    public static func parse(_ t: String) -> ThemeColor? {
        let s = t.lowercased()
        if s == "default" || s == "none" { return .terminalDefault }
        if s.hasPrefix("#") {
            let hex = s.dropFirst()
            guard hex.count == 6, let v = UInt32(hex, radix: 16) else { return nil }
            return .rgb(UInt8(v >> 16), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF))
        }
        if let n = Int(s) { return (0...255).contains(n) ? .index(n) : nil }
        if let i = names.firstIndex(of: s) { return .index(i) }
        if s.hasPrefix("bright-"), let i = names.firstIndex(of: String(s.dropFirst(7))) { return .index(i + 8) }
        return nil
    }

    /// The standard xterm RGB of a palette index.
    static func rgbOf(index n: Int) -> (Int, Int, Int) {
        let base: [(Int, Int, Int)] = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
                                      (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]
        if n < 16 { return base[max(0, n)] }
        if n >= 232 { let v = 8 + (n - 232) * 10; return (v, v, v) }
        let i = n - 16
        let steps = [0, 95, 135, 175, 215, 255]
        return (steps[i / 36], steps[(i / 6) % 6], steps[i % 6])
    }

    var rgb: (Int, Int, Int)? {
        switch self {
        case .terminalDefault: return nil
        case .index(let n): return ThemeColor.rgbOf(index: n)
        case .rgb(let r, let g, let b): return (Int(r), Int(g), Int(b))
        }
    }

    static func distance(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
        // Weighted for the eye (red 2, green 4, blue 3): cheap and good enough.
        let dr = a.0 - b.0, dg = a.1 - b.1, db = a.2 - b.2
        return 2 * dr * dr + 4 * dg * dg + 3 * db * db
    }

    static func nearest(_ c: (Int, Int, Int), in range: ClosedRange<Int>) -> Int {
        var best = range.lowerBound, bestD = Int.max
        for i in range {
            let d = distance(c, rgbOf(index: i))
            if d < bestD { bestD = d; best = i }
        }
        return best
    }

    /// The colour number for a colour mode (-1 = default).
    public func number(for mode: ColorMode) -> Int {
        switch (self, mode) {
        case (.terminalDefault, _), (_, .monochrome): return -1
        case (.index(let n), .color256): return n
        case (.index(let n), .color16) where n < 16: return n
        case (.index(let n), .color8) where n < 8: return n
        case (.rgb(let r, let g, let b), .truecolor): return Int(r) << 16 | Int(g) << 8 | Int(b)
        case (.index(let n), .truecolor):
            let (r, g, b) = ThemeColor.rgbOf(index: n)
            return r << 16 | g << 8 | b
        case (_, .color256): return ThemeColor.nearest(rgb!, in: 16...255)
        case (_, .color16): return ThemeColor.nearest(rgb!, in: 0...15)
        case (_, .color8): return ThemeColor.nearest(rgb!, in: 0...15) & 7
        }
    }
}

/// A role's colours and attributes as written in a theme file.
public struct RoleSpec: Sendable, Equatable {
    public var fg: ThemeColor
    public var bg: ThemeColor
    public var attrs: TextAttributes
    public init(fg: ThemeColor = .terminalDefault, bg: ThemeColor = .terminalDefault, attrs: TextAttributes = []) {
        self.fg = fg; self.bg = bg; self.attrs = attrs
    }
}

extension StyleRole {
    /// The role's name in theme files: `alarm-critical`.
    public var themeKey: String {
        var out = ""
        for c in String(describing: self) {
            if c.isUppercase { out += "-" + c.lowercased() } else { out.append(c) }
        }
        return out
    }

    public init?(themeKey: String) {
        guard let r = StyleRole.allCases.first(where: { $0.themeKey == themeKey }) else { return nil }
        self = r
    }
}

/// A parse error in a theme file, with where it is.
public struct ThemeError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// A colour theme: role → colours for full colour (mapped down to 256, 16
/// and 8 colours automatically), optional exact 8-colour styles, and
/// attributes for monochrome. Theme files: see `docs/themes.md`.
public struct Theme: Sendable, Equatable {
    public static let defaultName = "isa101"

    public var name: String
    public var description: String
    public var colors: [StyleRole: RoleSpec]
    /// Exact styles for 8 colours (`[8]`), when the automatic mapping is not good enough.
    public var eight: [StyleRole: RoleSpec]
    public var mono: [StyleRole: TextAttributes]

    /// The style of `role` in `mode`. Roles the theme leaves out come from the built-in default.
    public func style(_ role: StyleRole, mode: ColorMode) -> RoleStyle {
        switch mode {
        case .monochrome:
            return RoleStyle(fg: -1, bg: -1, mono[role] ?? Theme.builtin.mono[role] ?? [])
        case .color8:
            if let s = eight[role] ?? (colors[role] == nil ? Theme.builtin.eight[role] : nil) {
                return RoleStyle(fg: s.fg.number(for: .color8), bg: s.bg.number(for: .color8), s.attrs)
            }
            fallthrough
        default:
            let s = colors[role] ?? Theme.builtin.colors[role] ?? RoleSpec()
            return RoleStyle(fg: s.fg.number(for: mode), bg: s.bg.number(for: mode), s.attrs)
        }
    }

    /// The built-in default theme's style (used when no theme is loaded).
    public static func style(_ role: StyleRole, mode: ColorMode) -> RoleStyle { builtin.style(role, mode: mode) }

    /// The ISA-101 grey default, compiled in so the screen never depends on a file.
    /// `themes/isa101.theme` holds the same text (a test keeps them equal).
    public static let builtin: Theme = {
        do { return try Theme.parse(builtinSource, file: "builtin:isa101") } catch {
            preconditionFailure("built-in theme: \(error)")
        }
    }()

    // MARK: parsing

    /// Parses a theme file. Every problem is an error with its line number.
    public static func parse(_ text: String, file: String) throws(ThemeError) -> Theme {
        var t = Theme(name: "", description: "", colors: [:], eight: [:], mono: [:])
        var section = "colors"
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            var line = Substring(raw)
            if let h = commentStart(line) { line = line[..<h] }
            let trimmed = String(line).filter { $0 != "\r" }.replacingTabs().trimmingCharacters(in: " ")
            if trimmed.isEmpty { continue }
            func fail(_ m: String) -> ThemeError { ThemeError(file: file, line: lineNo, message: m) }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else { throw fail("section header must end with ]") }
                let name = String(trimmed.dropFirst().dropLast()).lowercased()
                guard ["colors", "8", "mono"].contains(name) else { throw fail("unknown section [\(name)]; use [colors], [8] or [mono]") }
                section = name
                continue
            }
            guard let eq = trimmed.firstIndex(of: "=") else { throw fail("expected `key = value`") }
            let key = String(trimmed[..<eq]).trimmingCharacters(in: " ").lowercased()
            let value = String(trimmed[trimmed.index(after: eq)...]).trimmingCharacters(in: " ")
            if key == "name" {
                guard Theme.isValidName(value) else { throw fail("name must be letters, digits, - or _") }
                t.name = value
                continue
            }
            if key == "description" { t.description = SafeText.sanitize(value, limit: 200); continue }
            guard let role = StyleRole(themeKey: key) else {
                throw fail("unknown role `\(key)`; roles: " + StyleRole.allCases.map(\.themeKey).joined(separator: " "))
            }
            let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { String($0).lowercased() }
            var spec = RoleSpec()
            var attrs: TextAttributes = []
            var i = 0
            while i < words.count {
                let w = words[i]
                if w == "fg" || w == "bg" {
                    guard section != "mono" else { throw fail("[mono] takes attributes only, not colours") }
                    guard i + 1 < words.count else { throw fail("`\(w)` needs a colour") }
                    guard let c = ThemeColor.parse(words[i + 1]) else {
                        throw fail("bad colour `\(words[i + 1])`: use #rrggbb, 0-255, a name (red, bright-red, …) or default")
                    }
                    if section == "8", case .index(let n) = c, n > 7 { throw fail("[8] colours must be 0-7 or names without bright-") }
                    if section == "8", case .rgb = c { throw fail("[8] colours must be 0-7 or names, not #rrggbb") }
                    if w == "fg" { spec.fg = c } else { spec.bg = c }
                    i += 2
                    continue
                }
                guard let a = TextAttributes.names.first(where: { $0.0 == w }) else {
                    throw fail("unknown word `\(w)`: expected fg COLOUR, bg COLOUR, bold, dim, reverse or underline")
                }
                attrs.insert(a.1)
                i += 1
            }
            spec.attrs = attrs
            switch section {
            case "mono": t.mono[role] = attrs
            case "8": t.eight[role] = spec
            default: t.colors[role] = spec
            }
        }
        if t.name.isEmpty { throw ThemeError(file: file, line: 0, message: "missing `name = …`") }
        if t.colors.isEmpty && t.eight.isEmpty && t.mono.isEmpty { throw ThemeError(file: file, line: 0, message: "no roles defined") }
        return t
    }

    /// A comment is `#` at the start of a line, or `#` followed by a space
    /// or the end of the line (so `fg #1c1c1c` is a colour, not a comment).
    static func commentStart(_ line: Substring) -> Substring.Index? {
        var i = line.startIndex
        var onlySpaceBefore = true
        while i < line.endIndex {
            let ch = line[i]
            if ch == "#" {
                let next = line.index(after: i)
                if onlySpaceBefore || next == line.endIndex || line[next] == " " || line[next] == "\t" { return i }
            }
            if ch != " " && ch != "\t" { onlySpaceBefore = false }
            i = line.index(after: i)
        }
        return nil
    }

    public static func isValidName(_ n: String) -> Bool {
        !n.isEmpty && n.count <= 64 && n.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    static let builtinSource = """
    # ISA-101 grey: the default gridtop theme.
    # A calm mid-grey screen that reports by exception: normal values are dark
    # text on grey, colour is kept for alarms and abnormal states, and every
    # alarm is also told apart by glyph + letter (never colour alone).
    name = isa101
    description = ISA-101 high-performance HMI grey (default)

    [colors]
    normal          = fg #1c1c1c bg #a8a8a8
    dim             = fg #4e4e4e bg #a8a8a8
    title           = fg #000000 bg #a8a8a8 bold
    header          = fg #000000 bg #c6c6c6
    value           = fg #000000 bg #a8a8a8 bold
    good            = fg #1c1c1c bg #a8a8a8
    warn            = fg #000000 bg #d7d787
    alarm-critical  = fg #ffffff bg #af0000 bold
    alarm-high      = fg #000000 bg #ff8700 bold
    alarm-medium    = fg #000000 bg #ffd700
    alarm-low       = fg #000000 bg #87d7ff
    selected        = fg #ffffff bg #005f87
    simulated       = fg #000000 bg #d787ff bold
    chart           = fg #005f87 bg #a8a8a8
    band            = fg #5f8787 bg #a8a8a8
    banner          = fg #ffffff bg #af0000 bold

    # The Linux console (TERM=linux): its own 8 colours, terminal background.
    [8]
    normal          = fg default bg default
    dim             = fg default bg default dim
    title           = fg default bg default bold
    header          = fg black bg white
    value           = fg default bg default bold
    good            = fg default bg default
    warn            = fg yellow bg default
    alarm-critical  = fg white bg red bold
    alarm-high      = fg black bg yellow bold
    alarm-medium    = fg yellow bg default bold
    alarm-low       = fg cyan bg default
    selected        = fg white bg blue
    simulated       = fg black bg magenta bold
    chart           = fg cyan bg default
    band            = fg default bg default dim
    banner          = fg white bg red bold

    # No colour (NO_COLOR, or a terminal without colour): attributes only.
    [mono]
    normal          =
    dim             = dim
    title           = bold
    header          = underline
    value           = bold
    good            =
    warn            = bold
    alarm-critical  = reverse bold
    alarm-high      = bold underline
    alarm-medium    = bold
    alarm-low       =
    selected        = reverse
    simulated       = reverse bold
    chart           =
    band            = dim
    banner          = reverse bold

    """
}

/// Finds and loads theme files: `NAME.theme` in the search path, first hit wins.
public enum ThemeLoader {
    /// Where themes are looked up, in order: `$GRIDTOP_THEMES` (colon-separated),
    /// the repository's `themes/` found by walking up from the executable,
    /// then `$XDG_CONFIG_HOME/gridtop/themes` (or `~/.config/gridtop/themes`).
    public static func defaultSearchPath(environment env: [String: String], executablePath: String?) -> [String] {
        var out: [String] = []
        if let g = env["GRIDTOP_THEMES"] { out += g.split(separator: ":").map(String.init).filter { !$0.isEmpty } }
        if let exe = executablePath {
            var dir = Substring(exe)
            for _ in 0..<6 {
                guard let slash = dir.lastIndex(of: "/") else { break }
                dir = dir[..<slash]
                let candidate = (dir.isEmpty ? "" : String(dir)) + "/themes"
                if FileIO.isDirectory(candidate) { out.append(candidate); break }
            }
        }
        if let x = env["XDG_CONFIG_HOME"], !x.isEmpty { out.append(x + "/gridtop/themes") } else if let h = env["HOME"], !h.isEmpty {
            out.append(h + "/.config/gridtop/themes")
        }
        return out
    }

    /// Theme names found in the search path (plus the built-in one), sorted.
    public static func available(in searchPath: [String]) -> [String] {
        var names = Set([Theme.defaultName])
        for dir in searchPath {
            for f in FileIO.list(dir) where f.hasSuffix(".theme") {
                let n = String(f.dropLast(6))
                if Theme.isValidName(n) { names.insert(n) }
            }
        }
        return names.sorted()
    }

    /// Loads theme `name`. The default name never fails (built in).
    public static func load(name: String, searchPath: [String]) -> Result<Theme, ThemeError> {
        guard Theme.isValidName(name) else {
            return .failure(ThemeError(file: name, line: 0, message: "theme names are letters, digits, - or _"))
        }
        for dir in searchPath {
            let path = dir + "/" + name + ".theme"
            guard let text = FileIO.read(path) else { continue }
            do { return .success(try Theme.parse(text, file: path)) } catch { return .failure(error) }
        }
        if name == Theme.defaultName { return .success(.builtin) }
        return .failure(ThemeError(file: name + ".theme", line: 0,
                                   message: "not found in " + (searchPath.isEmpty ? "(no theme folders)" : searchPath.joined(separator: ":"))))
    }

    /// Loads `name`, or the built-in default with an error message to show.
    public static func loadOrDefault(name: String?, searchPath: [String]) -> (Theme, error: String?) {
        guard let name, name != Theme.defaultName || !searchPath.isEmpty else { return (.builtin, nil) }
        switch load(name: name, searchPath: searchPath) {
        case .success(let t): return (t, nil)
        case .failure(let e): return (.builtin, "theme \(SafeText.sanitize(name, limit: 40)): \(SafeText.sanitize(e.description, limit: 200)); using \(Theme.defaultName)")
        }
    }
}
