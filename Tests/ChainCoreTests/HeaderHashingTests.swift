import XCTest
@testable import ChainCore

/// Hash schemes of Besu's BFT engines, with vectors built by hand: the expected
/// hashing form of extraData is written out byte by byte here, not produced by
/// the code under test.
func cat(_ parts: [UInt8]...) -> [UInt8] { parts.flatMap { $0 } }

final class HeaderHashingTests: XCTestCase {
    static let vanity = (0..<32).map { UInt8($0) }
    static let v1 = cat([UInt8](repeating: 0, count: 19), [1])
    static let v2 = cat([UInt8](repeating: 0, count: 19), [2])
    static let v3 = cat([UInt8](repeating: 0, count: 19), [3])
    static func seal(_ k: UInt8) -> [UInt8] { [UInt8](repeating: k, count: 65) }

    /// rlp list header for a payload of `n` bytes.
    static func listHeader(_ n: Int) -> [UInt8] { n < 56 ? [0xc0 + UInt8(n)] : [0xf8, UInt8(n)] }
    static let vanityItem: [UInt8] = cat([0xa0], vanity)
    static let validatorsItem: [UInt8] = cat([0xea, 0x94], v1, [0x94], v2)  // 2 × 21 = 42 bytes
    static func sealsItem(_ n: Int) -> [UInt8] {
        // Each seal: 0xb8 0x41 + 65 bytes = 67; n seals.
        let body: [UInt8] = (0..<n).flatMap { cat([0xb8, 0x41], seal(UInt8($0 + 1))) }
        if body.count < 56 { return cat([0xc0 + UInt8(body.count)], body) }
        if body.count < 256 { return cat([0xf8, UInt8(body.count)], body) }
        return cat([0xf9, UInt8(body.count >> 8), UInt8(body.count & 0xff)], body)
    }

    func header(extra: [UInt8], number: UInt64 = 7) -> BlockHeader {
        BlockHeader(number: number, hash: .zero, parentHash: Keccak256.bytes32("parent"), timestamp: 1_700_000_000,
                    miner: try! Address(bytes: Self.v1), difficulty: [1], gasLimit: 4_704_588, gasUsed: 0, extraData: extra,
                    mixHash: try! Bytes32(hex: "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"),
                    nonce: [0, 0, 0, 0, 0, 0, 0, 0], baseFeePerGas: [7])
    }

    func testQBFTHashExcludesSealsAndRound() throws {
        // Sealed: [vanity, validators, [], round 5 (scalar), 3 seals]
        let sealedBody = cat(Self.vanityItem, Self.validatorsItem, [0xc0, 0x05], Self.sealsItem(3))
        let sealed = cat([0xf9, UInt8(sealedBody.count >> 8), UInt8(sealedBody.count & 0xff)], sealedBody)
        // Hashing form: [vanity, validators, [], 0 → "", []]
        let formBody = cat(Self.vanityItem, Self.validatorsItem, [0xc0, 0x80, 0xc0])
        let form = cat(Self.listHeader(formBody.count), formBody)
        XCTAssertEqual(HeaderHashing.qbftHashingExtraData(sealed), form)

        var h = header(extra: sealed)
        h.hash = header(extra: form).computedHash()
        XCTAssertNotEqual(h.computedHash(), h.hash, "a QBFT hash is not the plain header hash")
        XCTAssertEqual(HeaderHashing.verify(h), .qbft)
        XCTAssertEqual(HeaderHashing.verify(h, preferred: .qbft), .qbft)

        let parsed = try XCTUnwrap(BFTExtraData(sealed))
        XCTAssertEqual(parsed.scheme, .qbft)
        XCTAssertEqual(parsed.validators.map(\.bytes), [Self.v1, Self.v2])
        XCTAssertEqual(parsed.round, 5)
        XCTAssertEqual(parsed.committedSeals, 3)
        XCTAssertNil(parsed.vote)

        // Other seals or another round: same block.
        var other = h
        let otherBody = cat(Self.vanityItem, Self.validatorsItem, [0xc0, 0x09], Self.sealsItem(2))
        other.extraData = cat([0xf8, UInt8(otherBody.count)], otherBody)
        XCTAssertEqual(HeaderHashing.verify(other), .qbft)

        // Another validator set, another vanity, a vote, or any header field: not the block.
        var t1 = h
        t1.extraData[36 + 20] ^= 1  // last byte of validator 1
        XCTAssertNil(HeaderHashing.verify(t1))
        var t2 = h
        t2.extraData[4] ^= 0x80  // vanity byte 1
        XCTAssertNil(HeaderHashing.verify(t2))
        var t3 = h
        t3.gasUsed = 1
        XCTAssertNil(HeaderHashing.verify(t3))
        var t4 = h
        t4.miner = try Address(bytes: Self.v2)
        XCTAssertNil(HeaderHashing.verify(t4))
    }

    func testQBFTVoteIsHashed() throws {
        // Vote: [v3, 0xff] (add) — 0xd7 0x94 v3 0x81 0xff
        let vote: [UInt8] = cat([0xd7, 0x94], Self.v3, [0x81, 0xff])
        let body = cat(Self.vanityItem, Self.validatorsItem, vote, [0x01], Self.sealsItem(1))
        let sealed = cat([0xf8, UInt8(body.count)], body)
        let formBody = cat(Self.vanityItem, Self.validatorsItem, vote, [0x80, 0xc0])
        let form = cat(Self.listHeader(formBody.count), formBody)
        XCTAssertEqual(HeaderHashing.qbftHashingExtraData(sealed), form)
        var h = header(extra: sealed)
        h.hash = header(extra: form).computedHash()
        XCTAssertEqual(HeaderHashing.verify(h), .qbft)
        let parsed = try XCTUnwrap(BFTExtraData(sealed))
        XCTAssertEqual(parsed.vote?.recipient.bytes, Self.v3)
        XCTAssertEqual(parsed.vote?.add, true)
        // A drop vote instead of add is another block.
        var t = h
        XCTAssertEqual(t.extraData[101], 0xff)
        t.extraData[101] = 0xfe
        XCTAssertNil(HeaderHashing.verify(t))
    }

    func testIBFT2HashDropsRoundAndSeals() throws {
        // Sealed: [vanity, validators, [v3, 0xff], round 0x00fedcba (4 bytes), 4 seals]
        let vote: [UInt8] = cat([0xd7, 0x94], Self.v3, [0x81, 0xff])
        let body = cat(Self.vanityItem, Self.validatorsItem, vote, [0x84, 0x00, 0xfe, 0xdc, 0xba], Self.sealsItem(4))
        let sealed = cat([0xf9, UInt8(body.count >> 8), UInt8(body.count & 0xff)], body)
        let formBody = cat(Self.vanityItem, Self.validatorsItem, vote)
        let form = cat(Self.listHeader(formBody.count), formBody)
        XCTAssertEqual(HeaderHashing.ibft2HashingExtraData(sealed), form)
        var h = header(extra: sealed)
        h.hash = header(extra: form).computedHash()
        XCTAssertEqual(HeaderHashing.verify(h), .ibft2)
        XCTAssertEqual(HeaderHashing.verify(h, preferred: .qbft), .ibft2)
        let parsed = try XCTUnwrap(BFTExtraData(sealed))
        XCTAssertEqual(parsed.scheme, .ibft2)
        XCTAssertEqual(parsed.round, 0x00fe_dcba)
        XCTAssertEqual(parsed.committedSeals, 4)
        // Seals and round are not part of the block's identity.
        var other = h
        let otherBody = cat(Self.vanityItem, Self.validatorsItem, vote, [0x84, 0, 0, 0, 1], Self.sealsItem(1))
        other.extraData = cat([0xf8, UInt8(otherBody.count)], otherBody)
        XCTAssertEqual(HeaderHashing.verify(other), .ibft2)
        var t = h
        t.extraData[3 + 33 + 43 + 2 + 19] ^= 1  // vote recipient
        XCTAssertNil(HeaderHashing.verify(t))
    }

    func testIBFT2NoVote() throws {
        // IBFT 2.0 writes "no vote" as the empty string 0x80.
        let body = cat(Self.vanityItem, Self.validatorsItem, [0x80], [0x84, 0, 0, 0, 2], Self.sealsItem(1))
        let sealed = cat([0xf8, UInt8(body.count)], body)
        let formBody = cat(Self.vanityItem, Self.validatorsItem, [0x80])
        let form = cat(Self.listHeader(formBody.count), formBody)
        XCTAssertEqual(HeaderHashing.ibft2HashingExtraData(sealed), form)
        XCTAssertNil(HeaderHashing.qbftHashingExtraData(sealed))
        var h = header(extra: sealed)
        h.hash = header(extra: form).computedHash()
        XCTAssertEqual(HeaderHashing.verify(h), .ibft2)
        let parsed = try XCTUnwrap(BFTExtraData(sealed))
        XCTAssertEqual(parsed.scheme, .ibft2)
        XCTAssertEqual(parsed.round, 2)
        var t = h
        t.timestamp += 1
        XCTAssertNil(HeaderHashing.verify(t))
    }

    func testGenesisAndPlainHeadersUseTheStandardScheme() {
        let body = cat(Self.vanityItem, Self.validatorsItem, [0xc0, 0x80, 0xc0])
        var g = header(extra: cat(Self.listHeader(body.count), body), number: 0)
        g.hash = g.computedHash()
        XCTAssertEqual(HeaderHashing.verify(g), .standard)
        XCTAssertNil(HeaderHashing.hash(g, scheme: .qbft), "Besu hashes genesis extraData as is")
        var plain = header(extra: Array("geth".utf8))
        plain.hash = plain.computedHash()
        XCTAssertEqual(HeaderHashing.verify(plain, preferred: .qbft), .standard)
        XCTAssertNil(BFTExtraData(plain.extraData))
    }

    func testAuRaSealIsHashed() {
        var h = header(extra: [])
        h.mixHash = nil
        h.nonce = nil
        h.auraStep = 0x1456_e187
        h.auraSignature = [UInt8](repeating: 0x5a, count: 65)
        // AuRa: …, extraData, step, signature, baseFee.
        var fields: [RLPItem] = Array(h.rlpFields.prefix(13))
        fields.append(.bytes([0x14, 0x56, 0xe1, 0x87]))  
        fields.append(.bytes([UInt8](repeating: 0x5a, count: 65)))
        fields.append(.bytes([7]))
        h.hash = Keccak256.bytes32(RLP.encode(.list(fields)))
        XCTAssertEqual(HeaderHashing.verify(h), .standard)
        var t = h
        t.auraStep! += 1
        XCTAssertNil(HeaderHashing.verify(t))
    }

    func testEveryFixtureBlockVerifiesUnderTheStandardScheme() throws {
        var n = 0
        for t in try FixtureTests.roundTrips() {
            guard let result = t.response["result"], result["parentHash"] != nil else { continue }
            let h = try BlockHeader(json: result)
            XCTAssertEqual(HeaderHashing.verify(h), .standard, t.file)
            XCTAssertEqual(HeaderHashing.verify(h, preferred: .ibft2), .standard, t.file)
            var bad = h
            bad.stateRoot = Bytes32(uint: 1)
            XCTAssertNil(HeaderHashing.verify(bad), t.file)
            // The JSON form the simulator serves round-trips, transactions included.
            XCTAssertEqual(try BlockHeader(json: h.json), h, t.file)
            n += 1
        }
        XCTAssertGreaterThanOrEqual(n, 5)
    }

    func testHostileExtraDataNeverTraps() {
        var rng = SplitMix64(seed: 42)
        var base = cat(Self.vanityItem, Self.validatorsItem, [0xc0, 0x05], Self.sealsItem(1))
        base = cat([0xf8, UInt8(base.count)], base)
        for _ in 0..<1_500 {
            var b = base
            switch rng.next() % 3 {
            case 0: b = Array(b.prefix(Int(rng.next() % UInt64(b.count))))
            case 1: for _ in 0..<(1 + rng.next() % 4) { b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            default: b = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            _ = BFTExtraData(b)
            _ = HeaderHashing.qbftHashingExtraData(b)
            _ = HeaderHashing.ibft2HashingExtraData(b)
            var h = header(extra: b)
            h.hash = Keccak256.bytes32(b)
            XCTAssertNil(HeaderHashing.verify(h))
        }
    }
}

/// A small deterministic generator for reproducible fuzzing.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
