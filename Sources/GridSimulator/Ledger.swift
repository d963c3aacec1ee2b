import ChainCore
import GridCore

/// One transaction carrying a batch of grid events (a data concentrator's
/// readings, the SCADA readings of the upstream grid, the market's trades…).
struct SimTransaction: Sendable {
    let hash: Bytes32
    let from: Address
    let nonce: UInt64
    let input: [UInt8]
    let gas: UInt64
    let gasUsed: UInt64
    /// Range of this transaction's logs in the block's log list.
    let logs: Range<Int>
    let v: UInt64
    let r: Bytes32
    let s: Bytes32
}

/// A sealed block with its transactions and the grid events its logs carry.
///
/// Events are kept decoded (compact) and turned into `Log`s on demand, so
/// hours of demo stay small in memory.
struct SimBlock: Sendable {
    let header: BlockHeader
    let transactions: [SimTransaction]
    /// In log-index order.
    let events: [GridEvent]
    /// Transaction index of each event.
    let eventTx: [UInt32]

    var number: UInt64 { header.number }
    var hash: Bytes32 { header.hash }

    func log(_ i: Int, address: Address) -> Log {
        let e = events[i]
        let tx = Int(eventTx[i])
        return Log(address: address, topics: LedgerSchemaV1.topics(of: e), data: LedgerSchemaV1.data(of: e),
                   blockNumber: header.number, blockHash: header.hash, transactionHash: transactions[tx].hash,
                   transactionIndex: eventTx[i], logIndex: UInt32(i))
    }
}

/// A batch of events waiting for a block, from one sender.
struct PendingTransaction: Sendable {
    var from: Address
    var events: [GridEvent]
    /// Not included before this block number.
    var notBefore: UInt64
}

/// `eth_getLogs` / `logs` subscription filter: addresses (any if empty) and
/// positional topics (nil or empty = wildcard at that position).
struct LogFilter: Sendable, Equatable {
    var addresses: [Address] = []
    var topics: [[Bytes32]?] = []

    func matches(address: Address, topics logTopics: [Bytes32]) -> Bool {
        if !addresses.isEmpty, !addresses.contains(address) { return false }
        if topics.count > logTopics.count { return false }
        for (i, alternatives) in topics.enumerated() {
            guard let alts = alternatives, !alts.isEmpty else { continue }
            if !alts.contains(logTopics[i]) { return false }
        }
        return true
    }
}

/// The one chain all simulated nodes serve: blocks, transactions, logs and
/// the queue of transactions waiting for the next blocks.
final class Ledger: Sendable {
    struct State {
        var blocks: [SimBlock] = []
        var byHash: [Bytes32: UInt64] = [:]
        var txByHash: [Bytes32: (block: UInt64, index: Int)] = [:]
        var nonces: [Address: UInt64] = [:]
        var pending: [PendingTransaction] = []
    }

    let chainId: UInt64
    let contract: Address
    let validators: [Address]
    private let state = Locked(State())
    private let bloomBits = BloomCache()
    /// Held while a block is produced or the chain reorganised: one writer at a time.
    private let production = Locked(())

    static let gasLimit: UInt64 = 0x1fff_ffff_ffff_ff  // Besu's default for permissioned chains (max safe JS int)
    /// QBFT's mixHash ("ctical byzantine fault tolerance"): marks the header as QBFT/IBFT2.
    static let qbftMixHash = try! Bytes32(hex: "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365")
    static let vanity: [UInt8] = {
        var v = Array("gridtop-sim SIMULATED".utf8)
        v += [UInt8](repeating: 0, count: 32 - v.count)
        return v
    }()
    static let commitSelector = Array(Keccak256.hash("commitBatch(uint256,bytes32)").prefix(4))

    init(chainId: UInt64, contract: Address, validators: [Address], genesisTimestamp: UInt64) {
        self.chainId = chainId
        self.contract = contract
        self.validators = validators
        let genesis = Self.seal(number: 0, parent: .zero, timestamp: genesisTimestamp, miner: .zero,
                                stateRoot: Keccak256.bytes32("gridtop-sim genesis state \(chainId)"),
                                transactions: [], events: [], eventTx: [],
                                extraData: Self.qbftExtraData(validators: validators, seals: []))
        state.withLock { s in
            s.blocks.append(genesis)
            s.byHash[genesis.hash] = 0
        }
    }

    // MARK: Reading

    var head: SimBlock { state.withLock { $0.blocks[$0.blocks.count - 1] } }
    var headNumber: UInt64 { state.withLock { UInt64($0.blocks.count - 1) } }

    func block(number: UInt64) -> SimBlock? {
        state.withLock { s in number < UInt64(s.blocks.count) ? s.blocks[Int(number)] : nil }
    }

    func block(hash: Bytes32) -> SimBlock? {
        state.withLock { s in s.byHash[hash].map { s.blocks[Int($0)] } }
    }

    func transaction(hash: Bytes32) -> (SimBlock, Int)? {
        state.withLock { s in s.txByHash[hash].map { (s.blocks[Int($0.block)], $0.index) } }
    }

    /// Matching logs of blocks `from...to` (inclusive; caller has checked the range).
    func logs(from: UInt64, to: UInt64, filter: LogFilter) -> [Log] {
        let blocks: ArraySlice<SimBlock> = state.withLock { s in
            let last = min(to, UInt64(s.blocks.count - 1))
            guard from <= last else { return [] }
            return s.blocks[Int(from)...Int(last)]
        }
        var out: [Log] = []
        for b in blocks { out += Self.logs(of: b, filter: filter, address: contract) }
        return out
    }

    /// `logs(from:to:filter:)` as JSON text (`LogEncoding`), without building `Log`s.
    func writeLogs(from: UInt64, to: UInt64, filter: LogFilter, into out: inout [UInt8]) {
        let blocks: ArraySlice<SimBlock> = state.withLock { s in
            let last = min(to, UInt64(s.blocks.count - 1))
            guard from <= last else { return [] }
            return s.blocks[Int(from)...Int(last)]
        }
        LogEncoding.writeLogs(of: blocks, filter: filter, address: contract, into: &out)
    }

    static func logs(of b: SimBlock, filter: LogFilter, address: Address) -> [Log] {
        guard !b.events.isEmpty else { return [] }
        if !filter.addresses.isEmpty, !filter.addresses.contains(address) { return [] }
        var out: [Log] = []
        for i in b.events.indices where filter.matches(address: address, topics: LedgerSchemaV1.topics(of: b.events[i])) {
            out.append(b.log(i, address: address))
        }
        return out
    }

    // MARK: Writing

    func enqueue(_ txs: [PendingTransaction]) {
        state.withLock { $0.pending += txs }
    }

    /// Seals the next block with every pending transaction that is due.
    @discardableResult
    func produceBlock(timestamp: UInt64) -> SimBlock {
        production.withLock { _ in produceBlockLocked(timestamp: timestamp) }
    }

    private func produceBlockLocked(timestamp: UInt64) -> SimBlock {
        // Take what is due under the lock; hash and seal outside it, so readers
        // (eth_blockNumber, eth_getLogs) never wait for keccak. One producer only.
        let (parent, due, nonces) = state.withLock { s -> (SimBlock, [PendingTransaction], [UInt64]) in
            let parent = s.blocks[s.blocks.count - 1]
            var due: [PendingTransaction] = []
            var later: [PendingTransaction] = []
            for p in s.pending where !p.events.isEmpty {
                if p.notBefore <= parent.number + 1 { due.append(p) } else { later.append(p) }
            }
            s.pending = later
            let nonces = due.map { p -> UInt64 in
                defer { s.nonces[p.from, default: 0] += 1 }
                return s.nonces[p.from, default: 0]
            }
            return (parent, due, nonces)
        }
        let number = parent.number + 1
        var txs: [SimTransaction] = []
        var events: [GridEvent] = []
        var eventTx: [UInt32] = []
        for (p, nonce) in zip(due, nonces) {
            txs.append(Self.transaction(p, nonce: nonce, logStart: events.count, chainId: chainId))
            events += p.events
            eventTx += [UInt32](repeating: UInt32(txs.count - 1), count: p.events.count)
        }
        let miner = validators.isEmpty ? Address.zero : validators[Int(number % UInt64(validators.count))]
        let stateRoot = Keccak256.bytes32(parent.header.stateRoot.bytes + Bytes32(uint: number).bytes
                                          + txs.flatMap(\.hash.bytes))
        let block = Self.seal(number: number, parent: parent.hash, timestamp: max(timestamp, parent.header.timestamp),
                              miner: miner, stateRoot: stateRoot, transactions: txs, events: events, eventTx: eventTx,
                              contract: contract, bloomBits: bloomBits,
                              extraData: Self.qbftExtraData(validators: validators,
                                                            seals: Self.commitSeals(validators, number: number,
                                                                                    parent: parent.hash)))
        state.withLock { s in
            s.blocks.append(block)
            s.byHash[block.hash] = number
            for (i, t) in txs.enumerated() { s.txByHash[t.hash] = (number, i) }
        }
        return block
    }

    // MARK: Forks

    /// Replaces the last `depth` blocks (never genesis) with another branch of the same
    /// length, so the new head is at an existing height. The branch holds the same
    /// transactions one block later (its first block is empty; the last orphaned block's
    /// transactions join the branch's last block), with another proposer and state root:
    /// every event stays on the chain once, in other blocks. Returns the orphaned blocks
    /// and the branch (both ascending), or nil when the chain is too short.
    func reorg(depth: Int, timestamp: UInt64) -> (orphaned: [SimBlock], branch: [SimBlock])? {
        production.withLock { _ -> ([SimBlock], [SimBlock])? in
            let (ancestor, orphaned) = state.withLock { s -> (SimBlock, [SimBlock]) in
                let n = s.blocks.count - 1
                let k = max(0, min(depth, n))
                return (s.blocks[n - k], Array(s.blocks[(n - k + 1)...]))
            }
            guard !orphaned.isEmpty else { return nil }
            let k = orphaned.count
            var groups: [[SimBlock]] = [[]]
            if k > 1 { groups += orphaned[0..<(k - 2)].map { [$0] } + [Array(orphaned[(k - 2)...])] } else { groups = [orphaned] }
            var parent = ancestor
            var branch: [SimBlock] = []
            for (j, group) in groups.enumerated() {
                let number = ancestor.number + 1 + UInt64(j)
                var txs: [SimTransaction] = []
                var events: [GridEvent] = []
                var eventTx: [UInt32] = []
                for b in group {
                    for t in b.transactions {
                        let start = events.count
                        events += b.events[t.logs]
                        eventTx += [UInt32](repeating: UInt32(txs.count), count: t.logs.count)
                        txs.append(SimTransaction(hash: t.hash, from: t.from, nonce: t.nonce, input: t.input, gas: t.gas,
                                                  gasUsed: t.gasUsed, logs: start..<events.count, v: t.v, r: t.r, s: t.s))
                    }
                }
                let miner = validators.isEmpty ? Address.zero : validators[Int((number + 1) % UInt64(validators.count))]
                let stateRoot = Keccak256.bytes32(parent.header.stateRoot.bytes + Bytes32(uint: number).bytes
                                                  + txs.flatMap(\.hash.bytes) + Array("fork".utf8))
                let orphanTime = orphaned[min(j, k - 1)].header.timestamp
                let block = Self.seal(number: number, parent: parent.hash,
                                      timestamp: max(parent.header.timestamp, min(timestamp, orphanTime)), miner: miner,
                                      stateRoot: stateRoot, transactions: txs, events: events, eventTx: eventTx,
                                      contract: contract, bloomBits: bloomBits,
                                      extraData: Self.qbftExtraData(validators: validators,
                                                                    seals: Self.commitSeals(validators, number: number,
                                                                                            parent: parent.hash)))
                branch.append(block)
                parent = block
            }
            state.withLock { s in
                for o in orphaned {
                    s.byHash[o.hash] = nil
                    for t in o.transactions { s.txByHash[t.hash] = nil }
                }
                s.blocks.removeLast(k)
                for b in branch {
                    s.blocks.append(b)
                    s.byHash[b.hash] = b.number
                    for (i, t) in b.transactions.enumerated() { s.txByHash[t.hash] = (b.number, i) }
                }
            }
            return (orphaned, branch)
        }
    }

    static func transaction(_ p: PendingTransaction, nonce: UInt64, logStart: Int, chainId: UInt64) -> SimTransaction {
        // commitBatch(uint256 count, bytes32 digest): the concentrator commits a digest of its batch
        // (a digest of the batch's first and last events keeps this cheap; it is decorative).
        var payload = p.from.bytes + Bytes32(uint: nonce).bytes
        for e in [p.events.first, p.events.last].compactMap({ $0 }) {
            for t in LedgerSchemaV1.topics(of: e) { payload += t.bytes }
            payload += LedgerSchemaV1.data(of: e)
        }
        let input = commitSelector + Bytes32(uint: UInt64(p.events.count)).bytes + Keccak256.hash(payload)
        var gasUsed: UInt64 = 21_000 + 5_000
        for b in input { gasUsed += b == 0 ? 4 : 16 }
        for e in p.events { gasUsed += logGas(e) }
        let hashInput = p.from.bytes + Bytes32(uint: nonce).bytes + Bytes32(uint: chainId).bytes + input
        let hash = Keccak256.bytes32(hashInput)
        return SimTransaction(hash: hash, from: p.from, nonce: nonce, input: input,
                              gas: (gasUsed * 5 / 4 / 1000 + 1) * 1000, gasUsed: gasUsed,
                              logs: logStart..<(logStart + p.events.count), v: chainId * 2 + 35,
                              r: Keccak256.bytes32(hash.bytes + [1]), s: Keccak256.bytes32(hash.bytes + [2]))
    }

    /// LOG gas of one event: 375 + 375 per topic + 8 per data byte. Readings and transfers have
    /// 3 topics and 3 data words (known without encoding them: history builds pay for every event).
    static func logGas(_ e: GridEvent) -> UInt64 {
        switch e {
        case .meterReading, .energyTransfer: return 375 + 375 * 3 + 8 * 96
        case .assetRegistered:
            return 375 + 375 * UInt64(LedgerSchemaV1.topics(of: e).count) + 8 * UInt64(LedgerSchemaV1.data(of: e).count)
        }
    }

    static func seal(number: UInt64, parent: Bytes32, timestamp: UInt64, miner: Address, stateRoot: Bytes32,
                     transactions: [SimTransaction], events: [GridEvent], eventTx: [UInt32],
                     contract: Address = .zero, bloomBits: BloomCache? = nil, extraData: [UInt8]) -> SimBlock {
        var bloom = [UInt8](repeating: 0, count: 256)
        if !events.isEmpty {
            addToBloom(&bloom, contract.bytes)
            var seen = Set<Bytes32>()
            for e in events {
                for t in LedgerSchemaV1.topics(of: e) where seen.insert(t).inserted {
                    if let bloomBits { bloomBits.add(t, to: &bloom) } else { addToBloom(&bloom, t.bytes) }
                }
            }
        }
        let txRoot = transactions.isEmpty ? BlockHeader.emptyTrieRoot
            : Keccak256.bytes32(Array("transactions".utf8) + transactions.flatMap(\.hash.bytes))
        let receiptsRoot = transactions.isEmpty ? BlockHeader.emptyTrieRoot
            : Keccak256.bytes32(Array("receipts".utf8) + transactions.flatMap(\.hash.bytes) + bloom)
        var header = BlockHeader(number: number, hash: .zero, parentHash: parent, timestamp: timestamp, miner: miner,
                                 stateRoot: stateRoot, transactionsRoot: txRoot, receiptsRoot: receiptsRoot,
                                 logsBloom: bloom, difficulty: [1], gasLimit: gasLimit,
                                 gasUsed: transactions.reduce(0) { $0 + $1.gasUsed }, extraData: extraData,
                                 mixHash: qbftMixHash, nonce: [UInt8](repeating: 0, count: 8))
        header.hash = blockHash(header)
        return SimBlock(header: header, transactions: transactions, events: events, eventTx: eventTx)
    }

    /// The block hash as Besu QBFT computes it (extraData without the committed seals,
    /// round 0), so clients verify every header exactly as on a real QBFT consortium.
    /// The genesis block is hashed as served, as Besu does.
    static func blockHash(_ h: BlockHeader) -> Bytes32 {
        h.number == 0 ? h.computedHash() : (HeaderHashing.hash(h, scheme: .qbft) ?? h.computedHash())
    }

    /// QBFT (Besu) extraData: `rlp([vanity, [validators], vote = [], round = 0, [committed seals]])`.
    /// The vanity says SIMULATED; the seals are placeholders, not signatures.
    static func qbftExtraData(validators: [Address], seals: [[UInt8]]) -> [UInt8] {
        RLP.encode(.list([
            .bytes(vanity),
            .list(validators.map { .bytes($0.bytes) }),
            .list([]),
            .uint(0),
            .list(seals.map { .bytes($0) }),
        ]))
    }

    /// A quorum (⌈2n/3⌉) of 65-byte placeholder commit seals.
    static func commitSeals(_ validators: [Address], number: UInt64, parent: Bytes32) -> [[UInt8]] {
        let quorum = (2 * validators.count + 2) / 3
        return (0..<quorum).map { i in
            let base = validators[(Int(number) + i) % validators.count].bytes + Bytes32(uint: number).bytes + parent.bytes
            return Keccak256.hash(base + [0]) + Keccak256.hash(base + [1]) + [0]
        }
    }

    /// Bloom positions of topics seen before (asset ids repeat every interval).
    final class BloomCache: Sendable {
        private let cache = Locked<[Bytes32: [(Int, UInt8)]]>([:])
        func add(_ t: Bytes32, to bloom: inout [UInt8]) {
            let bits = cache.withLock { $0[t] } ?? {
                let b = Ledger.bloomPositions(t.bytes)
                cache.withLock { $0[t] = b }
                return b
            }()
            for (i, m) in bits { bloom[i] |= m }
        }
    }

    static func bloomPositions(_ value: [UInt8]) -> [(Int, UInt8)] {
        let h = Keccak256.hash(value)
        return stride(from: 0, to: 6, by: 2).map { i in
            let bit = (Int(h[i]) << 8 | Int(h[i + 1])) & 2047
            return (255 - bit / 8, UInt8(1 << (bit % 8)))
        }
    }

    /// Ethereum's 2048-bit log bloom: 3 bits per value from its keccak.
    static func addToBloom(_ bloom: inout [UInt8], _ value: [UInt8]) {
        let h = Keccak256.hash(value)
        for i in stride(from: 0, to: 6, by: 2) {
            let bit = (Int(h[i]) << 8 | Int(h[i + 1])) & 2047
            bloom[255 - bit / 8] |= UInt8(1 << (bit % 8))
        }
    }
}
