/// Hex encoding and decoding of byte strings and JSON-RPC quantities.
///
/// JSON-RPC encodes quantities as `0x`-prefixed hex without leading zeros and
/// data as `0x`-prefixed hex with two digits per byte. Everything here treats
/// its input as untrusted: bad input throws, it never traps.
public enum HexError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingPrefix
    case oddLength
    case invalidDigit(UInt8)
    case wrongLength(expected: Int, got: Int)
    case overflow

    public var description: String {
        switch self {
        case .missingPrefix: return "hex value must start with 0x"
        case .oddLength: return "hex data must have an even number of digits"
        case .invalidDigit(let c): return "invalid hex digit 0x\(String(c, radix: 16))"
        case .wrongLength(let e, let g): return "expected \(e) bytes, got \(g)"
        case .overflow: return "hex quantity does not fit in 64 bits"
        }
    }
}

public enum Hex {
    @inline(__always)
    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Decodes `0x`-prefixed hex data into bytes.
    public static func decode(_ text: String) throws(HexError) -> [UInt8] {
        var text = text
        return try text.withUTF8 { buf in
            Result { () throws(HexError) in try decode(utf8: UnsafeRawBufferPointer(buf)) }
        }.get()
    }

    /// Decodes `0x`-prefixed hex data given as UTF-8 bytes.
    public static func decode(utf8 s: UnsafeRawBufferPointer) throws(HexError) -> [UInt8] {
        guard s.count >= 2, s[0] == UInt8(ascii: "0"), s[1] == UInt8(ascii: "x") || s[1] == UInt8(ascii: "X") else {
            throw .missingPrefix
        }
        let n = s.count - 2
        guard n % 2 == 0 else { throw .oddLength }
        var out = [UInt8](repeating: 0, count: n / 2)
        var i = 2
        var j = 0
        while i < s.count {
            guard let hi = nibble(s[i]) else { throw .invalidDigit(s[i]) }
            guard let lo = nibble(s[i + 1]) else { throw .invalidDigit(s[i + 1]) }
            out[j] = hi << 4 | lo
            i += 2
            j += 1
        }
        return out
    }

    /// Encodes bytes as `0x`-prefixed lowercase hex.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(2 + bytes.count * 2)
        out.append(UInt8(ascii: "0"))
        out.append(UInt8(ascii: "x"))
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a JSON-RPC quantity (`0x0`, `0x1a`, …) into a UInt64.
    /// Leading zeros are accepted (some nodes send them); more than 64 bits is an error.
    public static func quantity(_ text: String) throws(HexError) -> UInt64 {
        var text = text
        return try text.withUTF8 { buf in
            Result { () throws(HexError) in try quantity(utf8: UnsafeRawBufferPointer(buf)) }
        }.get()
    }

    public static func quantity(utf8 s: UnsafeRawBufferPointer) throws(HexError) -> UInt64 {
        guard s.count >= 3, s[0] == UInt8(ascii: "0"), s[1] == UInt8(ascii: "x") || s[1] == UInt8(ascii: "X") else {
            throw .missingPrefix
        }
        var v: UInt64 = 0
        var significant = 0
        for i in 2..<s.count {
            guard let d = nibble(s[i]) else { throw .invalidDigit(s[i]) }
            if significant == 0 && d == 0 { continue }
            significant += 1
            if significant > 16 { throw .overflow }
            v = v << 4 | UInt64(d)
        }
        return v
    }

    /// Encodes a quantity the JSON-RPC way: `0x0`, `0x1a` (no leading zeros).
    public static func quantity(_ v: UInt64) -> String {
        "0x" + String(v, radix: 16)
    }
}
