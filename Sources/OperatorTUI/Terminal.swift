import CNcursesw
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the app needs from a terminal. `CursesTerminal` is the real one;
/// tests drive the app loop with a fake.
protocol TerminalDevice: AnyObject {
    func start() throws
    /// Restores the terminal; safe to call more than once.
    func stop()
    var size: (width: Int, height: Int) { get }
    /// Waits up to `timeout` seconds for a key, or less when `wake` (a pipe's
    /// read end, -1 for none) becomes readable or a signal arrives; nil if no key.
    /// With `timeout` 0 it returns a key already typed, or nil at once.
    func readKey(timeout: Double, wake: Int32) -> Key?
    /// Draws `buffer`, sending only the cells that differ from the last one presented.
    func present(_ buffer: CellBuffer)
    /// The next `present` repaints the whole screen from scratch.
    func invalidate()
    var glyphs: GlyphSet { get }
    /// Switches the colours live (`:theme`); the next `present` repaints everything.
    func apply(theme: Theme)
    var colorMode: ColorMode { get }
}

public enum TerminalError: Error, CustomStringConvertible {
    case cannotInitialize(term: String)
    public var description: String {
        switch self {
        case .cannotInitialize(let t): return "cannot initialise the terminal (TERM=\(t))"
        }
    }
}

/// The ncursesw terminal: wide characters via `setcchar` + `mvwadd_wch`,
/// colour pairs per style role with fallback 256 → 8 → monochrome,
/// diff-based flushing with `wnoutrefresh` + `doupdate`.
final class CursesTerminal: TerminalDevice {
    /// ncurses keeps at most CCHARW_MAX (5) wide characters per cell.
    static let maxCharsPerCell = 5

    private let noColor: Bool
    private let asciiGlyphs: Bool?
    private var theme: Theme
    private var useDefaultColors = false
    /// Wrap each frame in DECSET 2026 (synchronized output) so it appears at once.
    private(set) var synchronizedOutput = false
    private var screen: OpaquePointer?
    private var inFile: UnsafeMutablePointer<FILE>?
    private var outFile: UnsafeMutablePointer<FILE>?
    private var previous: CellBuffer?
    private var styles: [(attr: attr_t, pair: Int16)] = []
    private(set) var colorMode: ColorMode = .monochrome
    private(set) var glyphs: GlyphSet = .unicode

    init(noColor: Bool, asciiGlyphs: Bool?, theme: Theme = .builtin) {
        self.noColor = noColor
        self.asciiGlyphs = asciiGlyphs
        self.theme = theme
    }

    /// Synchronized output only where the terminal says it supports it: the
    /// terminfo `Sync` capability, or a `TERM`/`TERM_PROGRAM` known to support
    /// DECSET 2026. `GRIDTOP_SYNC=0/1` overrides.
    static func supportsSync(term: String, termProgram: String?, override: String?, terminfoSync: Bool) -> Bool {
        if let o = override { return o == "1" || o.lowercased() == "yes" }
        if term == "linux" || term == "dumb" { return false }
        if terminfoSync { return true }
        let known = ["kitty", "foot", "wezterm", "alacritty", "contour", "ghostty", "iterm"]
        let t = term.lowercased(), p = termProgram?.lowercased() ?? ""
        return known.contains { t.contains($0) || p.contains($0) }
    }

    deinit { stop() }

    func start() throws {
        guard screen == nil else { return }
        setlocale(LC_ALL, "")  // before newterm, or wide characters are garbled
        let term = Environment.get("TERM") ?? "unknown"
        inFile = fdopen(dup(STDIN_FILENO), "r")
        outFile = fdopen(dup(STDOUT_FILENO), "w")
        guard let inFile, let outFile, let scr = newterm(nil, outFile, inFile) else {
            closeFiles()
            throw TerminalError.cannotInitialize(term: term)
        }
        screen = scr
        let w = gt_stdscr()
        cbreak()  // keep ^C as SIGINT, handled by OperatorApp so endwin always runs
        noecho()
        nonl()
        intrflush(w, false)
        keypad(w, true)
        set_escdelay(25)
        curs_set(0)
        leaveok(w, true)
        wtimeout(w, 0)  // never block in curses: `readKey` waits in poll(2) on the keyboard and the wake pipe
        setUpColors(window: w)
        let sync = tigetstr("Sync")
        let hasSync = sync != nil && Int(bitPattern: sync) != -1
        synchronizedOutput = CursesTerminal.supportsSync(term: term, termProgram: Environment.get("TERM_PROGRAM"),
                                                         override: Environment.get("GRIDTOP_SYNC"), terminfoSync: hasSync)
        let utf8 = String(cString: nl_langinfo(nl_item(CODESET))).uppercased().replacingDashes() == "UTF8"
        glyphs = (asciiGlyphs ?? (term == "linux" || !utf8)) ? .ascii : .unicode
        previous = nil
    }

    private func setUpColors(window w: UnsafeMutablePointer<WINDOW>?) {
        if !noColor && has_colors() {
            start_color()
            useDefaultColors = use_default_colors() == OK
        }
        colorMode = ColorMode.choose(hasColors: !noColor && has_colors(), colors: Int(gt_colors()), noColor: noColor)
        if colorMode != .monochrome && gt_color_pairs() <= StyleRole.allCases.count { colorMode = .monochrome }
        initStyles(window: w)
    }

    private func initStyles(window w: UnsafeMutablePointer<WINDOW>?) {
        styles = []
        for (i, role) in StyleRole.allCases.enumerated() {
            let st = theme.style(role, mode: colorMode)
            var attr = gt_a_normal()
            if st.attrs.contains(.bold) { attr |= gt_a_bold() }
            if st.attrs.contains(.reverse) { attr |= gt_a_reverse() }
            if st.attrs.contains(.underline) { attr |= gt_a_underline() }
            if st.attrs.contains(.dim) { attr |= gt_a_dim() }
            var pair: Int16 = 0
            if colorMode != .monochrome {
                pair = Int16(i + 1)
                let fg = st.fg < 0 && !useDefaultColors ? Int(COLOR_WHITE) : st.fg
                let bg = st.bg < 0 && !useDefaultColors ? Int(COLOR_BLACK) : st.bg
                init_extended_pair(Int32(pair), Int32(fg), Int32(bg))
            }
            styles.append((attr, pair))
        }
        if colorMode != .monochrome {
            wbkgdset(w, chtype(gt_color_pair(1)) | chtype(UInt8(ascii: " ")))
        }
    }

    func apply(theme: Theme) {
        self.theme = theme
        guard screen != nil else { return }
        initStyles(window: gt_stdscr())
        invalidate()
    }

    func stop() {
        guard let scr = screen else { return }
        screen = nil
        endwin()
        delscreen(scr)
        closeFiles()
        previous = nil
    }

    private func closeFiles() {
        if let f = inFile { fclose(f) }
        if let f = outFile { fclose(f) }
        inFile = nil; outFile = nil
    }

    var size: (width: Int, height: Int) {
        guard screen != nil else { return (0, 0) }
        var h: Int32 = 0, w: Int32 = 0
        gt_getmaxyx(gt_stdscr(), &h, &w)
        return (Int(max(0, w)), Int(max(0, h)))
    }

    func readKey(timeout: Double, wake: Int32) -> Key? {
        guard screen != nil, let inFile else { return nil }
        if timeout > 0 {
            var fds = [pollfd(fd: fileno(inFile), events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            let ms = Int32(min(60_000, (timeout * 1000).rounded(.up)))
            // Returns on a key, a wake byte, a signal (EINTR: SIGWINCH, SIGINT…) or the timeout;
            // in every case curses is asked below (without waiting), so a resize is seen at once.
            _ = poll(&fds, wake >= 0 ? 2 : 1, ms)
        }
        var ch: wint_t = 0
        let r = wget_wch(gt_stdscr(), &ch)
        if r == KEY_CODE_YES {
            let k = Int32(bitPattern: ch)
            switch k {
            case gt_key_resize(): previous = nil; return .resize
            case KEY_UP: return .up
            case KEY_DOWN: return .down
            case KEY_LEFT: return .left
            case KEY_RIGHT: return .right
            case KEY_PPAGE: return .pageUp
            case KEY_NPAGE: return .pageDown
            case KEY_HOME: return .home
            case KEY_END: return .end
            case KEY_BACKSPACE: return .backspace
            case KEY_ENTER: return .enter
            case KEY_BTAB: return .backTab
            case (KEY_F0 + 1)...(KEY_F0 + 24): return .function(Int(k - KEY_F0))
            default: return nil
            }
        }
        guard r == OK else { return nil }
        switch ch {
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 9: return .tab
        case 1...26: return .ctrl(Character(Unicode.Scalar(UInt8(ch) + 96)))
        default:
            guard let u = Unicode.Scalar(UInt32(ch)) else { return nil }
            return .char(Character(u))
        }
    }

    func invalidate() {
        previous = nil
        if screen != nil { clearok(gt_stdscr(), true) }
    }

    func present(_ buffer: CellBuffer) {
        guard screen != nil else { return }
        let w = gt_stdscr()
        let empty = CellBuffer(width: 0, height: 0)
        let runs = CellBuffer.diff(previous ?? empty, buffer)
        var cc = cchar_t()
        var wch = [wchar_t](repeating: 0, count: CursesTerminal.maxCharsPerCell + 1)
        for run in runs {
            var x = run.x
            for cell in run.cells {
                defer { x += 1 }
                if cell.isContinuation { continue }
                if x + Int(cell.width) > buffer.width { continue }
                var n = 0
                for u in cell.text.unicodeScalars {
                    if n == CursesTerminal.maxCharsPerCell { break }
                    wch[n] = wchar_t(bitPattern: u.value)
                    n += 1
                }
                if n == 0 { wch[0] = 0x20; n = 1 }
                wch[n] = 0
                let st = styles[Int(cell.role.rawValue)]
                setcchar(&cc, wch, st.attr, st.pair, nil)
                mvwadd_wch(w, Int32(run.y), Int32(x), &cc)  // bottom-right cell returns ERR but is drawn
            }
        }
        previous = buffer
        wnoutrefresh(w)
        // doupdate() writes and flushes the whole frame before it returns, so raw
        // writes on the same descriptor bracket exactly that frame.
        let fd = outFile.map { fileno($0) } ?? -1
        if synchronizedOutput && fd >= 0 { CursesTerminal.writeAll(fd, "\u{1B}[?2026h") }
        doupdate()
        if synchronizedOutput && fd >= 0 { CursesTerminal.writeAll(fd, "\u{1B}[?2026l") }
    }

    static func writeAll(_ fd: Int32, _ s: String) {
        var bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
            off += n
        }
    }
}

extension String {
    fileprivate func replacingDashes() -> String { filter { $0 != "-" && $0 != "_" } }
}
