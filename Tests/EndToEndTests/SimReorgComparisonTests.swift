import Alerts
import ChainCore
import Foundation
import GridCore
import GridSimulator
import LedgerClient
import Logging
import Synchronization
import XCTest

/// Issue #17 on the embedded simulator: its reorg fault (the last blocks regrouped onto a new
/// branch, pushed like geth) through the same comparison as on py-evm: the live monitor's
/// state at a head after the reorg equals a fresh monitor's that followed the final chain from
/// block 0, as data (active alarms with their evidence, per-stage energy, every balance).
final class SimReorgComparisonTests: XCTestCase {
    /// A monitor fed by a real LedgerClient, with its state recorded at every head.
    final class Follower: Sendable {
        struct Inner {
            var monitor = Monitor()
            var states: [Bytes32: MonitorState] = [:]
            var order: [Bytes32] = []
            var reorgs = 0
            var transitions: [AlarmTransition] = []
        }
        let inner = Mutex(Inner())

        func apply(_ u: LedgerUpdate) {
            inner.withLock { s in
                s.transitions += s.monitor.apply(u, now: Date().timeIntervalSince1970)
                if case .reorg = u { s.reorgs += 1 }
                if case .block(let b) = u, !s.monitor.reorgInProgress, s.monitor.head?.hash == b.header.hash {
                    s.states[b.header.hash] = MonitorState(s.monitor)
                    s.order.append(b.header.hash)
                }
            }
        }
    }

    func clientConfig(_ urls: [String], chainId: UInt64) -> LedgerClientConfiguration {
        var c = LedgerClientConfiguration(nodes: urls.enumerated().map { NodeEndpoint(url: $1, name: "node\($0)") })
        c.expectedChainId = chainId
        c.contracts = [SimulatedNetwork.meteringContract]
        c.requestTimeout = .seconds(5)
        c.connectTimeout = .seconds(2)
        c.statusEvery = .milliseconds(200)
        c.startupGrace = .milliseconds(300)
        return c
    }

    func testSimulatorReorgFaultLiveEqualsFresh() async throws {
        var sc = SimulationConfig()
        sc.nodes = 1
        sc.blockTime = .milliseconds(150)
        sc.intervalEvery = .milliseconds(300)
        sc.theftAfter = .seconds(1)
        sc.consumers = 40
        sc.seed = 11
        let net = SimulatedNetwork(config: sc)
        let urls = try await net.start()
        defer { Task { await net.stop() } }
        let logger = Logger(label: "test.sim-reorg")
        let live = Follower()
        let liveClient = LedgerClient(configuration: clientConfig(urls, chainId: sc.chainId), logger: logger)
        let liveTask = Task { try await liveClient.run { live.apply($0) } }
        defer { liveTask.cancel() }
        // Let intervals settle and the theft show, then reorganise the last 4 blocks.
        try await Task.sleep(for: .seconds(8))
        await net.inject(.reorg(depth: 4))
        let deadline = ContinuousClock.now + .seconds(20)
        while live.inner.withLock({ $0.reorgs }) == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        XCTAssertGreaterThan(live.inner.withLock { $0.reorgs }, 0, "the live client saw no reorg")
        try await Task.sleep(for: .seconds(2))
        let afterReorg = live.inner.withLock { $0.monitor.head?.number } ?? 0
        // A fresh monitor over the final chain, from block 0.
        let fresh = Follower()
        let freshClient = LedgerClient(configuration: clientConfig(urls, chainId: sc.chainId), logger: logger)
        let freshTask = Task { try await freshClient.run { fresh.apply($0) } }
        defer { freshTask.cancel() }
        var common: Bytes32?
        let until = ContinuousClock.now + .seconds(30)
        while common == nil, ContinuousClock.now < until {
            try await Task.sleep(for: .milliseconds(200))
            let freshOrder = fresh.inner.withLock { $0.order }
            let liveStates = live.inner.withLock { $0.states }
            common = freshOrder.last { h in liveStates[h].map { ($0.headNumber ?? 0) >= afterReorg } ?? false }
        }
        let hash = try XCTUnwrap(common, "no head that both the live and the fresh monitor reached")
        let l = try XCTUnwrap(live.inner.withLock { $0.states[hash] }), f = try XCTUnwrap(fresh.inner.withLock { $0.states[hash] })
        print("SIM-REORG-COMPARE head \(l.headNumber ?? 0): live alarms \(l.activeAlarms.map { "\($0.kind.rawValue)@\($0.origin?.blockNumber ?? 0)" }) "
              + "fresh \(f.activeAlarms.map { "\($0.kind.rawValue)@\($0.origin?.blockNumber ?? 0)" }); balances equal \(l.balances == f.balances); stages equal \(l.stages == f.stages)")
        XCTAssertFalse(f.balances.isEmpty, "nothing settled")
        XCTAssertEqual(l.activeAlarms, f.activeAlarms, "active alarms and their evidence")
        XCTAssertEqual(l.stages, f.stages, "per-stage energy")
        XCTAssertEqual(l.balances, f.balances, "per-segment balances")
        XCTAssertEqual(l, f)
    }
}
