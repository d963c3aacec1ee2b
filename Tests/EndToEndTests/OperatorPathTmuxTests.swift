import ChainCore
import Foundation
import XCTest

/// The operator's main paths through an incident, on `gridtop demo` in a real
/// terminal (tmux), keyboard only, checked on the screen and in the alarm journal.
final class OperatorPathTmuxTests: XCTestCase {
    static let operatorName = "e2e-operator"

    struct Demo {
        let session: TmuxSession
        let db: String
        let transformerName: String
        let dir: URL
    }

    /// `gridtop demo` with fast simulated time (theft after 15 s) and its own journal file.
    func startDemo(width: Int, height: Int, extra: [String] = [], rawOutput: String? = nil) throws -> Demo {
        let bin = try gridtopBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-op-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let truth = dir.appendingPathComponent("truth.json").path
        let db = dir.appendingPathComponent("journal.sqlite").path
        let session = try TmuxSession(
            command: [bin.path, "demo", "--seed", "3", "--block-time", "500ms", "--interval-every", "1s",
                      "--theft-after", "15s", "--truth", truth, "--db", db] + extra,
            width: width, height: height,
            environment: ["TERM": "tmux-256color", "GRIDTOP_OPERATOR": OperatorPathTmuxTests.operatorName],
            rawOutput: rawOutput)
        let first = session.waitFor(timeout: 30) { $0.contains("head #") }
        XCTAssertTrue(first.ok, "no header with a head block:\n\(first.screen)")
        let t = try JSON.parse(String(contentsOfFile: truth, encoding: .utf8))
        let name = t["incidents"]?[0]?["transformerName"]?.stringValue ?? "?"
        return Demo(session: session, db: db, transformerName: name, dir: dir)
    }

    func finish(_ demo: Demo) {
        demo.session.send("q")
        XCTAssertEqual(demo.session.exitStatus(timeout: 10), 0, "gridtop did not exit cleanly on q")
        demo.session.kill()
        try? FileManager.default.removeItem(at: demo.dir)
    }

    static func lines(_ screen: String) -> [String] { screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

    /// The first screen line holding `text`, other than the title with the filter.
    static func line(_ screen: String, containing text: String) -> String? {
        lines(screen).first { $0.contains(text) && !$0.contains("filter: ") }
    }

    /// Opens the Alarms view filtered to the theft alarm, which is then the selected row.
    func showTheftAlarm(_ demo: Demo) throws -> String {
        let s = demo.session
        let raised = s.waitFor(timeout: 75) { $0.contains("theft") }
        XCTAssertTrue(raised.ok, "no theft alarm on screen:\n\(raised.screen)")
        s.send("4")
        XCTAssertTrue(s.waitFor(timeout: 10) { $0.contains("Alarms ") && $0.contains("sort: priority") }.ok, "no Alarms view")
        s.send("/")
        s.type("theft")
        s.send("Enter")
        let filtered = s.waitFor(timeout: 10) { screen in
            screen.contains("filter: theft") && OperatorPathTmuxTests.line(screen, containing: "theft")?.hasPrefix("▶") == true
        }
        XCTAssertTrue(filtered.ok, "theft alarm not selected in the filtered Alarms view:\n\(filtered.screen)")
        return filtered.screen
    }

    /// The journal as `gridtop alarms list --db FILE --json` prints it.
    func journalAlarms(_ db: String) throws -> [JSON] {
        let list = ChildProcess(try gridtopBinary(), ["alarms", "list", "--db", db, "--json"])
        try list.start()
        XCTAssertEqual(list.waitForExit(timeout: 30), 0, "alarms list failed: \(list.standardError)")
        return try list.outputLines.filter { !$0.isEmpty }.map { try JSON.parse($0) }
    }

    // MARK: acknowledge

    func testAcknowledgeTheTheftAlarmAndFindItInTheJournal() throws {
        let demo = try startDemo(width: 80, height: 24)
        defer { finish(demo) }
        let before = try showTheftAlarm(demo)
        let row = try XCTUnwrap(Self.line(before, containing: "theft"))
        XCTAssertTrue(row.contains("UNACK"), "theft alarm not unacknowledged before: \(row)")
        // The name has the room it needs at 80 columns (no "Transformer T…").
        XCTAssertTrue(row.contains(demo.transformerName), "row \(row) does not name \(demo.transformerName)")

        // A high-priority alarm: `a` asks, naming it; `y` sends.
        demo.session.send("a")
        let asked = demo.session.waitFor(timeout: 10) { $0.contains("CONFIRM") && $0.contains("? ") && $0.contains("suspected theft") }
        XCTAssertTrue(asked.ok, "no confirmation naming the theft alarm:\n\(asked.screen)")
        XCTAssertNotNil(Self.lines(asked.screen).first { $0.contains("ack #") && $0.contains("suspected theft") }, asked.screen)
        demo.session.send("y")
        let acked = demo.session.waitFor(timeout: 10) { screen in
            guard let r = OperatorPathTmuxTests.line(screen, containing: "theft"), r.hasPrefix("▶") else { return false }
            return r.contains("ack") && !r.contains("UNACK")
        }
        XCTAssertTrue(acked.ok, "the row does not show the acknowledgement:\n\(acked.screen)")

        // Durable before shown: the journal already has it while the dashboard runs.
        let alarms = try journalAlarms(demo.db)
        let theft = try XCTUnwrap(alarms.first { $0["kind"]?.stringValue == "suspected-theft" }, "no theft alarm in the journal: \(alarms.map { $0.serialized() })")
        XCTAssertEqual(theft["acknowledged"]?.boolValue, true, theft.serialized())
        XCTAssertEqual(theft["state"]?.stringValue, "acknowledged", theft.serialized())
        XCTAssertEqual(theft["acknowledgedBy"]?.stringValue, Self.operatorName, theft.serialized())
        // (The latest transition may be a later one, e.g. an inhibition ending; the acknowledgement stays.)
        XCTAssertNotNil(theft["acknowledgedAt"]?.stringValue, theft.serialized())
        XCTAssertTrue(demo.transformerName.hasPrefix(theft["assetName"]?.stringValue ?? "-"), theft.serialized())
    }

    // MARK: the cursor stays on the alarm the operator chose

    /// Stale-meter alarms keep arriving (one meter falls silent every few seconds), each sorting
    /// above the older ones; the cursor sits on the oldest; `a` must acknowledge that one.
    func testAcknowledgeTheSelectedAlarmWhileNewOnesArrive() throws {
        let meters = ["C-00042", "C-00100", "C-00150", "C-00200", "C-00250", "C-00300", "C-00350", "C-00400"]
        let incidents = meters.enumerated().flatMap { i, m in ["--incident", "silent:target=\(m)@\(2 + 5 * i)s"] }
        let demo = try startDemo(width: 160, height: 48, extra: incidents)
        defer { finish(demo) }
        let s = demo.session
        s.send("4")
        let first = s.waitFor(timeout: 60) { $0.contains("Alarms ") && $0.contains(meters[0]) }
        XCTAssertTrue(first.ok, "no stale-meter alarm for \(meters[0]):\n\(first.screen)")
        s.send("End")  // the oldest low-priority alarm is the last row
        let chosen = s.waitFor(timeout: 10) { Self.lines($0).first { $0.hasPrefix("▶") }?.contains(meters[0]) == true }
        XCTAssertTrue(chosen.ok, "End did not select \(meters[0]):\n\(chosen.screen)")

        // Wait for at least three more alarms to arrive above it.
        func rowsWithStale(_ screen: String) -> Int { Self.lines(screen).filter { $0.contains("stale meter") && $0.contains("C-00") }.count }
        let more = s.waitFor(timeout: 90) { rowsWithStale($0) >= 4 }
        XCTAssertTrue(more.ok, "new alarms did not arrive:\n\(more.screen)")
        let selected = try XCTUnwrap(Self.lines(more.screen).first { $0.hasPrefix("▶") }, more.screen)
        XCTAssertTrue(selected.contains(meters[0]), "the cursor left \(meters[0]) as new alarms arrived: \(selected)\n\(more.screen)")
        let stale = Self.lines(more.screen).filter { $0.contains("stale meter") }
        XCTAssertNotEqual(stale.first.map { $0.contains(meters[0]) }, true, "new alarms should sort above the chosen one:\n\(more.screen)")

        // a: sent at once, or (the list just changed) a question naming the chosen alarm, answered y.
        s.send("a")
        let answer = s.waitFor(timeout: 10) { $0.contains("CONFIRM") || $0.contains("acknowledge sent") }
        XCTAssertTrue(answer.ok, "a did nothing visible:\n\(answer.screen)")
        if answer.screen.contains("CONFIRM") {
            let q = Self.lines(answer.screen).first { $0.contains("ack #") } ?? ""
            XCTAssertTrue(q.contains("stale meter") && q.contains(meters[0]), "the question does not name \(meters[0]): \(q)")
            s.send("y")
        }
        let sent = s.waitFor(timeout: 10) { $0.contains("acknowledge sent") }
        XCTAssertTrue(sent.ok, sent.screen)
        let line = Self.lines(sent.screen).last { $0.contains("acknowledge sent") } ?? ""
        XCTAssertTrue(line.contains(meters[0]), "acknowledged the wrong alarm: \(line)")

        // The journal: the chosen meter's alarm is acknowledged, by this operator, and no other one is.
        var alarms: [JSON] = []
        let deadline = Date().addingTimeInterval(10)
        repeat {
            alarms = try journalAlarms(demo.db)
            if alarms.contains(where: { $0["acknowledged"]?.boolValue == true }) { break }
            Thread.sleep(forTimeInterval: 0.25)
        } while Date() < deadline
        let acked = alarms.filter { $0["acknowledged"]?.boolValue == true }
        XCTAssertEqual(acked.count, 1, "exactly one alarm acknowledged: \(acked.map { $0.serialized() })")
        let one = try XCTUnwrap(acked.first)
        XCTAssertEqual(one["kind"]?.stringValue, "stale-meter", one.serialized())
        XCTAssertTrue(one["assetName"]?.stringValue?.contains(meters[0]) == true, "acknowledged \(one.serialized()), not \(meters[0])")
        XCTAssertEqual(one["acknowledgedBy"]?.stringValue, Self.operatorName, one.serialized())
        XCTAssertGreaterThanOrEqual(alarms.filter { $0["kind"]?.stringValue == "stale-meter" }.count, 4, "the others were in the journal too")
    }

    // MARK: drill alarm → block → event → asset and back

    func testDrillFromTheAlarmToItsEvidenceAndBack() throws {
        let demo = try startDemo(width: 80, height: 24)
        defer { finish(demo) }
        _ = try showTheftAlarm(demo)
        let s = demo.session

        // e: the block that holds the raising reading, that event selected and marked ◆.
        s.send("e")
        let block = s.waitFor(timeout: 10) { $0.contains("Alarms › block #") && $0.contains("TRANSACTIONS AND GRID EVENTS") }
        XCTAssertTrue(block.ok, "e did not open the evidence block:\n\(block.screen)")
        let marked = try XCTUnwrap(Self.lines(block.screen).first { $0.hasPrefix("▶◆") }, "no selected, marked event:\n\(block.screen)")
        XCTAssertTrue(marked.contains("reading"), "the marked event is not a reading: \(marked)")
        XCTAssertTrue(marked.contains(String(demo.transformerName.prefix(16))), "marked event \(marked) is not on \(demo.transformerName)")
        let title = try XCTUnwrap(Self.lines(block.screen).first { $0.hasPrefix("Alarms › block #") })
        let crumbBlock = "Alarms › block #" + title.dropFirst("Alarms › block #".count).prefix { $0.isNumber }

        // Enter: the asset the event touches.
        s.send("Enter")
        let asset = s.waitFor(timeout: 10) { $0.contains("› asset ") && $0.contains("READINGS") }
        XCTAssertTrue(asset.ok, "Enter did not open the asset:\n\(asset.screen)")
        let crumbAsset = try XCTUnwrap(Self.lines(asset.screen).first { $0.contains("› asset ") })
        XCTAssertTrue(crumbAsset.contains("block #"), "breadcrumb lost the block: \(crumbAsset)")
        XCTAssertTrue(crumbAsset.contains("asset " + String(demo.transformerName.prefix(20))), "breadcrumb \(crumbAsset) vs \(demo.transformerName)")
        XCTAssertTrue(asset.screen.contains("transformer"), "asset view does not show the stage:\n\(asset.screen)")
        XCTAssertTrue(asset.screen.contains("in tree"), asset.screen)

        // Esc: back to the block; Esc: back to the alarm list.
        s.send("Escape")
        let back1 = s.waitFor(timeout: 10) { screen in
            !screen.contains("› asset ") && screen.contains("TRANSACTIONS AND GRID EVENTS")
        }
        XCTAssertTrue(back1.ok, "Esc did not return to the block:\n\(back1.screen)")
        XCTAssertNotNil(Self.lines(back1.screen).first { $0.hasPrefix(crumbBlock + " ") }, "not back at \(crumbBlock):\n\(back1.screen)")
        s.send("Escape")
        let back2 = s.waitFor(timeout: 10) { screen in
            let title = OperatorPathTmuxTests.lines(screen).dropFirst(2).first ?? ""
            return title.hasPrefix("Alarms ") && !title.contains("›") && screen.contains("filter: theft")
        }
        XCTAssertTrue(back2.ok, "Esc Esc did not return to the alarm list:\n\(back2.screen)")
        XCTAssertEqual(Self.line(back2.screen, containing: "theft")?.hasPrefix("▶"), true, "theft alarm no longer selected:\n\(back2.screen)")
    }

    // MARK: shelve with a reason

    func testShelveWithDurationAndReason() throws {
        let demo = try startDemo(width: 120, height: 40)
        defer { finish(demo) }
        _ = try showTheftAlarm(demo)
        let s = demo.session
        let reason = "crew on site, meter swap e2e"

        s.send("s")
        let prompt = s.waitFor(timeout: 10) { $0.contains("SHELVE") && $0.contains("duration") && $0.contains("reason") }
        XCTAssertTrue(prompt.ok, "s did not open the shelve prompt:\n\(prompt.screen)")
        s.type("30m")  // the prompt opens on the duration (operator guide)
        s.send("Tab")
        s.type(reason)
        let typed = s.waitFor(timeout: 10) { $0.contains("30m") && $0.contains(reason) }
        XCTAssertTrue(typed.ok, "typed duration and reason not shown:\n\(typed.screen)")
        s.send("Enter")

        // The list is empty: either only the filter hides other alarms, or there are none at all.
        let gone = s.waitFor(timeout: 10) { screen in
            (screen.contains("no alarm matches the filter") || screen.contains("no active or unacknowledged alarms"))
                && !screen.contains("SHELVE  ")
        }
        XCTAssertTrue(gone.ok, "the shelved alarm did not leave the list:\n\(gone.screen)")
        XCTAssertTrue(gone.screen.contains("shelved 1"), "KPI strip does not count it:\n\(gone.screen)")

        s.send("h")  // show shelved and inhibited
        let shelved = s.waitFor(timeout: 10) { screen in
            OperatorPathTmuxTests.line(screen, containing: "theft")?.contains("SHELVED") == true && screen.contains(reason)
        }
        XCTAssertTrue(shelved.ok, "the alarm is not listed as shelved with its reason:\n\(shelved.screen)")
        XCTAssertNotNil(Self.line(shelved.screen, containing: "by \(Self.operatorName): \(reason)"), shelved.screen)

        let alarms = try journalAlarms(demo.db)
        let theft = try XCTUnwrap(alarms.first { $0["kind"]?.stringValue == "suspected-theft" && $0["shelved"] != nil },
                                  "no shelved theft alarm in the journal: \(alarms.map { $0.serialized() })")
        // The shelf as journalled (the latest transition may be a later one, e.g. an inhibition ending).
        XCTAssertEqual(theft["shelved"]?["reason"]?.stringValue, reason, theft.serialized())
        XCTAssertEqual(theft["shelved"]?["by"]?.stringValue, Self.operatorName, theft.serialized())
        XCTAssertEqual(theft["shelved"]?["mode"]?.stringValue, "timed", theft.serialized())
        // 30 minutes from when it was shelved.
        let until = try XCTUnwrap(theft["shelved"]?["until"]?.stringValue)
        let at = try XCTUnwrap(theft["shelved"]?["at"]?.stringValue)
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        func date(_ s: String) -> Date? { f.date(from: s) ?? ISO8601DateFormatter().date(from: s) }
        let span = try XCTUnwrap(date(until)).timeIntervalSince(try XCTUnwrap(date(at)))
        XCTAssertEqual(span, 1800, accuracy: 2, "shelved for \(span) s, not 30 min: \(theft.serialized())")
    }

    // MARK: hostile names

    /// Byte sequences of the simulator's hostile names (GridTopology.applyHostileNames)
    /// that must never reach the terminal.
    static let forbidden: [(String, [UInt8])] = [
        ("OSC (any)", Array("\u{1B}]".utf8)),
        ("OSC title payload", Array("\u{1B}]0;owned\u{07}".utf8)),
        ("clear screen + home + OSC from the name", Array("\u{1B}[2J\u{1B}[H\u{1B}]".utf8)),
        ("SGR red from the name", Array("\u{1B}[31mRED".utf8)),
        ("DCS (any)", Array("\u{1B}P".utf8)),
        ("DCS payload", Array("\u{1B}P1$r0m".utf8)),
        ("string terminator from the name", Array("0m\u{1B}\\".utf8)),
        ("RLO U+202E", Array("\u{202E}".utf8)),
        ("PDF U+202C", Array("\u{202C}".utf8)),
        ("LRI U+2066", Array("\u{2066}".utf8)),
        ("PDI U+2069", Array("\u{2069}".utf8)),
        ("NUL after C0", Array("C0\u{00}".utf8)),
        ("backspaces + CR + DEL", Array("\u{08}\u{08}\u{0D}\u{7F}".utf8)),
        ("raw tab in a name", Array("tab\tnewline".utf8)),
        ("raw newline in a name", Array("newline\nzero".utf8)),
    ]

    func testHostileNamesNeverReachTheTerminal() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-raw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let raw = dir.appendingPathComponent("terminal.raw").path
        let demo = try startDemo(width: 100, height: 30, extra: ["--hostile-names"], rawOutput: raw)
        let s = demo.session
        var finished = false
        defer { if !finished { s.kill() } }
        var seen: [String] = []

        /// `:asset PREFIX`, then waits for the Asset view showing `expect`. Retried while
        /// the asset is not known yet (registrations are still arriving in the first blocks).
        func openAsset(_ prefix: String, expect: String) {
            var r = (ok: false, screen: "")
            let deadline = Date().addingTimeInterval(45)
            repeat {
                s.send(":")
                s.type("asset " + prefix)
                s.send("Enter")
                r = s.waitFor(timeout: 5) { screen in
                    screen.contains("no asset named") || screen.contains("› asset ") && screen.contains("READINGS") && screen.contains(expect)
                }
                if r.ok && !r.screen.contains("no asset named") { break }
                Thread.sleep(forTimeInterval: 1)
            } while Date() < deadline
            XCTAssertTrue(r.ok && !r.screen.contains("no asset named"), "no Asset view with \(expect.debugDescription) after :asset \(prefix):\n\(r.screen)")
            seen.append(r.screen)
        }

        // Placeholders are typed as they are shown (⍰ for bidi/C1, Control Pictures for C0).
        openAsset("Household ␛", expect: "␛[2J␛[H␛]0;owned␇")
        s.send("t")  // its place in the tree: the Grid view lists it with its siblings
        let tree = s.waitFor(timeout: 10) { $0.contains("residual") && $0.contains("▶") && $0.contains("  Household ␛[2J␛[H␛]0;owned␇") }
        XCTAssertTrue(tree.ok, "Grid view does not list the hostile consumer:\n\(tree.screen)")
        seen.append(tree.screen)
        openAsset("Prosumer ⍰", expect: "⍰gnissim retem⍰ ⍰bidi⍰")
        openAsset("Household C0", expect: "C0␀␈␈␍␡ C1⍰6n⍰⍰0;x⍰")
        openAsset("Feeder ␛", expect: "␛P1$r0m␛\\ tab␉newline␊zer")
        s.send("t")
        let feeders = s.waitFor(timeout: 10) { $0.contains("residual") && $0.contains("▶ ▸ Feeder ␛P1$r0m") }
        XCTAssertTrue(feeders.ok, "Grid view does not list the hostile feeder:\n\(feeders.screen)")
        seen.append(feeders.screen)
        openAsset("Transformer VERY", expect: "VERY-LONG-NAME-VERY")
        s.send("4")
        XCTAssertTrue(s.waitFor(timeout: 10) { $0.contains("sort: priority") }.ok)
        s.send("2")
        XCTAssertTrue(s.waitFor(timeout: 10) { $0.contains("roots,") }.ok)

        // The long name is cut by display width, with an ellipsis; no line is wider than the terminal.
        for screen in seen {
            for line in Self.lines(screen) { XCTAssertLessThanOrEqual(line.count, 100, "line wider than the terminal: \(line)") }
        }
        XCTAssertTrue(seen.last!.contains("VERY-LONG-NAME-") && seen.last!.contains("…"), seen.last!)

        finish(demo)
        finished = true
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw)))
        // Only frames that changed are written: a few kB per view is normal. Less means the capture failed.
        XCTAssertGreaterThan(bytes.count, 2_000, "too little terminal output captured")
        // The names did reach the screen, as visible placeholders.
        for shown in ["␛", "⍰", "owned", "gnissim", "VERY-LONG-NAME-"] {
            XCTAssertNotNil(Self.find(Array(shown.utf8), in: bytes), "\(shown) never written")
        }
        for (what, seq) in Self.forbidden {
            if let at = Self.find(seq, in: bytes) {
                let context = String(decoding: bytes[max(0, at - 40)..<min(bytes.count, at + 40)], as: UTF8.self)
                XCTFail("\(what) reached the terminal at byte \(at): \(context.debugDescription)")
            }
        }
        // No C1 control as UTF-8 (C2 80…C2 9F) anywhere.
        for i in bytes.indices.dropLast() where bytes[i] == 0xC2 && (0x80...0x9F).contains(bytes[i + 1]) {
            XCTFail("C1 control U+00\(String(bytes[i + 1], radix: 16, uppercase: true)) at byte \(i)")
            break
        }
        // Never more of the 9,000-character name than fits on a line.
        let run = Array(String(repeating: "VERY-LONG-NAME-", count: 8).utf8)
        XCTAssertNil(Self.find(run, in: bytes), "a long name was written past the screen width")
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count else { return nil }
        let first = needle[0]
        var i = 0
        while i <= hay.count - needle.count {
            if hay[i] == first && hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
