import ChainCore
import GridCore

/// What an asset is in the physical model (finer than its schema stage).
enum AssetKind: Sendable, Equatable {
    case root, thermal, wind, solarFarm, substation, feeder, transformer, consumer
}

/// One simulated asset with its fixed (per-seed) physical parameters.
struct SimAsset: Sendable {
    let index: Int
    let code: String
    let id: AssetID
    var name: String
    let stage: Stage
    let kind: AssetKind
    /// Index of the parent asset; nil for the root.
    let parent: Int?
    var children: [Int] = []
    let ratedKw: UInt32
    /// Fixed relative error of this asset's boundary meter, in [-0.5 %, +0.5 %].
    let meterBias: Double
    /// Segment loss model: `noLoad * Er + loadLoss * E² / Er`, with `Er` the
    /// energy at rated power over one interval and `E` the energy through it.
    var noLoadFraction: Double = 0
    var loadLossAtRated: Double = 0
    /// Consumers only: habits, PV, EV, battery.
    var profile = ConsumerProfile()
    /// Generators only: this unit's share of its fleet's weather (±20 %, fixed).
    var siteFactor = 1.0

    /// Rooftop PV (kWp) of a consumer; 0 for households and every other asset.
    var pvKwp: Double { profile.pvKwp }

    var registration: AssetRegistration {
        AssetRegistration(asset: id, parent: parentID, stage: stage, ratedKw: ratedKw, name: name)
    }
    /// Filled in by the topology (ids of parents are needed for registration).
    var parentID: AssetID = .zero
}

/// The synthetic grid: transmission root, generators, substations, feeders,
/// transformers and consumers, deterministic from the seed.
///
/// With the standard layout the tree is derived from the number of consumers:
/// transformers of 50–150 consumers each (random per transformer, mode 100; a grid of
/// at most 150 consumers has a single transformer), feeders of ~12 transformers, substations
/// of ~6 feeders (at least 2 feeders when there are 2 transformers), one grid supply point;
/// thermal units, wind farms and PV farms sized to the load. See docs/architecture.md.
struct GridTopology: Sendable {
    private(set) var assets: [SimAsset] = []
    private(set) var root = 0
    private(set) var generators: [Int] = []
    private(set) var substations: [Int] = []
    private(set) var feeders: [Int] = []
    private(set) var transformers: [Int] = []
    private(set) var consumers: [Int] = []
    private(set) var indexByID: [AssetID: Int] = [:]

    /// How many substations, feeders and transformers the tree has.
    struct Layout: Sendable, Equatable {
        var substations: Int
        var feedersPerSubstation: Int
        var transformersPerFeeder: Int
        /// True: the tree is derived from the number of consumers and the seed
        /// (`GridTopology.plan`); the three counts above are then unused.
        var derived = false
        init(substations: Int, feedersPerSubstation: Int, transformersPerFeeder: Int) {
            self.substations = max(1, substations); self.feedersPerSubstation = max(1, feedersPerSubstation)
            self.transformersPerFeeder = max(1, transformersPerFeeder)
        }
        /// The demo's grid and every `--consumers N`: derived from N (transformers of 50–150 consumers).
        static let standard: Layout = {
            var l = Layout(substations: 1, feedersPerSubstation: 1, transformersPerFeeder: 1)
            l.derived = true
            return l
        }()
        /// One substation, one feeder, one transformer: a single LV feeder (evaluation).
        static let singleTransformer = Layout(substations: 1, feedersPerSubstation: 1, transformersPerFeeder: 1)
        /// Transformers of a fixed layout (a derived one depends on the number of consumers).
        var transformers: Int { substations * feedersPerSubstation * transformersPerFeeder }
    }
    let layout: Layout

    /// The shape of the tree: consumers per transformer, transformers per feeder, feeders per substation.
    struct Plan: Sendable, Equatable {
        var consumersPerTransformer: [Int]
        var transformersPerFeeder: [Int]
        var feedersPerSubstation: [Int]
    }

    /// Transformer size bounds of the derived layout.
    static let transformerSizes = 50...150

    static let streets = [
        "Elm St", "Oak Ave", "Mill Rd", "Birch Ln", "Station Rd", "Church St", "Harbour Way", "Linden Pl",
        "Quarry Rd", "Willow Ct", "Market Sq", "Cedar Dr", "Bridge St", "Orchard Ln", "Canal Walk",
        "Meadow Rd", "Hill Top", "Park Row", "Foundry Ln", "Ash Grove",
    ]
    static let substationNames = ["Riverside", "Kingsbury", "Northfield", "Eastgate", "Southbrook", "Westmoor",
                                  "Ashford", "Highcliff", "Lowmead", "Stonebridge"]
    static let feederNames = ["North", "East", "South", "West"]

    /// The tree's shape for `consumers` under `layout`, from the topology's random stream.
    static func plan(consumers n: Int, layout: Layout, rng: inout SplitMix64) -> Plan {
        let n = max(n, 1)
        guard layout.derived else {
            // Fixed counts: consumers spread about equally over the transformers (±15 %).
            let t = layout.transformers
            let weights = (0..<t).map { _ in rng.uniform(0.85, 1.15) }
            return Plan(consumersPerTransformer: apportion(n, weights: weights),
                        transformersPerFeeder: Array(repeating: layout.transformersPerFeeder,
                                                     count: layout.substations * layout.feedersPerSubstation),
                        feedersPerSubstation: Array(repeating: layout.feedersPerSubstation, count: layout.substations))
        }
        // Transformers: sizes drawn 50…150 (triangular, mode 100) until at most 150 are left,
        // never leaving fewer than 50; the rest is the last transformer. Grids of ≤ 150 consumers
        // have one transformer (below 50 only when the whole grid is that small).
        var sizes: [Int] = []
        sizes.reserveCapacity(n / 90 + 1)
        var left = n
        while left > transformerSizes.upperBound {
            var s = 50 + Int((50 * (rng.unit() + rng.unit())).rounded())
            if left - s < transformerSizes.lowerBound { s = left - transformerSizes.lowerBound }
            sizes.append(s)
            left -= s
        }
        sizes.append(left)
        let t = sizes.count
        let f = max(min(t, 2), Int((Double(t) / 12).rounded()))
        let s = max(1, Int((Double(f) / 6).rounded()))
        return Plan(consumersPerTransformer: sizes,
                    transformersPerFeeder: apportion(t, weights: (0..<f).map { _ in rng.uniform(0.6, 1.4) }),
                    feedersPerSubstation: apportion(f, weights: (0..<s).map { _ in rng.uniform(0.6, 1.4) }))
    }

    /// Splits `total` into `weights.count` parts proportional to the weights, each at least 1
    /// (largest remainder; `total` must be at least the number of parts).
    static func apportion(_ total: Int, weights: [Double]) -> [Int] {
        let m = weights.count
        guard m > 0 else { return [] }
        guard total > m else { return Array(repeating: total >= m ? 1 : 0, count: m) }
        let sum = weights.reduce(0, +)
        let spare = Double(total - m)  // beyond the one each part gets
        let exact = weights.map { spare * $0 / sum }
        var parts = exact.map { 1 + Int($0) }
        var short = total - parts.reduce(0, +)
        let order = exact.indices.sorted { exact[$0] - exact[$0].rounded(.down) > exact[$1] - exact[$1].rounded(.down) }
        var i = 0
        while short > 0 { parts[order[i % m]] += 1; short -= 1; i += 1 }
        return parts
    }

    init(config: SimulationConfig, layout: Layout = .standard) {
        self.layout = layout
        var rng = SplitMix64(seed: config.seed, stream: RandomDomain.topology.rawValue)
        func bias() -> Double { rng.uniform(-0.005, 0.005) }

        let plan = Self.plan(consumers: config.consumers, layout: layout, rng: &rng)
        let nConsumers = plan.consumersPerTransformer.reduce(0, +)
        let nAssets = nConsumers + plan.consumersPerTransformer.count + plan.transformersPerFeeder.count
            + plan.feedersPerSubstation.count + 64
        assets.reserveCapacity(nAssets)
        indexByID.reserveCapacity(nAssets)
        consumers.reserveCapacity(nConsumers)

        func add(_ code: String, _ name: String, _ stage: Stage, _ kind: AssetKind, parent: Int?, ratedKw: UInt32,
                 noLoad: Double = 0, loadLoss: Double = 0) -> Int {
            let i = assets.count
            var a = SimAsset(index: i, code: code, id: .asset(code: code), name: name, stage: stage, kind: kind,
                             parent: parent, ratedKw: ratedKw, meterBias: bias(),
                             noLoadFraction: noLoad, loadLossAtRated: loadLoss)
            if let p = parent {
                a.parentID = assets[p].id
                assets[p].children.append(i)
            }
            assets.append(a)
            indexByID[a.id] = i
            return i
        }

        // Size the upstream equipment from the expected load (~1 kW mean, ~2.2 kW peak per household).
        let peakKw = Double(nConsumers) * 2.2
        root = add("TR-ROOT", "Grid supply point TR-ROOT 380/110 kV", .transmission, .root, parent: nil,
                   ratedKw: UInt32(peakKw * 2), noLoad: 0.0005, loadLoss: 0.02)
        // Generation: thermal units for 130 % of the peak, wind for 0.6 kW and PV farms for
        // 0.4 kWp per consumer, in units of up to ~250 MW / 60 MW / 40 MW.
        let nThermal = max(1, Int((peakKw * 1.3 / 1_000_000).rounded(.up)))
        let nWind = max(2, Int((Double(nConsumers) * 0.6 / 60_000).rounded(.up)))
        let nSolar = max(2, Int((Double(nConsumers) * 0.4 / 40_000).rounded(.up)))
        let windNames = ["Hollow Ridge", "Gull Point", "High Moor", "Saltmarsh", "Crane Hill"]
        let solarNames = ["Sunfield", "Brightwater", "Larkfield", "Goldacre", "Fernlea"]
        var genNo = 0
        func generator(_ kind: AssetKind, _ type: String, _ site: String, ratedKw: Double) {
            genNo += 1
            let g = add("GEN-\(genNo)", "\(type) GEN-\(genNo) \(site)", .generation, kind, parent: root,
                        ratedKw: UInt32(max(ratedKw, 1)))
            assets[g].siteFactor = kind == .thermal ? 1 : rng.uniform(0.8, 1.2)
            generators.append(g)
        }
        func site(_ names: [String], _ i: Int) -> String {
            names[i % names.count] + (i < names.count ? "" : " \(i / names.count + 1)")
        }
        for i in 0..<nThermal {
            generator(.thermal, "Thermal plant", i == 0 ? "Northgate" : "Northgate unit \(i + 1)", ratedKw: peakKw * 1.3 / Double(nThermal))
        }
        for i in 0..<nWind { generator(.wind, "Wind farm", site(windNames, i), ratedKw: Double(nConsumers) * 0.6 / Double(nWind)) }
        for i in 0..<nSolar { generator(.solarFarm, "Solar farm", site(solarNames, i), ratedKw: Double(nConsumers) * 0.4 / Double(nSolar)) }

        let nFeeders = plan.transformersPerFeeder.count
        var txNumber = 0
        var feederNumber = 0
        var consumerNumber = 0
        for (s, feederCount) in plan.feedersPerSubstation.enumerated() {
            let ssCode = "SS-\(s + 1)"
            let base = Self.substationNames[s % Self.substationNames.count]
            let ssName = s < Self.substationNames.count ? base : "\(base) \(s / Self.substationNames.count + 1)"
            let ss = add(ssCode, "Substation \(ssCode) \(ssName) 110/20 kV", .substation,
                         .substation, parent: root, ratedKw: UInt32(peakKw * Double(feederCount) / Double(nFeeders) * 1.6),
                         noLoad: 0.001, loadLoss: 0.015)
            substations.append(ss)
            for _ in 0..<feederCount {
                let txCount = plan.transformersPerFeeder[feederNumber]
                feederNumber += 1
                let fCode = "FDR-\(feederNumber)"
                let fConsumers = plan.consumersPerTransformer[txNumber..<(txNumber + txCount)].reduce(0, +)
                let fdr = add(fCode, "Feeder \(fCode) \(Self.feederNames[(feederNumber - 1) % Self.feederNames.count]) 20 kV", .feeder, .feeder,
                              parent: ss, ratedKw: UInt32(max(100, Double(fConsumers) * 2.2 * 1.5)),
                              loadLoss: 0.02)
                feeders.append(fdr)
                for _ in 0..<txCount {
                    let n = plan.consumersPerTransformer[txNumber]
                    txNumber += 1
                    let street = Self.streets[(txNumber - 1) % Self.streets.count]
                    let tCode = "TX-" + Self.pad(txNumber, 4)
                    // Rated ~4 kW per connected household: typical 250–630 kVA units for 50–150 homes.
                    let rated = UInt32(max(50, (Double(n) * 4.0 / 10).rounded() * 10))
                    let tx = add(tCode, "Transformer \(tCode) \(street)", .transformer, .transformer, parent: fdr,
                                 ratedKw: rated, noLoad: 0.0035, loadLoss: 0.06)
                    transformers.append(tx)
                    for h in 0..<n {
                        consumerNumber += 1
                        let cCode = "C-" + Self.pad(consumerNumber, 5)
                        let p = ConsumerProfile.draw(&rng)
                        var extras: [String] = []
                        if p.pvKwp > 0 { extras.append("PV \(p.pvKwp) kWp") }
                        if p.batteryKwh > 0 { extras.append("battery \(p.batteryKwh) kWh") }
                        if p.evKw > 0 { extras.append("EV \(p.evKw) kW") }
                        let kind = p.pvKwp > 0 ? "Prosumer" : "Household"
                        let name = "\(kind) \(cCode) \(2 * h + 1) \(street)" + (extras.isEmpty ? "" : " (" + extras.joined(separator: ", ") + ")")
                        let rated = (p.pvKwp > 0 ? 17 : 11) + UInt32(p.evKw.rounded(.up))
                        let c = add(cCode, name, .consumer, .consumer, parent: tx, ratedKw: rated)
                        assets[c].profile = p
                        consumers.append(c)
                    }
                }
            }
        }
        if config.hostileNames { applyHostileNames(seed: config.seed) }
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    func index(of id: AssetID) -> Int? { indexByID[id] }

    /// Registration order: parents before children (the asset list is built that way).
    var registrations: [AssetRegistration] { assets.map(\.registration) }

    /// Names that try to attack a terminal: the dashboard must show them safely.
    private mutating func applyHostileNames(seed: UInt64) {
        var rng = SplitMix64(seed: seed, stream: RandomDomain.topology.rawValue, 99)
        let long = "Transformer " + String(repeating: "VERY-LONG-NAME-", count: 600) + "end"
        let hostile: [(Int, String)] = [
            (consumers[rng.below(consumers.count)],
             "Household \u{1B}[2J\u{1B}[H\u{1B}]0;owned\u{07}\u{1B}[31mRED ALERT\u{1B}[0m"),
            (consumers[rng.below(consumers.count)], "Prosumer \u{202E}gnissim retem\u{202C} \u{2066}bidi\u{2069}"),
            (consumers[rng.below(consumers.count)], "Household C0\u{00}\u{08}\u{08}\u{0D}\u{7F} C1\u{9B}6n\u{85}\u{9D}0;x\u{9C}"),
            (transformers[rng.below(transformers.count)], long),
            (feeders[rng.below(feeders.count)], "Feeder \u{1B}P1$r0m\u{1B}\\ tab\tnewline\nzero\u{200B}width"),
        ]
        for (i, name) in hostile { assets[i].name = name }
    }
}
