import ChainCore
import Foundation
import GridCore
import XCTest
@testable import Alerts

/// Alarm state across a restart: the restored book stands until the monitor has judged
/// each condition on data read since the start, and only real changes are journalled.
final class StartupJudgementTests: XCTestCase {
    let feeder = AssetID.asset(code: "F-1")
    let tx1 = AssetID.asset(code: "TX-1"), tx2 = AssetID.asset(code: "TX-2")
    let c1 = AssetID.asset(code: "C-1"), c2 = AssetID.asset(code: "C-2")
    let c3 = AssetID.asset(code: "C-3"), c4 = AssetID.asset(code: "C-4")
    /// One block per 15-minute interval in these fixtures: the stall limit stays at its 15 s minimum.
    static let config: MonitorConfiguration = {
        var c = MonitorConfiguration()
        c.stallFactor = 0.01
        return c
    }()
    /// Chain time of interval k's block.
    func ts(_ k: UInt64) -> UInt64 { 1_000_000 + k * 900 }

    func block(_ n: UInt64, _ events: [GridEvent], timestamp: UInt64) -> LedgerUpdate {
        ChainFixture().block(n, events, timestamp: timestamp)
    }

    /// TX-1 loses unmetered energy from interval `theftFrom`; C-3 (under TX-2) stops reporting
    /// after interval `c3SilentAfter` and, with `c3BackFrom`, reports again from then.
    func history(through last: UInt64, theftFrom: UInt64 = 14, c3SilentAfter: UInt64 = 22, c3BackFrom: UInt64? = nil) -> [LedgerUpdate] {
        var out: [LedgerUpdate] = [block(1, [
            ChainFixture.register(feeder, under: .zero, .feeder, "F-1"),
            ChainFixture.register(tx1, under: feeder, .transformer, "TX-1"),
            ChainFixture.register(tx2, under: feeder, .transformer, "TX-2"),
            ChainFixture.register(c1, under: tx1, .consumer, "C-1"),
            ChainFixture.register(c2, under: tx1, .consumer, "C-2"),
            ChainFixture.register(c3, under: tx2, .consumer, "C-3"),
            ChainFixture.register(c4, under: tx2, .consumer, "C-4"),
        ], timestamp: ts(1))]
        for k in UInt64(2)...last {
            let l1 = UInt64(1000 + 300 * sin(Double(k))), l2 = UInt64(800 + 200 * cos(Double(k) * 0.7))
            let l3 = UInt64(600 + 150 * sin(Double(k) * 0.3)), l4 = UInt64(900 + 100 * cos(Double(k)))
            let loss1 = 25 + (l1 + l2) / 100, loss2 = 20 + (l3 + l4) / 100
            let theft: UInt64 = k >= theftFrom ? 500 : 0
            var ev: [GridEvent] = [
                ChainFixture.reading(tx1, k, import: l1 + l2 + loss1 + theft),
                ChainFixture.reading(c1, k, import: l1), ChainFixture.reading(c2, k, import: l2),
                ChainFixture.reading(tx2, k, import: l3 + l4 + loss2),
                ChainFixture.reading(c4, k, import: l4),
            ]
            if k <= c3SilentAfter || c3BackFrom.map({ k >= $0 }) ?? false { ev.append(ChainFixture.reading(c3, k, import: l3)) }
            out.append(block(k, ev, timestamp: ts(k)))
        }
        return out
    }

    /// As the client delivers it: the last block is the node's head.
    func atHead(_ updates: [LedgerUpdate]) -> [LedgerUpdate] {
        var u = updates
        if case .block(var b) = u.last { b.atHead = true; u[u.count - 1] = .block(b) }
        return u
    }

    func key(_ kind: AlarmKind, _ a: AssetID) -> AlarmKey { AlarmKey(kind: kind, asset: a) }

    /// The first run: live, `now` = block time. The operator acknowledges the stale meter,
    /// shelves the theft and comments on it. Returns the monitor and its journal.
    func firstRun(through last: UInt64 = 30) throws -> (Monitor, [AlarmTransition]) {
        var m = Monitor(configuration: Self.config)
        var journal: [AlarmTransition] = []
        journal += m.apply(.chain(id: 7), now: Double(ts(1)))
        for u in history(through: last) {
            guard case .block(let b) = u else { continue }
            journal += m.apply(u, now: Double(b.header.timestamp))
        }
        let now = Double(ts(last)) + 1
        let stale = try XCTUnwrap(m.book[key(.staleMeter, c3)], "C-3 went silent: \(m.book.alarms.values.map { "\($0.kind) \($0.assetName)" })")
        let theft = try XCTUnwrap(m.book[key(.suspectedTheft, tx1)], "TX-1 loses energy: \(m.book.alarms.values.map { "\($0.kind) \($0.assetName)" })")
        XCTAssertTrue(stale.active && theft.active)
        // A time the operator reads, not a unix number (the alarm's interval field keeps the number).
        let since = try XCTUnwrap(stale.interval)
        XCTAssertTrue(stale.message.hasPrefix("no reading since interval \(UTCTime.minuteText(since)) ("), stale.message)
        XCTAssertFalse(stale.message.contains(String(since)), stale.message)
        journal += try m.perform(.acknowledge(comment: "crew on the way"), on: stale.id, by: "ana", now: now)
        journal += try m.perform(.shelve(.timed, until: now + 86_400, reason: "field check tonight"), on: theft.id, by: "ana", now: now)
        journal += try m.perform(.comment("seal photographed"), on: theft.id, by: "bo", now: now)
        return (m, journal)
    }

    /// The restarted process: the book rebuilt from the journal, then the chain read again from
    /// its start (a backfill at `now`, the last block being the current head).
    func restart(_ journal: [AlarmTransition], updates: [LedgerUpdate], now: Double) -> (Monitor, [AlarmTransition]) {
        var m = Monitor(configuration: Self.config)
        var out = m.apply(.chain(id: 7), now: now)
        m.restore(AlarmBook(replaying: journal))
        XCTAssertTrue(m.isJudgingStartup)
        for u in updates { out += m.apply(u, now: now) }
        out += m.tick(now: now + 1)
        return (m, out)
    }

    func testRestartsLeaveEveryAlarmAndTheJournalUnchanged() throws {
        let (first, journal) = try firstRun()
        let before = first.book.alarms
        var journalled = journal
        // Ten restarts in a row, each reading the same chain again.
        for i in 0..<10 {
            let (m, out) = restart(journalled, updates: atHead(history(through: 30)), now: Double(ts(30)) + 5 + Double(i))
            XCTAssertFalse(m.isJudgingStartup, "the head was read: the judgement was made")
            XCTAssertEqual(out.map { "\($0.event.rawValue) \($0.alarm.kind.rawValue) \($0.alarm.assetName)" }, [],
                           "restart \(i + 1) journalled transitions that did not happen")
            journalled += out
            for (k, a) in before {
                let b = try XCTUnwrap(m.book[k])
                XCTAssertEqual(b.id, a.id)
                XCTAssertEqual(b.active, a.active, "\(k)")
                XCTAssertEqual(b.count, a.count, "\(a.kind) \(a.assetName): the same alarm, not a repeat")
                XCTAssertEqual(b.acknowledged, a.acknowledged)
                XCTAssertEqual(b.acknowledgedBy, a.acknowledgedBy)
                XCTAssertEqual(b.acknowledgeComment, a.acknowledgeComment)
                XCTAssertEqual(b.shelving, a.shelving)
                XCTAssertEqual(b.comments, a.comments)
                XCTAssertEqual(b.lastComment, a.lastComment)
                XCTAssertEqual(b.suppressedBy, a.suppressedBy)
            }
            XCTAssertEqual(m.snapshot(now: 0).alarms.map(\.id).sorted(), first.snapshot(now: 0).alarms.map(\.id).sorted())
        }
        XCTAssertEqual(journalled.count, journal.count)
    }

    func testAfterTheJudgementTheLiveChainChangesAlarmsAsUsual() throws {
        let (_, journal) = try firstRun()
        var (m, out) = restart(journal, updates: atHead(history(through: 30)), now: Double(ts(30)) + 5)
        XCTAssertEqual(out, [])
        // C-3 reports again on the live chain: a real clear, journalled once.
        let live = atHead(history(through: 31, c3BackFrom: 31)).last!
        out = m.apply(live, now: Double(ts(31)))
        XCTAssertEqual(out.filter { $0.alarm.kind == .staleMeter }.map(\.event), [.cleared])
        XCTAssertEqual(m.book[key(.staleMeter, c3)]?.acknowledgedBy, "ana", "cleared and acknowledged: the same alarm")
    }

    func testAConditionThatEndedWhileNobodyRanIsClearedOnceAndOneThatBeganIsRaisedOnce() throws {
        // The first run ends at 30; the restart reads up to 36, in which C-3 reported again
        // from 32 on, and a conflicting reading appeared at 33.
        let (first, journal) = try firstRun()
        var later = atHead(history(through: 36, c3BackFrom: 32))
        let conflict = ChainFixture.reading(c4, 33, import: 1)
        if case .block(var b) = later[35] {
            b.events.append(LocatedEvent(event: conflict, origin: EventOrigin(blockNumber: 36, blockHash: b.header.hash,
                                                                                transactionHash: Bytes32(uint: 99), logIndex: 99)))
            later[35] = .block(b)
        }
        let (m, out) = restart(journal, updates: later, now: Double(ts(36)) + 3)
        let lines = out.map { "\($0.event.rawValue) \($0.alarm.kind.rawValue) \($0.alarm.assetName)" }
        XCTAssertEqual(lines.filter { $0.contains("stale-meter") }, ["cleared stale-meter C-3"], "\(lines)")
        XCTAssertEqual(lines.filter { $0.contains("conflicting-reading") }, ["raised conflicting-reading C-4"], "\(lines)")
        XCTAssertFalse(lines.contains { $0.contains("suspected-theft") }, "the theft goes on: the same alarm: \(lines)")
        let stale = try XCTUnwrap(m.book[key(.staleMeter, c3)])
        XCTAssertEqual(stale.id, first.book[key(.staleMeter, c3)]?.id)
        XCTAssertFalse(stale.active)
        XCTAssertEqual(stale.acknowledgedBy, "ana")
        XCTAssertEqual(m.book[key(.suspectedTheft, tx1)]?.shelving?.reason, "field check tonight")
    }

    func testUntilTheHeadIsReadTheRestoredAlarmsStandAndOperatorsCanStillAct() throws {
        let (first, journal) = try firstRun()
        // The backfill breaks off before the head (the node went away): nothing current was read.
        let t0 = Double(ts(30)) + 600
        var m = Monitor(configuration: Self.config)
        var out = m.apply(.chain(id: 7), now: t0)
        m.restore(AlarmBook(replaying: journal))
        for u in history(through: 30) { out += m.apply(u, now: t0) }
        XCTAssertTrue(m.isJudgingStartup)
        XCTAssertEqual(out, [])
        XCTAssertEqual(m.snapshot(now: t0).alarms.map(\.id).sorted(), first.snapshot(now: t0).alarms.map(\.id).sorted(),
                       "the operator sees the restored alarms meanwhile")
        XCTAssertTrue(m.snapshot(now: t0).warnings.contains { $0.contains("restored from the journal; judged again once current blocks are read") })
        // An operator action while the judgement waits is journalled at once, on the real alarm.
        let theft = try XCTUnwrap(m.book[key(.suspectedTheft, tx1)])
        let acted = try m.perform(.acknowledge(comment: nil), on: theft.id, by: "cy", now: t0 + 1)
        XCTAssertEqual(acted.map(\.event), [.acknowledged])
        // Time passes; the stall is judged in the shadow, not journalled, while nothing current is read.
        XCTAssertEqual(m.tick(now: t0 + 5), [])
        XCTAssertEqual(m.tick(now: t0 + 100), [])
        XCTAssertTrue(m.isJudgingStartup)
        // The node is back: the head is read. The chain had stopped at block 30 for 700 s: a real stall,
        // raised now; the stale meter and the theft are the same alarms as before.
        out = m.apply(atHead([history(through: 30).last!])[0], now: t0 + 101)
        XCTAssertFalse(m.isJudgingStartup)
        XCTAssertFalse(out.contains { ($0.alarm.kind == .staleMeter || $0.alarm.kind == .suspectedTheft) && $0.event != .suppressed },
                       "\(out.map { "\($0.event) \($0.alarm.kind)" })")
        XCTAssertEqual(out.filter { $0.event == .raised }.map(\.alarm.kind), [.consensusStall])
        XCTAssertEqual(m.book[key(.staleMeter, c3)]?.count, 1)
        XCTAssertEqual(m.book[key(.suspectedTheft, tx1)]?.acknowledgedBy, "cy")
        XCTAssertTrue(m.snapshot(now: t0 + 101).warnings.contains { $0.hasPrefix("restored alarms judged on current data at block #30: 1 raised") },
                      "\(m.snapshot(now: t0 + 101).warnings)")
    }

    func testNodeHealthIsJudgedLiveDuringTheHold() throws {
        let (_, journal) = try firstRun()
        var m = Monitor(configuration: Self.config)
        _ = m.apply(.chain(id: 7), now: 100)
        m.restore(AlarmBook(replaying: journal))
        var n = NodeStatus(name: "n0", endpoint: "ws://n0")
        n.connection = .disconnected
        var out = m.apply(.nodes([n]), now: 100)
        out += m.tick(now: 111)
        XCTAssertTrue(m.isJudgingStartup)
        XCTAssertEqual(out.filter { $0.event == .raised }.map(\.alarm.kind), [.nodeDown], "a node down now is down now")
    }

    // MARK: The book's rules

    func cond(_ kind: AlarmKind, _ a: AssetID, _ msg: String = "m") -> AlarmCondition {
        AlarmCondition(kind: kind, asset: a, assetName: a.short, stage: .consumer, message: msg)
    }

    func testReleaseRules() throws {
        var book = AlarmBook()
        book.raise(cond(.staleMeter, c1), now: 1)   // judged present again: the same alarm
        book.raise(cond(.staleMeter, c2), now: 1)   // judged absent: cleared
        book.raise(cond(.staleMeter, c3), now: 1)   // not judged: stands
        book.raise(cond(.suspectedTheft, tx1), now: 1)
        book.clear(.suspectedTheft, asset: tx1, now: 2)  // cleared before; judged present: raised again
        _ = book.takeTransitions()
        book.holdJudgement()
        XCTAssertNil(book.raise(cond(.staleMeter, c1, "still silent"), now: 10))
        XCTAssertNil(book.clear(.staleMeter, asset: c2, now: 10, message: "reporting again"))
        XCTAssertNil(book.raise(cond(.suspectedTheft, tx1), now: 10))
        XCTAssertNil(book.raise(cond(.staleMeter, c4), now: 10))   // new: raised at release
        XCTAssertNil(book.clear(.staleMeter, asset: c4, now: 11))  // …but it ended again: nothing
        XCTAssertEqual(book.takeTransitions(), [], "nothing leaves the book while held")
        XCTAssertEqual(book.visible.count, 4)
        let out = book.releaseJudgement(now: 20)
        XCTAssertEqual(out.map { "\($0.event.rawValue) \($0.alarm.kind.rawValue) \($0.alarm.assetName)" },
                       ["cleared stale-meter \(c2.short)", "raised suspected-theft \(tx1.short)"])
        XCTAssertEqual(book[AlarmKey(kind: .staleMeter, asset: c1)]?.message, "still silent")
        XCTAssertEqual(book[AlarmKey(kind: .staleMeter, asset: c1)]?.count, 1)
        XCTAssertEqual(book[AlarmKey(kind: .staleMeter, asset: c2)]?.message, "reporting again")
        XCTAssertTrue(book[AlarmKey(kind: .staleMeter, asset: c3)]?.active == true)
        XCTAssertEqual(book[AlarmKey(kind: .suspectedTheft, asset: tx1)]?.count, 2)
        XCTAssertNil(book[AlarmKey(kind: .staleMeter, asset: c4)])
        XCTAssertFalse(book.isHoldingJudgement)
        // After the release the book acts at once again.
        XCTAssertEqual(book.clear(.staleMeter, asset: c1, now: 21)?.event, .cleared)
    }

    func testAnOnDelayStillRunningAtReleaseLeavesTheRestoredAlarmAsItWas() {
        var policies = AlarmPolicy.defaults
        policies[.staleMeter] = AlarmPolicy(priority: .low, onDelay: .seconds(60), offDelay: .seconds(60))
        var book = AlarmBook(policies: policies)
        book.raise(cond(.staleMeter, c1), now: 0)
        book.tick(now: 61)
        XCTAssertTrue(book.isActive(.staleMeter, c1))
        _ = book.takeTransitions()
        book.holdJudgement()
        book.clear(.staleMeter, asset: c1, now: 100)  // absent once, the off-delay still running
        book.raise(cond(.staleMeter, c2), now: 100)   // present once, the on-delay still running
        XCTAssertEqual(book.releaseJudgement(now: 101), [], "both still pending: the restored state stands")
        XCTAssertTrue(book.isActive(.staleMeter, c1))
        XCTAssertNil(book[AlarmKey(kind: .staleMeter, asset: c2)])
        // Live again: the delays are measured as usual from here.
        XCTAssertNil(book.clear(.staleMeter, asset: c1, now: 102))
        XCTAssertEqual(book.clear(.staleMeter, asset: c1, now: 163)?.event, .cleared)
    }
}
