import XCTest
import Alerts
import ChainCore
import GridCore
@testable import OperatorTUI

/// The cursor follows the item the operator chose (issue #12 item 1), and every
/// action on an urgent alarm, or on a list that just changed, names its target first.
final class SelectionTests: XCTestCase {
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

    static let now = ScreenFixtures.now

    func alarm(_ id: Int, _ p: AlarmPriority, _ name: String, kind: AlarmKind = .staleMeter, raisedAgo: Double = 10) -> Alarm {
        Alarm(id: id, kind: kind, asset: Bytes32.asset(code: name), assetName: name, stage: .consumer, priority: p,
              active: true, acknowledged: false, raisedAt: Self.now - raisedAgo, changedAt: Self.now - raisedAgo,
              interval: nil, message: "no reading", count: 1, origin: nil)
    }

    /// New data with these alarms, arriving `later` seconds after the fixture's time.
    func arrive(_ s: inout AppState, _ alarms: [Alarm], later: Double = 0) {
        AppReducer.reduce(&s, .tick(now: Self.now + later))
        AppReducer.reduce(&s, .data(ScreenFixtures.data(alarms: alarms)))
    }

    func testTheCursorStaysOnTheAlarmAcrossNewRowsSortAndResize() {
        let base = [alarm(10, .medium, "C-00198", kind: .conflictingReading, raisedAgo: 300), alarm(11, .low, "C-00200", raisedAgo: 200)]
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24, data: ScreenFixtures.data(alarms: base))
        XCTAssertEqual(s.rows.alarms.map(\.id), [10, 11])
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 10)
        // A high alarm arrives and sorts above: the cursor stays on #10 (row 2 now).
        arrive(&s, [alarm(17, .high, "TX-0004", kind: .suspectedTheft, raisedAgo: 1)] + base)
        XCTAssertEqual(s.rows.alarms.map(\.id), [17, 10, 11])
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 10)
        XCTAssertEqual(s.list.selected, 1)
        XCTAssertNil(s.message, "nothing left the list")
        // Sorting by age (newest first), reversing, resizing: still #10.
        keys(&s, [.char("o")])
        XCTAssertEqual(s.alarmSort, .age)
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 10)
        keys(&s, [.char("O")])
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 10)
        AppReducer.reduce(&s, .resize(width: 160, height: 48))
        AppReducer.reduce(&s, .resize(width: 80, height: 24))
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 10)
        // The screen draws the cursor on that alarm.
        let row = ScreenFixtures.render(s).lines().first { $0.hasPrefix("▶") } ?? ""
        XCTAssertTrue(row.contains("C-00198"), row)
    }

    func testFilteringKeepsTheSelectionOrMovesToTheNeighbour() {
        let list = [alarm(21, .medium, "C-1", raisedAgo: 40), alarm(22, .medium, "C-2", raisedAgo: 30), alarm(23, .medium, "T-3", raisedAgo: 20)]
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24, data: ScreenFixtures.data(alarms: list))
        XCTAssertEqual(s.rows.alarms.map(\.id), [23, 22, 21], "newest change first")
        keys(&s, [.down])
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 22)
        keys(&s, [.char("/")]); type(&s, "C-")
        XCTAssertEqual(s.rows.alarms.map(\.id), [22, 21])
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 22, "the filter keeps the selected alarm")
        keys(&s, [.escape])
        XCTAssertEqual(s.rows.alarms.count, 3)
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 22, "and so does clearing it")
        keys(&s, [.char("/")]); type(&s, "!2"); keys(&s, [.enter])
        XCTAssertEqual(s.rows.alarms.map(\.id), [23, 21])
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 21, "the next row once the selected one is filtered out")
        XCTAssertEqual(s.message, "alarm #22 stale meter C-2 left the list; cursor on the next: alarm #21 stale meter C-1")
    }

    func testAnAlarmThatLeavesTheListMovesTheCursorToItsNeighbourAndSaysSo() {
        let list = [alarm(31, .medium, "A", raisedAgo: 50), alarm(32, .medium, "B", raisedAgo: 40), alarm(33, .medium, "C", raisedAgo: 30)]
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24, data: ScreenFixtures.data(alarms: list))
        XCTAssertEqual(s.rows.alarms.map(\.id), [33, 32, 31])
        keys(&s, [.down])
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 32)
        // #32 returns to normal (gone); a new alarm arrives at the top in the same update.
        arrive(&s, [alarm(34, .medium, "D", raisedAgo: 1), list[0], list[2]], later: 1)
        XCTAssertEqual(s.rows.alarms.map(\.id), [34, 33, 31])
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 31, "the row after the one that left, not whatever took its place")
        XCTAssertTrue(s.message?.hasPrefix("alarm #32 stale meter B left the list") == true, s.message ?? "no message")
        XCTAssertTrue(ScreenFixtures.render(s).lines()[23].contains("alarm #32 stale meter B left the list"))
        // The last row leaves: the cursor goes to the one before it.
        arrive(&s, [alarm(34, .medium, "D", raisedAgo: 1), list[2]], later: 2)
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 33)
        XCTAssertTrue(s.message?.contains("alarm #31") == true, s.message ?? "")
    }

    func testBlocksNodesAndGridFollowTheirItem() {
        var s = ScreenFixtures.state([.blocks], width: 80, height: 24)
        keys(&s, [.down, .down])
        let chosen = s.rows.blocks[s.list.selected]
        // Two new blocks on top.
        var data = ScreenFixtures.data()
        let head = data.snapshot.recentBlocks[0]
        var newer = head; newer.number += 1; newer.hash = Fixtures.bytes32(500)
        var newest = head; newest.number += 2; newest.hash = Fixtures.bytes32(501)
        data.snapshot.recentBlocks = [newest, newer] + data.snapshot.recentBlocks
        AppReducer.reduce(&s, .data(data))
        XCTAssertEqual(s.list.selected, 4)
        XCTAssertEqual(s.rows.blocks[s.list.selected].hash, chosen.hash)
        keys(&s, [.enter])
        XCTAssertEqual(s.location, .block(chosen.number, focus: nil), "Enter opens the block that was selected")

        var c = ScreenFixtures.state([.consensus], width: 80, height: 24)
        keys(&c, [.down])
        let node = c.data!.snapshot.nodes[c.rows.nodes[c.list.selected]].name
        var d2 = ScreenFixtures.data()
        d2.snapshot.nodes.insert(NodeStatus(name: "archive-0", endpoint: "ws://127.0.0.1:9000", connection: .connecting), at: 0)
        AppReducer.reduce(&c, .data(d2))
        XCTAssertEqual(c.data!.snapshot.nodes[c.rows.nodes[c.list.selected]].name, node)

        var g = ScreenFixtures.state([.grid(nil)], width: 80, height: 24)
        keys(&g, [.down])
        let asset = g.rows.grid[g.list.selected]
        keys(&g, [.char("/")]); type(&g, "line")
        XCTAssertEqual(g.rows.grid[g.list.selected], asset)
    }

    func testUrgentAlarmsAskBeforeTheAcknowledgementNamingTheTarget() {
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24)
        keys(&s, [.down])
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 1)
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.priority, .high)
        XCTAssertEqual(keys(&s, [.char("a")]), [], "nothing sent before the operator confirms")
        XCTAssertEqual(s.prompt?.kind, .confirm)
        XCTAssertTrue(s.prompt?.question?.hasPrefix("ack #1 suspected theft TX-07") == true, s.prompt?.question ?? "")
        let screen = ScreenFixtures.render(s).dump()
        XCTAssertTrue(screen.contains("ack #1 suspected theft TX-07"), screen)
        XCTAssertTrue(screen.contains("y yes"), screen)
        // Other keys do nothing while it asks; n cancels.
        XCTAssertEqual(type(&s, "aq4"), [])
        XCTAssertEqual(s.location, .alarms)
        keys(&s, [.char("n")])
        XCTAssertNil(s.prompt)
        // New rows arrive while the question is open: y still sends it to #1.
        keys(&s, [.char("a")])
        arrive(&s, [alarm(40, .critical, "chain-2", kind: .consensusStall, raisedAgo: 0)] + ScreenFixtures.alarms(), later: 1)
        XCTAssertEqual(keys(&s, [.char("y")]), [.send(OperatorRequest(alarm: 1, action: .acknowledge(comment: nil), by: "operator"))])
        XCTAssertTrue(s.message?.hasPrefix("acknowledge sent: ▲H #1 suspected theft") == true, s.message ?? "")
        XCTAssertNil(s.prompt)
    }

    func testALowAlarmIsAcknowledgedAtOnceUnlessTheListJustChanged() {
        let list = [alarm(51, .medium, "C-51", raisedAgo: 50), alarm(52, .medium, "C-52", raisedAgo: 40)]
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24, data: ScreenFixtures.data(alarms: list))
        AppReducer.reduce(&s, .tick(now: Self.now + 10))
        XCTAssertEqual(keys(&s, [.char("a")]), [.send(OperatorRequest(alarm: 52, action: .acknowledge(comment: nil), by: "operator"))])
        XCTAssertEqual(s.message, "acknowledge sent: ■M #52 stale meter C-52")
        // A row arrives: for 2 s the same key asks first.
        arrive(&s, [alarm(53, .low, "C-53", raisedAgo: 0)] + list, later: 11)
        AppReducer.reduce(&s, .tick(now: Self.now + 12))
        XCTAssertEqual(AppReducer.selectedAlarm(s)?.id, 52)
        XCTAssertEqual(keys(&s, [.char("a")]), [])
        XCTAssertEqual(s.prompt?.question, "ack #52 stale meter C-52?")
        keys(&s, [.escape])
        XCTAssertNil(s.prompt)
        AppReducer.reduce(&s, .tick(now: Self.now + 13.5))
        XCTAssertEqual(keys(&s, [.char("a")]).count, 1, "no question once the list has been still for 2 s")
    }
}
