import AlarmJournal
import Alerts
import Foundation

/// The link between the monitor and the chain's alarm journal (owned by `MonitorService`).
///
/// Order of work, so that nothing is shown or streamed before it is durable:
/// 1. `monitor.apply` / `tick` / `perform` produce transitions;
/// 2. `record` appends them in one fsync'ed SQLite transaction;
/// 3. only then are they sent to the sink (JSON stream) and the snapshot is published.
/// Actions written by another process (`gridtop alarms ack …`) come in through `foreignTransitions()`.
struct JournalLink: Sendable {
    let journal: AlarmJournal
    /// The newest row read from other processes (our own rows are skipped by session).
    private(set) var lastForeignSeq: Int64

    /// Opens the chain's journal (`--db` overrides the XDG location) and rebuilds the alarm set from it.
    static func open(chainId: UInt64, dbPath: String?, policies: [AlarmKind: AlarmPolicy]) throws -> (JournalLink, AlarmBook) {
        // An explicit --db (or the config's journal) must be in a folder that exists; the XDG default is made.
        let journal = try AlarmJournal(path: JournalLocation.path(chainId: chainId, override: dbPath), chainId: chainId,
                                       createFolders: dbPath == nil)
        let (book, last) = try journal.restore(policies: policies)
        return (JournalLink(journal: journal, lastForeignSeq: last), book)
    }

    /// Checks before anything starts that an explicit journal path can be opened or created
    /// (its folder must exist): a journal that cannot be written is a one-line error at start,
    /// not a warning an hour later.
    static func preflight(dbPath: String?) throws {
        guard let dbPath else { return }
        do {
            _ = try AlarmJournal(path: dbPath, chainId: nil, createFolders: false)
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// Makes transitions durable (returns after fsync). Call before sinking or publishing them.
    func record(_ transitions: [AlarmTransition]) throws {
        try journal.append(transitions)
    }

    /// Operator actions journalled by other processes since the last call, oldest first.
    mutating func foreignTransitions() throws -> [AlarmTransition] {
        let entries = try journal.foreignEntries(after: lastForeignSeq)
        if let last = entries.last { lastForeignSeq = last.seq }
        return entries.map(\.transition)
    }
}
