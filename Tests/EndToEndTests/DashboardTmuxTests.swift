import ChainCore
import Foundation
import XCTest

/// `gridtop demo` in a real terminal (tmux), read from the screen as an operator would.
final class DashboardTmuxTests: XCTestCase {
    struct Truth { let transformerName: String }

    func headNumber(_ screen: String) -> Int? {
        guard let r = screen.range(of: #"head #(\d+)"#, options: .regularExpression) else { return nil }
        return Int(screen[r].dropFirst("head #".count))
    }

    /// Starts the demo with fast simulated time; the theft begins after 15 s.
    func startDemo(width: Int, height: Int, environment: [String: String] = [:]) throws -> (TmuxSession, Truth, String) {
        let bin = try gridtopBinary()
        let truthPath = FileManager.default.temporaryDirectory.appendingPathComponent("truth-\(UUID().uuidString).json").path
        let session = try TmuxSession(command: [bin.path, "demo", "--seed", "3", "--block-time", "500ms", "--interval-every", "1s",
                                                "--theft-after", "15s", "--truth", truthPath],
                                      width: width, height: height, environment: environment)
        let first = session.waitFor(timeout: 30) { self.headNumber($0) != nil }
        XCTAssertTrue(first.ok, "no header with a head block:\n\(first.screen)")
        let truth = try JSON.parse(String(contentsOfFile: truthPath, encoding: .utf8))
        let name = truth["incidents"]?[0]?["transformerName"]?.stringValue ?? "?"
        try? FileManager.default.removeItem(atPath: truthPath)
        return (session, Truth(transformerName: name), first.screen)
    }

    func runOperatorPath(width: Int, height: Int) throws {
        let (session, truth, firstScreen) = try startDemo(width: width, height: height, environment: ["TERM": "tmux-256color"])
        defer { session.kill() }
        XCTAssertTrue(firstScreen.contains(width >= 100 ? "SIMULATED NETWORK" : "SIMULATED ◆"), firstScreen)
        XCTAssertTrue(firstScreen.split(separator: "\n").first?.contains(" UTC") == true, "no clock in the header at \(width) columns:\n\(firstScreen)")
        let h0 = try XCTUnwrap(headNumber(firstScreen))
        let later = session.waitFor(timeout: 15) { (self.headNumber($0) ?? 0) >= h0 + 3 }
        XCTAssertTrue(later.ok, "block height did not advance from \(h0):\n\(later.screen)")

        // Full kind label on wide screens, a compact one below 120 columns (the name gets the room).
        let kind = width < 120 ? "susp. theft" : "suspected theft"
        let alarm = session.waitFor(timeout: 60) { $0.contains(kind) }
        XCTAssertTrue(alarm.ok, "no theft alarm on screen:\n\(alarm.screen)")
        let row = alarm.screen.split(separator: "\n").first { $0.contains(kind) }.map(String.init) ?? ""
        // The row names the transformer of the ground truth (cut by display width on narrow screens).
        let shown = row.components(separatedBy: kind).last!.trimmingCharacters(in: .whitespaces)
        let namePrefix = String(shown.prefix { $0 != "…" }).trimmingCharacters(in: .whitespaces)
        XCTAssertGreaterThanOrEqual(namePrefix.count, 6, row)
        XCTAssertTrue(truth.transformerName.hasPrefix(String(namePrefix.prefix(truth.transformerName.count))), "row \(row) vs truth \(truth.transformerName)")
        for line in alarm.screen.split(separator: "\n") {
            XCTAssertLessThanOrEqual(line.count, width, "line wider than the terminal: \(line)")
        }

        session.send("q")
        XCTAssertEqual(session.exitStatus(timeout: 10), 0, "gridtop did not exit cleanly on q")
    }

    func testOperatorPathAt80x24() throws { try runOperatorPath(width: 80, height: 24) }

    func testOperatorPathAt160x48() throws { try runOperatorPath(width: 160, height: 48) }

    func testResizeRedrawsAndTooSmallIsSaid() throws {
        let (session, _, _) = try startDemo(width: 160, height: 48)
        defer { session.kill() }
        session.resize(width: 80, height: 24)
        let narrow = session.waitFor(timeout: 10) { screen in
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.first.map { $0.contains("head #") && $0.count <= 80 } ?? false
        }
        XCTAssertTrue(narrow.ok, "no redraw at 80x24:\n\(narrow.screen)")
        session.resize(width: 60, height: 20)
        let small = session.waitFor(timeout: 10) { $0.lowercased().contains("too small") }
        XCTAssertTrue(small.ok, "no too-small message:\n\(small.screen)")
        session.resize(width: 120, height: 40)
        let back = session.waitFor(timeout: 10) { $0.contains("head #") && $0.contains("ENERGY PER STAGE") }
        XCTAssertTrue(back.ok, "did not come back after growing:\n\(back.screen)")
        session.send("q")
        XCTAssertEqual(session.exitStatus(timeout: 10), 0)
    }

    func testNoColorAndLinuxConsole() throws {
        // NO_COLOR: attributes (bold, reverse) only, never a colour.
        let (plain, _, _) = try startDemo(width: 100, height: 30, environment: ["NO_COLOR": "1", "TERM": "xterm-256color"])
        let styled = plain.screenWithAttributes()
        plain.send("q")
        XCTAssertEqual(plain.exitStatus(timeout: 10), 0)
        plain.kill()
        let colour = try NSRegularExpression(pattern: "\u{1b}\\[(?:[0-9;]*;)?(?:3[0-7]|4[0-7]|38;|48;|9[0-7]|10[0-7])")
        let sgr = styled.components(separatedBy: "\u{1b}[").dropFirst().map { "\u{1b}[" + $0.prefix(12) }
        XCTAssertTrue(styled.contains("SIMULATED NETWORK"))
        for code in sgr where !code.hasPrefix("\u{1b}[39m") && !code.hasPrefix("\u{1b}[49m") && !code.hasPrefix("\u{1b}[39;49m") {
            XCTAssertNil(colour.firstMatch(in: code, range: NSRange(code.startIndex..., in: code)), "colour under NO_COLOR: \(code.debugDescription)")
        }

        // TERM=linux: 8 colours and ASCII glyphs; the screen still works.
        let (linux, _, screen) = try startDemo(width: 80, height: 24, environment: ["TERM": "linux"])
        defer { linux.kill() }
        XCTAssertTrue(screen.contains("SIMULATED"), screen)
        XCTAssertFalse(screen.contains("◆"), "Unicode glyphs on the Linux console:\n\(screen)")
        linux.send("q")
        XCTAssertEqual(linux.exitStatus(timeout: 10), 0)
    }
}
