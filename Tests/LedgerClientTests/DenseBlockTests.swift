import ChainCore
import GridCore
import Logging
import XCTest

@testable import LedgerClient

/// Blocks whose grid logs alone exceed the frame limit are still fetched: asked again on a
/// wide connection (limit `maxFrameSizeHardCap`), in a backfill and live, and counted as covered.
final class DenseBlockTests: LoopbackTestCase {
    func denseBlock(_ base: UInt64, _ n: Int) -> [TestChain.Item] {
        (0..<n).map { k in .init(.meterReading(Self.reading(Bytes32.asset(code: "C-\(k)"), start: base, wh: 1))) }
    }

    func testDenseBlocksInABackfillAndLive() async throws {
        let chain = TestChain()
        // Block 1: 300 readings (~200 kB of JSON) under a 16 kB frame limit: more than twice the limit,
        // so NIO's decoder is the one that refuses it. Block 2: a little over the limit.
        await chain.prebuild([denseBlock(0, 300), denseBlock(900, 30), [], [.init(.meterReading(Self.reading(start: 1800, wh: 5)))]])
        let node = try await startNode(chain)
        var c = await config([node])
        c.maxFrameSize = 16 << 10
        c.maxFrameSizeHardCap = 4 << 20
        var logger = Logger(label: "dense")
        logger.logLevel = .critical
        let client = LedgerClient(configuration: c, logger: logger)
        let rec = Recorder()
        tasks.append(Task { try await client.run({ await rec.add($0) }) })
        await waitSynced(rec, chain, timeout: .seconds(20))
        var wh = await rec.importWh
        XCTAssertEqual(wh, 300 + 30 + 5, "every reading of the dense blocks")
        await assertExactlyOnce(rec)
        // Live: a new dense block, fetched by hash.
        await chain.mine(denseBlock(2700, 250))
        await waitSynced(rec, chain, timeout: .seconds(20))
        wh = await rec.importWh
        XCTAssertEqual(wh, 335 + 250)
        let head = await chain.head.number
        XCTAssertEqual(client.coverage.value.missing(in: 0...head), [], "every height examined")
        let status = await rec.lastStatus?.first?.lastError ?? ""
        XCTAssertTrue(status.isEmpty || status.contains("larger than the maximum frame size"), status)
    }

    func testABlockOverTheHardCapIsNamed() async throws {
        let chain = TestChain()
        await chain.prebuild([denseBlock(0, 2), denseBlock(900, 400), denseBlock(1800, 2)])
        let node = try await startNode(chain)
        var c = await config([node])
        c.maxFrameSize = 8 << 10
        c.maxFrameSizeHardCap = 64 << 10
        var logger = Logger(label: "dense")
        logger.logLevel = .critical
        let client = LedgerClient(configuration: c, logger: logger)
        let rec = Recorder()
        tasks.append(Task { try await client.run({ await rec.add($0) }) })
        await eventually("the too-large block is named", timeout: .seconds(20)) {
            (await rec.lastStatus?.first?.lastError ?? "").contains("are larger than the hard cap of 65536 bytes")
        }
        let last = await rec.lastStatus?.first?.lastError ?? ""
        XCTAssertTrue(last.contains("hard cap"), last)
        // Block 1 was emitted and covered; block 2 never is, so an audit would name it.
        XCTAssertTrue(client.coverage.value.contains(1))
        XCTAssertFalse(client.coverage.value.contains(2))
    }
}
