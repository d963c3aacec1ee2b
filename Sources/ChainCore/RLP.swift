/// Recursive Length Prefix encoding (Ethereum yellow paper, appendix B).
public indirect enum RLPItem: Sendable, Equatable {
    case bytes([UInt8])
    case list([RLPItem])

    /// An unsigned integer: big-endian with no leading zeros (zero is the empty string).
    public static func uint(_ v: UInt64) -> RLPItem {
        var out: [UInt8] = []
        var x = v
        while x > 0 {
            out.insert(UInt8(truncatingIfNeeded: x), at: 0)
            x >>= 8
        }
        return .bytes(out)
    }

    /// A big unsigned integer given as big-endian bytes (leading zeros removed).
    public static func bigUInt(_ b: [UInt8]) -> RLPItem { .bytes(Array(b.drop(while: { $0 == 0 }))) }
}

public enum RLP {
    public static func encode(_ item: RLPItem) -> [UInt8] {
        var out: [UInt8] = []
        encode(item, into: &out)
        return out
    }

    public static func encode(_ item: RLPItem, into out: inout [UInt8]) {
        switch item {
        case .bytes(let b):
            if b.count == 1 && b[0] < 0x80 {
                out.append(b[0])
            } else {
                header(b.count, short: 0x80, long: 0xb7, into: &out)
                out.append(contentsOf: b)
            }
        case .list(let items):
            var body: [UInt8] = []
            for i in items { encode(i, into: &body) }
            header(body.count, short: 0xc0, long: 0xf7, into: &out)
            out.append(contentsOf: body)
        }
    }

    private static func header(_ length: Int, short: UInt8, long: UInt8, into out: inout [UInt8]) {
        if length < 56 {
            out.append(short + UInt8(length))
        } else {
            var lenBytes: [UInt8] = []
            var l = length
            while l > 0 {
                lenBytes.insert(UInt8(truncatingIfNeeded: l), at: 0)
                l >>= 8
            }
            out.append(long + UInt8(lenBytes.count))
            out.append(contentsOf: lenBytes)
        }
    }

    public struct DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
        public let message: String
        public let offset: Int
        public var description: String { "invalid RLP at byte \(offset): \(message)" }
    }

    /// Decodes one item that must span the whole input.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> RLPItem {
        var pos = 0
        let item = try decodeItem(bytes, &pos, depth: 0)
        guard pos == bytes.count else { throw DecodeError(message: "trailing bytes", offset: pos) }
        return item
    }

    /// Decodes consecutive items (e.g. a chain.rlp file of concatenated blocks).
    public static func decodeAll(_ bytes: [UInt8]) throws(DecodeError) -> [RLPItem] {
        var pos = 0
        var items: [RLPItem] = []
        while pos < bytes.count { items.append(try decodeItem(bytes, &pos, depth: 0)) }
        return items
    }

    private static func decodeItem(_ b: [UInt8], _ pos: inout Int, depth: Int) throws(DecodeError) -> RLPItem {
        guard depth < 64 else { throw DecodeError(message: "nesting too deep", offset: pos) }
        guard pos < b.count else { throw DecodeError(message: "unexpected end", offset: pos) }
        let p = b[pos]
        func length(_ n: Int) throws(DecodeError) -> Int {
            guard pos + 1 + n <= b.count else { throw DecodeError(message: "truncated length", offset: pos) }
            guard b[pos + 1] != 0 else { throw DecodeError(message: "length with leading zero", offset: pos) }
            var l = 0
            for i in 0..<n {
                guard l < (1 << 40) else { throw DecodeError(message: "length too large", offset: pos) }
                l = l << 8 | Int(b[pos + 1 + i])
            }
            guard l >= 56 else { throw DecodeError(message: "non-canonical long length", offset: pos) }
            return l
        }
        func take(_ start: Int, _ len: Int) throws(DecodeError) -> ArraySlice<UInt8> {
            guard len <= b.count - start else { throw DecodeError(message: "item runs past the end", offset: pos) }
            return b[start..<(start + len)]
        }
        switch p {
        case 0x00...0x7f:
            pos += 1
            return .bytes([p])
        case 0x80...0xb7:
            let len = Int(p - 0x80)
            let s = try take(pos + 1, len)
            if len == 1 && s.first! < 0x80 { throw DecodeError(message: "non-canonical single byte", offset: pos) }
            pos += 1 + len
            return .bytes(Array(s))
        case 0xb8...0xbf:
            let n = Int(p - 0xb7)
            let len = try length(n)
            let s = try take(pos + 1 + n, len)
            pos += 1 + n + len
            return .bytes(Array(s))
        default:
            let headerLen: Int
            let len: Int
            if p <= 0xf7 {
                headerLen = 1
                len = Int(p - 0xc0)
            } else {
                let n = Int(p - 0xf7)
                len = try length(n)
                headerLen = 1 + n
            }
            let start = pos + headerLen
            _ = try take(start, len)
            let end = start + len
            var inner = start
            var items: [RLPItem] = []
            while inner < end {
                items.append(try decodeItem(b, &inner, depth: depth + 1))
            }
            guard inner == end else { throw DecodeError(message: "list items overrun", offset: inner) }
            pos = end
            return .list(items)
        }
    }
}
