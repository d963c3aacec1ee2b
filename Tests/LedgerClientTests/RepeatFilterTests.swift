import XCTest
@testable import LedgerClient

final class RepeatFilterTests: XCTestCase {
    func testRepeatsWithinTheWindowBecomeOneLineAndACount() {
        var f = RepeatFilter(window: 10)
        var out: [String] = []
        for i in 0..<6563 { out += f.admit("warning gridtop.ledger: undecodable log rejected", line: "line \(i)", now: Double(i) / 1000) }
        out += f.admit("error gridtop.ledger: node untrusted; excluded", line: "other", now: 7)
        XCTAssertEqual(out, ["line 0", "other"])
        out = f.admit("warning gridtop.ledger: undecodable log rejected", line: "line again", now: 12)
        XCTAssertEqual(out, ["… and 6562 more like “warning gridtop.ledger: undecodable log rejected” in 10 s", "line again"])
        XCTAssertEqual(f.expire(now: .infinity), [], "the second window had no repeats; the other none either")
    }

    func testOpenCountsAreFlushedAtExit() {
        var f = RepeatFilter(window: 10)
        _ = f.admit("k", line: "first", now: 0)
        _ = f.admit("k", line: "second", now: 1)
        XCTAssertEqual(f.expire(now: .infinity), ["… and 1 more like “k” in 10 s"])
    }
}
