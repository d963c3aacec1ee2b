import ChainCore
import XCTest

@testable import GridSimulator
@testable import LedgerClient

/// The node's `finalized` block is polled with the health batch and carried on its status.
final class FinalizedTagTests: SimulatorTestCase {
    func testTheNodesFinalizedBlockIsOnItsStatus() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1))
        let rec = follow(net, urls) { $0.healthPollEvery = .milliseconds(200) }
        await eventually("the finalized block is reported") { await (rec.lastStatus?.first?.finalizedNumber ?? 0) > 0 }
        let finalized = await rec.lastStatus?.first?.finalizedNumber ?? 0
        // The simulator is a QBFT chain: its finalized block is its head.
        XCTAssertLessThanOrEqual(finalized, net.ledger!.headNumber)
        XCTAssertGreaterThan(finalized, 0)
    }
}
