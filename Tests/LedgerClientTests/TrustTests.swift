import ChainCore
import GridCore
import Logging
import XCTest

@testable import LedgerClient

/// Verification, quorum, consensus probes and transport limits, each against real
/// loopback WebSocket nodes that misbehave on purpose.
final class TrustTests: LoopbackTestCase {
    /// Every emitted header hashes correctly and is the honest chain's block.
    func assertAllEmittedBlocksAreHonest(_ rec: Recorder, _ chain: TestChain, file: StaticString = #filePath, line: UInt = #line) async {
        for b in await rec.blocks {
            XCTAssertNotNil(HeaderHashing.verify(b.header), "block \(b.header.number) does not verify", file: file, line: line)
            let honest = await chain.block(hash: b.header.hash)
            XCTAssertEqual(b.header, honest, "block \(b.header.number) differs from what was mined", file: file, line: line)
        }
    }

    func testLyingNodeIsUntrustedExcludedAndNeverEmitted() async throws {
        let chain = TestChain()
        await chain.prebuild([[.init(.meterReading(Self.reading(start: 0, wh: 100)))]])
        let liar = try await startNode(chain)
        let honest = try await startNode(chain)
        let rec = startClient(await config([liar, honest]))
        await waitSynced(rec, chain)
        // Both honest so far; node0 (the lowest index) is the one followed. Now it lies.
        await liar.setTamperHeaders(true)
        for i in 1...6 {
            await chain.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 100)])
            try await Task.sleep(for: .milliseconds(20))
        }
        await waitSynced(rec, chain)
        await eventually("the lying node is marked untrusted") {
            guard let s = await rec.lastStatus else { return false }
            return s[0].trust == .untrusted && (s[0].lastError ?? "").contains("untrusted") && s[1].trust != .untrusted
        }
        let warned = await rec.warnings.contains { $0.contains("untrusted") }
        XCTAssertTrue(warned, "the operator is told, not left to guess")
        await assertAllEmittedBlocksAreHonest(rec, chain)
        let wh = await rec.importWh
        XCTAssertEqual(wh, 700)
        await assertExactlyOnce(rec)
        // Excluded: nothing more is fetched from it.
        let before = await liar.calls["eth_getLogs"] ?? 0
        for i in 7...9 { await chain.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 100)]) }
        await waitSynced(rec, chain)
        let after = await liar.calls["eth_getLogs"] ?? 0
        XCTAssertEqual(before, after, "an untrusted node is not used")
        let wh2 = await rec.importWh
        XCTAssertEqual(wh2, 1000)
    }

    func testLiarAloneShowsNothing() async throws {
        let chain = TestChain()
        await chain.prebuild([[.init(.meterReading(Self.reading(start: 0, wh: 100)))], []])
        let liar = try await startNode(chain)
        await liar.setTamperHeaders(true)
        let rec = startClient(await config([liar]))
        await eventually("untrusted") { await rec.lastStatus?.first?.trust == .untrusted }
        try await Task.sleep(for: .milliseconds(300))
        let blocks = await rec.blocks
        XCTAssertTrue(blocks.isEmpty, "no block from a node whose headers do not hash: \(blocks.map(\.header.number))")
    }

    func testDivergentNodeIsFlaggedAndNeverFollowed() async throws {
        let main = TestChain(chainId: 1337)
        let fork = TestChain(chainId: 1337, salt: 7_000_000)  // same chain id, other blocks
        await main.prebuild((0..<3).map { i in [.init(.meterReading(Self.reading(start: UInt64(i) * 900, wh: 10)))] })
        // The fork is longer, and would be followed if height alone decided.
        await fork.prebuild((0..<9).map { i in [.init(.meterReading(Self.reading(start: UInt64(i) * 900, wh: 5_000)))] })
        let bad = try await startNode(fork)
        let a = try await startNode(main)
        let b = try await startNode(main)
        let rec = startClient(await config([bad, a, b]))
        await waitSynced(rec, main)
        await eventually("the fork node is divergent, the others verified") {
            guard let s = await rec.lastStatus else { return false }
            return s[0].trust == .divergent && s[1].trust == .verified && s[2].trust == .verified
                && (s[0].lastError ?? "").contains("divergent")
        }
        for i in 3..<6 {
            await main.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 10)])
            await fork.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 5_000)])
        }
        await waitSynced(rec, main)
        await assertAllEmittedBlocksAreHonest(rec, main)
        let wh = await rec.importWh
        let truth = await main.totalImportWh()
        XCTAssertEqual(wh, truth)
        XCTAssertEqual(wh, 60)
        let forkLogs = await bad.calls["eth_getLogs"] ?? 0
        XCTAssertEqual(forkLogs, 0, "a divergent node's logs are never fetched")
        await assertExactlyOnce(rec)
    }

    func testQBFTChainVerifiesAndConsensusHealthShowsMissedTurn() async throws {
        let vs = (1...4).map { try! Address(bytes: [UInt8](repeating: 0, count: 19) + [UInt8($0 * 16)]) }
        let chain = TestChain(qbftValidators: vs)
        await chain.prebuild((0..<6).map { _ in [] })
        let node = try await startNode(chain)
        let rec = startClient(await config([node]))
        await waitSynced(rec, chain)
        // Block 7 is sealed in round 1: the round-0 proposer missed its turn.
        let parent = await chain.head
        await chain.setNextRound(1)
        let late = await chain.mine(readings: [Self.reading(start: 0, wh: 1)])
        await chain.mine()
        await waitSynced(rec, chain)
        let expectedMiss = vs[(vs.firstIndex(of: parent.miner)! + 1) % 4]
        XCTAssertNotEqual(late.miner, expectedMiss)
        await eventually("consensus health reflects block 8") { (await rec.healths.last?.toBlock ?? 0) >= 8 }
        let lastHealth = await rec.healths.last
        let h = try XCTUnwrap(lastHealth)
        XCTAssertEqual(h.engine, .qbft)
        XCTAssertEqual(h.validators.map(\.address), vs)
        XCTAssertEqual(h.validators.reduce(0) { $0 + $1.proposedBlocks }, 8, "signer metrics over blocks 1…8")  // genesis proposer 0x0 skipped
        XCTAssertEqual(h.validators.first { $0.address == expectedMiss }?.missedTurns, 1)
        XCTAssertEqual(h.validators.reduce(0) { $0 + ($1.missedTurns ?? 0) }, 1)
        XCTAssertEqual(h.blockIntervalMedian, 5)
        XCTAssertEqual(h.pendingValidatorChange, false)
        XCTAssertTrue(h.unavailableNamespaces.isEmpty)
        XCTAssertNotNil(h.secondsSinceLastBlock)
        let lastStatus = await rec.lastStatus?.first
        let status = try XCTUnwrap(lastStatus)
        XCTAssertEqual(status.trust, .verified)
        XCTAssertNil(status.lastError)
    }

    func testDisabledNamespaceDegradesToGenericViewWithoutErrorSpam() async throws {
        let vs = (1...3).map { try! Address(bytes: [UInt8](repeating: 0, count: 19) + [UInt8($0)]) }
        let chain = TestChain(qbftValidators: vs)
        await chain.prebuild((0..<4).map { _ in [] })
        let node = try await startNode(chain)
        await node.setDisabledNamespaces(["qbft"])
        let rec = startClient(await config([node]))
        await waitSynced(rec, chain)
        await eventually("several probes ran") { await rec.healths.count >= 4 }
        let lastHealth = await rec.healths.last
        let h = try XCTUnwrap(lastHealth)
        XCTAssertEqual(h.engine, .qbft, "the engine is still known from the block hashes")
        XCTAssertEqual(h.unavailableNamespaces, ["qbft"])
        XCTAssertEqual(h.validators.map(\.address), vs, "validators from extraData")
        XCTAssertEqual(h.validators.reduce(0) { $0 + $1.proposedBlocks }, 4)
        let asked = await node.calls["qbft_getValidatorsByBlockNumber"] ?? 0
        XCTAssertEqual(asked, 1, "a disabled namespace is asked once per node, not on every probe")
        let metricsAsked = await node.calls["qbft_getSignerMetrics"] ?? 0
        XCTAssertEqual(metricsAsked, 0)
        let lastStatus = await rec.lastStatus?.first
        let s = try XCTUnwrap(lastStatus)
        XCTAssertNil(s.lastError, "no error shown for a namespace the node does not enable")
        let warnings = await rec.warnings
        XCTAssertTrue(warnings.isEmpty, "\(warnings)")
    }

    func testBatchTooLargeIsSplitAndRemembered() async throws {
        let chain = TestChain()
        let node = try await startNode(chain)
        await node.setMaxBatch(7)
        var c = await config([node])
        c.batchSize = 100
        let rec = startClient(c)
        await waitSynced(rec, chain)
        // 30 heads swallowed: the gap is filled with a batch of 30 header requests.
        await node.skipNextHeads(30)
        for i in 0..<31 { await chain.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 2)]) }
        await waitSynced(rec, chain)
        let wh = await rec.importWh
        XCTAssertEqual(wh, 62)
        await assertExactlyOnce(rec)
        let sizes = await node.batchSizes
        XCTAssertTrue(sizes.contains { $0 > 7 }, "a large batch was tried: \(sizes)")
        // Once refused, later batches stay within what the node accepts.
        await node.skipNextHeads(20)
        for i in 31..<52 { await chain.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 2)]) }
        await waitSynced(rec, chain)
        let later = await node.batchSizes.dropFirst(sizes.count)
        XCTAssertFalse(later.isEmpty)
        XCTAssertTrue(later.allSatisfy { $0 <= 7 }, "the limit is remembered: \(Array(later))")
        let wh2 = await rec.importWh
        XCTAssertEqual(wh2, 104)
        await assertExactlyOnce(rec)
    }

    func testBatchesNeverExceedOneThousandCalls() async throws {
        let chain = TestChain()
        // Enough blocks with events that one backfill answer spans more than 1,000 of them
        // (its headers are asked for as the answer arrives: ranges grow 16, 64, 256, 1024 …).
        await chain.prebuild((0..<2_500).map { i in [.init(.meterReading(Self.reading(start: UInt64(i) * 900, wh: 1)))] })
        let node = try await startNode(chain)
        var c = await config([node])
        c.batchSize = 5_000
        c.requestTimeout = .seconds(5)
        let rec = startClient(c)
        await waitSynced(rec, chain, timeout: .seconds(20))
        let sizes = await node.batchSizes
        XCTAssertEqual(sizes.max(), 1_000, "\(sizes.sorted().suffix(5))")
        let wh = await rec.importWh
        XCTAssertEqual(wh, 2_500)
    }

    func testLogRangeNarrowsToTheNodeLimitAndGrowsBack() async throws {
        let chain = TestChain()
        await chain.prebuild((0..<120).map { i in [.init(.meterReading(Self.reading(start: UInt64(i) * 900, wh: 3)))] })
        let node = try await startNode(chain)
        await node.setMaxLogRange(10)
        var c = await config([node])
        c.logRange = 2_000
        let rec = startClient(c)
        await waitSynced(rec, chain, timeout: .seconds(10))
        let wh = await rec.importWh
        XCTAssertEqual(wh, 360)
        await assertExactlyOnce(rec)
        let ranges = await node.logRanges
        XCTAssertEqual(ranges.first, LedgerHub.firstBackfillSpan, "a short first range while the density of grid logs is unknown")
        // It narrowed below the limit, then tried a wider range again after good answers.
        let firstOK = try XCTUnwrap(ranges.firstIndex { $0 <= 10 })
        XCTAssertTrue(ranges[firstOK...].contains { $0 > 10 }, "grew back: \(ranges)")
        XCTAssertLessThan(ranges.count, 60, "not stuck retrying: \(ranges)")
    }
}
