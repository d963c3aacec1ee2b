import ChainCore
import Foundation
import TLSTestSupport
import XCTest

@testable import GridSimulator
@testable import LedgerClient

/// TLS to a consortium chain's nodes, on real sockets: a simulated node behind a TLS front
/// (`TLSFront`) with certificates from a throwaway CA made by `openssl` (`TestPKI`), reached
/// over `wss://` and `https://`. A certificate the client cannot trust is refused in one plain
/// line; a private CA is trusted with a CA file or `SSL_CERT_FILE`/`SSL_CERT_DIR`; mutual TLS
/// needs the client certificate; a node named by IP address is checked against its IP SAN.
final class TLSTrustTests: SimulatorTestCase {
    var fronts: [TLSFront] = []
    var pki: TestPKI!

    override func setUp() async throws {
        try await super.setUp()
        pki = try TestPKI()
    }

    override func tearDown() async throws {
        try await super.tearDown()
        for f in fronts { await f.stop() }
        fronts = []
        pki = nil
    }

    /// A one-node simulated network behind a TLS front with certificate `cert` (a name in the PKI).
    func start(cert: String = "server", clientCA: Bool = false) async throws -> (SimulatedNetwork, port: Int) {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1))
        let backend = try XCTUnwrap(Int(urls[0].split(separator: ":").last?.split(separator: "/").first ?? ""))
        let front = try await TLSFront(certificate: pki.path("\(cert).pem"), key: pki.path("\(cert).key"),
                                       clientCA: clientCA ? pki.path("ca.pem") : nil, backendPort: backend)
        fronts.append(front)
        return (net, front.port)
    }

    /// Follows `url` (one node) with `tls`; no `SSL_CERT_*` from the test's own environment.
    func follow(_ net: SimulatedNetwork, _ url: String, tls: NodeTLS = NodeTLS(), environment: [String: String] = [:]) -> Recorder {
        follow(net, [url]) {
            $0.nodes[0].tls = tls
            $0.tlsEnvironment = environment
            $0.pollEvery = .milliseconds(50)
        }
    }

    /// Connected and following: blocks arrive, and the node's status says connected.
    func assertFollows(_ rec: Recorder, _ what: String, line: UInt = #line) async {
        await eventually("\(what): blocks arrive", timeout: .seconds(10), line: line) {
            let n = await rec.blocks.count
            let connected = await rec.lastStatus?.first?.connection == .connected
            return n >= 3 && connected
        }
        let error = await rec.lastStatus?.first?.lastError
        XCTAssertNil(error.flatMap { $0.hasPrefix("TLS") ? $0 : nil }, "\(what): \(error ?? "")", line: line)
    }

    /// Refused: the node's error is one plain line with `words`, no library internals, and nothing is shown.
    @discardableResult
    func assertRefused(_ rec: Recorder, _ what: String, saying words: [String], line: UInt = #line) async -> String {
        await eventually("\(what): refusal reported", timeout: .seconds(10), line: line) {
            let e = await rec.lastStatus?.first?.lastError ?? ""
            return words.allSatisfy { e.contains($0) }
        }
        let shown = await rec.lastStatus?.first?.lastError ?? ""
        print("\(what): \(shown)")
        Self.assertPlain(shown, line: line)
        let blocks = await rec.blocks
        XCTAssertTrue(blocks.isEmpty, "\(what): nothing from a node that failed TLS", line: line)
        let connection = await rec.lastStatus?.first?.connection
        XCTAssertNotEqual(connection, .connected, line: line)
        return shown
    }

    static func assertPlain(_ text: String, line: UInt = #line) {
        XCTAssertFalse(text.contains("\n"), "one line: \(text)", line: line)
        for raw in ["handshake.cc", "NIOSSL", "BoringSSL", "sslError", "handshakeFailed", "OPENSSL_internal", "error:1", ".cc:",
                    "SingleConnectionFailure", "IOError", "NIOConnectionError"] {
            XCTAssertFalse(text.contains(raw), "library internals (\(raw)) in: \(text)", line: line)
        }
    }

    // MARK: Trust

    func testSelfSignedIsRefusedInOnePlainLine() async throws {
        let (net, port) = try await start(cert: "self-signed")
        for url in ["wss://localhost:\(port)/", "https://localhost:\(port)/"] {
            let rec = follow(net, url)
            await assertRefused(rec, url, saying: ["TLS: the certificate of localhost:\(port) is not trusted", "--ca-file", "ca_file"])
        }
    }

    func testPrivateCAIsRefusedWithoutItAndTrustedWithCAFile() async throws {
        let (net, port) = try await start()
        for url in ["wss://localhost:\(port)/", "https://localhost:\(port)/"] {
            await assertRefused(follow(net, url), "\(url) without the CA", saying: ["is not trusted", "--ca-file"])
            // Another CA is no help: the CA file is the only trust root.
            await assertRefused(follow(net, url, tls: NodeTLS(caFile: pki.path("other-ca.pem"))), "\(url) with another CA",
                                saying: ["is not trusted"])
            await assertFollows(follow(net, url, tls: NodeTLS(caFile: pki.path("ca.pem"))), "\(url) with --ca-file")
        }
    }

    func testSSLCertFileAndDirAreExtraTrustRoots() async throws {
        let (net, port) = try await start()
        let dir = try pki.hashedCADirectory()
        for url in ["wss://localhost:\(port)/", "https://localhost:\(port)/"] {
            await assertFollows(follow(net, url, environment: ["SSL_CERT_FILE": pki.path("ca.pem")]), "\(url) with SSL_CERT_FILE")
            await assertFollows(follow(net, url, environment: ["SSL_CERT_DIR": "/nonexistent:" + dir]), "\(url) with SSL_CERT_DIR")
            // A CA file given replaces them (and the system store).
            await assertRefused(follow(net, url, tls: NodeTLS(caFile: pki.path("other-ca.pem")), environment: ["SSL_CERT_FILE": pki.path("ca.pem")]),
                                "\(url) with another CA file and SSL_CERT_FILE", saying: ["is not trusted"])
        }
    }

    // MARK: Mutual TLS

    func testMutualTLSNeedsTheClientCertificate() async throws {
        let (net, port) = try await start(clientCA: true)
        let ca = pki.path("ca.pem")
        for url in ["wss://localhost:\(port)/", "https://localhost:\(port)/"] {
            await assertRefused(follow(net, url, tls: NodeTLS(caFile: ca)), "\(url) without a client certificate",
                                saying: ["TLS: localhost:\(port) refused", "client certificate", "--client-cert"])
            let tls = NodeTLS(caFile: ca, clientCertificate: pki.path("client.pem"), clientKey: pki.path("client.key"))
            await assertFollows(follow(net, url, tls: tls), "\(url) with --client-cert")
        }
    }

    // MARK: IP addresses

    func testIPAddressIsCheckedAgainstTheIPSubjectAltName() async throws {
        let (net, port) = try await start()
        let ca = NodeTLS(caFile: pki.path("ca.pem"))
        for url in ["wss://127.0.0.1:\(port)/", "https://127.0.0.1:\(port)/"] {
            await assertFollows(follow(net, url, tls: ca), "\(url), certificate with IP:127.0.0.1")
        }
        let (net2, port2) = try await start(cert: "server-dns-only")
        for url in ["wss://127.0.0.1:\(port2)/", "https://127.0.0.1:\(port2)/"] {
            await assertRefused(follow(net2, url, tls: ca), "\(url), certificate without an IP SAN",
                                saying: ["TLS: the certificate of 127.0.0.1:\(port2) is not issued for that name or IP address"])
        }
        // The same certificate is right for its DNS name.
        await assertFollows(follow(net2, "wss://localhost:\(port2)/", tls: ca), "wss://localhost, DNS-only certificate")
    }

    // MARK: Files

    func testUnusableFilesAreNamedInOneLine() throws {
        let missing = NodeTLS(caFile: "/nonexistent/ca.pem")
        XCTAssertThrowsError(try missing.check()) {
            XCTAssertEqual("\($0)", "TLS: the CA file /nonexistent/ca.pem does not exist; check the path given with --ca-file or ca_file")
        }
        XCTAssertThrowsError(try NodeTLS(caFile: pki.path("ca.key")).check()) {
            XCTAssertTrue("\($0)".contains("holds no PEM certificate"), "\($0)")
        }
        XCTAssertThrowsError(try NodeTLS(clientCertificate: pki.path("client.pem")).check()) {
            XCTAssertTrue("\($0)".contains("needs its key"), "\($0)")
        }
        XCTAssertThrowsError(try NodeTLS(clientCertificate: pki.path("client.pem"), clientKey: pki.path("server.key")).check()) {
            XCTAssertTrue("\($0)".contains("does not belong to the client certificate"), "\($0)")
        }
        XCTAssertNoThrow(try NodeTLS(caFile: pki.path("ca.pem"), clientCertificate: pki.path("client.pem"), clientKey: pki.path("client.key")).check())
    }
}

/// Which URLs take the IP-address WebSocket path, and what it dials.
final class IPAddressWebSocketTests: XCTestCase {
    func testOnlyWSSToAnIPAddressTakesIt() throws {
        let v4 = try XCTUnwrap(IPAddressWebSocket(url: "wss://10.20.0.5:8546/ws?key=1"))
        XCTAssertEqual(v4.host, "10.20.0.5")
        XCTAssertEqual(v4.port, 8546)
        XCTAssertEqual(v4.requestURI, "/ws?key=1")
        let v6 = try XCTUnwrap(IPAddressWebSocket(url: "wss://[fd00::5]:8546"))
        XCTAssertEqual(v6.host, "fd00::5")
        XCTAssertEqual(v6.port, 8546)
        XCTAssertEqual(v6.requestURI, "/")
        XCTAssertEqual(IPAddressWebSocket(url: "wss://10.20.0.5")?.port, 443)
        XCTAssertNil(IPAddressWebSocket(url: "wss://node.example:8546"))
        XCTAssertNil(IPAddressWebSocket(url: "ws://10.20.0.5:8546"))
        XCTAssertNil(IPAddressWebSocket(url: "https://10.20.0.5:8545"))
    }
}
