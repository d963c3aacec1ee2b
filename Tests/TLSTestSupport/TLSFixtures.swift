import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import XCTest

// Shared by LedgerClientTests and EndToEndTests (test targets share no sources).

/// A throwaway PKI made with the `openssl` command line for one test: a CA, server
/// certificates (with and without an IP subjectAltName, one self-signed) and a client
/// certificate. Files live in a temporary folder, removed with the object.
public final class TestPKI: @unchecked Sendable {
    public let dir: URL

    public init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=gridtop test CA",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        // A second CA that signed nothing here: trusting it must not admit the servers.
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", path("other-ca.key"), "-out", path("other-ca.pem"), "-days", "2", "-subj", "/CN=another CA",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try issue("server", subjectAltName: "IP:127.0.0.1,DNS:localhost", usage: "serverAuth")
        try issue("server-dns-only", subjectAltName: "DNS:localhost", usage: "serverAuth")
        try issue("client", subjectAltName: "DNS:operator-console", usage: "clientAuth")
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", path("self-signed.key"), "-out", path("self-signed.pem"), "-days", "2", "-subj", "/CN=localhost",
                     "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    public func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// `name.pem` and `name.key`, signed by the CA.
    private func issue(_ name: String, subjectAltName: String, usage: String) throws {
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", "/CN=\(name)"])
        let ext = path("\(name).ext")
        try "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=\(usage)\nsubjectAltName=\(subjectAltName)\n"
            .write(toFile: ext, atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                     "-CAcreateserial", "-out", path("\(name).pem"), "-days", "2", "-extfile", ext])
    }

    /// A folder holding the CA as OpenSSL's `SSL_CERT_DIR` wants it (`<subject hash>.0`).
    public func hashedCADirectory() throws -> String {
        let d = path("certdir")
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        let hash = try openssl(["x509", "-hash", "-noout", "-in", path("ca.pem")]).trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.copyItem(atPath: path("ca.pem"), toPath: d + "/\(hash).0")
        return d
    }

    @discardableResult
    public func openssl(_ args: [String]) throws -> String {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "openssl is needed to make the test PKI")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "openssl", code: Int(p.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "openssl \(args.joined(separator: " ")): \(String(decoding: errData, as: UTF8.self))"])
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A TLS front for a plain node on loopback, as a consortium's TLS-terminating proxy would be:
/// it accepts TLS on 127.0.0.1 (with the given certificate; optionally demanding a client
/// certificate issued by `clientCA`) and pipes the decrypted bytes to the node's plain port, so
/// that both `wss://` and `https://` reach the same JSON-RPC node.
public final class TLSFront: @unchecked Sendable {
    public let port: Int
    private let channel: any Channel

    public init(certificate: String, key: String, clientCA: String? = nil, backendPort: Int) async throws {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        if let clientCA {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCA))
        }
        let context = try NIOSSLContext(configuration: tls)
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { child in
                let (front, back) = Glue.pair()
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try child.pipeline.syncOperations.addHandler(front)
                }.flatMap {
                    // The backend on the same event loop, so that the two halves never cross threads.
                    ClientBootstrap(group: child.eventLoop)
                        .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                        .channelInitializer { $0.pipeline.addHandler(back) }
                        .connect(host: "127.0.0.1", port: backendPort)
                        .map { _ in () }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    public func stop() async { try? await channel.close() }

    /// Two handlers that forward what one side reads to the other (NIO's proxy "glue").
    final class Glue: ChannelDuplexHandler, @unchecked Sendable {
        typealias InboundIn = NIOAny
        typealias OutboundIn = NIOAny
        typealias OutboundOut = NIOAny

        private var partner: Glue?
        private var context: ChannelHandlerContext?

        static func pair() -> (Glue, Glue) {
            let a = Glue(), b = Glue()
            a.partner = b
            b.partner = a
            return (a, b)
        }

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
        func handlerRemoved(context: ChannelHandlerContext) { self.context = nil; partner = nil }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { partner?.context?.write(data, promise: nil) }
        func channelReadComplete(context: ChannelHandlerContext) { partner?.context?.flush() }
        func channelInactive(context: ChannelHandlerContext) { partner?.context?.close(promise: nil) }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            partner?.context?.close(promise: nil)
            context.close(promise: nil)
        }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let e = event as? ChannelEvent, e == .inputClosed { partner?.context?.close(mode: .output, promise: nil) }
            context.fireUserInboundEventTriggered(event)
        }
    }
}
