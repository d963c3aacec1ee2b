import ChainCore
import Foundation
import GridCore
import XCTest
@testable import Alerts

final class AlarmBookTests: XCTestCase {
    let asset = AssetID.asset(code: "TX-1")
    func cond(_ msg: String = "m", kind: AlarmKind = .suspectedTheft, asset: AssetID? = nil) -> AlarmCondition {
        AlarmCondition(kind: kind, asset: asset ?? self.asset, assetName: "TX-1", stage: kind.isGridSide ? .transformer : nil, message: msg)
    }

    func testOneAlarmPerConditionRepeatsCountedAndClearedStaysUntilAcknowledged() {
        var book = AlarmBook()
        XCTAssertEqual(book.raise(cond(), now: 1)?.event, .raised)
        XCTAssertNil(book.raise(cond("again"), now: 2))  // same active condition
        XCTAssertEqual(book.visible.count, 1)
        XCTAssertEqual(book.clear(.suspectedTheft, asset: asset, now: 3)?.event, .cleared)
        XCTAssertEqual(book.visible.count, 1, "cleared but unacknowledged stays visible")
        let again = book.raise(cond(), now: 4)
        XCTAssertEqual(again?.alarm.count, 2)
        XCTAssertEqual(book.visible.count, 1)
        let id = book.visible[0].id
        XCTAssertEqual(book.acknowledge(id: id, by: "ana", now: 5)?.alarm.acknowledgedBy, "ana")
        XCTAssertNil(book.acknowledge(id: id, by: "ana", now: 6))
        XCTAssertEqual(book.visible.count, 1, "active and acknowledged is still shown")
        _ = book.clear(.suspectedTheft, asset: asset, now: 7)
        XCTAssertEqual(book.visible.count, 0, "cleared and acknowledged leaves the list")
    }

    func testOrderingPutsUnacknowledgedActiveAndHigherPriorityFirst() {
        var book = AlarmBook()
        _ = book.raise(AlarmCondition(kind: .staleMeter, asset: asset, assetName: "a", stage: .consumer, message: ""), now: 1)
        _ = book.raise(AlarmCondition(kind: .consensusStall, asset: .zero, assetName: "chain", stage: nil, message: ""), now: 2)
        _ = book.raise(cond(), now: 3)
        XCTAssertEqual(book.visible.map(\.kind), [.consensusStall, .suspectedTheft, .staleMeter])
    }

    func testStatesFollowISA182() throws {
        var book = AlarmBook()
        let id = book.raise(cond(), now: 1)!.alarm.id
        XCTAssertEqual(book.alarm(id: id)?.state, .unacknowledged)
        let ack = try book.perform(.acknowledge(comment: "crew sent"), on: id, by: "ana", now: 2)
        XCTAssertEqual(ack.alarm.state, .acknowledged)
        XCTAssertEqual(ack.alarm.acknowledgeComment, "crew sent")
        XCTAssertEqual(ack.alarm.acknowledgedAt, 2)
        XCTAssertEqual(ack.reason, "crew sent")
        book.clear(.suspectedTheft, asset: asset, now: 3)
        XCTAssertEqual(book.alarm(id: id)?.state, .normal)
        book.raise(cond(), now: 4)
        book.clear(.suspectedTheft, asset: asset, now: 5)
        XCTAssertEqual(book.alarm(id: id)?.state, .returnedUnacknowledged)
        XCTAssertTrue(book.alarm(id: id)!.isVisible)
        XCTAssertThrowsError(try book.perform(.acknowledge(comment: nil), on: 99, by: "ana", now: 6)) {
            XCTAssertEqual($0 as? AlarmActionError, .unknownAlarm(99))
        }
        XCTAssertThrowsError(try book.perform(.comment("  "), on: id, by: "ana", now: 6))
        let c = try book.perform(.comment("meter seal checked"), on: id, by: "bo", now: 7)
        XCTAssertEqual(c.event, .commented)
        XCTAssertEqual(c.alarm.comments, 1)
        XCTAssertEqual(c.alarm.lastComment, "meter seal checked")
        XCTAssertEqual(book.takeTransitions().map(\.event), [.raised, .acknowledged, .cleared, .raised, .cleared, .commented])
    }

    func testTimedShelvingNeedsReasonAndExpiryKeepsEvaluatingAndComesBack() throws {
        var book = AlarmBook()
        let id = book.raise(cond(), now: 100)!.alarm.id
        XCTAssertThrowsError(try book.perform(.shelve(.timed, until: 200, reason: " "), on: id, by: "ana", now: 101)) {
            XCTAssertEqual($0 as? AlarmActionError, .reasonRequired)
        }
        XCTAssertThrowsError(try book.perform(.shelve(.timed, until: nil, reason: "x"), on: id, by: "ana", now: 101)) {
            XCTAssertEqual($0 as? AlarmActionError, .expiryRequired)
        }
        XCTAssertThrowsError(try book.perform(.shelve(.timed, until: 100, reason: "x"), on: id, by: "ana", now: 101)) {
            XCTAssertEqual($0 as? AlarmActionError, .expiryNotInFuture)
        }
        let s = try book.perform(.shelve(.timed, until: 400, reason: "crew on site"), on: id, by: "ana", now: 101)
        XCTAssertEqual(s.alarm.shelving, Shelving(mode: .timed, until: 400, reason: "crew on site", by: "ana", at: 101))
        XCTAssertTrue(book.visible.isEmpty)
        XCTAssertEqual(book.shelved.map(\.id), [id])
        // Evaluated underneath: it clears and comes back while shelved.
        XCTAssertEqual(book.clear(.suspectedTheft, asset: asset, now: 150)?.event, .cleared)
        XCTAssertEqual(book.raise(cond(), now: 160)?.alarm.count, 2)
        XCTAssertTrue(book.visible.isEmpty)
        XCTAssertTrue(book.tick(now: 399).isEmpty)
        let back = book.tick(now: 400)
        XCTAssertEqual(back.map(\.event), [.unshelved])
        XCTAssertEqual(back.first?.by, "system")
        XCTAssertEqual(back.first?.reason, "shelf expired")
        XCTAssertEqual(book.visible.map(\.id), [id], "active again after the shelf: shown")
        XCTAssertThrowsError(try book.perform(.unshelve(reason: nil), on: id, by: "ana", now: 401)) {
            XCTAssertEqual($0 as? AlarmActionError, .notShelved(id))
        }
    }

    func testOneShotShelfEndsWhenTheAlarmReturnsToNormal() throws {
        var book = AlarmBook()
        let id = book.raise(cond(), now: 1)!.alarm.id
        try book.perform(.acknowledge(comment: nil), on: id, by: "ana", now: 2)
        try book.perform(.shelve(.oneShot, until: nil, reason: "known, feeder works"), on: id, by: "ana", now: 3)
        XCTAssertTrue(book.visible.isEmpty)
        _ = book.takeTransitions()
        book.clear(.suspectedTheft, asset: asset, now: 10)
        let ts = book.takeTransitions()
        XCTAssertEqual(ts.map(\.event), [.cleared, .unshelved])
        XCTAssertEqual(ts.last?.by, "system")
        XCTAssertNil(book.alarm(id: id)?.shelving)
        XCTAssertThrowsError(try book.perform(.shelve(.oneShot, until: nil, reason: "x"), on: id, by: "ana", now: 11)) {
            XCTAssertEqual($0 as? AlarmActionError, .oneShotNeedsActiveAlarm(id))
        }
        // Operator unshelve of a timed shelf.
        book.raise(cond(), now: 12)
        try book.perform(.shelve(.timed, until: 1000, reason: "r"), on: id, by: "ana", now: 13)
        let u = try book.perform(.unshelve(reason: "done"), on: id, by: "bo", now: 14)
        XCTAssertEqual(u.event, .unshelved)
        XCTAssertEqual(u.by, "bo")
        XCTAssertEqual(book.visible.map(\.id), [id])
        XCTAssertTrue(book.tick(now: 2000).isEmpty, "no stale expiry after an unshelve")
    }

    func testOutOfServiceHidesButKeepsEvaluating() throws {
        var book = AlarmBook()
        let id = book.raise(cond(), now: 1)!.alarm.id
        XCTAssertThrowsError(try book.perform(.removeFromService(reason: ""), on: id, by: "ana", now: 2))
        let o = try book.perform(.removeFromService(reason: "meter replaced"), on: id, by: "ana", now: 2)
        XCTAssertEqual(o.event, .outOfService)
        XCTAssertEqual(o.alarm.outOfService?.reason, "meter replaced")
        XCTAssertTrue(book.visible.isEmpty)
        XCTAssertEqual(book.outOfService.count, 1)
        XCTAssertThrowsError(try book.perform(.removeFromService(reason: "again"), on: id, by: "ana", now: 3))
        book.clear(.suspectedTheft, asset: asset, now: 4)
        XCTAssertFalse(book.alarm(id: id)!.active)
        book.raise(cond(), now: 5)
        XCTAssertFalse(book.alarm(id: id)!.annunciated, "raised while out of service: nobody was shown it")
        let r = try book.perform(.returnToService(reason: nil), on: id, by: "ana", now: 6)
        XCTAssertEqual(r.event, .returnedToService)
        XCTAssertTrue(r.alarm.annunciated)
        XCTAssertEqual(book.visible.map(\.id), [id])
    }

    func testOnDelayAndOffDelayStopChatter() {
        var policies = AlarmPolicy.defaults
        policies[.suspectedTheft] = AlarmPolicy(priority: .high, onDelay: .evaluations(3), offDelay: .seconds(30))
        var book = AlarmBook(policies: policies)
        XCTAssertNil(book.raise(cond(), now: 0))
        XCTAssertNil(book.raise(cond(), now: 1))
        XCTAssertNil(book.clear(.suspectedTheft, asset: asset, now: 2), "an absence resets the on-delay")
        XCTAssertNil(book.raise(cond(), now: 3))
        XCTAssertNil(book.raise(cond(), now: 4))
        XCTAssertEqual(book.raise(cond(), now: 5)?.event, .raised, "third consecutive evaluation")
        // Hovering at the threshold: present/absent every second never clears, never re-raises.
        for t in stride(from: 6.0, to: 120, by: 2) {
            XCTAssertNil(book.clear(.suspectedTheft, asset: asset, now: t))
            XCTAssertNil(book.raise(cond(), now: t + 1))
        }
        XCTAssertEqual(book.alarm(id: 1)?.count, 1)
        XCTAssertNil(book.clear(.suspectedTheft, asset: asset, now: 200))
        XCTAssertNil(book.clear(.suspectedTheft, asset: asset, now: 220))
        XCTAssertEqual(book.clear(.suspectedTheft, asset: asset, now: 230)?.event, .cleared)
        // Seconds-based delays also complete on tick.
        policies[.nodeDown] = AlarmPolicy(priority: .medium, onDelay: .seconds(5))
        book.policies = policies
        let node = cond(kind: .nodeDown, asset: .zero)
        XCTAssertNil(book.raise(node, now: 300))
        XCTAssertTrue(book.tick(now: 304).isEmpty)
        XCTAssertEqual(book.tick(now: 305).map(\.event), [.raised])
        XCTAssertEqual(book.alarm(id: 2)?.priority, .medium)
    }

    func testDefaultPoliciesAreDocumented() {
        for k in AlarmKind.allCases { XCTAssertEqual(AlarmPolicy.default(for: k).priority, k.defaultPriority) }
        XCTAssertEqual(AlarmPolicy.default(for: .nodeDown).offDelay, .seconds(10))
        XCTAssertEqual(AlarmPolicy.default(for: .nodeDivergent).onDelay, .seconds(3))
        XCTAssertTrue(AlarmPolicy.default(for: .suspectedTheft).onDelay.isImmediate)
    }

    func testReplayRebuildsTheSameBookAndKeepsForeignActions() throws {
        var book = AlarmBook()
        var log: [AlarmTransition] = []
        let a = book.raise(cond(), now: 1)!.alarm.id
        let b = book.raise(cond(kind: .staleMeter, asset: AssetID.asset(code: "M")), now: 2)!.alarm.id
        try book.perform(.acknowledge(comment: "seen"), on: a, by: "ana", now: 3)
        try book.perform(.shelve(.timed, until: 5000, reason: "crew"), on: b, by: "ana", now: 4)
        book.setSuppression(id: a, cause: b, now: 5)
        try book.perform(.comment("c"), on: a, by: "bo", now: 6)
        try book.perform(.removeFromService(reason: "r"), on: a, by: "bo", now: 7)
        book.clear(.suspectedTheft, asset: asset, now: 8)
        log += book.takeTransitions()
        let rebuilt = AlarmBook(replaying: log)
        XCTAssertEqual(rebuilt.alarms, book.alarms)
        XCTAssertEqual(rebuilt.nextId, book.nextId)
        // An action journalled by another process is not undone by an older copy's detector transition.
        var other = AlarmBook(replaying: log)
        let foreignAck = try other.perform(.acknowledge(comment: nil), on: b, by: "cli", now: 9)
        book.clear(.staleMeter, asset: AssetID.asset(code: "M"), now: 10)  // book never saw the ack
        var merged = AlarmBook(replaying: log + [foreignAck] + book.takeTransitions())
        XCTAssertEqual(merged.alarm(id: b)?.acknowledged, true)
        XCTAssertEqual(merged.alarm(id: b)?.active, false)
        XCTAssertEqual(merged.alarm(id: b)?.shelving?.reason, "crew")
        XCTAssertEqual(merged.tick(now: 5000).map(\.event), [.unshelved], "restored timed shelves still expire")
    }
}

final class AlarmKPITests: XCTestCase {
    func cond(_ i: Int, kind: AlarmKind = .staleMeter) -> AlarmCondition {
        AlarmCondition(kind: kind, asset: AssetID(uint: UInt64(i)), assetName: "M\(i)", stage: .consumer, message: "")
    }

    func testFloodRateAndPercentTimeInFlood() {
        var book = AlarmBook()
        for i in 0..<12 { book.raise(cond(i), now: 1000 + Double(i) * 10) }  // 12 within 110 s
        var k = book.kpis(now: 1200)
        XCTAssertEqual(k.alarmsLast10Minutes, 12)
        XCTAssertTrue(k.inFlood)
        // Flood from the 10th alarm (t=1090) until the 3rd leaves the window (1020+600=1620).
        k = book.kpis(now: 1000 + 3600)
        XCTAssertFalse(k.inFlood)
        XCTAssertEqual(k.percentTimeInFlood, 100 * 530 / 3600, accuracy: 0.01)
        XCTAssertEqual(k.averagePer10Minutes, 12 * 600 / 3600, accuracy: 0.01)
        XCTAssertEqual(AlarmKPITracker.timeInFlood([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], from: 0, to: 1000), 591)
    }

    func testShelvedAndSuppressedRaisesAreNotAnnunciated() throws {
        var book = AlarmBook()
        book.raise(cond(1), now: 0)
        book.raise(cond(2), now: 0, inhibitedBy: 1)
        try book.perform(.shelve(.timed, until: 1000, reason: "r"), on: 1, by: "a", now: 1)
        book.clear(.staleMeter, asset: AssetID(uint: 1), now: 2)
        book.raise(cond(1), now: 3)
        let k = book.kpis(now: 10)
        XCTAssertEqual(k.alarmsLast10Minutes, 1)
        XCTAssertEqual(k.shelved, 1)
        XCTAssertEqual(k.suppressed, 1)
        XCTAssertEqual(book.inhibited.map(\.id), [2])
    }

    func testChatteringStaleBadActorsAndPriorityMix() {
        var book = AlarmBook()
        for t in [0.0, 20, 40] {
            book.raise(cond(1), now: t)
            book.clear(.staleMeter, asset: AssetID(uint: 1), now: t + 5)
        }
        book.raise(cond(2, kind: .suspectedTheft), now: 50)
        book.raise(cond(3, kind: .conflictingReading), now: 55)
        var k = book.kpis(now: 60)
        XCTAssertEqual(k.chattering, [1])
        XCTAssertEqual(k.badActors.first?.id, 1)
        XCTAssertEqual(k.badActors.first?.count, 3)
        XCTAssertEqual(k.badActors.first?.share ?? 0, 60, accuracy: 0.01)
        XCTAssertEqual(k.priorityCounts[.low], 3)
        XCTAssertEqual(k.priorityMix.low, 60, accuracy: 0.01)
        XCTAssertEqual(k.priorityMix.medium, 20, accuracy: 0.01)
        XCTAssertEqual(k.priorityMix.high, 20, accuracy: 0.01)
        k = book.kpis(now: 200)
        XCTAssertEqual(k.chattering, [], "quiet for a minute: no longer chattering")
        XCTAssertEqual(k.staleAlarms, 0)
        k = book.kpis(now: 60 + 86_401)
        XCTAssertEqual(k.staleAlarms, 2, "active for more than 24 h")
        XCTAssertEqual(k.alarmsLast10Minutes, 0)
        XCTAssertNotNil(k.json["priorityMix"]?["low"])
    }
}
