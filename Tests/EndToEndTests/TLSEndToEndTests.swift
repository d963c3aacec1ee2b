import Foundation
import TLSTestSupport
import XCTest

/// `gridtop alerts` against a TLS node, through the binary: `gridtop sim` behind a TLS front
/// (`TLSFront`) with certificates from a throwaway CA (`TestPKI`). What a script sees: exit 0
/// and no error when the node is trusted (`--ca-file`, `SSL_CERT_FILE`, `ca_file` in the
/// config, a client certificate for mutual TLS, an IP address in the certificate's IP SAN);
/// exit 1 and one plain line naming the node and what to do when it is not.
final class TLSEndToEndTests: XCTestCase {
    var dir: URL!
    var env: [String: String] = [:]
    var pki: TestPKI!
    var sim: ChildProcess?
    var fronts: [TLSFront] = []
    var contract = ""
    var simPort = 0

    override func setUp() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-tls-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // No SSL_CERT_* from the machine: only what a case gives.
        env = ["XDG_CONFIG_HOME": dir.appendingPathComponent("config").path, "XDG_DATA_HOME": dir.appendingPathComponent("data").path,
               "XDG_STATE_HOME": dir.appendingPathComponent("state").path, "XDG_CACHE_HOME": dir.appendingPathComponent("cache").path,
               "SSL_CERT_FILE": "", "SSL_CERT_DIR": ""]
        pki = try TestPKI()
        let sim = ChildProcess(try gridtopBinary(), ["sim", "--nodes", "1", "--seed", "7", "--block-time", "250ms"], environment: env)
        try sim.start()
        self.sim = sim
        let url = try XCTUnwrap(sim.waitForLines(1, timeout: 60).first { $0.hasPrefix("ws://") }, "sim printed: \(sim.standardError)")
        simPort = try XCTUnwrap(Int(url.split(separator: ":").last?.split(separator: "/").first ?? ""))
        contract = try XCTUnwrap(simContract(sim))
    }

    override func tearDown() async throws {
        for f in fronts { await f.stop() }
        sim?.interrupt()
        _ = sim?.waitForExit(timeout: 10)
        try? FileManager.default.removeItem(at: dir)
        pki = nil
    }

    func front(_ cert: String, clientCA: Bool = false) async throws -> Int {
        let f = try await TLSFront(certificate: pki.path("\(cert).pem"), key: pki.path("\(cert).key"),
                                   clientCA: clientCA ? pki.path("ca.pem") : nil, backendPort: simPort)
        fronts.append(f)
        return f.port
    }

    func alerts(_ args: [String], extraEnv: [String: String] = [:]) throws -> (status: Int32?, err: String) {
        let p = ChildProcess(try GridtopAlerts.binary(), ["alerts", "--contract", contract, "--for", "3s"] + args,
                             environment: env.merging(extraEnv) { $1 })
        try p.start()
        let status = p.waitForExit(timeout: 60)
        return (status, p.standardError)
    }

    func assertWorks(_ r: (status: Int32?, err: String), _ what: String, line: UInt = #line) {
        print("\(what): exit \(r.status.map(String.init) ?? "none")" + (r.err.isEmpty ? "" : ", stderr: \(r.err)"))
        XCTAssertEqual(r.status, 0, "\(what): \(r.err)", line: line)
        XCTAssertFalse(r.err.contains("TLS"), "\(what): \(r.err)", line: line)
    }

    func assertRefused(_ r: (status: Int32?, err: String), _ what: String, saying words: [String], line: UInt = #line) {
        print("\(what): exit \(r.status.map(String.init) ?? "none"), stderr: \(r.err)")
        XCTAssertEqual(r.status, 1, "\(what): \(r.err)", line: line)
        let lines = r.err.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "\(what): not one line: \(r.err)", line: line)
        for w in words { XCTAssertTrue(r.err.contains(w), "\(what): '\(w)' missing in: \(r.err)", line: line) }
        for raw in ["handshake.cc", "NIOSSL", "BoringSSL", "sslError", "handshakeFailed", "OPENSSL_internal", ".cc:", "IOError"] {
            XCTAssertFalse(r.err.contains(raw), "\(what): library internals (\(raw)) in: \(r.err)", line: line)
        }
    }

    func testSelfSignedRefusedAndPrivateCATrustedOverHTTPSToAnIPAddress() async throws {
        let selfSigned = try await front("self-signed")
        assertRefused(try alerts(["--node", "https://127.0.0.1:\(selfSigned)"]), "self-signed, no --ca-file",
                      saying: ["TLS: the certificate of 127.0.0.1:\(selfSigned) is not trusted", "--ca-file"])
        let signed = try await front("server")
        let url = "https://127.0.0.1:\(signed)"
        assertRefused(try alerts(["--node", url]), "private CA, no --ca-file", saying: ["is not trusted", "--ca-file"])
        assertWorks(try alerts(["--node", url, "--ca-file", pki.path("ca.pem")]), "private CA with --ca-file (IP SAN)")
        assertWorks(try alerts(["--node", url], extraEnv: ["SSL_CERT_FILE": pki.path("ca.pem")]), "private CA in SSL_CERT_FILE")
        let dnsOnly = try await front("server-dns-only")
        assertRefused(try alerts(["--node", "https://127.0.0.1:\(dnsOnly)", "--ca-file", pki.path("ca.pem")]), "certificate without IP SAN",
                      saying: ["TLS: the certificate of 127.0.0.1:\(dnsOnly) is not issued for that name or IP address"])
    }

    func testMutualTLSOverWSSToAnIPAddressWithTheConfigFile() async throws {
        let port = try await front("server", clientCA: true)
        let url = "wss://127.0.0.1:\(port)"
        assertRefused(try alerts(["--node", url, "--ca-file", pki.path("ca.pem")]), "mTLS without a client certificate",
                      saying: ["TLS: 127.0.0.1:\(port) refused", "--client-cert"])
        assertWorks(try alerts(["--node", url, "--ca-file", pki.path("ca.pem"), "--client-cert", pki.path("client.pem"),
                                "--client-key", pki.path("client.key")]), "mTLS with --client-cert")
        // The same from the config file, paths relative to its folder.
        let config = pki.path("config.toml")
        try """
            ca_file = "ca.pem"
            [[node]]
            url = "\(url)"
            client_cert = "client.pem"
            client_key = "client.key"
            """.write(toFile: config, atomically: true, encoding: .utf8)
        assertWorks(try alerts(["--config", config]), "mTLS from the config file")
    }

    func testUnusableTLSFilesStopAtOnceNamingTheFile() throws {
        let r = try alerts(["--node", "wss://127.0.0.1:1", "--ca-file", dir.appendingPathComponent("nope.pem").path])
        assertRefused(r, "missing --ca-file", saying: ["TLS: the CA file", "nope.pem does not exist"])
        let half = try alerts(["--node", "wss://127.0.0.1:1", "--client-cert", pki.path("client.pem")])
        XCTAssertNotEqual(half.status, 0)
        XCTAssertTrue(half.err.contains("--client-cert needs --client-key"), half.err)
    }
}
