import XCTest
#if canImport(Glibc)
import Glibc
#endif
import Alerts
@testable import OperatorTUI

/// A terminal that plays back keys and records what was presented.
final class FakeTerminal: TerminalDevice {
    var width: Int, height: Int
    /// One entry per poll; nil = the poll timed out.
    var script: [Key?]
    var onPoll: ((Int) -> Void)?
    private(set) var polls = 0
    private(set) var frames: [CellBuffer] = []
    private(set) var flushedCells: [Int] = []
    private(set) var invalidations = 0
    private(set) var started = false, stopped = false
    private var previous: CellBuffer?
    var glyphs: GlyphSet = .unicode

    init(width: Int = 80, height: Int = 24, script: [Key?]) {
        self.width = width; self.height = height; self.script = script
    }

    func start() throws { started = true }
    func stop() { stopped = true }
    var size: (width: Int, height: Int) { (width, height) }

    /// The timeout of each `readKey` call, in seconds.
    private(set) var timeouts: [Double] = []

    func readKey(timeout: Double, wake: Int32) -> Key? {
        timeouts.append(timeout)
        onPoll?(polls)
        polls += 1
        if script.isEmpty { return .char("q") }  // never hang a test
        return script.removeFirst()
    }

    func present(_ buffer: CellBuffer) {
        let runs = CellBuffer.diff(previous ?? CellBuffer(width: 0, height: 0), buffer)
        flushedCells.append(runs.reduce(0) { $0 + $1.cells.count })
        frames.append(buffer)
        previous = buffer
    }

    func invalidate() { invalidations += 1; previous = nil }

    private(set) var themes: [String] = []
    func apply(theme: Theme) { themes.append(theme.name); invalidate() }
    var colorMode: ColorMode = .monochrome
}

/// A clock the test advances by hand: each poll takes 50 ms.
final class ManualClock: @unchecked Sendable {
    var t: Double
    init(_ t: Double) { self.t = t }
    var appClock: AppClock {
        AppClock(wall: { self.t }, monotonic: { self.t })
    }
}

final class AppLoopTests: XCTestCase {
    func makeApp(_ term: FakeTerminal, box: SnapshotBox, clock: ManualClock) -> OperatorApp {
        term.onPoll = { _ in clock.t += 0.05 }
        return OperatorApp(source: box, options: OperatorOptions(readOnly: false, noColor: true), terminal: term,
                           clock: clock.appClock)
    }

    func testQuitReturnsAndRestoresTerminal() throws {
        let term = FakeTerminal(script: [nil, .char("q")])
        let app = makeApp(term, box: SnapshotBox(), clock: ManualClock(Fixtures.now))
        try app.run()
        XCTAssertTrue(term.started)
        XCTAssertTrue(term.stopped)
        XCTAssertGreaterThanOrEqual(term.frames.count, 1)
        XCTAssertTrue(term.frames.last!.dump().contains("waiting for the first snapshot"))
    }

    func testColonQQuits() throws {
        let term = FakeTerminal(script: [.char(":"), .char("q"), .enter, .char("x"), .char("x")])
        try makeApp(term, box: SnapshotBox(), clock: ManualClock(Fixtures.now)).run()
        XCTAssertEqual(term.polls, 3, "quit right after :q<Enter>")
    }

    func testIdleDoesNoWorkBetweenSeconds() throws {
        // 0.05 s per poll; 39 idle polls ≈ 2 s → at most one frame per wall-clock second.
        let box = SnapshotBox()
        box.publish(Fixtures.snapshot())
        let clock = ManualClock(Fixtures.now + 0.5)
        let term = FakeTerminal(script: Array(repeating: nil, count: 39) + [.char("q")])
        try makeApp(term, box: box, clock: clock).run()
        XCTAssertLessThanOrEqual(term.frames.count, 3)
        XCTAssertGreaterThanOrEqual(term.frames.count, 2, "ages tick once a second")
        // Ticks flush a handful of cells, not the screen.
        for n in term.flushedCells.dropFirst() { XCTAssertLessThan(n, 40) }
    }

    func testKeysTypedAheadAreAllTakenBeforeTheNextFrame() throws {
        let box = SnapshotBox()
        box.publish(Fixtures.snapshot())
        let clock = ManualClock(Fixtures.now + 0.2)
        let term = FakeTerminal(script: [nil, .char("4"), .char("2"), .char("5"), nil, nil, .char("q")])
        try makeApp(term, box: box, clock: clock).run()
        XCTAssertEqual(term.frames.count, 2, "one frame for the three keys")
        XCTAssertTrue(term.frames.last!.lines()[2].hasPrefix("Blocks"), term.frames.last!.dump())
        // After a key, the rest are read without waiting.
        XCTAssertEqual(Array(term.timeouts[2...3]), [0, 0])
    }

    func testIdleSleepsUntilTheNextAgeTickInsteadOfPolling() throws {
        let box = SnapshotBox()
        box.publish(Fixtures.snapshot())
        let clock = ManualClock(Fixtures.now + 0.5)
        let term = FakeTerminal(script: [nil, nil, nil, .char("q")])
        try makeApp(term, box: box, clock: clock).run()
        // After the first frame nothing is due until the ages tick, about a second later.
        XCTAssertGreaterThan(term.timeouts[1], 0.8, "\(term.timeouts)")
        XCTAssertLessThanOrEqual(term.timeouts.max() ?? 0, OperatorApp.ageTick)
    }

    func testPublishWakesTheWaitingScreen() {
        let box = SnapshotBox()
        XCTAssertGreaterThanOrEqual(box.wakeFD, 0)
        func readable() -> Bool {
            var p = pollfd(fd: box.wakeFD, events: Int16(POLLIN), revents: 0)
            return poll(&p, 1, 0) == 1
        }
        XCTAssertFalse(readable())
        box.publish(Fixtures.snapshot())
        box.publish(Fixtures.snapshot())
        XCTAssertTrue(readable())
        box.drainWake()
        XCTAssertFalse(readable(), "one drain empties the pipe after a burst of publishes")
        box.publish(Fixtures.snapshot())
        XCTAssertTrue(readable(), "a publish after the drain wakes again")
    }

    func testRedrawsWhenSnapshotVersionChanges() throws {
        let box = SnapshotBox()
        let clock = ManualClock(Fixtures.now + 0.1)
        let term = FakeTerminal(script: [nil, nil, nil, nil, nil, nil, .char("q")])
        term.onPoll = { i in
            clock.t += 0.05
            if i == 3 { box.publish(Fixtures.snapshot()) }
        }
        let app = OperatorApp(source: box, options: OperatorOptions(noColor: true), terminal: term, clock: clock.appClock)
        try app.run()
        XCTAssertEqual(term.frames.count, 2, "first frame, then the snapshot")
        XCTAssertTrue(term.frames.last!.dump().contains("ALARMS"))
        XCTAssertEqual(box.version, 1)
    }

    func testFrameRateIsCapped() throws {
        // A key on every wake-up but the clock does not move: one frame only (min 50 ms apart).
        let box = SnapshotBox()
        box.publish(Fixtures.snapshot())
        let clock = ManualClock(Fixtures.now)
        let term = FakeTerminal(script: Array(repeating: [Key.ctrl("l"), nil], count: 10).flatMap { $0 } + [.char("q")])
        let app = OperatorApp(source: box, options: OperatorOptions(noColor: true), terminal: term, clock: clock.appClock)
        try app.run()
        XCTAssertEqual(term.frames.count, 1)
    }

    func testCtrlLRepaintsEverything() throws {
        let box = SnapshotBox()
        box.publish(Fixtures.snapshot())
        let clock = ManualClock(Fixtures.now + 0.2)
        let term = FakeTerminal(script: [nil, .ctrl("l"), nil, .char("q")])
        try makeApp(term, box: box, clock: clock).run()
        XCTAssertEqual(term.invalidations, 1)
        XCTAssertEqual(term.flushedCells.last, 80 * 24)
    }

    func testResizeRedrawsAtNewSize() throws {
        let box = SnapshotBox()
        box.publish(Fixtures.snapshot())
        let clock = ManualClock(Fixtures.now + 0.2)
        let term = FakeTerminal(script: [nil, .resize, nil, .char("q")])
        term.onPoll = { i in
            clock.t += 0.05
            if i == 1 { term.width = 60; term.height = 20 }
        }
        let app = OperatorApp(source: box, options: OperatorOptions(noColor: true), terminal: term, clock: clock.appClock)
        try app.run()
        XCTAssertEqual(term.frames.last!.width, 60)
        XCTAssertTrue(term.frames.last!.dump().contains("terminal too small: need 80×24, have 60×20"))
    }
}

final class ReducerTests: XCTestCase {
    func testKeymapAndCommandLine() {
        var s = AppState(width: 80, height: 24)
        XCTAssertEqual(AppReducer.action(for: .char("q"), in: s), .quit)
        XCTAssertEqual(AppReducer.action(for: .ctrl("l"), in: s), .repaint)
        XCTAssertNil(AppReducer.action(for: .char("z"), in: s))
        AppReducer.reduce(&s, .beginCommand)
        // In the command line, q is text, not quit.
        XCTAssertEqual(AppReducer.action(for: .char("q"), in: s), .commandInput("q"))
        for c in "frobnicate" { AppReducer.reduce(&s, .commandInput(c)) }
        XCTAssertEqual(AppReducer.reduce(&s, .commandSubmit), [], "an unknown command does nothing")
        XCTAssertEqual(s.message, "unknown command: frobnicate")
        AppReducer.reduce(&s, .beginCommand)
        AppReducer.reduce(&s, .commandBackspace)
        XCTAssertNil(s.commandLine, "backspace on an empty command line closes it")
        AppReducer.reduce(&s, .beginCommand)
        AppReducer.reduce(&s, .commandInput("q"))
        let (after, effects) = AppReducer.update(s, .commandSubmit)
        XCTAssertEqual(effects, [.quit], "quitting is an effect for the loop, not a flag in the state")
        XCTAssertNil(after.commandLine)
        XCTAssertEqual(AppReducer.update(s, .repaint).1, [.repaint])
    }

    func testHelpIsGeneratedFromTheKeymap() {
        let lines = Keymap.standard.helpLines
        XCTAssertEqual(lines.count, Set(Keymap.standard.bindings.map(\.help)).count, "one line per distinct action")
        XCTAssertTrue(lines.contains { $0.hasPrefix("q ") && $0.hasSuffix("quit") })
        XCTAssertTrue(lines.contains { $0.hasPrefix("Up k ") && $0.hasSuffix("previous row") }, "keys of one action share a line")
        XCTAssertTrue(lines.contains { $0.hasPrefix("^L") && $0.hasSuffix("repaint the whole screen") })
    }

    func testCommandLineIsDrawnOnTheLastRow() {
        var s = AppState(width: 80, height: 24, now: Fixtures.now)
        AppReducer.reduce(&s, .snapshot(Fixtures.snapshot()))
        AppReducer.reduce(&s, .beginCommand)
        AppReducer.reduce(&s, .commandInput("q"))
        var buf = CellBuffer(width: 80, height: 24)
        AppView.render(s, into: &buf)
        XCTAssertEqual(buf.lines()[23], ":q█")
    }

    func testColorModeFallback() {
        XCTAssertEqual(ColorMode.choose(hasColors: true, colors: 256, noColor: false), .color256)
        XCTAssertEqual(ColorMode.choose(hasColors: true, colors: 8, noColor: false), .color8)
        XCTAssertEqual(ColorMode.choose(hasColors: true, colors: 256, noColor: true), .monochrome)
        XCTAssertEqual(ColorMode.choose(hasColors: false, colors: 0, noColor: false), .monochrome)
        // Without colour, every alarm priority still looks different.
        let mono = [StyleRole.alarmCritical, .alarmHigh, .alarmMedium, .alarmLow].map { Theme.style($0, mode: .monochrome) }
        XCTAssertEqual(Set(mono.map(\.attrs.rawValue)).count, 4)
    }

    func testSnapshotBox() {
        let box = SnapshotBox()
        XCTAssertNil(box.latest())
        XCTAssertEqual(box.version, 0)
        box.publish(Fixtures.snapshot())
        box.publish(Fixtures.snapshot(simulated: false))
        let (v, s) = box.latest()!
        XCTAssertEqual(v, 2)
        XCTAssertFalse(s.simulated)
    }

    func testSnapshotBoxAcrossTasks() async {
        let box = SnapshotBox()
        await withTaskGroup(of: Void.self) { g in
            for _ in 0..<8 { g.addTask { for _ in 0..<100 { box.publish(Fixtures.snapshot()) } } }
        }
        XCTAssertEqual(box.version, 800)
    }
}
