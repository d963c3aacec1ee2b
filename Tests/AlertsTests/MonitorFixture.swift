import ChainCore
import GridCore
@testable import Alerts

/// Builds the blocks a ledger client would deliver, for tests of the pure monitor.
struct ChainFixture {
    var next: UInt64 = 1

    static func hash(_ n: UInt64) -> Bytes32 { Bytes32(uint: 0x5000 + n) }

    /// Block `n` holding `events`, one transaction per event.
    func block(_ n: UInt64, _ events: [GridEvent], timestamp: UInt64? = nil) -> LedgerUpdate {
        let hash = Self.hash(n)
        return .block(ChainBlock(header: BlockHeader(number: n, hash: hash, parentHash: Self.hash(n - 1), timestamp: timestamp ?? n * 900, miner: .zero),
                                 events: events.enumerated().map { i, e in
                                     LocatedEvent(event: e, origin: EventOrigin(blockNumber: n, blockHash: hash,
                                                                                transactionHash: Bytes32(uint: n * 1000 + UInt64(i)), logIndex: UInt32(i)))
                                 }))
    }

    /// The next block number's block.
    mutating func append(_ events: [GridEvent]) -> (number: UInt64, update: LedgerUpdate) {
        defer { next += 1 }
        return (next, block(next, events))
    }

    static func register(_ a: AssetID, under p: AssetID, _ stage: Stage, _ name: String) -> GridEvent {
        .assetRegistered(AssetRegistration(asset: a, parent: p, stage: stage, ratedKw: 10, name: name))
    }

    static func reading(_ a: AssetID, _ k: UInt64, import i: UInt64, export e: UInt64 = 0) -> GridEvent {
        .meterReading(MeterReading(asset: a, intervalStart: k * 900, intervalSeconds: 900, importWh: i, exportWh: e))
    }

    static func transfer(_ from: AssetID, _ to: AssetID, _ k: UInt64, _ wh: UInt64) -> GridEvent {
        .energyTransfer(EnergyTransfer(from: from, to: to, intervalStart: k * 900, wh: wh, priceMicrosPerKwh: 100_000))
    }
}
