import ChainCore
import Alerts
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The signal that asked the app to stop (0 = none). Written by the signal
/// handler (an atomic store is async-signal-safe), polled by the loop.
private let pendingSignal = Atomic<Int32>(0)
/// The wake pipe's write end while the app runs (-1 otherwise): a signal handler
/// writes a byte so the UI thread's poll(2) returns even when the kernel
/// delivered the signal to another thread.
private let signalWakeFD = Atomic<Int32>(-1)

/// Called from signal handlers: only async-signal-safe calls.
private func wakeFromSignal() {
    let fd = signalWakeFD.load(ordering: .relaxed)
    if fd >= 0 {
        var b: UInt8 = 2
        _ = write(fd, &b, 1)
    }
}

/// curses' own SIGWINCH handler, chained from ours (it flags the resize for `wget_wch`).
nonisolated(unsafe) private var cursesWinchHandler = sigaction()

public enum OperatorAppError: Error, Equatable, CustomStringConvertible {
    /// SIGINT, SIGTERM or SIGHUP arrived; the terminal has been restored.
    case interrupted(signal: Int32)
    public var description: String {
        switch self {
        case .interrupted(let s): return "interrupted by signal \(s)"
        }
    }
}

/// Clocks, injectable for tests.
struct AppClock: Sendable {
    /// Unix seconds, for ages on screen.
    var wall: @Sendable () -> Double
    /// Seconds from an arbitrary origin, for frame pacing.
    var monotonic: @Sendable () -> Double

    static let system = AppClock(
        wall: {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        },
        monotonic: {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        })
}

/// The operator's dashboard: runs on the calling thread until the operator
/// quits (returns), a signal arrives (throws `.interrupted`), or an error is
/// thrown; the terminal is restored in every case.
///
/// It redraws only when the snapshot version changed, a key was pressed or
/// the terminal was resized — at most 20 frames per second — and, for the
/// ages on screen, when a second has passed since the last frame. Between
/// frames it sleeps in poll(2) on the keyboard and the snapshot box's wake
/// pipe: no timer ticks while nothing happens.
public final class OperatorApp {
    public static let minFrameInterval = 0.05
    /// Ages on screen are whole seconds: with nothing else to draw, one frame per second.
    public static let ageTick = 1.0

    private let source: SnapshotBox
    private let options: OperatorOptions
    private let terminal: TerminalDevice
    private let clock: AppClock
    private let onRequest: @Sendable (OperatorRequest) -> Void
    let keymap: Keymap
    /// Frames drawn so far (for tests and the idle-CPU budget).
    private(set) var framesDrawn = 0
    /// The theme in use and why the requested one was not (shown on screen).
    private var theme: Theme
    private var themeError: String?

    /// - Parameters:
    ///   - source: where the pipeline publishes `MonitorSnapshot`s or `ScreenData`.
    ///   - options: read-only, colour, glyphs, theme.
    ///   - onRequest: called on the screen's thread for every operator action
    ///     (acknowledge, shelve, unshelve, comment), in the order the operator gave them.
    ///     Never called in read-only mode. It must not block: hand the request to the
    ///     control room (`ControlRoom.send`) and return.
    public convenience init(source: SnapshotBox, options: OperatorOptions,
                            onRequest: @escaping @Sendable (OperatorRequest) -> Void = { _ in }) {
        let (theme, error) = ThemeLoader.loadOrDefault(name: options.themeName, searchPath: options.themeSearchPath)
        self.init(source: source, options: options,
                  terminal: CursesTerminal(noColor: options.noColor, asciiGlyphs: options.asciiGlyphs, theme: theme),
                  clock: .system, onRequest: onRequest, theme: theme, themeError: error)
    }

    init(source: SnapshotBox, options: OperatorOptions, terminal: TerminalDevice, clock: AppClock,
         keymap: Keymap = .standard, onRequest: @escaping @Sendable (OperatorRequest) -> Void = { _ in },
         theme: Theme = .builtin, themeError: String? = nil) {
        self.source = source; self.options = options; self.terminal = terminal; self.clock = clock
        self.keymap = keymap; self.onRequest = onRequest; self.theme = theme; self.themeError = themeError
    }

    public func run() throws {
        let installed = installSignalHandlers()
        signalWakeFD.store(source.wakeWriteEnd, ordering: .relaxed)
        var resizeChain: sigaction?
        defer {
            signalWakeFD.store(-1, ordering: .relaxed)
            if var old = resizeChain { sigaction(SIGWINCH, &old, nil) }
            terminal.stop()
            restoreSignalHandlers(installed)
        }
        try terminal.start()
        resizeChain = chainResizeSignal()
        var (w, h) = terminal.size
        var state = AppState(width: w, height: h, now: clock.wall(), readOnly: options.readOnly)
        state.shelveLimitSeconds = options.shelveLimitSeconds
        state.journalPath = options.journalPath
        state.themeName = theme.name
        state.operatorName = options.operatorName
        state.themeNames = ThemeLoader.available(in: options.themeSearchPath)
        state.message = themeError
        if let j = options.journalPath, themeError == nil { state.message = "alarm journal: \(SafeText.sanitize(j, limit: 200)) (? shows it again)" }
        var renderOptions = RenderOptions(glyphs: terminal.glyphs, readOnly: options.readOnly)
        renderOptions.clockZone = options.clockZone
        var seenVersion: UInt64 = 0
        var dirty = true
        var fullRepaint = false
        var lastFrame = -Double.infinity
        var lastFullRepaint = clock.monotonic()

        while true {
            let sig = pendingSignal.exchange(0, ordering: .relaxed)
            // SIGHUP is ignored while the terminal is there (the configuration is read at start; a
            // `kill -HUP` must not end a control-room console); a terminal that hung up ends the app.
            if sig == SIGHUP, !OperatorApp.terminalHungUp() {
                // ignored
            } else if sig != 0 {
                throw OperatorAppError.interrupted(signal: sig)
            }

            // Sleep until a key, new data, a signal, or the next frame that is due.
            let now = clock.monotonic()
            var wait = dirty ? lastFrame + OperatorApp.minFrameInterval - now : lastFrame + OperatorApp.ageTick - now
            if options.fullRepaintInterval > 0 { wait = min(wait, lastFullRepaint + options.fullRepaintInterval - now) }
            var timeout = min(max(0, wait), OperatorApp.ageTick)
            while let key = terminal.readKey(timeout: timeout, wake: source.wakeFD) {
                timeout = 0  // then take every key already typed before drawing
                if key == .resize {
                    dirty = true
                } else if let action = AppReducer.action(for: key, in: state, keymap: keymap) {
                    dirty = true
                    for effect in AppReducer.reduce(&state, action) {
                        switch effect {
                        case .quit: return
                        case .repaint: fullRepaint = true
                        case .send(let request): if !options.readOnly { onRequest(request) }
                        case .loadTheme(let name): AppReducer.reduce(&state, loadTheme(name, current: state.themeName))
                        }
                    }
                }
            }
            source.drainWake()

            (w, h) = terminal.size  // also catches a resize whose SIGWINCH was lost
            if w != state.width || h != state.height {
                AppReducer.reduce(&state, .resize(width: w, height: h))
                dirty = true
            }
            if source.version != seenVersion, let (v, data) = source.latestData() {
                seenVersion = v
                AppReducer.reduce(&state, .data(data))
                dirty = dirty || !state.paused
            }
            let mono = clock.monotonic()
            if mono - lastFrame >= OperatorApp.ageTick { dirty = true }  // ages tick
            if options.fullRepaintInterval > 0, mono - lastFullRepaint >= options.fullRepaintInterval {
                // Cheap insurance against stray output (`wall`, kernel messages).
                fullRepaint = true
                dirty = true
            }
            guard dirty, mono - lastFrame >= OperatorApp.minFrameInterval else { continue }
            AppReducer.reduce(&state, .tick(now: clock.wall()))
            if fullRepaint {
                lastFullRepaint = mono
                terminal.invalidate()
                fullRepaint = false
            }
            var buffer = CellBuffer(width: state.width, height: state.height)
            AppView.render(state, into: &buffer, options: renderOptions)
            terminal.present(buffer)
            framesDrawn += 1
            lastFrame = mono
            dirty = false
        }
    }

    /// Performs `Effect.loadTheme`: applies the theme to the terminal; the answer goes back to the reducer.
    private func loadTheme(_ name: String, current: String) -> Action {
        switch ThemeLoader.load(name: name, searchPath: options.themeSearchPath) {
        case .success(let t):
            theme = t
            terminal.apply(theme: t)
            return .themeLoaded(name: t.name, message: "theme \(t.name)" + (terminal.colorMode == .monochrome ? " (no colour: attributes only)" : ""))
        case .failure(let e):
            return .themeLoaded(name: current, message: "theme \(SafeText.sanitize(name, limit: 40)): \(SafeText.sanitize(e.description, limit: 200)); keeping \(current)")
        }
    }

    /// The controlling terminal is gone: poll(2) on standard input reports a hang-up.
    static func terminalHungUp() -> Bool {
        var p = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) >= 0 else { return true }
        return p.revents & Int16(POLLHUP | POLLNVAL) != 0
    }

    private typealias Handler = @convention(c) (Int32) -> Void
    private static let handledSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    private func installSignalHandlers() -> [(Int32, sigaction)] {
        pendingSignal.store(0, ordering: .relaxed)
        var saved: [(Int32, sigaction)] = []
        for sig in OperatorApp.handledSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { s in
                pendingSignal.store(s, ordering: .relaxed)
                wakeFromSignal()
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0  // no SA_RESTART: a blocking read returns so the loop sees the flag
            var old = sigaction()
            if sigaction(sig, &action, &old) == 0 { saved.append((sig, old)) }
        }
        return saved
    }

    /// After curses started: SIGWINCH wakes the loop too, then runs curses' handler.
    private func chainResizeSignal() -> sigaction? {
        var old = sigaction()
        guard sigaction(SIGWINCH, nil, &old) == 0 else { return nil }
        cursesWinchHandler = old
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { s in
            let prev = cursesWinchHandler
            if prev.sa_flags & SA_SIGINFO == 0 {
                let h = prev.__sigaction_handler.sa_handler
                let raw = unsafeBitCast(h, to: Int.self)
                if raw != 0 && raw != 1 { h?(s) }  // not SIG_DFL / SIG_IGN
            }
            wakeFromSignal()
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        guard sigaction(SIGWINCH, &action, nil) == 0 else { return nil }
        return old
    }

    private func restoreSignalHandlers(_ saved: [(Int32, sigaction)]) {
        for (sig, old) in saved {
            var o = old
            sigaction(sig, &o, nil)
        }
    }
}
