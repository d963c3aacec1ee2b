import AlarmJournal
import Alerts
import ChainCore
import ControlRoom
import Foundation
import GridCore
import Synchronization
import XCTest

/// The control room on a real SQLite journal in a temporary folder: order of actions,
/// durability before display, rows of other processes, and two consoles on one alarm.
final class ControlRoomTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("controlroom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    var dbPath: String { dir.appendingPathComponent("chain-7.sqlite").path }

    /// A core journalling to `dbPath`, its display probe and its transition stream.
    func makeCore(probe: Probe? = nil, clock: TestClock = TestClock()) async throws -> (ControlRoom, Probe, Stream) {
        let probe = probe ?? Probe()
        let stream = Stream()
        let core = ControlRoom(configuration: MonitorConfiguration(), display: probe.display, clock: { clock.now },
                               sink: { stream.append($0) })
        try await core.enableJournal(dbPath: dbPath, chainId: 7)
        return (core, probe, stream)
    }

    /// A node the client cannot reach: a node-down alarm at once.
    static func refused(_ n: Int) -> LedgerUpdate {
        .nodes([NodeStatus(name: "validator-\(n)", endpoint: "ws://127.0.0.1:\(9000 + n)", connection: .refused,
                           lastError: "connection refused")])
    }

    func testActionsAreAppliedInTheOrderSent() async throws {
        let (core, probe, stream) = try await makeCore()
        let running = Task { await core.consume() }
        await core.submit(.ledger(Self.refused(1)))
        let id = try XCTUnwrap(probe.latest?.monitor.book.alarms.values.first { $0.kind == .nodeDown }?.id)

        // Shelve, unshelve, shelve, …: each is allowed only right after the one before it,
        // so any reordering is refused. Sent from one thread without waiting, like keypresses.
        let until = Date().timeIntervalSince1970 + 3600
        var sent: [OperatorAction] = [.acknowledge(comment: "seen")]
        for i in 0..<20 {
            sent.append(.shelve(.timed, until: until, reason: "crew on site \(i)"))
            sent.append(.comment("note \(i)"))
            sent.append(.unshelve(reason: "back \(i)"))
        }
        let outcomes = Outcomes()
        for (i, a) in sent.enumerated() {
            core.send(.action(OperatorRequest(alarm: id, action: a, by: "alice"), reply: { outcomes.append(i, $0) }))
        }
        await core.submit(.tick)
        core.finish()
        await running.value

        let got = outcomes.all
        XCTAssertEqual(got.map { $0.0 }, Array(sent.indices), "replies in the order sent")
        XCTAssertEqual(got.compactMap { $0.1.refusal?.description }, [], "none refused: applied in order")
        let journalled = try AlarmJournal(path: dbPath, chainId: 7).entries(alarm: id).filter { $0.transition.event.isOperatorAction }
        XCTAssertEqual(journalled.map(\.transition.event), sent.map(\.event))
        XCTAssertEqual(journalled.map(\.transition.reason), sent.map(Self.reason))
        XCTAssertEqual(stream.events(of: id).filter(\.isOperatorAction), sent.map(\.event), "the stream in the same order")
        XCTAssertNil(probe.latest?.monitor.book.alarm(id: id)?.shelving, "ends unshelved")
    }

    static func reason(_ a: OperatorAction) -> String? {
        switch a {
        case .acknowledge(let c): return c
        case .shelve(_, _, let r), .removeFromService(let r): return r
        case .unshelve(let r), .returnToService(let r): return r
        case .comment(let t): return t
        }
    }

    func testTheJournalHoldsEveryTransitionBeforeTheDisplayShowsIt() async throws {
        // The probe reads the journal through its own connection each time the core shows a
        // state: every alarm on show must already be there, in the state shown.
        let clock = TestClock()
        let (core, probe, _) = try await makeCore(clock: clock)
        let reader = try AlarmJournal(path: dbPath, chainId: 7)
        probe.check = { state in
            var problems: [String] = []
            let book = AlarmBook(replaying: (try? reader.entries().map(\.transition)) ?? [])
            for a in state.monitor.book.alarms.values {
                guard let j = book.alarm(id: a.id) else { problems.append("alarm \(a.id) shown before journalled"); continue }
                if j.active != a.active || j.acknowledged != a.acknowledged || (j.shelving == nil) != (a.shelving == nil) || j.comments != a.comments {
                    problems.append("alarm \(a.id) shown as active=\(a.active) ack=\(a.acknowledged) shelved=\(a.shelving != nil) comments=\(a.comments); journal: \(j.active) \(j.acknowledged) \(j.shelving != nil) \(j.comments)")
                }
            }
            return problems
        }
        let running = Task { await core.consume() }
        for n in 1...3 { await core.submit(.ledger(Self.refused(n))) }
        let ids = try XCTUnwrap(probe.latest?.monitor.book.alarms.values.map(\.id).sorted())
        XCTAssertEqual(ids.count, 3)
        for id in ids {
            await core.submit(.action(OperatorRequest(alarm: id, action: .acknowledge(comment: nil), by: "alice")))
            await core.submit(.action(OperatorRequest(alarm: id, action: .comment("crew called"), by: "alice")))
        }
        await core.submit(.action(OperatorRequest(alarm: ids[0], action: .shelve(.oneShot, until: nil, reason: "known outage"), by: "alice")))
        // The nodes come back (and stay for the 10 s off-delay): detector transitions (cleared)
        // go through the same gate.
        let back = LedgerUpdate.nodes((1...3).map {
            NodeStatus(name: "validator-\($0)", endpoint: "ws://127.0.0.1:\(9000 + $0)", connection: .connected, trust: .verified)
        })
        await core.submit(.ledger(back))
        clock.advance(11)
        await core.submit(.ledger(back))
        core.finish()
        await running.value

        XCTAssertEqual(probe.problems, [])
        let last = try XCTUnwrap(probe.latest?.monitor.book)
        XCTAssertTrue(ids.allSatisfy { last.alarm(id: $0)?.acknowledged == true && last.alarm(id: $0)?.active == false })
        XCTAssertGreaterThanOrEqual(probe.shown, 10, "one state per change")
        XCTAssertEqual(try reader.entries().filter { $0.transition.event == .cleared }.count, 3)
    }

    func testARowWrittenByAnotherConnectionIsPickedUpOnce() async throws {
        let (core, probe, stream) = try await makeCore()
        let running = Task { try await core.run(tickEvery: .seconds(3600), journalEvery: .milliseconds(20)) }
        await core.submit(.ledger(Self.refused(1)))
        let id = try XCTUnwrap(probe.latest?.monitor.book.alarms.values.first?.id)

        // `gridtop alarms ack` in another process: its own connection to the same file.
        let cli = try AlarmJournal(path: dbPath, chainId: 7)
        let written = try cli.perform(.acknowledge(comment: "from the alarms CLI"), on: id, by: "bob")
        XCTAssertEqual(written.count, 1)

        let deadline = Date().addingTimeInterval(10)
        while probe.latest?.monitor.book.alarm(id: id)?.acknowledgedBy != "bob" && Date() < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let shown = try XCTUnwrap(probe.latest?.monitor.book.alarm(id: id))
        XCTAssertEqual(shown.acknowledgedBy, "bob", "the other process's acknowledgement is on screen")
        XCTAssertEqual(shown.acknowledgeComment, "from the alarms CLI")
        try await Task.sleep(for: .milliseconds(200))  // ten more polls
        XCTAssertEqual(stream.events(of: id), [.raised, .acknowledged], "streamed once, not once per poll")

        // The core's own next action on the alarm is checked against that row.
        let outcome = await core.perform(OperatorRequest(alarm: id, action: .acknowledge(comment: nil), by: "alice"))
        XCTAssertEqual(outcome.refusal?.rule, .alreadyAcknowledged(id))
        running.cancel()
        _ = try? await running.value
    }

    func testTwoConsolesActOnOneAlarmTheSecondIsRefusedWithTheReason() async throws {
        let (alice, aliceProbe, _) = try await makeCore()
        let aliceRuns = Task { await alice.consume() }
        await alice.submit(.ledger(Self.refused(1)))
        let id = try XCTUnwrap(aliceProbe.latest?.monitor.book.alarms.values.first?.id)

        // A second console on the same journal file: it restores the alarm from it, unacknowledged.
        let (bob, bobProbe, bobStream) = try await makeCore()
        let bobRuns = Task { await bob.consume() }
        await bob.submit(.tick)
        XCTAssertEqual(bobProbe.latest?.monitor.book.alarm(id: id)?.acknowledged, false)

        let first = await alice.perform(OperatorRequest(alarm: id, action: .acknowledge(comment: "on it"), by: "alice"))
        guard case .done(let ts) = first else { return XCTFail("\(first)") }
        XCTAssertEqual(ts.map(\.event), [.acknowledged])
        // Bob's screen has not caught up yet: his console still offers the acknowledgement.
        let second = await bob.perform(OperatorRequest(alarm: id, action: .acknowledge(comment: nil), by: "bob"))
        let refusal = try XCTUnwrap(second.refusal, "\(second)")
        XCTAssertEqual(refusal.rule, .alreadyAcknowledged(id))
        XCTAssertTrue(refusal.description.hasPrefix("acknowledge of alarm \(id) by bob refused: alarm \(id) is already acknowledged by alice at "),
                      refusal.description)
        // Refused means nothing written; and bob's screen now shows who acknowledged, and why he was refused.
        let rows = try AlarmJournal(path: dbPath, chainId: 7).entries(alarm: id)
        XCTAssertEqual(rows.map(\.transition.event), [.raised, .acknowledged])
        XCTAssertEqual(bobProbe.latest?.monitor.book.alarm(id: id)?.acknowledgedBy, "alice")
        XCTAssertTrue(bobProbe.latest?.monitor.snapshot(now: 0).warnings.contains(refusal.description) == true)
        XCTAssertEqual(bobStream.events(of: id), [.acknowledged], "alice's row streamed by bob's core, bob's refusal not")

        // Two senders on one core, at the same moment: exactly one wins, the other is told who.
        let carol = OperatorRequest(alarm: id, action: .removeFromService(reason: "sensor swap"), by: "carol")
        let dave = OperatorRequest(alarm: id, action: .removeFromService(reason: "maintenance"), by: "dave")
        async let c = alice.perform(carol)
        async let d = alice.perform(dave)
        let outcomes = await [c, d]
        XCTAssertEqual(outcomes.filter { $0.refusal == nil }.count, 1)
        let lost = try XCTUnwrap(outcomes.compactMap(\.refusal).first)
        let winner = lost.request.by == "carol" ? "dave" : "carol"
        XCTAssertTrue(lost.description.contains("is already out of service (by \(winner) at "), lost.description)

        alice.finish(); bob.finish()
        await aliceRuns.value
        await bobRuns.value
    }

    func testWithoutAJournalActionsAreCheckedInMemory() async throws {
        let probe = Probe()
        let core = ControlRoom(configuration: MonitorConfiguration(), display: probe.display)
        let running = Task { await core.consume() }
        await core.submit(.ledger(Self.refused(1)))
        let id = try XCTUnwrap(probe.latest?.monitor.book.alarms.values.first?.id)
        let ok = await core.perform(OperatorRequest(alarm: id, action: .acknowledge(comment: nil), by: "alice"))
        XCTAssertNil(ok.refusal)
        let again = await core.perform(OperatorRequest(alarm: id, action: .acknowledge(comment: nil), by: "bob"))
        XCTAssertTrue(again.refusal?.description.contains("already acknowledged by alice") == true, "\(again)")
        let unknown = await core.perform(OperatorRequest(alarm: 999, action: .comment("x"), by: "alice"))
        XCTAssertEqual(unknown.refusal?.reason, "no alarm 999")
        core.finish()
        await running.value
    }
}

final class OperatorIdentityTests: XCTestCase {
    func testTheNameIsFoundOneWayFlagConfigEnvironmentUser() {
        let env = ["GRIDTOP_OPERATOR": "desk-2", "USER": "ops"]
        XCTAssertEqual(OperatorIdentity.resolve(option: "ana", configured: "bo", environment: env), "ana")
        XCTAssertEqual(OperatorIdentity.resolve(option: " ", configured: "bo", environment: env), "bo", "blank skipped")
        XCTAssertEqual(OperatorIdentity.resolve(environment: env), "desk-2")
        XCTAssertEqual(OperatorIdentity.resolve(environment: ["USER": "ops"]), "ops")
        XCTAssertFalse(OperatorIdentity.resolve(environment: [:]).isEmpty, "the login name, or uid-N")
    }
}

extension ControlRoom {
    /// Sends one action and waits for its outcome.
    func perform(_ request: OperatorRequest) async -> ActionOutcome {
        let box = Mutex<ActionOutcome?>(nil)
        await submit(.action(request, reply: { o in box.withLock { $0 = o } }))
        return box.withLock { $0 } ?? .refused(ActionRefusal(request: request, reason: "the core stopped"))
    }
}

/// What the core showed, as a display would see it.
final class Probe: Sendable {
    private let state = Mutex<(states: [ControlRoomState], problems: [String])>(([], []))
    private let checker = Mutex<(@Sendable (ControlRoomState) -> [String])?>(nil)

    var check: (@Sendable (ControlRoomState) -> [String])? {
        get { checker.withLock { $0 } }
        set { checker.withLock { $0 = newValue } }
    }

    var display: Display { Display(probe: self) }
    var latest: ControlRoomState? { state.withLock { $0.states.last } }
    var shown: Int { state.withLock { $0.states.count } }
    var problems: [String] { state.withLock { $0.problems } }

    func show(_ s: ControlRoomState) {
        let found = check?(s) ?? []
        state.withLock { $0.states.append(s); $0.problems += found }
    }

    struct Display: ControlRoomDisplay {
        let probe: Probe
        mutating func show(_ state: ControlRoomState) { probe.show(state) }
    }
}

/// The core's transition stream (what `gridtop alerts --json` prints).
final class Stream: Sendable {
    private let list = Mutex<[AlarmTransition]>([])
    func append(_ t: AlarmTransition) { list.withLock { $0.append(t) } }
    func events(of id: Int) -> [AlarmEvent] { list.withLock { $0.filter { $0.alarm.id == id }.map(\.event) } }
}

/// Wall clock the test moves (off-delays, shelve expiry).
final class TestClock: Sendable {
    private let t = Mutex<Double>(Date().timeIntervalSince1970)
    var now: Double { t.withLock { $0 } }
    func advance(_ seconds: Double) { t.withLock { $0 += seconds } }
}

final class Outcomes: Sendable {
    private let list = Mutex<[(Int, ActionOutcome)]>([])
    func append(_ i: Int, _ o: ActionOutcome) { list.withLock { $0.append((i, o)) } }
    var all: [(Int, ActionOutcome)] { list.withLock { $0 } }
}
