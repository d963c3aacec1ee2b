import ChainCore
import GridCore

/// What the simulator did on purpose: the incidents a detector should find.
///
/// Known when the network starts (incidents are scheduled), so it can be written before any
/// block exists and compared with alarms afterwards; the energy of each incident grows as
/// intervals are produced (`--truth` rewrites the file after every interval).
/// The JSON format is documented in docs/scenarios.md.
public struct GroundTruth: Sendable, Equatable {
    public struct Incident: Sendable, Equatable {
        /// `"theft"`, `"transfer-overclaim"`, `"silent-meter"` or `"duplicate-reading"`.
        public var kind: String
        /// The incident kind as in scenario files: `"unmetered-load"` (a hook-up bypassing the meter plus a
        /// tampered meter, the default demo), `"h1"`…`"h6"` (Jokar et al. 2016), `"bypass"`, `"hookup"`
        /// (on the line, no meter tampered), `"overclaim"`, `"silent"`, `"duplicate"`.
        public var attack: String
        /// The asset whose meter (or, for a hook-up, whose line) is involved.
        public var asset: AssetID
        public var assetName: String
        /// The segment whose balance shows the incident (the asset's transformer, or its parent).
        public var transformer: AssetID
        public var transformerName: String
        /// Unix start of the first interval concerned (simulated time).
        public var fromInterval: UInt64
        /// 1-based position in the scenario.
        public var number = 1
        public var assetCode = ""
        public var transformerCode = ""
        /// Interval index of `fromInterval` from the epoch (interval 0 is the first history interval).
        public var fromIndex = 0
        /// First interval no longer concerned (exclusive), nil: open-ended.
        public var toIndex: Int?
        public var toInterval: UInt64?
        /// Alerts' alarm kind a monitor should raise, and the asset it should name.
        public var expectedAlarm = "suspected-theft"
        public var alarmAsset: AssetID = .zero
        /// The buyer of an over-claimed transfer.
        public var counterparty: AssetID?
        public var counterpartyCode: String?
        /// The incident's parameters in force (defaults and seeded values included).
        public var parameters: [String: Double] = [:]
        /// Energy involved up to `energyThroughIndex` (inclusive), Wh: stolen (thefts; net, so about 0 per day
        /// for the energy-neutral h5/h6), unreported (silent meter), claimed beyond the seller's export
        /// (over-claim), or the difference of the conflicting reading (duplicate).
        public var energyWh = 0.0
        /// Last interval index counted in `energyWh`; nil before any interval was produced.
        public var energyThroughIndex: Int?

        public init(kind: String, attack: String, asset: AssetID, assetName: String, transformer: AssetID,
                    transformerName: String, fromInterval: UInt64) {
            self.kind = kind; self.attack = attack; self.asset = asset; self.assetName = assetName
            self.transformer = transformer; self.transformerName = transformerName; self.fromInterval = fromInterval
        }

        public var json: JSON {
            func wh(_ x: Double) -> JSON { .number(TheftEvaluation.fixed(x, 1)) }
            var o: [String: JSON] = [
                "kind": .string(kind), "attack": .string(attack),
                "asset": .string(asset.hex), "assetName": .string(assetName),
                "transformer": .string(transformer.hex), "transformerName": .string(transformerName),
                "fromInterval": .number(String(fromInterval)),
                "number": .int(number), "assetCode": .string(assetCode), "transformerCode": .string(transformerCode),
                "fromIndex": .int(fromIndex),
                "toIndex": toIndex.map(JSON.int) ?? .null, "toInterval": toInterval.map { .number(String($0)) } ?? .null,
                "expectedAlarm": .string(expectedAlarm), "alarmAsset": .string(alarmAsset.hex),
                "parameters": .object(parameters.mapValues { .number(fmtNumber($0)) }),
                "energyWh": wh(energyWh), "energyThroughIndex": energyThroughIndex.map(JSON.int) ?? .null,
            ]
            if let counterparty { o["counterparty"] = .string(counterparty.hex) }
            if let counterpartyCode { o["counterpartyCode"] = .string(counterpartyCode) }
            return .object(o)
        }
    }

    public static let schema = 1
    public var chainId: UInt64
    public var seed: UInt64
    public var intervalSeconds: UInt32
    public var incidents: [Incident]
    /// The scenario file's name, if any.
    public var scenario: String?
    /// Intervals built as history at start; the first live interval has this index.
    public var historyIntervals = 0
    /// Unix start of interval 0 (simulated time).
    public var epoch: UInt64 = SimulationConfig.epoch
    /// The metering contract every grid event of the simulated chain comes from (give it to `--contract`).
    public var contract: Address = SimulatedNetwork.meteringContract

    public init(chainId: UInt64, seed: UInt64, intervalSeconds: UInt32, incidents: [Incident]) {
        self.chainId = chainId; self.seed = seed; self.intervalSeconds = intervalSeconds; self.incidents = incidents
    }

    /// `{"schema":1,"chainId":N,"seed":N,"intervalSeconds":900,"scenario":…,"historyIntervals":N,"epoch":N,"contract":"0x…","incidents":[…]}`.
    public var json: JSON {
        [
            "schema": .int(Self.schema),
            "chainId": .number(String(chainId)),
            "seed": .number(String(seed)),
            "intervalSeconds": .number(String(intervalSeconds)),
            "scenario": scenario.map(JSON.string) ?? .null,
            "historyIntervals": .int(historyIntervals),
            "epoch": .number(String(epoch)),
            "contract": .string(contract.hex),
            "incidents": .array(incidents.map(\.json)),
        ]
    }

    /// The model's incidents, with the energy counted so far (`energyWh[ordinal]` through interval `through`).
    init(model: GridModel, energyWh: [Double] = [], through: Int? = nil) {
        let a = model.topology.assets
        let c = model.config
        self.init(chainId: c.chainId, seed: c.seed, intervalSeconds: c.intervalSeconds, incidents: [])
        scenario = c.scenarioName
        historyIntervals = c.historyIntervals
        epoch = c.intervalStart(0)
        incidents = model.incidents.map { inc in
            var i = Incident(kind: inc.kind.truthKind, attack: inc.kind.rawValue, asset: a[inc.asset].id,
                             assetName: a[inc.asset].name, transformer: a[inc.segment].id,
                             transformerName: a[inc.segment].name, fromInterval: c.intervalStart(inc.fromIndex))
            i.number = inc.ordinal + 1
            i.assetCode = a[inc.asset].code
            i.transformerCode = a[inc.segment].code
            i.fromIndex = inc.fromIndex
            i.toIndex = inc.toIndex
            i.toInterval = inc.toIndex.map(c.intervalStart)
            i.expectedAlarm = inc.kind.expectedAlarm
            i.alarmAsset = inc.kind.isTheft ? a[inc.segment].id : a[inc.asset].id
            i.counterparty = inc.counterparty.map { a[$0].id }
            i.counterpartyCode = inc.counterparty.map { a[$0].code }
            i.parameters = inc.parameters
            if energyWh.indices.contains(inc.ordinal) { i.energyWh = energyWh[inc.ordinal] }
            i.energyThroughIndex = through
            return i
        }
    }
}
