import Foundation
import XCTest
@testable import ChainCore

/// Real go-ethereum responses from ethereum/execution-apis (CC0; see Fixtures/PROVENANCE.md).
final class FixtureTests: XCTestCase {
    struct RoundTrip { let file: String; let request: JSON; let response: JSON }

    static func fixtureRoot() -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("execution-apis/tests")
    }

    static func roundTrips() throws -> [RoundTrip] {
        let root = fixtureRoot()
        var out: [RoundTrip] = []
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "io" }
        for f in files {
            var request: JSON?
            for line in try String(contentsOf: f, encoding: .utf8).split(separator: "\n") {
                if line.hasPrefix(">> ") { request = try JSON.parse(String(line.dropFirst(3))) }
                if line.hasPrefix("<< "), let r = request {
                    out.append(RoundTrip(file: f.lastPathComponent, request: r, response: try JSON.parse(String(line.dropFirst(3)))))
                }
            }
        }
        return out
    }

    func testEveryFixtureParsesAndClassifies() throws {
        let trips = try Self.roundTrips()
        XCTAssertGreaterThanOrEqual(trips.count, 30)
        for t in trips {
            guard case .request(_, let method, _) = try JSONRPC.message(t.request) else { return XCTFail(t.file) }
            XCTAssertFalse(method.isEmpty)
            guard case .response = try JSONRPC.message(t.response) else { return XCTFail(t.file) }
            // Serialization round-trips exactly.
            XCTAssertEqual(try JSON.parse(t.response.serialized()), t.response, t.file)
        }
    }

    func testEveryFixtureBlockHashVerifiesAndAFlippedByteFails() throws {
        var verified = 0
        for t in try Self.roundTrips() {
            guard let result = t.response["result"], result["parentHash"] != nil else { continue }
            let header = try BlockHeader(json: result)
            XCTAssertTrue(header.hashVerifies, "\(t.file): \(header.computedHash()) != \(header.hash)")
            verified += 1
            var tampered = header
            tampered.gasUsed ^= 1
            XCTAssertFalse(tampered.hashVerifies, t.file)
            var tampered2 = header
            tampered2.extraData.append(0)
            XCTAssertFalse(tampered2.hashVerifies, t.file)
        }
        XCTAssertGreaterThanOrEqual(verified, 5)  // genesis, latest, safe, finalized, by-hash
    }

    func testEveryFixtureLogDecodes() throws {
        var logs = 0
        for t in try Self.roundTrips() {
            guard case .request(_, "eth_getLogs", _) = try JSONRPC.message(t.request),
                  let arr = t.response["result"]?.arrayValue else { continue }
            for l in arr {
                let log = try Log(json: l)
                XCTAssertEqual(try JSON.parse(log.json.serialized())["blockHash"], l["blockHash"])
                logs += 1
            }
        }
        XCTAssertGreaterThan(logs, 0)
    }

    /// chain.rlp holds the whole test chain: re-encode every header, hash it,
    /// and check each block's parent link against the previous block's hash.
    func testChainRLPHeadersLinkUp() throws {
        let data = try [UInt8](Data(contentsOf: Self.fixtureRoot().appendingPathComponent("chain.rlp")))
        let blocks = try RLP.decodeAll(data)
        XCTAssertEqual(blocks.count, 54)  // blocks 1…54 (genesis is not in the file)
        var previous: Bytes32?
        for (i, block) in blocks.enumerated() {
            guard case .list(let parts) = block, case .list(let fields) = parts[0],
                  case .bytes(let parentBytes) = fields[0] else { return XCTFail("block \(i) shape") }
            XCTAssertEqual(RLP.encode(block), RLP.encode(try RLP.decode(RLP.encode(block))))
            let hash = Keccak256.bytes32(RLP.encode(parts[0]))
            if let previous { XCTAssertEqual(try Bytes32(bytes: parentBytes), previous, "block \(i + 1) parent link") }
            previous = hash
        }
        // The head of the fixture chain is block 0x36 in headfcu.json.
        let fcu = try JSON.parse(String(contentsOf: Self.fixtureRoot().appendingPathComponent("headfcu.json"), encoding: .utf8))
        let headHash = fcu["params"]?[0]?["headBlockHash"]?.stringValue
        XCTAssertEqual(previous?.hex, headHash)
    }

    func testHostileRLPIsAnError() {
        for bad: [UInt8] in [[0xb8], [0xb8, 0x01, 0x00], [0x81, 0x05], [0xc2, 0x80], [0xf8, 0x00], [0x82, 0x00], [0xb9, 0x00, 0x40]] {
            XCTAssertThrowsError(try RLP.decode(bad), "\(bad)")
        }
    }
}
