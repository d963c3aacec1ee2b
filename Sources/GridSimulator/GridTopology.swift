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
    // Consumers only.
    var loadScale: Double = 0
    var shiftHours: Double = 0
    var pvKwp: Double = 0
    var spikiness: Double = 0

    var registration: AssetRegistration {
        AssetRegistration(asset: id, parent: parentID, stage: stage, ratedKw: ratedKw, name: name)
    }
    /// Filled in by the topology (ids of parents are needed for registration).
    var parentID: AssetID = .zero
}

/// The synthetic grid: transmission root, generators, substations, feeders,
/// transformers and consumers, deterministic from the seed.
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
        init(substations: Int, feedersPerSubstation: Int, transformersPerFeeder: Int) {
            self.substations = max(1, substations); self.feedersPerSubstation = max(1, feedersPerSubstation)
            self.transformersPerFeeder = max(1, transformersPerFeeder)
        }
        /// The demo's grid: 2 substations × 2 feeders × 5 transformers.
        static let standard = Layout(substations: 2, feedersPerSubstation: 2, transformersPerFeeder: 5)
        /// One substation, one feeder, one transformer: a single LV feeder (evaluation).
        static let singleTransformer = Layout(substations: 1, feedersPerSubstation: 1, transformersPerFeeder: 1)
        var transformers: Int { substations * feedersPerSubstation * transformersPerFeeder }
    }
    let layout: Layout

    static let streets = [
        "Elm St", "Oak Ave", "Mill Rd", "Birch Ln", "Station Rd", "Church St", "Harbour Way", "Linden Pl",
        "Quarry Rd", "Willow Ct", "Market Sq", "Cedar Dr", "Bridge St", "Orchard Ln", "Canal Walk",
        "Meadow Rd", "Hill Top", "Park Row", "Foundry Ln", "Ash Grove",
    ]

    init(config: SimulationConfig, layout: Layout = .standard) {
        self.layout = layout
        var rng = SplitMix64(seed: config.seed, stream: RandomDomain.topology.rawValue)
        func bias() -> Double { rng.uniform(-0.005, 0.005) }

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

        let nConsumers = max(config.consumers, 1)
        let nTransformers = layout.transformers
        // Size the upstream equipment from the expected load (~0.95 kW mean, ~2 kW peak per household).
        let peakKw = Double(nConsumers) * 2.2
        root = add("TR-ROOT", "Grid supply point TR-ROOT 380/110 kV", .transmission, .root, parent: nil,
                   ratedKw: UInt32(peakKw * 2), noLoad: 0.0005, loadLoss: 0.02)
        generators.append(add("GEN-1", "Thermal plant GEN-1 Northgate", .generation, .thermal, parent: root,
                              ratedKw: UInt32(peakKw * 1.3)))
        generators.append(add("GEN-2", "Wind farm GEN-2 Hollow Ridge", .generation, .wind, parent: root,
                              ratedKw: UInt32(Double(nConsumers) * 0.6)))
        generators.append(add("GEN-3", "Solar farm GEN-3 Sunfield", .generation, .solarFarm, parent: root,
                              ratedKw: UInt32(Double(nConsumers) * 0.4)))
        let substationNames = ["Riverside", "Kingsbury"]
        let feederNames = ["North", "East", "South", "West"]
        // Consumers per transformer: about equal, with some spread.
        var weights = (0..<nTransformers).map { _ in rng.uniform(0.85, 1.15) }
        let total = weights.reduce(0, +)
        weights = weights.map { $0 / total }
        var sizes = weights.map { max(1, Int(Double(nConsumers) * $0)) }
        var k = 0
        while sizes.reduce(0, +) < nConsumers { sizes[k % nTransformers] += 1; k += 1 }
        while sizes.reduce(0, +) > nConsumers, let j = sizes.indices.max(by: { sizes[$0] < sizes[$1] }), sizes[j] > 1 {
            sizes[j] -= 1
        }

        var txNumber = 0
        var consumerNumber = 0
        for s in 0..<layout.substations {
            let ssCode = "SS-\(s + 1)"
            let ss = add(ssCode, "Substation \(ssCode) \(substationNames[s % substationNames.count]) 110/20 kV", .substation,
                         .substation, parent: root, ratedKw: UInt32(peakKw / Double(layout.substations) * 1.6),
                         noLoad: 0.001, loadLoss: 0.015)
            substations.append(ss)
            for f in 0..<layout.feedersPerSubstation {
                let fNo = s * layout.feedersPerSubstation + f + 1
                let fCode = "FDR-\(fNo)"
                let fdr = add(fCode, "Feeder \(fCode) \(feederNames[(fNo - 1) % feederNames.count]) 20 kV", .feeder, .feeder,
                              parent: ss, ratedKw: UInt32(peakKw / Double(layout.substations * layout.feedersPerSubstation) * 1.5),
                              loadLoss: 0.02)
                feeders.append(fdr)
                for _ in 0..<layout.transformersPerFeeder {
                    let n = sizes[txNumber]
                    txNumber += 1
                    let street = Self.streets[(txNumber - 1) % Self.streets.count]
                    let tCode = "TX-" + Self.pad(txNumber, 4)
                    // Rated ~4 kW per connected household: typical 100-160 kVA units.
                    let rated = UInt32(max(50, (Double(n) * 4.0 / 10).rounded() * 10))
                    let tx = add(tCode, "Transformer \(tCode) \(street)", .transformer, .transformer, parent: fdr,
                                 ratedKw: rated, noLoad: 0.0035, loadLoss: 0.06)
                    transformers.append(tx)
                    for h in 0..<n {
                        consumerNumber += 1
                        let cCode = "C-" + Self.pad(consumerNumber, 5)
                        let prosumer = rng.chance(0.15)
                        let kwp = prosumer ? (rng.uniform(3, 8) * 10).rounded() / 10 : 0
                        let name = prosumer
                            ? "Prosumer \(cCode) \(2 * h + 1) \(street) (PV \(kwp) kWp)"
                            : "Household \(cCode) \(2 * h + 1) \(street)"
                        let c = add(cCode, name, .consumer, .consumer, parent: tx, ratedKw: prosumer ? 17 : 11)
                        assets[c].loadScale = rng.uniform(0.5, 1.5)
                        assets[c].shiftHours = rng.uniform(-0.75, 0.75)
                        assets[c].pvKwp = kwp
                        assets[c].spikiness = rng.uniform(0.5, 1.5)
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
