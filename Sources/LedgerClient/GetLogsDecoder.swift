import ChainCore
import GridCore

/// A streaming decoder for `eth_getLogs` responses: raw bytes straight to logs (or grid
/// events) without building a JSON tree — the hot path of backfill.
///
/// It accepts exactly what the generic path (`JSON.parse` → `JSONRPC.message` →
/// `Log(json:)`) accepts and gives the same logs: the JSON grammar is checked in full
/// (strings, escapes, surrogates, numbers, nesting limit, trailing data), duplicate keys
/// resolve last-wins, and a response it cannot decode literally (escapes inside keys or
/// hex fields) is handed to the generic path. Per-log problems are per-log errors; a
/// malformed response is one clear error. Never traps on hostile input.
public enum GetLogsDecoder {
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// Not valid JSON.
        case json(JSONError)
        /// Valid JSON, but not a JSON-RPC response carrying an array.
        case shape(String)
        /// The node answered with an error.
        case rpc(RPCError)

        public var description: String {
            switch self {
            case .json(let e): return "\(e)"
            case .shape(let s): return "not an eth_getLogs response: \(s)"
            case .rpc(let e): return "\(e)"
            }
        }
    }

    /// Every log of the response, each decoded or with its own error.
    public static func decodeLogs(_ bytes: [UInt8]) throws(Failure) -> [Result<Log, ChainDecodingError>] {
        try bytes.withUnsafeBytes { buf in Result { () throws(Failure) in try decodeLogs(buf) } }.get()
    }

    public static func decodeLogs(_ buf: UnsafeRawBufferPointer) throws(Failure) -> [Result<Log, ChainDecodingError>] {
        var p = FastParser(b: buf)
        var logs: [Result<Log, ChainDecodingError>] = []
        let outcome = Result { () throws(FastError) in try p.response { parser, raw in logs.append(parser.build(raw)) } }
        switch outcome {
        case .success: return logs
        case .failure(.fallback): return try generic(buf)
        case .failure(.json(let e)): throw .json(e)
        case .failure(.shape(let s)): throw .shape(s)
        case .failure(.rpc(let e)): throw .rpc(e)
        }
    }

    /// The generic path (JSON tree), the reference the fast path must equal.
    public static func generic(_ buf: UnsafeRawBufferPointer) throws(Failure) -> [Result<Log, ChainDecodingError>] {
        let json: JSON
        do { json = try JSON.parse(bytes: buf) } catch { throw .json(error) }
        let message: RPCMessage
        do { message = try JSONRPC.message(json) } catch { throw .shape(error.message) }
        guard case .response(_, let result) = message else { throw .shape("expected a response") }
        let value: JSON
        switch result {
        case .success(let v): value = v
        case .failure(let e): throw .rpc(e)
        }
        guard let items = value.arrayValue else { throw .shape("result is not an array") }
        return items.map { item in Result { () throws(ChainDecodingError) in try Log(json: item) } }
    }

    /// Grid events of a response, as the client keeps them: decodable grid logs become
    /// located events; logs that are not grid events are skipped; undecodable ones counted.
    public static func decodeEvents(_ bytes: [UInt8]) throws(Failure) -> (events: [LocatedEvent], rejected: Int) {
        try bytes.withUnsafeBytes { buf in Result { () throws(Failure) in try decodeEvents(buf) } }.get()
    }

    public static func decodeEvents(_ buf: UnsafeRawBufferPointer) throws(Failure) -> (events: [LocatedEvent], rejected: Int) {
        var p = FastParser(b: buf)
        var events: [LocatedEvent] = []
        events.reserveCapacity(buf.count / 700 + 1)
        var rejected = 0
        var topics: [Bytes32] = []
        topics.reserveCapacity(4)
        var data: [UInt8] = []
        data.reserveCapacity(256)
        let outcome = Result { () throws(FastError) in
            try p.response { parser, raw in
                switch parser.event(raw, topics: &topics, data: &data) {
                case .success(let e)?: events.append(e)
                case .failure?: rejected += 1
                case nil: break
                }
            }
        }
        switch outcome {
        case .success: return (events, rejected)
        case .failure(.fallback): return try eventsOf(generic(buf))
        case .failure(.json(let e)): throw .json(e)
        case .failure(.shape(let s)): throw .shape(s)
        case .failure(.rpc(let e)): throw .rpc(e)
        }
    }

    // MARK: Logs as the client keeps them

    /// Every log of a response reduced to what backfill keeps (`GridLog`), straight from the
    /// bytes: no JSON tree, no `Log`, hex fields decoded in place, buffers reused.
    /// Equal to `genericGridLogs` on every input (tested on hostile input).
    public static func gridLogs(_ buf: UnsafeRawBufferPointer) throws(Failure) -> [GridLog] {
        var p = FastParser(b: buf)
        var logs: [GridLog] = []
        logs.reserveCapacity(buf.count / 700 + 1)
        var scratch = FastParser.Scratch()
        let outcome = Result { () throws(FastError) in
            try p.response { parser, raw in logs.append(parser.gridLog(raw, &scratch)) }
        }
        switch outcome {
        case .success: return logs
        case .failure(.fallback): return try genericGridLogs(buf)
        case .failure(.json(let e)): throw .json(e)
        case .failure(.shape(let s)): throw .shape(s)
        case .failure(.rpc(let e)): throw .rpc(e)
        }
    }

    public static func gridLogs(_ bytes: [UInt8]) throws(Failure) -> [GridLog] {
        try bytes.withUnsafeBytes { buf in Result { () throws(Failure) in try gridLogs(buf) } }.get()
    }

    /// The generic reference for `gridLogs`: JSON tree, `Log(json:)`, schema decoding.
    public static func genericGridLogs(_ buf: UnsafeRawBufferPointer) throws(Failure) -> [GridLog] {
        let json: JSON
        do { json = try JSON.parse(bytes: buf) } catch { throw .json(error) }
        let message: RPCMessage
        do { message = try JSONRPC.message(json) } catch { throw .shape(error.message) }
        guard case .response(_, let result) = message else { throw .shape("expected a response") }
        switch result {
        case .success(let v):
            guard let logs = gridLogs(result: v) else { throw .shape("result is not an array") }
            return logs
        case .failure(let e): throw .rpc(e)
        }
    }

    /// The logs of an `eth_getLogs` result already parsed as JSON (a batch answer); nil if it is not an array.
    public static func gridLogs(result: JSON) -> [GridLog]? {
        result.arrayValue?.map(GridLog.init(json:))
    }

    /// The id of a single JSON-RPC response frame (`{"jsonrpc":"2.0","id":7,"result":…}`), read
    /// without reading its result when the id comes first (as every node writes it): used to
    /// route an `eth_getLogs` answer's bytes to this decoder. nil for anything else. With a
    /// repeated "id" key the first one routes (the frame is then decoded in full, as always).
    public static func responseID(_ buf: UnsafeRawBufferPointer) -> Int? {
        var p = FastParser(b: buf)
        return try? p.responseID()
    }

    /// Grid events of decoded logs (the generic reference for `decodeEvents`).
    public static func eventsOf(_ logs: [Result<Log, ChainDecodingError>]) -> (events: [LocatedEvent], rejected: Int) {
        var events: [LocatedEvent] = []
        var rejected = 0
        for r in logs {
            guard case .success(let log) = r else { rejected += 1; continue }
            guard !log.removed, LedgerSchemaV1.isGridEvent(log) else { continue }
            do {
                events.append(LocatedEvent(event: try LedgerSchemaV1.decode(log), origin: EventOrigin(log: log)))
            } catch {
                rejected += 1
            }
        }
        return (events, rejected)
    }
}

/// One log of an `eth_getLogs` answer, reduced to what the client keeps of it: where it
/// belongs (for grouping by block, even when the rest is undecodable), and either why
/// `Log(json:)` refuses it or its identity and grid event.
public struct GridLog: Sendable, Equatable {
    public struct Block: Sendable, Hashable {
        public var number: UInt64
        public var hash: Bytes32
        public init(number: UInt64, hash: Bytes32) { self.number = number; self.hash = hash }
    }

    public enum Grid: Sendable, Equatable {
        /// Not a grid event of schema v1 (topic 0 is another event's).
        case none
        case event(GridEvent)
        /// A grid event's topic 0 with fields the schema refuses: why.
        case invalid(String)
    }

    public struct Content: Sendable, Equatable {
        public var address: Address
        public var origin: EventOrigin
        public var removed: Bool
        public var grid: Grid
    }

    /// `blockHash` and `blockNumber` as the log states them; nil if either is missing or malformed.
    public var block: Block?
    /// The log as `Log(json:)` decodes it, or its error.
    public var content: Result<Content, ChainDecodingError>

    public init(block: Block?, content: Result<Content, ChainDecodingError>) {
        self.block = block
        self.content = content
    }

    /// The generic path: one log object of a parsed answer.
    public init(json item: JSON) {
        var block: Block?
        if let h = item["blockHash"]?.stringValue.flatMap({ try? Bytes32(hex: $0) }), let n = item["blockNumber"]?.quantity {
            block = Block(number: n, hash: h)
        }
        self.init(block: block, content: Result { () throws(ChainDecodingError) in try Log(json: item) }.map(Content.init(log:)))
    }
}

extension GridLog.Content {
    public init(log: Log) {
        address = log.address
        origin = EventOrigin(log: log)
        removed = log.removed
        if !LedgerSchemaV1.isGridEvent(log) {
            grid = .none
        } else {
            do throws(LedgerSchemaV1.DecodeError) { grid = .event(try LedgerSchemaV1.decode(log)) } catch {
                grid = .invalid(error.description)
            }
        }
    }
}

private enum FastError: Error {
    case json(JSONError)
    case shape(String)
    case rpc(RPCError)
    /// Something this decoder does not take literally (escapes in keys or hex): use the generic path.
    case fallback
}

private enum Slot {
    case missing, null, string(Int, Int), other
}

/// One log object as found in the bytes: where each field's text is, nothing decoded yet.
private struct RawLog {
    var address = Slot.missing, data = Slot.missing, blockNumber = Slot.missing, blockHash = Slot.missing
    var txHash = Slot.missing, txIndex = Slot.missing, logIndex = Slot.missing
    /// 0 missing, 1 array of strings, 2 null, 3 not an array, 4 array with a non-string, 5 not an object (whole log)
    var topicsState = 0
    var topicCount = 0
    var t0 = (0, 0), t1 = (0, 0), t2 = (0, 0), t3 = (0, 0)
    var removed = false

    mutating func addTopic(_ r: (Int, Int)) {
        switch topicCount {
        case 0: t0 = r
        case 1: t1 = r
        case 2: t2 = r
        case 3: t3 = r
        default: break
        }
        topicCount += 1
    }

    func topic(_ i: Int) -> (Int, Int) {
        switch i {
        case 0: return t0
        case 1: return t1
        case 2: return t2
        default: return t3
        }
    }
}

private struct FastParser {
    let b: UnsafeRawBufferPointer
    var pos = 0
    let maxDepth = 128

    init(b: UnsafeRawBufferPointer) { self.b = b }

    @inline(__always) func fail(_ m: String) -> FastError { .json(JSONError(m, at: pos)) }

    @inline(__always) mutating func ws() {
        while pos < b.count {
            let c = b[pos]
            if c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 { pos += 1 } else { return }
        }
    }

    @inline(__always) func peek() -> UInt8? { pos < b.count ? b[pos] : nil }

    // MARK: Response

    mutating func response(_ consume: (inout FastParser, RawLog) -> Void) throws(FastError) {
        ws()
        guard pos < b.count else { throw fail("unexpected end of input") }
        guard b[pos] == UInt8(ascii: "{") else {
            // Valid JSON that is not an object is not a response; invalid JSON is a JSON error.
            try skipValue(depth: 0)
            ws()
            guard pos == b.count else { throw fail("unexpected data after the JSON value") }
            throw .shape("expected a JSON-RPC object")
        }
        pos += 1
        var resultIsArray = false
        var resultCount = 0
        var hasResult = false, hasID = false, hasMethod = false
        var errorRange: (Int, Int)?
        ws()
        if peek() == UInt8(ascii: "}") {
            pos += 1
        } else {
            while true {
                ws()
                let key = try keyRange()
                ws()
                guard peek() == UInt8(ascii: ":") else { throw fail("expected ':'") }
                pos += 1
                ws()
                if keyIs(key, "result") {
                    hasResult = true
                    guard pos < b.count else { throw fail("unexpected end of input") }
                    resultCount += 1
                    if resultCount > 1 { throw .fallback }  // duplicate result keys: let the generic path pick the last
                    if b[pos] == UInt8(ascii: "[") {
                        try logArray(consume)
                        resultIsArray = true
                    } else {
                        try skipValue(depth: 1)
                        resultIsArray = false
                    }
                } else if keyIs(key, "error") {
                    let start = pos
                    try skipValue(depth: 1)
                    errorRange = (start, pos)
                } else {
                    if keyIs(key, "id") { hasID = true }
                    if keyIs(key, "method") { hasMethod = true }
                    try skipValue(depth: 1)
                }
                ws()
                guard pos < b.count else { throw fail("unterminated object") }
                if b[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if b[pos] == UInt8(ascii: "}") { pos += 1; break }
                throw fail("expected ',' or '}'")
            }
        }
        ws()
        guard pos == b.count else { throw fail("unexpected data after the JSON value") }
        // Same classification as JSONRPC.message (method first, then id, error, result).
        if hasMethod || !hasID || errorRange != nil {
            throw .fallback  // rare shapes: let the generic path classify them exactly
        }
        guard hasResult else { throw .shape("response has neither result nor error") }
        guard resultIsArray else { throw .shape("result is not an array") }
    }

    /// The integer id of a response object, from the keys before its result (see `GetLogsDecoder.responseID`).
    mutating func responseID() throws(FastError) -> Int? {
        ws()
        guard peek() == UInt8(ascii: "{") else { return nil }
        pos += 1
        while true {
            ws()
            let key = try keyRange()
            ws()
            guard peek() == UInt8(ascii: ":") else { return nil }
            pos += 1
            ws()
            if keyIs(key, "id") {
                guard let c = peek(), c == UInt8(ascii: "-") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) else { return nil }
                let start = pos
                try number()
                let text = UnsafeRawBufferPointer(rebasing: b[start..<pos])
                return Int(String(decoding: text, as: UTF8.self))
            }
            try skipValue(depth: 1)
            ws()
            guard peek() == UInt8(ascii: ",") else { return nil }
            pos += 1
        }
    }

    // MARK: Logs

    mutating func logArray(_ consume: (inout FastParser, RawLog) -> Void) throws(FastError) {
        pos += 1  // [
        ws()
        if peek() == UInt8(ascii: "]") { pos += 1; return }
        while true {
            ws()
            let raw = try logValue()
            consume(&self, raw)
            ws()
            guard pos < b.count else { throw fail("unterminated array") }
            if b[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if b[pos] == UInt8(ascii: "]") { pos += 1; return }
            throw fail("expected ',' or ']'")
        }
    }

    /// One element of the result array (depth 2).
    mutating func logValue() throws(FastError) -> RawLog {
        var r = RawLog()
        guard pos < b.count else { throw fail("unexpected end of input") }
        guard b[pos] == UInt8(ascii: "{") else {
            try skipValue(depth: 2)
            r.topicsState = 5
            return r
        }
        pos += 1
        ws()
        if peek() == UInt8(ascii: "}") {
            pos += 1
        } else {
            while true {
                ws()
                let key = try keyRange()
                ws()
                guard peek() == UInt8(ascii: ":") else { throw fail("expected ':'") }
                pos += 1
                ws()
                let len = key.1 - key.0
                var handled = false
                if len == 6, keyIs(key, "topics") {
                    handled = true
                    r.topicCount = 0
                    guard pos < b.count else { throw fail("unexpected end of input") }
                    if b[pos] == UInt8(ascii: "[") {
                        r.topicsState = 1
                        pos += 1
                        ws()
                        if peek() == UInt8(ascii: "]") {
                            pos += 1
                        } else {
                            while true {
                                ws()
                                if peek() == UInt8(ascii: "\"") {
                                    r.addTopic(try hexString())
                                } else {
                                    try skipValue(depth: 4)
                                    r.topicsState = 4
                                }
                                ws()
                                guard pos < b.count else { throw fail("unterminated array") }
                                if b[pos] == UInt8(ascii: ",") { pos += 1; continue }
                                if b[pos] == UInt8(ascii: "]") { pos += 1; break }
                                throw fail("expected ',' or ']'")
                            }
                        }
                    } else {
                        r.topicsState = try isNull() ? 2 : 3
                        if r.topicsState == 3 { try skipValue(depth: 3) }
                    }
                } else if len == 7, keyIs(key, "removed") {
                    handled = true
                    if b.count - pos >= 4, b[pos] == UInt8(ascii: "t") {
                        try literal("true")
                        r.removed = true
                    } else {
                        try skipValue(depth: 3)
                        r.removed = false
                    }
                } else if len == 4, keyIs(key, "data") {
                    handled = true; r.data = try slot()
                } else if len == 7, keyIs(key, "address") {
                    handled = true; r.address = try slot()
                } else if len == 9, keyIs(key, "blockHash") {
                    handled = true; r.blockHash = try slot()
                } else if len == 11, keyIs(key, "blockNumber") {
                    handled = true; r.blockNumber = try slot()
                } else if len == 8, keyIs(key, "logIndex") {
                    handled = true; r.logIndex = try slot()
                } else if len == 15, keyIs(key, "transactionHash") {
                    handled = true; r.txHash = try slot()
                } else if len == 16, keyIs(key, "transactionIndex") {
                    handled = true; r.txIndex = try slot()
                }
                if !handled { try skipValue(depth: 3) }
                ws()
                guard pos < b.count else { throw fail("unterminated object") }
                if b[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if b[pos] == UInt8(ascii: "}") { pos += 1; break }
                throw fail("expected ',' or '}'")
            }
        }
        return r
    }

    func text(_ s: Slot, _ k: String) throws(ChainDecodingError) -> UnsafeRawBufferPointer {
        switch s {
        case .missing, .null: throw .missingField(k)
        case .other: throw .badField(k, "expected a string")
        case .string(let a, let z): return UnsafeRawBufferPointer(rebasing: b[a..<z])
        }
    }

    func b32(_ s: Slot, _ k: String) throws(ChainDecodingError) -> Bytes32 {
        guard let v = FastParser.bytes32(try text(s, k)) else { throw .badField(k, "expected 32 bytes of hex") }
        return v
    }

    func qty(_ s: Slot, _ k: String) throws(ChainDecodingError) -> UInt64 {
        let t = try text(s, k)
        do throws(HexError) { return try Hex.quantity(utf8: t) } catch { throw .badField(k, error.description) }
    }

    /// Checks the topics' shape; the same rules and order as `Log(json:)`.
    func checkTopics(_ r: RawLog) throws(ChainDecodingError) {
        switch r.topicsState {
        case 0, 2: throw .missingField("topics")
        case 3: throw .badField("topics", "expected an array")
        case 4: throw .badField("topics", "expected strings")
        default: break
        }
        guard r.topicCount <= 4 else { throw .badField("topics", "more than 4 topics") }
    }

    func topic(_ r: RawLog, _ i: Int) throws(ChainDecodingError) -> Bytes32 {
        let (a, z) = r.topic(i)
        guard let t = FastParser.bytes32(UnsafeRawBufferPointer(rebasing: b[a..<z])) else {
            throw .badField("topics", "expected 32 bytes of hex")
        }
        return t
    }

    /// The log, exactly as `Log(json:)` would give it.
    func build(_ r: RawLog) -> Result<Log, ChainDecodingError> {
        Result { () throws(ChainDecodingError) in
            if r.topicsState == 5 { throw .badField("log", "expected an object") }
            let addrHex = try text(r.address, "address")
            let addr: Address
            do throws(HexError) { addr = try Address(bytes: Hex.decode(utf8: addrHex)) } catch { throw .badField("address", error.description) }
            try checkTopics(r)
            var topics: [Bytes32] = []
            topics.reserveCapacity(r.topicCount)
            for i in 0..<r.topicCount { topics.append(try topic(r, i)) }
            let dataHex = try text(r.data, "data")
            let dataBytes: [UInt8]
            do throws(HexError) { dataBytes = try Hex.decode(utf8: dataHex) } catch { throw .badField("data", error.description) }
            let bn = try qty(r.blockNumber, "blockNumber")
            let bh = try b32(r.blockHash, "blockHash")
            let th = try b32(r.txHash, "transactionHash")
            let ti = try qty(r.txIndex, "transactionIndex")
            let li = try qty(r.logIndex, "logIndex")
            guard ti <= UInt32.max, li <= UInt32.max else { throw .badField("logIndex", "out of range") }
            return Log(address: addr, topics: topics, data: dataBytes, blockNumber: bn, blockHash: bh, transactionHash: th,
                       transactionIndex: UInt32(ti), logIndex: UInt32(li), removed: r.removed)
        }
    }

    /// The grid event of a log without building the `Log` (reused buffers, no allocation per
    /// log beyond the event): nil for logs that are removed or not grid events; `.failure`
    /// for logs `Log(json:)` or the schema would reject.
    func event(_ r: RawLog, topics: inout [Bytes32], data: inout [UInt8]) -> Result<LocatedEvent, ChainDecodingError>? {
        do throws(ChainDecodingError) {
            if r.topicsState == 5 { throw .badField("log", "expected an object") }
            let addrHex = try text(r.address, "address")
            guard addrHex.count == 42, addrHex[0] == UInt8(ascii: "0"), addrHex[1] == UInt8(ascii: "x") || addrHex[1] == UInt8(ascii: "X"),
                (2..<42).allSatisfy({ FastParser.nibble(addrHex[$0]) != nil })
            else { throw .badField("address", "expected 20 bytes of hex") }
            try checkTopics(r)
            topics.removeAll(keepingCapacity: true)
            for i in 0..<r.topicCount { topics.append(try topic(r, i)) }
            let dataHex = try text(r.data, "data")
            guard FastParser.decodeHex(dataHex, into: &data) else { throw .badField("data", "invalid hex data") }
            let bn = try qty(r.blockNumber, "blockNumber")
            let bh = try b32(r.blockHash, "blockHash")
            let th = try b32(r.txHash, "transactionHash")
            let ti = try qty(r.txIndex, "transactionIndex")
            let li = try qty(r.logIndex, "logIndex")
            guard ti <= UInt32.max, li <= UInt32.max else { throw .badField("logIndex", "out of range") }
            guard !r.removed, let t0 = topics.first,
                t0 == LedgerSchemaV1.meterReadingTopic || t0 == LedgerSchemaV1.energyTransferTopic || t0 == LedgerSchemaV1.assetRegisteredTopic
            else { return nil }
            do throws(LedgerSchemaV1.DecodeError) {
                let e = try LedgerSchemaV1.decode(topics: topics, data: data)
                return .success(LocatedEvent(event: e, origin: EventOrigin(blockNumber: bn, blockHash: bh, transactionHash: th, logIndex: UInt32(li))))
            } catch {
                throw .badField("data", error.description)
            }
        } catch {
            return .failure(error)
        }
    }

    /// Buffers reused from log to log, and the last address seen (a response's logs nearly
    /// always come from one contract, so its `Address` is built once).
    struct Scratch {
        var topics: [Bytes32] = []
        var data: [UInt8] = []
        var lastAddress: (text: [UInt8], value: Address)?
        init() {
            topics.reserveCapacity(4)
            data.reserveCapacity(256)
        }
    }

    /// The log as `GridLog(json:)` would give it. The common case is decoded in place; any
    /// failure is handed to `build`, so errors are exactly the ones `build` reports.
    func gridLog(_ r: RawLog, _ s: inout Scratch) -> GridLog {
        guard r.topicsState != 5 else { return GridLog(block: nil, content: build(r).map(GridLog.Content.init(log:))) }
        var block: GridLog.Block?
        if case .string(let a, let z) = r.blockHash, case .string = r.blockNumber,
            let h = FastParser.bytes32(UnsafeRawBufferPointer(rebasing: b[a..<z])), let n = try? qty(r.blockNumber, "blockNumber")
        {
            block = GridLog.Block(number: n, hash: h)
        }
        if let block, let c = fastContent(r, block, &s) { return GridLog(block: block, content: .success(c)) }
        return GridLog(block: block, content: build(r).map(GridLog.Content.init(log:)))
    }

    /// nil when anything is off (then `build` says what).
    private func fastContent(_ r: RawLog, _ block: GridLog.Block, _ s: inout Scratch) -> GridLog.Content? {
        guard case .string(let aa, let az) = r.address, az - aa == 42 else { return nil }
        let addrText = UnsafeRawBufferPointer(rebasing: b[aa..<az])
        let address: Address
        if let last = s.lastAddress, last.text.elementsEqual(addrText) {
            address = last.value
        } else {
            guard addrText[0] == UInt8(ascii: "0"), addrText[1] == UInt8(ascii: "x") || addrText[1] == UInt8(ascii: "X"),
                FastParser.decodeHex(addrText, into: &s.data), let a = try? Address(bytes: s.data)
            else { return nil }
            s.lastAddress = (Array(addrText), a)
            address = a
        }
        guard r.topicsState == 1, r.topicCount <= 4 else { return nil }
        s.topics.removeAll(keepingCapacity: true)
        for i in 0..<r.topicCount {
            let (a, z) = r.topic(i)
            guard let t = FastParser.bytes32(UnsafeRawBufferPointer(rebasing: b[a..<z])) else { return nil }
            s.topics.append(t)
        }
        guard case .string(let da, let dz) = r.data, FastParser.decodeHex(UnsafeRawBufferPointer(rebasing: b[da..<dz]), into: &s.data),
            case .string(let ta, let tz) = r.txHash, let th = FastParser.bytes32(UnsafeRawBufferPointer(rebasing: b[ta..<tz])),
            let ti = try? qty(r.txIndex, "transactionIndex"), let li = try? qty(r.logIndex, "logIndex"),
            ti <= UInt32.max, li <= UInt32.max
        else { return nil }
        let grid: GridLog.Grid
        if let t0 = s.topics.first,
            t0 == LedgerSchemaV1.meterReadingTopic || t0 == LedgerSchemaV1.energyTransferTopic || t0 == LedgerSchemaV1.assetRegisteredTopic
        {
            do throws(LedgerSchemaV1.DecodeError) { grid = .event(try LedgerSchemaV1.decode(topics: s.topics, data: s.data)) } catch {
                grid = .invalid(error.description)
            }
        } else {
            grid = .none
        }
        return GridLog.Content(address: address,
                               origin: EventOrigin(blockNumber: block.number, blockHash: block.hash, transactionHash: th, logIndex: UInt32(li)),
                               removed: r.removed, grid: grid)
    }

    /// `0x`-prefixed even-length hex into `out` (reused); false if it is not that.
    static func decodeHex(_ s: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        guard s.count >= 2, s[0] == UInt8(ascii: "0"), s[1] == UInt8(ascii: "x") || s[1] == UInt8(ascii: "X"), s.count % 2 == 0 else {
            return false
        }
        let n = (s.count - 2) / 2
        let t = hexTable
        var bad: UInt8 = 0
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(n)
        var i = 2
        while i < s.count {
            let hi = t[Int(s[i])], lo = t[Int(s[i + 1])]
            bad |= hi | lo
            out.append(hi << 4 | (lo & 0x0F))
            i += 2
        }
        return bad & 0xF0 == 0
    }

    /// Hex digit values; 0xFF for anything else.
    /// Immutable after initialisation (a lookup table), hence safe to share.
    nonisolated(unsafe) static let hexTable: UnsafeMutablePointer<UInt8> = {
        let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        t.initialize(repeating: 0xFF, count: 256)
        for (i, c) in "0123456789".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        for (i, c) in "abcdef".utf8.enumerated() { t[Int(c)] = UInt8(10 + i) }
        for (i, c) in "ABCDEF".utf8.enumerated() { t[Int(c)] = UInt8(10 + i) }
        return t
    }()

    /// 16 hex digits at `at` → a word; `bad` collects 0xF0 bits for invalid digits.
    @inline(__always) static func word16(_ s: UnsafeRawBufferPointer, _ at: Int, _ t: UnsafeMutablePointer<UInt8>, _ bad: inout UInt8) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<16 {
            let d = t[Int(s[at + i])]
            bad |= d
            v = v << 4 | UInt64(d & 0x0F)
        }
        return v
    }

    /// `0x` + exactly 64 hex digits → Bytes32 (what `Bytes32(hex:)` accepts).
    static func bytes32(_ s: UnsafeRawBufferPointer) -> Bytes32? {
        guard s.count == 66, s[0] == UInt8(ascii: "0"), s[1] == UInt8(ascii: "x") || s[1] == UInt8(ascii: "X") else { return nil }
        let t = hexTable
        var bad: UInt8 = 0
        let w0 = word16(s, 2, t, &bad), w1 = word16(s, 18, t, &bad), w2 = word16(s, 34, t, &bad), w3 = word16(s, 50, t, &bad)
        guard bad & 0xF0 == 0 else { return nil }
        return Bytes32(w0: w0, w1: w1, w2: w2, w3: w3)
    }

    @inline(__always) static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    // MARK: Values

    /// A field value at depth 3: a plain string (its contents' range), null, or anything else (skipped).
    mutating func slot() throws(FastError) -> Slot {
        guard pos < b.count else { throw fail("unexpected end of input") }
        switch b[pos] {
        case UInt8(ascii: "\""):
            let r = try hexString()
            return .string(r.0, r.1)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            try skipValue(depth: 3)
            return .other
        }
    }

    mutating func isNull() throws(FastError) -> Bool {
        guard pos < b.count, b[pos] == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// A string whose contents are used literally; one with escapes goes to the generic path.
    mutating func hexString() throws(FastError) -> (Int, Int) {
        let r = try string()
        if r.escaped { throw .fallback }
        return (r.start, r.end)
    }

    mutating func keyRange() throws(FastError) -> (Int, Int) {
        guard pos < b.count, b[pos] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
        let r = try string()
        if r.escaped { throw .fallback }
        return (r.start, r.end)
    }

    @inline(__always) func keyIs(_ r: (Int, Int), _ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard r.1 - r.0 == n else { return false }
        let w = word.utf8Start
        for i in 0..<n where b[r.0 + i] != w[i] { return false }
        return true
    }

    mutating func literal(_ word: StaticString) throws(FastError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= b.count else { throw fail("unexpected end of input") }
        let w = word.utf8Start
        for i in 0..<n where b[pos + i] != w[i] { throw fail("invalid literal") }
        pos += n
    }

    /// Validates a string exactly as the generic parser does; returns the raw contents' range.
    mutating func string() throws(FastError) -> (start: Int, end: Int, escaped: Bool) {
        pos += 1
        let start = pos
        var escaped = false
        // Eight bytes at a time while none is a quote, a backslash or a control character.
        while pos + 8 <= b.count {
            let v = b.loadUnaligned(fromByteOffset: pos, as: UInt64.self)
            let q = v ^ 0x2222_2222_2222_2222
            let e = v ^ 0x5C5C_5C5C_5C5C_5C5C
            let hit = ((q &- 0x0101_0101_0101_0101) & ~q) | ((e &- 0x0101_0101_0101_0101) & ~e)
                | ((v &- 0x2020_2020_2020_2020) & ~v)
            if hit & 0x8080_8080_8080_8080 != 0 { break }
            pos += 8
        }
        while pos < b.count {
            let c = b[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return (start, pos - 1, escaped)
            }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") { pos += 1; continue }
            escaped = true
            pos += 1
            guard pos < b.count else { break }
            let e = b[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                continue
            case UInt8(ascii: "u"):
                let scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard pos + 6 <= b.count, b[pos] == UInt8(ascii: "\\"), b[pos + 1] == UInt8(ascii: "u") else {
                        throw fail("lone high surrogate")
                    }
                    pos += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("invalid low surrogate") }
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("lone low surrogate")
                }
            default:
                pos -= 1
                throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws(FastError) -> UInt32 {
        guard pos + 4 <= b.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let d = FastParser.nibble(b[pos]) else { throw fail("invalid \\u escape") }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }

    mutating func number() throws(FastError) {
        if b[pos] == UInt8(ascii: "-") { pos += 1 }
        func digits(_ p: inout Int) -> Int {
            let s = p
            while p < b.count, b[p] >= UInt8(ascii: "0"), b[p] <= UInt8(ascii: "9") { p += 1 }
            return p - s
        }
        guard pos < b.count else { throw fail("unexpected end of number") }
        if b[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if digits(&pos) == 0 {
            throw fail("invalid number")
        }
        if pos < b.count, b[pos] == UInt8(ascii: ".") {
            pos += 1
            guard digits(&pos) > 0 else { throw fail("invalid fraction") }
        }
        if pos < b.count, b[pos] == UInt8(ascii: "e") || b[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < b.count, b[pos] == UInt8(ascii: "+") || b[pos] == UInt8(ascii: "-") { pos += 1 }
            guard digits(&pos) > 0 else { throw fail("invalid exponent") }
        }
    }

    /// Skips one value, validating it as the generic parser would (same depth rule).
    mutating func skipValue(depth: Int) throws(FastError) {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        guard pos < b.count else { throw fail("unexpected end of input") }
        switch b[pos] {
        case UInt8(ascii: "{"):
            pos += 1
            ws()
            if peek() == UInt8(ascii: "}") { pos += 1; return }
            while true {
                ws()
                guard peek() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                _ = try string()
                ws()
                guard peek() == UInt8(ascii: ":") else { throw fail("expected ':'") }
                pos += 1
                ws()
                try skipValue(depth: depth + 1)
                ws()
                guard pos < b.count else { throw fail("unterminated object") }
                if b[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if b[pos] == UInt8(ascii: "}") { pos += 1; return }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            pos += 1
            ws()
            if peek() == UInt8(ascii: "]") { pos += 1; return }
            while true {
                ws()
                try skipValue(depth: depth + 1)
                ws()
                guard pos < b.count else { throw fail("unterminated array") }
                if b[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if b[pos] == UInt8(ascii: "]") { pos += 1; return }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw fail("unexpected character")
        }
    }
}
