/// A 32-byte value: block and transaction hashes, log topics, asset ids.
///
/// Stored as four big-endian 64-bit words so that hashing and comparing are
/// cheap on the hot path (millions of meter readings per interval).
public struct Bytes32: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    public static let zero = Bytes32(w0: 0, w1: 0, w2: 0, w3: 0)

    /// Exactly 32 bytes, big-endian.
    public init<C: Collection>(bytes: C) throws(HexError) where C.Element == UInt8 {
        guard bytes.count == 32 else { throw .wrongLength(expected: 32, got: bytes.count) }
        var words: [UInt64] = [0, 0, 0, 0]
        for (i, b) in bytes.enumerated() { words[i / 8] = words[i / 8] << 8 | UInt64(b) }
        self.init(w0: words[0], w1: words[1], w2: words[2], w3: words[3])
    }

    /// Reads 32 bytes at `offset` of a buffer the caller has bounds-checked.
    @inline(__always)
    public init(unchecked p: UnsafeRawBufferPointer, at offset: Int) {
        @inline(__always) func word(_ o: Int) -> UInt64 {
            var v: UInt64 = 0
            for k in 0..<8 { v = v << 8 | UInt64(p[o + k]) }
            return v
        }
        self.init(w0: word(offset), w1: word(offset + 8), w2: word(offset + 16), w3: word(offset + 24))
    }

    /// `0x`-prefixed hex of exactly 64 digits.
    public init(hex: String) throws(HexError) {
        try self.init(bytes: Hex.decode(hex))
    }

    /// A right-aligned unsigned integer (ABI word / topic of a uint).
    public init(uint v: UInt64) { self.init(w0: 0, w1: 0, w2: 0, w3: v) }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        for (i, w) in [w0, w1, w2, w3].enumerated() {
            for k in 0..<8 { out[i * 8 + k] = UInt8(truncatingIfNeeded: w >> (56 - 8 * UInt64(k))) }
        }
        return out
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    /// `0xbe92…f246`: enough to recognise, short enough for a table column.
    public var short: String {
        let h = hex
        return String(h.prefix(6)) + "…" + String(h.suffix(4))
    }

    /// The value if it is a uint that fits in 64 bits.
    public var uint64: UInt64? { (w0 | w1 | w2) == 0 ? w3 : nil }

    public var isZero: Bool { (w0 | w1 | w2 | w3) == 0 }

    public static func < (a: Bytes32, b: Bytes32) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }
}

/// A 20-byte account address (validators, contracts).
public struct Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init<C: Collection>(bytes: C) throws(HexError) where C.Element == UInt8 {
        guard bytes.count == 20 else { throw .wrongLength(expected: 20, got: bytes.count) }
        self.bytes = Array(bytes)
    }

    public init(hex: String) throws(HexError) { try self.init(bytes: Hex.decode(hex)) }

    public static let zero = try! Address(bytes: [UInt8](repeating: 0, count: 20))

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
    public var short: String {
        let h = hex
        return String(h.prefix(6)) + "…" + String(h.suffix(4))
    }

    public static func < (a: Address, b: Address) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}
