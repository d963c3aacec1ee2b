import Synchronization

/// Which block heights the client has fully examined: every grid log of the block was fetched
/// (by range during a backfill, by hash live) and the block's events were emitted, or it was
/// found to hold none. An audit of a range is complete only if every height in it is covered;
/// `missing(in:)` names the rest. Ranges are kept merged, so the memory is tiny however long
/// the chain.
public struct BlockCoverage: Sendable, Equatable {
    /// Disjoint, ascending, non-adjacent.
    public private(set) var ranges: [ClosedRange<UInt64>] = []

    public init() {}

    public mutating func insert(_ r: ClosedRange<UInt64>) {
        var lo = r.lowerBound, hi = r.upperBound
        var out: [ClosedRange<UInt64>] = []
        out.reserveCapacity(ranges.count + 1)
        var i = 0
        // Entirely below, not adjacent.
        while i < ranges.count, ranges[i].upperBound < lo, lo - ranges[i].upperBound > 1 {
            out.append(ranges[i])
            i += 1
        }
        // Overlapping or adjacent: merged.
        while i < ranges.count, ranges[i].lowerBound <= hi || ranges[i].lowerBound - hi == 1 {
            lo = min(lo, ranges[i].lowerBound)
            hi = max(hi, ranges[i].upperBound)
            i += 1
        }
        out.append(lo...hi)
        out.append(contentsOf: ranges[i...])
        ranges = out
    }

    public mutating func insert(_ n: UInt64) { insert(n...n) }

    public func contains(_ n: UInt64) -> Bool { ranges.contains { $0.contains(n) } }

    /// The heights of `r` not covered, as ranges.
    public func missing(in r: ClosedRange<UInt64>) -> [ClosedRange<UInt64>] {
        var out: [ClosedRange<UInt64>] = []
        var next = r.lowerBound
        var done = false
        for x in ranges where !done {
            if x.upperBound < next { continue }
            if x.lowerBound > r.upperBound { break }
            if x.lowerBound > next { out.append(next...(x.lowerBound - 1)) }
            if x.upperBound >= r.upperBound { done = true } else { next = x.upperBound + 1 }
        }
        if !done { out.append(next...r.upperBound) }
        return out
    }

    /// `4521-9310, 9400` (at most `limit` ranges, then "and N more").
    public static func describe(_ ranges: [ClosedRange<UInt64>], limit: Int = 8) -> String {
        var parts = ranges.prefix(limit).map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
        if ranges.count > limit { parts.append("and \(ranges.count - limit) more ranges") }
        return parts.joined(separator: ", ")
    }

    /// Blocks in the ranges.
    public static func count(_ ranges: [ClosedRange<UInt64>]) -> UInt64 {
        ranges.reduce(0) { $0 &+ ($1.upperBound - $1.lowerBound &+ 1) }
    }
}

/// The client's coverage, shared with whoever reads it while the client runs (an audit).
public final class CoverageRecord: Sendable {
    private let state = Mutex(BlockCoverage())
    public init() {}
    public func insert(_ r: ClosedRange<UInt64>) { state.withLock { $0.insert(r) } }
    public var value: BlockCoverage { state.withLock { $0 } }
}
