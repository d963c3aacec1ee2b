import ChainCore
import GridCore
import XCTest

@testable import GridSimulator
@testable import LedgerClient

extension Recorder {
    var reorgs: [ReorgReport] { updates.compactMap { if case .reorg(let r) = $0 { return r }; return nil } }
}

extension SimulatorTestCase {
    /// Blocks slow enough that a loaded machine's client is at the head most of the time
    /// (a reorg is only meaningful here once the client has shown the blocks it orphans).
    func slowChain(nodes: Int) -> SimulationConfig {
        var c = simConfig(nodes: nodes)
        c.blockTime = .milliseconds(400)
        c.intervalEvery = .milliseconds(800)
        return c
    }

    /// Reorganises the simulator's chain by `depth` at a moment the client shows the chain's
    /// head, so that every orphaned block was shown. If a block was produced in between (the
    /// client had not shown the last orphan), waits and tries again. Returns the orphans and
    /// how many updates the client had emitted just before the reorg that counts.
    func reorgWhileAtTip(_ rec: Recorder, _ net: SimulatedNetwork, depth: Int,
                         line: UInt = #line) async -> (orphaned: [SimBlock], updatesBefore: Int) {
        let ledger = net.ledger!
        for _ in 0..<10 {
            await eventually("client at the chain head", line: line) {
                await rec.tipHash == ledger.block(number: ledger.headNumber)?.hash
            }
            let shown = await rec.tipHash
            let before = await rec.updates.count
            let orphaned = net.reorg(depth: depth)
            if orphaned.count == depth, orphaned.last?.hash == shown { return (orphaned, before) }
            print("raced a new block (shown \(shown?.short ?? "-"), orphaned up to \(orphaned.last?.number ?? 0)); again")
            try? await Task.sleep(for: .milliseconds(500))  // let the client follow that reorg, try again
        }
        XCTFail("could not reorg while the client was at the head", line: line)
        return ([], 0)
    }

    /// The reorg reports emitted after update number `from`, and the retracts just before the first.
    func reorgReports(_ rec: Recorder, after from: Int) async -> (reports: [ReorgReport], retracted: [Bytes32]) {
        let updates = await rec.updates.dropFirst(from)
        let reports = updates.compactMap { if case .reorg(let r) = $0 { return r }; return nil }
        guard let at = updates.firstIndex(where: { if case .reorg = $0 { return true }; return false }) else { return (reports, []) }
        var retracted: [Bytes32] = []
        var i = at
        while i > updates.startIndex, case .retract(_, let h) = updates[updates.index(before: i)] {
            retracted.insert(h, at: 0)
            i = updates.index(before: i)
        }
        return (reports, retracted)
    }
}

/// `.reorg(ReorgReport)` after each followed reorg, and for one deeper than `maxReorgDepth`.
final class ReorgReportTests: SimulatorTestCase {
    func testFollowedReorgIsReportedOnceWithItsDepth() async throws {
        let (net, urls) = try await startNetwork(slowChain(nodes: 2))
        let rec = follow(net, urls)
        await assertMatchesLedger(rec, net, minHeight: 8, timeout: .seconds(10))
        XCTAssertEqual(LedgerClientConfiguration(nodes: []).maxReorgDepth, 64, "default limit")
        for depth in [2, 5] {
            let (orphaned, before) = await reorgWhileAtTip(rec, net, depth: depth)
            guard let newTop = orphaned.last else { return }
            await eventually("depth-\(depth) reorg reported") { await !self.reorgReports(rec, after: before).reports.isEmpty }
            try await Task.sleep(for: .milliseconds(300))  // nothing more may come for the same reorg
            let (reports, retracted) = await reorgReports(rec, after: before)
            XCTAssertEqual(reports.count, 1, "exactly one report: \(reports)")
            let r = try XCTUnwrap(reports.first)
            XCTAssertEqual(r.depth, depth)
            XCTAssertFalse(r.beyondLimit)
            XCTAssertEqual(r.limit, 64)
            // The head the client moved to: the branch's top, or above if blocks came meanwhile.
            XCTAssertGreaterThanOrEqual(r.newHead, newTop.number)
            XCTAssertEqual(r.newHeadHash, net.ledger!.block(number: r.newHead)?.hash)
            // The report comes right after the retracts of exactly the orphaned blocks, newest first.
            XCTAssertEqual(retracted, orphaned.reversed().map(\.hash))
        }
        await assertMatchesLedger(rec, net, minHeight: net.ledger!.headNumber, timeout: .seconds(10))
    }

    func testReorgDeeperThanTheLimitIsReportedAndTheNewChainFollowed() async throws {
        let (net, urls) = try await startNetwork(slowChain(nodes: 2))
        let rec = follow(net, urls) { $0.maxReorgDepth = 3 }
        await assertMatchesLedger(rec, net, minHeight: 8, timeout: .seconds(10))
        let (orphaned, before) = await reorgWhileAtTip(rec, net, depth: 5)
        guard let newTop = orphaned.last else { return }
        await eventually("deep reorg reported") { await !self.reorgReports(rec, after: before).reports.isEmpty }
        let (reports, retracted) = await reorgReports(rec, after: before)
        XCTAssertEqual(reports.count, 1, "\(reports)")
        let r = try XCTUnwrap(reports.first)
        XCTAssertTrue(r.beyondLimit)
        XCTAssertEqual(r.limit, 3)
        XCTAssertGreaterThan(r.depth, 3)
        XCTAssertLessThanOrEqual(r.depth, 5)
        XCTAssertGreaterThanOrEqual(r.newHead, newTop.number)
        XCTAssertEqual(r.newHeadHash, net.ledger!.block(number: r.newHead)?.hash)
        // The newest orphans were retracted, newest first; the older ones (at least the one at the
        // fork side of the limit) could not be, and the report counts them.
        XCTAssertGreaterThanOrEqual(retracted.count, 3)
        XCTAssertLessThan(retracted.count, r.depth)
        XCTAssertEqual(retracted, Array(orphaned.reversed().prefix(retracted.count).map(\.hash)))

        // The client carries on with the new chain: its tip is canonical and grows.
        let ledger = net.ledger!
        let target = newTop.number + 4
        await eventually("client follows the new chain to block \(target)", timeout: .seconds(8)) {
            guard let tip = await rec.liveBlocks.last else { return false }
            return tip.header.number >= target && ledger.block(number: tip.header.number)?.hash == tip.header.hash
        }
        // Only the orphans below the limit stay shown (older blocks are not retracted); everything
        // else shown is canonical, each event once.
        let stale = await rec.liveBlocks.filter { ledger.block(number: $0.header.number)?.hash != $0.header.hash }
        XCTAssertEqual(stale.map(\.header.hash), orphaned.prefix(5 - retracted.count).map(\.hash),
                       "stale: \(stale.map(\.header.number))")
        await assertExactlyOnce(rec)
    }
}
