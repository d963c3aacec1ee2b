/// A block header as served by `eth_getBlockBy*` and `newHeads`.
///
/// Keeps every consensus field needed to recompute the block hash (legacy
/// through Prague, plus the AuRa seal) so that LedgerClient can verify it.
public struct BlockHeader: Sendable, Equatable {
    public var number: UInt64
    public var hash: Bytes32
    public var parentHash: Bytes32
    public var timestamp: UInt64
    /// Proposer (`miner`, or `author` on AuRa chains).
    public var miner: Address
    public var sha3Uncles: Bytes32
    public var stateRoot: Bytes32
    public var transactionsRoot: Bytes32
    public var receiptsRoot: Bytes32
    public var logsBloom: [UInt8]
    public var difficulty: [UInt8]
    public var gasLimit: UInt64
    public var gasUsed: UInt64
    public var extraData: [UInt8]
    public var mixHash: Bytes32?
    public var nonce: [UInt8]?
    public var baseFeePerGas: [UInt8]?
    public var withdrawalsRoot: Bytes32?
    public var blobGasUsed: UInt64?
    public var excessBlobGas: UInt64?
    public var parentBeaconBlockRoot: Bytes32?
    public var requestsHash: Bytes32?
    /// AuRa seal fields (Nethermind/OpenEthereum).
    public var auraStep: UInt64?
    public var auraSignature: [UInt8]?
    /// Number of transactions when the block body was fetched (nil for a bare header).
    public var transactionCount: Int?

    public init(number: UInt64, hash: Bytes32, parentHash: Bytes32, timestamp: UInt64, miner: Address,
                sha3Uncles: Bytes32 = BlockHeader.emptyUnclesHash, stateRoot: Bytes32 = .zero,
                transactionsRoot: Bytes32 = BlockHeader.emptyTrieRoot, receiptsRoot: Bytes32 = BlockHeader.emptyTrieRoot,
                logsBloom: [UInt8] = [UInt8](repeating: 0, count: 256), difficulty: [UInt8] = [1],
                gasLimit: UInt64 = 30_000_000, gasUsed: UInt64 = 0, extraData: [UInt8] = [],
                mixHash: Bytes32? = .zero, nonce: [UInt8]? = [UInt8](repeating: 0, count: 8),
                baseFeePerGas: [UInt8]? = nil, withdrawalsRoot: Bytes32? = nil, blobGasUsed: UInt64? = nil,
                excessBlobGas: UInt64? = nil, parentBeaconBlockRoot: Bytes32? = nil, requestsHash: Bytes32? = nil,
                auraStep: UInt64? = nil, auraSignature: [UInt8]? = nil, transactionCount: Int? = nil) {
        self.number = number; self.hash = hash; self.parentHash = parentHash; self.timestamp = timestamp
        self.miner = miner; self.sha3Uncles = sha3Uncles; self.stateRoot = stateRoot
        self.transactionsRoot = transactionsRoot; self.receiptsRoot = receiptsRoot; self.logsBloom = logsBloom
        self.difficulty = difficulty; self.gasLimit = gasLimit; self.gasUsed = gasUsed; self.extraData = extraData
        self.mixHash = mixHash; self.nonce = nonce; self.baseFeePerGas = baseFeePerGas
        self.withdrawalsRoot = withdrawalsRoot; self.blobGasUsed = blobGasUsed; self.excessBlobGas = excessBlobGas
        self.parentBeaconBlockRoot = parentBeaconBlockRoot; self.requestsHash = requestsHash
        self.auraStep = auraStep; self.auraSignature = auraSignature; self.transactionCount = transactionCount
    }

    /// keccak(rlp([])) — the uncles hash of a block with no uncles.
    public static let emptyUnclesHash = try! Bytes32(hex: "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347")
    /// keccak(rlp("")) — the root of an empty trie.
    public static let emptyTrieRoot = try! Bytes32(hex: "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
}

extension BlockHeader {
    public init(json: JSON) throws(ChainDecodingError) {
        guard case .object = json else { throw .badField("block", "expected an object") }
        func optBytes32(_ k: String) throws(ChainDecodingError) -> Bytes32? {
            guard let v = json[k], !v.isNull else { return nil }
            return try json.requireBytes32(k)
        }
        func optQuantity(_ k: String) throws(ChainDecodingError) -> UInt64? {
            guard let v = json[k], !v.isNull else { return nil }
            return try json.requireQuantity(k)
        }
        func optData(_ k: String) throws(ChainDecodingError) -> [UInt8]? {
            guard let v = json[k], !v.isNull else { return nil }
            return try json.requireData(k)
        }
        /// Quantities as minimal big-endian bytes (difficulty and base fee can exceed 64 bits).
        func bigQuantity(_ k: String) throws(ChainDecodingError) -> [UInt8]? {
            guard let v = json[k], !v.isNull else { return nil }
            guard let s = v.stringValue, s.hasPrefix("0x") || s.hasPrefix("0X") else { throw .badField(k, "expected a hex quantity") }
            var digits = String(s.dropFirst(2))
            while digits.hasPrefix("0") { digits.removeFirst() }
            if digits.isEmpty { return [] }
            if digits.count % 2 == 1 { digits = "0" + digits }
            do { return try Hex.decode("0x" + digits) } catch { throw .badField(k, error.description) }
        }
        number = try json.requireQuantity("number")
        hash = try json.requireBytes32("hash")
        parentHash = try json.requireBytes32("parentHash")
        timestamp = try json.requireQuantity("timestamp")
        if json["miner"] != nil, !(json["miner"]!.isNull) {
            miner = try json.requireAddress("miner")
        } else {
            miner = try json.requireAddress("author")
        }
        sha3Uncles = try optBytes32("sha3Uncles") ?? BlockHeader.emptyUnclesHash
        stateRoot = try json.requireBytes32("stateRoot")
        transactionsRoot = try json.requireBytes32("transactionsRoot")
        receiptsRoot = try json.requireBytes32("receiptsRoot")
        logsBloom = try json.requireData("logsBloom")
        difficulty = try bigQuantity("difficulty") ?? []
        gasLimit = try json.requireQuantity("gasLimit")
        gasUsed = try json.requireQuantity("gasUsed")
        extraData = try optData("extraData") ?? []
        mixHash = try optBytes32("mixHash")
        nonce = try optData("nonce")
        baseFeePerGas = try bigQuantity("baseFeePerGas")
        withdrawalsRoot = try optBytes32("withdrawalsRoot")
        blobGasUsed = try optQuantity("blobGasUsed")
        excessBlobGas = try optQuantity("excessBlobGas")
        parentBeaconBlockRoot = try optBytes32("parentBeaconBlockRoot")
        requestsHash = try optBytes32("requestsHash")
        auraStep = try optQuantity("step")
        auraSignature = try optData("signature")
        transactionCount = json["transactions"]?.arrayValue?.count
    }

    /// The header as a node would serve it (what the simulator sends).
    public var json: JSON {
        func bigHex(_ b: [UInt8]) -> String {
            let trimmed = b.drop(while: { $0 == 0 })
            if trimmed.isEmpty { return "0x0" }
            var h = Hex.encode(trimmed)
            if h.hasPrefix("0x0") { h = "0x" + h.dropFirst(3) }
            return h
        }
        var o: [String: JSON] = [
            "number": .string(Hex.quantity(number)),
            "hash": .string(hash.hex),
            "parentHash": .string(parentHash.hex),
            "timestamp": .string(Hex.quantity(timestamp)),
            "miner": .string(miner.hex),
            "sha3Uncles": .string(sha3Uncles.hex),
            "stateRoot": .string(stateRoot.hex),
            "transactionsRoot": .string(transactionsRoot.hex),
            "receiptsRoot": .string(receiptsRoot.hex),
            "logsBloom": .string(Hex.encode(logsBloom)),
            "difficulty": .string(bigHex(difficulty)),
            "gasLimit": .string(Hex.quantity(gasLimit)),
            "gasUsed": .string(Hex.quantity(gasUsed)),
            "extraData": .string(Hex.encode(extraData)),
        ]
        if let mixHash { o["mixHash"] = .string(mixHash.hex) }
        if let nonce { o["nonce"] = .string(Hex.encode(nonce)) }
        if let baseFeePerGas { o["baseFeePerGas"] = .string(bigHex(baseFeePerGas)) }
        if let withdrawalsRoot { o["withdrawalsRoot"] = .string(withdrawalsRoot.hex) }
        if let blobGasUsed { o["blobGasUsed"] = .string(Hex.quantity(blobGasUsed)) }
        if let excessBlobGas { o["excessBlobGas"] = .string(Hex.quantity(excessBlobGas)) }
        if let parentBeaconBlockRoot { o["parentBeaconBlockRoot"] = .string(parentBeaconBlockRoot.hex) }
        if let requestsHash { o["requestsHash"] = .string(requestsHash.hex) }
        if let auraStep { o["step"] = .string(Hex.quantity(auraStep)) }
        if let auraSignature { o["signature"] = .string(Hex.encode(auraSignature)) }
        if let transactionCount {
            // Only the count is kept: the hashes are placeholders (zero), never real transaction ids.
            o["transactions"] = .array(Array(repeating: .string(Bytes32.zero.hex), count: max(0, transactionCount)))
        }
        return .object(o)
    }
}
