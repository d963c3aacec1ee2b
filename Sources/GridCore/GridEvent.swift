import ChainCore

/// Asset ids are bytes32, by convention keccak-256 of the asset's code.
public typealias AssetID = Bytes32

extension Bytes32 {
    /// The conventional asset id for a code such as `TX-0042`.
    public static func asset(code: String) -> AssetID { Keccak256.bytes32(code) }
}

/// `AssetRegistered(bytes32 indexed asset, bytes32 indexed parent, uint8 stage, uint32 ratedKw, string name)`
public struct AssetRegistration: Sendable, Equatable {
    public var asset: AssetID
    /// `.zero` for a root.
    public var parent: AssetID
    public var stage: Stage
    public var ratedKw: UInt32
    /// Untrusted text from the chain: show it only through a sanitizer.
    public var name: String

    public init(asset: AssetID, parent: AssetID, stage: Stage, ratedKw: UInt32, name: String) {
        self.asset = asset; self.parent = parent; self.stage = stage; self.ratedKw = ratedKw; self.name = name
    }
}

/// `MeterReading(bytes32 indexed asset, uint64 indexed intervalStart, uint32 intervalSeconds, uint64 importWh, uint64 exportWh)`
///
/// `importWh` flowed parent → asset, `exportWh` asset → parent during
/// `[intervalStart, intervalStart + intervalSeconds)`.
public struct MeterReading: Sendable, Equatable, Hashable {
    public var asset: AssetID
    public var intervalStart: UInt64
    public var intervalSeconds: UInt32
    public var importWh: UInt64
    public var exportWh: UInt64

    public init(asset: AssetID, intervalStart: UInt64, intervalSeconds: UInt32, importWh: UInt64, exportWh: UInt64) {
        self.asset = asset; self.intervalStart = intervalStart; self.intervalSeconds = intervalSeconds
        self.importWh = importWh; self.exportWh = exportWh
    }

    /// Net energy into the asset from its parent (negative for generators and exporting prosumers).
    public var netInWh: Int64 { Int64(clamping: importWh) &- Int64(clamping: exportWh) }
}

/// `EnergyTransfer(bytes32 indexed from, bytes32 indexed to, uint64 intervalStart, uint64 wh, uint64 priceMicrosPerKwh)`
public struct EnergyTransfer: Sendable, Equatable {
    public var from: AssetID
    public var to: AssetID
    public var intervalStart: UInt64
    public var wh: UInt64
    public var priceMicrosPerKwh: UInt64

    public init(from: AssetID, to: AssetID, intervalStart: UInt64, wh: UInt64, priceMicrosPerKwh: UInt64) {
        self.from = from; self.to = to; self.intervalStart = intervalStart; self.wh = wh
        self.priceMicrosPerKwh = priceMicrosPerKwh
    }
}

public enum GridEvent: Sendable, Equatable {
    case assetRegistered(AssetRegistration)
    case meterReading(MeterReading)
    case energyTransfer(EnergyTransfer)
}

/// Where on chain an event came from, so an operator can drill from an alarm to its evidence.
public struct EventOrigin: Sendable, Equatable, Hashable {
    public var blockNumber: UInt64
    public var blockHash: Bytes32
    public var transactionHash: Bytes32
    public var logIndex: UInt32

    public init(blockNumber: UInt64, blockHash: Bytes32, transactionHash: Bytes32, logIndex: UInt32) {
        self.blockNumber = blockNumber; self.blockHash = blockHash
        self.transactionHash = transactionHash; self.logIndex = logIndex
    }

    public init(log: Log) {
        self.init(blockNumber: log.blockNumber, blockHash: log.blockHash,
                  transactionHash: log.transactionHash, logIndex: log.logIndex)
    }

    public var key: LogKey { LogKey(blockHash: blockHash, logIndex: logIndex) }
}

public struct LocatedEvent: Sendable, Equatable {
    public var event: GridEvent
    public var origin: EventOrigin
    public init(event: GridEvent, origin: EventOrigin) { self.event = event; self.origin = origin }
}
