import XCTest
@testable import ChainCore

final class ConsensusAnalysisTests: XCTestCase {
    static func addr(_ k: UInt8) -> Address { try! Address(bytes: [UInt8](repeating: 0, count: 19) + [k]) }

    func chain(_ n: Int, start: UInt64 = 100, times: [UInt64]? = nil, _ tweak: (Int, inout BlockHeader) -> Void) -> [BlockHeader] {
        var out: [BlockHeader] = []
        var parent = Bytes32.zero
        for i in 0..<n {
            var h = BlockHeader(number: start + UInt64(i), hash: .zero, parentHash: parent,
                                timestamp: times?[i] ?? (1_000 + UInt64(i) * 5), miner: .zero)
            tweak(i, &h)
            h.hash = h.computedHash()
            parent = h.hash
            out.append(h)
        }
        return out
    }

    func testAuRaStepGapsNameTheValidatorsThatMissedTheirTurn() {
        let vs = [Self.addr(1), Self.addr(2), Self.addr(3)]
        // Steps 30, 31, 33 (32 missed: 32 mod 3 = 2 → vs[2]), 34, 37 (35, 36 missed → vs[2], vs[0]).
        let steps: [UInt64] = [30, 31, 33, 34, 37]
        let hs = chain(5) { i, h in
            h.auraStep = steps[i]; h.auraSignature = [UInt8](repeating: 1, count: 65); h.mixHash = nil; h.nonce = nil
            h.miner = vs[Int(steps[i] % 3)]
        }
        XCTAssertEqual(ConsensusAnalysis.engine(of: hs, scheme: .standard), .aura)
        let h = ConsensusAnalysis.analyse(headers: hs, engine: .aura, validators: vs, node: "n", now: 1_000 + 4 * 5 + 12)
        XCTAssertEqual(h.missedSteps, 3)
        XCTAssertEqual(h.validators.map(\.address), vs)
        XCTAssertEqual(h.validators.map(\.missedTurns), [1, 0, 2])
        XCTAssertEqual(h.validators.map(\.proposedBlocks), [2, 3, 0])
        XCTAssertEqual(h.secondsSinceLastBlock, 12)
        XCTAssertEqual(h.inTurnShare, 0.5)  // 2 of 4 successions without a gap
        // Without the validator list, the step gaps are still counted.
        let inferred = ConsensusAnalysis.analyse(headers: hs, engine: .aura, validators: nil, node: "n", now: 0)
        XCTAssertEqual(inferred.missedSteps, 3)
        XCTAssertEqual(inferred.validators.reduce(0) { $0 + ($1.missedTurns ?? 0) }, 3)
    }

    func testCliqueOutOfTurnBlocksAreMissedTurns() {
        let signers = [Self.addr(9), Self.addr(5), Self.addr(7)]  // unsorted on purpose
        let sorted = signers.sorted()
        let hs = chain(6, start: 60) { i, h in
            h.extraData = [UInt8](repeating: 0, count: 97)
            h.difficulty = i == 2 || i == 4 ? [1] : [2]  // blocks 62 and 64 out of turn
        }
        XCTAssertEqual(ConsensusAnalysis.engine(of: hs, scheme: .standard), .clique)
        let h = ConsensusAnalysis.analyse(headers: hs, engine: .clique, validators: signers, node: "n", now: 0)
        XCTAssertEqual(h.validators.map(\.address), sorted)
        // 62 mod 3 = 2, 64 mod 3 = 1.
        XCTAssertEqual(h.validators.map(\.missedTurns), [0, 1, 1])
        XCTAssertEqual(h.inTurnShare!, 4.0 / 6.0, accuracy: 1e-9)
    }

    func testBlockIntervalsAndGenericRotation() {
        let times: [UInt64] = [0, 5, 10, 15, 20, 45, 50, 55, 60, 65, 70]
        let a = Self.addr(1), b = Self.addr(2)
        let hs = chain(11, times: times) { i, h in h.miner = i % 2 == 0 ? a : b; h.difficulty = [] }
        XCTAssertEqual(ConsensusAnalysis.engine(of: hs, scheme: .standard), .generic)
        let h = ConsensusAnalysis.analyse(headers: hs, engine: .generic, validators: nil, node: "n", now: 100)
        XCTAssertEqual(h.blockIntervalMedian, 5)
        XCTAssertEqual(h.blockIntervalP95!, 16, accuracy: 0.01)  // one 25 s gap among ten intervals, interpolated
        XCTAssertEqual(h.secondsSinceLastBlock, 30)
        XCTAssertEqual(h.validators.map(\.proposedBlocks), [6, 5])
        XCTAssertEqual(h.validators.map(\.lastProposedBlock), [110, 109])
        XCTAssertNil(h.validators[0].missedTurns, "a generic chain does not say whose turn it was")
    }

    func testEmptyAndSingleHeader() {
        XCTAssertEqual(ConsensusAnalysis.analyse(headers: [], engine: .generic, validators: nil, node: "n", now: 0).validators, [])
        let one = chain(1) { _, h in h.miner = Self.addr(3) }
        let h = ConsensusAnalysis.analyse(headers: one, engine: .qbft, validators: nil, node: "n", now: 0)
        XCTAssertNil(h.blockIntervalMedian)
        XCTAssertEqual(h.validators.first?.proposedBlocks, 1)
    }
}
