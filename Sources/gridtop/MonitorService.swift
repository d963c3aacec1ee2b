import AlarmJournal
import Alerts
import ChainCore
import Foundation
import GridCore
import LedgerClient
import OperatorTUI
import Synchronization

/// Owns the pure `Monitor` and connects it to the edges: ledger updates in,
/// alarm transitions out — first to the journal (durable), then to the sink
/// (the JSON stream) — and snapshots out to the screen's mailbox.
actor MonitorService {
    private var monitor: Monitor
    private var screen = ScreenDataBuilder()
    /// The latest consensus health probe (validators, missed turns, timing).
    private var consensus: ConsensusHealth?
    private let box: SnapshotBox?
    private let sink: @Sendable (AlarmTransition) -> Void
    private var journal: JournalLink?
    private var journalling = false
    private var dbPath: String?
    /// For an audit of a past range: stop once this block has been applied.
    private var stopAfter: UInt64?
    private var reachedStop: CheckedContinuation<Void, Never>?
    private var stopReached = false
    /// When the screen last got a snapshot. A tick that changed nothing publishes
    /// only after `quietPublishEvery` (KPI windows, node ages), not every second:
    /// each publish costs a snapshot build and a frame.
    private var lastPublish = -Double.infinity
    private let quietPublishEvery = 5.0
    /// Node statuses arrived that the screen has not seen yet.
    private var statusPending = false
    /// The blocks applied so far, readable without the actor (an interrupted audit says what it covered).
    nonisolated let progress = BlockProgress()

    init(configuration: MonitorConfiguration, box: SnapshotBox?, sink: @escaping @Sendable (AlarmTransition) -> Void) {
        monitor = Monitor(configuration: configuration)
        self.box = box
        self.sink = sink
    }

    private var now: Double { Date().timeIntervalSince1970 }

    /// Journals every transition. Opens now when the chain id is known (demo,
    /// `--chain-id`), else on the first `.chain(id)`. Call before `run`.
    func enableJournal(dbPath: String? = nil, chainId: UInt64? = nil) throws {
        journalling = true
        self.dbPath = dbPath
        if let chainId {
            let (link, book) = try JournalLink.open(chainId: chainId, dbPath: dbPath, policies: monitor.configuration.alarmPolicies)
            journal = link
            monitor.restore(book)
            publish()
        }
    }

    func apply(_ update: LedgerUpdate) {
        if case .chain(let id) = update, journalling, journal == nil { openJournal(chainId: id) }
        let transitions = monitor.apply(update, now: now)
        emit(transitions)
        if case .block(let b) = update { progress.applied(b.header.number) }
        if case .nodes(let statuses) = update { noteFaults(statuses) }
        if box != nil { screen.record(update) }
        if case .nodes = update, transitions.isEmpty {
            // The per-second node statuses ride along with the next block's snapshot
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

    private func waitForStop() async {
        if stopReached { return }
        await withCheckedContinuation { reachedStop = $0 }
    }

    /// A consensus probe: kept for the screen and judged by the monitor (missed turns),
    /// its alarms journalled and streamed like every other.
    func observe(_ health: ConsensusHealth) {
        consensus = health
        emit(monitor.apply(.consensus(health), now: now))
        publish()
    }

    func tick() {
        var changed = false
        if var link = journal {
            do {
                // Actions taken by `gridtop alarms …` in another process.
                let foreign = try link.foreignTransitions()
                journal = link
                if !foreign.isEmpty {
                    monitor.replay(foreign)
                    for t in foreign { sink(t) }
                    changed = true
                }
            } catch {
                _ = monitor.apply(.warning("alarm journal: cannot read: \(error)"), now: now)
                changed = true
            }
        }
        let transitions = monitor.tick(now: now)
        emit(transitions)
        let sinceLast = now - lastPublish
        if changed || !transitions.isEmpty || (statusPending && sinceLast >= 0.9) || sinceLast >= quietPublishEvery { publish() }
    }

    /// An operator action. Returns only once durable; on error nothing changed.
    @discardableResult
    func perform(_ action: OperatorAction, on id: Int, by who: String) throws -> [AlarmTransition] {
        var next = monitor
        let ts = try next.perform(action, on: id, by: who, now: now)
        try journal?.record(ts)
        monitor = next
        for t in ts { sink(t) }
        publish()
        return ts
    }

    /// An operator's action from the screen; a refusal is shown as a warning.
    func perform(_ command: OperatorCommand, by who: String) {
        let (id, action): (Int, OperatorAction)
        switch command {
        case .acknowledge(let alarmID, _):
            (id, action) = (alarmID, .acknowledge(comment: nil))
        case .shelve(let alarmID, _, let duration, let reason):
            switch duration {
            case .seconds(let s): (id, action) = (alarmID, .shelve(.timed, until: now + Double(s), reason: reason))
            case .untilCleared: (id, action) = (alarmID, .shelve(.oneShot, until: nil, reason: reason))
            }
        case .unshelve(let alarmID, _):
            (id, action) = (alarmID, .unshelve(reason: nil))
        case .comment(let alarmID, _, let text):
            (id, action) = (alarmID, .comment(text))
        }
        do {
            try perform(action, on: id, by: who)
        } catch {
            _ = monitor.apply(.warning("\(action.event.rawValue) of alarm \(id) refused: \(error)"), now: now)
            publish()
        }
    }

    private func openJournal(chainId: UInt64) {
        do {
            let (link, book) = try JournalLink.open(chainId: chainId, dbPath: dbPath, policies: monitor.configuration.alarmPolicies)
            journal = link
            monitor.restore(book)
        } catch {
            _ = monitor.apply(.warning("alarm journal: cannot open: \(error)"), now: now)
        }
    }

    /// Journal first (fsync), then the stream.
    private func emit(_ transitions: [AlarmTransition]) {
        guard !transitions.isEmpty else { return }
        do {
            try journal?.record(transitions)
        } catch {
            _ = monitor.apply(.warning("alarm journal: write failed, \(transitions.count) transitions not journalled: \(error)"), now: now)
        }
        for t in transitions { sink(t) }
    }

    private func publish() {
        guard let box else { return }
        lastPublish = now
        statusPending = false
        box.publish(screen.build(monitor, consensus: consensus, now: now))
    }

    /// Runs the ledger client into this service until cancelled, with a one-second tick for
    /// time-driven checks; with `until`, returns once that block has been applied.
    func run(client: LedgerClient, until: UInt64? = nil) async throws {
        stopAfter = until
        try await withThrowingTaskGroup(of: Void.self) { group in
            if until != nil { group.addTask { await self.waitForStop() } }
            group.addTask {
                try await client.run({ update in await self.apply(update) }, health: { h in await self.observe(h) })
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    await self.tick()
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

/// The lowest and highest block applied, the faulty nodes met and why an audit failed, behind a lock.
final class BlockProgress: Sendable {
    private let range = Mutex<(first: UInt64, last: UInt64)?>(nil)
    private let faults = Mutex<(nodes: [String: String], failure: String?)>(([:], nil))
    func applied(_ n: UInt64) {
        range.withLock { r in r = (min(r?.first ?? n, n), max(r?.last ?? n, n)) }
    }
    var blocks: (first: UInt64, last: UInt64)? { range.withLock { $0 } }
    func faulty(_ node: String, _ why: String) { faults.withLock { $0.nodes[node] = why } }
    func fail(_ why: String) { faults.withLock { $0.failure = $0.failure ?? why } }
    /// Faulty nodes met, by name, with why.
    var faultyNodes: [String: String] { faults.withLock { $0.nodes } }
    var failure: String? { faults.withLock { $0.failure } }
}
