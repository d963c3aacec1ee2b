import ChainCore
import Foundation
import GridCore

/// One ledger node to connect to.
public struct NodeEndpoint: Sendable {
    /// `ws://` or `wss://` (subscriptions over WebSocket), or `http://` or `https://`
    /// (JSON-RPC over HTTP POST; the head is polled every `pollEvery`). May carry credentials
    /// (userinfo, query, key in the path); those never appear in statuses, logs or errors.
    public var url: String
    /// Display name; defaults to the URL's host and port.
    public var name: String
    /// Extra HTTP headers sent with the WebSocket upgrade or with every HTTP request
    /// (e.g. `Authorization`). Never shown or logged.
    public var headers: [String: String]
    /// How TLS (`wss://`, `https://`) is verified for this node and which client certificate
    /// it is shown: CA file, client certificate and key (`NodeTLS`); ignored for `ws://`/`http://`.
    public var tls: NodeTLS

    public init(url: String, name: String? = nil, headers: [String: String] = [:], tls: NodeTLS = NodeTLS()) {
        self.url = url
        self.name = name ?? Redaction.hostAndPort(of: url)
        self.headers = headers
        self.tls = tls
    }

    /// The URL with userinfo, query, fragment and key-like path segments removed.
    public var safeURL: String { Redaction.sanitize(url: url) }

    public enum Transport: Sendable, Equatable {
        case webSocket, http
    }

    /// How the node is reached, from the URL scheme; nil for an unsupported scheme.
    public var transport: Transport? {
        switch Redaction.parts(of: url).scheme.lowercased() {
        case "ws", "wss": return .webSocket
        case "http", "https": return .http
        default: return nil
        }
    }
}

public struct LedgerClientConfiguration: Sendable {
    public var nodes: [NodeEndpoint]
    /// nil: learn it from the first node that answers; a node with another id is refused.
    public var expectedChainId: UInt64? = nil
    /// Log address filter; empty = any address.
    public var contracts: [Address] = []
    /// Backfill start on first connect.
    public var fromBlock: UInt64 = 0
    public var requestTimeout: Duration = .seconds(10)
    public var connectTimeout: Duration = .seconds(5)
    /// Largest WebSocket frame and message, or HTTP response body, accepted from a node.
    public var maxFrameSize: Int = 16 << 20
    /// The most one answer may ever be: an `eth_getLogs` answer over `maxFrameSize` (a dense
    /// block) is asked again, for fewer blocks, on a second connection with this limit; a single
    /// block whose logs exceed it cannot be fetched (and an audit says which). 256 MiB.
    public var maxFrameSizeHardCap: Int = 256 << 20
    /// How often `.nodes([NodeStatus])` is emitted.
    public var statusEvery: Duration = .seconds(1)
    /// Where `SSL_CERT_FILE` and `SSL_CERT_DIR` are read (extra trust roots for a node without
    /// a CA file, `NodeTLS`); the process environment unless a test says otherwise.
    public var tlsEnvironment: [String: String] = ProcessInfo.processInfo.environment

    // Tuning knobs (internal defaults that tests may shrink).
    /// Reconnect backoff: first delay, doubling up to `reconnectMaxDelay`, with jitter.
    public var reconnectBaseDelay: Duration = .milliseconds(250)
    public var reconnectMaxDelay: Duration = .seconds(10)
    /// Block range of one `eth_getLogs` during backfill.
    public var logRange: UInt64 = 2_000
    /// A gap up to this many blocks is filled block by block (every block emitted);
    /// a longer one is backfilled like the first start (only blocks with grid events).
    public var denseGapLimit: UInt64 = 1_024
    /// Deepest reorg followed block by block; a deeper one is reported as
    /// `.reorg(ReorgReport(beyondLimit: true))` and older blocks are not retracted.
    public var maxReorgDepth: Int = 64
    /// Calls per JSON-RPC batch.
    public var batchSize: Int = 100
    /// How often the head of a node reached over HTTP is polled (`eth_getBlockByNumber("latest")`).
    public var pollEvery: Duration = .seconds(1)
    /// How often peer count and sync state are polled on each node.
    public var healthPollEvery: Duration = .seconds(5)
    /// Nodes that must report the same hash at a height for it to be canonical;
    /// nil: a majority of the configured nodes. A node reporting another hash there is divergent.
    public var quorum: Int? = nil
    /// Before the first sync, wait up to this long for every node to answer, so that the
    /// quorum can be consulted before anything is shown.
    public var startupGrace: Duration = .seconds(2)
    /// How often consensus health (proposers, missed turns, block timing) is probed.
    public var consensusEvery: Duration = .seconds(10)
    /// Blocks analysed by the consensus probe.
    public var consensusWindow: Int = 64

    public init(nodes: [NodeEndpoint]) { self.nodes = nodes }
}

public enum LedgerClientError: Error, Sendable, Equatable, CustomStringConvertible {
    case noNodes
    case notConnected
    case disconnected(String)
    case timeout(method: String, after: Duration)
    case malformedFrame(String)
    case badResponse(method: String, String)
    case rpc(method: String, RPCError)
    case wrongChain(expected: UInt64, got: UInt64)
    /// The nodes report different chain ids and none has a majority (the text says which).
    case chainDisputed(String)
    /// The node's answers contradicted each other (typically a reorg while fetching); retried.
    case inconsistent(String)
    /// The node served a header whose hash does not match its fields; it is excluded.
    case untrusted(String)
    /// The node URL's scheme is not ws, wss, http or https.
    case unsupportedURL(String)
    /// An HTTP answer that is not a JSON-RPC response (e.g. 401, 502), with a short excerpt.
    case httpStatus(Int, String)
    /// A TLS file of the node (CA, client certificate or key) cannot be used; the text says which and why.
    case tlsFiles(String)

    public var description: String {
        switch self {
        case .noNodes: return "no ledger node configured"
        case .notConnected: return "not connected"
        case .disconnected(let why): return "disconnected: \(why)"
        case .timeout(let m, let d): return "\(m) timed out after \(d)"
        case .malformedFrame(let why): return "malformed frame: \(why)"
        case .badResponse(let m, let why): return "bad response to \(m): \(why)"
        case .rpc(let m, let e): return "\(m): \(e)"
        case .wrongChain(let e, let g): return "wrong chain: node reports chain id \(g), expected \(e)"
        case .chainDisputed(let why): return why
        case .inconsistent(let why): return "inconsistent node data: \(why)"
        case .untrusted(let node): return "node \(node) served a block whose hash does not match its header; excluded"
        case .unsupportedURL(let url): return "unsupported node URL \(url): use ws://, wss://, http:// or https://"
        case .httpStatus(let code, let why): return "HTTP \(code)" + (why.isEmpty ? "" : ": \(why)")
        case .tlsFiles(let why): return why
        }
    }
}

/// Keeps credentials out of everything the operator or a log file can see.
enum Redaction {
    static let placeholder = "‹redacted›"

    /// Splits `scheme://userinfo@authority/path?query#fragment`.
    static func parts(of url: String) -> (scheme: String, userinfo: String?, authority: String, path: String, query: String?) {
        var rest = Substring(url)
        var scheme = ""
        if let r = rest.firstRange(of: "://") {
            scheme = String(rest[..<r.lowerBound])
            rest = rest[r.upperBound...]
        }
        let authEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[..<authEnd]
        var userinfo: String?
        if let at = authority.lastIndex(of: "@") {
            userinfo = String(authority[..<at])
            authority = authority[authority.index(after: at)...]
        }
        rest = rest[authEnd...]
        var query: String?
        if let q = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            query = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        return (scheme, userinfo, String(authority), String(rest), query)
    }

    /// Path segments that look like API keys (long runs of letters and digits).
    static func isKeyLike(_ segment: Substring) -> Bool {
        segment.count >= 20 && segment.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    }

    static func sanitize(url: String) -> String {
        let p = parts(of: url)
        let path = p.path.split(separator: "/", omittingEmptySubsequences: false)
            .map { isKeyLike($0) ? Substring(placeholder) : $0 }
            .joined(separator: "/")
        return (p.scheme.isEmpty ? "" : p.scheme + "://") + p.authority + path
    }

    static func hostAndPort(of url: String) -> String {
        let a = parts(of: url).authority
        return a.isEmpty ? sanitize(url: url) : a
    }

    /// Every string that must never be shown for this endpoint.
    static func secrets(of endpoint: NodeEndpoint) -> [String] {
        let p = parts(of: endpoint.url)
        var s: [String] = []
        if let u = p.userinfo, !u.isEmpty {
            s.append(u)
            s.append(contentsOf: u.split(separator: ":").map(String.init))
            s.append(contentsOf: userinfoSecrets(u))
        }
        if let q = p.query, !q.isEmpty {
            s.append(q)
            for kv in q.split(separator: "&") {
                if let eq = kv.firstIndex(of: "=") { s.append(String(kv[kv.index(after: eq)...])) }
            }
        }
        s.append(contentsOf: p.path.split(separator: "/").filter(isKeyLike).map(String.init))
        for (_, v) in endpoint.headers where !v.isEmpty {
            s.append(v)
            s.append(contentsOf: v.split(separator: " ").map(String.init))
        }
        // Longest first so that a secret containing another is removed whole.
        return Array(Set(s.filter { $0.count >= 3 })).sorted { $0.count > $1.count }
    }

    static func scrub(_ text: String, secrets: [String]) -> String {
        var out = text
        for s in secrets where out.contains(s) {
            out = out.replacing(s, with: placeholder)
        }
        return out
    }
}
