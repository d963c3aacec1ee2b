import XCTest
import ChainCore
@testable import GridCore

/// The schema's own test vectors (docs/ledger-events.md, computed with an independent ABI library).
final class LedgerSchemaV1Tests: XCTestCase {
    let asset = AssetID.asset(code: "TX-0042")
    let parent = AssetID.asset(code: "FDR-7")

    func testTopicsAreKeccakOfSignatures() {
        XCTAssertEqual(Keccak256.bytes32(LedgerSchemaV1.assetRegisteredSignature), LedgerSchemaV1.assetRegisteredTopic)
        XCTAssertEqual(Keccak256.bytes32(LedgerSchemaV1.meterReadingSignature), LedgerSchemaV1.meterReadingTopic)
        XCTAssertEqual(Keccak256.bytes32(LedgerSchemaV1.energyTransferSignature), LedgerSchemaV1.energyTransferTopic)
    }

    func testAssetRegisteredVector() throws {
        let data = try Hex.decode("0x"
            + "0000000000000000000000000000000000000000000000000000000000000004"
            + "0000000000000000000000000000000000000000000000000000000000000276"
            + "0000000000000000000000000000000000000000000000000000000000000060"
            + "000000000000000000000000000000000000000000000000000000000000001a"
            + "5472616e73666f726d65722054582d3030343220456c6d205374000000000000")
        let event = GridEvent.assetRegistered(AssetRegistration(asset: asset, parent: parent, stage: .transformer, ratedKw: 630, name: "Transformer TX-0042 Elm St"))
        XCTAssertEqual(LedgerSchemaV1.data(of: event), data)
        XCTAssertEqual(try LedgerSchemaV1.decode(topics: [LedgerSchemaV1.assetRegisteredTopic, asset, parent], data: data), event)
    }

    func testMeterReadingVector() throws {
        let data = try Hex.decode("0x"
            + "0000000000000000000000000000000000000000000000000000000000000384"
            + "000000000000000000000000000000000000000000000000000000000000bc7a"
            + "00000000000000000000000000000000000000000000000000000000000004b0")
        let event = GridEvent.meterReading(MeterReading(asset: asset, intervalStart: 1_794_038_400, intervalSeconds: 900, importWh: 48250, exportWh: 1200))
        let topics = LedgerSchemaV1.topics(of: event)
        XCTAssertEqual(topics[2].hex, "0x000000000000000000000000000000000000000000000000000000006aeeda80")
        XCTAssertEqual(LedgerSchemaV1.data(of: event), data)
        XCTAssertEqual(try LedgerSchemaV1.decode(topics: topics, data: data), event)
    }

    func testEnergyTransferVector() throws {
        let data = try Hex.decode("0x"
            + "000000000000000000000000000000000000000000000000000000006aeeda80"
            + "0000000000000000000000000000000000000000000000000000000000000dac"
            + "000000000000000000000000000000000000000000000000000000000001e848")
        let event = GridEvent.energyTransfer(EnergyTransfer(from: asset, to: parent, intervalStart: 1_794_038_400, wh: 3500, priceMicrosPerKwh: 125_000))
        XCTAssertEqual(LedgerSchemaV1.data(of: event), data)
        XCTAssertEqual(try LedgerSchemaV1.decode(topics: LedgerSchemaV1.topics(of: event), data: data), event)
    }

    func testHostileEncodingsAreRejected() throws {
        let t = [LedgerSchemaV1.assetRegisteredTopic, asset, parent]
        var data = LedgerSchemaV1.data(of: .assetRegistered(AssetRegistration(asset: asset, parent: parent, stage: .feeder, ratedKw: 1, name: "x")))
        data[95] = 0xff  // offset far past the end
        XCTAssertThrowsError(try LedgerSchemaV1.decode(topics: t, data: data))
        XCTAssertThrowsError(try LedgerSchemaV1.decode(topics: [LedgerSchemaV1.meterReadingTopic, asset], data: [UInt8](repeating: 0, count: 96)))
        XCTAssertThrowsError(try LedgerSchemaV1.decode(topics: [LedgerSchemaV1.meterReadingTopic, asset, .zero], data: [UInt8](repeating: 0, count: 95)))
        var big = [UInt8](repeating: 0, count: 96)
        big[0] = 1  // intervalSeconds beyond uint32
        XCTAssertThrowsError(try LedgerSchemaV1.decode(topics: [LedgerSchemaV1.meterReadingTopic, asset, .zero], data: big))
    }

    func testUnknownStageIsKeptAndEscapesSurviveDecoding() throws {
        let name = "\u{1b}]0;pwned\u{7}\u{202e}evil"
        let event = GridEvent.assetRegistered(AssetRegistration(asset: asset, parent: .zero, stage: Stage(rawValue: 9), ratedKw: 0, name: name))
        let back = try LedgerSchemaV1.decode(topics: LedgerSchemaV1.topics(of: event), data: LedgerSchemaV1.data(of: event))
        guard case .assetRegistered(let a) = back else { return XCTFail("wrong event") }
        XCTAssertEqual(a.stage.name, "stage ?9")
        XCTAssertEqual(a.name, name)
    }
}
