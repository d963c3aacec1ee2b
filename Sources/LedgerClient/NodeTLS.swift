import Foundation
import NIOCore
import NIOSSL

/// How a node's TLS (`wss://`, `https://`) is verified and which client certificate is shown.
///
/// The server's certificate is always verified (there is no insecure mode): against `caFile`
/// alone when one is given, otherwise against the system trust store plus, as OpenSSL does,
/// `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR` (folders of hashed certificates,
/// `:`-separated) when they are set. A node reached by host name must have that name in its
/// certificate; one reached by IP address must have that address as an IP subjectAltName
/// (no SNI is sent for an IP address). For a node that demands mutual TLS, `clientCertificate`
/// and `clientKey` are PEM files (the key unencrypted).
public struct NodeTLS: Sendable, Equatable {
    /// A PEM file of one or more CA certificates; the only trust roots for the node when set.
    public var caFile: String?
    /// The client certificate (PEM; may hold the chain after it), for mutual TLS.
    public var clientCertificate: String?
    /// The client certificate's private key (PEM, unencrypted).
    public var clientKey: String?

    public init(caFile: String? = nil, clientCertificate: String? = nil, clientKey: String? = nil) {
        self.caFile = caFile
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
    }

    /// Nothing set: system trust store (and `SSL_CERT_FILE`/`SSL_CERT_DIR`), no client certificate.
    public var isDefault: Bool { caFile == nil && clientCertificate == nil && clientKey == nil }

    /// A TLS file that cannot be used, in one line naming the file and what to do.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The extra trust roots the environment names, as OpenSSL reads them: the PEM bundle
    /// `SSL_CERT_FILE`, and in each folder of `SSL_CERT_DIR` (`:`-separated) the certificates
    /// under their subject-hash names (`5ed36f99.0`, as `openssl rehash` makes them). Files that
    /// are missing or not PEM are skipped, as OpenSSL does.
    public static func environmentTrustRoots(_ environment: [String: String]) -> [NIOSSLCertificate] {
        var out: [NIOSSLCertificate] = []
        if let f = environment["SSL_CERT_FILE"], !f.isEmpty, let certs = try? NIOSSLCertificate.fromPEMFile(f) { out += certs }
        for d in (environment["SSL_CERT_DIR"] ?? "").split(separator: ":").map(String.init) where !d.isEmpty {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: d) else { continue }
            for name in names.sorted() where isHashName(name) {
                if let certs = try? NIOSSLCertificate.fromPEMFile(d + "/" + name) { out += certs }
            }
        }
        return out
    }

    /// `8 hex digits . digits`: OpenSSL's name for a certificate in a hashed folder.
    static func isHashName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 8, !parts[1].isEmpty else { return false }
        return parts[0].allSatisfy(\.isHexDigit) && parts[1].allSatisfy(\.isNumber)
    }

    /// Reads the files and checks them: a `Problem` in plain words if one is missing, unreadable,
    /// not PEM, or if only one of certificate and key is given. Called before anything starts.
    public func check() throws(Problem) {
        let c = try configuration(environment: [:])
        do { _ = try NIOSSLContext(configuration: c) } catch {
            let raw = String(describing: error)
            if raw.contains("KEY_VALUES_MISMATCH") || raw.contains("failedToLoadPrivateKey") {
                throw Problem("TLS: the client key \(clientKey ?? "") does not belong to the client certificate \(clientCertificate ?? ""); give the matching pair with --client-cert and --client-key")
            }
            throw Problem("TLS: the CA file, client certificate and key cannot be used together; check that each is PEM and that the key belongs to the certificate")
        }
    }

    struct Loaded {
        var ca: [NIOSSLCertificate]?
        var chain: [NIOSSLCertificate] = []
        var key: NIOSSLPrivateKey?
    }

    private func loaded() throws(Problem) -> Loaded {
        var out = Loaded()
        if let caFile {
            let certs = try Self.certificates(caFile, what: "the CA file", flag: "--ca-file or ca_file")
            out.ca = certs
        }
        switch (clientCertificate, clientKey) {
        case (nil, nil): break
        case (.some, nil):
            throw Problem("TLS: a client certificate needs its key: give --client-key (or client_key in the config) as well")
        case (nil, .some):
            throw Problem("TLS: a client key needs its certificate: give --client-cert (or client_cert in the config) as well")
        case (.some(let cert), .some(let key)):
            out.chain = try Self.certificates(cert, what: "the client certificate", flag: "--client-cert or client_cert")
            try Self.readable(key, what: "the client key", flag: "--client-key or client_key")
            do {
                out.key = try NIOSSLPrivateKey(file: key, format: .pem)
            } catch {
                throw Problem("TLS: the client key \(key) is not an unencrypted PEM private key; give the key of --client-cert (or client_key in the config), decrypted")
            }
        }
        return out
    }

    private static func readable(_ path: String, what: String, flag: String) throws(Problem) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw Problem("TLS: \(what) \(path) does not exist; check the path given with \(flag)")
        }
        guard !isDir.boolValue else { throw Problem("TLS: \(what) \(path) is a folder; give a PEM file with \(flag)") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw Problem("TLS: \(what) \(path) cannot be read; check its permissions")
        }
    }

    private static func certificates(_ path: String, what: String, flag: String) throws(Problem) -> [NIOSSLCertificate] {
        try readable(path, what: what, flag: flag)
        let certs: [NIOSSLCertificate]
        do { certs = try NIOSSLCertificate.fromPEMFile(path) } catch { certs = [] }
        guard !certs.isEmpty else {
            throw Problem("TLS: \(what) \(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----); give a PEM file with \(flag)")
        }
        return certs
    }

    /// The NIOSSL client configuration for this node: full verification (chain and name or
    /// IP address), the trust roots as described above, the client certificate if any.
    public func configuration(environment: [String: String]) throws(Problem) -> TLSConfiguration {
        let files = try loaded()
        var c = TLSConfiguration.makeClientConfiguration()
        c.certificateVerification = .fullVerification
        if let ca = files.ca {
            c.trustRoots = .certificates(ca)
        } else {
            c.trustRoots = .default
            let extra = Self.environmentTrustRoots(environment)
            if !extra.isEmpty { c.additionalTrustRoots = [.certificates(extra)] }
        }
        if let key = files.key {
            c.certificateChain = files.chain.map { .certificate($0) }
            c.privateKey = .privateKey(key)
        }
        return c
    }
}

extension NodeEndpoint {
    /// The host of the URL, without brackets around an IPv6 address.
    var host: String {
        var a = Substring(Redaction.parts(of: url).authority)
        if a.hasPrefix("[") { return String(a.dropFirst().prefix { $0 != "]" }) }
        if let colon = a.lastIndex(of: ":") { a = a[..<colon] }
        return String(a)
    }

    /// The URL names its host by IP address (IPv4 or IPv6).
    var hostIsIPAddress: Bool { Self.isIPAddress(host) }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    /// `wss://` or `https://`.
    var usesTLS: Bool {
        let s = Redaction.parts(of: url).scheme.lowercased()
        return s == "wss" || s == "https"
    }
}
