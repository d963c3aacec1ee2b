import ChainCore
import GridCore
import XCTest

@testable import GridSimulator

final class FaultScriptTests: XCTestCase {
    func testParsesTheCommandLineSyntax() throws {
        XCTAssertEqual(try FaultScript(parsing: "node2:lag=5@30s"), FaultScript(node: 2, fault: .lag(5), at: .seconds(30)))
        XCTAssertEqual(try FaultScript(parsing: "node1:drop@10s/15s"),
                       FaultScript(node: 1, fault: .drop, at: .seconds(10), every: .seconds(15)))
        XCTAssertEqual(try FaultScript(parsing: "node1:drop@1.5s/500msx3"),
                       FaultScript(node: 1, fault: .drop, at: .milliseconds(1500), every: .milliseconds(500), count: 3))
        XCTAssertEqual(try FaultScript(parsing: "node0:restart=3s@20s").fault, .restart(down: .seconds(3)))
        XCTAssertEqual(try FaultScript(parsing: "node3:slow=250ms").fault, .slow(.milliseconds(250)))
        XCTAssertEqual(try FaultScript(parsing: "reorg=3@40s/60s x2"),
                       FaultScript(node: 0, fault: .reorg(depth: 3), at: .seconds(40), every: .seconds(60), count: 2))
        XCTAssertEqual(try FaultScript(parsing: "node1:lie").fault, .lie(true))
        XCTAssertEqual(try FaultScript(parsing: "node1:chain=1234").fault, .chainId(1234))
        XCTAssertEqual(try FaultScript(parsing: "node1:malformed@5s").fault, .malformed)
        XCTAssertEqual(try FaultScript(parsing: "node1:oversized=17MiB").fault, .oversized(bytes: 17 << 20))
        XCTAssertEqual(try FaultScript(parsing: "node0:no-ns=qbft").fault, .disableNamespace("qbft"))
        for bad in ["node2:lag", "nodeX:drop", "explode", "node1:slow=fast", "reorg=0", "node1:drop@soon"] {
            XCTAssertThrowsError(try FaultScript(parsing: bad), bad)
        }
        // Round trip through the description.
        for text in ["node2:lag=5@30s", "node1:drop@10s/15sx4", "node0:restart=3s@20s", "node0:oversized=1024@0s"] {
            let s = try FaultScript(parsing: text)
            XCTAssertEqual(try FaultScript(parsing: s.description), s, text)
        }
    }

    func ledgerWithEvents(blocks: Int) -> Ledger {
        let ledger = Ledger(chainId: 7, contract: SimulatedNetwork.meteringContract,
                            validators: (0..<4).map { SimulatedNetwork.address(of: "v\($0)") }, genesisTimestamp: 1_000)
        for n in 1...blocks {
            let r = MeterReading(asset: .asset(code: "TX-\(n)"), intervalStart: 900 * UInt64(n), intervalSeconds: 900,
                                 importWh: UInt64(100 * n), exportWh: 0)
            ledger.enqueue([PendingTransaction(from: SimulatedNetwork.address(of: "c\(n)"),
                                               events: [.meterReading(r), .meterReading(r)], notBefore: 0)])
            ledger.produceBlock(timestamp: 1_000 + UInt64(n))
        }
        return ledger
    }

    func total(_ ledger: Ledger) -> (wh: UInt64, events: Int) {
        var wh: UInt64 = 0, events = 0
        for n in 0...ledger.headNumber {
            for e in ledger.block(number: n)!.events {
                events += 1
                if case .meterReading(let m) = e { wh += m.importWh }
            }
        }
        return (wh, events)
    }

    func testReorgReplacesTheLastBlocksKeepingEveryEventOnce() throws {
        for depth in [1, 2, 5] {
            let ledger = ledgerWithEvents(blocks: 8)
            let before = total(ledger)
            let head = ledger.headNumber
            let oldHashes = (0...head).map { ledger.block(number: $0)!.hash }
            let (orphaned, branch) = try XCTUnwrap(ledger.reorg(depth: depth, timestamp: 2_000))
            XCTAssertEqual(orphaned.count, depth)
            XCTAssertEqual(branch.count, depth)
            XCTAssertEqual(ledger.headNumber, head, "new head at an existing height")
            XCTAssertEqual(total(ledger).wh, before.wh)
            XCTAssertEqual(total(ledger).events, before.events)
            for n in 1...head {
                let b = ledger.block(number: n)!
                XCTAssertEqual(b.header.parentHash, ledger.block(number: n - 1)!.hash, "links")
                XCTAssertEqual(Ledger.blockHash(b.header), b.hash, "hash matches the header")
                XCTAssertEqual(b.hash == oldHashes[Int(n)], n <= head - UInt64(depth), "block \(n) replaced iff in the last \(depth)")
            }
            for o in orphaned { XCTAssertNil(ledger.block(hash: o.hash), "orphan no longer served by hash") }
            // Logs by range and transactions by hash follow the new branch.
            let logs = ledger.logs(from: 0, to: head, filter: LogFilter())
            XCTAssertEqual(logs.count, before.events)
            for l in logs { XCTAssertEqual(ledger.block(number: l.blockNumber)?.hash, l.blockHash) }
            for b in branch {
                for t in b.transactions { XCTAssertEqual(ledger.transaction(hash: t.hash)?.0.hash, b.hash) }
            }
            // Production continues on the branch.
            let next = ledger.produceBlock(timestamp: 3_000)
            XCTAssertEqual(next.header.parentHash, branch.last!.hash)
        }
    }

    func testNodeFaultsShapeAnswers() throws {
        let ledger = ledgerWithEvents(blocks: 10)
        let hub = SubscriptionHub(salt: 1)
        let service = RPCService(ledger: ledger, hub: hub, peerCount: 3)
        func call(_ m: String, _ p: [JSON] = []) throws(RPCError) -> JSON { try service.call(m, params: .array(p), session: nil) }

        service.faults.update { $0.lag = 4 }
        XCTAssertEqual(try call("eth_blockNumber").quantity, 6)
        XCTAssertEqual(try call("eth_getBlockByNumber", ["latest", false])["number"]?.quantity, 6)
        XCTAssertEqual(try call("eth_getBlockByNumber", ["0x8", false]), .null)
        XCTAssertThrowsError(try call("eth_getLogs", [["fromBlock": "0x0", "toBlock": "0x9"]]))

        service.faults.update { $0 = .init(); $0.lie = true }
        let lied = try BlockHeader(json: try call("eth_getBlockByNumber", ["0x3", false]))
        XCTAssertEqual(lied.hash, ledger.block(number: 3)!.hash, "keeps the real hash")
        XCTAssertNotEqual(Ledger.blockHash(lied), lied.hash, "…over tampered fields")

        service.faults.update { $0 = .init(); $0.chainId = 99 }
        XCTAssertEqual(try call("eth_chainId").quantity, 99)

        service.faults.update { $0 = .init() }
        XCTAssertEqual(try call("qbft_getValidatorsByBlockNumber", ["latest"]).arrayValue?.count, 4)
        let metrics = try XCTUnwrap(try call("qbft_getSignerMetrics", ["0x1", "0xa"]).arrayValue)
        XCTAssertEqual(metrics.compactMap { $0["proposedBlockCount"]?.quantity }.reduce(0, +), 10)
        service.faults.update { $0.disabledNamespaces = ["qbft"] }
        XCTAssertThrowsError(try call("qbft_getValidatorsByBlockNumber", ["latest"])) { e in
            XCTAssertEqual((e as? RPCError)?.code, RPCError.methodNotFound)
        }
        XCTAssertEqual(try call("eth_blockNumber").quantity, 10, "other namespaces unaffected")
    }

    func testOversizedFrameIsValidJSONOfTheRequestedSize() throws {
        let f = SimulatedNetwork.oversizedFrame(bytes: 100_000)
        XCTAssertEqual(f.utf8.count, 100_000)
        XCTAssertNoThrow(try JSON.parse(f))
    }
}
