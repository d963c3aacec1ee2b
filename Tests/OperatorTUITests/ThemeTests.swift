import XCTest
import Alerts
import ChainCore
import GridCore
@testable import OperatorTUI

final class ThemeTests: XCTestCase {
    static let themesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("themes").path

    func testShippedThemesParseAndCoverEveryMode() throws {
        let names = ThemeLoader.available(in: [Self.themesDir])
        XCTAssertEqual(names, ["colorblind", "dark", "high-contrast", "isa101", "light"])
        for n in names {
            let t = try ThemeLoader.load(name: n, searchPath: [Self.themesDir]).get()
            XCTAssertEqual(t.name, n)
            for mode in ColorMode.allCases {
                // Priorities stay distinguishable in every mode.
                let styles = [StyleRole.alarmCritical, .alarmHigh, .alarmMedium, .alarmLow].map { t.style($0, mode: mode) }
                XCTAssertEqual(Set(styles.map { "\($0.fg)/\($0.bg)/\($0.attrs.rawValue)" }).count, 4, "\(n) \(mode)")
                for r in StyleRole.allCases {
                    let st = t.style(r, mode: mode)
                    switch mode {
                    case .monochrome: XCTAssertEqual([st.fg, st.bg], [-1, -1])
                    case .color8: XCTAssertTrue((-1...7).contains(st.fg) && (-1...7).contains(st.bg), "\(n) \(r) 8")
                    case .color16: XCTAssertTrue((-1...15).contains(st.fg) && (-1...15).contains(st.bg), "\(n) \(r) 16")
                    case .color256: XCTAssertTrue((-1...255).contains(st.fg) && (-1...255).contains(st.bg), "\(n) \(r) 256")
                    case .truecolor: XCTAssertTrue((-1...0xFFFFFF).contains(st.fg), "\(n) \(r) tc")
                    }
                }
            }
        }
    }

    func testBuiltInDefaultEqualsItsFile() throws {
        let file = try ThemeLoader.load(name: "isa101", searchPath: [Self.themesDir]).get()
        XCTAssertEqual(file, Theme.builtin)
        XCTAssertEqual(Theme.builtin.name, Theme.defaultName)
    }

    func testColourFallbackChain() {
        let red = ThemeColor.rgb(0xAF, 0, 0)
        XCTAssertEqual(red.number(for: .truecolor), 0xAF0000)
        XCTAssertEqual(red.number(for: .color256), 124)
        XCTAssertEqual(red.number(for: .color16), 1)
        XCTAssertEqual(red.number(for: .color8), 1)
        XCTAssertEqual(red.number(for: .monochrome), -1)
        XCTAssertEqual(ThemeColor.index(9).number(for: .color8), 1, "bright red → red on 8 colours")
        XCTAssertEqual(ThemeColor.terminalDefault.number(for: .color256), -1)
        XCTAssertEqual(ColorMode.choose(hasColors: true, colors: 1 << 24, noColor: false), .truecolor)
        XCTAssertEqual(ColorMode.choose(hasColors: true, colors: 16, noColor: false), .color16)
        XCTAssertEqual(ColorMode.choose(hasColors: true, colors: 1 << 24, noColor: true), .monochrome, "NO_COLOR wins")
        // TERM=linux: the default theme's own [8] section.
        XCTAssertEqual(Theme.builtin.style(.alarmCritical, mode: .color8), RoleStyle(fg: 7, bg: 1, .bold))
    }

    func testBrokenThemesGiveClearErrors() {
        let cases: [(String, Int, String)] = [
            ("name = x\n[colors]\nnormal = fg #12345\n", 3, "bad colour `#12345`"),
            ("name = x\nnormal = fg chartreuse\n", 2, "bad colour `chartreuse`"),
            ("name = x\nwobble = fg red\n", 2, "unknown role `wobble`"),
            ("name = x\n[colours]\n", 2, "unknown section [colours]"),
            ("name = x\nnormal fg red\n", 2, "expected `key = value`"),
            ("name = x\nnormal = fg\n", 2, "`fg` needs a colour"),
            ("name = x\nnormal = blink\n", 2, "unknown word `blink`"),
            ("name = x\n[mono]\nnormal = fg red\n", 3, "[mono] takes attributes only"),
            ("name = x\n[8]\nnormal = fg bright-red\n", 3, "[8] colours must be 0-7"),
            ("normal = fg red\n", 0, "missing `name = …`"),
            ("name = ../../etc\nnormal = bold\n", 1, "name must be"),
            ("name = x\n", 0, "no roles defined"),
        ]
        for (text, line, msg) in cases {
            XCTAssertThrowsError(try Theme.parse(text, file: "t.theme")) { e in
                let err = e as! ThemeError
                XCTAssertEqual(err.line, line, text)
                XCTAssertTrue(err.description.contains(msg), "\(err.description) should contain \(msg)")
                XCTAssertTrue(err.description.hasPrefix("t.theme"), err.description)
            }
        }
        // Comments, blank lines, tabs and colour hashes coexist.
        let ok = try? Theme.parse("# c\nname = ok # trailing\n\n[colors]\nnormal\t= fg #101010 bg 240 # grey\n", file: "t")
        XCTAssertEqual(ok?.colors[.normal], RoleSpec(fg: .rgb(16, 16, 16), bg: .index(240)))
    }

    func testLoaderFallsBackToTheDefaultAndNeverCrashes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-themes-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "name = broken\nnormal = fg nope\n".write(to: dir.appendingPathComponent("broken.theme"), atomically: true, encoding: .utf8)
        try Data([0xFF, 0xFE, 0x00, 0x1B]).write(to: dir.appendingPathComponent("binary.theme"))
        try "name = mine\nalarm-high = fg #ff00ff bold\n".write(to: dir.appendingPathComponent("mine.theme"), atomically: true, encoding: .utf8)
        let path = [dir.path, Self.themesDir]

        let (t1, e1) = ThemeLoader.loadOrDefault(name: "broken", searchPath: path)
        XCTAssertEqual(t1, .builtin)
        XCTAssertTrue(e1!.contains("broken.theme:2: bad colour `nope`"), e1!)
        XCTAssertTrue(e1!.hasSuffix("using isa101"))
        let (t2, e2) = ThemeLoader.loadOrDefault(name: "binary", searchPath: path)
        XCTAssertEqual(t2, .builtin); XCTAssertNotNil(e2)
        XCTAssertTrue(SafeText.isSafe(e2!))
        let (t3, e3) = ThemeLoader.loadOrDefault(name: "../etc/passwd", searchPath: path)
        XCTAssertEqual(t3, .builtin); XCTAssertNotNil(e3)
        // A user theme overrides one role; the rest come from the default.
        let (mine, e4) = ThemeLoader.loadOrDefault(name: "mine", searchPath: path)
        XCTAssertNil(e4)
        XCTAssertEqual(mine.style(.alarmHigh, mode: .truecolor).fg, 0xFF00FF)
        XCTAssertEqual(mine.style(.normal, mode: .color256), Theme.builtin.style(.normal, mode: .color256))
        XCTAssertEqual(ThemeLoader.loadOrDefault(name: nil, searchPath: path).0, .builtin)
        XCTAssertTrue(ThemeLoader.available(in: path).contains("mine"))
    }

    func testSearchPath() {
        let p = ThemeLoader.defaultSearchPath(environment: ["GRIDTOP_THEMES": "/a:/b", "XDG_CONFIG_HOME": "/x", "HOME": "/h"],
                                              executablePath: Self.themesDir + "/../.build/debug/gridtop")
        XCTAssertEqual(p.first, "/a"); XCTAssertEqual(p[1], "/b")
        XCTAssertEqual(p.last, "/x/gridtop/themes")
        XCTAssertTrue(p.contains { $0.hasSuffix("/themes") && !$0.hasPrefix("/x") }, "repo themes/ found from the executable: \(p)")
        let q = ThemeLoader.defaultSearchPath(environment: ["HOME": "/h"], executablePath: nil)
        XCTAssertEqual(q, ["/h/.config/gridtop/themes"])
    }

    func testSyncOutputOnlyWhereSupported() {
        XCTAssertFalse(CursesTerminal.supportsSync(term: "linux", termProgram: nil, override: nil, terminfoSync: false))
        XCTAssertFalse(CursesTerminal.supportsSync(term: "xterm-256color", termProgram: nil, override: nil, terminfoSync: false))
        XCTAssertTrue(CursesTerminal.supportsSync(term: "xterm-256color", termProgram: nil, override: nil, terminfoSync: true))
        XCTAssertTrue(CursesTerminal.supportsSync(term: "xterm-kitty", termProgram: nil, override: nil, terminfoSync: false))
        XCTAssertTrue(CursesTerminal.supportsSync(term: "xterm-256color", termProgram: "WezTerm", override: nil, terminfoSync: false))
        XCTAssertFalse(CursesTerminal.supportsSync(term: "xterm-kitty", termProgram: nil, override: "0", terminfoSync: true))
    }
}

final class HostileTextTests: XCTestCase {
    /// Every cell that would be flushed to the terminal, for every view, with
    /// hostile names from the chain: no control character, no escape, no bidi override.
    func testHostileNamesNeverReachTheTerminalAsEscapes() {
        let hostile = ["\u{1B}]0;owned\u{07}", "\u{1B}[2J\u{1B}[H", "\u{9B}31m", "\u{202E}gnp.exe", "a\u{0}b", "\u{2066}x\u{2069}",
                       String(decoding: [0xC3, 0x28, 0xFF, 0x1B, 0x5B, 0x41], as: UTF8.self), String(repeating: "W", count: 5000)]
        var data = ScreenFixtures.data(alarms: hostile.enumerated().map { i, name in
            Alarm(id: 50 + i, kind: .suspectedTheft, asset: ScreenFixtures.id("H\(i)"), assetName: name, stage: .consumer,
                  priority: .high, active: true, acknowledged: false, raisedAt: Fixtures.now, changedAt: Fixtures.now,
                  interval: nil, message: name, count: 1, origin: ScreenFixtures.theftOrigin)
        })
        var nodes = Array(data.grid!.nodes.values)
        for (i, name) in hostile.enumerated() {
            nodes.append(GridNode(id: ScreenFixtures.id("H\(i)"), name: name, stage: .consumer, parent: ScreenFixtures.theftTX))
        }
        data.grid = GridTree(nodes: nodes.sorted { $0.name < $1.name })
        data.snapshot.nodes[0].clientVersion = hostile[0]
        data.snapshot.warnings = hostile
        data.annotations[50] = AlarmAnnotation(shelvedUntil: .infinity, shelveReason: hostile[1], shelvedBy: hostile[2], comments: hostile)
        let places: [[Location]] = ViewGoldenTests.places.map(\.1) + [[.grid(ScreenFixtures.theftTX)], [.asset(ScreenFixtures.id("H0"))]]
        for stack in places {
            for (w, h) in [(80, 24), (160, 48)] {
                var s = ScreenFixtures.state(stack, width: w, height: h, data: data)
                AppReducer.reduce(&s, .toggleHidden)
                let buf = ScreenFixtures.render(s)
                var out = ""
                for run in CellBuffer.diff(CellBuffer(width: 0, height: 0), buf) { for c in run.cells { out += c.text } }
                for u in out.unicodeScalars {
                    XCTAssertFalse(u.value < 0x20 || (0x7F...0x9F).contains(u.value), "control U+\(String(u.value, radix: 16)) in \(stack)")
                    XCTAssertFalse([0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F].contains(u.value))
                }
                if stack == [.alarms] { XCTAssertTrue(out.contains("␛"), "the escape is shown as a visible placeholder") }
                ViewGoldenTests.assertSafe(buf)
            }
        }
    }
}
