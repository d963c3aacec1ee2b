import ChainCore
import Foundation
import XCTest

/// Issue #17, on the screen: the dashboard that lived through a reorg on a real EVM (py-evm)
/// shows what a fresh dashboard over the final chain shows — the same active alarms on the
/// Alarms view — and its Blocks view lists no orphaned block as part of the chain (each block
/// shown has the node's canonical hash at its height) while it names the orphans apart.
final class EVMReorgScreenTests: XCTestCase {
    let grid = TestGrid()

    /// Active grid alarm rows of the Alarms view as "state kind | asset" (ages and counts left
    /// out). A `deep reorg` alarm is about the event, which only the live one saw: not compared.
    static func activeAlarms(_ screen: String) -> [String] {
        let grid = ["suspected theft", "stale meter", "reading conflict", "transfer mismatch"]
        return screen.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("ACTIVE") else { return nil }
            let cols = line.split(separator: "  ", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let s = cols.firstIndex(where: { $0.hasPrefix("ACTIVE") }), s + 1 < cols.count else { return nil }
            guard grid.contains(where: { cols[s].contains($0) }) else { return nil }
            return "\(cols[s]) | \(cols[s + 1])"
        }.sorted()
    }

    /// The Blocks view's rows as (number, full hash).
    static func blockRows(_ screen: String) -> [(UInt64, String)] {
        screen.split(separator: "\n").compactMap { line -> (UInt64, String)? in
            guard let m = line.firstMatch(of: /#(\d+)\s.*?(0x[0-9a-f]{64})/), let n = UInt64(m.1) else { return nil }
            return (n, String(m.2))
        }
    }

    func testDepth1TheftOnDroppedBranch() throws { try screenAfterReorg(depth: 1, theftOnNew: false) }
    func testDepth3TheftOnDroppedBranch() throws { try screenAfterReorg(depth: 3, theftOnNew: false) }
    func testDepth3TheftOnNewBranch() throws { try screenAfterReorg(depth: 3, theftOnNew: true) }
    func testDepth10TheftOnDroppedBranch() throws { try screenAfterReorg(depth: 10, theftOnNew: false) }
    func testDepth64TheftOnNewBranch() throws { try screenAfterReorg(depth: 64, theftOnNew: true) }

    /// Branch A (`depth` blocks, live) then branch B (one block longer) from a snapshot; the
    /// theft on A (dropped) or on B (new). Afterwards the live screen must show what a fresh one shows.
    func screenAfterReorg(depth: Int, theftOnNew: Bool) throws {
        let node = try EVMNode()
        defer { node.stop() }
        let home = try TempHome()
        let contract = try node.deploy(sender: 0)
        try node.mine([grid.registrations], contract: contract)
        let clean = 10
        try node.mine((0..<clean).map { grid.events($0) }, contract: contract)
        func dashboard(_ name: String) throws -> TmuxSession {
            var env = home.environment
            env["GRIDTOP_OPERATOR"] = "ana"
            return try TmuxSession(command: [try GridtopAlerts.binary().path, "watch", "--node", node.wsURL, "--contract", contract,
                                             "--db", home.path("\(name).sqlite")], width: 200, height: 60, environment: env)
        }
        func waitForHead(_ s: TmuxSession, _ n: UInt64) -> (ok: Bool, screen: String) {
            s.waitFor(timeout: 60) { $0.contains("head #\(n) ") }
        }
        let live = try dashboard("live")
        defer { live.kill() }
        XCTAssertTrue(waitForHead(live, try node.head().number).ok, "live dashboard never showed the head")
        let snap = try node.snapshot()

        let stealA = theftOnNew ? nil : TestGrid.Theft(consumer: "C-A2", hidden: 0.4)
        let stealB = theftOnNew ? TestGrid.Theft(consumer: "C-B2", hidden: 0.4) : nil
        for k in clean..<(clean + depth) {
            let b = try node.mine([grid.events(k, theft: stealA)], contract: contract)[0]
            XCTAssertTrue(waitForHead(live, b.number).ok, "block \(b.number) not shown")
        }
        live.send("4")
        if !theftOnNew, depth >= 3 {
            let before = live.waitFor(timeout: 30) { !Self.activeAlarms($0).isEmpty }
            print("EVMReorgScreenTests: depth \(depth): before the reorg, live: \(Self.activeAlarms(before.screen))")
            XCTAssertTrue(Self.activeAlarms(before.screen).contains { $0.contains("suspected theft") && $0.contains("TX-A") },
                          "the dropped branch's theft was never shown:\n\(before.screen)")
        }
        let b = try node.reorg(to: snap, (clean..<(clean + depth + 1)).map { grid.events($0, theft: stealB, bias: 15) })
        XCTAssertEqual(b.dropped.count, depth)
        let newHead = b.mined.last!.number
        XCTAssertTrue(live.waitFor(timeout: 120) { $0.contains("head #\(newHead) ") }.ok, "the live dashboard did not follow the reorg")
        Thread.sleep(forTimeInterval: 2)  // what the core does once the new branch is in

        let fresh = try dashboard("fresh")
        defer { fresh.kill() }
        XCTAssertTrue(waitForHead(fresh, newHead).ok, "the fresh dashboard never reached the head")
        Thread.sleep(forTimeInterval: 2)
        fresh.send("4")
        live.send("4")
        Thread.sleep(forTimeInterval: 1)
        let liveAlarms = Self.activeAlarms(live.screen()), freshAlarms = Self.activeAlarms(fresh.screen())
        print("EVMReorgScreenTests: after the reorg at depth \(depth), theft on the \(theftOnNew ? "new" : "dropped") branch: live \(liveAlarms), fresh \(freshAlarms)")
        XCTAssertEqual(liveAlarms, freshAlarms, "Alarms view: live\n\(live.screen())\nfresh\n\(fresh.screen())")
        if theftOnNew {
            XCTAssertTrue(liveAlarms.contains { $0.contains("suspected theft") && $0.contains("TX-B") }, "the new branch's theft is not shown")
        } else {
            XCTAssertFalse(liveAlarms.contains { $0.contains("suspected theft") }, "a theft of the dropped branch is still shown")
        }

        // Blocks view: every block shown is canonical; the orphans are named apart.
        live.send("5")
        let blocks = live.waitFor(timeout: 10) { !Self.blockRows($0).isEmpty }
        let rows = Self.blockRows(blocks.screen)
        XCTAssertFalse(rows.isEmpty, blocks.screen)
        for (n, hash) in rows {
            let canonical = try node.rpc("eth_getBlockByNumber", [.string(Hex.quantity(n)), .bool(false)])["hash"]?.stringValue
            XCTAssertEqual(hash, canonical, "block #\(n) on the Blocks view is not the chain's:\n\(blocks.screen)")
        }
        XCTAssertTrue(blocks.screen.contains("orphaned by reorgs"), "the orphaned blocks are not named:\n\(blocks.screen)")
        for d in b.dropped { XCTAssertFalse(rows.contains { $0.1 == d.hash }, "orphan #\(d.number) shown as a chain block") }
    }
}
