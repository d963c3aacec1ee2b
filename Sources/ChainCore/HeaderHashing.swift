/// Which rule turns a header into its block hash.
///
/// Most chains hash the header as served (`standard`, which also covers the
/// AuRa seal fields). Besu's BFT engines do not: the block hash is taken over
/// the header with `extraData` re-encoded without the committed seals (they
/// differ between nodes that saw different commit messages) and with the round
/// number removed (QBFT: round set to 0 and seals to the empty list; IBFT 2.0:
/// both dropped from the list). See Besu's `BftBlockHashing.calculateHashOfBftBlockOnChain`,
/// `QbftExtraDataCodec` and `IbftExtraDataCodec` (`EXCLUDE_COMMIT_SEALS_AND_ROUND_NUMBER`).
public enum HeaderHashScheme: String, Sendable, Equatable, CaseIterable {
    /// keccak(rlp(header)) — geth, Nethermind, Besu (ethash/clique/PoS); AuRa when `step`/`signature` are present.
    case standard
    /// Besu QBFT: extraData = rlp[vanity, validators, vote|[], round, seals] hashed as rlp[vanity, validators, vote|[], 0, []].
    case qbft
    /// Besu IBFT 2.0: extraData = rlp[vanity, validators, vote|"", round(4 bytes), seals] hashed as rlp[vanity, validators, vote|""].
    case ibft2
}

/// The parts of a Besu BFT `extraData` that consensus health needs.
public struct BFTExtraData: Sendable, Equatable {
    public var vanity: [UInt8]
    public var validators: [Address]
    /// Proposed vote: (recipient, add?) — nil when the block carries no vote.
    public var vote: (recipient: Address, add: Bool)?
    public var round: UInt64
    /// Number of committed seals carried (0 in a hashing form).
    public var committedSeals: Int
    public var scheme: HeaderHashScheme

    public static func == (a: BFTExtraData, b: BFTExtraData) -> Bool {
        a.vanity == b.vanity && a.validators == b.validators && a.vote?.recipient == b.vote?.recipient
            && a.vote?.add == b.vote?.add && a.round == b.round && a.committedSeals == b.committedSeals && a.scheme == b.scheme
    }

    /// Decodes QBFT or IBFT 2.0 extraData; nil when it is neither (never traps).
    public init?(_ extraData: [UInt8]) {
        guard !extraData.isEmpty, let item = try? RLP.decode(extraData), case .list(let items) = item, items.count >= 3,
            case .bytes(let vanity) = items[0], case .list(let vals) = items[1]
        else { return nil }
        var validators: [Address] = []
        for v in vals {
            guard case .bytes(let b) = v, let a = try? Address(bytes: b) else { return nil }
            validators.append(a)
        }
        var vote: (Address, Bool)?
        let scheme: HeaderHashScheme
        switch items[2] {
        case .list(let v) where v.isEmpty:
            scheme = .qbft
        case .bytes(let b) where b.isEmpty:
            scheme = .ibft2
        case .list(let v) where v.count == 2:
            guard case .bytes(let r) = v[0], let a = try? Address(bytes: r), case .bytes(let flag) = v[1] else { return nil }
            vote = (a, flag == [0xff])
            scheme = flag.isEmpty ? .qbft : .ibft2  // QBFT writes a drop vote as "", IBFT 2.0 as 0x00
        default:
            return nil
        }
        var round: UInt64 = 0
        var seals = 0
        if items.count >= 4 {
            guard case .bytes(let r) = items[3], r.count <= 8 else { return nil }
            round = r.reduce(0) { $0 << 8 | UInt64($1) }
        }
        if items.count >= 5 {
            guard case .list(let s) = items[4] else { return nil }
            seals = s.count
        }
        guard items.count <= 5 else { return nil }
        self.vanity = vanity
        self.validators = validators
        self.vote = vote
        self.round = round
        self.committedSeals = seals
        self.scheme = scheme
    }
}

public enum HeaderHashing {
    /// QBFT on-chain hashing form of `extraData`: rlp[vanity, validators, vote, 0, []]; nil if not QBFT-shaped.
    public static func qbftHashingExtraData(_ extraData: [UInt8]) -> [UInt8]? {
        guard let item = try? RLP.decode(extraData), case .list(let items) = item, items.count == 5,
            case .bytes = items[0], case .list = items[1], case .list = items[2], case .bytes = items[3], case .list = items[4]
        else { return nil }
        return RLP.encode(.list([items[0], items[1], items[2], .bytes([]), .list([])]))
    }

    /// IBFT 2.0 on-chain hashing form of `extraData`: rlp[vanity, validators, vote]; nil if not IBFT-shaped.
    public static func ibft2HashingExtraData(_ extraData: [UInt8]) -> [UInt8]? {
        guard let item = try? RLP.decode(extraData), case .list(let items) = item, items.count == 5,
            case .bytes = items[0], case .list = items[1], case .bytes(let round) = items[3], round.count == 4,
            case .list = items[4]
        else { return nil }
        switch items[2] {
        case .bytes(let b) where b.isEmpty: break
        case .list(let v) where v.count == 2: break
        default: return nil
        }
        return RLP.encode(.list([items[0], items[1], items[2]]))
    }

    /// The block hash of `header` under `scheme`; nil when the header does not fit the scheme.
    public static func hash(_ header: BlockHeader, scheme: HeaderHashScheme) -> Bytes32? {
        switch scheme {
        case .standard:
            return header.computedHash()
        case .qbft, .ibft2:
            // Besu hashes the genesis block with its extraData as is.
            guard header.number > 0 else { return nil }
            let form = scheme == .qbft ? qbftHashingExtraData(header.extraData) : ibft2HashingExtraData(header.extraData)
            guard let form else { return nil }
            var h = header
            h.extraData = form
            return h.computedHash()
        }
    }

    /// The scheme under which the served `hash` matches the header's fields, trying `preferred`
    /// first (the scheme this chain used last time), then standard, QBFT, IBFT 2.0. nil: no scheme
    /// matches — the node served a header that is not what it claims to be.
    public static func verify(_ header: BlockHeader, preferred: HeaderHashScheme? = nil) -> HeaderHashScheme? {
        var order = HeaderHashScheme.allCases
        if let preferred, let i = order.firstIndex(of: preferred) {
            order.remove(at: i)
            order.insert(preferred, at: 0)
        }
        for s in order where hash(header, scheme: s) == header.hash { return s }
        return nil
    }
}
