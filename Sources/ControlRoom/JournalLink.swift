import AlarmJournal
import Alerts
import Foundation

/// The link between the control room and the chain's alarm journal.
///
/// Order of work, so that nothing is shown or streamed before it is durable:
/// 1. `monitor.apply` / `tick` produce transitions, and `record` appends them in one
///    fsync'ed SQLite transaction; an operator action goes through `AlarmJournal.perform`
///    (read the alarm's history, check, append: one IMMEDIATE transaction);
/// 2. only then are they sent to the sink (JSON stream) and shown.
/// Rows written by other processes (`gridtop alarms ack …`, another console) come in as
/// `ControlRoomInput.journalRows`; `lastForeignSeq` makes sure each is applied once.
struct JournalLink: Sendable {
    let journal: AlarmJournal
    /// The newest row from another process applied to the monitor (our own rows are skipped by session).
    var lastForeignSeq: Int64

    /// Opens the chain's journal (`dbPath` overrides the XDG location) and rebuilds the alarm set from it.
    static func open(chainId: UInt64, dbPath: String?, policies: [AlarmKind: AlarmPolicy]) throws -> (JournalLink, AlarmBook) {
        // An explicit path (--db, the config's journal) must be in a folder that exists; the XDG default is made.
        let journal = try AlarmJournal(path: JournalLocation.path(chainId: chainId, override: dbPath), chainId: chainId,
                                       createFolders: dbPath == nil)
        let (book, last) = try journal.restore(policies: policies)
        return (JournalLink(journal: journal, lastForeignSeq: last), book)
    }

    /// Makes transitions durable (returns after fsync). Call before sinking or showing them.
    func record(_ transitions: [AlarmTransition]) throws {
        try journal.append(transitions)
    }

    /// Rows of other processes not applied yet, oldest first (only those before `limit` when given).
    func foreignRows(before limit: Int64? = nil) throws -> [JournalEntry] {
        let rows = try journal.foreignEntries(after: lastForeignSeq)
        guard let limit else { return rows }
        return Array(rows.prefix { $0.seq < limit })
    }

    /// The rows of `rows` not applied yet, and the link with its cursor moved past them.
    mutating func takeNew(_ rows: [JournalEntry]) -> [JournalEntry] {
        let fresh = rows.filter { $0.seq > lastForeignSeq && $0.session != journal.session }.sorted { $0.seq < $1.seq }
        if let last = fresh.last { lastForeignSeq = last.seq }
        return fresh
    }
}
