/// The energy balance of one segment (an asset and its children) in one interval.
///
/// `residual = netIn(a) − Σ netIn(children)`, with `netIn := 0` for a root,
/// so generators (negative netIn) balance the transmission root by the same
/// rule. Technical loss is not subtracted here: what loss to expect is
/// learned by the detectors (Alerts), not assumed.
public struct SegmentBalance: Sendable, Equatable {
    public var segment: AssetID
    public var interval: UInt64
    /// Net energy in through the segment's own meter (0 for a root).
    public var netInWh: Int64
    /// The segment's own meter: energy imported from and exported to its parent (0 for a root).
    public var importWh: Int64 = 0
    public var exportWh: Int64 = 0
    /// Σ netIn of the children that reported: energy delivered downstream.
    public var childrenNetInWh: Int64
    /// Energy flowing through the segment: the larger of what came in and what went out to children.
    public var throughputWh: Int64
    public var childrenReporting: Int
    public var childrenExpected: Int
    /// False when the segment's own meter or a child meter is missing, or a root has no
    /// metered source exporting into it: such a balance is incomplete, never evidence of theft.
    public var complete: Bool

    public var residualWh: Int64 { netInWh - childrenNetInWh }

    public init(segment: AssetID, interval: UInt64, netInWh: Int64, childrenNetInWh: Int64, throughputWh: Int64,
                childrenReporting: Int, childrenExpected: Int, complete: Bool) {
        self.segment = segment; self.interval = interval; self.netInWh = netInWh; self.childrenNetInWh = childrenNetInWh
        self.throughputWh = throughputWh; self.childrenReporting = childrenReporting
        self.childrenExpected = childrenExpected; self.complete = complete
    }
}

extension IntervalLedger {
    /// The balance of `segment` in `interval`, or nil when nothing is known.
    public func balance(of segment: AssetID, in interval: UInt64, topology: Topology) -> SegmentBalance? {
        guard let asset = topology[segment] else { return nil }
        let kids = topology.children(of: segment, in: interval)
        guard !kids.isEmpty else { return nil }
        let readings = intervals[interval] ?? [:]
        let own = readings[segment]?.reading
        if own == nil && !asset.isRoot { return SegmentBalance(segment: segment, interval: interval, netInWh: 0, childrenNetInWh: 0, throughputWh: 0, childrenReporting: 0, childrenExpected: kids.count, complete: false) }
        var sum: Int64 = 0
        var inflow: Int64 = 0
        var outflow: Int64 = 0
        var reporting = 0
        for c in kids {
            guard let r = readings[c]?.reading else { continue }
            reporting += 1
            sum &+= r.netInWh
            inflow &+= Int64(clamping: r.exportWh)
            outflow &+= Int64(clamping: r.importWh)
        }
        let netIn = asset.isRoot ? 0 : own!.netInWh
        if let own, !asset.isRoot {
            inflow &+= Int64(clamping: own.importWh)
            outflow &+= Int64(clamping: own.exportWh)
        }
        var b = SegmentBalance(segment: segment, interval: interval, netInWh: netIn, childrenNetInWh: sum,
                               throughputWh: max(inflow, outflow), childrenReporting: reporting,
                               childrenExpected: kids.count, complete: reporting == kids.count)
        // A root has no meter of its own: it balances only through the sources below it (generators
        // exporting). With no metered export the energy its children take came in unmetered, so the
        // residual is their consumption, not a loss: never evidence of theft.
        if asset.isRoot && inflow <= 0 { b.complete = false }
        if let own, !asset.isRoot {
            b.importWh = Int64(clamping: own.importWh)
            b.exportWh = Int64(clamping: own.exportWh)
        }
        return b
    }

    /// Import/export totals of every meter of each stage in `interval`.
    public func stageTotals(in interval: UInt64, topology: Topology) -> [Stage: (importWh: Int64, exportWh: Int64, reporting: Int)] {
        var out: [Stage: (importWh: Int64, exportWh: Int64, reporting: Int)] = [:]
        for (id, e) in intervals[interval] ?? [:] {
            guard let stage = topology.stage(of: id) else { continue }
            var t = out[stage] ?? (0, 0, 0)
            t.importWh &+= Int64(clamping: e.reading.importWh)
            t.exportWh &+= Int64(clamping: e.reading.exportWh)
            t.reporting += 1
            out[stage] = t
        }
        return out
    }
}
