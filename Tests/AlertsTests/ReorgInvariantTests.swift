import ChainCore
import GridCore
import XCTest
@testable import Alerts

/// Issue #17: after any sequence of reorgs the monitor's state equals that of a fresh monitor
/// fed the final chain; alarms whose evidence was orphaned end documented, confirmed ones keep
/// everything operators did, new-branch-only ones are raised. Pure: the clock is passed in.
final class ReorgInvariantTests: XCTestCase {
    typealias F = ChainFixture
    static let root = Bytes32.asset(code: "GSP"), gen = Bytes32.asset(code: "GEN"), fdr = Bytes32.asset(code: "FDR")
    static let t1 = Bytes32.asset(code: "T1"), t2 = Bytes32.asset(code: "T2")
    static let consumers: [AssetID: [AssetID]] = [
        t1: (1...3).map { Bytes32.asset(code: "T1-C\($0)") }, t2: (1...3).map { Bytes32.asset(code: "T2-C\($0)") },
    ]

    /// A block as the ledger client delivers it, on a branch (`salt` tells branches apart).
    struct Block { var number: UInt64; var events: [GridEvent]; var salt: UInt64 }

    static func hash(_ b: Block) -> Bytes32 { Bytes32(uint: 0x7000_0000 + b.number + (b.salt << 32)) }

    static func update(_ b: Block, parent: Block?) -> LedgerUpdate {
        let h = hash(b)
        let ph = parent.map(hash) ?? .zero
        return .block(ChainBlock(header: BlockHeader(number: b.number, hash: h, parentHash: ph, timestamp: b.number * 5, miner: .zero),
                                 events: b.events.enumerated().map { i, e in
                                     LocatedEvent(event: e, origin: EventOrigin(blockNumber: b.number, blockHash: h,
                                                                                transactionHash: Bytes32(uint: b.number * 1000 + UInt64(i) + (b.salt << 40)),
                                                                                logIndex: UInt32(i)))
                                 }))
    }

    static var registrations: [GridEvent] {
        var out = [F.register(root, under: .zero, .transmission, "GSP"), F.register(gen, under: root, .generation, "GEN"),
                   F.register(fdr, under: root, .feeder, "FDR"), F.register(t1, under: fdr, .transformer, "T1"),
                   F.register(t2, under: fdr, .transformer, "T2")]
        for t in [t1, t2] { for c in consumers[t]! { out.append(F.register(c, under: t, .consumer, "consumer")) } }
        return out
    }

    /// Interval k's readings: physically consistent; `theft` hides 40 % of one consumer's use.
    static func readings(_ k: UInt64, theftUnder: AssetID? = nil, bias: Int = 0) -> [GridEvent] {
        var out: [GridEvent] = []
        var fdrIn = 0.0
        for t in [t1, t2] {
            var sum = 0.0
            for (i, c) in consumers[t]!.enumerated() {
                let use = 800 + 150 * Double(i) + 300 * sin(Double(k) / 7 + Double(i)) + Double(bias)
                sum += use
                let recorded = (t == theftUnder && i == 1) ? use * 0.6 : use
                out.append(F.reading(c, k, import: UInt64(recorded.rounded())))
            }
            let imp = sum * 1.03 + 10
            fdrIn += imp
            out.append(F.reading(t, k, import: UInt64(imp.rounded())))
        }
        let f = fdrIn * 1.01
        out.append(F.reading(fdr, k, import: UInt64(f.rounded())))
        out.append(F.reading(gen, k, import: 0, export: UInt64((f * 1.002).rounded())))
        return out
    }

    /// Registrations in block 1, then one block per interval from block 2 (interval k in block k + 2).
    static func chain(intervals: Range<UInt64>, salt: UInt64 = 0, theftUnder: AssetID? = nil, theftFrom: UInt64 = .max, bias: Int = 0) -> [Block] {
        intervals.map { k in
            Block(number: k + 2, events: readings(k, theftUnder: k >= theftFrom ? theftUnder : nil, bias: bias), salt: salt)
        }
    }

    /// Feeds a chain, with reorgs as the client reports them: retracts newest first, the report, the new branch.
    struct Feed {
        var m = Monitor()
        var canonical: [Block] = []
        var transitions: [AlarmTransition] = []
        var now = 1000.0

        mutating func extend(_ blocks: [Block]) {
            for b in blocks {
                now += 1
                transitions += m.apply(ReorgInvariantTests.update(b, parent: canonical.last), now: now)
                canonical.append(b)
            }
        }

        /// Replaces every block above `forkBelow` with `branch`.
        mutating func reorg(to branch: [Block]) {
            let first = branch[0].number
            let orphaned = canonical.filter { $0.number >= first }
            canonical.removeAll { $0.number >= first }
            for o in orphaned.reversed() {
                now += 0.01
                transitions += m.apply(.retract(number: o.number, hash: ReorgInvariantTests.hash(o)), now: now)
            }
            let head = branch.last!
            transitions += m.apply(.reorg(ReorgReport(newHead: head.number, newHeadHash: ReorgInvariantTests.hash(head), depth: orphaned.count,
                                                      limit: 64, beyondLimit: false)), now: now)
            extend(branch)
        }

        /// A monitor that never saw the dropped branches.
        func fresh() -> Monitor {
            var f = Monitor()
            var parent: Block?
            for b in canonical {
                _ = f.apply(ReorgInvariantTests.update(b, parent: parent), now: now)
                parent = b
            }
            return f
        }
    }

    func start(clean: UInt64 = 10) -> Feed {
        var feed = Feed()
        _ = feed.m.apply(.chain(id: 7), now: feed.now)
        feed.extend([Block(number: 1, events: Self.registrations, salt: 0)])
        feed.extend(Self.chain(intervals: 0..<clean))
        return feed
    }

    func assertEqualsFresh(_ feed: Feed, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let live = MonitorState(feed.m), fresh = MonitorState(feed.fresh())
        XCTAssertEqual(live.activeAlarms, fresh.activeAlarms, "\(what): active alarms", file: file, line: line)
        XCTAssertEqual(live.stages, fresh.stages, "\(what): per-stage energy", file: file, line: line)
        XCTAssertEqual(live.balances, fresh.balances, "\(what): per-segment balances", file: file, line: line)
        XCTAssertEqual(live, fresh, "\(what): state", file: file, line: line)
        XCTAssertEqual(feed.m.detectors[Self.t1]?.cusum, feed.fresh().detectors[Self.t1]?.cusum, "\(what): T1's detector", file: file, line: line)
    }

    func theft(_ m: Monitor, _ asset: AssetID) -> Alarm? { m.book[AlarmKey(kind: .suspectedTheft, asset: asset)] }

    func testTheftOnTheDroppedBranchIsClearedAsOrphanedAndItsAcknowledgementIsKept() throws {
        var feed = start()
        feed.extend(Self.chain(intervals: 10..<13, salt: 1, theftUnder: Self.t1, theftFrom: 10))
        let raised = try XCTUnwrap(theft(feed.m, Self.t1))
        XCTAssertTrue(raised.active)
        _ = try feed.m.perform(.acknowledge(comment: "crew sent"), on: raised.id, by: "ana", now: feed.now)
        let before = feed.transitions.count
        feed.reorg(to: Self.chain(intervals: 10..<14, salt: 2, bias: 15))
        let after = Array(feed.transitions[before...])
        let cleared = after.filter { $0.event == .cleared && $0.alarm.kind == .suspectedTheft }
        XCTAssertEqual(cleared.count, 1, "\(after.map { "\($0.event) \($0.alarm.kind)" })")
        XCTAssertEqual(cleared.first?.reason, "evidence orphaned by the reorg at #12")
        XCTAssertEqual(cleared.first?.alarm.message, "evidence orphaned by the reorg at #12")
        let a = try XCTUnwrap(theft(feed.m, Self.t1))
        XCTAssertFalse(a.active)
        XCTAssertTrue(a.acknowledged, "the operator's acknowledgement is kept")
        XCTAssertEqual(a.acknowledgedBy, "ana")
        XCTAssertEqual(a.id, raised.id)
        XCTAssertFalse(after.contains { $0.event == .raised && $0.alarm.kind == .suspectedTheft }, "nothing raised by the honest branch: \(after.filter { $0.event == .raised }.map { "\($0.alarm.kind) \($0.alarm.assetName)" })")
        assertEqualsFresh(feed, "dropped-branch theft")
    }

    func testTheftTheNewBranchConfirmsStaysWithItsEvidenceMoved() throws {
        var feed = start()
        feed.extend(Self.chain(intervals: 10..<12, salt: 1, theftUnder: Self.t1, theftFrom: 10))
        let raised = try XCTUnwrap(theft(feed.m, Self.t1))
        _ = try feed.m.perform(.shelve(.timed, until: feed.now + 3600, reason: "known works"), on: raised.id, by: "ana", now: feed.now)
        let before = feed.transitions.count
        let branch = Self.chain(intervals: 10..<13, salt: 2, theftUnder: Self.t1, theftFrom: 10, bias: 15)
        feed.reorg(to: branch)
        let after = Array(feed.transitions[before...])
        XCTAssertFalse(after.contains { $0.alarm.kind == .suspectedTheft && ($0.event == .raised || $0.event == .cleared) },
                       "a confirmed alarm neither clears nor repeats: \(after.map { "\($0.event)" })")
        let moved = after.filter { $0.event == .evidenceMoved }
        XCTAssertEqual(moved.count, 1)
        XCTAssertEqual(moved.first?.alarm.origin?.blockHash, Self.hash(branch[0]), "evidence is the new branch's T1 reading")
        XCTAssertEqual(moved.first?.reason, "evidence moved to block #12 (\(Self.hash(branch[0]).short)) by the reorg at #12")
        let a = try XCTUnwrap(theft(feed.m, Self.t1))
        XCTAssertTrue(a.active)
        XCTAssertEqual(a.id, raised.id)
        XCTAssertEqual(a.count, 1)
        XCTAssertEqual(a.shelving?.reason, "known works", "the shelf is kept")
        // The journal's replay gives the same alarm.
        let replayed = AlarmBook(replaying: feed.transitions)
        XCTAssertEqual(replayed[a.key]?.origin, a.origin)
        assertEqualsFresh(feed, "confirmed theft")
    }

    func testTheftOnlyOnTheNewBranchIsRaised() throws {
        var feed = start()
        feed.extend(Self.chain(intervals: 10..<13, salt: 1))
        XCTAssertNil(theft(feed.m, Self.t2))
        let before = feed.transitions.count
        feed.reorg(to: Self.chain(intervals: 10..<14, salt: 2, theftUnder: Self.t2, theftFrom: 10))
        let raised = feed.transitions[before...].filter { $0.event == .raised && $0.alarm.kind == .suspectedTheft }
        XCTAssertEqual(raised.map(\.alarm.asset), [Self.t2])
        assertEqualsFresh(feed, "new-branch theft")
    }

    /// A settled interval that the new branch carries with other readings is balanced and judged
    /// again (the old `settleReady` skipped every interval at or before the last settled one).
    func testSettledIntervalsAreRebalancedAtEveryDepthAndAfterSuccessiveReorgs() {
        for depth in [1, 3, 10] {
            var feed = start()
            feed.extend(Self.chain(intervals: 10..<UInt64(10 + depth), salt: 1, theftUnder: Self.t1, theftFrom: 10))
            feed.reorg(to: Self.chain(intervals: 10..<UInt64(11 + depth), salt: 2, theftUnder: Self.t2, theftFrom: 11, bias: 20))
            assertEqualsFresh(feed, "depth \(depth)")
            // A second reorg on top, shallower, back to an honest branch.
            feed.reorg(to: Self.chain(intervals: UInt64(10 + depth)..<UInt64(13 + depth), salt: 3, bias: -10))
            assertEqualsFresh(feed, "depth \(depth) then 1")
        }
    }

    func testConflictingReadingWhoseKeptCopyIsOrphanedGivesWayToTheCanonicalOne() throws {
        var feed = start()
        // Block 12 carries T2's reading for interval 10 inflated; block 13 the honest one (a conflict).
        var liar = Self.readings(10)
        liar = liar.map { e in
            if case .meterReading(var r) = e, r.asset == Self.t2 { r.importWh += 700; return .meterReading(r) }
            return e
        }
        feed.extend([Block(number: 12, events: liar, salt: 1)])
        feed.extend([Block(number: 13, events: Self.readings(10) + Self.readings(11), salt: 1)])
        XCTAssertTrue(feed.m.book[AlarmKey(kind: .conflictingReading, asset: Self.t2)]?.active ?? false)
        let msg = feed.m.book[AlarmKey(kind: .conflictingReading, asset: Self.t2)]?.message ?? ""
        XCTAssertTrue(msg.hasPrefix("two readings for interval \(UTCTime.minuteText(10 * 900)): "), msg)
        // The block with the inflated copy is orphaned; the new branch carries only honest readings.
        feed.reorg(to: [Block(number: 12, events: [], salt: 2), Block(number: 13, events: Self.readings(10) + Self.readings(11), salt: 2),
                        Block(number: 14, events: Self.readings(12), salt: 2)])
        XCTAssertFalse(feed.m.book[AlarmKey(kind: .conflictingReading, asset: Self.t2)]?.active ?? true)
        XCTAssertEqual(feed.m.ledger.reading(Self.t2, 10 * 900), Self.readings(10).compactMap { if case .meterReading(let r) = $0, r.asset == Self.t2 { return r }; return nil }.first)
        XCTAssertFalse(theft(feed.m, Self.t2)?.active ?? false, "the inflated copy's theft is gone with it")
        assertEqualsFresh(feed, "conflict")
    }

    /// A retract that no `.reorg` report follows (the client dropping a lying node's blocks) is
    /// taken in at the next update.
    func testRetractWithoutReportIsTakenInAtTheNextTick() throws {
        var feed = start()
        feed.extend(Self.chain(intervals: 10..<12, salt: 1, theftUnder: Self.t1, theftFrom: 10))
        XCTAssertTrue(theft(feed.m, Self.t1)?.active ?? false)
        let last = feed.canonical.removeLast(), previous = feed.canonical.removeLast()
        _ = feed.m.apply(.retract(number: last.number, hash: Self.hash(last)), now: feed.now)
        _ = feed.m.apply(.retract(number: previous.number, hash: Self.hash(previous)), now: feed.now)
        XCTAssertTrue(feed.m.reorgInProgress)
        let out = feed.m.tick(now: feed.now + 1)
        XCTAssertFalse(feed.m.reorgInProgress)
        XCTAssertEqual(out.filter { $0.event == .cleared }.map(\.reason), ["evidence orphaned by the reorg at #12"])
        XCTAssertEqual(MonitorState(feed.m).balances, MonitorState(feed.fresh()).balances)
    }
}
