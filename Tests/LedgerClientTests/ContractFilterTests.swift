import ChainCore
import GridCore
import XCTest

@testable import LedgerClient

/// The trust boundary: only the configured metering contract's events are believed. The address
/// goes into every node-side filter (eth_getLogs, logs subscription) and is checked again on decode.
final class ContractFilterTests: LoopbackTestCase {
    static let forger = try! Address(hex: "0x00000000000000000000000000000000000bad00")

    /// A chain with honest readings and, in the same blocks, forged readings of a second contract.
    func forgedChain() async -> TestChain {
        let chain = TestChain()
        await chain.prebuild((0..<4).map { i in
            [.init(.meterReading(Self.reading(start: UInt64(i) * 900, wh: 100))),
             .init(.meterReading(Self.reading(start: UInt64(i) * 900 + 450, wh: 5_000)), from: Self.forger)]
        })
        return chain
    }

    func testTheAddressIsInEveryNodeSideFilter() async throws {
        let chain = await forgedChain()
        let node = try await startNode(chain)
        var c = await config([node])
        c.contracts = [TestChain.contract]
        let rec = startClient(c)
        await waitSynced(rec, chain)
        await chain.mine(readings: [Self.reading(start: 9_000, wh: 100)])
        await waitSynced(rec, chain)
        let want = JSON.array([.string(TestChain.contract.hex)])
        let filters = await node.logFilters
        XCTAssertFalse(filters.isEmpty)
        for f in filters { XCTAssertEqual(f["address"], want, "eth_getLogs without the contract: \(f.serialized())") }
        let subs = await node.subscriptionFilters
        XCTAssertFalse(subs.isEmpty, "no logs subscription")
        for f in subs { XCTAssertEqual(f["address"], want, "logs subscription without the contract: \(f.serialized())") }
        // An honest node applies the filter: nothing forged arrives, nothing is counted.
        let wh = await rec.importWh
        XCTAssertEqual(wh, 500)
        let ignored = await rec.blocks.reduce(0) { $0 + $1.ignoredLogs }
        XCTAssertEqual(ignored, 0)
    }

    func testForgedLogsFromANodeIgnoringTheFilterChangeNothingAndAreCounted() async throws {
        let chain = await forgedChain()
        let node = try await startNode(chain)
        await node.setIgnoreAddressFilter(true)
        var c = await config([node])
        c.contracts = [TestChain.contract]
        let rec = startClient(c)
        await waitSynced(rec, chain)
        // Live blocks too (fetched by block hash, not by range).
        await chain.mine([.init(.meterReading(Self.reading(start: 9_000, wh: 100))),
                          .init(.meterReading(Self.reading(start: 9_000, wh: 7_777)), from: Self.forger)])
        await waitSynced(rec, chain)
        let blocks = await rec.blocks
        let events = blocks.flatMap(\.events)
        XCTAssertEqual(events.count, 5, "only the metering contract's five readings: \(events)")
        let wh = await rec.importWh
        XCTAssertEqual(wh, 500, "a forged reading was believed")
        XCTAssertEqual(blocks.reduce(0) { $0 + $1.ignoredLogs }, 5, "each forged log is counted once")
        XCTAssertEqual(blocks.reduce(0) { $0 + $1.rejectedLogs }, 0, "ignored is not rejected")
    }

    func testWithoutAContractEveryContractIsBelieved() async throws {
        // What --any-contract means (and why gridtop refuses to start without a contract).
        let chain = await forgedChain()
        let node = try await startNode(chain)
        let rec = startClient(await config([node]))
        await waitSynced(rec, chain)
        for f in await node.logFilters { XCTAssertNil(f["address"]) }
        let wh = await rec.importWh
        XCTAssertEqual(wh, 4 * 5_100)
    }
}
