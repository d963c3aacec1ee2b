import AsyncHTTPClient
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// Errors of reaching a node, in words an operator or a script can act on: one line that
/// names what failed and what to do. The one place for this wording (node statuses, logs,
/// `alerts` on stderr all use it); raw library texts such as `SingleConnectionFailure(…)`
/// never reach the operator.
public enum PlainWords {
    /// What kind of failure it was (for callers that decide on it, e.g. an exit status).
    public enum Kind: String, Sendable, Equatable {
        case connectionRefused, dns, tls, timeout, wrongChain, oversizedFrame, closed, other
    }

    /// The kind and one line of text for an error met while talking to a node; `target`
    /// (`host:port`) is named in TLS errors.
    public static func explain(_ error: any Error, target: String? = nil) -> (kind: Kind, text: String) {
        if let tls = tlsText(error, target: target) { return (.tls, tls) }
        if let e = error as? LedgerClientError {
            switch e {
            case .timeout(let m, let d):
                return (.timeout, "\(m) timed out after \(d): the node is unreachable or overloaded; check the URL, the network and the node's load")
            case .wrongChain(let expected, let got):
                return (.wrongChain, "wrong chain: the node reports chain id \(got), not \(expected); check --chain-id (or chain_id in the config) and the node URL")
            case .disconnected(let why):
                // Already in plain words where it was made (`PlainWords.describe`).
                let kinds: [(String, Kind)] = [("connection refused", .connectionRefused), ("cannot resolve", .dns), ("TLS", .tls),
                                               ("connect timed out", .timeout), ("the connection timed out", .timeout)]
                for (prefix, kind) in kinds where why.hasPrefix(prefix) { return (kind, why) }
                return classify(raw: why).map { ($0.kind, why) } ?? (.closed, e.description)
            case .malformedFrame(let why) where why.contains("larger than the maximum") || why.contains("answer was due"):
                return (.oversizedFrame, e.description)
            case .tlsFiles(let why):
                return (.tls, why)
            default:
                return (.other, e.description)
            }
        }
        if let e = error as? NIOConnectionError {
            let target = "\(e.host):\(e.port)"
            if e.connectionErrors.isEmpty, e.dnsAError != nil || e.dnsAAAAError != nil {
                return (.dns, dnsText(e.host))
            }
            if e.connectionErrors.contains(where: { isRefused($0.error) }) {
                return (.connectionRefused, refusedText(target))
            }
            if let first = e.connectionErrors.first { return (.other, "cannot connect to \(target): \(explain(first.error).text)") }
            return (.dns, dnsText(e.host))
        }
        if let e = error as? IOError {
            if e.errnoCode == ECONNREFUSED { return (.connectionRefused, refusedText(nil)) }
            if e.errnoCode == ETIMEDOUT { return (.timeout, "the connection timed out: the node is unreachable; check the URL and the network") }
            return (.other, "network error: \(e.description)")
        }
        if let e = error as? ChannelError, case .connectTimeout(let t) = e {
            return (.timeout, "connect timed out after \(t): the node is unreachable; check the URL, a firewall and the network")
        }
        if let e = error as? HTTPClientError {
            if e == .connectTimeout || e == .deadlineExceeded || e == .readTimeout {
                return (.timeout, "the HTTP request timed out: the node is unreachable or overloaded")
            }
            if e == .remoteConnectionClosed { return (.closed, "the node closed the HTTP connection") }
        }
        if error is SocketAddressError { return (.dns, "cannot resolve the node's host name: check the name in the URL and DNS") }
        return classify(raw: String(describing: error)) ?? (.other, String(describing: error))
    }

    /// The text alone.
    public static func describe(_ error: any Error, target: String? = nil) -> String { explain(error, target: target).text }

    /// A TLS failure (NIOSSL's and BoringSSL's words, e.g. `handshakeFailed(sslError([…
    /// CERTIFICATE_VERIFY_FAILED at …/handshake.cc:…]))`) as one line: what failed, for which
    /// node, and what to do. nil for anything that is not a TLS failure.
    static func tlsText(_ error: any Error, target: String?) -> String? {
        if error is LedgerClientError { return nil }  // already worded
        let raw = String(describing: error)
        let of = target.map { "of \($0) " } ?? "of the node "
        let node = target ?? "the node"
        if raw.contains("CERTIFICATE_VERIFY_FAILED") || raw.contains("certificateVerify") || raw.contains("unable to get local issuer") {
            return "TLS: the certificate \(of)is not trusted (self-signed, unknown CA or expired): pass its CA with --ca-file or ca_file in the config"
        }
        if raw.contains("failedToValidateHostname") || raw.contains("Couldn't find") && raw.contains("in certificate") {
            return "TLS: the certificate \(of)is not issued for that name or IP address (no matching subjectAltName): connect by a name or address it lists, or have it reissued"
        }
        if raw.contains("CERTIFICATE_REQUIRED") || raw.contains("ALERT_HANDSHAKE_FAILURE") || raw.contains("ALERT_BAD_CERTIFICATE")
            || raw.contains("ALERT_UNKNOWN_CA") || raw.contains("ALERT_CERTIFICATE_UNKNOWN") || raw.contains("ALERT_ACCESS_DENIED")
        {
            return "TLS: \(node) refused the connection: it demands a client certificate it trusts; pass --client-cert and --client-key (or client_cert and client_key in the config)"
        }
        if raw.contains("KEY_VALUES_MISMATCH") || raw.contains("failedToLoadPrivateKey") {
            return "TLS: the client key does not belong to the client certificate; give the matching pair with --client-cert and --client-key"
        }
        if raw.contains("failedToLoadCertificate") || raw.contains("noSuchFilesystemObject") {
            return "TLS: a certificate for \(node) could not be loaded; check the files given with --ca-file, --client-cert, SSL_CERT_FILE and SSL_CERT_DIR"
        }
        if raw.contains("cannotUseIPAddressInSNI") {
            return "TLS: \(node) is named by IP address and the TLS layer refused it; use a host name in its certificate"
        }
        if raw.contains("WRONG_VERSION_NUMBER") || raw.contains("handshakeFailed") || raw.contains("SSL_ERROR") || raw.contains("NIOSSL") {
            return "TLS handshake with \(node) failed: is the node serving TLS on that port (wss:// or https://), or plain ws:// or http://?"
        }
        return nil
    }

    /// Known shapes of errors that arrive only as text.
    static func classify(raw: String) -> (kind: Kind, text: String)? {
        if let tls = tlsText(RawError(text: raw), target: nil) { return (.tls, tls) }
        if raw.contains("connectionRefused") || raw.contains("Connection refused") || raw.contains("errno: 111") {
            return (.connectionRefused, refusedText(nil))
        }
        if raw.contains("dnsAError") || raw.contains("unknownHost") || raw.contains("Name or service not known") || raw.contains("nodename nor servname") {
            return (.dns, "cannot resolve the node's host name: check the name in the URL and DNS")
        }
        if raw.contains("connectTimeout") || raw.contains("timed out") {
            return (.timeout, "the connection timed out: the node is unreachable; check the URL and the network")
        }
        return nil
    }

    /// An error that arrived as text only.
    private struct RawError: Error, CustomStringConvertible { var text: String; var description: String { text } }

    static func isRefused(_ e: any Error) -> Bool {
        if let io = e as? IOError { return io.errnoCode == ECONNREFUSED }
        return String(describing: e).contains("refused")
    }

    static func refusedText(_ target: String?) -> String {
        "connection refused" + (target.map { " by \($0)" } ?? "") + ": nothing listens there; is the node running, and are the host and port in the URL right?"
    }

    static func dnsText(_ host: String) -> String {
        "cannot resolve host \(host): check the name in the URL and DNS"
    }
}
