import ChainCore
import Foundation
import XCTest

@testable import LedgerClient

/// `wss://` verifies the server certificate against the system trust store (NIOSSL's
/// default client configuration, used when no TLS configuration is passed): a self-signed
/// server on loopback is refused, with a clear error, and nothing is shown from it.
final class TLSTests: LoopbackTestCase {
    var server: Process?

    override func tearDown() async throws {
        // SIGKILL: a child of the test process may inherit an ignored SIGTERM.
        if let server, server.isRunning {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        try await super.tearDown()
    }

    func run(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        return p
    }

    /// Starts `openssl s_server` on loopback with a fresh self-signed certificate for localhost; returns its port.
    func startSelfSignedServer() async throws -> Int {
        // openssl is installed by scripts/install-deps.sh (make test).
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "openssl is needed to make a self-signed server")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent("key.pem").path, cert = dir.appendingPathComponent("cert.pem").path
        let gen = try run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                           "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                           "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        gen.standardOutput = FileHandle.nullDevice
        gen.standardError = FileHandle.nullDevice
        try gen.run()
        gen.waitUntilExit()
        XCTAssertEqual(gen.terminationStatus, 0)

        // Port chosen here (openssl prints its own only to a terminal reliably): try a few.
        var port: Int?
        for attempt in 0..<5 {
            let candidate = 20_000 + Int.random(in: 0..<40_000)
            let srv = try run(["openssl", "s_server", "-accept", "127.0.0.1:\(candidate)", "-cert", cert, "-key", key, "-www"])
            srv.standardOutput = FileHandle.nullDevice
            srv.standardError = FileHandle.nullDevice
            try srv.run()
            try await Task.sleep(for: .milliseconds(300 + 200 * attempt))
            if srv.isRunning {
                server = srv
                port = candidate
                break
            }
            srv.waitUntilExit()
        }
        return try XCTUnwrap(port, "openssl s_server did not start")
    }

    func testSelfSignedServerIsRefused() async throws {
        let p = try await startSelfSignedServer()
        try await assertRefused(url: "wss://localhost:\(p)/")
    }

    /// The same over HTTPS: AsyncHTTPClient's default TLS configuration, no insecure fallback.
    func testSelfSignedHTTPSServerIsRefused() async throws {
        let p = try await startSelfSignedServer()
        try await assertRefused(url: "https://localhost:\(p)/")
    }

    func assertRefused(url: String, line: UInt = #line) async throws {
        var c = LedgerClientConfiguration(nodes: [NodeEndpoint(url: url, name: "selfsigned")])
        c.statusEvery = .milliseconds(100)
        c.reconnectBaseDelay = .milliseconds(50)
        c.connectTimeout = .seconds(2)
        c.startupGrace = .zero
        let rec = startClient(c)
        await eventually("certificate refusal reported", line: line) {
            let e = await rec.lastStatus?.first?.lastError ?? ""
            return e.contains("TLS: the certificate of localhost:") && e.contains("is not trusted") && e.contains("--ca-file")
        }
        let shown = await rec.lastStatus?.first?.lastError
        print("TLS refusal as shown: \(shown ?? "nil")")
        TLSTrustTests.assertPlain(shown ?? "", line: line)
        let updates = await rec.updates
        XCTAssertFalse(updates.contains { if case .chain = $0 { return true }; return false }, "nothing from an unverified server",
                       line: line)
        let status = await rec.lastStatus?.first
        XCTAssertNotEqual(status?.connection, .connected, line: line)
    }
}
