// ControlRoom: the application core every front end shares (the dashboard, `gridtop alerts`,
// later the alarm server). It owns the pure `Monitor`, the link to the alarm journal, the
// order in which inputs are applied, and what is shown when.
import AlarmJournal
import Alerts
import ChainCore
import Foundation
import GridCore
import LedgerClient
import Synchronization

/// The control room: one ordered stream of inputs in (ledger updates, clock ticks, operator
/// actions, journal rows of other processes); alarm transitions out — first to the journal
/// (durable), then to the sink (the JSON stream) — and states out to the display.
///
/// Inputs are applied one at a time in the order they were sent, whoever sent them.
/// Every operator action takes one transactional path: `AlarmJournal.perform` reads the
/// alarm's history, checks the action and appends it in one IMMEDIATE transaction, so two
/// consoles (or a console and `gridtop alarms …`) cannot both acknowledge one alarm; the
/// monitor then replays what was committed. Without a journal (`gridtop alerts`), actions are
/// checked and applied in memory.
public actor ControlRoom {
    private var monitor: Monitor
    /// The latest consensus health probe (validators, missed turns, timing).
    private var consensus: ConsensusHealth?
    private var display: (any ControlRoomDisplay)?
    private let sink: @Sendable (AlarmTransition) -> Void
    private let clock: @Sendable () -> Double
    private var journal: JournalLink?
    private var journalling = false
    private var dbPath: String?
    /// For an audit of a past range: stop once this block has been applied.
    private var stopAfter: UInt64?
    private var reachedStop: CheckedContinuation<Void, Never>?
    private var stopReached = false
    /// When the display last got a state. A tick that changed nothing shows only after
    /// `quietPublishEvery` (KPI windows, node ages), not every second: each costs a
    /// snapshot build and a frame.
    private var lastPublish = -Double.infinity
    private let quietPublishEvery = 5.0
    /// Node statuses arrived that the display has not seen yet.
    private var statusPending = false

    private let inputs: AsyncStream<Envelope>
    private let continuation: AsyncStream<Envelope>.Continuation
    private let tickets = Tickets()
    private var consuming = false
    /// The journal once open, for the watcher that reads other processes' rows.
    private let opened = Mutex<(journal: AlarmJournal, after: Int64)?>(nil)

    /// - Parameters:
    ///   - configuration: the monitor's detectors and alarm policies.
    ///   - display: what the screen shows (nil: headless).
    ///   - clock: wall clock, unix seconds (tests pass their own).
    ///   - sink: every alarm transition, once durable, in order.
    public init(configuration: MonitorConfiguration, display: (any ControlRoomDisplay)? = nil,
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                sink: @escaping @Sendable (AlarmTransition) -> Void = { _ in }) {
        monitor = Monitor(configuration: configuration)
        self.display = display
        self.clock = clock
        self.sink = sink
        (inputs, continuation) = AsyncStream.makeStream(of: Envelope.self)
        let tickets = self.tickets
        continuation.onTermination = { _ in tickets.closeAll() }
    }

    private var now: Double { clock() }

    // MARK: Input

    /// Sends an input without waiting (the screen's thread: it must not block).
    /// Inputs are applied in the order sent.
    public nonisolated func send(_ input: ControlRoomInput) {
        continuation.yield(Envelope(input: input, ticket: nil))
    }

    /// Sends an input and returns once it has been applied (or the core has stopped):
    /// the ledger client waits like this, so a fast backfill cannot pile up in memory.
    public nonisolated func submit(_ input: ControlRoomInput) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            guard let ticket = tickets.take(c) else { c.resume(); return }
            if case .terminated = continuation.yield(Envelope(input: input, ticket: ticket)) { tickets.resume(ticket) }
        }
    }

    /// Ends the input stream: `consume` returns once what was sent before has been applied.
    public nonisolated func finish() {
        continuation.finish()
    }

    /// Applies inputs until the stream is finished or the task is cancelled. Call once.
    public func consume() async {
        precondition(!consuming, "ControlRoom.consume() runs once")
        consuming = true
        for await envelope in inputs {
            handle(envelope.input)
            if let t = envelope.ticket { tickets.resume(t) }
        }
    }

    private func handle(_ input: ControlRoomInput) {
        switch input {
        case .ledger(let update): apply(update)
        case .tick: tick()
        case .action(let request, let reply):
            let outcome = perform(request)
            reply?(outcome)
        case .journalRows(let rows):
            if applyForeign(rows) { publish() }
        }
    }

    /// For a headless caller deciding its exit: the node statuses, whether any node was ever
    /// reached, and the standing conditions (every node on the wrong chain, a journal that failed).
    public func standing() -> (nodes: [NodeStatus], reached: Bool, banners: [String]) {
        (monitor.nodes, !monitor.reachedNodes.isEmpty, monitor.banners)
    }

    /// The blocks applied so far and the faulty nodes met, readable without the actor (an
    /// interrupted or failed audit says what it covered).
    public nonisolated let progress = BlockProgress()

    /// The monitor's state as data (`alerts --state-json`).
    public func currentState() -> MonitorState { MonitorState(monitor) }

    // MARK: Journal

    /// Journals every transition. Opens now when the chain id is known (demo,
    /// `--chain-id`), else on the first `.chain(id)`. Call before `run`.
    public func enableJournal(dbPath: String? = nil, chainId: UInt64? = nil) throws {
        journalling = true
        self.dbPath = dbPath
        if let chainId {
            let (link, book) = try JournalLink.open(chainId: chainId, dbPath: dbPath, policies: monitor.configuration.alarmPolicies)
            attach(link, book)
            publish()
        }
    }

    private func openJournal(chainId: UInt64) {
        do {
            let (link, book) = try JournalLink.open(chainId: chainId, dbPath: dbPath, policies: monitor.configuration.alarmPolicies)
            attach(link, book)
        } catch {
            // Not silent: a standing banner on screen, and a headless caller exits on it (`standing()`).
            monitor.addBanner("NO JOURNAL: \(error)")
            warn("alarm journal: cannot open: \(error)")
        }
    }

    private func attach(_ link: JournalLink, _ book: AlarmBook) {
        journal = link
        monitor.restore(book)
        opened.withLock { $0 = (link.journal, link.lastForeignSeq) }
    }

    /// Applies rows other processes wrote (each once, oldest first); true when any was new.
    private func applyForeign(_ rows: [JournalEntry]) -> Bool {
        guard var link = journal else { return false }
        let fresh = link.takeNew(rows)
        journal = link
        guard !fresh.isEmpty else { return false }
        let transitions = fresh.map(\.transition)
        monitor.replay(transitions)
        for t in transitions { sink(t) }
        return true
    }

    /// Reads and applies what other processes wrote (before `limit`, when given) right now.
    private func catchUpForeign(before limit: Int64? = nil) {
        guard let link = journal else { return }
        do {
            _ = applyForeign(try link.foreignRows(before: limit))
        } catch {
            warn("alarm journal: cannot read: \(error)")
        }
    }

    // MARK: Ledger and clock

    private func apply(_ update: LedgerUpdate) {
        if case .chain(let id) = update, journalling, journal == nil { openJournal(chainId: id) }
        if case .consensus(let health) = update { consensus = health }
        let transitions = monitor.apply(update, now: now)
        emit(transitions)
        if case .block(let b) = update { progress.applied(b.header.number) }
        if case .nodes(let statuses) = update { noteFaults(statuses) }
        display?.record(update)
        if case .nodes = update, transitions.isEmpty {
            // The per-second node statuses ride along with the next block's state
            // (or the next tick's): one snapshot and one frame a second, not two.
            statusPending = true
        } else {
            publish()
        }
        if let stop = stopAfter, case .block(let b) = update, b.header.number >= stop, !stopReached {
            stopReached = true
            reachedStop?.resume()
            reachedStop = nil
        }
    }

    /// Faulty nodes are remembered (an audit that met one says so); an audit with no node left
    /// that can be believed stops, failed.
    private func noteFaults(_ statuses: [NodeStatus]) {
        for n in statuses where n.trust == .untrusted { progress.faulty(n.name, n.lastError ?? "untrusted") }
        let excluded = statuses.filter { $0.connection == .refused || $0.trust == .untrusted || $0.trust == .divergent }
        if stopAfter != nil, !statuses.isEmpty, excluded.count == statuses.count, !stopReached {
            progress.fail("no node can be believed: " + excluded.map { "\($0.name) (\($0.lastError ?? $0.trust.rawValue))" }.joined(separator: "; "))
            stopReached = true
            reachedStop?.resume()
            reachedStop = nil
        }
    }

    private func tick() {
        let transitions = monitor.tick(now: now)
        emit(transitions)
        let sinceLast = now - lastPublish
        if !transitions.isEmpty || (statusPending && sinceLast >= 0.9) || sinceLast >= quietPublishEvery { publish() }
    }

    // MARK: Operator actions

    /// One operator action through the one transactional path. Returns once durable; on a refusal
    /// nothing changed and the reason is also shown as a warning.
    private func perform(_ request: OperatorRequest) -> ActionOutcome {
        let at = now
        do {
            let transitions = try transitions(of: request, now: at)
            for t in transitions { sink(t) }
            publish()
            return .done(transitions)
        } catch {
            warn(error.description)
            publish()
            return .refused(error)
        }
    }

    private func transitions(of r: OperatorRequest, now: Double) throws(ActionRefusal) -> [AlarmTransition] {
        guard let link = journal else {
            if journalling {
                throw ActionRefusal(request: r, reason: "the alarm journal is not open yet (the nodes have not told the chain id)")
            }
            do {
                return try monitor.perform(r.action, on: r.alarm, by: r.by, now: now)
            } catch {
                throw ActionRefusal(request: r, reason: explain(error, alarm: r.alarm), rule: error)
            }
        }
        let entries: [JournalEntry]
        do {
            entries = try link.journal.perform(r.action, on: r.alarm, by: r.by, now: now)
        } catch JournalError.action(let rule) {
            // Refused on what the journal holds: learn what others wrote, then say who got there first.
            catchUpForeign()
            throw ActionRefusal(request: r, reason: explain(rule, alarm: r.alarm), rule: rule)
        } catch {
            throw ActionRefusal(request: r, reason: "alarm journal: \(error); nothing was changed")
        }
        // The action was checked against every row before it: apply other processes' rows first.
        catchUpForeign(before: entries.first?.seq)
        let transitions = entries.map(\.transition)
        monitor.replay(transitions)
        return transitions
    }

    /// The rule's words, with who did it when another operator got there first.
    private func explain(_ rule: AlarmActionError, alarm id: Int) -> String {
        let alarm = monitor.book.alarm(id: id)
        switch rule {
        case .alreadyAcknowledged:
            guard let by = alarm?.acknowledgedBy else { break }
            let when = alarm?.acknowledgedAt.map { " at \(AlarmJSON.iso8601($0))" } ?? ""
            return "\(rule.description) by \(by)\(when)"
        case .alreadyOutOfService:
            guard let o = alarm?.outOfService else { break }
            return "\(rule.description) (by \(o.by) at \(AlarmJSON.iso8601(o.at)))"
        default:
            break
        }
        return rule.description
    }

    // MARK: Output

    /// Journal first (fsync), then the stream.
    private func emit(_ transitions: [AlarmTransition]) {
        guard !transitions.isEmpty else { return }
        do {
            try journal?.record(transitions)
        } catch {
            // Standing, not a passing warning: nothing after this is durable until it is fixed.
            monitor.addBanner("NO JOURNAL: \(error)")
            warn("alarm journal: write failed, \(transitions.count) transitions not journalled: \(error)")
        }
        for t in transitions { sink(t) }
    }

    private func warn(_ text: String) {
        _ = monitor.apply(.warning(text), now: now)
    }

    private func publish() {
        guard display != nil else { return }
        lastPublish = now
        statusPending = false
        display?.show(ControlRoomState(monitor: monitor, consensus: consensus, now: lastPublish))
    }

    // MARK: Running

    /// Runs the core with its input sources until cancelled: the ledger client (if any), a
    /// clock tick every `tickEvery`, and the journal's rows of other processes every
    /// `journalEvery`. With `until`, returns once that block has been applied.
    public nonisolated func run(client: LedgerClient? = nil, until: UInt64? = nil,
                                tickEvery: Duration = .seconds(1), journalEvery: Duration = .seconds(1)) async throws {
        await setStop(until)
        defer { finish() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.consume() }
            if until != nil { group.addTask { await self.waitForStop() } }
            if let client {
                group.addTask {
                    try await client.run({ update in await self.submit(.ledger(update)) },
                                         health: { h in await self.submit(.ledger(.consensus(h))) })
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: tickEvery)
                    await self.submit(.tick)
                }
            }
            group.addTask { try await self.watchJournal(every: journalEvery) }
            try await group.next()
            group.cancelAll()
        }
    }

    private func setStop(_ block: UInt64?) { stopAfter = block }

    /// Returns once the audit's last block was applied, or when the task is cancelled (the
    /// front end gave up, or a signal came): a waiting continuation must never outlive the run.
    private func waitForStop() async {
        if stopReached || Task.isCancelled { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { reachedStop = $0 }
        } onCancel: {
            Task { await self.releaseStopWaiter() }
        }
    }

    private func releaseStopWaiter() {
        reachedStop?.resume()
        reachedStop = nil
    }

    /// Polls the journal for rows other processes wrote and sends them in.
    private nonisolated func watchJournal(every interval: Duration) async throws {
        var cursor: Int64 = 0
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            guard let open = opened.withLock({ $0 }) else { continue }
            do {
                let rows = try open.journal.foreignEntries(after: max(cursor, open.after))
                guard let last = rows.last else { continue }
                cursor = last.seq
                await submit(.journalRows(rows))
            } catch {
                await submit(.ledger(.warning("alarm journal: cannot read: \(error)")))
            }
        }
    }
}

/// An input and, when the sender waits, the ticket that wakes it.
private struct Envelope: Sendable {
    let input: ControlRoomInput
    let ticket: UInt64?
}

/// Senders waiting for their input to be applied, by ticket; all woken when the stream ends.
private final class Tickets: Sendable {
    private let state = Mutex<(next: UInt64, closed: Bool, waiting: [UInt64: CheckedContinuation<Void, Never>])>((0, false, [:]))

    /// A ticket for `c`, or nil when the stream has ended (then resume `c` yourself).
    func take(_ c: CheckedContinuation<Void, Never>) -> UInt64? {
        state.withLock { s in
            guard !s.closed else { return nil }
            s.next += 1
            s.waiting[s.next] = c
            return s.next
        }
    }

    func resume(_ ticket: UInt64) {
        state.withLock { $0.waiting.removeValue(forKey: ticket) }?.resume()
    }

    func closeAll() {
        let all = state.withLock { s in
            s.closed = true
            defer { s.waiting = [:] }
            return Array(s.waiting.values)
        }
        for c in all { c.resume() }
    }
}

/// The lowest and highest block applied, the faulty nodes met and why an audit failed, behind a lock.
public final class BlockProgress: Sendable {
    private let range = Mutex<(first: UInt64, last: UInt64)?>(nil)
    private let faults = Mutex<(nodes: [String: String], failure: String?)>(([:], nil))
    public init() {}
    public func applied(_ n: UInt64) {
        range.withLock { r in r = (min(r?.first ?? n, n), max(r?.last ?? n, n)) }
    }
    /// The lowest and highest block applied so far (nil: none).
    public var blocks: (first: UInt64, last: UInt64)? { range.withLock { $0 } }
    public func faulty(_ node: String, _ why: String) { faults.withLock { $0.nodes[node] = why } }
    public func fail(_ why: String) { faults.withLock { $0.failure = $0.failure ?? why } }
    /// Faulty nodes met, by name, with why.
    public var faultyNodes: [String: String] { faults.withLock { $0.nodes } }
    /// Why the audit stopped failed, if it did.
    public var failure: String? { faults.withLock { $0.failure } }
}
