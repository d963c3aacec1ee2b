import Foundation
import XCTest
@testable import OperatorTUI

/// Compares a rendered screen with its golden file in `Golden/` next to the tests;
/// set GRIDTOP_UPDATE_GOLDEN=1 to rewrite the files.
func assertGoldenScreen(_ buf: CellBuffer, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    let url = dir.appendingPathComponent(name)
    let actual = buf.dump() + "\n"
    if ProcessInfo.processInfo.environment["GRIDTOP_UPDATE_GOLDEN"] == "1" {
        try actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    if expected != actual {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let first = (0..<min(e.count, a.count)).first(where: { e[$0] != a[$0] }) ?? min(e.count, a.count)
        XCTFail("\(name) differs at line \(first + 1):\nexpected: \(first < e.count ? String(e[first]) : "<none>")\nactual:   \(first < a.count ? String(a[first]) : "<none>")\n--- actual ---\n\(actual)", file: file, line: line)
    }
}
