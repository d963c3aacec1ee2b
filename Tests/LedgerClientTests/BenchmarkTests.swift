import ChainCore
import GridCore
import XCTest

@testable import LedgerClient

/// The benchmark functions run (small sizes) and count correctly; the numbers printed
/// here are only meaningful from a release build (`swift test -c release --filter BenchmarkTests`).
final class BenchmarkTests: LoopbackTestCase {
    func testDecodeBenchmarkCountsEveryMeterReading() throws {
        let streaming = try LedgerBenchmarks.decodeThroughput(logs: 4_000, repetitions: 1, path: .streaming)
        let generic = try LedgerBenchmarks.decodeThroughput(logs: 4_000, repetitions: 1, path: .generic)
        XCTAssertEqual(streaming.items, 4_000)
        XCTAssertEqual(generic.items, 4_000)
        print("BENCH \(streaming)")
        print("BENCH \(generic)")
        print("BENCH streaming/generic = \(String(format: "%.1f", streaming.perSecond / generic.perSecond))x")
    }

    func testBackfillBenchmarkOverLoopbackWebSocket() async throws {
        let chain = TestChain()
        let blocks = 400, perBlock = 25
        await chain.prebuild((0..<blocks).map { b in
            (0..<perBlock).map { i in .init(.meterReading(Self.reading(start: UInt64(b * perBlock + i) * 900, wh: 1))) }
        })
        let node = try await startNode(chain)
        let (bm, lm) = try await LedgerBenchmarks.backfillThroughput(url: await node.url, timeout: .seconds(60))
        XCTAssertEqual(lm.items, blocks * perBlock)
        XCTAssertEqual(bm.items, blocks)  // every block holds events; the head is one of them
        print("BENCH \(bm)")
        print("BENCH \(lm)")
    }
}
