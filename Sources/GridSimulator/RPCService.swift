import ChainCore
import GridCore
import NIOCore

/// Ethereum JSON-RPC 2.0 as go-ethereum answers it, over the simulated ledger.
///
/// Transport-free: the node servers hand it request text and a session (for
/// subscriptions over WebSocket; nil over HTTP) and send back what it returns.
struct RPCService: Sendable {
    let ledger: Ledger
    let hub: SubscriptionHub
    let peerCount: Int
    /// This node's standing faults (lag, lie, chain id, disabled namespaces).
    var faults = NodeFaults()

    /// The head this node serves (behind the chain when lagging).
    var headNumber: UInt64 {
        let h = ledger.headNumber, lag = faults.lag
        return h > lag ? h - lag : 0
    }

    /// A block as this node knows it: nothing above its head.
    func visible(_ b: SimBlock?) -> SimBlock? { b.flatMap { $0.number <= headNumber ? $0 : nil } }

    static let clientVersion = "gridtop-sim/0.1 (SIMULATED)"
    static let maxBatch = 1000

    /// Handles one message (object or batch); nil when nothing is to be sent back.
    func handle(text: String, session: RPCSession?) -> String? {
        handleBytes(text: text, session: session).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `handleBytes(text:)` in a buffer the WebSocket writer sends as it is (one copy of the
    /// reply, no `String`: backfill answers are tens of megabytes).
    func handleBuffer(text: String, session: RPCSession?) -> ByteBuffer? {
        handleBytes(text: text, session: session).map { ByteBuffer(bytes: $0) }
    }

    /// `handle(text:)` as UTF-8 bytes: replies are written straight into one buffer, and
    /// `eth_getLogs` results never become a JSON tree (see `LogEncoding`).
    func handleBytes(text: String, session: RPCSession?) -> [UInt8]? {
        let json: JSON
        do { json = try JSON.parse(text) } catch {
            return JSONRPC.error(id: .null, RPCError(code: RPCError.parseError, message: "parse error")).serializedBytes()
        }
        if case .array(let items) = json {
            if items.isEmpty {
                return JSONRPC.error(id: .null, RPCError(code: RPCError.invalidRequest, message: "empty batch")).serializedBytes()
            }
            if items.count > Self.maxBatch {
                return JSONRPC.error(id: items[0]["id"] ?? .null,
                                     RPCError(code: RPCError.invalidRequest, message: "batch too large")).serializedBytes()
            }
            var out: [UInt8] = [UInt8(ascii: "[")]
            var any = false
            for item in items {
                let mark = out.count
                if any { out.append(UInt8(ascii: ",")) }
                if respond(to: item, session: session, into: &out) { any = true } else { out.removeSubrange(mark...) }
            }
            out.append(UInt8(ascii: "]"))
            return any ? out : nil
        }
        var out: [UInt8] = []
        return respond(to: json, session: session, into: &out) ? out : nil
    }

    /// Writes the reply to one message; false when there is none (a notification).
    func respond(to message: JSON, session: RPCSession?, into out: inout [UInt8]) -> Bool {
        if let msg = try? JSONRPC.message(message), case .request(let id, let method, let params) = msg, method == "eth_getLogs" {
            let mark = out.count
            out.append(contentsOf: #"{"id":"#.utf8)
            id.write(to: &out)
            out.append(contentsOf: #","jsonrpc":"2.0","result":"#.utf8)
            do {
                try writeLogs(params, into: &out)
                out.append(UInt8(ascii: "}"))
            } catch {
                out.removeSubrange(mark...)
                JSONRPC.error(id: id, error).write(to: &out)
            }
            return true
        }
        guard let reply = handle(message: message, session: session) else { return false }
        reply.write(to: &out)
        return true
    }

    func handle(message: JSON, session: RPCSession?) -> JSON? {
        let msg: RPCMessage
        do { msg = try JSONRPC.message(message) } catch {
            return JSONRPC.error(id: message["id"] ?? .null, RPCError(code: RPCError.invalidRequest, message: "invalid request"))
        }
        switch msg {
        case .request(let id, let method, let params):
            do { return JSONRPC.result(id: id, try call(method, params: params, session: session)) } catch {
                return JSONRPC.error(id: id, error)
            }
        case .notification(let method, let params):
            _ = try? call(method, params: params, session: session)
            return nil
        case .response(let id, _):
            return JSONRPC.error(id: id, RPCError(code: RPCError.invalidRequest, message: "invalid request"))
        }
    }

    // MARK: Methods

    /// The positional arguments of a call, once the method's namespace is known to be enabled.
    func arguments(_ method: String, _ params: JSON) throws(RPCError) -> [JSON] {
        let args: [JSON]
        switch params {
        case .array(let a): args = a
        case .null: args = []
        default: throw RPCError(code: RPCError.invalidParams, message: "non-array args")
        }
        if let dot = method.firstIndex(of: "_"), faults.current.disabledNamespaces.contains(String(method[..<dot])) {
            throw RPCError(code: RPCError.methodNotFound, message: "the method \(method) does not exist/is not available")
        }
        return args
    }

    func call(_ method: String, params: JSON, session: RPCSession?) throws(RPCError) -> JSON {
        let args = try arguments(method, params)
        let f = faults.current
        let chainId = f.chainId ?? ledger.chainId
        switch method {
        case "eth_chainId": return .string(Hex.quantity(chainId))
        case "net_version": return .string(String(chainId))
        case "net_peerCount": return .string(Hex.quantity(UInt64(max(peerCount, 0))))
        case "net_listening": return .bool(true)
        case "web3_clientVersion": return .string(Self.clientVersion)
        case "eth_syncing": return .bool(false)
        case "eth_blockNumber": return .string(Hex.quantity(headNumber))
        case "eth_getBlockByNumber":
            let number = try blockNumber(try arg(args, 0), index: 0)
            let full = try fullTx(args)
            guard let b = visible(ledger.block(number: number)) else { return .null }
            return blockJSON(b, full: full, lie: f.lie)
        case "eth_getBlockByHash":
            let hash = try bytes32(try arg(args, 0), index: 0)
            let full = try fullTx(args)
            guard let b = visible(ledger.block(hash: hash)) else { return .null }
            return blockJSON(b, full: full, lie: f.lie)
        case "eth_getBlockTransactionCountByNumber":
            let number = try blockNumber(try arg(args, 0), index: 0)
            return visible(ledger.block(number: number)).map { .string(Hex.quantity(UInt64($0.transactions.count))) } ?? .null
        case "eth_getTransactionByHash":
            let hash = try bytes32(try arg(args, 0), index: 0)
            guard let (b, i) = ledger.transaction(hash: hash), visible(b) != nil else { return .null }
            return transactionJSON(b, i)
        case "qbft_getValidatorsByBlockNumber", "qbft_getValidatorsByBlockHash":
            let b = method.hasSuffix("Hash")
                ? visible(ledger.block(hash: try bytes32(try arg(args, 0), index: 0)))
                : visible(ledger.block(number: try blockNumber(args.first ?? .string("latest"), index: 0)))
            guard b != nil else { throw RPCError(code: -32000, message: "Block not found") }
            return .array(ledger.validators.map { .string($0.hex) })
        case "qbft_getSignerMetrics":
            return signerMetrics(args)
        case "qbft_getPendingVotes":
            return .object([:])
        case "eth_getLogs":
            return try getLogs(try arg(args, 0))
        case "eth_subscribe":
            guard let session else {
                throw RPCError(code: -32001, message: "notifications not supported")
            }
            let kind = try arg(args, 0)
            switch kind.stringValue {
            case "newHeads":
                let id = hub.newSubscriptionID()
                session.subscribe(id, .newHeads)
                return .string(id)
            case "logs":
                let filter = try logFilter(args.count > 1 ? args[1] : .object([:]), index: 1)
                let id = hub.newSubscriptionID()
                session.subscribe(id, .logs(filter))
                return .string(id)
            case let other?:
                throw RPCError(code: RPCError.methodNotFound, message: "no \"\(other)\" subscription in eth namespace")
            case nil:
                throw RPCError(code: RPCError.invalidParams, message: "invalid argument 0: expected a subscription name")
            }
        case "eth_unsubscribe":
            guard let session else {
                throw RPCError(code: -32001, message: "notifications not supported")
            }
            guard let id = try arg(args, 0).stringValue else {
                throw RPCError(code: RPCError.invalidParams, message: "invalid argument 0: expected a subscription id")
            }
            guard session.unsubscribe(id) else { throw RPCError(code: -32000, message: "subscription not found") }
            return .bool(true)
        default:
            throw RPCError(code: RPCError.methodNotFound, message: "the method \(method) does not exist/is not available")
        }
    }

    // MARK: Arguments

    func arg(_ args: [JSON], _ i: Int) throws(RPCError) -> JSON {
        guard i < args.count else {
            throw RPCError(code: RPCError.invalidParams, message: "missing value for required argument \(i)")
        }
        return args[i]
    }

    func fullTx(_ args: [JSON]) throws(RPCError) -> Bool {
        guard let b = try arg(args, 1).boolValue else {
            throw RPCError(code: RPCError.invalidParams, message: "invalid argument 1: expected a boolean")
        }
        return b
    }

    func invalid(_ index: Int, _ why: String) -> RPCError {
        RPCError(code: RPCError.invalidParams, message: "invalid argument \(index): \(why)")
    }

    /// A block tag or hex number. QBFT finalizes immediately: safe = finalized = latest.
    func blockNumber(_ v: JSON, index: Int) throws(RPCError) -> UInt64 {
        guard let s = v.stringValue else { throw invalid(index, "expected a block number or tag") }
        switch s {
        case "latest", "pending", "safe", "finalized": return headNumber
        case "earliest": return 0
        default:
            do { return try Hex.quantity(s) } catch { throw invalid(index, error.description) }
        }
    }

    func bytes32(_ v: JSON, index: Int) throws(RPCError) -> Bytes32 {
        guard let s = v.stringValue else { throw invalid(index, "expected a 32-byte hex string") }
        do { return try Bytes32(hex: s) } catch { throw invalid(index, error.description) }
    }

    func logFilter(_ v: JSON, index: Int) throws(RPCError) -> LogFilter {
        guard case .object(let o) = v else { throw invalid(index, "expected a filter object") }
        var f = LogFilter()
        switch o["address"] {
        case nil, .null?: break
        case .string(let s)?:
            do { f.addresses = [try Address(hex: s)] } catch { throw invalid(index, "address: \(error.description)") }
        case .array(let items)?:
            for item in items {
                guard let s = item.stringValue else { throw invalid(index, "address: expected strings") }
                do { f.addresses.append(try Address(hex: s)) } catch { throw invalid(index, "address: \(error.description)") }
            }
        default: throw invalid(index, "address: expected a string or an array")
        }
        switch o["topics"] {
        case nil, .null?: break
        case .array(let positions)?:
            guard positions.count <= 4 else { throw invalid(index, "exceed max topics") }
            for p in positions {
                switch p {
                case .null: f.topics.append(nil)
                case .string(let s):
                    do { f.topics.append([try Bytes32(hex: s)]) } catch { throw invalid(index, "topics: \(error.description)") }
                case .array(let alts):
                    var list: [Bytes32] = []
                    var wildcard = false
                    for a in alts {
                        switch a {
                        case .null: wildcard = true
                        case .string(let s):
                            do { list.append(try Bytes32(hex: s)) } catch { throw invalid(index, "topics: \(error.description)") }
                        default: throw invalid(index, "topics: expected strings")
                        }
                    }
                    f.topics.append(wildcard ? nil : list)
                default: throw invalid(index, "topics: expected null, a string or an array")
                }
            }
        default: throw invalid(index, "topics: expected an array")
        }
        return f
    }

    /// The blocks and filter an `eth_getLogs` filter object asks for.
    func logQuery(_ v: JSON) throws(RPCError) -> (from: UInt64, to: UInt64, filter: LogFilter) {
        let filter = try logFilter(v, index: 0)
        let from: UInt64, to: UInt64
        if let h = v["blockHash"], !h.isNull {
            if (v["fromBlock"].map { !$0.isNull } ?? false) || (v["toBlock"].map { !$0.isNull } ?? false) {
                throw RPCError(code: RPCError.invalidParams,
                               message: "cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other")
            }
            guard let b = visible(ledger.block(hash: try bytes32(h, index: 0))) else {
                throw RPCError(code: -32000, message: "unknown block")
            }
            from = b.number; to = b.number
        } else {
            let head = headNumber
            from = try v["fromBlock"].flatMap { $0.isNull ? nil : $0 }.map { (j: JSON) throws(RPCError) in try blockNumber(j, index: 0) } ?? head
            to = try v["toBlock"].flatMap { $0.isNull ? nil : $0 }.map { (j: JSON) throws(RPCError) in try blockNumber(j, index: 0) } ?? head
            if from > to { throw RPCError(code: RPCError.invalidParams, message: "invalid block range params") }
            if to > head { throw RPCError(code: RPCError.invalidParams, message: "block range extends beyond current head block") }
        }
        return (from, to, filter)
    }

    func getLogs(_ v: JSON) throws(RPCError) -> JSON {
        let q = try logQuery(v)
        return .array(ledger.logs(from: q.from, to: q.to, filter: q.filter).map(\.json))
    }

    /// `eth_getLogs(params)`'s result written as JSON text (the same text as `getLogs`' tree).
    func writeLogs(_ params: JSON, into out: inout [UInt8]) throws(RPCError) {
        let q = try logQuery(try arg(try arguments("eth_getLogs", params), 0))
        ledger.writeLogs(from: q.from, to: q.to, filter: q.filter, into: &out)
    }

    // MARK: Results

    /// Besu's `qbft_getSignerMetrics([from[, to]])`: blocks proposed per validator in the range
    /// (default: the last 100 blocks).
    func signerMetrics(_ args: [JSON]) -> JSON {
        let head = headNumber
        let to = (args.count > 1 ? try? blockNumber(args[1], index: 1) : nil).map { min($0, head) } ?? head
        let from = (args.first.flatMap { try? blockNumber($0, index: 0) }) ?? (to > 99 ? to - 99 : 0)
        var rows: [Address: (count: UInt64, last: UInt64)] = [:]
        if from <= to {
            for n in max(from, 1)...max(to, 1) where n <= to {
                guard let b = ledger.block(number: n) else { continue }
                rows[b.header.miner, default: (0, 0)].count += 1
                rows[b.header.miner]!.last = n
            }
        }
        return .array(rows.sorted { $0.key < $1.key }.map { a, m in
            ["address": .string(a.hex), "proposedBlockCount": .string(Hex.quantity(m.count)),
             "lastProposedBlockNumber": .string(Hex.quantity(m.last))]
        })
    }

    func blockJSON(_ b: SimBlock, full: Bool, lie: Bool = false) -> JSON {
        guard case .object(var o) = lie ? NodeFaults.tamper(b.header.json) : b.header.json else { return .null }
        o["transactions"] = .array(b.transactions.indices.map { full ? transactionJSON(b, $0) : .string(b.transactions[$0].hash.hex) })
        o["uncles"] = .array([])
        o["totalDifficulty"] = .string(Hex.quantity(b.number + 1))
        let size = 600 + b.transactions.reduce(0) { $0 + 110 + $1.input.count }
        o["size"] = .string(Hex.quantity(UInt64(size)))
        return .object(o)
    }

    /// A 256-bit value as a JSON-RPC quantity (no leading zeros).
    static func quantity256(_ v: Bytes32) -> String {
        let digits = Hex.encode(v.bytes).dropFirst(2).drop { $0 == "0" }
        return "0x" + (digits.isEmpty ? "0" : digits)
    }

    func transactionJSON(_ b: SimBlock, _ i: Int) -> JSON {
        let t = b.transactions[i]
        return [
            "hash": .string(t.hash.hex),
            "from": .string(t.from.hex),
            "to": .string(ledger.contract.hex),
            "blockHash": .string(b.hash.hex),
            "blockNumber": .string(Hex.quantity(b.number)),
            "transactionIndex": .string(Hex.quantity(UInt64(i))),
            "input": .string(Hex.encode(t.input)),
            "nonce": .string(Hex.quantity(t.nonce)),
            "gas": .string(Hex.quantity(t.gas)),
            "gasPrice": .string("0x0"),
            "value": .string("0x0"),
            "type": .string("0x0"),
            "chainId": .string(Hex.quantity(faults.current.chainId ?? ledger.chainId)),
            "v": .string(Hex.quantity(t.v)),
            "r": .string(Self.quantity256(t.r)),
            "s": .string(Self.quantity256(t.s)),
        ]
    }
}
