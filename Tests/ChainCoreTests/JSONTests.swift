import XCTest
@testable import ChainCore

final class JSONTests: XCTestCase {
    func testRoundTripKeepsValues() throws {
        let text = #"{"a":[1,-2.5e3,true,false,null],"b":"x\"y\\z\n\u00e9\ud83d\ude00","c":{}}"#
        let v = try JSON.parse(text)
        XCTAssertEqual(v["a"]?[1], .number("-2.5e3"))
        XCTAssertEqual(v["b"]?.stringValue, "x\"y\\z\né😀")
        XCTAssertEqual(try JSON.parse(v.serialized()), v)
    }

    func testHostileInputIsAnErrorNotACrash() {
        let bad = ["", "{", "[1,", "\"abc", "{\"a\" 1}", "01", "1.", "-", "tru", "\"\\u12\"", "\"\\ud800\"",
                   "[1] x", "{\"a\":1,}", "\u{0}", String(repeating: "[", count: 10_000)]
        for text in bad {
            XCTAssertThrowsError(try JSON.parse(text), "accepted \(text.prefix(20))")
        }
    }

    func testControlCharactersAreEscapedOnOutput() {
        let s = JSON.string("\u{1b}[31mred\u{7}").serialized()
        XCTAssertFalse(s.contains("\u{1b}"))
        XCTAssertEqual(s, #""\u001b[31mred\u0007""#)
    }

    func testC1AndBidiControlsAreEscapedOnOutputAndRoundTrip() throws {
        // 8-bit CSI (U+009B), RLO (U+202E), LRI (U+2066), line separator: what SafeText calls dangerous.
        let hostile = "Birch\u{9b}2J Ln\u{202e}evil\u{2066}x\u{2028}é"
        let s = JSON.string(hostile).serialized()
        XCTAssertEqual(s, #""Birch\u009b2J Ln\u202eevil\u2066x\u2028é""#, "same set as the screen's sanitizer; é stays")
        XCTAssertFalse(s.unicodeScalars.contains { SafeText.isDangerous($0) })
        XCTAssertEqual(try JSON.parse(s).stringValue, hostile, "nothing lost")
        XCTAssertEqual(SafeText.escaped(hostile), String(s.dropFirst().dropLast()))
        XCTAssertEqual(SafeText.escaped("say \"hi\"\u{1b}", quotes: false), "say \"hi\"\\u001b")
    }

    func testQuantities() throws {
        XCTAssertEqual(try Hex.quantity("0x0"), 0)
        XCTAssertEqual(try Hex.quantity("0x36"), 54)
        XCTAssertEqual(try Hex.quantity("0xffffffffffffffff"), UInt64.max)
        XCTAssertThrowsError(try Hex.quantity("0x10000000000000000"))
        XCTAssertThrowsError(try Hex.quantity("36"))
        XCTAssertThrowsError(try Hex.quantity("0xzz"))
        XCTAssertEqual(Hex.quantity(54), "0x36")
    }
}
