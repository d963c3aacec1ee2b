import ChainCore
import Foundation
import XCTest

/// The config file, `gridtop config check` and the trust boundary, as a user meets them:
/// real processes, real files, the simulator on loopback. XDG_* point at a temporary folder.
final class SiteConfigEndToEndTests: XCTestCase {
    var dir: URL!
    var env: [String: String] = [:]

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-cfg-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("config/gridtop"), withIntermediateDirectories: true)
        env = ["XDG_CONFIG_HOME": dir.appendingPathComponent("config").path, "XDG_DATA_HOME": dir.appendingPathComponent("data").path,
               "XDG_STATE_HOME": dir.appendingPathComponent("state").path, "GRIDTOP_NODE_TOKEN": "tok-e2e-9f8e7d"]
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    var configPath: String { dir.appendingPathComponent("config/gridtop/config.toml").path }

    func run(_ args: [String], timeout: TimeInterval = 30) throws -> (status: Int32?, out: [String], err: String) {
        let p = ChildProcess(try gridtopBinary(), args, environment: env)
        try p.start()
        let status = p.waitForExit(timeout: timeout)
        return (status, p.outputLines, p.standardError)
    }

    func testConfigCheckPrintsTheEffectiveConfigurationRedacted() throws {
        try """
            site = "E2E room"
            chain_id = 1196819780
            contracts = ["0x00000000000000000000000000000000000e1ec7"]
            [[node]]
            url = "wss://ops:pw-1234@node.example:8546/?key=zzz-query-secret"
            headers = { Authorization = "Bearer $GRIDTOP_NODE_TOKEN" }
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        // The default location (XDG_CONFIG_HOME) is read without --config.
        let r = try run(["config", "check"])
        XCTAssertEqual(r.status, 0, r.err)
        let text = r.out.joined(separator: "\n")
        XCTAssertTrue(text.contains("site = \"E2E room\""), text)
        XCTAssertTrue(text.contains("wss://node.example:8546/"), text)
        XCTAssertTrue(text.contains("Authorization = \"‹redacted›\""), text)
        XCTAssertTrue(text.contains(dir.appendingPathComponent("data").path + "/gridtop/chain-1196819780.sqlite"), "the default journal: \(text)")
        for secret in ["tok-e2e-9f8e7d", "pw-1234", "ops:", "zzz-query-secret"] { XCTAssertFalse(text.contains(secret), "\(secret) in \(text)") }
        // A flag overrides the file.
        let o = try run(["config", "check", "--chain-id", "7", "--contract", "0x00000000000000000000000000000000000000aa"])
        XCTAssertTrue(o.out.contains("chain_id = 7"), o.out.joined(separator: "\n"))
        XCTAssertTrue(o.out.contains("contracts = [\"0x00000000000000000000000000000000000000aa\"]"), o.out.joined(separator: "\n"))
    }

    func testABrokenFileStopsEveryCommandWithFileLineColumn() throws {
        try """
            site = "E2E room"
            contracts = ["0x00000000000000000000000000000000000e1ec7", "0xnot-an-address"]
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let want = "\(configPath):2:60: contracts[2] is not a contract address (0x and 40 hex digits)"
        let check = try run(["config", "check"])
        XCTAssertEqual(check.status, 1)
        XCTAssertEqual(check.err.trimmingCharacters(in: .newlines), want)
        for args in [["alerts", "--node", "ws://127.0.0.1:9", "--for", "30s"], ["watch", "--node", "ws://127.0.0.1:9"],
                     ["demo", "--nodes", "1"]] {
            let started = Date()
            let r = try run(args, timeout: 20)
            XCTAssertNotNil(r.status, "\(args[0]) did not stop")
            XCTAssertNotEqual(r.status, 0, "\(args[0]) started despite a broken config")
            XCTAssertTrue(r.err.contains(want), "\(args[0]): \(r.err)")
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, "\(args[0]): one line: \(r.err)")
            XCTAssertLessThan(Date().timeIntervalSince(started), 10, "\(args[0]) started something first")
        }
        // Nothing was started: no log file, no journal.
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("state/gridtop/gridtop.log").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("data/gridtop").path))
        // --config names another file; a missing one is an error.
        let missing = try run(["config", "check", "--config", dir.appendingPathComponent("nope.toml").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err.contains("nope.toml: no such config file"), missing.err)
    }

    func testNoContractRefusesToStartAndSaysHow() throws {
        for cmd in ["alerts", "watch"] {
            let r = try run([cmd, "--node", "ws://127.0.0.1:9"], timeout: 20)
            XCTAssertEqual(r.status, 1, "\(cmd): \(r.err)")
            XCTAssertTrue(r.err.contains("no metering contract configured"), r.err)
            XCTAssertTrue(r.err.contains("--contract 0x"), r.err)
            XCTAssertTrue(r.err.contains(configPath), "names the config file to edit: \(r.err)")
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        }
        let bad = try run(["alerts", "--node", "ws://127.0.0.1:9", "--contract", "0x1234"], timeout: 20)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("--contract 0x1234 is not a contract address"), bad.err)
    }

    /// A real site's set-up: nodes, contract and chain id only in the config file; the audit
    /// finds the simulator's theft. With another contract configured, the same chain shows nothing.
    func testAnAuditFromTheConfigFileAloneAndTheTrustBoundary() throws {
        let bin = try gridtopBinary()
        let truthPath = dir.appendingPathComponent("truth.json").path
        let sim = ChildProcess(bin, ["sim", "--nodes", "2", "--seed", "7", "--block-time", "250ms", "--interval-every", "1s",
                                     "--history", "0.5", "--incident", "bypass@-6h", "--truth", truthPath], environment: env)
        try sim.start()
        defer { sim.interrupt(); sim.waitForExit(timeout: 10) }
        let urls = sim.waitForLines(3, timeout: 90).filter { $0.hasPrefix("ws://") }
        XCTAssertEqual(urls.count, 2, "sim printed: \(sim.outputLines) stderr: \(sim.standardError)")
        guard urls.count == 2 else { return }
        let contract = try XCTUnwrap(simContract(sim))
        let truth = try JSON.parse(String(contentsOfFile: truthPath, encoding: .utf8))
        XCTAssertEqual(truth["contract"]?.stringValue, contract)
        let transformer = try XCTUnwrap(truth["incidents"]?.arrayValue?.first?["alarmAsset"]?.stringValue)
        let chainId = try XCTUnwrap(truth["chainId"]?.intValue)

        func writeConfig(contract: String) throws {
            var text = "site = \"E2E\"\nchain_id = \(chainId)\ncontracts = [\"\(contract)\"]\n"
            for u in urls { text += "\n[[node]]\nurl = \"\(u)\"\nheaders = { Authorization = \"Bearer $GRIDTOP_NODE_TOKEN\" }\n" }
            try text.write(toFile: configPath, atomically: true, encoding: .utf8)
        }
        try writeConfig(contract: contract)
        let audit = try run(["alerts", "--json", "--from-block", "0", "--to-block", "head"], timeout: 120)
        XCTAssertEqual(audit.status, 0, audit.err)
        let raised = try audit.out.map { try JSON.parse($0) }.filter {
            $0["kind"]?.stringValue == "suspected-theft" && $0["event"]?.stringValue == "raised"
        }
        XCTAssertFalse(raised.isEmpty, "no theft found: \(audit.out.suffix(5)) \(audit.err)")
        for e in raised { XCTAssertEqual(e["asset"]?.stringValue?.lowercased(), transformer.lowercased()) }

        // The same chain with another contract configured: its events are not believed.
        try writeConfig(contract: "0x00000000000000000000000000000000000bad00")
        let other = try run(["alerts", "--json", "--from-block", "0", "--to-block", "head"], timeout: 120)
        XCTAssertEqual(other.status, 0, other.err)
        let grid = try other.out.map { try JSON.parse($0) }.filter { ($0["stage"]?.stringValue ?? "") != "" && $0["stage"]?.stringValue != "ledger" }
        XCTAssertTrue(grid.isEmpty, "grid alarms from a contract that is not configured: \(grid.map { $0.serialized() })")
    }
}
