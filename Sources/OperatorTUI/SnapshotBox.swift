import Alerts
import Synchronization

/// A thread-safe latest-value mailbox between the ledger pipeline (which
/// publishes from Swift concurrency) and the UI thread (which waits).
/// Every publish bumps the version, so the UI redraws only on change, and
/// wakes the UI through a pipe, so the UI can sleep in `poll` instead of
/// polling on a timer.
public final class SnapshotBox: Sendable {
    private let state = Mutex<(version: UInt64, data: ScreenData?)>((0, nil))
    /// Read end of the wake pipe (non-blocking); -1 if the pipe could not be made.
    let wakeFD: Int32
    private let wakeWriteFD: Int32
    /// The write end, for signal handlers (a raw write(2) is async-signal-safe).
    var wakeWriteEnd: Int32 { wakeWriteFD }
    /// True while a wake byte is in the pipe: one byte per burst of publishes.
    private let wakePending = Atomic<Bool>(false)

    public init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
        } else {
            fds = [-1, -1]
        }
        wakeFD = fds[0]
        wakeWriteFD = fds[1]
    }

    deinit {
        if wakeFD >= 0 { close(wakeFD) }
        if wakeWriteFD >= 0 { close(wakeWriteFD) }
    }

    /// Publishes a bare snapshot (no topology, block details, KPIs, …).
    public func publish(_ snapshot: MonitorSnapshot) {
        publish(ScreenData(snapshot: snapshot))
    }

    /// Publishes the snapshot with the extras the views can show.
    public func publish(_ data: ScreenData) {
        state.withLock { $0 = ($0.version &+ 1, data) }
        wake()
    }

    /// Wakes the UI thread if it is waiting (also for signals; see `OperatorApp`).
    func wake() {
        guard wakeWriteFD >= 0, !wakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var b: UInt8 = 1
        _ = write(wakeWriteFD, &b, 1)
    }

    /// Empties the wake pipe; call before reading `version`, so a publish after it wakes again.
    func drainWake() {
        guard wakeFD >= 0 else { return }
        wakePending.store(false, ordering: .sequentiallyConsistent)
        var buf = (UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &buf, { read(wakeFD, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// The newest snapshot and its version, or nil before the first publish.
    public func latest() -> (version: UInt64, snapshot: MonitorSnapshot)? {
        state.withLock { s in s.data.map { (s.version, $0.snapshot) } }
    }

    /// The newest screen data and its version, or nil before the first publish.
    public func latestData() -> (version: UInt64, data: ScreenData)? {
        state.withLock { s in s.data.map { (s.version, $0) } }
    }

    /// The current version (0 before the first publish); cheap to poll.
    public var version: UInt64 { state.withLock { $0.version } }
}

/// How the operator app runs.
public struct OperatorOptions: Sendable {
    /// No mutating actions (ack, shelve, …), marked on screen.
    public var readOnly = false
    /// Monochrome: attributes only. Defaults to true when `NO_COLOR` is set and non-empty.
    public var noColor: Bool = OperatorOptions.noColorFromEnvironment()
    /// Draw with ASCII symbols only; nil = decide from the terminal (`TERM=linux` → ASCII).
    public var asciiGlyphs: Bool? = nil

    /// Theme to start with (`--theme`); nil = the ISA-101 grey default.
    public var themeName: String? = nil
    /// Folders searched for `NAME.theme`, first hit wins (see `ThemeLoader.defaultSearchPath`).
    public var themeSearchPath: [String] = OperatorOptions.defaultThemeSearchPath()
    /// Who is at this console: recorded with every action it sends.
    public var operatorName = "operator"
    /// Seconds between full repaints that recover from stray output (`wall`); 0 = never.
    public var fullRepaintInterval: Double = 60
    /// Longest timed shelve an operator may set from the screen (the site's `shelve_limit`).
    public var shelveLimitSeconds = ShelveDuration.maxSeconds
    /// The alarm journal's path, shown in the help overlay (the demo's is a temporary file).
    public var journalPath: String? = nil
    /// The header clock's time zone (the site's `time_zone`); nil: UTC.
    public var clockZone: ClockZone? = nil

    public init(readOnly: Bool = false, noColor: Bool = OperatorOptions.noColorFromEnvironment(), asciiGlyphs: Bool? = nil,
                themeName: String? = nil, themeSearchPath: [String]? = nil) {
        self.readOnly = readOnly; self.noColor = noColor; self.asciiGlyphs = asciiGlyphs
        self.themeName = themeName
        if let p = themeSearchPath { self.themeSearchPath = p }
    }

    /// `$GRIDTOP_THEMES`, the repository's `themes/` next to the executable, `$XDG_CONFIG_HOME/gridtop/themes`.
    public static func defaultThemeSearchPath() -> [String] {
        var env: [String: String] = [:]
        for k in ["GRIDTOP_THEMES", "XDG_CONFIG_HOME", "HOME"] { if let v = Environment.get(k) { env[k] = v } }
        return ThemeLoader.defaultSearchPath(environment: env, executablePath: Environment.executablePath())
    }

    /// https://no-color.org: set and non-empty disables colour.
    public static func noColorFromEnvironment() -> Bool {
        guard let v = Environment.get("NO_COLOR") else { return false }
        return !v.isEmpty
    }
}

enum Environment {
    static func get(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }

    /// The running executable's path (Linux: /proc/self/exe).
    static func executablePath() -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
