import ChainCore
import GridCore

/// Placing a scenario's incidents on the grid: targets named or picked by seed, times as interval indices.
extension GridModel {
    /// Places `specs` in order. Picked targets avoid assets and transformers earlier incidents use
    /// (while there are others), so several incidents show on different segments. A spec that cannot
    /// be placed is reported in `problems` and left out (the CLI refuses to start with any).
    static func place(_ specs: [IncidentSpec], config: SimulationConfig,
                      topology: GridTopology) -> (incidents: [ResolvedIncident], problems: [IncidentError]) {
        var placed: [ResolvedIncident] = []
        var problems: [IncidentError] = []
        for (i, spec) in specs.enumerated() {
            do {
                placed.append(try place(spec, ordinal: i, config: config, topology: topology, earlier: placed))
            } catch {
                problems.append(error)
            }
        }
        return (placed, problems)
    }

    /// Finds an asset by code (`C-00042`), id (`0x…`) or exact name.
    static func findAsset(_ text: String, in topology: GridTopology) -> Int? {
        if let i = topology.index(of: .asset(code: text)) { return i }
        if text.hasPrefix("0x"), let id = try? AssetID(hex: text), let i = topology.index(of: id) { return i }
        return topology.assets.firstIndex { $0.name == text }
    }

    /// The interval index (from the epoch) an incident time stands for.
    static func intervalIndex(_ t: IncidentTime, config: SimulationConfig) -> Int {
        let live = config.historyIntervals
        switch t {
        case .interval(let k): return live + k
        case .after(let d): return live + SimulationConfig.firstCompletion(after: d, every: config.intervalEvery)
        case .before(let s):
            let len = UInt64(max(config.intervalSeconds, 1))
            return live - Int((s + len - 1) / len)
        }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    static func place(_ spec: IncidentSpec, ordinal i: Int, config: SimulationConfig, topology: GridTopology,
                      earlier: [ResolvedIncident]) throws(IncidentError) -> ResolvedIncident {
        func fail(_ m: String) -> IncidentError { IncidentError(incident: i + 1, message: m) }
        let assets = topology.assets
        let kind = spec.kind
        // Incident 0 draws from the stream the scripted theft always used, so the default
        // demo's thief is also the first picked household of a scenario.
        var rng = SplitMix64(seed: config.seed, stream: RandomDomain.theft.rawValue, UInt64(i))
        let usedAssets = Set(earlier.map(\.asset))
        let usedSegments = Set(earlier.map(\.segment))

        var txChoices: [Int]
        if let t = spec.transformer {
            guard let x = findAsset(t, in: topology), assets[x].kind == .transformer else {
                throw fail("no transformer \"\(t)\" on this grid (e.g. TX-0001…TX-\(GridTopology.pad(topology.transformers.count, 4)))")
            }
            txChoices = [x]
        } else {
            let unused = topology.transformers.filter { !usedSegments.contains($0) }
            txChoices = unused.isEmpty ? topology.transformers : unused
        }

        let asset: Int
        if let t = spec.target {
            guard let x = findAsset(t, in: topology) else {
                throw fail("no asset \"\(t)\" on this grid (give a code such as C-00042 or TX-0003, an id or an exact name)")
            }
            let a = assets[x]
            switch kind {
            case .hookup:
                guard a.kind == .transformer else { throw fail("a line hook-up targets a transformer (LV segment), not \(a.code)") }
            case .silent, .duplicate:
                guard x != topology.root else { throw fail("\(a.code) has no meter") }
            default:
                guard a.kind == .consumer else { throw fail("\(kind.rawValue) targets a consumer's meter, not \(a.code)") }
            }
            asset = x
        } else if kind == .hookup {
            asset = txChoices[rng.below(txChoices.count)]
        } else {
            let wanted: (Int) -> Bool = kind == .overclaim ? { assets[$0].pvKwp > 0 } : { assets[$0].pvKwp == 0 }
            if kind == .overclaim {
                let sellers = txChoices.filter { assets[$0].children.contains { wanted($0) && !usedAssets.contains($0) } }
                let fallback = topology.transformers.filter { assets[$0].children.contains { wanted($0) && !usedAssets.contains($0) } }
                txChoices = sellers.isEmpty ? fallback : sellers
                guard !txChoices.isEmpty else { throw fail("no prosumer left to over-claim a transfer") }
            }
            let tx = txChoices[rng.below(txChoices.count)]
            let kids = assets[tx].children.filter { !usedAssets.contains($0) }
            let preferred = kids.filter(wanted)
            let pool = preferred.isEmpty ? kids : preferred
            guard !pool.isEmpty else { throw fail("no consumer left under \(assets[tx].code)") }
            asset = pool[rng.below(pool.count)]
        }
        if kind.tampersMeter, let other = earlier.first(where: { $0.kind.tampersMeter && $0.asset == asset }) {
            throw fail("\(assets[asset].code)'s meter is already tampered with by incident \(other.ordinal + 1)")
        }
        let segment = kind == .hookup ? asset : (assets[asset].parent ?? asset)

        var counterparty: Int?
        if kind == .overclaim {
            let neighbours = assets[segment].children.filter { $0 != asset && !usedAssets.contains($0) }
            let households = neighbours.filter { assets[$0].pvKwp == 0 }
            let pool = households.isEmpty ? (neighbours.isEmpty ? topology.consumers.filter { $0 != asset } : neighbours) : households
            guard !pool.isEmpty else { throw fail("no buyer for the over-claimed transfer") }
            counterparty = pool[rng.below(pool.count)]
        }

        let from = spec.start.map { intervalIndex($0, config: config) } ?? config.historyIntervals + config.theftIntervalIndex
        guard from >= 0 else {
            throw fail("start \(spec.start.map(String.init(describing:)) ?? "") is \(-from) intervals before the first history interval (give more --history days or a later start)")
        }
        // A duplicate reading and an over-claimed transfer are single events unless an end is given.
        let to = spec.end.map { intervalIndex($0, config: config) } ?? (kind == .duplicate || kind == .overclaim ? from + 1 : nil)
        if let to, to <= from { throw fail("end \(spec.end!) is not after start (interval \(to) ≤ \(from))") }

        var parameters: [String: Double] = [:]
        for p in kind.parameters { parameters[p.key] = spec.parameters[p.key] ?? p.defaultValue }
        let action: IncidentAction
        switch kind {
        case .h1: action = .theft(.h1(alpha: spec.value("alpha")))
        case .h2: action = .theft(.h2(minHours: spec.value("min_hours"), maxHours: spec.value("max_hours")))
        case .h3: action = .theft(.h3(lo: spec.value("lo"), hi: spec.value("hi")))
        case .h4: action = .theft(.h4(lo: spec.value("lo"), hi: spec.value("hi")))
        case .h5: action = .theft(.h5)
        case .h6: action = .theft(.h6)
        case .bypass: action = .theft(.bypass)
        case .unmeteredLoad:
            let seeded = (rng.uniform(3, 5) * 10).rounded() / 10  // the scripted theft's hook-up size
            let kw = spec.parameters["kw"] ?? seeded
            parameters["kw"] = kw
            action = .theft(.unmeteredLoad(kw: kw, meterFactor: spec.value("meter_factor")))
        case .hookup: action = .lineHookup(kw: spec.value("kw"))
        case .overclaim: action = .transferOverclaim(factor: spec.value("factor"), extraWh: spec.value("extra_wh"))
        case .silent: action = .silentMeter
        case .duplicate: action = .duplicateReading(factor: spec.value("factor"))
        }
        return ResolvedIncident(ordinal: i, kind: kind, action: action, asset: asset, segment: segment,
                                counterparty: counterparty, fromIndex: from, toIndex: to,
                                parameters: parameters)
    }
}

extension ResolvedIncident {
    /// The scripted theft (`TheftSelection.scripted` or `.attack`) as incident 0.
    init(scripted t: TheftScenario) {
        var parameters: [String: Double] = [:]
        switch t.attack {
        case .unmeteredLoad(let kw, let f): parameters = ["kw": kw, "meter_factor": f]
        case .h1(let a): parameters = ["alpha": a]
        case .h2(let lo, let hi): parameters = ["min_hours": lo, "max_hours": hi]
        case .h3(let lo, let hi), .h4(let lo, let hi): parameters = ["lo": lo, "hi": hi]
        case .h5, .h6, .bypass: break
        }
        self.init(ordinal: 0, kind: IncidentKind(rawValue: t.attack.code) ?? .unmeteredLoad, action: .theft(t.attack),
                  asset: t.consumer, segment: t.transformer, counterparty: nil, fromIndex: t.fromIndex, toIndex: nil,
                  parameters: parameters)
    }
}
