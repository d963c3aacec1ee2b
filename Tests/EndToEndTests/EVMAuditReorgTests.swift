import ChainCore
import Foundation
import XCTest

/// Issue #17 item 5: `alerts --from-block/--to-block` meets a reorg while it reads (the node
/// reorganises right after answering the audit's first range of `eth_getLogs`, so blocks the
/// audit already read change under it). The audit reads the changed range again, and its
/// result equals an audit of the final chain.
final class EVMAuditReorgTests: XCTestCase {
    let grid = TestGrid()

    func testAuditThatMeetsAReorgEqualsAnAuditOfTheFinalChain() throws {
        let node = try EVMNode()
        defer { node.stop() }
        let home = try TempHome()
        let contract = try node.deploy(sender: 0)
        try node.mine([grid.registrations], contract: contract)
        try node.mine((0..<4).map { grid.events($0) }, contract: contract)
        let snap = try node.snapshot()  // block 6
        // The chain the audit starts reading: a theft on TX-A from interval 10.
        try node.mine((4..<40).map { grid.events($0, theft: $0 >= 10 ? TestGrid.Theft(consumer: "C-A2", hidden: 0.4) : nil) }, contract: contract)
        // Armed: right after the first range answer, a branch from block 6 with honest readings
        // (other figures) and a theft on TX-B instead, one block longer.
        let branch: [[JSON]] = (4..<41).map { grid.events($0, theft: $0 >= 12 ? TestGrid.Theft(consumer: "C-B1", hidden: 0.4) : nil, bias: 25) }
        try node.command("reorg", ["snapshot": .int(snap), "blocks": .array(branch.map { .array($0) }),
                                   "contract": .string(contract), "afterRangeQueries": .int(1)])
        let audit = try GridtopAlerts.audit(node.wsURL, home: home)
        XCTAssertEqual(audit.status, 0, "audit: \(audit.transitions.map { $0.serialized() })")
        let head = try node.head()
        XCTAssertEqual(head.number, 43, "the reorg happened during the audit")
        let fresh = try GridtopAlerts.audit(node.wsURL, home: home)
        XCTAssertEqual(fresh.status, 0)
        let raisedOn = Set(audit.transitions.filter { $0["event"]?.stringValue == "raised" && $0["kind"]?.stringValue == "suspected-theft" }
            .compactMap { $0["asset"]?.stringValue })
        print("AUDIT-REORG: audit head \(audit.state["head"]?.serialized() ?? "?") alarms \(audit.state.activeAlarmKeys) thefts raised on \(raisedOn); fresh alarms \(fresh.state.activeAlarmKeys)")
        XCTAssertEqual(audit.state.activeAlarmKeys, ["suspected-theft \(TestGrid.id("TX-B"))"], "the final chain's theft, only")
        XCTAssertFalse(raisedOn.contains(TestGrid.id("TX-A")), "the audit judged blocks of the dropped chain")
        // The audit ran to the head as it was when it started (block 42); compare what both saw
        // up to the settled interval of the audit.
        let a = audit.state, f = fresh.state
        let settled = a["settledInterval"]?.intValue ?? 0
        let fb = (f["balances"]?.arrayValue ?? []).filter { ($0["interval"]?.intValue ?? 0) <= settled }
        XCTAssertEqual(a["balances"]?.arrayValue ?? [], fb, "balances differ from an audit of the final chain")
    }
}
