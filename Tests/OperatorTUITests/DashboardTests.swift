import XCTest
import Alerts
@testable import OperatorTUI

final class DashboardTests: XCTestCase {
    func assertGolden(_ buf: CellBuffer, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try assertGoldenScreen(buf, name, file: file, line: line)
    }

    func assertWellFormed(_ buf: CellBuffer, file: StaticString = #filePath, line: UInt = #line) {
        for (y, l) in buf.lines(trimTrailing: false).enumerated() {
            XCTAssertEqual(buf.rowWidth(y), buf.width, "row \(y) cells", file: file, line: line)
            XCTAssertLessThanOrEqual(DisplayWidth.of(l), buf.width, "row \(y) too wide: \(l)", file: file, line: line)
            for u in l.unicodeScalars {
                XCTAssertFalse(u.value < 0x20 || (0x7F...0x9F).contains(u.value), "control U+\(String(u.value, radix: 16)) in row \(y)", file: file, line: line)
                XCTAssertFalse([0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069].contains(u.value), "bidi control in row \(y)", file: file, line: line)
            }
        }
    }

    func row(_ buf: CellBuffer, containing s: String) -> Int? {
        buf.lines().firstIndex { $0.contains(s) }
    }

    func column(of s: String, in line: String) -> Int? {
        guard let r = line.range(of: s) else { return nil }
        return DisplayWidth.of(line[..<r.lowerBound])
    }

    func checkCommonContent(_ buf: CellBuffer, file: StaticString = #filePath, line: UInt = #line) throws {
        let lines = buf.lines()
        // Header: app, chain, head and age, nodes, simulated marker in its own style.
        // Narrow (80 columns): the chain id and node count give way so the clock stays (issue #12 item 3).
        if buf.width >= 100 {
            XCTAssertTrue(lines[0].hasPrefix(" gridtop  chain 1337  head #8123456 3s ago  nodes 3/4"), lines[0], file: file, line: line)
        } else {
            XCTAssertTrue(lines[0].hasPrefix(" gridtop  head #8123456 3s ago  ⚠ 1 untrusted  "), lines[0], file: file, line: line)
        }
        XCTAssertNotNil(lines[0].range(of: #"\d\d:\d\d:\d\d UTC"#, options: .regularExpression), lines[0], file: file, line: line)
        let mx = try XCTUnwrap(column(of: "SIMULATED", in: lines[0]), file: file, line: line)
        XCTAssertEqual(buf[mx, 0].role, .simulated, file: file, line: line)
        XCTAssertTrue(lines[0].hasSuffix(buf.width >= 100 ? "SIMULATED NETWORK ◆" : "SIMULATED ◆"), file: file, line: line)

        // Energy: interval and one row per stage, right-aligned values with units.
        XCTAssertNotNil(row(buf, containing: "ENERGY PER STAGE  interval 2026-05-01 12:30-12:45 UTC (15 min)"), file: file, line: line)
        for stage in ["generation", "transmission", "substation", "feeder", "transformer", "consumer"] {
            XCTAssertNotNil(lines.firstIndex { $0.hasPrefix("  " + stage) }, stage, file: file, line: line)
        }
        let tx = try XCTUnwrap(lines.first { $0.hasPrefix("  transmission") }, file: file, line: line)
        XCTAssertTrue(tx.contains("6/6"), file: file, line: line)
        XCTAssertTrue(tx.contains("48.250 MWh   47.311 MWh"), tx, file: file, line: line)
        let cons = try XCTUnwrap(lines.first { $0.hasPrefix("  consumer") }, file: file, line: line)
        XCTAssertTrue(cons.contains("1187/1200"), file: file, line: line)
        XCTAssertTrue(cons.contains("+1.800 MWh"), file: file, line: line)
        let cy = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("  consumer") })
        let ux = try XCTUnwrap(column(of: "+1.800 MWh", in: cons))
        XCTAssertEqual(buf[ux, cy].role, .warn, file: file, line: line)
        // Right alignment: every import value ends in the same column.
        let stageNames = ["generation", "transmission", "substation", "feeder", "transformer", "consumer"]
        let imports = lines.filter { l in stageNames.contains { l.hasPrefix("  " + $0 + " ") } }
        XCTAssertEqual(imports.count, 6, file: file, line: line)
        let ends = Set(imports.compactMap { l in l.range(of: " MWh").map { DisplayWidth.of(l[..<$0.upperBound]) } })
        XCTAssertEqual(ends.count, 1, "first MWh column misaligned: \(imports)", file: file, line: line)

        // Latest blocks: height, short hash, proposer, readings, rejected mark.
        let b0 = try XCTUnwrap(lines.first { $0.hasPrefix("  #8123456") }, file: file, line: line)
        XCTAssertTrue(b0.contains("0xbe92"), b0, file: file, line: line)
        XCTAssertTrue(b0.contains("1247"), file: file, line: line)
        let b1 = try XCTUnwrap(lines.first { $0.hasPrefix("  #8123455") }, file: file, line: line)
        XCTAssertTrue(b1.contains("✗ 2 rejected"), b1, file: file, line: line)

        // Alarms: most urgent first, priority as glyph + letter + colour role.
        let ay = try XCTUnwrap(row(buf, containing: "ALARMS"), file: file, line: line)
        // Below 100 columns state and kind are compact, so the asset's name has room.
        let compact = buf.width < DashboardView.compactAlarmWidth
        let expected = compact
            ? ["  ◆C  CLR UNACK cons. stall", "  ▲H  ACT UNACK susp. theft", "  ■M  ACT UNACK xfer mism.", "  ●L  ACT ack   stale meter"]
            : ["  ◆C  clear  UNACK consensus stall", "  ▲H  ACTIVE UNACK suspected theft", "  ■M  ACTIVE UNACK transfer mismatch", "  ●L  ACTIVE ack   stale meter"]
        XCTAssertTrue(lines[ay + 2].hasPrefix(expected[0]), lines[ay + 2], file: file, line: line)
        XCTAssertTrue(lines[ay + 3].hasPrefix(expected[1]), lines[ay + 3], file: file, line: line)
        XCTAssertEqual(buf[2, ay + 3].role, .alarmHigh, file: file, line: line)
        XCTAssertEqual(buf[3, ay + 3].text, "H", file: file, line: line)
        XCTAssertTrue(lines[ay + 3].contains("TX-07 ⍰evil⍰ Vila 北区"), "the whole name: \(lines[ay + 3])", file: file, line: line)
        XCTAssertTrue(lines[ay + 4].hasPrefix(expected[2]), lines[ay + 4], file: file, line: line)
        XCTAssertTrue(lines[ay + 5].hasPrefix(expected[3]), lines[ay + 5], file: file, line: line)
        XCTAssertTrue(lines[ay].contains("3 active  3 unack"), lines[ay], file: file, line: line)

        // Footer: first warning and the key hints.
        XCTAssertTrue(lines[buf.height - 1].hasPrefix("⚠ validator-4 unreachable"), file: file, line: line)
        XCTAssertTrue(lines[buf.height - 1].hasSuffix("q quit  ^L repaint"), file: file, line: line)

        // Sections in order, none overlapping.
        let order = ["ENERGY PER STAGE", "LATEST BLOCKS", "ALARMS"].compactMap { t in lines.firstIndex { $0.hasPrefix(t) } }
        XCTAssertEqual(order.count, 3, file: file, line: line)
        XCTAssertEqual(order, order.sorted(), file: file, line: line)
    }

    func testDashboard80x24() throws {
        let buf = Fixtures.render(width: 80, height: 24)
        assertWellFormed(buf)
        try checkCommonContent(buf)
        let lines = buf.lines()
        XCTAssertFalse(lines.contains { $0.hasPrefix("NODES") }, "no room for nodes at 80×24")
        try assertGolden(buf, "dashboard-80x24.txt")
    }

    func testDashboard160x48() throws {
        let buf = Fixtures.render(width: 160, height: 48)
        assertWellFormed(buf)
        try checkCommonContent(buf)
        let lines = buf.lines()
        // Extra room: clock, more columns, all blocks, nodes and warnings sections.
        XCTAssertTrue(lines[0].contains("12:53:20 UTC"), lines[0])
        XCTAssertNotNil(lines.firstIndex { $0.hasPrefix("  #8123445") }, "all 12 blocks")
        XCTAssertNotNil(row(buf, containing: "unacc."))
        XCTAssertNotNil(row(buf, containing: "▲H  ACTIVE UNACK suspected theft   TX-07 ⍰evil⍰ Vila 北区"))
        let ny = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("NODES") })
        XCTAssertTrue(lines[ny + 4].contains("␛]0;pwned␇"), "client version sanitized: \(lines[ny + 3])")
        XCTAssertTrue(lines[ny + 5].contains("connection refused␛[2J"), lines[ny + 5])
        XCTAssertNotNil(lines.firstIndex { $0.hasPrefix("WARNINGS") })
        try assertGolden(buf, "dashboard-160x48.txt")
    }

    func testNotSimulatedHasNoMarker() {
        let buf = Fixtures.render(width: 80, height: 24, snapshot: Fixtures.snapshot(simulated: false))
        XCTAssertFalse(buf.dump().contains("SIMULATED"))
        XCTAssertFalse(buf.cells.contains { $0.role == .simulated })
    }

    func testASCIIGlyphs() throws {
        let buf = Fixtures.render(width: 80, height: 24, options: RenderOptions(glyphs: .ascii))
        assertWellFormed(buf)
        let lines = buf.lines()
        XCTAssertTrue(lines[0].hasSuffix("** SIMULATED **"), lines[0])
        XCTAssertNotNil(lines.firstIndex { $0.hasPrefix("  ^H  ACT UNACK susp. theft") }, buf.dump())
        XCTAssertNotNil(lines.firstIndex { $0.hasPrefix("  !C  CLR UNACK") }, buf.dump())
    }

    func testEveryIntermediateSizeLaysOut() {
        for w in [80, 81, 99, 100, 120, 139, 140, 159, 160, 200] {
            for h in [24, 25, 30, 40, 48, 60] {
                let buf = Fixtures.render(width: w, height: h)
                assertWellFormed(buf)
                let lines = buf.lines()
                XCTAssertTrue(lines[0].contains(w >= 100 ? "SIMULATED NETWORK" : "SIMULATED"), "\(w)×\(h)")
                XCTAssertNotNil(lines[0].range(of: #"\d\d:\d\d:\d\d UTC"#, options: .regularExpression), "the header keeps the clock at \(w)×\(h): \(lines[0])")
                XCTAssertNotNil(lines.firstIndex { $0.contains("▲H") }, "\(w)×\(h)")
            }
        }
    }

    func testManyAlarmsSayHowManyAreHidden() throws {
        let base = Fixtures.snapshot().alarms[1]
        let many = (0..<40).map { i -> Alarm in var a = base; a.id = 100 + i; a.raisedAt -= Double(i); return a }
        let buf = Fixtures.render(width: 80, height: 24, snapshot: Fixtures.snapshot(alarms: many))
        assertWellFormed(buf)
        let lines = buf.lines()
        let ay = lines.firstIndex { $0.hasPrefix("ALARMS") }!
        XCTAssertTrue(lines[ay].contains("more not shown"), lines[ay])
        let words = lines[ay].split(separator: " ")
        let i = try XCTUnwrap(words.firstIndex(of: "more"))
        let hidden = try XCTUnwrap(Int(words[i - 1]))
        XCTAssertEqual(lines.filter { $0.hasPrefix("  ▲H") }.count + hidden, 40)
    }

    func testEmptySnapshot() {
        var buf = CellBuffer(width: 80, height: 24)
        DashboardView.render(snapshot: MonitorSnapshot(now: Fixtures.now), into: &buf)
        assertWellFormed(buf)
        let text = buf.dump()
        XCTAssertTrue(text.contains("head none yet"))
        XCTAssertTrue(text.contains("no settled interval yet"))
        XCTAssertTrue(text.contains("no blocks yet"))
        XCTAssertTrue(text.contains("no active or unacknowledged alarms"))
    }

    func testTooSmall() {
        let buf = Fixtures.render(width: 60, height: 20)
        let lines = buf.lines()
        XCTAssertEqual(lines[10].trimmingCharacters(in: .whitespaces), "terminal too small: need 80×24, have 60×20")
        XCTAssertFalse(buf.dump().contains("ALARMS"))
        for (w, h) in [(79, 24), (80, 23), (1, 1), (0, 0)] {
            let b = Fixtures.render(width: w, height: h)
            XCTAssertFalse(b.dump().contains("ALARMS"), "\(w)×\(h)")
        }
    }

    func testAgesTickWithTheWallClock() {
        var a = CellBuffer(width: 80, height: 24), b = a
        let snap = Fixtures.snapshot()
        DashboardView.render(snapshot: snap, into: &a, now: snap.now)
        DashboardView.render(snapshot: snap, into: &b, now: snap.now + 1)
        XCTAssertTrue(a.lines()[0].contains("3s ago"))
        XCTAssertTrue(b.lines()[0].contains("4s ago"))
        let changed = CellBuffer.diff(a, b).reduce(0) { $0 + $1.cells.count }
        XCTAssertGreaterThan(changed, 0)
        XCTAssertLessThan(changed, 80, "a tick changes a few age cells, not the screen")
    }
}
