/// Terminal colour capability, chosen at start-up.
public enum ColorMode: String, Sendable, Equatable {
    /// 256 colours: ISA-101 grey background, saturated colour only for alarms.
    case color256
    /// 8 colours (`TERM=linux`): terminal default background.
    case color8
    /// No colour (`NO_COLOR`, or no colour support): attributes only.
    case monochrome

    public static func choose(hasColors: Bool, colors: Int, noColor: Bool) -> ColorMode {
        if noColor || !hasColors || colors < 8 { return .monochrome }
        return colors >= 256 ? .color256 : .color8
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
}

/// How one role looks: colour numbers (-1 = terminal default) and attributes.
public struct RoleStyle: Sendable, Equatable {
    public var fg: Int
    public var bg: Int
    public var attrs: TextAttributes
    public init(fg: Int = -1, bg: Int = -1, _ attrs: TextAttributes = []) {
        self.fg = fg; self.bg = bg; self.attrs = attrs
    }
}

/// The built-in theme: role → style per colour mode. Every alarm role is
/// also told apart without colour (glyph + letter on screen, and reverse/bold
/// in monochrome). Theme files under `themes/` come with issue #6.
public enum Theme {
    public static func style(_ role: StyleRole, mode: ColorMode) -> RoleStyle {
        switch mode {
        case .color256:
            let bg = 237, fg = 252  // calm dark grey for a night shift, light grey text
            switch role {
            case .normal: return RoleStyle(fg: fg, bg: bg)
            case .dim: return RoleStyle(fg: 245, bg: bg)
            case .title: return RoleStyle(fg: 255, bg: bg, .bold)
            case .header: return RoleStyle(fg: 253, bg: 239)
            case .value: return RoleStyle(fg: 255, bg: bg)
            case .good: return RoleStyle(fg: 151, bg: bg)
            case .warn: return RoleStyle(fg: 221, bg: bg)
            case .alarmCritical: return RoleStyle(fg: 231, bg: 160, .bold)
            case .alarmHigh: return RoleStyle(fg: 208, bg: bg, .bold)
            case .alarmMedium: return RoleStyle(fg: 226, bg: bg)
            case .alarmLow: return RoleStyle(fg: 117, bg: bg)
            case .selected: return RoleStyle(fg: 255, bg: 24)
            case .simulated: return RoleStyle(fg: 16, bg: 177, .bold)
            }
        case .color8:
            // 0 black 1 red 2 green 3 yellow 4 blue 5 magenta 6 cyan 7 white
            switch role {
            case .normal: return RoleStyle()
            case .dim: return RoleStyle(fg: -1, bg: -1, .dim)
            case .title: return RoleStyle(fg: -1, bg: -1, .bold)
            case .header: return RoleStyle(fg: 0, bg: 7)
            case .value: return RoleStyle(fg: -1, bg: -1, .bold)
            case .good: return RoleStyle(fg: 2, bg: -1)
            case .warn: return RoleStyle(fg: 3, bg: -1)
            case .alarmCritical: return RoleStyle(fg: 7, bg: 1, .bold)
            case .alarmHigh: return RoleStyle(fg: 1, bg: -1, .bold)
            case .alarmMedium: return RoleStyle(fg: 3, bg: -1, .bold)
            case .alarmLow: return RoleStyle(fg: 6, bg: -1)
            case .selected: return RoleStyle(fg: -1, bg: -1, .reverse)
            case .simulated: return RoleStyle(fg: 0, bg: 5, .bold)
            }
        case .monochrome:
            switch role {
            case .normal, .good: return RoleStyle()
            case .dim: return RoleStyle(.dim)
            case .title: return RoleStyle(.bold)
            case .header: return RoleStyle(.underline)
            case .value: return RoleStyle(.bold)
            case .warn: return RoleStyle(.bold)
            case .alarmCritical: return RoleStyle([.reverse, .bold])
            case .alarmHigh: return RoleStyle([.bold, .underline])
            case .alarmMedium: return RoleStyle(.bold)
            case .alarmLow: return RoleStyle()
            case .selected: return RoleStyle(.reverse)
            case .simulated: return RoleStyle([.reverse, .bold])
            }
        }
    }
}
