import ChainCore
import GridCore
import XCTest

@testable import GridSimulator

/// JSON-RPC semantics over an in-memory ledger (no sockets): fast and exact.
final class RPCServiceTests: XCTestCase {
    struct Fixture {
        let net: SimulatedNetwork
        let ledger: Ledger
        let rpc: RPCService
        let session: RPCSession

        func call(_ method: String, _ params: [JSON] = [], session: RPCSession? = nil) throws -> JSON {
            let text = rpc.handle(text: JSONRPC.request(id: 7, method: method, params: params).serialized(), session: session)
            return try JSON.parse(try XCTUnwrap(text))
        }
        func result(_ method: String, _ params: [JSON] = []) throws -> JSON {
            let r = try call(method, params, session: session)
            XCTAssertNil(r["error"], "\(method): \(r.serialized())")
            return try XCTUnwrap(r["result"])
        }
        func error(_ method: String, _ params: [JSON] = []) throws -> (Int, String) {
            let r = try call(method, params, session: session)
            let e = try XCTUnwrap(r["error"], "\(method) should fail: \(r.serialized())")
            return (try XCTUnwrap(e["code"]?.intValue), try XCTUnwrap(e["message"]?.stringValue))
        }
    }

    /// Registrations in blocks 1–4, interval 0 from block 5 on, interval 1 later; 12 blocks.
    func fixture(nodes: Int = 3) -> Fixture {
        var c = SimulationConfig()
        c.nodes = nodes
        c.seed = 11
        // Every reading on time: these tests count one reading per asset per interval.
        c.missingReadingRate = 0
        c.lateReadingRate = 0
        let net = SimulatedNetwork(config: c)
        let ledger = Ledger(chainId: c.chainId, contract: SimulatedNetwork.meteringContract, validators: net.validators,
                            genesisTimestamp: 1_800_000_000)
        ledger.enqueue(net.registrationTransactions())
        for n in 1...12 {
            if n == 5 { ledger.enqueue(net.intervalTransactions(0, nextBlock: 5)) }
            if n == 8 { ledger.enqueue(net.intervalTransactions(1, nextBlock: 8)) }
            ledger.produceBlock(timestamp: 1_800_000_000 + UInt64(n))
        }
        let hub = SubscriptionHub(salt: 1)
        return Fixture(net: net, ledger: ledger, rpc: RPCService(ledger: ledger, hub: hub, peerCount: nodes - 1),
                       session: hub.open())
    }

    func testSimpleMethods() throws {
        let f = fixture()
        XCTAssertEqual(try f.result("eth_chainId"), "0x47524944")
        XCTAssertEqual(try f.result("net_version"), "1196575044")
        XCTAssertEqual(try f.result("eth_blockNumber"), "0xc")
        XCTAssertEqual(try f.result("net_peerCount"), "0x2")
        XCTAssertEqual(try f.result("web3_clientVersion"), "gridtop-sim/0.1 (SIMULATED)")
        let (code, msg) = try f.error("eth_sendRawTransaction", ["0x00"])
        XCTAssertEqual(code, -32601)
        XCTAssertEqual(msg, "the method eth_sendRawTransaction does not exist/is not available")
        let parse = try JSON.parse(try XCTUnwrap(f.rpc.handle(text: "{\"jsonrpc\":\"2.0\",\"id\":1,", session: nil)))
        XCTAssertEqual(parse["id"], .null)
        XCTAssertEqual(parse["error"]?["code"], -32700)
    }

    func testBatch() throws {
        let f = fixture()
        let batch: JSON = [JSONRPC.request(id: 1, method: "eth_chainId", params: []),
                           JSONRPC.request(id: 2, method: "nope", params: []),
                           ["jsonrpc": "2.0", "method": "eth_blockNumber"],  // notification: no reply
                           JSONRPC.request(id: 3, method: "eth_blockNumber", params: [])]
        let reply = try JSON.parse(try XCTUnwrap(f.rpc.handle(text: batch.serialized(), session: nil)))
        let items = try XCTUnwrap(reply.arrayValue)
        XCTAssertEqual(items.map { $0["id"] }, [1, 2, 3])
        XCTAssertEqual(items[0]["result"], "0x47524944")
        XCTAssertEqual(items[1]["error"]?["code"], -32601)
        XCTAssertEqual(items[2]["result"], "0xc")
        let empty = try JSON.parse(try XCTUnwrap(f.rpc.handle(text: "[]", session: nil)))
        XCTAssertEqual(empty["error"]?["code"], -32600)
    }

    func testBlocksChainAndRotateProposers() throws {
        let f = fixture(nodes: 3)
        var parent = f.ledger.block(number: 0)!.hash
        for n in 1...12 {
            let b = try f.result("eth_getBlockByNumber", [.string(Hex.quantity(UInt64(n))), false])
            let h = try BlockHeader(json: b)
            XCTAssertEqual(h.parentHash, parent)
            XCTAssertEqual(h.number, UInt64(n))
            XCTAssertEqual(h.miner, f.net.validators[n % 3])
            XCTAssertEqual(h.miner, SimulatedNetwork.address(of: "validator-\(n % 3)"))
            XCTAssertEqual(h.difficulty, [1])
            parent = h.hash
            let byHash = try f.result("eth_getBlockByHash", [.string(h.hash.hex), false])
            XCTAssertEqual(byHash, b)
        }
        XCTAssertEqual(try f.result("eth_getBlockByNumber", ["latest", false])["number"], "0xc")
        XCTAssertEqual(try f.result("eth_getBlockByNumber", ["finalized", false])["number"], "0xc")
        XCTAssertEqual(try f.result("eth_getBlockByNumber", ["earliest", false])["number"], "0x0")
        XCTAssertEqual(try f.result("eth_getBlockByNumber", ["0x63", false]), .null)
        XCTAssertEqual(try f.error("eth_getBlockByNumber", ["12", false]).0, -32602)
        XCTAssertEqual(try f.error("eth_getBlockByNumber", ["latest"]).1, "missing value for required argument 1")
    }

    func testFullTransactionsAndLogIndexes() throws {
        let f = fixture()
        // Interval 0 went into blocks 5…7: each has transactions whose logs carry their tx hash.
        var readings = 0
        var blocksWithSeveral = 0
        for n in 5...7 {
            guard let b = f.ledger.block(number: UInt64(n)), !b.transactions.isEmpty else { continue }
            let full = try f.result("eth_getBlockByNumber", [.string(Hex.quantity(UInt64(n))), true])
            let txs = try XCTUnwrap(full["transactions"]?.arrayValue)
            XCTAssertEqual(txs.count, b.transactions.count)
            for (i, t) in txs.enumerated() {
                XCTAssertEqual(t["to"], .string(SimulatedNetwork.meteringContract.hex))
                XCTAssertEqual(t["blockHash"], .string(b.hash.hex))
                XCTAssertEqual(t["transactionIndex"], .string(Hex.quantity(UInt64(i))))
                XCTAssertEqual(t["value"], "0x0")
                XCTAssertEqual(t["type"], "0x0")
                for k in ["hash", "from", "input", "nonce", "gas", "blockNumber"] { XCTAssertNotNil(t[k]?.stringValue, k) }
            }
            let logs = try f.result("eth_getLogs", [["blockHash": .string(b.hash.hex)]]).arrayValue!.map { try Log(json: $0) }
            XCTAssertEqual(logs.map(\.logIndex), (0..<UInt32(logs.count)).map { $0 })
            for l in logs {
                XCTAssertEqual(l.transactionHash, b.transactions[Int(l.transactionIndex)].hash)
                XCTAssertEqual(l.address, SimulatedNetwork.meteringContract)
                if case .meterReading = try LedgerSchemaV1.decode(l) { readings += 1 }
            }
            if Set(logs.map(\.transactionIndex)).count > 1 { blocksWithSeveral += 1 }
        }
        // The demo has ~5 data concentrators now (transformers of 50–150 consumers; were 20), so a block
        // of a 3-block spread may hold one transaction: at least one block must hold several.
        XCTAssertGreaterThan(blocksWithSeveral, 0, "a block of interval 0 should hold several transactions")
        XCTAssertEqual(readings, f.net.model.topology.assets.count, "one reading per asset per interval")
    }

    func testGetLogsFilters() throws {
        let f = fixture()
        let all = try f.result("eth_getLogs", [["fromBlock": "earliest", "toBlock": "latest"]]).arrayValue!
        let regs = try f.result("eth_getLogs", [["fromBlock": "0x0", "toBlock": "latest",
                                                 "address": .string(SimulatedNetwork.meteringContract.hex),
                                                 "topics": [.string(LedgerSchemaV1.assetRegisteredTopic.hex)]]]).arrayValue!
        XCTAssertEqual(regs.count, f.net.model.topology.assets.count)
        XCTAssert(regs.allSatisfy { $0["blockNumber"]!.quantity! <= 4 })
        // Registrations: parents before children across blocks.
        var seen = Set<AssetID>([.zero])
        for r in regs {
            guard case .assetRegistered(let a) = try LedgerSchemaV1.decode(try Log(json: r)) else { return XCTFail() }
            XCTAssert(seen.contains(a.parent)); seen.insert(a.asset)
        }
        // One asset's readings (topic1), any event kind at position 0, OR-list at position 0.
        let tx1 = Bytes32.asset(code: "TX-0001")
        let one = try f.result("eth_getLogs", [["fromBlock": "0x0", "topics": [
            [.string(LedgerSchemaV1.meterReadingTopic.hex), .string(LedgerSchemaV1.energyTransferTopic.hex)],
            .string(tx1.hex)]]]).arrayValue!
        XCTAssertEqual(one.count, 2)  // intervals 0 and 1
        XCTAssertEqual(try Set(one.map { try Log(json: $0).topics[2].uint64! }),
                       [SimulationConfig.epoch, SimulationConfig.epoch + 900])
        let wildcard = try f.result("eth_getLogs", [["fromBlock": "0x0", "topics": [.null, .string(tx1.hex)]]]).arrayValue!
        XCTAssertEqual(wildcard.count, 3)  // its registration too
        let otherAddress = try f.result("eth_getLogs", [["fromBlock": "0x0",
                                                         "address": ["0x0000000000000000000000000000000000000001"]]])
        XCTAssertEqual(otherAddress, .array([]))
        XCTAssertGreaterThan(all.count, regs.count)
        // go-ethereum's range errors.
        XCTAssertEqual(try f.error("eth_getLogs", [["fromBlock": "0x5", "toBlock": "0x2"]]).1, "invalid block range params")
        let beyond = try f.error("eth_getLogs", [["fromBlock": "0x1", "toBlock": "0x64"]])
        XCTAssertEqual(beyond.0, -32602)
        XCTAssertEqual(beyond.1, "block range extends beyond current head block")
        XCTAssertEqual(try f.error("eth_getLogs", [["blockHash": .string(Bytes32.zero.hex)]]).1, "unknown block")
    }

    /// `eth_getLogs` answers are written as bytes without a JSON tree; they must be the very
    /// text the JSON tree serialises to, alone, in a batch, and as errors.
    func testGetLogsBytesEqualTheJSONTreeText() throws {
        let f = fixture()
        let six = try XCTUnwrap(f.ledger.block(number: 6))
        let filters: [JSON] = [
            ["fromBlock": "earliest", "toBlock": "latest"],
            ["fromBlock": "0x5", "toBlock": "0x9",
             "topics": [[.string(LedgerSchemaV1.meterReadingTopic.hex), .string(LedgerSchemaV1.energyTransferTopic.hex)]]],
            ["blockHash": .string(six.hash.hex)],
            ["fromBlock": "0x0", "topics": [.null, .string(Bytes32.asset(code: "TX-0001").hex)]],
            ["fromBlock": "0x0", "address": ["0x0000000000000000000000000000000000000001"]],
            ["fromBlock": "0x5", "toBlock": "0x2"],
            ["blockHash": .string(Bytes32.zero.hex)],
        ]
        var total = 0
        for (k, filter) in filters.enumerated() {
            let request = JSONRPC.request(id: k, method: "eth_getLogs", params: [filter])
            let bytes = try XCTUnwrap(f.rpc.handleBytes(text: request.serialized(), session: f.session))
            let tree = try XCTUnwrap(f.rpc.handle(message: request, session: f.session))  // call → getLogs → JSON tree
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), tree.serialized(), "filter \(k)")
            total += tree["result"]?.arrayValue?.count ?? 0
        }
        XCTAssertGreaterThan(total, 100)
        // In a batch, between other calls and a notification (which gets no answer).
        let items: [JSON] = [
            JSONRPC.request(id: 1, method: "eth_blockNumber", params: []),
            ["jsonrpc": "2.0", "method": "eth_getLogs", "params": [filters[0]]],
            JSONRPC.request(id: 2, method: "eth_getLogs", params: [filters[0]]),
            JSONRPC.request(id: 3, method: "eth_getLogs", params: [filters[5]]),
        ]
        let bytes = try XCTUnwrap(f.rpc.handleBytes(text: JSON.array(items).serialized(), session: f.session))
        let expected = JSON.array(items.compactMap { f.rpc.handle(message: $0, session: f.session) })
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), expected.serialized())
        XCTAssertEqual(expected.arrayValue?.count, 3)
        XCTAssertNil(f.rpc.handleBytes(text: JSON.array([items[1]]).serialized(), session: f.session), "notifications only")
    }

    func testSubscriptionsPushGoEthereumShapes() throws {
        let f = fixture()
        let heads = try f.result("eth_subscribe", ["newHeads"]).stringValue!
        let logs = try f.result("eth_subscribe", ["logs", ["topics": [.string(LedgerSchemaV1.meterReadingTopic.hex)]]]).stringValue!
        for id in [heads, logs] {
            XCTAssert(id.hasPrefix("0x")); XCTAssertEqual(id.count, 34)
            XCTAssertNotNil(try? Hex.decode(id))
        }
        XCTAssertNotEqual(heads, logs)
        f.ledger.enqueue(f.net.intervalTransactions(2, nextBlock: 13))
        f.session.notify(block: f.ledger.produceBlock(timestamp: 1_800_000_100), contract: SimulatedNetwork.meteringContract)
        f.session.finish()
        let pushed = try awaitAll(f.session.outgoing)
        let head = pushed[0]
        XCTAssertEqual(Set(head.objectValue!.keys), ["jsonrpc", "method", "params"])
        XCTAssertEqual(head["method"], "eth_subscription")
        XCTAssertEqual(head["params"]?["subscription"], .string(heads))
        XCTAssertNil(head["params"]?["result"]?["transactions"])
        XCTAssertEqual(head["params"]?["result"]?["number"], "0xd")
        let logMessages = pushed.dropFirst()
        XCTAssertFalse(logMessages.isEmpty)
        for m in logMessages {
            XCTAssertEqual(m["params"]?["subscription"], .string(logs))
            let result = try XCTUnwrap(m["params"]?["result"])
            XCTAssertEqual(result["removed"], false)
            guard case .meterReading = try LedgerSchemaV1.decode(try Log(json: result)) else { return XCTFail("not a reading") }
        }
        XCTAssertEqual(try f.result("eth_unsubscribe", [.string(heads)]), true)
        XCTAssertEqual(try f.error("eth_unsubscribe", [.string(heads)]).1, "subscription not found")
        // Over HTTP there is no session: subscriptions are refused like geth does.
        XCTAssertEqual(try f.call("eth_subscribe", ["newHeads"])["error"]?["message"], "notifications not supported")
    }

    func awaitAll(_ s: AsyncStream<OutgoingMessage>) throws -> [JSON] {
        let box = Locked<[String]>([])
        let done = expectation(description: "drained")
        Task { for await m in s { box.withLock { $0.append(m.text) } }; done.fulfill() }
        wait(for: [done], timeout: 2)
        return try box.withLock { $0 }.map { try JSON.parse($0) }
    }
}

final class LedgerTests: XCTestCase {
    func testLogsBloomAndEmptyBlocks() {
        let net = SimulatedNetwork(config: SimulationConfig())
        let ledger = Ledger(chainId: 1, contract: SimulatedNetwork.meteringContract, validators: net.validators,
                            genesisTimestamp: 1_800_000_000)
        ledger.enqueue(net.registrationTransactions())
        let b1 = ledger.produceBlock(timestamp: 1_800_000_001)
        func has(_ bloom: [UInt8], _ v: [UInt8]) -> Bool {
            var probe = [UInt8](repeating: 0, count: 256)
            Ledger.addToBloom(&probe, v)
            return zip(probe, bloom).allSatisfy { $0 & $1 == $0 }
        }
        XCTAssert(has(b1.header.logsBloom, SimulatedNetwork.meteringContract.bytes))
        XCTAssert(has(b1.header.logsBloom, LedgerSchemaV1.assetRegisteredTopic.bytes))
        XCTAssertEqual(b1.header.logsBloom.filter { $0 != 0 }.isEmpty, false)
        for _ in 2...4 { ledger.produceBlock(timestamp: 1_800_000_002) }
        let empty = ledger.produceBlock(timestamp: 1_800_000_000)  // a clock step back never reorders time
        XCTAssert(empty.transactions.isEmpty)
        XCTAssertEqual(empty.header.logsBloom, [UInt8](repeating: 0, count: 256))
        XCTAssertEqual(empty.header.transactionsRoot, BlockHeader.emptyTrieRoot)
        XCTAssertEqual(empty.header.timestamp, 1_800_000_002)
        XCTAssertEqual(ledger.headNumber, 5)
        XCTAssertEqual(ledger.block(hash: empty.hash)?.number, 5)
        // Nonces count per sender: the operator's upstream transaction, then one per transformer
        // (the transformer count is derived from the 520 consumers).
        XCTAssertEqual(ledger.block(number: 4)?.transactions.last?.nonce, UInt64(1 + net.model.topology.transformers.count - 1))
    }

    func testQuantity256() {
        XCTAssertEqual(RPCService.quantity256(.zero), "0x0")
        XCTAssertEqual(RPCService.quantity256(Bytes32(uint: 0x1a)), "0x1a")
    }
}

final class HeaderTests: XCTestCase {
    /// Every served header verifies: hash = keccak(rlp(fields)), through the JSON a client sees.
    func testServedHeadersVerifyAndCarryQBFTExtraData() throws {
        var c = SimulationConfig()
        c.nodes = 4
        let net = SimulatedNetwork(config: c)
        let ledger = Ledger(chainId: c.chainId, contract: SimulatedNetwork.meteringContract, validators: net.validators,
                            genesisTimestamp: 1_800_000_000)
        ledger.enqueue(net.registrationTransactions())
        ledger.enqueue(net.intervalTransactions(0, nextBlock: 5))
        for n in 1...8 { ledger.produceBlock(timestamp: 1_800_000_000 + UInt64(n)) }
        for n in 0...8 {
            let b = try XCTUnwrap(ledger.block(number: UInt64(n)))
            let served = try BlockHeader(json: try JSON.parse(b.header.json.serialized()))
            // Besu QBFT hashing: seals excluded; genesis hashed as served.
            XCTAssertEqual(HeaderHashing.verify(served), n == 0 ? .standard : .qbft, "block \(n)")
            XCTAssertEqual(served.hash, b.hash)
            // extraData: [vanity, validators, vote, round, seals]
            guard case .list(let items) = try RLP.decode(served.extraData), items.count == 5,
                  case .bytes(let vanity) = items[0], case .list(let vals) = items[1], case .list(let seals) = items[4]
            else { return XCTFail("extraData is not QBFT-shaped") }
            XCTAssertEqual(vanity.count, 32)
            XCTAssert(String(decoding: vanity, as: UTF8.self).contains("SIMULATED"))
            XCTAssertEqual(vals, net.validators.map { .bytes($0.bytes) })
            XCTAssertEqual(seals.count, n == 0 ? 0 : 3)
        }
        // Tampering shows.
        var h = ledger.block(number: 5)!.header
        h.gasUsed += 1
        XCTAssertNil(HeaderHashing.verify(h))
    }
}
