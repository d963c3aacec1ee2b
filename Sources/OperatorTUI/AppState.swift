import Alerts

/// A key as the app sees it, independent of curses key codes.
public enum Key: Hashable, Sendable {
    case char(Character)
    /// Ctrl plus a letter, lower case: `.ctrl("l")`.
    case ctrl(Character)
    case enter, escape, backspace, tab
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

/// Everything the operator (or the terminal) can ask the app to do.
public enum Action: Equatable, Sendable {
    case quit
    /// Repaint the whole screen (Ctrl-L), e.g. after a `wall` message.
    case repaint
    case resize(width: Int, height: Int)
    case snapshot(MonitorSnapshot)
    /// Wall clock advanced (ages tick).
    case tick(now: Double)
    /// `:` opens the command line.
    case beginCommand
    case commandInput(Character)
    case commandBackspace
    case commandSubmit
    case commandCancel
}

/// The screen being shown. Issue #6 adds grid, consensus, alarms, blocks, asset.
public enum Screen: String, Sendable, Equatable {
    case dashboard
}

/// All the state the views draw from. Views are pure functions of it.
public struct AppState: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var screen: Screen = .dashboard
    public var snapshot: MonitorSnapshot?
    /// Wall clock (unix seconds) used for ages.
    public var now: Double
    /// The command line's text while it is open (without the leading `:`).
    public var commandLine: String?
    /// A one-line message for the operator (unknown command, …); stays until the next command.
    public var message: String?
    public var readOnly: Bool
    public var shouldQuit = false
    /// Set by `.repaint`; the app clears it after a full repaint.
    public var needsFullRepaint = false

    public init(width: Int, height: Int, now: Double = 0, readOnly: Bool = false) {
        self.width = width; self.height = height; self.now = now; self.readOnly = readOnly
    }
}

/// The reducer: the only place state changes.
public enum AppReducer {
    public static func reduce(_ s: inout AppState, _ action: Action) {
        switch action {
        case .quit:
            s.shouldQuit = true
        case .repaint:
            s.needsFullRepaint = true
        case .resize(let w, let h):
            s.width = max(0, w); s.height = max(0, h)
        case .snapshot(let snap):
            s.snapshot = snap
            s.now = max(s.now, snap.now)
        case .tick(let now):
            s.now = now
        case .beginCommand:
            s.commandLine = ""
            s.message = nil
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
            run(command: line, &s)
        }
    }

    /// Commands typed after `:`.
    static func run(command: String, _ s: inout AppState) {
        let cmd = command.trimmingCharacters(in: " ")
        switch cmd {
        case "": break
        case "q", "q!", "quit", "qa", "qa!": s.shouldQuit = true
        default: s.message = "unknown command: \(SafeText.sanitize(cmd, limit: 40))"
        }
    }

    /// Which action a key means in this state (the command line takes keys first).
    public static func action(for key: Key, in s: AppState, keymap: Keymap = .standard) -> Action? {
        if key == .resize { return nil }
        if s.commandLine != nil {
            switch key {
            case .escape: return .commandCancel
            case .enter: return .commandSubmit
            case .backspace: return .commandBackspace
            case .ctrl("l"): return .repaint
            case .char(let c): return .commandInput(c)
            default: return nil
            }
        }
        return keymap.action(for: key)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
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
    /// Changes alarm state (ack, shelve, …): disabled and greyed out in read-only mode.
    public var mutating: Bool

    public init(_ key: Key, _ action: Action, _ help: String, mutating: Bool = false) {
        self.key = key; self.action = action; self.help = help; self.mutating = mutating
    }
}

/// The table of key bindings: key → action + help text.
public struct Keymap: Sendable, Equatable {
    public var bindings: [KeyBinding]

    public init(_ bindings: [KeyBinding]) { self.bindings = bindings }

    public static let standard = Keymap([
        KeyBinding(.char("q"), .quit, "quit"),
        KeyBinding(.char(":"), .beginCommand, "command line (:q quits)"),
        KeyBinding(.ctrl("l"), .repaint, "repaint the whole screen"),
    ])

    public func action(for key: Key, readOnly: Bool = false) -> Action? {
        guard let b = bindings.first(where: { $0.key == key }) else { return nil }
        if readOnly && b.mutating { return nil }
        return b.action
    }

    /// `key  help` lines, for the help screen and docs.
    public var helpLines: [String] {
        let w = bindings.map { DisplayWidth.of($0.key.label) }.max() ?? 0
        return bindings.map { DisplayWidth.fit($0.key.label, w) + "  " + $0.help }
    }
}

/// Draws the whole app for a state: the current screen plus the command line.
public enum AppView {
    public static func render(_ s: AppState, into buf: inout CellBuffer, options: RenderOptions = RenderOptions()) {
        var opts = options
        opts.readOnly = opts.readOnly || s.readOnly
        if buf.width < DashboardView.minWidth || buf.height < DashboardView.minHeight {
            TooSmallView.render(into: &buf, needWidth: DashboardView.minWidth, needHeight: DashboardView.minHeight)
            return
        }
        switch s.screen {
        case .dashboard:
            if let snap = s.snapshot {
                DashboardView.render(snapshot: snap, into: &buf, now: s.now, options: opts)
            } else {
                DashboardView.render(snapshot: MonitorSnapshot(now: s.now), into: &buf, now: s.now, options: opts)
                buf.fill(x: 0, y: buf.height / 2, count: buf.width, role: .normal)
                buf.put("waiting for the first snapshot…", x: 2, y: buf.height / 2, role: .dim)
            }
        }
        let y = buf.height - 1
        if let line = s.commandLine {
            buf.fill(x: 0, y: y, count: buf.width, role: .normal)
            buf.put(":" + line, x: 0, y: y, role: .value)
            let cursorX = min(buf.width - 1, 1 + DisplayWidth.of(line))
            buf.put("█", x: cursorX, y: y, role: .value)
        } else if let m = s.message {
            buf.fill(x: 0, y: y, count: buf.width - 20, role: .normal)
            buf.put(m, x: 0, y: y, role: .warn, maxWidth: buf.width - 21)
        }
    }
}
