import ChainCore
import Foundation
import LedgerClient
import SiteConfig
import XCTest

final class SiteConfigTests: XCTestCase {
    static let env = ["GRIDTOP_NODE_TOKEN": "s3cr3t-token-value", "HOME": "/home/op"]

    static func repositoryRoot(file: StaticString = #filePath) -> URL {
        URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func parse(_ text: String, env: [String: String] = SiteConfigTests.env) throws -> SiteConfiguration {
        try SiteConfiguration(toml: text, file: "/etc/gridtop/config.toml", environment: env)
    }

    /// The error a text gives, as `file:line:column: message`.
    func error(_ text: String, env: [String: String] = SiteConfigTests.env) -> ConfigError? {
        do {
            _ = try parse(text, env: env)
            return nil
        } catch let e as ConfigError {
            return e
        } catch {
            XCTFail("not a ConfigError: \(error)")
            return nil
        }
    }

    func testTheCommentedExampleParsesToWhatItSays() throws {
        let path = Self.repositoryRoot().appendingPathComponent("docs/config.example.toml").path
        let c = try SiteConfiguration.load(path: path, environment: Self.env)
        XCTAssertEqual(c.site, "Nordstadt grid control room")
        XCTAssertEqual(c.chainId, 246)
        XCTAssertEqual(c.contracts, [try Address(hex: "0x5e1fb9d2a5c5e4f0b3c0e2d1a7a3f6c4b2e1d0a9")])
        XCTAssertEqual(c.journal, "/var/lib/gridtop/chain-246.sqlite")
        XCTAssertEqual(c.operatorName, "shift-a")
        XCTAssertEqual(c.theme, "isa101")
        XCTAssertEqual(c.timeZone, "Europe/Berlin")
        XCTAssertEqual(c.shelveLimitSeconds, 8 * 3600)
        XCTAssertEqual(c.nodes.map(\.url), ["wss://validator-1.grid.example:8546", "https://rpc-2.grid.example:8545", "wss://10.20.0.5:8546"])
        XCTAssertEqual(c.nodes.map(\.name), ["validator-1", "rpc-2", "validator-3"])
        XCTAssertEqual(c.nodes[0].headers, ["Authorization": "Bearer s3cr3t-token-value"])
        XCTAssertEqual(c.nodes[1].headers, ["Authorization": "Bearer s3cr3t-token-value", "X-Site": "nordstadt"])
        XCTAssertEqual(c.nodes[2].headers, [:])
        XCTAssertNil(c.startProblem(anyContract: false, environment: Self.env))
        // TLS: the site's CA for every node; the third node's client certificate, relative to the file's folder.
        XCTAssertEqual(c.tls, NodeTLS(caFile: "/etc/gridtop/consortium-ca.pem"))
        let docs = (path as NSString).deletingLastPathComponent
        XCTAssertEqual(c.nodes[2].tls, NodeTLS(clientCertificate: docs + "/tls/gridtop-client.pem", clientKey: docs + "/tls/gridtop-client.key"))
        XCTAssertEqual(c.endpoints.map(\.tls), [
            NodeTLS(caFile: "/etc/gridtop/consortium-ca.pem"),
            NodeTLS(caFile: "/etc/gridtop/consortium-ca.pem"),
            NodeTLS(caFile: "/etc/gridtop/consortium-ca.pem", clientCertificate: docs + "/tls/gridtop-client.pem",
                    clientKey: docs + "/tls/gridtop-client.key"),
        ])
        // The files do not exist here: said before anything starts, naming the file.
        XCTAssertEqual(c.tlsProblem(), "TLS: the CA file /etc/gridtop/consortium-ca.pem does not exist; check the path given with --ca-file or ca_file")
    }

    func testTheExampleNeedsItsVariableAndSaysWhere() throws {
        let path = Self.repositoryRoot().appendingPathComponent("docs/config.example.toml").path
        XCTAssertThrowsError(try SiteConfiguration.load(path: path, environment: [:])) { e in
            let text = "\(e)"
            let lines = try! String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let line = lines.firstIndex { $0.contains("$GRIDTOP_NODE_TOKEN") }! + 1
            let column = Array(lines[line - 1]).firstIndex(of: "A")! + 1  // `Authorization` inside the inline table
            XCTAssertTrue(text.hasPrefix("\(path):\(line):\(column): "), text)
            XCTAssertTrue(text.contains("GRIDTOP_NODE_TOKEN"), text)
        }
    }

    func testBrokenFilesNameLineColumnAndWhatIsWrong() {
        let cases: [(String, String, String)] = [
            // (text, expected "line:column", a word of the message)
            ("site = \"x\"\nchian_id = 5\n", "2:1", "unknown key 'chian_id'"),
            ("chain_id = \"246\"\n", "1:12", "must be an integer"),
            ("chain_id = 0\n", "1:12", "positive"),
            ("contracts = [\n  \"0x5e1fb9d2a5c5e4f0b3c0e2d1a7a3f6c4b2e1d0a9\",\n    \"0x1234\",\n]\n", "3:5", "contracts[2] is not a contract address"),
            ("contracts = \"0x5e1fb9d2a5c5e4f0b3c0e2d1a7a3f6c4b2e1d0a9\"\n", "1:13", "list of addresses"),
            ("time_zone = \"Mars/Olympus\"\n", "1:13", "unknown time zone"),
            ("shelve_limit = \"-5s\"\n", "1:16", "positive duration"),
            ("shelve_limit = \"3d\"\n", "1:16", "positive duration"),
            ("shelve_limit = \"30h\"\n", "1:16", "longer than 24h"),
            ("site = \"a\"\n[node]\nurl = \"ws://x:1\"\n", "2:1", "[[node]]"),
            ("[[node]]\nurl = \"ws://\"\n", "2:7", "no host"),
            ("[[node]]\nurl = \"ftp://x\"\n", "2:7", "ws://, wss://"),
            ("[[node]]\nname = \"a\"\n", "1:1", "has no url"),
            ("[[node]]\nurl = \"ws://a:1\"\n\n[[node]]\nurl = \"ws://b:1\"\nport = 3\n", "6:1", "unknown key 'port' in [[node]] 2"),
            ("[[node]]\nurl = \"ws://a:1\"\nheaders = { Authorization = \"Bearer $NOPE\" }\n", "3:13", "NOPE"),
            ("[[node]]\nurl = \"ws://a:1\"\n[node.headers]\nAuthorization = \"Bearer $NOPE\"\n", "4:17", "NOPE"),
            ("site = \"unterminated\n", "1:", "not valid TOML"),
            ("ca_file = 5\n", "1:11", "ca_file must be a string"),
            ("[[node]]\nurl = \"wss://a:1\"\nclient_cert = \"\"\n", "3:15", "client_cert must be a non-empty string"),
            ("[[node]]\nurl = \"wss://a:1\"\ncafile = \"x.pem\"\n", "3:1", "unknown key 'cafile'"),
        ]
        for (text, at, word) in cases {
            guard let e = error(text) else {
                XCTFail("accepted: \(text)")
                continue
            }
            let s = e.description
            XCTAssertTrue(s.hasPrefix("/etc/gridtop/config.toml:\(at)"), "\(s) for \(text.debugDescription)")
            XCTAssertTrue(s.contains(word), "\(s) lacks \(word)")
            XCTAssertFalse(s.contains("\n"), "more than one line: \(s)")
        }
    }

    func testTLSFlagsOverrideTheFile() throws {
        let c = try parse("""
            ca_file = "site-ca.pem"
            [[node]]
            url = "wss://a.example:8546"
            ca_file = "/etc/gridtop/a-ca.pem"
            client_cert = "/etc/gridtop/a.pem"
            client_key = "/etc/gridtop/a.key"
            [[node]]
            url = "https://b.example:8545"
            """)
        XCTAssertEqual(c.endpoints.map(\.tls), [
            NodeTLS(caFile: "/etc/gridtop/a-ca.pem", clientCertificate: "/etc/gridtop/a.pem", clientKey: "/etc/gridtop/a.key"),
            NodeTLS(caFile: "/etc/gridtop/site-ca.pem"),
        ])
        var o = ConfigOverrides()
        o.caFile = "/tmp/ca.pem"
        o.clientCertificate = "/tmp/c.pem"
        o.clientKey = "/tmp/c.key"
        let m = try c.merged(o, environment: [:])
        let all = NodeTLS(caFile: "/tmp/ca.pem", clientCertificate: "/tmp/c.pem", clientKey: "/tmp/c.key")
        XCTAssertEqual(m.endpoints.map(\.tls), [all, all])
        var half = ConfigOverrides()
        half.clientKey = "/tmp/c.key"
        XCTAssertThrowsError(try c.merged(half, environment: [:])) { XCTAssertTrue("\($0)".contains("--client-key needs --client-cert"), "\($0)") }
        // Shown by `gridtop config check` (paths are not secrets).
        let text = c.redactedDescription()
        XCTAssertTrue(text.contains("ca_file = \"/etc/gridtop/site-ca.pem\""), text)
        XCTAssertTrue(text.contains("client_key = \"/etc/gridtop/a.key\""), text)
    }

    func testAnErrorNeverShowsAHeaderValue() {
        let e = error("[[node]]\nurl = \"ws://a:1\"\nheaders = { Authorization = \"Bearer topsecret\u{07}\" }\n")
        XCTAssertNotNil(e)
        XCTAssertFalse(e?.description.contains("topsecret") ?? true, "\(String(describing: e))")
    }

    func testRedactedDescriptionHidesEverySecret() throws {
        let c = try parse("""
            chain_id = 7
            [[node]]
            url = "wss://user:hunter2@node.example:8546/v3/0123456789abcdef0123456789abcdef?apikey=qwertyuiop"
            headers = { Authorization = "Bearer $GRIDTOP_NODE_TOKEN", X-Api-Key = "plain-key-123" }
            """)
        let text = c.redactedDescription()
        for secret in ["hunter2", "user:", "0123456789abcdef0123456789abcdef", "qwertyuiop", "s3cr3t-token-value", "plain-key-123", "Bearer"] {
            XCTAssertFalse(text.contains(secret), "\(secret) shown in:\n\(text)")
        }
        XCTAssertTrue(text.contains("node.example:8546"), text)
        XCTAssertTrue(text.contains("Authorization = \"‹redacted›\""), text)
        XCTAssertTrue(text.contains("X-Api-Key = \"‹redacted›\""), text)
        XCTAssertTrue(text.contains("chain_id = 7"), text)
        // What it prints is itself a config file.
        XCTAssertNoThrow(try parse(text.replacingOccurrences(of: "‹redacted›", with: "x")))
    }

    func testFlagsOverrideTheFile() throws {
        let c = try parse("""
            chain_id = 246
            contracts = ["0x5e1fb9d2a5c5e4f0b3c0e2d1a7a3f6c4b2e1d0a9"]
            journal = "journals/j.sqlite"
            [[node]]
            url = "ws://file-node:1"
            """)
        XCTAssertEqual(c.journal, "/etc/gridtop/journals/j.sqlite", "a relative journal is relative to the config file")
        var o = ConfigOverrides()
        o.nodes = ["ws://flag-node:2", "http://flag-node:3"]
        o.headers = ["1=Authorization: Bearer $GRIDTOP_NODE_TOKEN"]
        o.chainId = 99
        o.contracts = ["0x00000000000000000000000000000000000e1ec7"]
        o.journal = "/tmp/x.sqlite"
        let m = try c.merged(o, environment: Self.env)
        XCTAssertEqual(m.nodes.map(\.url), ["ws://flag-node:2", "http://flag-node:3"])
        XCTAssertEqual(m.nodes[0].headers, [:])
        XCTAssertEqual(m.nodes[1].headers, ["Authorization": "Bearer s3cr3t-token-value"])
        XCTAssertEqual(m.chainId, 99)
        XCTAssertEqual(m.contracts.map(\.hex), ["0x00000000000000000000000000000000000e1ec7"])
        XCTAssertEqual(m.journal, "/tmp/x.sqlite")
        // Nothing given: the file stands.
        XCTAssertEqual(try c.merged(ConfigOverrides(), environment: Self.env), c)
        var bad = ConfigOverrides()
        bad.contracts = ["0x12"]
        XCTAssertThrowsError(try c.merged(bad, environment: Self.env)) { XCTAssertTrue("\($0)".contains("--contract 0x12")) }
        bad = ConfigOverrides()
        bad.nodes = ["ws://"]
        XCTAssertThrowsError(try c.merged(bad, environment: Self.env)) { XCTAssertTrue("\($0)".contains("no host"), "\($0)") }
    }

    func testNoContractRefusesToStartAndSaysHow() throws {
        let c = try parse("[[node]]\nurl = \"ws://a:1\"\n")
        let problem = try XCTUnwrap(c.startProblem(anyContract: false, environment: Self.env))
        XCTAssertTrue(problem.contains("--contract 0x"), problem)
        XCTAssertTrue(problem.contains("contracts = ["), problem)
        XCTAssertTrue(problem.contains("/etc/gridtop/config.toml"), problem)
        XCTAssertTrue(problem.contains("--any-contract"), problem)
        XCTAssertNil(c.startProblem(anyContract: true, environment: Self.env))
        let none = try parse("site = \"x\"\n")
        XCTAssertTrue(none.startProblem(anyContract: true, environment: Self.env)?.contains("--node URL") == true)
    }

    func testDefaultPathFollowsXDG() {
        XCTAssertEqual(SiteConfiguration.defaultPath(environment: ["XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/a"]), "/x/cfg/gridtop/config.toml")
        XCTAssertEqual(SiteConfiguration.defaultPath(environment: ["XDG_CONFIG_HOME": "relative", "HOME": "/home/a"]), "/home/a/.config/gridtop/config.toml")
    }

    func testLoadingAMissingExplicitFileIsAnError() {
        XCTAssertThrowsError(try SiteConfiguration.load(explicitPath: "/nonexistent/gridtop.toml", environment: [:])) {
            XCTAssertTrue("\($0)".hasPrefix("/nonexistent/gridtop.toml: no such config file"), "\($0)")
        }
        // Without --config, a missing default file is no error: defaults and flags only.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-cfg-\(UUID().uuidString)").path
        XCTAssertEqual(try SiteConfiguration.load(explicitPath: nil, environment: ["XDG_CONFIG_HOME": dir]), SiteConfiguration())
    }
}
