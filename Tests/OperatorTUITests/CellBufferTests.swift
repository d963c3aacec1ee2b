import XCTest
@testable import OperatorTUI

final class CellBufferTests: XCTestCase {
    func testPutAndDump() {
        var b = CellBuffer(width: 10, height: 2)
        XCTAssertEqual(b.put("hello", x: 1, y: 0, role: .title), 5)
        XCTAssertEqual(b.dump(), " hello\n")
        XCTAssertEqual(b[1, 0].role, .title)
        XCTAssertEqual(b[0, 0].role, .normal)
    }

    func testCutByWidthWithEllipsis() {
        var b = CellBuffer(width: 20, height: 1)
        XCTAssertEqual(b.put("transformer", x: 0, y: 0, maxWidth: 6), 6)
        XCTAssertEqual(b.dump(), "trans…")
        // At the right edge the buffer edge is the limit.
        var e = CellBuffer(width: 8, height: 1)
        e.put("substation", x: 2, y: 0)
        XCTAssertEqual(e.dump(), "  subst…")
    }

    func testWideCharactersOccupyTwoCellsAndAreNeverSplit() {
        var b = CellBuffer(width: 7, height: 1)
        b.put("北区変電所", x: 0, y: 0)
        // 7 columns: 北区変 would be 6 + ellipsis 1 = 7.
        XCTAssertEqual(b.dump(), "北区変…")
        XCTAssertEqual(b[0, 0].width, 2)
        XCTAssertTrue(b[1, 0].isContinuation)
        XCTAssertEqual(b.rowWidth(0), 7)

        // A wide char that does not fit at the right edge is not drawn half.
        var c = CellBuffer(width: 5, height: 1)
        c.put("ab北", x: 2, y: 0, maxWidth: 3)
        XCTAssertEqual(c.dump(), "  ab…")
        var d = CellBuffer(width: 5, height: 1)
        d.put("北", x: 4, y: 0)
        XCTAssertEqual(d.dump(), "    …")
        XCTAssertEqual(d.rowWidth(0), 5)
    }

    func testOverwritingHalfAWideCharBlanksTheOtherHalf() {
        var b = CellBuffer(width: 6, height: 1)
        b.put("北区", x: 0, y: 0)
        b.put("x", x: 1, y: 0)          // second half of 北
        XCTAssertEqual(b.dump(), " x区")
        XCTAssertEqual(b.rowWidth(0), 6)
        b.put("y", x: 2, y: 0)          // first half of 区
        XCTAssertEqual(b.dump(), " xy")
        XCTAssertEqual(b.rowWidth(0), 6)
    }

    func testCombiningMarksStayInOneCell() {
        var b = CellBuffer(width: 10, height: 1)
        XCTAssertEqual(b.put("Sa\u{0303}o", x: 0, y: 0), 3)
        XCTAssertEqual(b[1, 0].text, "a\u{0303}")
        // A stray leading combining mark is drawn on a dotted circle, never merged into the previous cell.
        var c = CellBuffer(width: 10, height: 1)
        c.put("\u{0301}x", x: 0, y: 0)
        XCTAssertEqual(c[0, 0].text, "\u{25CC}\u{0301}")
        XCTAssertEqual(c[1, 0].text, "x")
    }

    func testBufferNeverHoldsControlCharacters() {
        var b = CellBuffer(width: 40, height: 1)
        b.put("\u{1B}[2J\u{1B}]0;x\u{07}\u{9B}31m", x: 0, y: 0)
        for x in 0..<b.width {
            for u in b[x, 0].text.unicodeScalars {
                XCTAssertFalse(u.value < 0x20 || (0x7F...0x9F).contains(u.value))
            }
        }
        XCTAssertTrue(b.dump().hasPrefix("\u{241B}[2J\u{241B}]0;x\u{2407}⍰31m"))
    }

    func testDiffReportsOnlyChangedCells() {
        var a = CellBuffer(width: 20, height: 3)
        a.put("head #100  3s ago", x: 0, y: 0)
        a.put("unchanged row", x: 0, y: 1)
        var b = a
        XCTAssertEqual(CellBuffer.diff(a, b), [])
        b.put("head #101  0s", x: 0, y: 0)
        b.put("!", x: 19, y: 2, role: .warn)
        let runs = CellBuffer.diff(a, b)
        XCTAssertEqual(runs.map(\.y), [0, 0, 2])
        // "#100  3s ago" → "#101  0s ago": two runs on row 0 ("1" and "0"), one cell on row 2.
        XCTAssertEqual(runs[0].x, 8); XCTAssertEqual(runs[0].cells.map(\.text), ["1"])
        XCTAssertEqual(runs[1].x, 11); XCTAssertEqual(runs[1].cells.map(\.text), ["0"])
        XCTAssertEqual(runs[2].x, 19); XCTAssertEqual(runs[2].cells.map(\.role), [.warn])
        XCTAssertEqual(runs.reduce(0) { $0 + $1.cells.count }, 3)
    }

    func testDiffRoleChangeCountsAsChange() {
        let a = CellBuffer(width: 4, height: 1)
        var b = a
        b.fill(x: 1, y: 0, count: 2, role: .selected)
        XCTAssertEqual(CellBuffer.diff(a, b), [CellRun(x: 1, y: 0, cells: [.blank(.selected), .blank(.selected)])])
    }

    func testDiffKeepsWideCharactersWhole() {
        var a = CellBuffer(width: 6, height: 1)
        a.put("ab北", x: 0, y: 0)
        var b = CellBuffer(width: 6, height: 1)
        b.put("ab区", x: 0, y: 0)
        let runs = CellBuffer.diff(a, b)
        XCTAssertEqual(runs.count, 1)
        XCTAssertEqual(runs[0].x, 2)
        XCTAssertEqual(runs[0].cells.map(\.width), [2, 0])
    }

    func testDiffOfDifferentSizesIsAFullRepaint() {
        let a = CellBuffer(width: 4, height: 2)
        let b = CellBuffer(width: 5, height: 3)
        let runs = CellBuffer.diff(a, b)
        XCTAssertEqual(runs.count, 3)
        XCTAssertTrue(runs.allSatisfy { $0.x == 0 && $0.cells.count == 5 })
    }
}

extension String {
    func trimmingTrailing() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
