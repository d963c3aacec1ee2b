import ChainCore

/// An asset as registered on chain.
public struct Asset: Sendable, Equatable {
    public var id: AssetID
    public var parent: AssetID
    public var stage: Stage
    public var ratedKw: UInt32
    /// Untrusted text from the chain.
    public var name: String
    public var registeredIn: EventOrigin?

    public var isRoot: Bool { parent.isZero }
}

/// The grid's tree, built from `AssetRegistered` events.
///
/// A later registration of the same asset moves it (re-parenting after
/// switching). Children are kept in registration order so views are stable.
public struct Topology: Sendable {
    public private(set) var assets: [AssetID: Asset] = [:]
    public private(set) var children: [AssetID: [AssetID]] = [:]
    public private(set) var roots: [AssetID] = []
    public private(set) var countByStage: [Stage: Int] = [:]
    /// Recent changes of membership, so an interval is balanced with the tree it had:
    /// `joined[p]` lists assets that became children of `p` from interval `since` on,
    /// `left[p]` assets that stopped being children of `p` from `since` on.
    /// Only registrations given an `effectiveFrom` are recorded; `forgetHistory` drops
    /// what no unsettled interval needs any more.
    private var joined: [AssetID: [(asset: AssetID, since: UInt64)]] = [:]
    private var left: [AssetID: [(asset: AssetID, since: UInt64)]] = [:]

    public init() {}

    public var count: Int { assets.count }

    public subscript(id: AssetID) -> Asset? { assets[id] }

    /// The stage of an asset, without copying the asset (hot path of the per-stage totals).
    @inline(__always)
    public func stage(of id: AssetID) -> Stage? {
        guard let i = assets.index(forKey: id) else { return nil }
        return assets.values[i].stage
    }

    /// Registers or moves an asset. Returns false when the registration would
    /// create a cycle (an asset under its own descendant): such a move is refused.
    ///
    /// `effectiveFrom` (an interval start) makes the change count from that interval on:
    /// `children(of:in:)` of an earlier interval still sees the old tree (re-parenting is
    /// honoured from the interval it happens, and a new meter is not "missing" before it existed).
    @discardableResult
    public mutating func register(_ r: AssetRegistration, origin: EventOrigin? = nil, effectiveFrom: UInt64? = nil) -> Bool {
        if r.asset == r.parent { return false }
        if !r.parent.isZero && isAncestor(r.asset, of: r.parent) { return false }
        if let old = assets[r.asset] {
            detach(old)
            countByStage[old.stage, default: 0] -= 1
            if let since = effectiveFrom, old.parent != r.parent, !old.parent.isZero {
                left[old.parent, default: []].append((r.asset, since))
            }
        }
        if let since = effectiveFrom, !r.parent.isZero, assets[r.asset]?.parent != r.parent {
            joined[r.parent, default: []].append((r.asset, since))
        }
        let asset = Asset(id: r.asset, parent: r.parent, stage: r.stage, ratedKw: r.ratedKw, name: r.name, registeredIn: origin)
        assets[r.asset] = asset
        countByStage[r.stage, default: 0] += 1
        if r.parent.isZero { roots.append(r.asset) } else { children[r.parent, default: []].append(r.asset) }
        return true
    }

    /// Removes a registration (its block was orphaned by a reorg).
    public mutating func unregister(_ id: AssetID) {
        guard let old = assets.removeValue(forKey: id) else { return }
        detach(old)
        countByStage[old.stage, default: 0] -= 1
    }

    private mutating func detach(_ a: Asset) {
        if a.parent.isZero { roots.removeAll { $0 == a.id } } else { children[a.parent]?.removeAll { $0 == a.id } }
    }

    /// True when `a` is `b` or lies on the path from `b` to its root.
    public func isAncestor(_ a: AssetID, of b: AssetID) -> Bool {
        var cur: AssetID? = b
        var steps = 0
        while let c = cur, steps <= assets.count {
            if c == a { return true }
            cur = assets[c].flatMap { $0.parent.isZero ? nil : $0.parent }
            steps += 1
        }
        return false
    }

    /// Root first, the asset last. Unknown parents end the path.
    public func path(to id: AssetID) -> [Asset] {
        var out: [Asset] = []
        var cur = assets[id]
        while let a = cur, out.count <= assets.count {
            out.append(a)
            cur = a.parent.isZero ? nil : assets[a.parent]
        }
        return out.reversed()
    }

    /// The nearest ancestor (or the asset itself) of the given stage.
    public func ancestor(of id: AssetID, at stage: Stage) -> Asset? {
        path(to: id).last { $0.stage == stage }
    }

    public func children(of id: AssetID) -> [AssetID] { children[id] ?? [] }

    /// The children `id` had in `interval`: the current ones, less those that joined
    /// later, plus those that left later.
    public func children(of id: AssetID, in interval: UInt64) -> [AssetID] {
        let now = children[id] ?? []
        let j = joined[id], l = left[id]
        if j == nil && l == nil { return now }
        var later = Set<AssetID>()
        for m in j ?? [] where m.since > interval { later.insert(m.asset) }
        var out = later.isEmpty ? now : now.filter { !later.contains($0) }
        for m in l ?? [] where m.since > interval && !out.contains(m.asset) { out.append(m.asset) }
        return out
    }

    /// Drops membership history up to `interval` (settled: never balanced again).
    public mutating func forgetHistory(through interval: UInt64) {
        if joined.isEmpty && left.isEmpty { return }
        func prune(_ d: inout [AssetID: [(asset: AssetID, since: UInt64)]]) {
            for (k, v) in d {
                let rest = v.filter { $0.since > interval }
                if rest.count != v.count { d[k] = rest.isEmpty ? nil : rest }
            }
        }
        prune(&joined)
        prune(&left)
    }

    /// True while some registration still has to be honoured for older intervals.
    public var hasPendingHistory: Bool { !joined.isEmpty || !left.isEmpty }

    /// Assets that have children: the segments whose balance can be checked.
    public var segments: [AssetID] { children.compactMap { $0.value.isEmpty ? nil : $0.key } }
}
