import ChainCore
import Logging
import NIOSSL

/// What the hub, the node workers and the consensus probe need from a JSON-RPC 2.0
/// link to one node, whatever carries it: WebSocket (`RPCConnection`) or HTTP POST
/// (`HTTPRPCConnection`).
///
/// Life cycle, the same for both: `run` serves the link until it closes or the task is
/// cancelled; `waitOpen` returns once requests can be sent; `close` ends it with a reason
/// (`closeReason`), after which every call fails with that reason.
protocol RPCTransport: Actor {
    func run() async
    func waitOpen() async throws
    func close(_ reason: LedgerClientError) async
    /// Why the link closed (nil while open).
    var closeReason: LedgerClientError? { get }

    /// One call; an RPC error is thrown as `.rpc`.
    func call(_ method: String, _ params: [JSON]) async throws -> JSON
    /// A JSON-RPC batch sent as one message; results in call order. A batch the node
    /// refuses as a whole throws `.rpc` with the node's error.
    func batch(_ calls: [(method: String, params: [JSON])]) async throws -> [Result<JSON, RPCError>]
    /// `eth_getLogs` decoded into grid logs. The WebSocket connection routes the answer's raw
    /// bytes to `GetLogsDecoder` (no JSON tree); the default goes through `call`.
    func getLogs(_ filter: JSON) async throws -> [GridLog]

    /// Largest batch `many` sends; lowered when the node refuses a batch as too large.
    var batchLimit: Int { get }
    func lowerBatchLimit(to limit: Int)
    var logger: Logger { get }
}

/// A transport that can also push `eth_subscribe` notifications (WebSocket). A node
/// reached over one that cannot (HTTP) is followed by polling its head instead.
extension RPCTransport {
    func getLogs(_ filter: JSON) async throws -> [GridLog] {
        let result = try await call("eth_getLogs", [filter])
        guard let logs = GetLogsDecoder.gridLogs(result: result) else {
            throw LedgerClientError.badResponse(method: "eth_getLogs", "expected an array")
        }
        return logs
    }
}

protocol SubscribingTransport: RPCTransport {
    nonisolated var notifications: AsyncStream<RPCConnection.Notification> { get }
    /// `eth_subscribe`; returns the subscription id.
    func subscribe(_ params: [JSON]) async throws -> String
}

enum RPCBatching {
    /// geth's batch limit; no batch is ever larger.
    static let maxBatch = 1000

    /// `-32003 response too large`, or `-32600` saying the batch is too large.
    static func isTooLarge(_ e: RPCError) -> Bool {
        e.code == RPCError.responseTooLarge
            || (e.code == RPCError.invalidRequest && e.message.lowercased().contains("too large"))
            || (e.code == RPCError.invalidRequest && e.message.lowercased().contains("batch size"))
    }
}

extension RPCTransport {
    /// Calls in batches of at most `batchLimit` (≤ 1000), splitting further when the node refuses
    /// a batch as too large (`-32600 batch too large`) or cuts its response short (`-32003`);
    /// results in call order. A single call is sent plain.
    func many(_ calls: [(method: String, params: [JSON])]) async throws -> [Result<JSON, RPCError>] {
        var out: [Result<JSON, RPCError>] = []
        out.reserveCapacity(calls.count)
        var k = 0
        while k < calls.count {
            let n = min(calls.count - k, batchLimit)
            out += try await adaptive(Array(calls[k..<(k + n)]), depth: 0)
            k += n
        }
        return out
    }

    private func adaptive(_ calls: [(method: String, params: [JSON])], depth: Int) async throws -> [Result<JSON, RPCError>] {
        if calls.count == 1 {
            do { return [.success(try await call(calls[0].method, calls[0].params))] } catch LedgerClientError.rpc(_, let e) {
                return [.failure(e)]
            }
        }
        let half = calls.count / 2
        var results: [Result<JSON, RPCError>]
        do {
            results = try await batch(calls)
        } catch LedgerClientError.rpc(_, let e) where RPCBatching.isTooLarge(e) && depth < 16 {
            // The whole batch was refused: halve it, and remember the smaller size for this node.
            lowerBatchLimit(to: half)
            logger.info("node refused a batch as too large; splitting", metadata: ["calls": "\(calls.count)", "error": "\(e)"])
            return try await adaptive(Array(calls[..<half]), depth: depth + 1)
                + adaptive(Array(calls[half...]), depth: depth + 1)
        }
        // geth answers what fits and fills the rest with -32003: ask again for those.
        let cut = results.indices.filter { if case .failure(let e) = results[$0], e.code == RPCError.responseTooLarge { return true }; return false }
        if !cut.isEmpty, depth < 16 {
            if cut.count == calls.count { lowerBatchLimit(to: half) }
            let again = try await adaptive(cut.map { calls[$0] }, depth: depth + 1)
            for (j, i) in cut.enumerated() { results[i] = again[j] }
        }
        return results
    }
}

/// The transport for an endpoint, by URL scheme: `ws://`/`wss://` → WebSocket,
/// `http://`/`https://` → HTTP POST. Anything else is refused with a clear error.
func makeTransport(for endpoint: NodeEndpoint, configuration: LedgerClientConfiguration, logger: Logger,
                   onLatency: @escaping @Sendable (Duration) -> Void) throws(LedgerClientError) -> any RPCTransport {
    // A node without TLS gets no TLS configuration (its files are not read).
    var tls: TLSConfiguration?
    if endpoint.usesTLS {
        do { tls = try endpoint.tls.configuration(environment: configuration.tlsEnvironment) } catch {
            throw .tlsFiles(error.description)
        }
    }
    switch endpoint.transport {
    case .webSocket:
        // Credentials in the URL go as Basic authorization; the host is dialled without them.
        let dial = Redaction.dialing(url: endpoint.url, headers: endpoint.headers)
        return RPCConnection(
            settings: .init(url: dial.url, headers: dial.headers, maxFrameSize: configuration.maxFrameSize,
                            frameHardCap: configuration.maxFrameSizeHardCap, requestTimeout: configuration.requestTimeout,
                            tls: tls, target: Redaction.hostAndPort(of: endpoint.safeURL)),
            logger: logger, onLatency: onLatency)
    case .http:
        return HTTPRPCConnection(
            settings: .init(url: endpoint.url, headers: endpoint.headers, maxResponseSize: configuration.maxFrameSize,
                            requestTimeout: configuration.requestTimeout, connectTimeout: configuration.connectTimeout,
                            secrets: Redaction.secrets(of: endpoint), tls: tls, target: Redaction.hostAndPort(of: endpoint.safeURL)),
            logger: logger, onLatency: onLatency)
    case nil:
        throw .unsupportedURL(endpoint.safeURL)
    }
}
