import Alerts
import ChainCore
import GridCore
@testable import OperatorTUI

/// Fixed screen data with every extra filled: the same screens every time.
enum ScreenFixtures {
    static let now = Fixtures.now
    static func id(_ code: String) -> AssetID { Bytes32.asset(code: code) }

    static let theftTX = id("TX-07")
    static let theftOrigin = EventOrigin(blockNumber: 8_123_455, blockHash: Fixtures.bytes32(101),
                                         transactionHash: Fixtures.bytes32(900), logIndex: 3)

    static func grid() -> GridTree {
        var nodes: [GridNode] = [
            GridNode(id: id("GEN-1"), name: "Hydro plant Norte", stage: .generation, ratedKw: 120_000),
            GridNode(id: id("TL-1"), name: "Line 400kV A", stage: .transmission, ratedKw: 500_000,
                     balance: SegmentStatus(residualWh: 940_500, throughputWh: 48_250_000, bandLowWh: 700_000, bandHighWh: 1_100_000)),
            GridNode(id: id("SUB-3"), name: "Substation Vila", stage: .substation, parent: id("TL-1"), ratedKw: 60_000,
                     balance: SegmentStatus(residualWh: 190_000, throughputWh: 47_310_500, bandLowWh: 120_000, bandHighWh: 260_000)),
            GridNode(id: id("F-12"), name: "Feeder 12", stage: .feeder, parent: id("SUB-3"), ratedKw: 8_000,
                     balance: SegmentStatus(residualWh: 310_000, throughputWh: 4_100_000, bandLowWh: 40_000, bandHighWh: 120_000),
                     suspect: true),
            GridNode(id: id("F-13"), name: "Feeder 13", stage: .feeder, parent: id("SUB-3"), ratedKw: 8_000,
                     balance: SegmentStatus(residualWh: 52_000, throughputWh: 3_900_000, bandLowWh: 30_000, bandHighWh: 110_000)),
            GridNode(id: id("F-14"), name: "Feeder 14", stage: .feeder, parent: id("SUB-3"), ratedKw: 8_000,
                     balance: SegmentStatus(residualWh: 0, throughputWh: 0, complete: false)),
            GridNode(id: theftTX, name: "TX-07 \u{202E}evil\u{202C} Vila 北区", stage: .transformer, parent: id("F-12"), ratedKw: 630,
                     balance: SegmentStatus(residualWh: 1_800_000, throughputWh: 9_200_000, bandLowWh: 20_000, bandHighWh: 90_000),
                     suspect: true),
            GridNode(id: id("TX-08"), name: "TX-08 Rua Alta", stage: .transformer, parent: id("F-12"), ratedKw: 400,
                     balance: SegmentStatus(residualWh: 15_000, throughputWh: 2_000_000)),
        ]
        for i in 1...6 {
            nodes.append(GridNode(id: id("C-07-\(i)"), name: "meter 00\(40 + i) Rua das Flores", stage: .consumer,
                                  parent: theftTX, ratedKw: 15))
        }
        nodes.append(GridNode(id: id("C-evil"), name: "\u{1B}]0;owned\u{07}\u{1B}[31mred meter", stage: .consumer, parent: theftTX, ratedKw: 15))
        return GridTree(nodes: nodes)
    }

    static func blockDetail() -> BlockDetail {
        let header = BlockHeader(number: 8_123_455, hash: Fixtures.bytes32(101), parentHash: Fixtures.bytes32(102),
                                 timestamp: 1_777_639_994, miner: Fixtures.address(2))
        func origin(_ tx: UInt64, _ log: UInt32) -> EventOrigin {
            EventOrigin(blockNumber: 8_123_455, blockHash: Fixtures.bytes32(101), transactionHash: Fixtures.bytes32(tx), logIndex: log)
        }
        let tx1 = BlockTransaction(hash: Fixtures.bytes32(899), events: [
            BlockEvent(event: .meterReading(MeterReading(asset: id("C-07-1"), intervalStart: 1_777_638_600, intervalSeconds: 900, importWh: 1_250, exportWh: 0)),
                       origin: origin(899, 0), assetName: "meter 0041 Rua das Flores"),
            BlockEvent(event: .meterReading(MeterReading(asset: id("C-07-2"), intervalStart: 1_777_638_600, intervalSeconds: 900, importWh: 980, exportWh: 0)),
                       origin: origin(899, 1), assetName: "meter 0042 Rua das Flores"),
        ])
        let tx2 = BlockTransaction(hash: Fixtures.bytes32(900), events: [
            BlockEvent(event: .energyTransfer(EnergyTransfer(from: id("C-07-3"), to: id("C-07-4"), intervalStart: 1_777_638_600, wh: 12_400, priceMicrosPerKwh: 180_000)),
                       origin: origin(900, 2), assetName: "meter 0043 Rua das Flores", counterpartName: "meter 0044 Rua das Flores"),
            BlockEvent(event: .meterReading(MeterReading(asset: theftTX, intervalStart: 1_777_638_600, intervalSeconds: 900, importWh: 9_200_000, exportWh: 0)),
                       origin: origin(900, 3), assetName: "TX-07 \u{202E}evil\u{202C} Vila 北区"),
            BlockEvent(event: .meterReading(MeterReading(asset: id("C-evil"), intervalStart: 1_777_638_600, intervalSeconds: 900, importWh: 1, exportWh: 0)),
                       origin: origin(900, 4), assetName: "\u{1B}]0;owned\u{07}\u{1B}[31mred meter", rejected: "interval\u{1B}[2J mismatch"),
        ])
        return BlockDetail(header: header, verification: .verified, agreeingNodes: ["validator-1", "validator-2"],
                           disagreeingNodes: ["validator-3"], transactions: [tx1, tx2])
    }

    static func alarms() -> [Alarm] {
        var list = Fixtures.snapshot().alarms
        if let i = list.firstIndex(where: { $0.id == 1 }) {
            list[i].origin = theftOrigin
            list[i].asset = theftTX
        }
        return list
    }

    static func data(alarms: [Alarm]? = nil, kpis: AlarmKPIs? = nil) -> ScreenData {
        let snap = Fixtures.snapshot(alarms: alarms ?? self.alarms())
        var readings: [ReadingPoint] = []
        for i in 0..<24 {
            let start: UInt64 = 1_777_638_600 - UInt64(23 - i) * 900
            let extra: Int = i > 18 ? 3_000_000 : 0
            let imp: Int = 6_000_000 + (i % 6) * 400_000 + extra
            readings.append(ReadingPoint(intervalStart: start, importWh: UInt64(imp), exportWh: 0))
        }
        let transfers = [
            TransferRow(from: id("C-07-3"), to: theftTX, fromName: "meter 0043 Rua das Flores", toName: nil, intervalStart: 1_777_638_600,
                        wh: 12_400, priceMicrosPerKwh: 180_000, origin: EventOrigin(blockNumber: 8_123_455, blockHash: Fixtures.bytes32(101), transactionHash: Fixtures.bytes32(900), logIndex: 2)),
        ]
        var validators: [ValidatorStats] = []
        for i in 1...4 {
            let silent = i == 4
            let last: UInt64? = silent ? nil : 8_123_456 - UInt64(i - 1)
            let share: Double = silent ? 0 : 1
            validators.append(ValidatorStats(address: Fixtures.address(UInt8(i)), name: "validator-\(i)", proposals: silent ? 0 : 3,
                                             lastProposed: last, missedTurns: silent ? 3 : 0, inTurnShare: share))
        }
        let intervals: [Double] = [2, 2, 2, 2.1, 1.9, 2, 2, 6, 2, 2, 2, 2]
        return ScreenData(
            snapshot: snap, grid: grid(), assets: [theftTX: AssetDetail(readings: readings, transfers: transfers)],
            blocks: [8_123_455: blockDetail()],
            consensus: ConsensusStats(protocolName: "qbft", validators: validators, blockIntervals: intervals, targetBlockSeconds: 2),
            kpis: kpis ?? AlarmKPIs(alarmsLast10Min: 3, alarmsPerHour: 4.5, timeInFlood: 0.004, stale: 0, chattering: 1),
            annotations: [3: AlarmAnnotation(shelvedUntil: now + 3600, shelveReason: "meter replaced, known stale", shelvedBy: "op-ana")],
            stageTrend: [.consumer: [1_700_000, 1_650_000, 1_710_000, 1_800_000], .feeder: [100_000, 110_000, 120_000, 120_000]])
    }

    /// A state showing `location` of the fixed data.
    static func state(_ stack: [Location], width: Int, height: Int, readOnly: Bool = false, data: ScreenData = data()) -> AppState {
        var s = AppState(width: width, height: height, now: now, readOnly: readOnly)
        AppReducer.reduce(&s, .data(data))
        s.stack = stack
        AppReducer.reduce(&s, .tick(now: now))
        return s
    }

    static func render(_ s: AppState, options: RenderOptions = RenderOptions()) -> CellBuffer {
        var buf = CellBuffer(width: s.width, height: s.height)
        AppView.render(s, into: &buf, options: options)
        return buf
    }
}
