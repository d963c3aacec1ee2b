import ChainCore
import GridCore
import Logging
import XCTest

@testable import GridSimulator
@testable import LedgerClient

/// One test per scripted simulator fault: real loopback WebSockets, a `SimulatedNetwork`
/// with fast blocks and a `LedgerClient` following it. After each fault, what the client
/// shows must be exactly the simulator's canonical chain: same blocks, same energy.
final class SimulatorFaultTests: SimulatorTestCase {
    // MARK: Faults

    func testDropAllConnectionsPeriodically() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 2, faults: [
            try FaultScript(parsing: "node0:drop@400ms/500ms x5"),
            try FaultScript(parsing: "node1:drop@650ms/500ms x5"),
        ]))
        let rec = follow(net, urls)
        try await Task.sleep(for: .seconds(3.4))
        await assertMatchesLedger(rec, net, minHeight: 35)
        let h0 = await history(rec, 0), h1 = await history(rec, 1)
        XCTAssert(h0.contains { $0.connection != .connected } && h1.contains { $0.connection != .connected },
                  "both nodes were seen disconnected")
        let s = await rec.lastStatus
        XCTAssertEqual(s?.map(\.connection), [.connected, .connected])
    }

    func testNodeRestartIsBackfilledWithNothingLost() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1))
        let rec = follow(net, urls)
        await assertMatchesLedger(rec, net, minHeight: 8)
        let before = net.ledger!.headNumber
        await net.inject(.restart(down: .seconds(1)), node: 0)
        // The node was down for a second (~10 blocks, with readings) and is back with the same chain.
        let seen = await history(rec, 0)
        XCTAssert(seen.contains { $0.connection == .disconnected }, "restart seen")
        await assertMatchesLedger(rec, net, minHeight: before + 12)
        await eventually("node0 shown connected again") { await self.status(rec, 0)?.connection == .connected }
    }

    func testSlowNodeLatencyIsVisible() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 2, faults: [try FaultScript(parsing: "node1:slow=150ms")]))
        let rec = follow(net, urls)
        await eventually("node1's median latency ≥ 150 ms, node0's well below", timeout: .seconds(6)) {
            guard let s = await rec.lastStatus, let slow = s[1].latencyMedianMs, let fast = s[0].latencyMedianMs else { return false }
            return slow >= 150 && fast < 100
        }
        await assertMatchesLedger(rec, net, minHeight: 20)
    }

    func testLaggingNodeLagIsReported() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 3))
        await net.inject(.lag(6), node: 2)
        let rec = follow(net, urls)
        await eventually("node2 reported about 6 blocks behind", timeout: .seconds(5)) {
            guard let s = await rec.lastStatus else { return false }
            return (5...7).contains(s[2].lag) && s[0].lag <= 1 && s[1].lag <= 1 && s[2].connection == .connected
        }
        await assertMatchesLedger(rec, net, minHeight: 20)
        // The lagging node is consistent with the chain, only late: never divergent or untrusted.
        let s = await status(rec, 2)
        XCTAssertNotEqual(s?.trust, .divergent)
        XCTAssertNotEqual(s?.trust, .untrusted)
    }

    func testReorgRetractsAndReplaces() async throws {
        // Slower blocks and a reorg while the client shows the head: on a loaded machine a client
        // a block behind would never have shown the orphans, and there would be nothing to retract.
        let (net, urls) = try await startNetwork(slowChain(nodes: 2))
        let rec = follow(net, urls)
        await assertMatchesLedger(rec, net, minHeight: 8, timeout: .seconds(10))
        for depth in [1, 3, 6] {
            let orphaned = Set(await reorgWhileAtTip(rec, net, depth: depth).orphaned.map(\.hash))
            XCTAssertEqual(orphaned.count, depth)
            await eventually("depth-\(depth) reorg: no orphan shown, canonical tip", timeout: .seconds(8)) {
                let live = await rec.liveBlocks
                guard let tip = live.last else { return false }
                return !live.contains { orphaned.contains($0.header.hash) }
                    && net.ledger!.block(number: tip.header.number)?.hash == tip.header.hash
            }
            let retracted = Set(await rec.retracts.map(\.1))
            XCTAssertFalse(retracted.isDisjoint(with: orphaned), "depth-\(depth) reorg retracted blocks")
            try await Task.sleep(for: .milliseconds(300))
        }
        // Every retracted block is off the chain now; what remains is exactly the ledger.
        let ledger = net.ledger!
        for (n, h) in await rec.retracts {
            XCTAssertNotEqual(ledger.block(number: n)?.hash, h, "retracted block \(n) is canonical")
        }
        await assertMatchesLedger(rec, net, minHeight: ledger.headNumber, timeout: .seconds(10))
    }

    func testRemovedLogsArePushedAsGethDoes() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1))
        try await Task.sleep(for: .seconds(1.2))
        let rec = follow(net, urls)
        await assertMatchesLedger(rec, net, minHeight: 12)
        // Subscribe by hand too, and check the wire: removed logs, then newHeads at an existing height.
        let conn = RPCConnection(settings: .init(url: urls[0], headers: [:], maxFrameSize: 16 << 20, requestTimeout: .seconds(2)),
                                 logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }), onLatency: { _ in })
        let runner = Task { await conn.run() }
        defer { runner.cancel() }
        try await conn.waitOpen()
        let heads = try await conn.subscribe(["newHeads"])
        let logs = try await conn.subscribe(["logs", ["address": .string(SimulatedNetwork.meteringContract.hex)]])
        // Make sure the last 3 blocks carry logs: wait for a block with events at the head.
        let ledger = net.ledger!
        await eventually("events in the last three blocks") {
            let h = ledger.headNumber
            return (h - 2...h).contains { !(ledger.block(number: $0)?.events.isEmpty ?? true) }
        }
        let headBefore = ledger.headNumber
        await net.inject(.reorg(depth: 3))
        var removed = 0
        var headAtExistingHeight = false
        let deadline = ContinuousClock.now + .seconds(3)
        var it = conn.notifications.makeAsyncIterator()
        while ContinuousClock.now < deadline, !(removed > 0 && headAtExistingHeight), let n = await it.next() {
            if n.subscription == logs, n.result["removed"]?.boolValue == true { removed += 1 }
            if n.subscription == heads, let num = n.result["number"]?.quantity, num <= headBefore { headAtExistingHeight = true }
        }
        XCTAssertGreaterThan(removed, 0, "removed: true logs pushed")
        XCTAssertTrue(headAtExistingHeight, "newHeads at an existing height")
        await eventually("client retracted the orphans") { await rec.retracts.count > 0 }
        await assertMatchesLedger(rec, net, minHeight: headBefore + 2)
    }

    func testLyingNodeIsUntrustedAndNothingItServedIsShown() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 3))
        await net.inject(.lie(true), node: 1)
        let rec = follow(net, urls)
        await eventually("node1 untrusted") { await self.status(rec, 1)?.trust == .untrusted }
        await assertMatchesLedger(rec, net, minHeight: 20)
        let s = await rec.lastStatus
        XCTAssertEqual(s?[0].trust, .verified)
        XCTAssertEqual(s?[2].trust, .verified)
        XCTAssert(s?[1].lastError?.contains("untrusted") ?? false, "\(s?[1].lastError ?? "no error")")
        let warnings = await rec.warnings
        XCTAssert(warnings.contains { $0.contains("untrusted") })
    }

    func testNodeTurningLiarMidRunIsExcluded() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 3))
        let rec = follow(net, urls)
        await assertMatchesLedger(rec, net, minHeight: 10)
        await net.inject(.lie(true), node: 0)
        await eventually("node0 untrusted") { await self.status(rec, 0)?.trust == .untrusted }
        await assertMatchesLedger(rec, net, minHeight: net.ledger!.headNumber + 5)
    }

    func testNodeOnAnotherChainIsRefused() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 3, faults: [try FaultScript(parsing: "node1:chain=99")]))
        try await Task.sleep(for: .milliseconds(50))  // the script applies at 0 s
        let rec = follow(net, urls)
        await eventually("node1 refused") { await self.status(rec, 1)?.connection == .refused }
        await assertMatchesLedger(rec, net, minHeight: 15)
        let s = await status(rec, 1)
        XCTAssertEqual(s?.chainId, 99)
        XCTAssert(s?.lastError?.contains("wrong chain") ?? false, s?.lastError ?? "no error")
    }

    func testMalformedFramesAreReportedAndSurvived() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1, faults: [try FaultScript(parsing: "node0:malformed@800ms/600ms x3")]))
        let rec = follow(net, urls)
        try await Task.sleep(for: .seconds(2.6))
        let errors = await history(rec, 0).compactMap(\.lastError)
        XCTAssert(errors.contains { $0.contains("malformed frame") }, "malformed frame reported: \(Set(errors))")
        await assertMatchesLedger(rec, net, minHeight: 28)
        let last = await status(rec, 0)
        XCTAssertEqual(last?.connection, .connected)
    }

    func testOversizedFramesAreReportedAndSurvived() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1, faults: [try FaultScript(parsing: "node0:oversized=1536KiB@800ms/700ms x2")]))
        let rec = follow(net, urls) { $0.maxFrameSize = 1 << 20 }
        try await Task.sleep(for: .seconds(2.4))
        let errors = await history(rec, 0).compactMap(\.lastError)
        XCTAssert(errors.contains { $0.contains("larger than the maximum frame size of 1048576 bytes") },
                  "the oversized frame is reported: \(Set(errors))")
        await assertMatchesLedger(rec, net, minHeight: 25)
        let last = await status(rec, 0)
        XCTAssertEqual(last?.connection, .connected)
    }

    func testDisabledQBFTNamespaceDegradesQuietly() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1, faults: [try FaultScript(parsing: "no-ns=qbft")]))
        try await Task.sleep(for: .milliseconds(50))
        let rec = follow(net, urls)
        await eventually("consensus health without qbft") {
            await rec.healths.contains { $0.unavailableNamespaces == ["qbft"] && $0.engine == .qbft }
        }
        let err = await status(rec, 0)?.lastError
        XCTAssertNil(err, "no error shown for a disabled namespace")
        await assertMatchesLedger(rec, net, minHeight: 12)
    }

    func testQBFTNamespaceAnswersWhenEnabled() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 4))
        let rec = follow(net, urls)
        await eventually("consensus health from qbft_*") {
            await rec.healths.contains { $0.unavailableNamespaces.isEmpty && $0.pendingValidatorChange == false && $0.validators.count == 4 }
        }
    }
}

extension SimulatorFaultTests {
    /// Without a configured chain id, one node on another chain must not decide it for the others.
    func testMinorityOnAnotherChainCannotPoisonALearnedChainId() async throws {
        for wrong in 0..<3 {
            let (net, urls) = try await startNetwork(simConfig(nodes: 3))
            await net.inject(.chainId(99), node: wrong)
            let rec = follow(net, urls) { $0.expectedChainId = nil }
            await eventually("node\(wrong) refused, the others followed") {
                guard let s = await rec.lastStatus else { return false }
                return s.indices.allSatisfy { s[$0].connection == ($0 == wrong ? .refused : .connected) }
            }
            await assertMatchesLedger(rec, net, minHeight: 15)
            let chain = await rec.updates.compactMap { if case .chain(let id) = $0 { return id }; return nil }
            XCTAssertEqual(chain, [net.config.chainId])
            for t in tasks { t.cancel() }
            await net.stop()
        }
    }
}
