import XCTest
import Alerts
import ChainCore
import GridCore
@testable import OperatorTUI

/// Golden screens of every view at 80×24 and 160×48 (set GRIDTOP_UPDATE_GOLDEN=1 to rewrite them).
final class ViewGoldenTests: XCTestCase {
    static let places: [(String, [Location])] = [
        ("overview", [.overview]),
        ("grid-roots", [.grid(nil)]),
        ("grid-feeder", [.grid(nil), .grid(ScreenFixtures.id("SUB-3")), .grid(ScreenFixtures.id("F-12"))]),
        ("consensus", [.consensus]),
        ("alarms", [.alarms]),
        ("blocks", [.blocks]),
        ("block", [.alarms, .block(8_123_455, focus: ScreenFixtures.theftOrigin)]),
        ("asset", [.alarms, .block(8_123_455, focus: ScreenFixtures.theftOrigin), .asset(ScreenFixtures.theftTX)]),
    ]

    func golden(_ name: String, _ buf: CellBuffer, file: StaticString = #filePath, line: UInt = #line) throws {
        try assertGoldenScreen(buf, name, file: file, line: line)
    }

    static func assertSafe(_ buf: CellBuffer, file: StaticString = #filePath, line: UInt = #line) {
        for (y, l) in buf.lines(trimTrailing: false).enumerated() {
            XCTAssertEqual(buf.rowWidth(y), buf.width, "row \(y) cells", file: file, line: line)
            for u in l.unicodeScalars {
                XCTAssertFalse(u.value < 0x20 || (0x7F...0x9F).contains(u.value), "control U+\(String(u.value, radix: 16)) in row \(y): \(l)", file: file, line: line)
                XCTAssertFalse([0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069].contains(u.value), "bidi control in row \(y)", file: file, line: line)
            }
        }
    }

    func testEveryViewAtBothSizes() throws {
        for (name, stack) in Self.places {
            for (w, h) in [(80, 24), (160, 48)] {
                let s = ScreenFixtures.state(stack, width: w, height: h)
                let buf = ScreenFixtures.render(s)
                Self.assertSafe(buf)
                try golden("view-\(name)-\(w)x\(h).txt", buf)
            }
        }
    }

    func testReadOnlyAndHelpAndPromptOverlays() throws {
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24, readOnly: true)
        AppReducer.reduce(&s, .toggleHelp)
        let help = ScreenFixtures.render(s)
        try golden("view-help-readonly-80x24.txt", help)
        XCTAssertFalse(help.dump().contains("acknowledge"), "read-only hides actions from help")
        XCTAssertTrue(help.dump().contains("READ-ONLY"))

        var p = ScreenFixtures.state([.alarms], width: 80, height: 24)
        AppReducer.reduce(&p, .beginShelve)
        XCTAssertEqual(p.prompt?.field, 0, "the shelve prompt opens on the duration (operator guide)")
        try golden("view-shelve-prompt-open-80x24.txt", ScreenFixtures.render(p))
        for c in "2h" { AppReducer.reduce(&p, .promptInput(c)) }
        AppReducer.reduce(&p, .promptNextField)
        for c in "known nuisance" { AppReducer.reduce(&p, .promptInput(c)) }
        let prompt = ScreenFixtures.render(p)
        try golden("view-shelve-prompt-80x24.txt", prompt)
        XCTAssertTrue(prompt.dump().contains("SHELVE"))
        XCTAssertTrue(prompt.dump().contains("known nuisance"))

        // The confirmation names its target.
        var q = ScreenFixtures.state([.alarms], width: 80, height: 24)
        AppReducer.reduce(&q, .move(1))
        AppReducer.reduce(&q, .acknowledge)
        let confirm = ScreenFixtures.render(q)
        try golden("view-confirm-ack-80x24.txt", confirm)
        XCTAssertTrue(confirm.dump().contains("ack #1 suspected theft TX-07"))
    }

    func testNothingAvailableIsSaidCalmly() throws {
        // A bare snapshot: no topology, no block details, no KPIs.
        let bare = ScreenData(snapshot: Fixtures.snapshot())
        for (name, stack) in Self.places {
            let s = ScreenFixtures.state(stack, width: 80, height: 24, data: bare)
            let buf = ScreenFixtures.render(s)
            Self.assertSafe(buf)
            let text = buf.dump()
            switch name {
            case "grid-roots", "grid-feeder": XCTAssertTrue(text.contains("grid topology not available"), name)
            case "block": XCTAssertTrue(text.contains("transactions not available"), name)
            case "asset": XCTAssertTrue(text.contains("readings history not available"), name)
            case "consensus": XCTAssertTrue(text.contains("derived from the recent blocks"), name)
            default: break
            }
        }
    }

    func testAlarmRowsShowPriorityByGlyphLetterAndColour() throws {
        let s = ScreenFixtures.state([.alarms], width: 160, height: 48)
        let buf = ScreenFixtures.render(s)
        let lines = buf.lines()
        let y = try XCTUnwrap(lines.firstIndex { $0.contains("consensus stall") && $0.contains("◆C") })
        let x = DisplayWidth.of(lines[y][..<lines[y].range(of: "◆C")!.lowerBound])
        XCTAssertEqual(buf[x, y].role, .alarmCritical)
        XCTAssertTrue(lines.contains { $0.contains("▲H") && $0.contains("suspected theft") && $0.contains("#8123455") })
    }

    func testFloodBanner() throws {
        let many = (0..<14).map { i in
            Alarm(id: 100 + i, kind: .staleMeter, asset: ScreenFixtures.id("C-\(i)"), assetName: "meter \(i)", stage: .consumer,
                  priority: .low, active: true, acknowledged: false, raisedAt: Fixtures.now - Double(i * 30), changedAt: Fixtures.now,
                  interval: nil, message: "no reading", count: 1, origin: nil)
        }
        // Estimated from the list when the engine gives no KPIs …
        var d = ScreenFixtures.data(alarms: many)
        d.kpis = nil
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24, data: d)
        XCTAssertTrue(ScreenFixtures.render(s).dump().contains("ALARM FLOOD: 14 alarms in 10 min"))
        // … and taken from the engine when it does.
        s = ScreenFixtures.state([.alarms], width: 80, height: 24, data: ScreenFixtures.data(kpis: AlarmKPIs(alarmsLast10Min: 22)))
        let buf = ScreenFixtures.render(s)
        XCTAssertTrue(buf.dump().contains("ALARM FLOOD: 22 alarms"))
        XCTAssertEqual(buf[0, 3].role, .banner)
    }

    func testPausedMarkerIsVisible() {
        var s = ScreenFixtures.state([.overview], width: 80, height: 24)
        AppReducer.reduce(&s, .togglePause)
        XCTAssertTrue(ScreenFixtures.render(s).lines()[1].contains("PAUSED"))
    }

    func testASCIIGlyphsForTheLinuxConsole() {
        let s = ScreenFixtures.state([.grid(nil), .grid(ScreenFixtures.id("SUB-3"))], width: 80, height: 24)
        let text = ScreenFixtures.render(s, options: RenderOptions(glyphs: .ascii)).dump()
        for u in text.unicodeScalars where u.value > 0x7E {
            // Only chain text (names) and the ellipsis may be non-ASCII.
            XCTAssertTrue("…⍰北区Vila".unicodeScalars.contains(u) || u.value >= 0x2400 && u.value < 0x2440, "non-ASCII U+\(String(u.value, radix: 16))")
        }
    }
}

final class BenchTests: XCTestCase {
    /// Smoke test of the frame benchmark (small, so the suite stays fast); prints the numbers.
    func testFrameBenchRuns() {
        let r = [FrameBench.alarms(count: 10_000, frames: 5), FrameBench.grid(assets: 20_000, flat: true, frames: 5),
                 FrameBench.grid(assets: 20_000, flat: false, frames: 5)]
        for x in r {
            print("bench:", x)
            XCTAssertGreaterThan(x.medianMs, 0)
        }
    }
}

/// What the trust boundary and the site's configuration put on screen.
final class TrustBoundaryViewTests: XCTestCase {
    func testConsensusViewCountsLogsFromOtherContracts() {
        var data = ScreenFixtures.data()
        data.snapshot.ignoredLogs = 3
        for (w, h) in [(80, 24), (160, 48)] {
            let text = ScreenFixtures.render(ScreenFixtures.state([.consensus], width: w, height: h, data: data)).dump()
            XCTAssertTrue(text.contains("ignored: 3 logs from other contracts"), "\(w)x\(h):\n\(text)")
        }
        data.snapshot.ignoredLogs = 0
        let quiet = ScreenFixtures.render(ScreenFixtures.state([.consensus], width: 160, height: 48, data: data)).dump()
        XCTAssertFalse(quiet.contains("ignored:"))
    }

    func testBannersStayInTheHeaderOnEveryViewAndAt80Columns() {
        var data = ScreenFixtures.data()
        data.snapshot.banners = ["ANY CONTRACT: events of every contract are believed (--any-contract)"]
        data.snapshot.site = "Nordstadt"
        for (name, stack) in ViewGoldenTests.places {
            let buf = ScreenFixtures.render(ScreenFixtures.state(stack, width: 80, height: 24, data: data))
            let header = buf.lines(trimTrailing: true)[0]
            XCTAssertTrue(header.contains("ANY CONTRACT"), "\(name): \(header)")
        }
        let wide = ScreenFixtures.render(ScreenFixtures.state([.overview], width: 160, height: 48, data: data))
        XCTAssertTrue(wide.lines(trimTrailing: true)[0].contains("Nordstadt"), wide.lines(trimTrailing: true)[0])
    }

    func testWrongChainOnEveryNodeIsABanner() {
        let nodes = [NodeStatus(name: "a", endpoint: "ws://a", connection: .refused, chainId: 1),
                     NodeStatus(name: "b", endpoint: "ws://b", connection: .refused, chainId: 5)]
        let text = WrongChain.banner(nodes: nodes, expected: 246)
        XCTAssertEqual(text, "WRONG CHAIN: every node reports chain id 1, 5, expected 246; check --chain-id or the nodes")
        var one = nodes
        one[1].connection = .connected
        XCTAssertNil(WrongChain.banner(nodes: one, expected: 246), "one usable node: no banner")
        XCTAssertNil(WrongChain.banner(nodes: [], expected: 246))
    }

    func testClockInTheSitesTimeZone() {
        var opts = RenderOptions()
        opts.clockZone = ClockZone(name: "CET", offsetSeconds: 3600, change: (at: 2_000_000_000, offsetSeconds: 7200, name: "CEST"))
        var s = ScreenFixtures.state([.overview], width: 160, height: 48)
        s.now = 1_794_038_400  // 08:00:00 UTC
        let header = ScreenFixtures.render(s, options: opts).lines(trimTrailing: true)[0]
        XCTAssertTrue(header.contains("09:00:00 CET"), header)
        XCTAssertEqual(opts.clockZone?.offset(at: 2_000_000_001).1, "CEST")
    }

    func testShelvePromptHonoursTheSitesLimit() {
        var s = ScreenFixtures.state([.alarms], width: 80, height: 24)
        s.shelveLimitSeconds = 2 * 3600
        AppReducer.reduce(&s, .beginShelve)
        s.prompt?.fields[1] = "known nuisance"
        s.prompt?.fields[0] = "3h"
        let refused = AppReducer.reduce(&s, .promptSubmit)
        XCTAssertFalse(refused.contains { if case .send = $0 { true } else { false } }, "a shelve over the site's limit was sent")
        XCTAssertEqual(s.prompt?.error, "shelve refused: 3h is over the shelve limit; give 2h or less")
        XCTAssertTrue(ScreenFixtures.render(s).dump().contains("2h or less"), "the refusal is on screen")
        s.prompt?.fields[0] = "2h"
        let sent = AppReducer.reduce(&s, .promptSubmit)
        XCTAssertEqual(sent.filter { if case .send = $0 { true } else { false } }.count, 1)
        XCTAssertNil(ShelveDuration.parse("3h", limit: 2 * 3600))
        XCTAssertNotNil(ShelveDuration.parse("8h"), "the default limit is one 12-hour shift")
    }
}
