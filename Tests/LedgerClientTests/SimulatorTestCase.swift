import ChainCore
import GridCore
import Logging
import XCTest

@testable import GridSimulator
@testable import LedgerClient

/// Fixtures for tests against the real simulator on loopback (no tests of its own): a
/// `SimulatedNetwork` with fast blocks and a `LedgerClient` following it.
class SimulatorTestCase: LoopbackTestCase {
    var networks: [SimulatedNetwork] = []

    override func tearDown() async throws {
        try await super.tearDown()
        for n in networks { await n.stop() }
        networks = []
    }

    func simConfig(nodes: Int, faults: [FaultScript] = []) -> SimulationConfig {
        var c = SimulationConfig()
        c.nodes = nodes
        c.blockTime = .milliseconds(100)
        c.intervalEvery = .milliseconds(200)
        c.theftAfter = .seconds(1)
        c.consumers = 40
        c.seed = 11
        c.faults = faults
        return c
    }

    func startNetwork(_ c: SimulationConfig) async throws -> (SimulatedNetwork, [String]) {
        let net = SimulatedNetwork(config: c)
        networks.append(net)
        return (net, try await net.start())
    }

    func clientConfig(_ urls: [String], chainId: UInt64) -> LedgerClientConfiguration {
        var c = LedgerClientConfiguration(nodes: urls.enumerated().map { NodeEndpoint(url: $1, name: "node\($0)") })
        c.expectedChainId = chainId
        c.contracts = [SimulatedNetwork.meteringContract]
        c.requestTimeout = .seconds(2)
        c.connectTimeout = .seconds(1)
        c.statusEvery = .milliseconds(100)
        c.reconnectBaseDelay = .milliseconds(20)
        c.reconnectMaxDelay = .milliseconds(200)
        c.healthPollEvery = .milliseconds(200)
        c.consensusEvery = .milliseconds(200)
        c.startupGrace = .milliseconds(300)
        return c
    }

    func follow(_ net: SimulatedNetwork, _ urls: [String], tweak: (inout LedgerClientConfiguration) -> Void = { _ in }) -> Recorder {
        var c = clientConfig(urls, chainId: net.config.chainId)
        tweak(&c)
        return startClient(c)
    }

    static func importWh(_ events: [GridEvent]) -> UInt64 {
        events.reduce(0) { s, e in if case .meterReading(let m) = e { return s + m.importWh }; return s }
    }

    /// Waits until the client's live chain ends on a canonical block at or above `minHeight`,
    /// then checks: every live block is canonical, every event once, and the energy the client
    /// holds equals the ledger's total over the same blocks (retractions taken into account).
    func assertMatchesLedger(_ rec: Recorder, _ net: SimulatedNetwork, minHeight: UInt64 = 20,
                             timeout: Duration = .seconds(10), line: UInt = #line) async {
        guard let ledger = net.ledger else { return XCTFail("network not started", line: line) }
        var live: [ChainBlock] = []
        await eventually("client on a canonical tip ≥ \(minHeight)", timeout: timeout, line: line) {
            live = await rec.liveBlocks
            guard let tip = live.last, tip.header.number >= minHeight else { return false }
            return ledger.block(number: tip.header.number)?.hash == tip.header.hash
        }
        guard let tip = live.last else { return }
        for b in live {
            XCTAssertEqual(ledger.block(number: b.header.number)?.hash, b.header.hash,
                           "block \(b.header.number) shown but not canonical", line: line)
        }
        var ledgerWh: UInt64 = 0
        var ledgerEvents = 0
        for n in 0...tip.header.number {
            guard let b = ledger.block(number: n) else { continue }
            ledgerWh += Self.importWh(b.events)
            ledgerEvents += b.events.count
        }
        let clientWh = Self.importWh(live.flatMap { $0.events.map(\.event) })
        XCTAssertGreaterThan(ledgerWh, 0, "no readings on chain yet", line: line)
        XCTAssertEqual(clientWh, ledgerWh, "energy shown ≠ ledger total up to block \(tip.header.number)", line: line)
        XCTAssertEqual(live.reduce(0) { $0 + $1.events.count }, ledgerEvents, "event count", line: line)
        await assertExactlyOnce(rec, line: line)
    }

    func status(_ rec: Recorder, _ node: Int) async -> NodeStatus? {
        guard let s = await rec.lastStatus, s.indices.contains(node) else { return nil }
        return s[node]
    }

    /// Every status of `node` the client ever emitted.
    func history(_ rec: Recorder, _ node: Int) async -> [NodeStatus] {
        await rec.updates.compactMap { if case .nodes(let s) = $0, s.indices.contains(node) { return s[node] }; return nil }
    }
}
