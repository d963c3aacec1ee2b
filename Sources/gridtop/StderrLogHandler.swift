import Foundation
import LedgerClient
import Logging
import Synchronization

/// Log lines to standard error (the headless commands), repeats rate-limited (`RepeatFilter`):
/// one line and a count per kind of message every 10 s.
struct StderrLogHandler: LogHandler {
    static let filter = Mutex(RepeatFilter(window: 10))

    let label: String
    var logLevel: Logger.Level = .warning
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let meta = all.isEmpty ? "" : " " + all.map { "\($0)=\($1)" }.sorted().joined(separator: " ")
        let line = "\(ISO8601DateFormatter().string(from: Date())) \(event.level) \(label): \(event.message)\(meta)"
        let key = "\(event.level) \(label): \(event.message)"
        let now = Date().timeIntervalSince1970
        let lines = Self.filter.withLock { $0.admit(key, line: line, now: now) }
        Self.write(lines)
    }

    static func write(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        FileHandle.standardError.write(Data(lines.map { $0 + "\n" }.joined().utf8))
    }

    /// The counts still open (call before exit).
    static func flush() { write(filter.withLock { $0.expire(now: .infinity) }) }

    /// Sends every logger in the process to standard error at `level` and above.
    static func bootstrap(level: Logger.Level = .warning) {
        LoggingSystem.bootstrap { label in
            var h = StderrLogHandler(label: label)
            h.logLevel = level
            return h
        }
        atexit { StderrLogHandler.flush() }
    }
}
