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
    /// Waits up to the poll interval (~50 ms) for a key; nil on timeout.
    func readKey() -> Key?
    /// Draws `buffer`, sending only the cells that differ from the last one presented.
    func present(_ buffer: CellBuffer)
    /// The next `present` repaints the whole screen from scratch.
    func invalidate()
    var glyphs: GlyphSet { get }
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
    static let pollMilliseconds: Int32 = 50
    /// ncurses keeps at most CCHARW_MAX (5) wide characters per cell.
    static let maxCharsPerCell = 5

    private let noColor: Bool
    private let asciiGlyphs: Bool?
    private var screen: OpaquePointer?
    private var inFile: UnsafeMutablePointer<FILE>?
    private var outFile: UnsafeMutablePointer<FILE>?
    private var previous: CellBuffer?
    private var styles: [(attr: attr_t, pair: Int16)] = []
    private(set) var colorMode: ColorMode = .monochrome
    private(set) var glyphs: GlyphSet = .unicode

    init(noColor: Bool, asciiGlyphs: Bool?) {
        self.noColor = noColor
        self.asciiGlyphs = asciiGlyphs
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
        wtimeout(w, CursesTerminal.pollMilliseconds)
        setUpColors(window: w)
        let utf8 = String(cString: nl_langinfo(nl_item(CODESET))).uppercased().replacingDashes() == "UTF8"
        glyphs = (asciiGlyphs ?? (term == "linux" || !utf8)) ? .ascii : .unicode
        previous = nil
    }

    private func setUpColors(window w: UnsafeMutablePointer<WINDOW>?) {
        var defaults = false
        if !noColor && has_colors() {
            start_color()
            defaults = use_default_colors() == OK
        }
        colorMode = ColorMode.choose(hasColors: !noColor && has_colors(), colors: Int(gt_colors()), noColor: noColor)
        if colorMode != .monochrome && gt_color_pairs() <= StyleRole.allCases.count { colorMode = .monochrome }
        styles = []
        for (i, role) in StyleRole.allCases.enumerated() {
            let st = Theme.style(role, mode: colorMode)
            var attr = gt_a_normal()
            if st.attrs.contains(.bold) { attr |= gt_a_bold() }
            if st.attrs.contains(.reverse) { attr |= gt_a_reverse() }
            if st.attrs.contains(.underline) { attr |= gt_a_underline() }
            if st.attrs.contains(.dim) { attr |= gt_a_dim() }
            var pair: Int16 = 0
            if colorMode != .monochrome {
                pair = Int16(i + 1)
                let fg = st.fg < 0 && !defaults ? COLOR_WHITE : Int32(st.fg)
                let bg = st.bg < 0 && !defaults ? COLOR_BLACK : Int32(st.bg)
                init_pair(pair, Int16(fg), Int16(bg))
            }
            styles.append((attr, pair))
        }
        if colorMode != .monochrome {
            wbkgdset(w, chtype(gt_color_pair(1)) | chtype(UInt8(ascii: " ")))
        }
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

    func readKey() -> Key? {
        guard screen != nil else { return nil }
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
        doupdate()
    }
}

extension String {
    fileprivate func replacingDashes() -> String { filter { $0 != "-" && $0 != "_" } }
}
