import ChainCore
import Foundation
import GridCore
import XCTest

@testable import LedgerClient

/// The benchmark functions run (small sizes) and count correctly; the numbers printed
/// here are only meaningful from a release build (`swift test -c release --filter BenchmarkTests`).
final class BenchmarkTests: LoopbackTestCase {
    /// GRIDTOP_BENCH_LOGS sets the size (default small, for the test suite).
    static var logs: Int { Int(ProcessInfo.processInfo.environment["GRIDTOP_BENCH_LOGS"] ?? "") ?? 4_000 }

    func testDecodeBenchmarkCountsEveryMeterReading() throws {
        let n = Self.logs
        let reps = n > 10_000 ? 5 : 1
        let streaming = try LedgerBenchmarks.decodeThroughput(logs: n, repetitions: reps, path: .streaming)
        let generic = try LedgerBenchmarks.decodeThroughput(logs: n, repetitions: reps, path: .generic)
        XCTAssertEqual(streaming.items, n)
        XCTAssertEqual(generic.items, n)
        print("BENCH \(streaming)")
        print("BENCH \(generic)")
        print("BENCH streaming/generic = \(String(format: "%.1f", streaming.perSecond / generic.perSecond))x")
    }

    func testBackfillBenchmarkOverLoopbackWebSocket() async throws {
        let chain = TestChain()
        let perBlock = 25, blocks = max(40, Self.logs / perBlock / 10)
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
