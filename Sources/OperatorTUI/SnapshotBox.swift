import Alerts
import Synchronization

/// A thread-safe latest-value mailbox between the ledger pipeline (which
/// publishes from Swift concurrency) and the UI thread (which polls).
/// Every publish bumps the version, so the UI redraws only on change.
public final class SnapshotBox: Sendable {
    private let state = Mutex<(version: UInt64, snapshot: MonitorSnapshot?)>((0, nil))

    public init() {}

    public func publish(_ snapshot: MonitorSnapshot) {
        state.withLock { $0 = ($0.version &+ 1, snapshot) }
    }

    /// The newest snapshot and its version, or nil before the first publish.
    public func latest() -> (version: UInt64, snapshot: MonitorSnapshot)? {
        state.withLock { s in s.snapshot.map { (s.version, $0) } }
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

    public init(readOnly: Bool = false, noColor: Bool = OperatorOptions.noColorFromEnvironment(), asciiGlyphs: Bool? = nil) {
        self.readOnly = readOnly; self.noColor = noColor; self.asciiGlyphs = asciiGlyphs
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
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
