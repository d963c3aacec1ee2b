import XCTest
import Alerts
import ChainCore
import GridCore
@testable import OperatorTUI

final class NavigationTests: XCTestCase {
    /// Presses the keys; returns the effects the reducer asked for, in order.
    @discardableResult
    func keys(_ s: inout AppState, _ keys: [Key]) -> [Effect] {
        var effects: [Effect] = []
        for k in keys {
            if let a = AppReducer.action(for: k, in: s) { effects += AppReducer.reduce(&s, a) }
        }
        return effects
    }
    @discardableResult
    func type(_ s: inout AppState, _ text: String) -> [Effect] { keys(&s, text.map { .char($0) }) }

    func testDigitsAndTabSwitchViews() {
        var s = ScreenFixtures.state([.overview], width: 80, height: 24)
        keys(&s, [.char("4")])
        XCTAssertEqual(s.location, .alarms)
        keys(&s, [.tab])
        XCTAssertEqual(s.location, .blocks)
        keys(&s, [.tab])
        XCTAssertEqual(s.location, .overview, "Tab wraps around")
        keys(&s, [.backTab])
        XCTAssertEqual(s.location, .blocks)
        keys(&s, [.char("2")])
        XCTAssertEqual(s.location, .grid(nil))
    }

    func testAlarmToBlockToEventToAssetAndBack() {
        var s = ScreenFixtures.state([.overview], width: 80, height: 24)
        keys(&s, [.char("4"), .down])  // the theft alarm is second (critical first)
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.kind, .suspectedTheft)
        keys(&s, [.char("e")])
        XCTAssertEqual(s.location, .block(8_123_455, focus: ScreenFixtures.theftOrigin))
        XCTAssertEqual(s.list.selected, 3, "the event that raised the alarm is selected")
        let screen = ScreenFixtures.render(s).dump()
        XCTAssertTrue(screen.contains("Alarms › block #8123455"), "breadcrumbs on screen")
        keys(&s, [.enter])
        XCTAssertEqual(s.location, .asset(ScreenFixtures.theftTX))
        XCTAssertTrue(ScreenFixtures.render(s).dump().contains("› block #8123455 › asset TX-07"))
        keys(&s, [.escape])
        XCTAssertEqual(s.location, .block(8_123_455, focus: ScreenFixtures.theftOrigin))
        XCTAssertEqual(s.list.selected, 3, "selection kept when walking back")
        keys(&s, [.escape])
        XCTAssertEqual(s.location, .alarms)
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.kind, .suspectedTheft)
        keys(&s, [.escape])
        XCTAssertEqual(s.stack, [.alarms], "the trail never empties")
    }

    func testGridDrillDownAndShowInTree() {
        var s = ScreenFixtures.state([.grid(nil)], width: 80, height: 24)
        keys(&s, [.down, .enter])  // Line 400kV A
        XCTAssertEqual(s.location, .grid(ScreenFixtures.id("TL-1")))
        keys(&s, [.enter, .enter])  // Substation Vila → Feeder 12
        XCTAssertEqual(s.location, .grid(ScreenFixtures.id("F-12")))
        keys(&s, [.enter])  // TX-07 has consumers: drill further
        XCTAssertEqual(s.location, .grid(ScreenFixtures.theftTX))
        keys(&s, [.enter])  // a consumer is a leaf: opens the asset
        XCTAssertEqual(s.location, .asset(ScreenFixtures.id("C-07-1")))
        keys(&s, [.escape, .escape, .escape, .escape, .escape])
        XCTAssertEqual(s.location, .grid(nil))
        // From an alarm, `t` shows its asset in the tree.
        keys(&s, [.char("4"), .down, .char("t")])
        XCTAssertEqual(s.location, .grid(ScreenFixtures.id("F-12")))
        XCTAssertEqual(s.rows.grid[s.list.selected], ScreenFixtures.theftTX)
    }

    func testFilterInEveryList() {
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24)
        keys(&s, [.char("/")])
        XCTAssertTrue(s.filterEditing)
        type(&s, "theft")
        XCTAssertEqual(s.rows.alarms.map(\.kind), [.suspectedTheft])
        keys(&s, [.enter])
        XCTAssertFalse(s.filterEditing)
        XCTAssertTrue(ScreenFixtures.render(s).dump().contains("filter: theft"))
        keys(&s, [.escape])
        XCTAssertEqual(s.list.filter, "", "Esc clears a filter before walking back")
        XCTAssertEqual(s.rows.alarms.count, 3)
        keys(&s, [.char("/")]); type(&s, "!unack"); keys(&s, [.enter])
        XCTAssertTrue(s.rows.alarms.allSatisfy(\.acknowledged))

        for (view, text, expect) in [("5", "8123450", 1), ("2", "line", 1), ("3", "divergent", 1)] {
            keys(&s, [.char(Character(view)), .char("/")]); type(&s, text); keys(&s, [.enter])
            XCTAssertEqual(s.rows.count, expect, "\(view) /\(text)")
        }
        s.stack = [.block(8_123_455, focus: nil)]
        AppReducer.reduce(&s, .tick(now: s.now))
        keys(&s, [.char("/")]); type(&s, "transfer"); keys(&s, [.enter])
        XCTAssertEqual(s.rows.events.count, 1)
    }

    func testSortCycleAndHiddenToggle() {
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24)
        XCTAssertEqual(s.rows.alarms.map(\.id), [2, 1, 4], "shelved alarm 3 hidden; priority order")
        keys(&s, [.char("h")])
        XCTAssertEqual(s.rows.alarms.count, 4)
        XCTAssertTrue(ScreenFixtures.render(s).dump().contains("SHELVED"))
        keys(&s, [.char("o")])
        XCTAssertEqual(s.alarmSort, .age)
        XCTAssertEqual(s.rows.alarms.map(\.id), [4, 1, 2, 3], "newest first")
        keys(&s, [.char("O")])
        XCTAssertEqual(s.rows.alarms.map(\.id), [3, 2, 1, 4])
    }

    func testAcknowledgeShelveCommentUnshelveLeaveAsCommands() {
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24)
        // #1 is a high-priority alarm: `a` names it and waits for `y`.
        XCTAssertEqual(keys(&s, [.down, .char("a")]), [])
        XCTAssertEqual(s.prompt?.kind, .confirm)
        XCTAssertEqual(keys(&s, [.char("y")]), [.send(OperatorRequest(alarm: 1, action: .acknowledge(comment: nil), by: "operator"))])
        XCTAssertTrue(s.message!.hasPrefix("acknowledge sent"))
        // Shelve: the prompt opens on the duration (empty), then a required reason.
        keys(&s, [.char("s")])
        XCTAssertEqual(s.prompt?.kind, .shelve)
        XCTAssertEqual(s.prompt?.field, 0)
        XCTAssertEqual(s.prompt?.fields, ["", ""])
        XCTAssertEqual(keys(&s, [.enter]), [])
        XCTAssertEqual(s.prompt?.error, "type a duration: 30m, 2h, 1h30m (at most 12h) or once")
        type(&s, "forever"); keys(&s, [.enter])
        XCTAssertNotNil(s.prompt?.error, "bad duration refused")
        XCTAssertEqual(s.prompt?.field, 0)
        for _ in 0..<7 { keys(&s, [.backspace]) }
        type(&s, "20h"); keys(&s, [.enter])
        XCTAssertEqual(s.prompt?.error, "shelve refused: 20h is over the shelve limit; give 12h or less")
        for _ in 0..<3 { keys(&s, [.backspace]) }
        type(&s, "2h"); keys(&s, [.enter])
        XCTAssertEqual(s.prompt?.field, 1, "Enter on a good duration goes on to the reason")
        XCTAssertEqual(keys(&s, [.enter]), [])
        XCTAssertEqual(s.prompt?.error, "a reason is required")
        type(&s, "crew on site, known")
        XCTAssertEqual(keys(&s, [.enter]), [.send(OperatorRequest(alarm: 1, action: .shelve(.timed, until: s.now + 7200, reason: "crew on site, known"), by: "operator"))])
        XCTAssertNil(s.prompt)
        keys(&s, [.char("c")]); type(&s, "called the field crew")
        XCTAssertEqual(keys(&s, [.enter]), [.send(OperatorRequest(alarm: 1, action: .comment("called the field crew"), by: "operator"))])
        // Typing in a prompt never triggers key bindings.
        var typed = keys(&s, [.char("s")]); typed += type(&s, "q4a"); typed += keys(&s, [.escape])
        XCTAssertEqual(typed, [], "no quit, no action"); XCTAssertEqual(s.location, .alarms)
        // Unshelve the shelved one.
        XCTAssertEqual(keys(&s, [.char("h"), .end, .char("u")]), [.send(OperatorRequest(alarm: 3, action: .unshelve(reason: nil), by: "operator"))])
    }

    func testShelveDurationParsing() {
        XCTAssertEqual(ShelveDuration.parse("30m"), .seconds(1800))
        XCTAssertEqual(ShelveDuration.parse("1h30m"), .seconds(5400))
        XCTAssertEqual(ShelveDuration.parse("45"), .seconds(2700))
        XCTAssertEqual(ShelveDuration.parse("once"), .untilCleared)
        XCTAssertNil(ShelveDuration.parse("13h"), "longer than a shift")
        XCTAssertNil(ShelveDuration.parse("0m"))
        XCTAssertNil(ShelveDuration.parse("h"))
        XCTAssertNil(ShelveDuration.parse("2x"))
    }

    func testReadOnlyRefusesEveryAction() {
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24, readOnly: true)
        for k in ["a", "s", "c", "u"] {
            keys(&s, [.char(Character(k))])
            XCTAssertNil(s.prompt)
            XCTAssertTrue(s.message?.hasPrefix("read-only") == true, k)
        }
        for a: Action in [.acknowledge, .beginShelve, .beginComment, .unshelve] { XCTAssertEqual(AppReducer.reduce(&s, a), []) }
        let hints = ScreenFixtures.render(s).lines()[23]
        XCTAssertFalse(hints.contains("acknowledge"), hints)
        XCTAssertFalse(Keymap.standard.helpLines(for: .alarms, readOnly: true).contains { $0.contains("acknowledge") })
    }

    func testCommandLineAndCompletion() {
        var s = ScreenFixtures.state([.overview], width: 80, height: 24)
        s.themeNames = ["colorblind", "dark", "high-contrast", "isa101", "light"]
        keys(&s, [.char(":")]); type(&s, "al"); keys(&s, [.tab])
        XCTAssertEqual(s.commandLine, "alarms")
        keys(&s, [.enter])
        XCTAssertEqual(s.stack, [.alarms])
        keys(&s, [.char(":")]); type(&s, "block 8123455"); keys(&s, [.enter])
        XCTAssertEqual(s.location, .block(8_123_455, focus: nil))
        keys(&s, [.char(":")]); type(&s, "bl"); keys(&s, [.tab])
        XCTAssertEqual(s.commandLine, "block", "common prefix of block/blocks")
        XCTAssertTrue(s.message!.contains("blocks"))
        keys(&s, [.escape])
        keys(&s, [.char(":")]); type(&s, "asset feeder 1"); keys(&s, [.tab])
        XCTAssertEqual(s.commandLine, "asset Feeder 1", "completes to the common prefix of Feeder 12/13/14")
        type(&s, "2"); keys(&s, [.enter])
        XCTAssertEqual(s.location, .asset(ScreenFixtures.id("F-12")))
        keys(&s, [.char(":")]); type(&s, "th"); keys(&s, [.tab]); type(&s, "da"); keys(&s, [.tab])
        XCTAssertEqual(s.commandLine, "theme dark")
        XCTAssertEqual(keys(&s, [.enter]), [.loadTheme("dark")])
        keys(&s, [.char(":")]); type(&s, "asset nobody"); keys(&s, [.enter])
        XCTAssertEqual(s.message, "no asset named nobody: give its code, name or a unique prefix (Tab)")
        keys(&s, [.char(":")]); type(&s, "block x"); keys(&s, [.enter])
        XCTAssertEqual(s.message, "usage: :block N")
        keys(&s, [.char(":")]); type(&s, "q")
        XCTAssertEqual(keys(&s, [.enter]), [.quit])
    }

    func testPauseHoldsDataUntilResumed() {
        var s = ScreenFixtures.state([.overview], width: 80, height: 24)
        keys(&s, [.char("p")])
        XCTAssertTrue(s.paused)
        var newer = ScreenFixtures.data()
        newer.snapshot.chainId = 99
        AppReducer.reduce(&s, .data(newer))
        XCTAssertEqual(s.snapshot?.chainId, 1337, "frozen while paused")
        keys(&s, [.char("p")])
        XCTAssertEqual(s.snapshot?.chainId, 99)
    }

    func testHelpTogglesAndEscCloses() {
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24)
        keys(&s, [.char("?")])
        XCTAssertTrue(s.showHelp)
        XCTAssertTrue(ScreenFixtures.render(s).dump().contains("HELP · Alarms"))
        keys(&s, [.escape])
        XCTAssertFalse(s.showHelp)
        XCTAssertEqual(s.location, .alarms)
    }

    func testAppDeliversCommandsAndAppliesThemes() throws {
        let box = SnapshotBox()
        box.publish(ScreenFixtures.data())
        let clock = ManualClock(Fixtures.now)
        let term = FakeTerminal(script: [nil, .char("4"), .down, .char("a"), .char("y"), .char(":")] + "theme nosuch".map { .char($0) } + [.enter, nil, .char("q")])
        term.onPoll = { _ in clock.t += 0.05 }
        let got = LockedList()
        var options = OperatorOptions(noColor: true, themeSearchPath: [])
        options.operatorName = "alice"
        let app = OperatorApp(source: box, options: options, terminal: term,
                              clock: clock.appClock, onRequest: { got.append($0) })
        try app.run()
        XCTAssertEqual(got.items.map(\.by), ["alice"], "the console's operator rides with the action")
        XCTAssertEqual(got.items.map(\.action), [.acknowledge(comment: nil)])
        XCTAssertTrue(term.frames.last!.dump().contains("theme nosuch: nosuch.theme: not found"))
        XCTAssertTrue(term.themes.isEmpty)
    }

    func testPeriodicFullRepaint() throws {
        let box = SnapshotBox()
        box.publish(ScreenFixtures.data())
        let clock = ManualClock(Fixtures.now)
        let term = FakeTerminal(script: Array(repeating: nil, count: 30) + [.char("q")])
        term.onPoll = { _ in clock.t += 0.5 }
        var opts = OperatorOptions(noColor: true, themeSearchPath: [])
        opts.fullRepaintInterval = 5
        try OperatorApp(source: box, options: opts, terminal: term, clock: clock.appClock).run()
        XCTAssertGreaterThanOrEqual(term.invalidations, 2, "15 s with a 5 s interval")
    }

    func testBackspaceOnAnEmptyFilterStaysInFilterMode() {
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24)
        keys(&s, [.down])
        keys(&s, [.char("/")]); type(&s, "x"); keys(&s, [.backspace, .backspace, .backspace])
        XCTAssertTrue(s.filterEditing, "Backspace on an empty filter does not leave filter mode")
        XCTAssertTrue(ScreenFixtures.render(s).lines()[23].hasPrefix("/█"), "filter mode is visible")
        // The next `a` is typed into the filter, not an acknowledgement.
        XCTAssertEqual(keys(&s, [.char("a")]), [])
        XCTAssertNil(s.prompt)
        XCTAssertEqual(s.list.filter, "a")
        keys(&s, [.escape])
        XCTAssertFalse(s.filterEditing)
        XCTAssertEqual(s.list.filter, "")
    }

    func testAssetCommandTakesACodeANameOrAPrefix() {
        var s = ScreenFixtures.state([.overview], width: 80, height: 24)
        func go(_ arg: String) -> Location? {
            s.stack = [.overview]
            keys(&s, [.char(":")]); type(&s, "asset " + arg); keys(&s, [.enter])
            return s.location == .overview ? nil : s.location
        }
        XCTAssertEqual(go("TX-08"), .asset(ScreenFixtures.id("TX-08")), "by code")
        XCTAssertEqual(go("f-12"), .asset(ScreenFixtures.id("F-12")), "by code, any case")
        XCTAssertEqual(go("GEN-1"), .asset(ScreenFixtures.id("GEN-1")), "a code not in the name")
        XCTAssertEqual(go("Feeder 13"), .asset(ScreenFixtures.id("F-13")), "by name")
        XCTAssertEqual(go("hydro"), .asset(ScreenFixtures.id("GEN-1")), "by a unique prefix")
        XCTAssertEqual(go("alta"), .asset(ScreenFixtures.id("TX-08")), "by a unique word of the name")
        XCTAssertNil(go("Feeder"), "ambiguous")
        XCTAssertTrue(s.message?.hasPrefix("no asset named Feeder:") == true, s.message ?? "")
        // Tab lists the candidates.
        s.stack = [.overview]
        keys(&s, [.char(":")]); type(&s, "asset feeder"); keys(&s, [.tab])
        XCTAssertEqual(s.message, "Feeder 12 Feeder 13 Feeder 14")
        keys(&s, [.escape])
        keys(&s, [.char(":")]); type(&s, "asset rua"); keys(&s, [.tab])
        XCTAssertTrue(s.message?.contains("TX-08 Rua Alta") == true, s.message ?? "")
        XCTAssertTrue(s.message?.contains("meter 0041 Rua das Flores") == true, s.message ?? "")
    }
}

final class LockedList: @unchecked Sendable {
    private var list: [OperatorRequest] = []
    private let lock = NSLock()
    func append(_ c: OperatorRequest) { lock.lock(); list.append(c); lock.unlock() }
    var items: [OperatorRequest] { lock.lock(); defer { lock.unlock() }; return list }
}
