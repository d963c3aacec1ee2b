import ChainCore
import GridCore
import Logging
import XCTest

@testable import LedgerClient

/// Nodes that lie about logs or disagree on the chain are named, and what they say is not used.
final class FaultyNodeTests: LoopbackTestCase {
    /// Logs whose block number is impossible (2^256 and above, below zero) or missing.
    static let manglers: [(String, @Sendable (String) -> String)] = [
        ("2^256", { $0.replacingOccurrences(of: #""blockNumber":"0x"#, with: #""blockNumber":"0x1"# + String(repeating: "0", count: 64)) }),
        ("negative", { $0.replacingOccurrences(of: #""blockNumber":"0x"#, with: #""blockNumber":"-0x"#) }),
        ("missing", { $0.replacingOccurrences(of: #""blockNumber":"#, with: #""blockNumbr":"#) }),
    ]

    func testANodeServingUndecodableLogsIsUntrustedAndNothingItServedIsUsed() async throws {
        for (what, mangle) in Self.manglers {
            let chain = TestChain()
            await chain.prebuild((0..<12).map { i in [.init(.meterReading(Self.reading(start: UInt64(i) * 900, wh: 7)))] })
            let node = try await startNode(chain)
            await node.setGetLogsMangler(count: 1_000_000, mangle)
            let rec = startClient(await config([node]))
            await eventually("\(what): the node is marked untrusted", timeout: .seconds(10)) {
                await rec.lastStatus?.first?.trust == .untrusted
            }
            let status = await rec.lastStatus?.first
            XCTAssertTrue(status?.lastError?.contains("undecodable log") == true, "\(what): \(status?.lastError ?? "nil")")
            let warnings = await rec.warnings
            XCTAssertTrue(warnings.contains { $0.contains("untrusted and excluded") && $0.contains("undecodable") }, "\(what): \(warnings)")
            try await Task.sleep(for: .milliseconds(500))
            let withEvents = await rec.blocks.filter { !$0.events.isEmpty }
            XCTAssertEqual(withEvents.count, 0, "\(what): data of a faulty node was used")
            try await tearDown()
        }
    }

    func testAHonestNodeServesWhatAFaultyOneCouldNot() async throws {
        let chain = TestChain()
        await chain.prebuild((0..<12).map { i in [.init(.meterReading(Self.reading(start: UInt64(i) * 900, wh: 7)))] })
        let liar = try await startNode(chain)
        await liar.setGetLogsMangler(count: 1_000_000, Self.manglers[0].1)
        let honest = try await startNode(chain)
        var c = await config([liar, honest])
        c.quorum = 1
        let rec = startClient(c)
        await waitSynced(rec, chain, timeout: .seconds(15))
        let wh = await rec.importWh
        XCTAssertEqual(wh, 12 * 7, "every reading, once, from the honest node")
        await assertExactlyOnce(rec)
    }

    func testNodesOnTwoChainsWithoutAMajorityAreAllRefusedWithALine() async throws {
        let a = try await startNode(TestChain(chainId: 1337))
        let b = try await startNode(TestChain(chainId: 99, salt: 5))
        let rec = startClient(await config([a, b]))
        await eventually("both nodes refused", timeout: .seconds(10)) {
            let s = await rec.lastStatus ?? []
            return s.count == 2 && s.allSatisfy { $0.connection == .refused }
        }
        await eventually("the line that says so", timeout: .seconds(5)) {
            await rec.warnings.contains { $0.contains("every node is refused") }
        }
        let statuses = await rec.lastStatus ?? []
        for s in statuses {
            XCTAssertTrue(s.lastError?.contains("disagree on the chain id (1 on 99, 1 on 1337)") == true, s.lastError ?? "nil")
        }
        let warnings = await rec.warnings
        XCTAssertTrue(warnings.contains { $0.contains("every node is refused; give --chain-id") }, "\(warnings)")
        let chains = await rec.updates.filter { if case .chain = $0 { return true }; return false }
        XCTAssertEqual(chains.count, 0, "no chain was picked")
    }

    func testTheMinorityChainIsRefusedWithALine() async throws {
        let chain = TestChain(chainId: 1337)
        let a = try await startNode(chain), b = try await startNode(chain)
        let other = try await startNode(TestChain(chainId: 99, salt: 5))
        let rec = startClient(await config([a, b, other]))
        await eventually("the odd node is refused", timeout: .seconds(10)) {
            (await rec.lastStatus ?? []).last?.connection == .refused
        }
        await eventually("the line that says so", timeout: .seconds(5)) {
            await rec.warnings.contains { $0.contains("node2 refused") }
        }
        let warnings = await rec.warnings
        XCTAssertTrue(warnings.contains { $0.contains("node2 refused: it reports chain id 99") && $0.contains("1337") }, "\(warnings)")
        await waitSynced(rec, chain, timeout: .seconds(10))
    }
}
