import XCTest

@testable import LedgerClient

final class BlockCoverageTests: XCTestCase {
    func testRangesMergeAndMissingIsExact() {
        var c = BlockCoverage()
        XCTAssertEqual(c.missing(in: 0...9), [0...9])
        c.insert(3...5)
        c.insert(8...8)
        XCTAssertEqual(c.ranges, [3...5, 8...8])
        XCTAssertEqual(c.missing(in: 0...9), [0...2, 6...7, 9...9])
        c.insert(6...7)  // adjacent on both sides: one range
        XCTAssertEqual(c.ranges, [3...8])
        c.insert(0...1)
        c.insert(2...2)
        XCTAssertEqual(c.ranges, [0...8])
        XCTAssertEqual(c.missing(in: 0...8), [])
        XCTAssertEqual(c.missing(in: 5...12), [9...12])
        c.insert(20...30)
        c.insert(10...25)
        XCTAssertEqual(c.ranges, [0...8, 10...30])
        XCTAssertEqual(c.missing(in: 0...40), [9...9, 31...40])
        XCTAssertTrue(c.contains(9) == false && c.contains(10))
        c.insert(UInt64.max - 1...UInt64.max)
        XCTAssertEqual(c.ranges.last, UInt64.max - 1...UInt64.max)
        XCTAssertEqual(BlockCoverage.describe([4521...9310, 9400...9400]), "4521-9310, 9400")
        XCTAssertEqual(BlockCoverage.count([4521...9310, 9400...9400]), 4791)
    }

    func testAgainstASetOfHeights() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var c = BlockCoverage()
            var set = Set<UInt64>()
            for _ in 0..<20 {
                let a = UInt64.random(in: 0...100, using: &rng)
                let b = min(100, a + UInt64.random(in: 0...10, using: &rng))
                c.insert(a...b)
                set.formUnion(a...b)
            }
            let missing = c.missing(in: 0...100).flatMap { Array($0) }
            XCTAssertEqual(Set(missing), Set(0...100).subtracting(set))
            for (x, y) in zip(c.ranges, c.ranges.dropFirst()) { XCTAssertGreaterThan(y.lowerBound, x.upperBound + 1, "\(c.ranges)") }
        }
    }
}
