import ChainCore
import GridCore
import GridSimulator
import Logging
import XCTest

@testable import LedgerClient

/// The backfill's fast path: `eth_getLogs` answers routed as raw frames to `GetLogsDecoder`
/// (no JSON tree) must give exactly what the generic path gives, from a real node.
final class GetLogsFastPathTests: LoopbackTestCase {
    static let allTopics: JSON = .array([.array(LedgerSchemaV1.allTopics.map { .string($0.hex) })])

    func testFastAndGenericPathsDecodeASimulatorAnswerIdentically() async throws {
        var sim = SimulationConfig()
        sim.nodes = 1
        sim.blockTime = .milliseconds(40)
        sim.intervalEvery = .milliseconds(80)
        sim.theftAfter = .seconds(3600)
        let net = SimulatedNetwork(config: sim)
        let urls = try await net.start()
        var logger = Logger(label: "fast-path-test")
        logger.logLevel = .critical
        let conn = RPCConnection(settings: .init(url: urls[0], headers: [:], maxFrameSize: 16 << 20, requestTimeout: .seconds(10)),
                                 logger: logger, onLatency: { _ in })
        let runner = Task { await conn.run() }
        do {
            try await conn.waitOpen()
            var head: UInt64 = 0
            while head < 14 {
                try await Task.sleep(for: .milliseconds(50))
                let n = try await conn.call("eth_blockNumber").quantity
                head = try XCTUnwrap(n)
            }
            let filter: JSON = ["fromBlock": "0x0", "toBlock": .string(Hex.quantity(head)), "topics": Self.allTopics]
            let frame = try await conn.getLogsFrame(filter)
            let fast = try GetLogsDecoder.gridLogs(frame)
            let generic = try frame.withUnsafeBytes { try GetLogsDecoder.genericGridLogs($0) }
            XCTAssertEqual(fast, generic)
            XCTAssertGreaterThan(fast.count, 500, "registrations and several intervals of readings")
            // And each equals the plain reference: the JSON tree, `Log(json:)`, schema v1.
            let items = try XCTUnwrap(try JSON.parse(frame)["result"]?.arrayValue)
            XCTAssertEqual(items.count, fast.count)
            var kinds = Set<String>()
            for (g, item) in zip(fast, items) {
                let log = try Log(json: item)
                let c = try g.content.get()
                XCTAssertEqual(g.block, GridLog.Block(number: log.blockNumber, hash: log.blockHash))
                XCTAssertEqual(c.origin, EventOrigin(log: log))
                XCTAssertEqual(c.address, log.address)
                XCTAssertFalse(c.removed)
                let event = try LedgerSchemaV1.decode(log)
                XCTAssertEqual(c.grid, .event(event))
                kinds.insert("\(event)".prefix { $0 != "(" }.description)
            }
            XCTAssertEqual(kinds, ["assetRegistered", "meterReading"], "both event kinds seen")
            // Keyed by (block hash, log index): every log once.
            let keys = Set(fast.map { g in (try? g.content.get()).map { LogKey(blockHash: $0.origin.blockHash, logIndex: $0.origin.logIndex) } })
            XCTAssertEqual(keys.count, fast.count)
            // The client's own call (routing by id, decoding off the connection's actor) gives the same.
            let viaClient = try await conn.getLogs(filter)
            XCTAssertEqual(viaClient, fast)
        } catch {
            runner.cancel()
            await net.stop()
            throw error
        }
        await conn.close(.disconnected("done"))
        runner.cancel()
        await net.stop()
    }

    func testTruncatedGetLogsAnswerIsAClearErrorAndNothingIsLost() async throws {
        let chain = TestChain()
        await chain.prebuild((0..<30).map { i in [.init(.meterReading(Self.reading(start: UInt64(i) * 900, wh: 2)))] })
        let node = try await startNode(chain)
        // The first two eth_getLogs answers are cut in half.
        await node.setGetLogsMangler(count: 2) { String($0.prefix($0.utf8.count / 2)) }
        let rec = startClient(await config([node]))
        await eventually("the cut answer is reported as malformed", timeout: .seconds(10)) {
            (await rec.lastStatus?.first?.lastError ?? "").contains("invalid JSON")
        }
        await waitSynced(rec, chain, timeout: .seconds(20))
        let wh = await rec.importWh
        XCTAssertEqual(wh, 60)
        await assertExactlyOnce(rec)
        let accepted = await node.connectionsAccepted
        XCTAssertGreaterThanOrEqual(accepted, 2, "the connection was dropped and made again")
    }

    func testAnswerWithTheIdAfterTheResultIsDecodedAlike() async throws {
        let chain = TestChain()
        await chain.prebuild((0..<20).map { i in [.init(.meterReading(Self.reading(start: UInt64(i) * 900, wh: 5)))] })
        let node = try await startNode(chain)
        // `{"id":N,"jsonrpc":"2.0","result":[…]}` → `{"result":[…],"jsonrpc":"2.0","id":N}`.
        await node.setGetLogsMangler(count: 1_000) { text in
            guard let j = try? JSON.parse(text), let id = j["id"], let result = j["result"] else { return text }
            return #"{"result":"# + result.serialized() + #","jsonrpc":"2.0","id":"# + id.serialized() + "}"
        }
        let rec = startClient(await config([node]))
        await waitSynced(rec, chain, timeout: .seconds(20))
        let wh = await rec.importWh
        XCTAssertEqual(wh, 100)
        await assertExactlyOnce(rec)
        let err = await rec.lastStatus?.first?.lastError
        XCTAssertNil(err)
    }
}
