import ChainCore
import XCTest
@testable import OperatorTUI

final class DisplayWidthTests: XCTestCase {
    func testASCII() {
        XCTAssertEqual(DisplayWidth.of("gridtop"), 7)
        XCTAssertEqual(DisplayWidth.of(""), 0)
        XCTAssertEqual(DisplayWidth.of(Character("a")), 1)
    }

    func testCJKIsTwoColumns() {
        XCTAssertEqual(DisplayWidth.of("北区"), 4)
        XCTAssertEqual(DisplayWidth.of("변전소"), 6)   // Hangul syllables
        XCTAssertEqual(DisplayWidth.of("ｶﾀｶﾅ"), 4)      // half-width katakana stays narrow
        XCTAssertEqual(DisplayWidth.of("ＡＢ"), 4)      // full-width Latin
        XCTAssertEqual(DisplayWidth.of("\u{3000}"), 2)  // ideographic space
    }

    func testEmoji() {
        XCTAssertEqual(DisplayWidth.of("⚡"), 2)                  // U+26A1, Emoji_Presentation
        XCTAssertEqual(DisplayWidth.of("🔌"), 2)
        XCTAssertEqual(DisplayWidth.of("👩‍🔧"), 2)                // ZWJ sequence: one cluster
        XCTAssertEqual(DisplayWidth.of("🇧🇷"), 2)                 // flag
        XCTAssertEqual(DisplayWidth.of("⚠\u{FE0F}"), 2)          // VS16 makes emoji presentation
        XCTAssertEqual(DisplayWidth.of("⚠"), 1)                  // text presentation by default
    }

    func testCombiningAndZeroWidth() {
        XCTAssertEqual(DisplayWidth.of("e\u{0301}"), 1)          // e + combining acute
        XCTAssertEqual(DisplayWidth.of("São João"), 8)
        XCTAssertEqual(DisplayWidth.of("a\u{200B}b"), 2)          // zero-width space
        XCTAssertEqual(DisplayWidth.of(scalar: "\u{0301}"), 0)
        XCTAssertEqual(DisplayWidth.of(scalar: "\u{20DD}"), 0)    // enclosing mark
        XCTAssertEqual(DisplayWidth.of("\u{1100}\u{1161}\u{11A8}"), 2)  // conjoining jamo = one wide syllable
    }

    func testAmbiguousIsNarrow() {
        XCTAssertEqual(DisplayWidth.of("▲H"), 2)
        XCTAssertEqual(DisplayWidth.of("─│×"), 3)
    }

    func testTruncateByWidthWithEllipsis() {
        XCTAssertEqual(DisplayWidth.truncate("substation", to: 20), "substation")
        XCTAssertEqual(DisplayWidth.truncate("substation", to: 10), "substation")
        XCTAssertEqual(DisplayWidth.truncate("substation", to: 6), "subst…")
        XCTAssertEqual(DisplayWidth.truncate("substation", to: 1), "…")
        XCTAssertEqual(DisplayWidth.truncate("substation", to: 0), "")
        // Never split a wide character: 北区変電所 is 10 columns.
        XCTAssertEqual(DisplayWidth.truncate("北区変電所", to: 6), "北区…")   // 5 columns, not 6
        XCTAssertEqual(DisplayWidth.truncate("北区変電所", to: 5), "北区…")
        XCTAssertEqual(DisplayWidth.truncate("e\u{0301}e\u{0301}e\u{0301}", to: 2), "e\u{0301}…")
        XCTAssertEqual(DisplayWidth.fit("12", 5, .right), "   12")
        XCTAssertEqual(DisplayWidth.fit("北", 3, .left), "北 ")
        XCTAssertEqual(DisplayWidth.of(DisplayWidth.fit("北区変電所", 7)), 7)
    }
}

final class SafeTextTests: XCTestCase {
    func testC0AndDELBecomeControlPictures() {
        XCTAssertEqual(SafeText.sanitize("a\u{1B}[31mred"), "a\u{241B}[31mred")   // ␛[31mred
        XCTAssertEqual(SafeText.sanitize("line\nnext\ttab\0"), "line\u{240A}next\u{2409}tab\u{2400}")
        XCTAssertEqual(SafeText.sanitize("bell\u{07}"), "bell\u{2407}")
        XCTAssertEqual(SafeText.sanitize("del\u{7F}"), "del\u{2421}")
    }

    func testOSCAndC1AndBidiBecomePlaceholders() {
        // OSC 0 (set window title) in 7-bit form: ESC ] … BEL
        XCTAssertEqual(SafeText.sanitize("\u{1B}]0;pwned\u{07}"), "\u{241B}]0;pwned\u{2407}")
        // 8-bit CSI and OSC (C1)
        XCTAssertEqual(SafeText.sanitize("x\u{9B}2Jy\u{9D}0;t"), "x⍰2Jy⍰0;t")
        // Trojan Source style bidi overrides and isolates, and marks
        XCTAssertEqual(SafeText.sanitize("TX\u{202E}lave\u{202C}\u{2066}\u{2069}\u{200E}\u{200F}\u{061C}"), "TX⍰lave⍰⍰⍰⍰⍰⍰")
        XCTAssertEqual(SafeText.sanitize("a\u{2028}b\u{2029}"), "a⍰b⍰")
    }

    func testHarmlessTextIsUnchanged() {
        for s in ["Subestação Norte", "北区変電所", "⚡ feeder 7", "bad \u{FFFD} byte", "e\u{0301}"] {
            XCTAssertEqual(SafeText.sanitize(s), s)
            XCTAssertTrue(SafeText.isSafe(s))
        }
    }

    func testNoControlSurvives() {
        var all = ""
        for v in UInt32(0)...0xA0 { all.unicodeScalars.append(Unicode.Scalar(v)!) }
        let out = SafeText.sanitize(all)
        for u in out.unicodeScalars {
            XCTAssertFalse(u.value < 0x20 || (0x7F...0x9F).contains(u.value), "U+\(String(u.value, radix: 16)) survived")
        }
        XCTAssertTrue(SafeText.isSafe(out))
    }

    func testLongTextIsCut() {
        let long = String(repeating: "x", count: 10_000)
        XCTAssertEqual(SafeText.sanitize(long, limit: 10), "xxxxxxxxxx…")
    }
}

final class FormatTests: XCTestCase {
    func testEnergy() {
        XCTAssertEqual(Format.energy(wh: 1_234_567, unit: .kWh), "1234.6 kWh")
        XCTAssertEqual(Format.energy(wh: 48_250_000, unit: .MWh), "48.250 MWh")
        XCTAssertEqual(Format.energy(wh: -500, unit: .kWh), "-0.5 kWh")
        XCTAssertEqual(Format.energy(wh: 120_000, unit: .MWh, plus: true), "+0.120 MWh")
        XCTAssertEqual(Format.energy(wh: 0, unit: .MWh, plus: true), "0.000 MWh")
        XCTAssertEqual(Format.EnergyUnit.choose(forWh: [9_999_999, -5]), .kWh)
        XCTAssertEqual(Format.EnergyUnit.choose(forWh: [-10_000_000]), .MWh)
    }

    func testAgeAndTime() {
        XCTAssertEqual(Format.age(seconds: 3.4), "3s")
        XCTAssertEqual(Format.age(seconds: 125), "2m05s")
        XCTAssertEqual(Format.age(seconds: 3 * 3600 + 7 * 60), "3h07m")
        XCTAssertEqual(Format.age(seconds: -5), "0s")
        XCTAssertEqual(Format.date(0), "1970-01-01")
        XCTAssertEqual(Format.date(951_782_400), "2000-02-29")
        XCTAssertEqual(Format.utcRange(start: 1_777_638_600, seconds: 900), "2026-05-01 12:30-12:45 UTC")
        XCTAssertEqual(Format.utcRange(start: 1_777_679_100, seconds: 900), "2026-05-01 23:45-24:00 UTC")
    }
}
