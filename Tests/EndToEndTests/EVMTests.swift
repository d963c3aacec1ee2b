import ChainCore
import Foundation
import XCTest

/// gridtop against a real EVM: py-evm (through eth-tester) serving real headers and real logs
/// of a metering contract assembled from opcodes (Tests/evm-node/evm_node.py), over loopback
/// WebSocket and HTTP, as two real processes.
final class EVMTests: XCTestCase {
    let grid = TestGrid()
    static let theft = TestGrid.Theft(consumer: "C-A2", hidden: 0.4)

    /// Deploys the contract, registers the grid and mines `clean` clean intervals.
    func setUpChain(_ node: EVMNode, clean: Int = 10) throws -> String {
        let contract = try node.deploy(sender: 0)
        try node.mine([grid.registrations], contract: contract)
        try node.mine((0..<clean).map { grid.events($0) }, contract: contract)
        return contract
    }

    func testLiveRunVerifiesHeadersDecodesEveryEventAndFindsTheTheftOnItsTransformer() throws {
        let node = try EVMNode()
        defer { node.stop() }
        let home = try TempHome()
        let contract = try node.deploy(sender: 0)
        let live = try GridtopAlerts(["--node", node.wsURL], home: home)
        defer { _ = live.stop() }
        try node.mine([grid.registrations], contract: contract)
        // 10 clean intervals (the detectors learn the loss band), a 3-interval theft on C-A2
        // under TX-A, then clean intervals one by one: the alarm must clear as documented.
        try node.mine((0..<10).map { grid.events($0) }, contract: contract)
        let theftBlocks = try node.mine((10..<13).map { grid.events($0, theft: Self.theft) }, contract: contract)
        _ = try live.waitForHead(theftBlocks.last!.hash)
        let raised = try live.transitions().filter { $0["kind"]?.stringValue == "suspected-theft" && $0["event"]?.stringValue == "raised" }
        XCTAssertEqual(raised.map { $0["asset"]?.stringValue }, [TestGrid.id("TX-A")], "theft alarms: \(raised.map { $0.serialized() })")
        XCTAssertEqual(raised.first?["interval"]?.intValue, Int(TestGrid.interval(10)), "raised on the first interval of the theft")
        XCTAssertEqual(raised.first?["stage"]?.stringValue, "transformer")
        // Its evidence is TX-A's own reading for that interval, in the block that carried it.
        XCTAssertEqual(raised.first?["blockHash"]?.stringValue, theftBlocks[0].hash)

        // docs/alerts-json.md: "cleared when the balance has stayed back inside the band for 4 intervals".
        var clearedAfter: Int?
        for k in 13..<21 {
            let b = try node.mine([grid.events(k)], contract: contract)
            _ = try live.waitForHead(b[0].hash)
            let cleared = try live.transitions().contains { $0["kind"]?.stringValue == "suspected-theft" && $0["event"]?.stringValue == "cleared" }
            if cleared { clearedAfter = k - 12; break }
        }
        XCTAssertEqual(clearedAfter, 4, "the theft alarm must clear after 4 clean intervals (docs/alerts-json.md)")

        let head = try node.head()
        let state = try live.waitForHead(head.hash)
        let intervals = 13 + (clearedAfter ?? 8)
        XCTAssertEqual(state["assets"]?.intValue, grid.nodes.count, "every AssetRegistered decoded")
        XCTAssertEqual(state["readings"]?.intValue, intervals * TestGrid.metersPerInterval, "every MeterReading decoded")
        XCTAssertEqual(state["transfers"]?.intValue, intervals, "every EnergyTransfer decoded")
        let balances = state["balances"]?.arrayValue ?? []
        XCTAssertEqual(balances.count, intervals * 5, "5 segments balanced in every interval")
        XCTAssertTrue(balances.allSatisfy { $0["complete"]?.boolValue == true }, "every balance complete: no reading lost")
        // The theft sits between TX-A's meter and its consumers' meters: the feeder balances.
        let txA = state.balance(TestGrid.id("TX-A"), TestGrid.interval(11))?["residualWh"]?.intValue ?? 0
        let fdr = state.balance(TestGrid.id("FDR-1"), TestGrid.interval(11))?["residualWh"]?.intValue ?? 0
        XCTAssertGreaterThan(txA, 300, "TX-A's residual shows the hidden energy")
        XCTAssertLessThan(abs(fdr - Int(Double(grid.readings(11)["FDR-1"]!.imp) * (1 - 1 / 1.012))), 3, "the feeder's residual is its loss")
        let transitions = try live.transitions()
        XCTAssertFalse(transitions.contains { $0["kind"]?.stringValue == "node-divergent" },
                       "a py-evm header failed verification: \(transitions.map { $0.serialized() })")
        XCTAssertFalse(transitions.contains { ($0["kind"]?.stringValue ?? "").hasPrefix("conflicting") })
        XCTAssertEqual(live.stop(), 130, "SIGINT ends a live run with 130; stderr: \(live.child.standardError.suffix(2000))")

        // Headers: every block py-evm made verifies as keccak(rlp(header)) == hash, and a
        // changed field does not (the check gridtop's client runs on every header).
        for n in 0...head.number {
            let j = try node.rpc("eth_getBlockByNumber", [.string(Hex.quantity(n)), .bool(false)])
            var h = try BlockHeader(json: j)
            XCTAssertEqual(HeaderHashing.verify(h), .standard, "block \(n)")
            XCTAssertNotNil(h.requestsHash, "Prague header fields are served and hashed")
            h.stateRoot = Bytes32.zero
            XCTAssertNil(HeaderHashing.verify(h), "a forged header verifies")
        }

        // A fresh audit over HTTP sees exactly what the live run saw.
        let fresh = try GridtopAlerts.audit(node.httpURL, home: home)
        XCTAssertEqual(fresh.status, 0)
        XCTAssertEqual(fresh.state.comparable, state.comparable, stateDifferences(state, fresh.state).joined(separator: "\n"))
    }

    /// Issue #11: a second contract, deployed by another account, emits one forged MeterReading
    /// (TX-B's import inflated, before the honest one). With `--contract` naming the metering
    /// contract it changes nothing.
    func testForgedReadingFromAnotherContractChangesNothingWithContractFlag() throws {
        let node = try EVMNode()
        defer { node.stop() }
        let home = try TempHome()
        let contract = try setUpChain(node)
        let forger = try node.deploy(sender: 1)
        XCTAssertNotEqual(forger, contract)
        var forged = grid.events(10)
        let honest = grid.readings(10)["TX-B"]!
        let lie: JSON = .object(["type": .string("reading"), "asset": .string(TestGrid.id("TX-B")),
                                 "interval": .number(String(TestGrid.interval(10))), "seconds": .int(TestGrid.intervalSeconds),
                                 "importWh": .number(String(honest.imp + 900)), "exportWh": .int(0),
                                 "contract": .string(forger), "sender": .int(1), "single": .bool(true)])
        forged.insert(lie, at: 0)
        try node.mine([forged] + (11..<13).map { grid.events($0) }, contract: contract)

        let run = try GridtopAlerts.audit(node.wsURL, home: home, extra: ["--contract", contract])
        XCTAssertEqual(run.status, 0, "alerts --contract: \(run.transitions.map { $0.serialized() })")
        let alarms = run.transitions.filter { $0["event"]?.stringValue == "raised" }
        XCTAssertTrue(alarms.isEmpty, "the forged log raised: \(alarms.map { $0.serialized() })")
        XCTAssertEqual(run.state["readings"]?.intValue, 13 * TestGrid.metersPerInterval, "the forged reading was counted")
        let b = run.state.balance(TestGrid.id("TX-B"), TestGrid.interval(10))
        XCTAssertEqual(b?["complete"]?.boolValue, true)
        XCTAssertLessThan(b?["residualWh"]?.intValue ?? 1000, 200, "TX-B balanced with the forged import")
    }
}
