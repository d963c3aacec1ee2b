/// An Ethereum log entry as a node reports it (`eth_getLogs`, `logs` subscription).
public struct Log: Sendable, Equatable {
    public var address: Address
    public var topics: [Bytes32]
    public var data: [UInt8]
    public var blockNumber: UInt64
    public var blockHash: Bytes32
    public var transactionHash: Bytes32
    public var transactionIndex: UInt32
    public var logIndex: UInt32
    /// True when a reorg orphaned the block that held this log.
    public var removed: Bool

    public init(address: Address, topics: [Bytes32], data: [UInt8], blockNumber: UInt64, blockHash: Bytes32,
                transactionHash: Bytes32, transactionIndex: UInt32, logIndex: UInt32, removed: Bool = false) {
        self.address = address
        self.topics = topics
        self.data = data
        self.blockNumber = blockNumber
        self.blockHash = blockHash
        self.transactionHash = transactionHash
        self.transactionIndex = transactionIndex
        self.logIndex = logIndex
        self.removed = removed
    }

    /// Identity of a log across reorgs and repeated deliveries.
    public var key: LogKey { LogKey(blockHash: blockHash, logIndex: logIndex) }
}

/// (block hash, log index): a log seen twice under this key is the same log.
public struct LogKey: Hashable, Sendable {
    public var blockHash: Bytes32
    public var logIndex: UInt32
    public init(blockHash: Bytes32, logIndex: UInt32) { self.blockHash = blockHash; self.logIndex = logIndex }
}

public enum ChainDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingField(String)
    case badField(String, String)

    public var description: String {
        switch self {
        case .missingField(let f): return "missing field '\(f)'"
        case .badField(let f, let why): return "field '\(f)': \(why)"
        }
    }
}

extension JSON {
    func require(_ key: String) throws(ChainDecodingError) -> JSON {
        guard let v = self[key], !v.isNull else { throw .missingField(key) }
        return v
    }
    func requireString(_ key: String) throws(ChainDecodingError) -> String {
        guard let s = try require(key).stringValue else { throw .badField(key, "expected a string") }
        return s
    }
    func requireQuantity(_ key: String) throws(ChainDecodingError) -> UInt64 {
        let s = try requireString(key)
        do { return try Hex.quantity(s) } catch { throw .badField(key, error.description) }
    }
    func requireBytes32(_ key: String) throws(ChainDecodingError) -> Bytes32 {
        let s = try requireString(key)
        do { return try Bytes32(hex: s) } catch { throw .badField(key, error.description) }
    }
    func requireAddress(_ key: String) throws(ChainDecodingError) -> Address {
        let s = try requireString(key)
        do { return try Address(hex: s) } catch { throw .badField(key, error.description) }
    }
    func requireData(_ key: String) throws(ChainDecodingError) -> [UInt8] {
        let s = try requireString(key)
        do { return try Hex.decode(s) } catch { throw .badField(key, error.description) }
    }
}

extension Log {
    public init(json: JSON) throws(ChainDecodingError) {
        guard case .object = json else { throw .badField("log", "expected an object") }
        address = try json.requireAddress("address")
        guard let ts = try json.require("topics").arrayValue else { throw .badField("topics", "expected an array") }
        guard ts.count <= 4 else { throw .badField("topics", "more than 4 topics") }
        var topics: [Bytes32] = []
        topics.reserveCapacity(ts.count)
        for t in ts {
            guard let s = t.stringValue else { throw .badField("topics", "expected strings") }
            do { topics.append(try Bytes32(hex: s)) } catch { throw .badField("topics", error.description) }
        }
        self.topics = topics
        data = try json.requireData("data")
        blockNumber = try json.requireQuantity("blockNumber")
        blockHash = try json.requireBytes32("blockHash")
        transactionHash = try json.requireBytes32("transactionHash")
        let ti = try json.requireQuantity("transactionIndex")
        let li = try json.requireQuantity("logIndex")
        guard ti <= UInt32.max, li <= UInt32.max else { throw .badField("logIndex", "out of range") }
        transactionIndex = UInt32(ti)
        logIndex = UInt32(li)
        removed = json["removed"]?.boolValue ?? false
    }

    public var json: JSON {
        .object([
            "address": .string(address.hex),
            "topics": .array(topics.map { .string($0.hex) }),
            "data": .string(Hex.encode(data)),
            "blockNumber": .string(Hex.quantity(blockNumber)),
            "blockHash": .string(blockHash.hex),
            "transactionHash": .string(transactionHash.hex),
            "transactionIndex": .string(Hex.quantity(UInt64(transactionIndex))),
            "logIndex": .string(Hex.quantity(UInt64(logIndex))),
            "removed": .bool(removed),
        ])
    }
}
