import ChainCore
import GridCore
import Logging
import XCTest

@testable import LedgerClient

/// Collects the stream and answers questions about it.
actor Recorder {
    private(set) var updates: [LedgerUpdate] = []

    private(set) var healths: [ConsensusHealth] = []

    func add(_ u: LedgerUpdate) { updates.append(u) }
    func addHealth(_ h: ConsensusHealth) { healths.append(h) }
    var warnings: [String] { updates.compactMap { if case .warning(let w) = $0 { return w }; return nil } }

    var blocks: [ChainBlock] { updates.compactMap { if case .block(let b) = $0 { return b }; return nil } }
    var retracts: [(UInt64, Bytes32)] { updates.compactMap { if case .retract(let n, let h) = $0 { return (n, h) }; return nil } }
    var lastStatus: [NodeStatus]? { updates.reversed().lazy.compactMap { if case .nodes(let s) = $0 { return s }; return nil }.first }

    /// The chain as the consumer reconstructs it: blocks minus retracted ones.
    var liveBlocks: [ChainBlock] {
        var chain: [ChainBlock] = []
        for u in updates {
            switch u {
            case .block(let b): chain.append(b)
            case .retract(_, let h): chain.removeAll { $0.header.hash == h }
            default: break
            }
        }
        return chain
    }

    var tipHash: Bytes32? { liveBlocks.last?.header.hash }

    var importWh: UInt64 {
        liveBlocks.flatMap(\.events).reduce(0) { s, e in
            if case .meterReading(let m) = e.event { return s + m.importWh }
            return s
        }
    }
}

/// Loopback fixtures shared by the client's test cases (no tests of its own).
class LoopbackTestCase: XCTestCase {
    var tasks: [Task<Void, any Error>] = []
    var nodes: [ScriptedNode] = []

    override func tearDown() async throws {
        for t in tasks { t.cancel() }
        for t in tasks { _ = try? await t.value }
        for n in nodes { await n.stop() }
        tasks = []
        nodes = []
    }

    func startNode(_ chain: TestChain, chainIdOverride: UInt64? = nil) async throws -> ScriptedNode {
        let n = ScriptedNode(chain: chain, chainIdOverride: chainIdOverride)
        try await n.start()
        nodes.append(n)
        return n
    }

    func config(_ nodes: [ScriptedNode]) async -> LedgerClientConfiguration {
        var eps: [NodeEndpoint] = []
        for (i, n) in nodes.enumerated() { eps.append(NodeEndpoint(url: await n.url, name: "node\(i)")) }
        var c = LedgerClientConfiguration(nodes: eps)
        c.requestTimeout = .seconds(2)
        c.connectTimeout = .seconds(2)
        c.statusEvery = .milliseconds(100)
        c.reconnectBaseDelay = .milliseconds(20)
        c.reconnectMaxDelay = .milliseconds(200)
        c.healthPollEvery = .milliseconds(200)
        c.consensusEvery = .milliseconds(150)
        c.startupGrace = .milliseconds(500)
        return c
    }

    func startClient(_ c: LedgerClientConfiguration) -> Recorder {
        let rec = Recorder()
        var logger = Logger(label: "ledger-client-test")
        logger.logLevel = .critical
        let client = LedgerClient(configuration: c, logger: logger)
        tasks.append(Task { try await client.run({ await rec.add($0) }, health: { await rec.addHealth($0) }) })
        return rec
    }

    /// Polls until `condition` holds or fails the test after `timeout`.
    func eventually(_ what: String, timeout: Duration = .seconds(5), file: StaticString = #filePath, line: UInt = #line,
                    _ condition: () async -> Bool) async {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        XCTFail("timed out waiting for: \(what)", file: file, line: line)
    }

    func waitSynced(_ rec: Recorder, _ chain: TestChain, timeout: Duration = .seconds(5), line: UInt = #line) async {
        await eventually("client reaches the chain head", timeout: timeout, line: line) {
            await rec.tipHash == chain.head.hash
        }
    }

    static let tx = Bytes32.asset(code: "TX-0042")
    static let fdr = Bytes32.asset(code: "FDR-7")

    static func reading(_ asset: AssetID = tx, start: UInt64, wh: UInt64) -> MeterReading {
        MeterReading(asset: asset, intervalStart: start, intervalSeconds: 900, importWh: wh, exportWh: wh / 10)
    }

    /// Every emitted event key is unique and live blocks ascend without gaps in live mode.
    func assertExactlyOnce(_ rec: Recorder, file: StaticString = #filePath, line: UInt = #line) async {
        let live = await rec.liveBlocks
        var keys = Set<LogKey>()
        for b in live {
            for e in b.events { XCTAssertTrue(keys.insert(e.origin.key).inserted, "event delivered twice: \(e.origin)", file: file, line: line) }
        }
        for (a, b) in zip(live, live.dropFirst()) {
            XCTAssertLessThan(a.header.number, b.header.number, "blocks out of order", file: file, line: line)
        }
    }

}

final class LedgerClientTests: LoopbackTestCase {

    func testBackfillDecodesBlocksAndEventsThenFollowsLive() async throws {
        let chain = TestChain()
        let reg = AssetRegistration(asset: Self.tx, parent: Self.fdr, stage: .transformer, ratedKw: 630, name: "Transformer TX-0042 Elm St")
        let mr = MeterReading(asset: Self.tx, intervalStart: 1_794_038_400, intervalSeconds: 900, importWh: 48250, exportWh: 1200)
        let et = EnergyTransfer(from: Self.tx, to: Self.fdr, intervalStart: 1_794_038_400, wh: 3500, priceMicrosPerKwh: 125_000)
        let bad = TestChain.Item(topics: [LedgerSchemaV1.meterReadingTopic, Self.tx, Bytes32(uint: 1)], data: [1, 2, 3])
        await chain.prebuild([[], [], [.init(.assetRegistered(reg))], [], [.init(.meterReading(mr)), bad, .init(.energyTransfer(et))], [], []])
        let node = try await startNode(chain)
        var c = await config([node])
        c.fromBlock = 1
        let rec = startClient(c)
        await waitSynced(rec, chain)

        let updates = await rec.updates
        guard case .chain(let id)? = updates.first(where: { if case .nodes = $0 { return false }; return true }) else {
            return XCTFail("first update must be .chain")
        }
        XCTAssertEqual(id, 1337)
        var blocks = await rec.blocks
        // Backfill: only blocks with grid events, then the head.
        XCTAssertEqual(blocks.map(\.header.number), [3, 5, 7])
        XCTAssertEqual(blocks[0].events.map(\.event), [.assetRegistered(reg)])
        XCTAssertEqual(blocks[1].events.map(\.event), [.meterReading(mr), .energyTransfer(et)])
        XCTAssertEqual(blocks[1].events.map(\.origin.logIndex), [0, 2])
        XCTAssertEqual(blocks[1].rejectedLogs, 1)
        let v144_1 = await chain.block(number: 5)
        XCTAssertEqual(blocks[1].header, v144_1)
        XCTAssertEqual(blocks[1].events[0].origin.blockHash, blocks[1].header.hash)
        XCTAssertTrue(blocks[2].events.isEmpty)

        // Live: every block, empty or not.
        let empty = await chain.mine()
        let full = await chain.mine(readings: [Self.reading(start: 1_794_039_300, wh: 777)])
        await waitSynced(rec, chain)
        blocks = await rec.blocks
        XCTAssertEqual(blocks.suffix(2).map(\.header.hash), [empty.hash, full.hash])
        XCTAssertEqual(blocks.last?.events.first?.event, .meterReading(Self.reading(start: 1_794_039_300, wh: 777)))

        await eventually("status reports the node") {
            guard let s = await rec.lastStatus?.first else { return false }
            return s.connection == .connected && s.chainId == 1337 && s.headNumber == 9 && s.latencyMedianMs != nil
                && s.peerCount == 3 && s.clientVersion == "ScriptedNode/v1.0/linux" && s.syncing == false
        }
        await assertExactlyOnce(rec)
    }

    func testExactlyOnceWhenNodeDropsConnectionsMidStream() async throws {
        let chain = TestChain()
        await chain.prebuild((0..<5).map { i in [.init(.meterReading(Self.reading(start: UInt64(i) * 900, wh: 100 + UInt64(i))))] })
        let node = try await startNode(chain)
        let rec = startClient(await config([node]))
        await waitSynced(rec, chain)
        var start: UInt64 = 10_000
        for round in 0..<12 {
            for _ in 0..<3 {
                start += 900
                await chain.mine(readings: [Self.reading(start: start, wh: start % 997), Self.reading(Self.fdr, start: start, wh: 5)])
            }
            if round % 3 == 1 {
                await node.dropConnections()
                // Blocks mined while the client is away.
                start += 900
                await chain.mine(readings: [Self.reading(start: start, wh: 42)])
            }
            try await Task.sleep(for: .milliseconds(30))
        }
        await waitSynced(rec, chain)
        let accepted = await node.connectionsAccepted
        XCTAssertGreaterThanOrEqual(accepted, 5, "the client reconnected after each drop")
        let got = await rec.importWh
        let truth = await chain.totalImportWh()
        XCTAssertEqual(got, truth)
        let v191_0 = await rec.retracts.isEmpty
        XCTAssertTrue(v191_0)
        await assertExactlyOnce(rec)
        // After the backfill, every live block is there exactly once.
        let numbers = await rec.blocks.map(\.header.number).filter { $0 >= 5 }
        let v196_1 = Array(5...(await chain.head.number))
        XCTAssertEqual(numbers, v196_1)
    }

    func testHeadGapIsBackfilled() async throws {
        let chain = TestChain()
        let node = try await startNode(chain)
        let rec = startClient(await config([node]))
        await waitSynced(rec, chain)
        await node.skipNextHeads(3)
        for i in 0..<4 { await chain.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 10)]) }
        await waitSynced(rec, chain)
        let numbers = await rec.blocks.map(\.header.number)
        XCTAssertEqual(numbers, [0, 1, 2, 3, 4])
        let v210_0 = await rec.importWh
        XCTAssertEqual(v210_0, 40)
        await assertExactlyOnce(rec)
    }

    func testReorgRetractsOrphanedBlocksNewestFirst() async throws {
        let chain = TestChain()
        let node = try await startNode(chain)
        let rec = startClient(await config([node]))
        await waitSynced(rec, chain)
        for i in 0..<4 { await chain.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 1000)]) }
        await waitSynced(rec, chain)
        let old3 = await chain.block(number: 3)!, old4 = await chain.block(number: 4)!
        let fresh = await chain.reorg(depth: 2, replacement: [
            [.init(.meterReading(Self.reading(start: 2 * 900, wh: 7)))], [], [.init(.meterReading(Self.reading(start: 9 * 900, wh: 5)))],
        ])
        await waitSynced(rec, chain)
        let retracts = await rec.retracts
        XCTAssertEqual(retracts.map(\.0), [4, 3])
        XCTAssertEqual(retracts.map(\.1), [old4.hash, old3.hash])
        let tail = await rec.blocks.suffix(3).map(\.header.hash)
        XCTAssertEqual(tail, fresh.map(\.hash))
        let v232_0 = await rec.importWh
        let v233_1 = await chain.totalImportWh()
        XCTAssertEqual(v232_0, v233_1)
        let v235_0 = await rec.importWh
        XCTAssertEqual(v235_0, 2000 + 7 + 5)
        await assertExactlyOnce(rec)

        // A reorg at the same height (newHeads repeats a height) is followed too.
        let before = await chain.head
        let same = await chain.reorg(depth: 1, replacement: [[]])
        await waitSynced(rec, chain)
        let v243_0 = await rec.retracts.last?.1
        XCTAssertEqual(v243_0, before.hash)
        let v245_0 = await rec.blocks.last?.header.hash
        XCTAssertEqual(v245_0, same[0].hash)
    }

    func testRemovedLogsAloneRevealAReorg() async throws {
        let chain = TestChain()
        let node = try await startNode(chain)
        let rec = startClient(await config([node]))
        for i in 0..<3 { await chain.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 300)]) }
        await waitSynced(rec, chain)
        let old = await chain.head
        // The node swallows the new head: only `removed: true` logs tell the client.
        await node.skipNextHeads(1)
        let fresh = await chain.reorg(depth: 1, replacement: [[.init(.meterReading(Self.reading(start: 2 * 900, wh: 30)))]])
        await waitSynced(rec, chain)
        let retracts = await rec.retracts
        XCTAssertEqual(retracts.map(\.1), [old.hash])
        let last = await rec.blocks.last?.header.hash
        XCTAssertEqual(last, fresh[0].hash)
        let wh = await rec.importWh
        XCTAssertEqual(wh, 630)
        await assertExactlyOnce(rec)
    }

    func testSilentNodeTimesOutAndIsReconnected() async throws {
        let chain = TestChain()
        let node = try await startNode(chain)
        var c = await config([node])
        c.requestTimeout = .milliseconds(300)
        let rec = startClient(c)
        await waitSynced(rec, chain)
        // A node that answers other calls but not this one stays connected; the error is shown.
        await node.setSilent(["eth_getLogs"])
        await chain.mine(readings: [Self.reading(start: 0, wh: 5)])
        await eventually("timeout reported") { (await rec.lastStatus?.first?.lastError ?? "").contains("timed out") }
        // A node that answers nothing is dropped and dialled again.
        await node.setSilent(["*"])
        await eventually("reconnected after repeated timeouts") { await node.connectionsAccepted >= 2 }
        await node.setSilent([])
        await chain.mine(readings: [Self.reading(start: 900, wh: 6)])
        await waitSynced(rec, chain)
        let wh = await rec.importWh
        XCTAssertEqual(wh, 11)
        await assertExactlyOnce(rec)
    }

    func testNodeWithWrongChainIdIsRefused() async throws {
        let good = TestChain(chainId: 1337)
        let other = TestChain(chainId: 99, salt: 1_000_000)
        await other.prebuild([[], [.init(.meterReading(Self.reading(start: 0, wh: 999)))]])
        let bad = try await startNode(other)
        let ok = try await startNode(good)
        var c = await config([bad, ok])
        c.expectedChainId = 1337
        let rec = startClient(c)
        await good.mine(readings: [Self.reading(start: 0, wh: 1)])
        await waitSynced(rec, good)
        await eventually("the wrong-chain node is refused") {
            guard let s = await rec.lastStatus else { return false }
            return s[0].connection == .refused && s[0].chainId == 99 && (s[0].lastError ?? "").contains("chain id 99")
                && s[1].connection == .connected
        }
        let otherHashes = Set(await other.canonical.map(\.hash))
        for b in await rec.blocks { XCTAssertFalse(otherHashes.contains(b.header.hash)) }
        let v267_0 = await bad.calls["eth_getLogs"] ?? 0
        XCTAssertEqual(v267_0, 0, "a refused node is never used")
    }

    func testMalformedFrameIsReportedAndReconnects() async throws {
        let chain = TestChain()
        let node = try await startNode(chain)
        var c = await config([node])
        c.maxFrameSize = 64 << 10
        let rec = startClient(c)
        await waitSynced(rec, chain)
        await node.sendRaw("{\"jsonrpc\":\"2.0\",\"id\":")
        await eventually("malformed frame reported") {
            (await rec.lastStatus?.first?.lastError ?? "").contains("malformed")
        }
        await chain.mine(readings: [Self.reading(start: 0, wh: 9)])
        await waitSynced(rec, chain)
        let v284_0 = await node.connectionsAccepted
        XCTAssertGreaterThanOrEqual(v284_0, 2)

        // A frame over the size limit is refused the same way, and followed by a reconnect.
        await node.sendRaw("[" + String(repeating: "1,", count: 40_000) + "1]")
        await eventually("reconnected after an oversized frame") { await node.connectionsAccepted >= 3 }
        await chain.mine(readings: [Self.reading(start: 900, wh: 11)])
        await waitSynced(rec, chain)
        let v292_0 = await rec.importWh
        XCTAssertEqual(v292_0, 20)
        await assertExactlyOnce(rec)
    }

    /// A node may split a message into continuation frames: the client assembles it (eth_getLogs
    /// answers included) and still refuses one whose frames add up to more than the limit.
    func testFragmentedMessagesAreAssembledAndLimited() async throws {
        let chain = TestChain()
        await chain.prebuild((0..<40).map { i in [.init(.meterReading(Self.reading(start: UInt64(i) * 900, wh: 2)))] })
        let node = try await startNode(chain)
        await node.setFragmentBytes(97)
        var c = await config([node])
        c.maxFrameSize = 64 << 10
        let rec = startClient(c)
        await waitSynced(rec, chain)
        let wh = await rec.importWh
        XCTAssertEqual(wh, 80)
        await assertExactlyOnce(rec)
        let accepted = await node.connectionsAccepted
        // Over the limit in pieces of 97 bytes: refused as a whole, then a reconnect.
        await node.setFragmentBytes(4096)
        await node.setMaxLogRange(nil)
        await chain.mine((0..<400).map { k in .init(.meterReading(Self.reading(start: 40 * 900 + UInt64(k), wh: 1))) })
        await eventually("an answer over the limit is refused", timeout: .seconds(10)) {
            (await rec.lastStatus?.first?.lastError ?? "").contains("larger than the maximum frame size")
        }
        // The refusal is reported when the connection ends; the reconnect follows after the backoff.
        await eventually("a reconnect after the refusal", timeout: .seconds(5)) { await node.connectionsAccepted > accepted }
    }

    func testTwoNodesOneDiesNoLoss() async throws {
        let chain = TestChain()
        await chain.prebuild([[.init(.meterReading(Self.reading(start: 0, wh: 500)))]])
        let a = try await startNode(chain)
        let b = try await startNode(chain)
        let rec = startClient(await config([a, b]))
        await waitSynced(rec, chain)
        for i in 1...3 { await chain.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 100)]) }
        await waitSynced(rec, chain)
        await a.setDown(true)
        for i in 4...9 {
            await chain.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 100)])
            try await Task.sleep(for: .milliseconds(20))
        }
        await waitSynced(rec, chain)
        await eventually("status shows the dead node") {
            guard let s = await rec.lastStatus else { return false }
            return s[0].connection != .connected && s[1].connection == .connected
        }
        let v316_0 = await rec.importWh
        let v317_1 = await chain.totalImportWh()
        XCTAssertEqual(v316_0, v317_1)
        let v319_0 = await rec.importWh
        XCTAssertEqual(v319_0, 500 + 9 * 100)
        await assertExactlyOnce(rec)
        // And back: the revived node is used again without duplicates.
        await a.setDown(false)
        await b.setDown(true)
        await eventually("node0 reconnects") { (await rec.lastStatus?[0].connection) == .connected }
        for i in 10...12 { await chain.mine(readings: [Self.reading(start: UInt64(i) * 900, wh: 100)]) }
        await waitSynced(rec, chain)
        let v328_0 = await rec.importWh
        XCTAssertEqual(v328_0, 500 + 12 * 100)
        await assertExactlyOnce(rec)
    }

    func testStatusNeverShowsCredentials() async throws {
        let chain = TestChain()
        let node = try await startNode(chain)
        let port = await node.port
        var c = await config([node])
        c.nodes = [NodeEndpoint(url: "ws://127.0.0.1:\(port)/", name: "main", headers: ["Authorization": "Bearer s3cr3t-token"])]
        let rec = startClient(c)
        await waitSynced(rec, chain)
        await eventually("status emitted") { await rec.lastStatus?.first?.connection == .connected }
        let text = "\(await rec.updates)"
        XCTAssertFalse(text.contains("s3cr3t"))

        XCTAssertEqual(Redaction.sanitize(url: "wss://alice:pw@rpc.example.org:8546/v3/0123456789abcdef0123456789abcdef?key=zz#x"),
                       "wss://rpc.example.org:8546/v3/‹redacted›")
        let ep = NodeEndpoint(url: "wss://alice:hunter22@rpc.example.org/ws?apikey=topsecret", headers: ["X-Token": "tok-999"])
        XCTAssertEqual(ep.name, "rpc.example.org")
        let scrubbed = Redaction.scrub("dial wss://alice:hunter22@rpc.example.org/ws?apikey=topsecret with tok-999 failed",
                                       secrets: Redaction.secrets(of: ep))
        for s in ["hunter22", "topsecret", "tok-999"] { XCTAssertFalse(scrubbed.contains(s), scrubbed) }
    }
}

