/// Health of the chain's block production, as an operator reads it: who proposes,
/// who missed a turn, how regular blocks are, how long since the last one.
///
/// Built from recent verified headers (every engine) and, where the node enables
/// them, the engine's own RPC namespaces (`qbft_*`/`ibft_*`, `clique_*`).
public struct ConsensusHealth: Sendable, Equatable {
    public enum Engine: String, Sendable, Equatable {
        case qbft, ibft2, clique, aura
        /// Engine not recognised (or a PoS/PoW chain): proposer rotation and block timing only.
        case generic
    }

    public struct Validator: Sendable, Equatable {
        public var address: Address
        /// Blocks proposed (sealed) in the window.
        public var proposedBlocks: Int
        public var lastProposedBlock: UInt64?
        /// Turns this validator was due to propose and did not (QBFT/IBFT round > 0, Clique
        /// out-of-turn block, AuRa skipped step). nil when the engine does not tell.
        public var missedTurns: Int?
        /// Share of its turns it used: proposals / (proposals + missed turns).
        public var inTurnShare: Double? {
            guard let missedTurns else { return nil }
            let due = proposedBlocks + missedTurns
            return due == 0 ? nil : Double(proposedBlocks) / Double(due)
        }

        public init(address: Address, proposedBlocks: Int = 0, lastProposedBlock: UInt64? = nil, missedTurns: Int? = nil) {
            self.address = address; self.proposedBlocks = proposedBlocks
            self.lastProposedBlock = lastProposedBlock; self.missedTurns = missedTurns
        }
    }

    public var engine: Engine
    /// Display name of the node the probe asked (credentials removed).
    public var node: String
    /// Window of blocks analysed (inclusive).
    public var fromBlock: UInt64
    public var toBlock: UInt64
    /// Current validators/signers (engine RPC, extraData, or the proposers seen), sorted.
    public var validators: [Validator]
    /// Seconds between consecutive blocks in the window.
    public var blockIntervalMedian: Double?
    public var blockIntervalP95: Double?
    /// Wall clock minus the newest block's timestamp.
    public var secondsSinceLastBlock: Double?
    /// Share of blocks in the window produced by the proposer whose turn it was (0…1).
    public var inTurnShare: Double?
    /// AuRa: steps without a block in the window.
    public var missedSteps: UInt64?
    /// QBFT/IBFT: the validator set at `pending` differs from `latest` (a vote is about to change it).
    public var pendingValidatorChange: Bool?
    /// Engine namespaces the node refused (-32601); the view is then built from headers alone.
    public var unavailableNamespaces: [String]

    public init(engine: Engine, node: String, fromBlock: UInt64, toBlock: UInt64, validators: [Validator] = [],
                blockIntervalMedian: Double? = nil, blockIntervalP95: Double? = nil, secondsSinceLastBlock: Double? = nil,
                inTurnShare: Double? = nil, missedSteps: UInt64? = nil, pendingValidatorChange: Bool? = nil,
                unavailableNamespaces: [String] = []) {
        self.engine = engine; self.node = node; self.fromBlock = fromBlock; self.toBlock = toBlock
        self.validators = validators; self.blockIntervalMedian = blockIntervalMedian
        self.blockIntervalP95 = blockIntervalP95; self.secondsSinceLastBlock = secondsSinceLastBlock
        self.inTurnShare = inTurnShare; self.missedSteps = missedSteps
        self.pendingValidatorChange = pendingValidatorChange; self.unavailableNamespaces = unavailableNamespaces
    }
}

/// Pure analysis of a run of consecutive headers (oldest first).
public enum ConsensusAnalysis {
    /// Guesses the engine from header shapes.
    public static func engine(of headers: [BlockHeader], scheme: HeaderHashScheme?) -> ConsensusHealth.Engine {
        guard let last = headers.last else { return .generic }
        if last.auraStep != nil { return .aura }
        if scheme == .qbft { return .qbft }
        if scheme == .ibft2 { return .ibft2 }
        // Clique: extraData = 32 vanity + 20·n signers (checkpoints) + 65 seal; difficulty 1 or 2; coinbase zero.
        let cliqueLike = headers.allSatisfy { h in
            h.extraData.count >= 97 && (h.extraData.count - 97) % 20 == 0
                && (h.difficulty == [1] || h.difficulty == [2]) && h.miner == .zero
        }
        return cliqueLike ? .clique : .generic
    }

    /// Signers listed in a Clique checkpoint block's extraData (nil if none listed).
    public static func cliqueCheckpointSigners(_ h: BlockHeader) -> [Address]? {
        guard h.extraData.count > 97, (h.extraData.count - 97) % 20 == 0 else { return nil }
        let n = (h.extraData.count - 97) / 20
        return (0..<n).compactMap { try? Address(bytes: h.extraData[(32 + 20 * $0)..<(52 + 20 * $0)]) }
    }

    static func quantile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let x = Double(sorted.count - 1) * p
        let lo = Int(x.rounded(.down)), hi = Int(x.rounded(.up))
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (x - Double(lo))
    }

    /// The generic view plus everything the headers alone say about the engine.
    ///
    /// - validators: the known set (engine RPC or extraData); nil: the proposers seen.
    /// - now: Unix seconds, for "time since the last block".
    public static func analyse(headers: [BlockHeader], engine: ConsensusHealth.Engine, validators known: [Address]?,
                               node: String, now: Double) -> ConsensusHealth {
        var hs = headers
        hs.sort { $0.number < $1.number }
        var health = ConsensusHealth(engine: engine, node: node, fromBlock: hs.first?.number ?? 0, toBlock: hs.last?.number ?? 0)
        guard let last = hs.last else { return health }

        // Timing.
        var intervals: [Double] = []
        for (a, b) in zip(hs, hs.dropFirst()) where b.number == a.number + 1 {
            intervals.append(Double(b.timestamp) - Double(a.timestamp))
        }
        intervals.sort()
        health.blockIntervalMedian = quantile(intervals, 0.5)
        health.blockIntervalP95 = quantile(intervals, 0.95)
        health.secondsSinceLastBlock = max(0, now - Double(last.timestamp))

        // Validator set, sorted (QBFT/IBFT and Clique order proposers by address).
        var set: [Address]
        switch engine {
        case .qbft, .ibft2:
            set = known ?? BFTExtraData(last.extraData)?.validators ?? []
        case .clique:
            set = known ?? hs.reversed().lazy.compactMap(cliqueCheckpointSigners).first ?? []
        case .aura, .generic:
            set = known ?? []
        }
        if set.isEmpty { set = Array(Set(hs.map(\.miner))).filter { $0 != .zero } }
        if engine == .aura, known == nil, !set.isEmpty {
            // Without the contract's list, the order is what the steps show: step s belongs to slot s mod n.
            var slots = [Address?](repeating: nil, count: set.count)
            for h in hs { if let s = h.auraStep { slots[Int(s % UInt64(set.count))] = h.miner } }
            let filled = slots.compactMap { $0 }
            set = filled.count == set.count && Set(filled).count == set.count ? filled : set.sorted()
        }
        if engine != .aura { set.sort() }  // AuRa keeps the contract's order
        var stats: [Address: ConsensusHealth.Validator] = [:]
        for a in set { stats[a] = .init(address: a, missedTurns: engine == .generic ? nil : 0) }
        func proposed(_ a: Address, _ n: UInt64) {
            var v = stats[a] ?? .init(address: a, missedTurns: engine == .generic ? nil : 0)
            v.proposedBlocks += 1
            v.lastProposedBlock = max(v.lastProposedBlock ?? 0, n)
            stats[a] = v
        }
        func missed(_ a: Address) {
            var v = stats[a] ?? .init(address: a, missedTurns: 0)
            v.missedTurns = (v.missedTurns ?? 0) + 1
            stats[a] = v
        }

        switch engine {
        case .qbft, .ibft2:
            // Round-robin: proposer of (height, round r) = set[(index(previous proposer) + 1 + r) mod n].
            // A block sealed at round r > 0 means the proposers of rounds 0..<r missed their turn.
            var inTurn = 0, counted = 0
            for (prev, h) in zip(hs, hs.dropFirst()) where h.number == prev.number + 1 {
                proposed(h.miner, h.number)
                guard !set.isEmpty, let extra = BFTExtraData(h.extraData) else { continue }
                let base = nextIndex(after: prev.miner, in: set)
                let r = Int(min(extra.round, UInt64(set.count * 4)))
                for k in 0..<r { missed(set[(base + k) % set.count]) }
                counted += 1
                if r == 0 { inTurn += 1 }
            }
            if let first = hs.first, hs.count == 1 { proposed(first.miner, first.number) }
            health.inTurnShare = counted > 0 ? Double(inTurn) / Double(counted) : nil
        case .clique:
            // Difficulty 2: in turn; 1: out of turn, so signers[number mod n] missed its turn.
            var inTurn = 0
            for h in hs {
                if h.difficulty == [2] { inTurn += 1 } else if !set.isEmpty { missed(set[Int(h.number % UInt64(set.count))]) }
            }
            health.inTurnShare = Double(inTurn) / Double(hs.count)
            // The signer is in the seal (not `miner`): counts come from clique_status when available.
        case .aura:
            // Step s belongs to set[s mod n]; a gap in steps is a missed turn of each skipped step's owner.
            var missedSteps: UInt64 = 0
            var inTurn = 0, counted = 0
            for h in hs { proposed(h.miner, h.number) }
            for (a, b) in zip(hs, hs.dropFirst()) where b.number == a.number + 1 {
                guard let sa = a.auraStep, let sb = b.auraStep, sb > sa else { continue }
                let gap = sb - sa - 1
                missedSteps += gap
                counted += 1
                if gap == 0 { inTurn += 1 }
                if !set.isEmpty {
                    for s in (sa + 1)..<(sa + 1 + min(gap, UInt64(set.count) * 4)) { missed(set[Int(s % UInt64(set.count))]) }
                }
            }
            health.missedSteps = missedSteps
            health.inTurnShare = counted > 0 ? Double(inTurn) / Double(counted) : nil
        case .generic:
            for h in hs { proposed(h.miner, h.number) }
        }
        health.validators = stats.values.sorted { $0.address < $1.address }
        if engine == .aura, !set.isEmpty {
            let order = Dictionary(set.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            health.validators.sort { (order[$0.address] ?? Int.max, $0.address) < (order[$1.address] ?? Int.max, $1.address) }
        }
        return health
    }

    /// Index of the validator after `a` in the sorted set (where `a` would be if it is not in it).
    static func nextIndex(after a: Address, in set: [Address]) -> Int {
        if let i = set.firstIndex(of: a) { return (i + 1) % set.count }
        return (set.firstIndex(where: { $0 > a }) ?? 0) % set.count
    }
}
