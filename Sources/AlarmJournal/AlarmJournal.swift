// AlarmJournal: the durable, append-only record of every alarm transition and operator action (SQLite via GRDB).
import Alerts
import ChainCore
import Foundation
import GRDB
import GridCore

/// One row of the journal.
public struct JournalEntry: Sendable, Equatable {
    /// Position in the journal (strictly increasing, never reused).
    public var seq: Int64
    /// Which process wrote it (a fresh id per opened journal).
    public var session: String
    /// Wall clock when it was written.
    public var recordedAt: Double
    public var transition: AlarmTransition
}

public enum JournalError: Error, CustomStringConvertible, Equatable {
    case chainMismatch(expected: UInt64, found: UInt64)
    case corrupt(String)
    case action(AlarmActionError)

    public var description: String {
        switch self {
        case .chainMismatch(let e, let f): return "this journal belongs to chain \(f), not \(e)"
        case .corrupt(let s): return "journal row cannot be read: \(s)"
        case .action(let e): return e.description
        }
    }
}

/// A journal that cannot be used, in plain words: one line naming the file and what to do.
public struct JournalProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case folderMissing, notAFolder, cannotOpen(String), diskFull, readOnly
    }
    public var path: String
    public var kind: Kind

    public init(path: String, kind: Kind) { self.path = path; self.kind = kind }

    init(path: String, _ error: any Error) {
        self.path = path
        if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_FULL: kind = .diskFull
            case .SQLITE_READONLY, .SQLITE_PERM: kind = .readOnly
            default: kind = .cannotOpen(e.message ?? "\(e.resultCode)")
            }
        } else if let e = error as? CocoaError {
            kind = e.code == .fileWriteOutOfSpace ? .diskFull : .cannotOpen(e.underlying ?? "cannot create its folder")
        } else {
            kind = .cannotOpen("\(error)")
        }
    }

    public var description: String {
        let dir = (path as NSString).deletingLastPathComponent
        switch kind {
        case .folderMissing:
            return "alarm journal \(path): the folder \(dir) does not exist; create it or give another --db"
        case .notAFolder:
            return "alarm journal \(path): \(dir) is a file, not a folder; give another --db"
        case .cannotOpen(let why):
            return "alarm journal \(path) cannot be opened or created (\(why)); check the path and its permissions, or give another --db"
        case .diskFull:
            return "alarm journal \(path): the disk is full; free space on it (transitions are not durable until then)"
        case .readOnly:
            return "alarm journal \(path) cannot be written (read-only or no permission); fix its permissions or give another --db"
        }
    }
}

private extension CocoaError {
    var underlying: String? {
        (userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) }
    }
}

/// Where a chain's journal lives: `$XDG_DATA_HOME/gridtop/chain-<id>.sqlite`
/// (default `~/.local/share/gridtop/chain-<id>.sqlite`); `--db PATH` overrides.
public enum JournalLocation {
    public static func path(chainId: UInt64, override: String? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let override, !override.isEmpty { return override }
        return directory(environment: environment) + "/chain-\(chainId).sqlite"
    }

    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        // The XDG spec: a relative XDG_DATA_HOME is invalid and must be ignored.
        if let x = environment["XDG_DATA_HOME"], x.hasPrefix("/") { return x + "/gridtop" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/share/gridtop"
    }

    /// The journals present in the data directory, by chain id.
    public static func existing(environment: [String: String] = ProcessInfo.processInfo.environment) -> [UInt64: String] {
        let dir = directory(environment: environment)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        var out: [UInt64: String] = [:]
        for n in names where n.hasPrefix("chain-") && n.hasSuffix(".sqlite") {
            if let id = UInt64(n.dropFirst(6).dropLast(7)) { out[id] = dir + "/" + n }
        }
        return out
    }
}

/// The alarm journal of one chain: SQLite in WAL mode with `synchronous = FULL`.
///
/// Durability: every `append` / `perform` is one SQLite transaction; when it returns,
/// the WAL frames of that transaction have been written and fsync'ed, so the
/// transition survives a crash of gridtop, a SIGKILL, an OS crash or a power cut
/// (assuming the disk honours fsync). Callers report an action done only after
/// the call returned.
///
/// Append-only: triggers abort every UPDATE or DELETE on `journal`. Several processes
/// may share one journal (the dashboard and `gridtop alarms …`): writes are serialized
/// by SQLite (busy timeout 5 s), and operator actions read the alarm's history and
/// append inside one IMMEDIATE transaction.
public final class AlarmJournal: Sendable {
    public let path: String
    public let session: String
    public let chainId: UInt64?
    private let db: DatabaseQueue

    /// The migrations, in order. Never edit a released one: add a new one.
    public static let migrationIdentifiers = ["v1-journal", "v2-indexes"]

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-journal") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                CREATE TABLE journal (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    at REAL NOT NULL,              -- when it happened (wall clock, unix seconds)
                    recorded_at REAL NOT NULL,     -- when it was written
                    session TEXT NOT NULL,         -- which process wrote it
                    event TEXT NOT NULL,           -- raised, cleared, acknowledged, shelved, ...
                    alarm_id INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    asset TEXT NOT NULL,
                    asset_name TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    priority TEXT NOT NULL,
                    operator TEXT,                 -- who (operator name, or 'system')
                    reason TEXT,                   -- why (comment, shelving / out-of-service reason)
                    active INTEGER NOT NULL,
                    acknowledged INTEGER NOT NULL,
                    shelved_until REAL,
                    suppressed_by INTEGER,
                    interval_start INTEGER,        -- the metering interval that caused it (chain time)
                    block_number INTEGER,          -- the evidence on chain
                    block_hash TEXT,
                    tx_hash TEXT,
                    log_index INTEGER,
                    message TEXT NOT NULL,
                    state TEXT NOT NULL            -- the transition as a docs/alerts-json.md v2 line
                );
                CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
                BEGIN SELECT RAISE(ABORT, 'the alarm journal is append-only: UPDATE refused'); END;
                CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
                BEGIN SELECT RAISE(ABORT, 'the alarm journal is append-only: DELETE refused'); END;
                """)
        }
        m.registerMigration("v2-indexes") { db in
            try db.execute(sql: """
                CREATE INDEX journal_alarm ON journal(alarm_id, seq);
                CREATE INDEX journal_at ON journal(at);
                """)
        }
        return m
    }

    /// Opens (creating the file and schema as needed) the journal at `path`. With `createFolders`
    /// (the default XDG location) missing folders are made; an explicit `--db` in a folder that
    /// does not exist is an error (`JournalProblem.folderMissing`), never created silently.
    /// With `chainId`, a journal written for another chain is refused. Errors are `JournalProblem`
    /// (one line in plain words) or `JournalError`.
    public init(path: String, chainId: UInt64? = nil, createFolders: Bool = true) throws {
        /// Anything but a chain mismatch or a problem already worded becomes a `JournalProblem`.
        func worded(_ error: any Error) -> any Error {
            if error is JournalError || error is JournalProblem { return error }
            return JournalProblem(path: path, error)
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty {
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: dir, isDirectory: &isDir)
            if exists, !isDir.boolValue { throw JournalProblem(path: path, kind: .notAFolder) }
            if !exists {
                guard createFolders else { throw JournalProblem(path: path, kind: .folderMissing) }
                do {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                            attributes: [.posixPermissions: 0o700])
                } catch {
                    throw worded(error)
                }
            }
        }
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.label = "gridtop.journal"
        // Not `config.journalMode = .wal`: GRDB then sets synchronous = NORMAL after this closure,
        // which in WAL mode may lose the last commits on power loss. We want every commit fsync'ed.
        config.prepareDatabase { db in
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            guard mode == "wal" else { throw DatabaseError(message: "could not switch the journal to WAL mode") }
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            db = try DatabaseQueue(path: path, configuration: config)
            try Self.migrator.migrate(db)
        } catch {
            throw worded(error)
        }
        self.path = path
        self.session = UUID().uuidString
        var chain = chainId
        try db.inTransaction(.immediate) { db in
            let stored = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'chainId'").flatMap(UInt64.init)
            if let stored, let chainId, stored != chainId { throw JournalError.chainMismatch(expected: chainId, found: stored) }
            if stored == nil, let chainId {
                try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('chainId', ?), ('created', ?)",
                               arguments: [String(chainId), AlarmJSON.iso8601(Date().timeIntervalSince1970)])
            }
            chain = stored ?? chainId
            return .commit
        }
        self.chainId = chain
    }

    // MARK: Writing

    /// Appends transitions in one durable transaction; returns their sequence numbers.
    @discardableResult
    public func append(_ transitions: [AlarmTransition], recordedAt: Double = Date().timeIntervalSince1970) throws -> [Int64] {
        guard !transitions.isEmpty else { return [] }
        var seqs: [Int64] = []
        do {
            try db.inTransaction(.immediate) { db in
                seqs = try transitions.map { try Self.insert($0, session: session, recordedAt: recordedAt, db: db) }
                return .commit
            }
        } catch let e as DatabaseError {
            throw JournalProblem(path: path, e)
        }
        return seqs
    }

    static func insert(_ t: AlarmTransition, session: String, recordedAt: Double, db: Database) throws -> Int64 {
        let a = t.alarm
        try db.execute(sql: """
            INSERT INTO journal (at, recorded_at, session, event, alarm_id, kind, asset, asset_name, stage, priority,
                operator, reason, active, acknowledged, shelved_until, suppressed_by, interval_start,
                block_number, block_hash, tx_hash, log_index, message, state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                t.at, recordedAt, session, t.event.rawValue, a.id, a.kind.rawValue, a.asset.hex, a.assetName, a.stageName,
                a.priority.name, t.by, t.reason, a.active, a.acknowledged, a.shelving?.until, a.suppressedBy,
                a.interval.map { Int64(bitPattern: $0) }, a.origin.map { Int64(bitPattern: $0.blockNumber) },
                a.origin?.blockHash.hex, a.origin?.transactionHash.hex, a.origin.map { Int64($0.logIndex) },
                a.message, AlarmJSON.line(t),
            ])
        return db.lastInsertedRowID
    }

    /// An operator action, atomically: reads the alarm's history, checks the action is allowed,
    /// appends its transition(s) and commits (fsync) before returning them.
    @discardableResult
    public func perform(_ action: OperatorAction, on id: Int, by who: String, now: Double = Date().timeIntervalSince1970) throws -> [JournalEntry] {
        var out: [JournalEntry] = []
        try db.inTransaction(.immediate) { db in
            let rows = try Row.fetchAll(db, sql: "SELECT seq, session, recorded_at, state FROM journal WHERE alarm_id = ? ORDER BY seq", arguments: [id])
            var book = AlarmBook(replaying: try rows.map { try Self.entry($0).transition })
            do {
                try book.perform(action, on: id, by: who, now: now)
            } catch let e as AlarmActionError {
                throw JournalError.action(e)
            }
            for t in book.takeTransitions() {
                let seq = try Self.insert(t, session: session, recordedAt: now, db: db)
                out.append(JournalEntry(seq: seq, session: session, recordedAt: now, transition: t))
            }
            return .commit
        }
        return out
    }

    // MARK: Reading

    static func entry(_ row: Row) throws -> JournalEntry {
        let state: String = row["state"]
        do {
            return JournalEntry(seq: row["seq"], session: row["session"], recordedAt: row["recorded_at"],
                                transition: try AlarmJSON.transition(fromLine: state))
        } catch {
            throw JournalError.corrupt("seq \(row["seq"] as Int64): \(error)")
        }
    }

    /// Entries after `seq`, oldest first; `since` filters on when they happened.
    public func entries(after seq: Int64 = 0, since: Double? = nil, limit: Int? = nil) throws -> [JournalEntry] {
        try db.read { db in
            var sql = "SELECT seq, session, recorded_at, state FROM journal WHERE seq > ?"
            var args: StatementArguments = [seq]
            if let since { sql += " AND at >= ?"; args += [since] }
            sql += " ORDER BY seq"
            if let limit { sql += " LIMIT ?"; args += [limit] }
            return try Row.fetchAll(db, sql: sql, arguments: args).map(Self.entry)
        }
    }

    /// Entries written by other processes after `seq` (operator actions from `gridtop alarms`).
    public func foreignEntries(after seq: Int64) throws -> [JournalEntry] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, session, recorded_at, state FROM journal WHERE seq > ? AND session <> ? ORDER BY seq",
                             arguments: [seq, session]).map(Self.entry)
        }
    }

    public func entries(alarm id: Int) throws -> [JournalEntry] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, session, recorded_at, state FROM journal WHERE alarm_id = ? ORDER BY seq",
                             arguments: [id]).map(Self.entry)
        }
    }

    public func lastSeq() throws -> Int64 {
        try db.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM journal") ?? 0 }
    }

    public func count() throws -> Int {
        try db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM journal") ?? 0 }
    }

    /// The alarm set as it was (alarms, acknowledgements, shelves, out of service, suppression,
    /// KPI history), rebuilt by replaying the whole journal, and the last sequence number read.
    public func restore(policies: [AlarmKind: AlarmPolicy] = AlarmPolicy.defaults) throws -> (book: AlarmBook, lastSeq: Int64) {
        try db.read { db in
            var book = AlarmBook(policies: policies)
            var last: Int64 = 0
            let cursor = try Row.fetchCursor(db, sql: "SELECT seq, session, recorded_at, state FROM journal ORDER BY seq")
            while let row = try cursor.next() {
                let e = try Self.entry(row)
                book.replay(e.transition)
                last = e.seq
            }
            return (book, last)
        }
    }

    // MARK: Checks

    /// `PRAGMA integrity_check`: `ok` when the file is sound.
    public func integrityCheck() throws -> String {
        try db.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }

    public func pragma(_ name: String) throws -> String? {
        try db.read { db in try String.fetchOne(db, sql: "PRAGMA \(name)") }
    }

    public func appliedMigrations() throws -> [String] {
        try db.read { db in try Self.migrator.appliedIdentifiers(db).sorted() }
    }

    /// Runs raw SQL (tests: proving the triggers refuse UPDATE and DELETE).
    public func unsafeExecute(_ sql: String) throws {
        try db.write { db in try db.execute(sql: sql) }
    }
}
