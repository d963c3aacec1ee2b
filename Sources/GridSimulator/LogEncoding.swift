import ChainCore
import GridCore

/// `eth_getLogs` answers written straight to UTF-8 bytes: the same text as
/// `JSON.array(logs.map(\.json)).serialized()` (keys sorted, compact), without a JSON tree,
/// a dictionary per log or a `String` per hex field. Backfill over a long history
/// is mostly this text, so the simulated node must not be the bottleneck.
enum LogEncoding {
    /// Every log of `blocks` that `filter` matches, as a JSON array.
    static func writeLogs(of blocks: ArraySlice<SimBlock>, filter: LogFilter, address: Address, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        var first = true
        var addressHex: [UInt8] = []
        writeHex(address.bytes, into: &addressHex)
        let addressMatches = filter.addresses.isEmpty || filter.addresses.contains(address)
        for b in blocks where !b.events.isEmpty && addressMatches {
            out.reserveCapacity(out.count + b.events.count * 720)
            for i in b.events.indices {
                let e = b.events[i]
                let topics = LedgerSchemaV1.topics(of: e)
                guard filter.matches(address: address, topics: topics) else { continue }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                let tx = Int(b.eventTx[i])
                writeLog(addressHex: addressHex, topics: topics, data: LedgerSchemaV1.data(of: e), blockNumber: b.number,
                         blockHash: b.hash, transactionHash: b.transactions[tx].hash, transactionIndex: UInt64(tx),
                         logIndex: UInt64(i), into: &out)
            }
        }
        out.append(UInt8(ascii: "]"))
    }

    /// One log object, keys in sorted order as `Log.json` serialises them; never removed.
    static func writeLog(addressHex: [UInt8], topics: [Bytes32], data: [UInt8], blockNumber: UInt64, blockHash: Bytes32,
                         transactionHash: Bytes32, transactionIndex: UInt64, logIndex: UInt64, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"address":""#.utf8)
        out.append(contentsOf: addressHex)
        out.append(contentsOf: #"","blockHash":""#.utf8)
        writeHex(blockHash, into: &out)
        out.append(contentsOf: #"","blockNumber":""#.utf8)
        writeQuantity(blockNumber, into: &out)
        out.append(contentsOf: #"","data":""#.utf8)
        writeHex(data, into: &out)
        out.append(contentsOf: #"","logIndex":""#.utf8)
        writeQuantity(logIndex, into: &out)
        out.append(contentsOf: #"","removed":false,"topics":["#.utf8)
        for (k, t) in topics.enumerated() {
            out.append(contentsOf: k == 0 ? #"""#.utf8 : #",""#.utf8)
            writeHex(t, into: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: #"],"transactionHash":""#.utf8)
        writeHex(transactionHash, into: &out)
        out.append(contentsOf: #"","transactionIndex":""#.utf8)
        writeQuantity(transactionIndex, into: &out)
        out.append(contentsOf: #""}"#.utf8)
    }

    /// Two lowercase hex digits per byte value.
    private static let pairs: [UInt16] = (0..<256).map { v in
        let d = Array("0123456789abcdef".utf8)
        return UInt16(d[v >> 4]) | UInt16(d[v & 15]) << 8  // little-endian: high digit first in memory
    }

    /// `0x` + two digits per byte (what `Hex.encode` gives).
    static func writeHex(_ bytes: [UInt8], into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: "0x".utf8)
        out.append(contentsOf: repeatElement(0, count: bytes.count * 2))
        out.withUnsafeMutableBytes { o in
            pairs.withUnsafeBufferPointer { p in
                var at = start + 2
                for b in bytes {
                    o.storeBytes(of: p[Int(b)].littleEndian, toByteOffset: at, as: UInt16.self)
                    at += 2
                }
            }
        }
    }

    static func writeHex(_ v: Bytes32, into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: "0x".utf8)
        out.append(contentsOf: repeatElement(0, count: 64))
        out.withUnsafeMutableBytes { o in
            pairs.withUnsafeBufferPointer { p in
                var at = start + 2
                for w in [v.w0, v.w1, v.w2, v.w3] {
                    for shift in stride(from: 56, through: 0, by: -8) {
                        o.storeBytes(of: p[Int(truncatingIfNeeded: w >> UInt64(shift)) & 0xFF].littleEndian,
                                     toByteOffset: at, as: UInt16.self)
                        at += 2
                    }
                }
            }
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON-RPC quantity: `0x` + hex without leading zeros (what `Hex.quantity` gives).
    static func writeQuantity(_ v: UInt64, into out: inout [UInt8]) {
        out.append(contentsOf: "0x".utf8)
        if v == 0 { out.append(UInt8(ascii: "0")); return }
        let digits = hexDigits
        var shift = (63 - v.leadingZeroBitCount) / 4 * 4
        while shift >= 0 {
            out.append(digits[Int((v >> UInt64(shift)) & 15)])
            shift -= 4
        }
    }
}
