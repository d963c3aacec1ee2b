import XCTest
@testable import ChainCore

final class KeccakTests: XCTestCase {
    func testEmptyInput() {
        XCTAssertEqual(Hex.encode(Keccak256.hash([UInt8]())),
                       "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
    }

    func testSchemaAssetIds() {
        XCTAssertEqual(Keccak256.bytes32("TX-0042").hex,
                       "0xbe9249e5fc09634fb7e69317922542ae37c334ec2b7a0f1affc988a1f6d3f246")
        XCTAssertEqual(Keccak256.bytes32("FDR-7").hex,
                       "0xf798b5698ce889c32e4ce386f759fd41eacce0b884e9939f985841bec0d68f5f")
    }

    func testMultiBlockInputCrossesRate() {
        // Inputs around the 136-byte rate exercise the padding edge cases.
        let a = Keccak256.hash([UInt8](repeating: 1, count: 135))
        let b = Keccak256.hash([UInt8](repeating: 1, count: 136))
        let c = Keccak256.hash([UInt8](repeating: 1, count: 137))
        XCTAssertNotEqual(a, b); XCTAssertNotEqual(b, c)
    }

    func testTransferEventSignature() {
        XCTAssertEqual(Keccak256.bytes32("Transfer(address,address,uint256)").hex,
                       "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
    }
}
