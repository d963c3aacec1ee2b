import ChainCore

/// Every `EnergyTransfer` seen, by interval, so trades can be checked against the meters.
///
/// The same log delivered twice (same block hash and log index) is one transfer;
/// two equal trades in different logs are two trades. A reorg takes back the
/// transfers its orphaned blocks carried.
public struct TransferLedger: Sendable {
    public struct Entry: Sendable, Equatable {
        public var transfer: EnergyTransfer
        public var origin: EventOrigin?
        public init(transfer: EnergyTransfer, origin: EventOrigin?) { self.transfer = transfer; self.origin = origin }
    }

    public private(set) var intervals: [UInt64: [Entry]] = [:]
    private var seen: Set<LogKey> = []
    private var byBlock: [Bytes32: Set<UInt64>] = [:]
    /// How many intervals to keep (older ones are dropped to bound memory).
    public var retainIntervals: Int

    public init(retainIntervals: Int = 7 * 96) { self.retainIntervals = retainIntervals }

    /// False for a log already recorded (a duplicate delivery).
    @discardableResult
    public mutating func record(_ t: EnergyTransfer, origin: EventOrigin? = nil) -> Bool {
        if let origin {
            guard seen.insert(origin.key).inserted else { return false }
            byBlock[origin.blockHash, default: []].insert(t.intervalStart)
        }
        intervals[t.intervalStart, default: []].append(Entry(transfer: t, origin: origin))
        if intervals.count > retainIntervals { prune() }
        return true
    }

    /// Takes back the transfers an orphaned block carried. Returns the parties touched, by interval.
    @discardableResult
    public mutating func retract(block: Bytes32) -> [UInt64: Set<AssetID>] {
        guard let ivs = byBlock.removeValue(forKey: block) else { return [:] }
        var touched: [UInt64: Set<AssetID>] = [:]
        for iv in ivs {
            guard var list = intervals[iv] else { continue }
            list.removeAll { e in
                guard let o = e.origin, o.blockHash == block else { return false }
                seen.remove(o.key)
                touched[iv, default: []].formUnion([e.transfer.from, e.transfer.to])
                return true
            }
            intervals[iv] = list.isEmpty ? nil : list
        }
        return touched
    }

    public func transfers(in interval: UInt64) -> [Entry] { intervals[interval] ?? [] }

    private mutating func prune() {
        let keep = Set(intervals.keys.sorted().suffix(retainIntervals))
        for (k, list) in intervals where !keep.contains(k) {
            for e in list { if let o = e.origin { seen.remove(o.key) } }
            intervals[k] = nil
        }
        for (b, ivs) in byBlock {
            let rest = ivs.filter { keep.contains($0) }
            byBlock[b] = rest.isEmpty ? nil : rest
        }
    }
}

/// One party's trades in one interval against its own meter.
public struct TransferCheck: Sendable, Equatable {
    public enum Side: String, Sendable, Equatable, Hashable {
        /// Σ sold by the asset against its metered export.
        case sold
        /// Σ bought by the asset against its metered import.
        case bought
    }

    public var asset: AssetID
    public var interval: UInt64
    public var side: Side
    /// Σ wh of the party's transfers on this side.
    public var claimedWh: UInt64
    /// The meter's export (sold) or import (bought); nil when the reading is missing.
    public var meteredWh: UInt64?
    /// The transfers counted, largest first (drill-down evidence).
    public var transfers: [TransferLedger.Entry]

    /// Claims beyond the meter by more than the register's resolution. A missing reading
    /// is no evidence (the interval is incomplete for this party): never a mismatch.
    public func mismatch(toleranceWh: UInt64) -> Bool {
        guard let m = meteredWh else { return false }
        return claimedWh > m &+ toleranceWh
    }

    public var excessWh: Int64 { Int64(clamping: claimedWh) - Int64(clamping: meteredWh ?? claimedWh) }
}

extension TransferLedger {
    /// Σ sold and Σ bought of `asset` in `interval`, each against its reading (sides without trades are left out).
    public func checks(for asset: AssetID, in interval: UInt64, readings: IntervalLedger) -> [TransferCheck] {
        var sold: [Entry] = [], bought: [Entry] = []
        for e in intervals[interval] ?? [] {
            if e.transfer.from == asset { sold.append(e) }
            if e.transfer.to == asset { bought.append(e) }
        }
        let r = readings.reading(asset, interval)
        var out: [TransferCheck] = []
        func check(_ side: TransferCheck.Side, _ list: [Entry], _ metered: UInt64?) {
            guard !list.isEmpty else { return }
            let claimed = list.reduce(UInt64(0)) { $0.addingReportingOverflow($1.transfer.wh).overflow ? .max : $0 + $1.transfer.wh }
            out.append(TransferCheck(asset: asset, interval: interval, side: side, claimedWh: claimed, meteredWh: metered,
                                     transfers: list.sorted { $0.transfer.wh > $1.transfer.wh }))
        }
        check(.sold, sold, r?.exportWh)
        check(.bought, bought, r?.importWh)
        return out
    }

    /// Every party with a trade in `interval`.
    public func parties(in interval: UInt64) -> Set<AssetID> {
        var s = Set<AssetID>()
        for e in intervals[interval] ?? [] { s.insert(e.transfer.from); s.insert(e.transfer.to) }
        return s
    }
}
