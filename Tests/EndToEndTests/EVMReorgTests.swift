import ChainCore
import Foundation
import XCTest

/// Issue #17 on a real EVM: a snapshot at block N, a branch A of K blocks mined live, then a
/// revert to N and a longer branch B mined at once, served like geth (A's logs again with
/// `removed: true`, oldest first, then B's heads and logs; A's blocks stay retrievable by hash).
/// After each reorg the live gridtop's state must equal a fresh gridtop's over the final chain:
/// active alarms, per-stage energy, every segment's balance in every interval.
final class EVMReorgTests: XCTestCase {
    let grid = TestGrid()

    enum TheftOn: String { case droppedBranch = "dropped", newBranch = "new", none }

    struct Outcome {
        var live: JSON
        var fresh: JSON
        var transitions: [JSON]
        var differences: [String]
    }

    /// Runs one reorg of depth `depth` and returns the live and the fresh state.
    func reorg(depth: Int, url: (EVMNode) -> String, theft: TheftOn, file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let node = try EVMNode()
        defer { node.stop() }
        let home = try TempHome()
        let contract = try node.deploy(sender: 0)
        try node.mine([grid.registrations], contract: contract)
        let clean = 10
        try node.mine((0..<clean).map { grid.events($0) }, contract: contract)
        let live = try GridtopAlerts(["--node", url(node)], home: home)
        defer { _ = live.stop() }
        _ = try live.waitForHead(try node.head().hash)
        let snap = try node.snapshot()

        // Branch A, live, block by block.
        let stealA = theft == .droppedBranch ? TestGrid.Theft(consumer: "C-A2", hidden: 0.4) : nil
        var lastA = ""
        for k in clean..<(clean + depth) {
            lastA = try node.mine([grid.events(k, theft: stealA)], contract: contract)[0].hash
            _ = try live.waitForHead(lastA)
        }
        // Branch B: the same intervals with other figures (+15 Wh per consumer), one block longer.
        let stealB = theft == .newBranch ? TestGrid.Theft(consumer: "C-B2", hidden: 0.4) : nil
        let b = try node.reorg(to: snap, (clean..<(clean + depth + 1)).map { grid.events($0, theft: stealB, bias: 15) })
        XCTAssertEqual(b.dropped.count, depth, file: file, line: line)
        XCTAssertEqual(b.dropped.last?.hash, lastA, file: file, line: line)
        let liveState = try live.waitForHead(b.mined.last!.hash, timeout: 120)
        Thread.sleep(forTimeInterval: 0.5)  // anything the client does after the new head
        let settledLive = try live.state() ?? liveState
        let transitions = try live.transitions()
        let fresh = try GridtopAlerts.audit(node.wsURL, home: home)
        XCTAssertEqual(fresh.status, 0, file: file, line: line)
        return Outcome(live: settledLive, fresh: fresh.state, transitions: transitions,
                       differences: stateDifferences(settledLive.comparable, fresh.state.comparable))
    }

    func report(_ name: String, _ o: Outcome) {
        let lb = o.live["balances"]?.arrayValue ?? [], fb = o.fresh["balances"]?.arrayValue ?? []
        let differing = zip(lb, fb).filter { $0 != $1 }.count + abs(lb.count - fb.count)
        print("REORG-COMPARE \(name): live alarms \(o.live.activeAlarmKeys.map { String($0.prefix(24)) }) fresh alarms \(o.fresh.activeAlarmKeys.map { String($0.prefix(24)) }); "
              + "balances differing \(differing) of \(fb.count); stages equal \(o.live["stages"] == o.fresh["stages"])")
    }

    func check(_ name: String, _ o: Outcome, file: StaticString = #filePath, line: UInt = #line) {
        report(name, o)
        XCTAssertEqual(o.differences, [], "\(name): live state differs from a fresh run over the final chain:\n" + o.differences.joined(separator: "\n"),
                       file: file, line: line)
    }

    func testDepth1TheftOnDroppedBranchWebSocket() throws {
        let o = try reorg(depth: 1, url: { $0.wsURL }, theft: .droppedBranch)
        check("depth=1 ws theft=dropped", o)
        XCTAssertFalse(o.live.activeAlarmKeys.contains { $0.hasPrefix("suspected-theft") }, "an alarm from an orphaned block stayed active")
    }

    func testDepth3TheftOnDroppedBranchHTTP() throws {
        let o = try reorg(depth: 3, url: { $0.httpURL }, theft: .droppedBranch)
        check("depth=3 http theft=dropped", o)
        XCTAssertTrue(o.transitions.contains { $0["kind"]?.stringValue == "deep-reorg" && $0["event"]?.stringValue == "raised" })
    }

    func testDepth3TheftOnNewBranchWebSocket() throws {
        let o = try reorg(depth: 3, url: { $0.wsURL }, theft: .newBranch)
        check("depth=3 ws theft=new", o)
        XCTAssertTrue(o.live.activeAlarmKeys.contains("suspected-theft \(TestGrid.id("TX-B"))"), "the new branch's theft was not raised")
    }

    func testDepth10TheftOnDroppedBranchWebSocket() throws {
        check("depth=10 ws theft=dropped", try reorg(depth: 10, url: { $0.wsURL }, theft: .droppedBranch))
    }

    func testDepth64TheftOnNewBranchWebSocket() throws {
        check("depth=64 ws theft=new", try reorg(depth: 64, url: { $0.wsURL }, theft: .newBranch))
    }
}
