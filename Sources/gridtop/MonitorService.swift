import Alerts
import ChainCore
import Foundation
import GridCore
import LedgerClient
import OperatorTUI

/// Owns the pure `Monitor` and connects it to the edges: ledger updates in,
/// alarm transitions out to a sink (the JSON stream, later the journal),
/// snapshots out to the screen's mailbox.
actor MonitorService {
    private var monitor: Monitor
    private var screen = ScreenDataBuilder()
    /// The latest consensus health probe (validators, missed turns, timing).
    private var consensus: ConsensusHealth?
    private let box: SnapshotBox?
    private let sink: @Sendable (AlarmTransition) -> Void

    init(configuration: MonitorConfiguration, box: SnapshotBox?, sink: @escaping @Sendable (AlarmTransition) -> Void) {
        monitor = Monitor(configuration: configuration)
        self.box = box
        self.sink = sink
    }

    private var now: Double { Date().timeIntervalSince1970 }

    func apply(_ update: LedgerUpdate) {
        for t in monitor.apply(update, now: now) { sink(t) }
        if box != nil { screen.record(update) }
        publish()
    }

    func observe(_ health: ConsensusHealth) {
        consensus = health
        publish()
    }

    func tick() {
        for t in monitor.tick(now: now) { sink(t) }
        publish()
    }

    func acknowledge(alarm id: Int, by who: String) {
        if let t = monitor.acknowledge(alarm: id, by: who, now: now) { sink(t) }
        publish()
    }

    private func publish() {
        guard let box else { return }
        box.publish(screen.build(monitor, consensus: consensus, now: now))
    }

    /// An operator's action from the screen.
    func perform(_ command: OperatorCommand, by who: String) {
        switch command {
        case .acknowledge(let id, _):
            acknowledge(alarm: id, by: who)
        case .shelve, .unshelve, .comment:
            // Wired when the alarm engine gains shelving and comments (issue #5).
            break
        }
    }

    /// Runs the ledger client into this service until cancelled, with a one-second tick for time-driven checks.
    func run(client: LedgerClient) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
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
