import ChainCore

/// Every meter reading seen, by interval, with duplicates and conflicts told apart.
///
/// The same `(asset, intervalStart)` twice with equal values is one reading;
/// with different values it is a conflict (possible tampering) and the first
/// reading stays: never a silent overwrite.
public struct IntervalLedger: Sendable {
    public struct Entry: Sendable, Equatable {
        public var reading: MeterReading
        public var origin: EventOrigin?
    }

    public enum RecordResult: Sendable, Equatable {
        case recorded
        case duplicate
        case conflict(existing: Entry)
    }

    public private(set) var intervals: [UInt64: [AssetID: Entry]] = [:]
    /// Readings that were not kept, with the block that carried them: equal copies in other logs
    /// (duplicates) and conflicting ones. A reorg that orphans the kept reading must find the
    /// copy that the final chain still carries, exactly as a fresh run over that chain would.
    public private(set) var shadowed: [UInt64: [Entry]] = [:]
    /// Which readings each block carried, so a reorg can take them back.
    private var byBlock: [Bytes32: [(interval: UInt64, asset: AssetID)]] = [:]
    /// The latest interval each asset reported.
    public private(set) var lastReported: [AssetID: UInt64] = [:]
    public private(set) var newestInterval: UInt64?
    /// How many intervals to keep (older ones are dropped to bound memory).
    public var retainIntervals: Int

    public init(retainIntervals: Int = 7 * 96) { self.retainIntervals = retainIntervals }

    public mutating func record(_ r: MeterReading, origin: EventOrigin? = nil) -> RecordResult {
        if let existing = intervals[r.intervalStart]?[r.asset] {
            if let origin, existing.origin?.key != origin.key,
                !(shadowed[r.intervalStart] ?? []).contains(where: { $0.origin?.key == origin.key })
            {
                shadowed[r.intervalStart, default: []].append(Entry(reading: r, origin: origin))
                byBlock[origin.blockHash, default: []].append((r.intervalStart, r.asset))
            }
            return existing.reading == r ? .duplicate : .conflict(existing: existing)
        }
        if intervals[r.intervalStart] == nil {
            // A new interval will hold about as many readings as the newest one: no rehashing as it fills.
            var fresh: [AssetID: Entry] = [:]
            fresh.reserveCapacity(newestInterval.flatMap { intervals[$0]?.count } ?? 0)
            intervals[r.intervalStart] = fresh
        }
        intervals[r.intervalStart]![r.asset] = Entry(reading: r, origin: origin)
        if let origin { byBlock[origin.blockHash, default: []].append((r.intervalStart, r.asset)) }
        if let i = lastReported.index(forKey: r.asset) {
            if lastReported.values[i] < r.intervalStart { lastReported.values[i] = r.intervalStart }
        } else {
            lastReported[r.asset] = r.intervalStart
        }
        if newestInterval.map({ r.intervalStart > $0 }) ?? true {
            newestInterval = r.intervalStart
            prune()
        }
        return .recorded
    }

    /// Takes back every reading an orphaned block carried. Returns the intervals touched.
    @discardableResult
    public mutating func retract(block: Bytes32) -> Set<UInt64> {
        guard let items = byBlock.removeValue(forKey: block) else { return [] }
        var touched = Set<UInt64>()
        for (interval, asset) in items {
            if intervals[interval]?[asset]?.origin?.blockHash == block {
                intervals[interval]?[asset] = nil
                touched.insert(interval)
            }
            if var list = shadowed[interval] {
                list.removeAll { $0.origin?.blockHash == block }
                shadowed[interval] = list.isEmpty ? nil : list
            }
        }
        return touched
    }

    public func reading(_ asset: AssetID, _ interval: UInt64) -> MeterReading? {
        intervals[interval]?[asset]?.reading
    }

    public func entry(_ asset: AssetID, _ interval: UInt64) -> Entry? { intervals[interval]?[asset] }

    public func readings(in interval: UInt64) -> [AssetID: Entry] { intervals[interval] ?? [:] }

    private mutating func prune() {
        guard intervals.count > retainIntervals else { return }
        let keep = Set(intervals.keys.sorted().suffix(retainIntervals))
        for k in intervals.keys where !keep.contains(k) { intervals[k] = nil }
        for k in shadowed.keys where !keep.contains(k) { shadowed[k] = nil }
        for (block, items) in byBlock {
            let rest = items.filter { keep.contains($0.interval) }
            byBlock[block] = rest.isEmpty ? nil : rest
        }
    }
}
