import ChainCore
import GridCore

/// What the simulator did on purpose: the incidents a detector should find.
///
/// Known when the network starts (the theft is scheduled), so it can be
/// written before any block exists and compared with alarms afterwards.
public struct GroundTruth: Sendable, Equatable {
    public struct Incident: Sendable, Equatable {
        /// `"theft"`.
        public var kind: String
        /// `"unmetered-load"` (a hook-up bypassing the meter plus a tampered meter, the default demo),
        /// `"h1"`…`"h6"` (Jokar et al. 2016), `"bypass"`: see `TheftAttack`.
        public var attack: String
        public var asset: AssetID
        public var assetName: String
        /// The segment whose balance shows the theft.
        public var transformer: AssetID
        public var transformerName: String
        /// Unix start of the first stolen interval (simulated time).
        public var fromInterval: UInt64

        public init(kind: String, attack: String, asset: AssetID, assetName: String, transformer: AssetID,
                    transformerName: String, fromInterval: UInt64) {
            self.kind = kind; self.attack = attack; self.asset = asset; self.assetName = assetName
            self.transformer = transformer; self.transformerName = transformerName; self.fromInterval = fromInterval
        }

        public var json: JSON {
            [
                "kind": .string(kind), "attack": .string(attack),
                "asset": .string(asset.hex), "assetName": .string(assetName),
                "transformer": .string(transformer.hex), "transformerName": .string(transformerName),
                "fromInterval": .number(String(fromInterval)),
            ]
        }
    }

    public static let schema = 1
    public var chainId: UInt64
    public var seed: UInt64
    public var intervalSeconds: UInt32
    public var incidents: [Incident]

    public init(chainId: UInt64, seed: UInt64, intervalSeconds: UInt32, incidents: [Incident]) {
        self.chainId = chainId; self.seed = seed; self.intervalSeconds = intervalSeconds; self.incidents = incidents
    }

    /// `{"schema":1,"chainId":N,"seed":N,"intervalSeconds":900,"incidents":[…]}`.
    public var json: JSON {
        [
            "schema": .int(Self.schema),
            "chainId": .number(String(chainId)),
            "seed": .number(String(seed)),
            "intervalSeconds": .number(String(intervalSeconds)),
            "incidents": .array(incidents.map(\.json)),
        ]
    }

    init(model: GridModel) {
        let a = model.topology.assets
        let t = model.theft
        self.init(chainId: model.config.chainId, seed: model.config.seed, intervalSeconds: model.config.intervalSeconds,
                  incidents: !t.active ? [] : [Incident(kind: "theft", attack: t.attack.code, asset: a[t.consumer].id,
                                       assetName: a[t.consumer].name, transformer: a[t.transformer].id,
                                       transformerName: a[t.transformer].name,
                                       fromInterval: model.config.intervalStart(t.fromIndex))])
    }
}
