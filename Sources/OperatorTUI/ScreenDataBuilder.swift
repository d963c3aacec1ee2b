import Alerts
import ChainCore
import GridCore

/// Builds the screen's extras (grid tree with balance bands, asset histories,
/// block details) from the monitor's state. Heavy parts are rebuilt only when
/// what they show changes: a newly settled interval or a new registration.
public struct ScreenDataBuilder: Sendable {
    /// Recent canonical blocks with their events, newest last.
    private var blocks: [ChainBlock] = []
    private var cachedGrid: GridTree?
    private var cachedAssets: [AssetID: AssetDetail] = [:]
    /// Block details are immutable once built (a reorg removes the block instead).
    private var cachedBlocks: [UInt64: BlockDetail] = [:]
    private var cacheKey: (settled: UInt64?, assets: Int) = (nil, -1)
    public let keepBlocks = 64
    /// Intervals of reading history per asset on the Asset view.
    public let historyIntervals = 96

    public init() {}

    /// Keeps the recent canonical blocks (and drops orphaned ones) for the Block view.
    public mutating func record(_ update: LedgerUpdate) {
        switch update {
        case .block(let b):
            blocks.append(b)
            if blocks.count > keepBlocks { blocks.removeFirst(blocks.count - keepBlocks) }
        case .retract(let number, let hash):
            blocks.removeAll { $0.header.hash == hash }
            if cachedBlocks[number]?.header.hash == hash { cachedBlocks[number] = nil }
        default:
            break
        }
    }

    /// The screen's data for the monitor's state now.
    public mutating func build(_ monitor: Monitor, consensus: ConsensusHealth?, now: Double) -> ScreenData {
        let snapshot = monitor.snapshot(now: now)
        let key = (monitor.settledInterval, monitor.topology.count)
        if key.0 != cacheKey.settled || key.1 != cacheKey.assets {
            cacheKey = (key.0, key.1)
            cachedGrid = grid(monitor)
            cachedAssets = assets(monitor)
        }
        for b in blocks where cachedBlocks[b.header.number]?.header.hash != b.header.hash {
            cachedBlocks[b.header.number] = detail(b, monitor)
        }
        if cachedBlocks.count > keepBlocks, let oldest = blocks.first?.header.number {
            cachedBlocks = cachedBlocks.filter { $0.key >= oldest }
        }
        var data = ScreenData(snapshot: snapshot, grid: cachedGrid, assets: cachedAssets, blocks: cachedBlocks)
        if let consensus { data.consensus = stats(consensus, derived: data.consensusOrDerived) }
        alarmExtras(snapshot, into: &data)
        return data
    }

    /// KPIs, and why alarms are hidden (shelved, inhibited, out of service), for the Alarms view.
    private func alarmExtras(_ s: MonitorSnapshot, into data: inout ScreenData) {
        let k = s.kpis
        data.kpis = AlarmKPIs(alarmsLast10Min: k.alarmsLast10Minutes, alarmsPerHour: k.averagePer10Minutes * 6,
                              flood: k.inFlood, timeInFlood: k.percentTimeInFlood / 100, stale: k.staleAlarms,
                              chattering: k.chattering.count)
        data.hiddenAlarms = s.inhibited + s.shelved + s.outOfService
        data.shelvedCount = s.shelved.count
        data.inhibitedCount = s.inhibited.count
        var byId: [Int: Alarm] = [:]
        for a in s.alarms + data.hiddenAlarms { byId[a.id] = a }
        for a in byId.values {
            var note = AlarmAnnotation()
            if let sh = a.shelving {
                note.shelvedUntil = sh.until ?? .infinity
                note.shelveReason = sh.reason
                note.shelvedBy = sh.by
            }
            if let cause = a.suppressedBy {
                note.inhibitedBy = byId[cause].map { "\($0.kind.rawValue) on \($0.assetName)" } ?? "alarm \(cause)"
            }
            if let c = a.lastComment { note.comments = [c] }
            if note != AlarmAnnotation() { data.annotations[a.id] = note }
        }
    }

    /// The probe's validators and engine, with block intervals from the blocks on screen.
    private func stats(_ h: ConsensusHealth, derived: ConsensusStats) -> ConsensusStats {
        let names: [ConsensusHealth.Engine: String] = [.qbft: "QBFT", .ibft2: "IBFT 2.0", .clique: "Clique", .aura: "AuRa", .generic: "generic"]
        let validators = h.validators.map {
            ValidatorStats(address: $0.address, proposals: $0.proposedBlocks, lastProposed: $0.lastProposedBlock,
                           missedTurns: $0.missedTurns, inTurnShare: $0.inTurnShare)
        }
        return ConsensusStats(protocolName: names[h.engine], validators: validators.isEmpty ? derived.validators : validators,
                              blockIntervals: derived.blockIntervals, targetBlockSeconds: h.blockIntervalMedian)
    }

    private func grid(_ m: Monitor) -> GridTree? {
        guard m.topology.count > 0 else { return nil }
        var balances: [AssetID: SegmentStatus] = [:]
        var suspects = Set<AssetID>()
        for (seg, det) in m.detectors {
            if det.suspect { suspects.insert(seg) }
            guard let t = m.settledInterval, let b = m.ledger.balance(of: seg, in: t, topology: m.topology) else { continue }
            var status = SegmentStatus(residualWh: b.residualWh, throughputWh: b.throughputWh, complete: b.complete)
            if let j = det.last, j.interval == t {
                let half = det.parameters.bandSigmas * j.sigmaWh
                status.bandLowWh = Int64((j.expectedLossWh - half).rounded())
                status.bandHighWh = Int64((j.expectedLossWh + half).rounded())
            }
            balances[seg] = status
        }
        // The ranked consumers under a suspect segment are marked too, with their score.
        var scores: [AssetID: Double] = [:]
        for list in m.suspects.values {
            for s in list { suspects.insert(s.asset); scores[s.asset] = max(scores[s.asset] ?? -.infinity, s.score) }
        }
        return GridTree(topology: m.topology, balances: balances, suspects: suspects, suspectScores: scores)
    }

    private func assets(_ m: Monitor) -> [AssetID: AssetDetail] {
        let recent = m.ledger.intervals.keys.sorted().suffix(historyIntervals)
        var out: [AssetID: AssetDetail] = [:]
        out.reserveCapacity(m.topology.count)
        for t in recent {
            for (id, e) in m.ledger.readings(in: t) {
                out[id, default: AssetDetail()].readings.append(
                    ReadingPoint(intervalStart: t, importWh: e.reading.importWh, exportWh: e.reading.exportWh))
            }
        }
        for b in blocks.reversed() {
            for e in b.events {
                guard case .energyTransfer(let x) = e.event else { continue }
                let row = TransferRow(from: x.from, to: x.to, fromName: m.topology[x.from]?.name, toName: m.topology[x.to]?.name,
                                      intervalStart: x.intervalStart, wh: x.wh, priceMicrosPerKwh: x.priceMicrosPerKwh, origin: e.origin)
                out[x.from, default: AssetDetail()].transfers.append(row)
                out[x.to, default: AssetDetail()].transfers.append(row)
            }
        }
        return out
    }

    private func detail(_ b: ChainBlock, _ m: Monitor) -> BlockDetail {
        var txs: [Bytes32: [BlockEvent]] = [:]
        var order: [Bytes32] = []
        for e in b.events {
            let tx = e.origin.transactionHash
            if txs[tx] == nil { order.append(tx) }
            var ev = BlockEvent(event: e.event, origin: e.origin)
            ev.assetName = m.topology[ev.asset]?.name
            if case .energyTransfer(let x) = e.event { ev.counterpartName = m.topology[x.to]?.name }
            txs[tx, default: []].append(ev)
        }
        let verification: BlockVerification = HeaderHashing.verify(b.header) != nil ? .verified : .invalid
        let agreeing = m.nodes.filter { $0.headNumber.map { $0 >= b.header.number } ?? false && $0.trust != .divergent && $0.trust != .untrusted }.map(\.name)
        return BlockDetail(header: b.header, verification: verification, agreeingNodes: agreeing,
                           transactions: order.map { BlockTransaction(hash: $0, events: txs[$0]!) })
    }
}
