/// Recomputes a block hash from its header fields: keccak256(rlp(header)).
///
/// The field list grows with each fork; which optional fields are present
/// decides the variant (legacy, London, Shanghai, Cancun, Prague). AuRa
/// (Nethermind/OpenEthereum) seals with `step` and `signature` in place of
/// `mixHash` and `nonce`.
extension BlockHeader {
    public var rlpFields: [RLPItem] {
        var f: [RLPItem] = [
            .bytes(parentHash.bytes), .bytes(sha3Uncles.bytes), .bytes(miner.bytes),
            .bytes(stateRoot.bytes), .bytes(transactionsRoot.bytes), .bytes(receiptsRoot.bytes),
            .bytes(logsBloom), .bigUInt(difficulty), .uint(number), .uint(gasLimit), .uint(gasUsed),
            .uint(timestamp), .bytes(extraData),
        ]
        if let auraStep, let auraSignature {
            f.append(.uint(auraStep))
            f.append(.bytes(auraSignature))
        } else {
            f.append(.bytes((mixHash ?? .zero).bytes))
            f.append(.bytes(nonce ?? [UInt8](repeating: 0, count: 8)))
        }
        if let baseFeePerGas { f.append(.bigUInt(baseFeePerGas)) } else { return f }
        if let withdrawalsRoot { f.append(.bytes(withdrawalsRoot.bytes)) } else { return f }
        if let blobGasUsed, let excessBlobGas, let parentBeaconBlockRoot {
            f.append(.uint(blobGasUsed))
            f.append(.uint(excessBlobGas))
            f.append(.bytes(parentBeaconBlockRoot.bytes))
        } else { return f }
        if let requestsHash { f.append(.bytes(requestsHash.bytes)) }
        return f
    }

    /// keccak256(rlp(header fields)): what `hash` must equal for an honest node.
    public func computedHash() -> Bytes32 {
        Keccak256.bytes32(RLP.encode(.list(rlpFields)))
    }

    /// True when the served hash matches the header's own fields.
    public var hashVerifies: Bool { computedHash() == hash }
}
