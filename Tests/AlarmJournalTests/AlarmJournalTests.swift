import Alerts
import ChainCore
import Foundation
import GridCore
import XCTest
@testable import AlarmJournal

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-journal-\(UUID().uuidString)").path
    return dir + "/" + name
}

final class AlarmJournalTests: XCTestCase {
    let tx = AssetID.asset(code: "TX-1")

    func testSchemaPragmasAndAppendOnlyTriggers() throws {
        let j = try AlarmJournal(path: temporaryPath("chain-7.sqlite"), chainId: 7)
        XCTAssertEqual(try j.pragma("journal_mode"), "wal")
        XCTAssertEqual(try j.pragma("synchronous"), "2", "FULL")
        XCTAssertEqual(try j.appliedMigrations(), AlarmJournal.migrationIdentifiers)
        var book = AlarmBook()
        book.raise(AlarmCondition(kind: .suspectedTheft, asset: tx, assetName: "TX-1", stage: .transformer, message: "m"), now: 1)
        try j.append(book.takeTransitions())
        XCTAssertThrowsError(try j.unsafeExecute("UPDATE journal SET operator = 'mallory'"))
        XCTAssertThrowsError(try j.unsafeExecute("DELETE FROM journal"))
        XCTAssertEqual(try j.count(), 1)
        XCTAssertEqual(try j.integrityCheck(), "ok")
        XCTAssertThrowsError(try AlarmJournal(path: j.path, chainId: 8)) {
            XCTAssertEqual($0 as? JournalError, .chainMismatch(expected: 8, found: 7))
        }
        XCTAssertEqual(try AlarmJournal(path: j.path).chainId, 7)
    }

    func testLocationFollowsXDG() {
        XCTAssertEqual(JournalLocation.path(chainId: 5, environment: ["XDG_DATA_HOME": "/d", "HOME": "/h"]), "/d/gridtop/chain-5.sqlite")
        XCTAssertEqual(JournalLocation.path(chainId: 5, environment: ["HOME": "/h"]), "/h/.local/share/gridtop/chain-5.sqlite")
        XCTAssertEqual(JournalLocation.path(chainId: 5, environment: ["XDG_DATA_HOME": "rel", "HOME": "/h"]), "/h/.local/share/gridtop/chain-5.sqlite")
        XCTAssertEqual(JournalLocation.path(chainId: 5, override: "/x.db", environment: [:]), "/x.db")
    }

    func testRestartShowsTheSameAlarmsAcknowledgementsAndShelves() throws {
        let path = temporaryPath("chain-1.sqlite")
        var m = Monitor()
        let j = try AlarmJournal(path: path, chainId: 1)
        var book = AlarmBook()
        let origin = EventOrigin(blockNumber: 412, blockHash: Bytes32(uint: 1), transactionHash: Bytes32(uint: 2), logIndex: 3)
        book.raise(AlarmCondition(kind: .suspectedTheft, asset: tx, assetName: "TX-1", stage: .transformer, interval: 900, message: "m", origin: origin), now: 10)
        book.raise(AlarmCondition(kind: .staleMeter, asset: AssetID.asset(code: "M"), assetName: "M", stage: .consumer, message: "s"), now: 11)
        book.raise(AlarmCondition(kind: .nodeDown, asset: .zero, assetName: "n1", stage: nil, message: "down"), now: 12)
        try j.append(book.takeTransitions())
        try j.perform(.acknowledge(comment: "crew sent"), on: 1, by: "ana", now: 20)
        try j.perform(.shelve(.timed, until: 5000, reason: "meter swap"), on: 2, by: "ana", now: 21)
        try j.perform(.removeFromService(reason: "maintenance"), on: 3, by: "bo", now: 22)
        XCTAssertThrowsError(try j.perform(.acknowledge(comment: nil), on: 1, by: "ana", now: 23)) {
            XCTAssertEqual($0 as? JournalError, .action(.alreadyAcknowledged(1)))
        }
        let (restored, last) = try AlarmJournal(path: path, chainId: 1).restore()
        XCTAssertEqual(last, 6)
        m.restore(restored)
        let snap = m.snapshot(now: 30)
        XCTAssertEqual(snap.alarms.map(\.id), [1])
        XCTAssertEqual(snap.alarms[0].acknowledgedBy, "ana")
        XCTAssertEqual(snap.alarms[0].acknowledgeComment, "crew sent")
        XCTAssertEqual(snap.alarms[0].origin, origin)
        XCTAssertEqual(snap.shelved.first?.shelving?.until, 5000)
        XCTAssertEqual(snap.outOfService.first?.outOfService?.reason, "maintenance")
        // The same alarm (kind, asset) keeps its id after the restart.
        let again = m.apply(.nodes([NodeStatus(name: "n1", endpoint: "x", connection: .connected, trust: .verified)]), now: 31)
        XCTAssertTrue(again.isEmpty)
        var b2 = restored
        XCTAssertNil(b2.raise(AlarmCondition(kind: .suspectedTheft, asset: tx, assetName: "TX-1", stage: .transformer, message: "m"), now: 40))
        XCTAssertEqual(b2.raise(AlarmCondition(kind: .conflictingReading, asset: tx, assetName: "TX-1", stage: .transformer, message: "m"), now: 40)?.alarm.id, 4)
        // Export filters by time, oldest first.
        XCTAssertEqual(try j.entries(since: 21).map(\.transition.event), [.shelved, .outOfService])
    }

    func testActionsFromAnotherProcessReachTheRunningMonitor() throws {
        let path = temporaryPath("chain-1.sqlite")
        let monitorJournal = try AlarmJournal(path: path, chainId: 1)
        let cli = try AlarmJournal(path: path, chainId: 1)
        var m = Monitor()
        var book = AlarmBook()
        book.raise(AlarmCondition(kind: .suspectedTheft, asset: tx, assetName: "TX-1", stage: .transformer, message: "m"), now: 1)
        m.restore(book)
        try monitorJournal.append(book.takeTransitions())
        let seen = try monitorJournal.lastSeq()
        try cli.perform(.shelve(.oneShot, until: nil, reason: "known"), on: 1, by: "ana", now: 2)
        let foreign = try monitorJournal.foreignEntries(after: seen)
        XCTAssertEqual(foreign.map(\.transition.event), [.shelved])
        m.replay(foreign.map(\.transition))
        XCTAssertTrue(m.snapshot(now: 3).alarms.isEmpty)
        XCTAssertEqual(m.snapshot(now: 3).shelved.count, 1)
    }
}

/// Kills a child that writes to the journal at random moments; every action it
/// reported done must be in the journal afterwards, and the file must be sound.
final class JournalCrashTests: XCTestCase {
    func testEveryReportedActionSurvivesSIGKILL() throws {
        let path = temporaryPath("chain-1.sqlite")
        let trials = Int(ProcessInfo.processInfo.environment["GRIDTOP_CRASH_TRIALS"] ?? "") ?? 50
        var rng = StressRandom(seed: 42)
        var reported = 0, killedMidStream = 0
        let started = Date()
        for trial in 0..<trials {
            // The child: this test bundle again, running only `JournalCrashChild` (a stream of journal writes).
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
            child.arguments = CommandLine.arguments.dropFirst().filter { $0.hasSuffix(".xctest") } + ["AlarmJournalTests.JournalCrashChild/testChild"]
            var env = ProcessInfo.processInfo.environment
            env["GRIDTOP_CRASH_CHILD_DB"] = path
            env["GRIDTOP_CRASH_CHILD_SEED"] = String(trial)
            child.environment = env
            let out = Pipe()
            child.standardOutput = out
            child.standardError = FileHandle.nullDevice
            let lines = LineCollector(out.fileHandleForReading)
            try child.run()
            // Kill at a random moment once the child is writing (after its first report).
            XCTAssertTrue(lines.wait(forPrefix: "done ", timeout: 20), "child never reported (trial \(trial)): \(lines.all)")
            usleep(UInt32.random(in: 0..<60_000, using: &rng))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            lines.finish()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal)
            let done = lines.all.filter { $0.hasPrefix("done ") }.map { $0.split(separator: " ") }
            reported += done.count
            if !done.isEmpty { killedMidStream += 1 }
            let j = try AlarmJournal(path: path, chainId: 1)
            XCTAssertEqual(try j.integrityCheck(), "ok", "trial \(trial)")
            let bySeq = Dictionary(uniqueKeysWithValues: try j.entries().map { ($0.seq, $0.transition) })
            for d in done {
                let t = bySeq[Int64(d[1])!]
                XCTAssertEqual(t?.alarm.id, Int(d[2]), "trial \(trial): reported \(d.joined(separator: " ")) is not in the journal")
                XCTAssertEqual(t?.event.rawValue, String(d[3]))
            }
            _ = try j.restore()  // every row still reads back
        }
        let j = try AlarmJournal(path: path, chainId: 1)
        print("crash test: \(trials) SIGKILLs, \(reported) reported actions all found, journal \(try j.count()) rows, \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        XCTAssertEqual(killedMidStream, trials)
        XCTAssertLessThan(Date().timeIntervalSince(started), 90)
    }
}

/// The child side of the crash test: only runs when started by it.
final class JournalCrashChild: XCTestCase {
    func testChild() throws {
        let env = ProcessInfo.processInfo.environment
        guard let path = env["GRIDTOP_CRASH_CHILD_DB"] else { return }
        try JournalStress.run(path: path, seed: UInt64(env["GRIDTOP_CRASH_CHILD_SEED"] ?? "") ?? 1) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }
}

/// Reads a pipe's lines on a background thread.
final class LineCollector: @unchecked Sendable {
    private let lock = NSCondition()
    private var buffer = Data()
    private var lines: [String] = []
    private var closed = false
    private let handle: FileHandle

    init(_ handle: FileHandle) {
        self.handle = handle
        Thread.detachNewThread { [self] in
            while true {
                let d = handle.availableData
                lock.lock()
                if d.isEmpty { closed = true; lock.broadcast(); lock.unlock(); return }
                buffer.append(d)
                while let nl = buffer.firstIndex(of: 10) {
                    lines.append(String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...nl)
                }
                lock.broadcast()
                lock.unlock()
            }
        }
    }

    func wait(forPrefix p: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while !lines.contains(where: { $0.hasPrefix(p) }) {
            if closed || !lock.wait(until: deadline) { return lines.contains { $0.hasPrefix(p) } }
        }
        return true
    }

    /// Waits for the writer side to close (the child is dead).
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        while !closed { _ = lock.wait(until: Date().addingTimeInterval(5)); if !closed { break } }
    }

    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

/// The `gridtop` executable next to this test bundle, when it has been built with `alarms` registered.
func gridtopExecutable() -> URL? { gridtopWithAlarms }

private let gridtopWithAlarms: URL? = {
    let url: URL
    if let p = ProcessInfo.processInfo.environment["GRIDTOP_BIN"] {
        url = URL(fileURLWithPath: p)
    } else {
        // The test runner is built next to the products (the gridtop target is a dependency).
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("gridtop")
        url = FileManager.default.isExecutableFile(atPath: beside.path)
            ? beside : Bundle(for: JournalCrashTests.self).bundleURL.deletingLastPathComponent().appendingPathComponent("gridtop")
    }
    guard FileManager.default.isExecutableFile(atPath: url.path) else { return nil }
    let p = Process()
    p.executableURL = url
    p.arguments = ["alarms", "list", "--help"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    p.waitUntilExit()
    return p.terminationStatus == 0 ? url : nil
}()

/// `gridtop alarms …` end to end on a journal (the executable is a dependency of this test target).
final class AlarmsCommandTests: XCTestCase {
    func run(_ bin: URL, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = bin
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func testEveryOutputEscapesC1AndBidiControls() throws {
        let bin = try XCTUnwrap(gridtopExecutable(), "the gridtop executable (a dependency of these tests) was not found")
        let path = temporaryPath("chain-1.sqlite")
        let j = try AlarmJournal(path: path, chainId: 1)
        var book = AlarmBook()
        let hostile = "TX\u{9b}2J\u{202e}nrut\u{1b}]0;x\u{7}"
        book.raise(AlarmCondition(kind: .staleMeter, asset: AssetID.asset(code: "TX"), assetName: hostile,
                                  stage: .transformer, interval: 900, message: "stale: \(hostile)"), now: Date().timeIntervalSince1970)
        try j.append(book.takeTransitions())
        for args in [["alarms", "list"], ["alarms", "list", "--json"], ["alarms", "export", "--csv"], ["alarms", "export", "--json"],
                     ["alarms", "kpi"], ["alarms", "comment", "1", "seen \u{202e}", "--operator", "ana\u{9b}"]] {
            let r = try run(bin, args + ["--db", path])
            XCTAssertEqual(r.status, 0, "\(args): \(r.err)")
            let raw = (r.out + r.err).unicodeScalars.filter { SafeText.isDangerous($0) && $0 != "\n" }
            XCTAssertEqual(raw.map { String($0.value, radix: 16) }, [], "\(args) printed raw controls: \(r.out)")
        }
        let json = try run(bin, ["alarms", "export", "--json", "--db", path]).out.split(separator: "\n")
        XCTAssertEqual(try AlarmJSON.transition(fromLine: String(json[0])).alarm.assetName, hostile, "JSON keeps the text")
    }

    func testListAckShelveUnshelveExportAndKPI() throws {
        let bin = try XCTUnwrap(gridtopExecutable(), "the gridtop executable (a dependency of these tests) was not found")
        let path = temporaryPath("chain-1.sqlite")
        let j = try AlarmJournal(path: path, chainId: 1)
        var book = AlarmBook()
        book.raise(AlarmCondition(kind: .suspectedTheft, asset: AssetID.asset(code: "TX"), assetName: "=HYPERLINK(\"x\"),\u{1b}[2J",
                                  stage: .transformer, interval: 900, message: "m"), now: Date().timeIntervalSince1970)
        try j.append(book.takeTransitions())
        let db = ["--db", path]
        var r = try run(bin, ["alarms", "list", "--json"] + db)
        XCTAssertEqual(r.status, 0, r.err)
        let listed = try AlarmJSON.transition(fromLine: r.out.split(separator: "\n")[0].description)
        XCTAssertEqual(listed.alarm.id, 1)
        XCTAssertFalse(r.out.contains("\u{1b}"))
        r = try run(bin, ["alarms", "ack", "1", "--comment", "crew sent", "--operator", "ana"] + db)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("acknowledged alarm 1"), r.out)
        XCTAssertEqual(try j.entries().last?.transition.alarm.acknowledgedBy, "ana", "durable when printed")
        r = try run(bin, ["alarms", "ack", "1", "--operator", "ana"] + db)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("already acknowledged"), r.err)
        r = try run(bin, ["alarms", "shelve", "1", "--for", "2h", "--operator", "ana"] + db)
        XCTAssertNotEqual(r.status, 0, "a reason is required")
        // One shelve limit for the TUI and here: the config's shelve_limit, default 12 h.
        let empty = temporaryPath("empty.toml"), two = temporaryPath("two.toml")
        for (f, text) in [(empty, ""), (two, "shelve_limit = \"2h\"\n")] {
            try FileManager.default.createDirectory(atPath: (f as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: f, atomically: true, encoding: .utf8)
        }
        r = try run(bin, ["alarms", "shelve", "1", "--for", "20h", "--reason", "crew on site", "--operator", "ana", "--config", empty] + db)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertEqual(r.err, "Error: shelve refused: 20h is over the shelve limit; give 12h or less\n")
        r = try run(bin, ["alarms", "shelve", "1", "--for", "3h", "--reason", "crew on site", "--operator", "ana", "--config", two] + db)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("give 2h or less"), r.err)
        XCTAssertEqual(try j.entries().map(\.transition.event), [.raised, .acknowledged], "nothing journalled when refused")
        r = try run(bin, ["alarms", "shelve", "1", "--for", "2h", "--reason", "crew on site", "--operator", "ana", "--config", two] + db)
        XCTAssertEqual(r.status, 0, r.err)
        let shelf = try j.entries().last!.transition
        XCTAssertEqual(shelf.event, .shelved)
        XCTAssertEqual(shelf.alarm.shelving!.until! - shelf.at, 7200, accuracy: 1)
        r = try run(bin, ["alarms", "unshelve", "1", "--operator", "bo"] + db)
        XCTAssertEqual(r.status, 0, r.err)
        r = try run(bin, ["alarms", "shelve", "1", "--one-shot", "--reason", "known", "--operator", "bo"] + db)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try j.entries().map(\.transition.event), [.raised, .acknowledged, .shelved, .unshelved, .shelved])
        r = try run(bin, ["alarms", "export", "--csv", "--since", "1h"] + db)
        XCTAssertEqual(r.status, 0, r.err)
        let rows = r.out.split(separator: "\n")
        XCTAssertEqual(rows.count, 6)
        XCTAssertTrue(rows[0].hasPrefix("seq,ts,event,id,kind"))
        XCTAssertTrue(rows[1].contains("\"'=HYPERLINK(\"\"x\"\"),"), "formula neutralised and quoted: \(rows[1])")
        r = try run(bin, ["alarms", "export", "--json"] + db)
        XCTAssertEqual(try r.out.split(separator: "\n").map { try AlarmJSON.transition(fromLine: String($0)) }, try j.entries().map(\.transition))
        r = try run(bin, ["alarms", "kpi", "--json"] + db)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try JSON.parse(r.out.trimmingCharacters(in: .whitespacesAndNewlines))["shelved"]?.intValue, 1)
    }
}

/// A journal that cannot be used says so in one line: which file, what is wrong, what to do.
final class JournalProblemTests: XCTestCase {
    func testAMissingFolderIsAnErrorAndIsNotCreated() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-jp-\(UUID().uuidString)")
        let path = dir.appendingPathComponent("sub/j.sqlite").path
        XCTAssertThrowsError(try AlarmJournal(path: path, chainId: 1, createFolders: false)) { e in
            XCTAssertEqual("\(e)", "alarm journal \(path): the folder \(dir.path)/sub does not exist; create it or give another --db")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path), "the folder was created silently")
        // The XDG default location does make its folders.
        _ = try AlarmJournal(path: path, chainId: 1, createFolders: true)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        try? FileManager.default.removeItem(at: dir)
    }

    func testUnwritablePlacesAndAFullDiskInPlainWords() {
        XCTAssertThrowsError(try AlarmJournal(path: "/proc/gridtop-journal.sqlite", chainId: 1, createFolders: false)) { e in
            let t = "\(e)"
            XCTAssertTrue(t.hasPrefix("alarm journal /proc/gridtop-journal.sqlite "), t)
            XCTAssertTrue(t.contains("cannot") && t.contains("--db"), t)
            XCTAssertFalse(t.contains("\n"), t)
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-jp-file-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: file, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: file) }
        XCTAssertThrowsError(try AlarmJournal(path: file + "/j.sqlite", createFolders: false)) { e in
            XCTAssertTrue("\(e)".contains("is a file, not a folder"), "\(e)")
        }
        let full = JournalProblem(path: "/data/j.sqlite", kind: .diskFull)
        XCTAssertEqual(full.description, "alarm journal /data/j.sqlite: the disk is full; free space on it (transitions are not durable until then)")
    }
}
