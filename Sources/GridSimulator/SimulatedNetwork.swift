import ChainCore
import Foundation
import GridCore

/// The embedded simulated network: a synthetic grid metered onto one ledger,
/// produced by simulated validators and served by each of them over
/// Ethereum JSON-RPC (WebSocket and HTTP) on loopback.
///
/// A simulator, and it says so (`web3_clientVersion`, block `extraData`):
/// never a ledger anyone should run in production.
public final class SimulatedNetwork: Sendable {
    public let config: SimulationConfig
    let model: GridModel
    let hub: SubscriptionHub
    let validators: [Address]
    private let run = Locked(RunState())
    /// Late readings waiting for the batch they arrive with, by interval index.
    private let lateReadings = Locked<[Int: [MeterReading]]>([:])
    /// Blocks 1…this carry the asset registrations (4, more for large grids).
    let registrationBlockCount: UInt64

    struct RunState {
        var ledger: Ledger?
        var servers: [NodeServer] = []
        var producer: Task<Void, Never>?
        var faultRunner: Task<Void, Never>?
        var urls: [String] = []
    }

    /// What the incidents amounted to so far, for the ground truth.
    struct Tally {
        var energyWh: [Double] = []
        var throughIndex: Int?
        var truthPath: String?
    }
    private let tally = Locked(Tally())

    /// The contract address every grid log carries.
    public static let meteringContract: Address = address(of: "gridtop-sim/metering-contract/v1")

    /// Blocks 1…4 (at least) carry the asset registrations; readings start after them.
    static let registrationBlocks: UInt64 = 4
    /// At most about this many grid events per block (a block's logs then stay well
    /// under a client's 16 MiB frame; ~36 M gas, like a busy QBFT block).
    static let eventsPerBlock = 20_000

    /// A network for `config`; incidents of `config.incidents` that cannot be placed on this grid
    /// are left out (`init(checking:)` refuses them instead).
    public convenience init(config: SimulationConfig) {
        self.init(config: config, model: GridModel(config: config))
    }

    /// A network for `config`, or the first reason one of its incidents cannot be placed
    /// (an unknown target, a start before the history…).
    public convenience init(checking config: SimulationConfig) throws(IncidentError) {
        let model = GridModel(config: config)
        if let problem = model.incidentProblems.first { throw problem }
        self.init(config: config, model: model)
    }

    init(config: SimulationConfig, model: GridModel) {
        self.config = config
        self.model = model
        let consumerBlocks = (model.topology.consumers.count + Self.eventsPerBlock - 1) / Self.eventsPerBlock
        self.registrationBlockCount = max(Self.registrationBlocks, 1 + UInt64(consumerBlocks))
        self.hub = SubscriptionHub(salt: config.seed ^ UInt64(truncatingIfNeeded: ContinuousClock.now.hashValue))
        self.validators = (0..<max(config.nodes, 1)).map { Self.address(of: "validator-\($0)") }
    }

    /// The incidents this run stages (known at start: they are scheduled), with their energy so far.
    public var groundTruth: GroundTruth {
        let t = tally.withLock { $0 }
        return GroundTruth(model: model, energyWh: t.energyWh, through: t.throughIndex)
    }

    public func writeGroundTruth(to path: String) throws {
        try (groundTruth.json.serialized() + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Writes the ground truth to `path` now and again after every interval produced
    /// (so its energies stay current); errors of the later writes are ignored.
    public func keepGroundTruth(at path: String) throws {
        tally.withLock { $0.truthPath = path }
        try writeGroundTruth(to: path)
    }

    /// Counts one produced interval's incident energy; rewrites the truth file if one is kept.
    func count(_ out: IntervalOutcome, rewrite: Bool = true) {
        guard !model.incidents.isEmpty else { return }
        let path = tally.withLock { t -> String? in
            if t.energyWh.count < out.incidentWh.count { t.energyWh += [Double](repeating: 0, count: out.incidentWh.count - t.energyWh.count) }
            for (i, wh) in out.incidentWh.enumerated() { t.energyWh[i] += wh }
            t.throughIndex = max(t.throughIndex ?? out.index, out.index)
            return t.truthPath
        }
        if rewrite, let path { try? writeGroundTruth(to: path) }
    }

    /// The ledger being served (nil before `start()`).
    var ledger: Ledger? { run.withLock { $0.ledger } }
    /// The running node servers, by node index.
    var servers: [NodeServer] { run.withLock { $0.servers } }

    /// Starts the chain and one JSON-RPC server per node; returns their URLs (`ws://host:port`).
    public func start() async throws -> [String] {
        let history = config.historyIntervals
        let now = Self.unixNow()
        // With history, genesis and the registrations lie before the first history interval's block.
        let historyStart = now - min(now, UInt64(history) * UInt64(config.intervalSeconds))
        let ledger = Ledger(chainId: config.chainId, contract: Self.meteringContract, validators: validators,
                            genesisTimestamp: history > 0 ? historyStart - min(historyStart, Self.registrationBlocks + 1) : now)
        let claimed = run.withLock { r -> Bool in
            guard r.ledger == nil else { return false }
            r.ledger = ledger
            return true
        }
        guard claimed else { throw SimulationError.alreadyStarted }
        ledger.enqueue(registrationTransactions())
        if history > 0 { buildHistory(ledger: ledger, intervals: history, startingAt: historyStart) }

        var servers: [NodeServer] = []
        var urls: [String] = []
        do {
            for i in validators.indices {
                let service = RPCService(ledger: ledger, hub: hub, peerCount: validators.count - 1)
                let server = NodeServer(index: i, service: service, hub: hub)
                servers.append(server)
                let port = try await server.start(host: config.host, port: config.basePort.map { $0 + i } ?? 0)
                let host = config.host.contains(":") ? "[\(config.host)]" : config.host
                urls.append("ws://\(host):\(port)")
            }
        } catch {
            for s in servers { await s.stop() }
            run.withLock { $0 = RunState() }
            throw error
        }
        let producer = Task { [self] in await produce(ledger: ledger) }
        run.withLock { r in
            r.servers = servers
            r.producer = producer
            r.faultRunner = Task { [self] in await runFaults() }
            r.urls = urls
        }
        return urls
    }

    /// Stops block production, closes every server and connection, frees the ports.
    public func stop() async {
        let r = run.withLock { r -> RunState in defer { r = RunState() }; return r }
        r.producer?.cancel()
        r.faultRunner?.cancel()
        await r.faultRunner?.value
        hub.closeAll()
        await withTaskGroup(of: Void.self) { group in
            for s in r.servers { group.addTask { await s.stop() } }
        }
        await r.producer?.value
    }

    // MARK: Block production

    func produce(ledger: Ledger) async {
        let clock = ContinuousClock()
        let t0 = clock.now
        var nextBlock = t0 + config.blockTime
        let live = config.historyIntervals
        var nextInterval = live
        while !Task.isCancelled {
            do { try await clock.sleep(until: nextBlock, tolerance: .milliseconds(5)) } catch { return }
            let now = clock.now
            while t0 + config.intervalEvery * (nextInterval - live + 1) <= now {
                let out = model.interval(nextInterval)
                ledger.enqueue(intervalTransactions(out, nextBlock: ledger.headNumber + 1))
                count(out)
                nextInterval += 1
            }
            let block = ledger.produceBlock(timestamp: Self.unixNow())
            hub.publish(block, contract: Self.meteringContract)
            nextBlock = nextBlock + config.blockTime
            if nextBlock <= now { nextBlock = now + config.blockTime }  // after a stall: no burst of blocks
        }
    }

    /// Every asset's `AssetRegistered`, parents before children, over blocks 1…4 (more for large grids):
    /// the upstream grid and transformers first, then consumers transformer by transformer.
    func registrationTransactions() -> [PendingTransaction] {
        let topo = model.topology
        let operatorAddress = Self.address(of: "grid-operator")
        let reg = { (i: Int) in GridEvent.assetRegistered(topo.assets[i].registration) }
        let upstream = [topo.root] + topo.generators + topo.substations + topo.feeders + topo.transformers
        var txs = [PendingTransaction(from: operatorAddress, events: upstream.map(reg), notBefore: 1)]
        let spread = Int(registrationBlockCount) - 1
        for (j, t) in topo.transformers.enumerated() {
            txs.append(PendingTransaction(from: operatorAddress, events: topo.assets[t].children.map(reg),
                                          notBefore: 2 + UInt64(j * spread / topo.transformers.count)))
        }
        return txs
    }

    /// One interval's readings and trades as transactions: one per data concentrator
    /// (a transformer and its consumers), one for the SCADA readings of the upstream
    /// grid, one for the P2P market; spread over the next 1–3 blocks (more for large grids).
    /// Missing readings are left out; late ones come with the batch of a later interval,
    /// first (a head-end transaction), so they land in that batch's first block.
    func intervalTransactions(_ k: Int, nextBlock: UInt64) -> [PendingTransaction] {
        intervalTransactions(model.interval(k), nextBlock: nextBlock)
    }

    /// The same for an interval already computed. Silent meters' readings are left out; a
    /// duplicate reading follows in a transaction of its own, one block after the interval's last.
    func intervalTransactions(_ out: IntervalOutcome, nextBlock: UInt64) -> [PendingTransaction] {
        let k = out.index
        let topo = model.topology
        // Left off the chain this interval: missing readings, late ones (queued for a later
        // batch) and silent meters' (never sent).
        var withheld = [Bool](repeating: false, count: out.readings.count)
        for i in out.missing { withheld[i] = true }
        for d in out.delayed { withheld[d.asset] = true }
        for i in out.silenced { withheld[i] = true }
        let silent = Set(out.silenced)
        let arriving = lateReadings.withLock { queue -> [MeterReading] in
            for d in out.delayed where !silent.contains(d.asset) { queue[k + d.byIntervals, default: []].append(d.reading) }
            return queue.removeValue(forKey: k) ?? []
        }
        func reading(_ a: Int) -> GridEvent? { withheld[a] ? nil : .meterReading(out.readings[a]) }
        var txs: [PendingTransaction] = []
        if !arriving.isEmpty {
            txs.append(PendingTransaction(from: Self.address(of: "head-end"), events: arriving.map { .meterReading($0) },
                                          notBefore: 0))
        }
        for t in topo.transformers {
            let events = (topo.assets[t].children + [t]).compactMap(reading)
            txs.append(PendingTransaction(from: Self.address(of: "concentrator-" + topo.assets[t].code), events: events,
                                          notBefore: 0))
        }
        let upstream = topo.generators + [topo.root] + topo.substations + topo.feeders
        txs.append(PendingTransaction(from: Self.address(of: "scada-" + topo.assets[topo.root].code),
                                      events: upstream.compactMap(reading), notBefore: 0))
        if !out.transfers.isEmpty {
            txs.append(PendingTransaction(from: Self.address(of: "p2p-market"),
                                          events: out.transfers.map { .energyTransfer($0) }, notBefore: 0))
        }
        var r = SplitMix64(seed: config.seed, stream: RandomDomain.blocks.rawValue, UInt64(k))
        let events = txs.reduce(0) { $0 + $1.events.count }
        let blocks = max(1 + r.below(3), (events + Self.eventsPerBlock - 1) / Self.eventsPerBlock)
        let first = max(nextBlock, registrationBlockCount + 1)
        for i in txs.indices { txs[i].notBefore = first + UInt64(i * blocks / txs.count) }
        for d in out.duplicates {
            guard let a = topo.index(of: d.asset) else { continue }
            // Sent again by whoever sends the asset's readings: its data concentrator, or SCADA upstream.
            let asset = topo.assets[a]
            let tx: Int? = asset.kind == .transformer ? a : asset.parent.flatMap { topo.assets[$0].kind == .transformer ? $0 : nil }
            let sender = tx.map { "concentrator-" + topo.assets[$0].code } ?? "scada-" + topo.assets[topo.root].code
            txs.append(PendingTransaction(from: Self.address(of: sender),
                                          events: [.meterReading(d)], notBefore: first + UInt64(blocks)))
        }
        return txs
    }

    // MARK: Helpers

    /// An account address derived from a label: the last 20 bytes of its keccak.
    static func address(of label: String) -> Address {
        try! Address(bytes: Keccak256.hash(label).suffix(20))
    }

    static func unixNow() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970)) }
}
