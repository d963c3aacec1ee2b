import AsyncHTTPClient
import ChainCore
import Foundation
import Logging
import NIOCore
import NIOSSL

/// JSON-RPC 2.0 over HTTP(S) POST to one node (what most providers and many consortium
/// nodes expose). No subscriptions: the worker polls the head and the hub fills the gaps.
///
/// `run` owns the HTTP client (its connection pool) for the link's whole life and shuts it
/// down when the link closes or the task is cancelled. Each call or batch is one POST with
/// the node's extra headers; TLS is verified as `NodeTLS` says (system trust store by default,
/// or the node's CA file; an IP address is matched against the certificate's IP SAN), redirects are not followed (they could carry the headers elsewhere), the body is
/// never decompressed, and an answer longer than `maxResponseSize` fails with a clear error.
/// Failed connection attempts are not retried here: after `failuresBeforeClose` consecutive
/// transport failures the link closes and the worker reconnects with its own backoff.
actor HTTPRPCConnection: RPCTransport {
    struct Settings: Sendable {
        var url: String
        var headers: [String: String]
        var maxResponseSize: Int
        var requestTimeout: Duration
        var connectTimeout: Duration
        /// Strings never to put in an error or a log line (credentials of this endpoint).
        var secrets: [String]
        /// For `https://`: how the server is verified and which client certificate is shown (`NodeTLS`).
        var tls: TLSConfiguration? = nil
        /// `host:port` as errors name it (no credentials).
        var target: String = ""
        /// Consecutive transport failures (timeouts, refused connections) after which the link is given up.
        var failuresBeforeClose = 2
    }

    let logger: Logger
    private let settings: Settings
    private let onLatency: @Sendable (Duration) -> Void
    /// The URL without userinfo (sent as Basic authorization instead).
    private let target: String
    private let headers: [(String, String)]

    private var client: HTTPClient?
    private var openWaiters: [CheckedContinuation<Void, any Error>] = []
    private var stopWaiter: CheckedContinuation<Void, Never>?
    private var closedError: LedgerClientError?
    private var nextID = 1
    private var consecutiveFailures = 0
    private(set) var batchLimit = RPCBatching.maxBatch

    init(settings: Settings, logger: Logger, onLatency: @escaping @Sendable (Duration) -> Void) {
        self.settings = settings
        self.logger = logger
        self.onLatency = onLatency
        let (target, headers) = Self.request(url: settings.url, headers: settings.headers)
        self.target = target
        self.headers = headers
    }

    /// The URL to POST to and the headers to send: the configured ones, JSON content type,
    /// and `Authorization: Basic …` from the URL's userinfo unless one is configured.
    static func request(url: String, headers: [String: String]) -> (String, [(String, String)]) {
        var out: [(String, String)] = [("Content-Type", "application/json"), ("Accept", "application/json")]
        let reserved: Set<String> = ["content-type", "content-length", "host", "transfer-encoding"]
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) where !reserved.contains(k.lowercased()) { out.append((k, v)) }
        let dial = Redaction.dialing(url: url, headers: headers)
        if let basic = dial.headers["Authorization"], headers["Authorization"] == nil,
           !headers.keys.contains(where: { $0.lowercased() == "authorization" }) {
            out.append(("Authorization", basic))
        }
        return (dial.url, out)
    }

    var closeReason: LedgerClientError? { closedError }

    func lowerBatchLimit(to limit: Int) { batchLimit = max(1, min(batchLimit, limit)) }

    // MARK: Life cycle

    func run() async {
        guard closedError == nil, client == nil else { return }
        var config = HTTPClient.Configuration(
            tlsConfiguration: settings.tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: Self.timeAmount(settings.connectTimeout), read: Self.timeAmount(settings.requestTimeout)),
            decompression: .disabled)
        // Our worker retries with backoff; here a failed dial fails the request at once, with its reason.
        config.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
        self.client = client
        let waiters = openWaiters
        openWaiters = []
        for w in waiters { w.resume() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                if closedError != nil || Task.isCancelled { c.resume() } else { stopWaiter = c }
            }
        } onCancel: {
            Task { await self.finish(.disconnected("cancelled")) }
        }
        finish(.disconnected("cancelled"))
        self.client = nil
        try? await client.shutdown()
    }

    func waitOpen() async throws {
        if client != nil { return }
        if let closedError { throw closedError }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled { c.resume(throwing: CancellationError()); return }
                openWaiters.append(c)
            }
        } onCancel: {
            Task { await self.failOpenWaiters(CancellationError()) }
        }
    }

    func close(_ reason: LedgerClientError) async {
        finish(reason)
    }

    private func failOpenWaiters(_ error: any Error) {
        let waiters = openWaiters
        openWaiters = []
        for w in waiters { w.resume(throwing: error) }
    }

    private func finish(_ reason: LedgerClientError) {
        if closedError == nil { closedError = reason }
        failOpenWaiters(closedError ?? reason)
        stopWaiter?.resume()
        stopWaiter = nil
    }

    static func timeAmount(_ d: Duration) -> TimeAmount {
        let (s, atto) = d.components
        return .nanoseconds(s * 1_000_000_000 + atto / 1_000_000_000)
    }

    // MARK: Requests

    func call(_ method: String, _ params: [JSON]) async throws -> JSON {
        let id = takeIDs(1)
        let frame = try await post(JSONRPC.request(id: id, method: method, params: params).serialized(), label: method)
        guard let reply = frame.messages.first(where: { Self.id(of: $0) == id }) else {
            throw LedgerClientError.badResponse(method: method, "no response with the request's id")
        }
        guard case .response(_, let result) = reply else { throw LedgerClientError.badResponse(method: method, "not a response") }
        switch result {
        case .success(let v): return v
        case .failure(let e): throw LedgerClientError.rpc(method: method, e)
        }
    }

    func batch(_ calls: [(method: String, params: [JSON])]) async throws -> [Result<JSON, RPCError>] {
        if calls.isEmpty { return [] }
        let first = takeIDs(calls.count)
        let ids = Array(first..<(first + calls.count))
        let body = JSON.array(zip(ids, calls).map { JSONRPC.request(id: $0, method: $1.method, params: $1.params) }).serialized()
        let label = "batch of \(calls.count) \(calls[0].method)"
        let frame = try await post(body, label: label)
        var results: [Int: Result<JSON, RPCError>] = [:]
        for m in frame.messages {
            guard case .response(let rid, let result) = m else { continue }
            if case .failure(let err) = result, calls.count > 1,
                !frame.isBatch || (err.code == RPCError.invalidRequest && RPCBatching.isTooLarge(err))
            {
                // The whole batch was refused (one error object, or geth's `[{"id":first,"error":…}]`).
                throw LedgerClientError.rpc(method: label, err)
            }
            if let n = rid.intValue, n >= first, n < first + calls.count { results[n] = result }
        }
        guard results.count == calls.count else {
            throw LedgerClientError.badResponse(method: label, "the node answered \(results.count) of \(calls.count) calls")
        }
        return ids.map { results[$0]! }
    }

    private func takeIDs(_ n: Int) -> Int {
        defer { nextID += n }
        return nextID
    }

    private static func id(of m: RPCMessage) -> Int? {
        if case .response(let id, _) = m { return id.intValue }
        return nil
    }

    /// One POST: the body out, the JSON-RPC answer back (decoded, or a clear error).
    private func post(_ body: String, label: String) async throws -> RPCInbound.Frame {
        if let closedError { throw closedError }
        guard let client else { throw LedgerClientError.notConnected }
        var request = HTTPClientRequest(url: target)
        request.method = .POST
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        request.body = .bytes(ByteBuffer(string: body))
        let limit = settings.maxResponseSize
        let started = ContinuousClock.now
        let status: UInt, reason: String, bytes: [UInt8]
        do {
            let response = try await client.execute(request, timeout: Self.timeAmount(settings.requestTimeout))
            status = response.status.code
            reason = response.status.reasonPhrase
            let length = response.headers.first(name: "content-length").flatMap(Int.init)
            if let length, length > limit { throw tooLarge(length) }
            // The body has a deadline of its own: the client's read timeout is per byte, so a node
            // that answers a byte a second would hold the request for ever. The request timeout,
            // or the time the announced body takes at 256 KiB/s if that is longer (a dense answer).
            let bodyTime = max(settings.requestTimeout, .seconds(Double(length ?? 0) / 262_144))
            let buffer: ByteBuffer
            do {
                buffer = try await withDeadline(bodyTime, what: label) { try await response.body.collect(upTo: limit) }
            } catch is NIOTooManyBytesError { throw tooLarge(nil) }
            bytes = Array(buffer.readableBytesView)
        } catch let e as LedgerClientError {
            if case .timeout = e { throw failed(e) }  // a trickling node: counted like any timeout
            throw e  // too large: the node is fine, the answer is not
        } catch {
            if let closedError { throw closedError }
            if Task.isCancelled { throw CancellationError() }
            throw transportFailed(error, label: label)
        }
        // A JSON-RPC answer is used whatever the status (Besu and others send errors with 4xx).
        let frame: RPCInbound.Frame
        do { frame = try RPCInbound.decode(bytes) } catch {
            // Not JSON-RPC (a proxy's 502 page, a 401, garbage): counted like a failed connection.
            if !(200..<300).contains(status) {
                throw failed(.httpStatus(Int(status), scrub("\(reason) \(Self.excerpt(bytes))")))
            }
            throw failed(error)
        }
        consecutiveFailures = 0
        onLatency(ContinuousClock.now - started)
        return frame
    }

    private func tooLarge(_ size: Int?) -> LedgerClientError {
        .malformedFrame("node sent a response " + (size.map { "of \($0) bytes, " } ?? "")
            + "larger than the maximum frame size of \(settings.maxResponseSize) bytes; request failed")
    }

    /// A timeout or a failed connection, in the client's words.
    private func transportFailed(_ error: any Error, label: String) -> LedgerClientError {
        if let h = error as? HTTPClientError, h == .deadlineExceeded || h == .readTimeout {
            return failed(.timeout(method: label, after: settings.requestTimeout))
        } else if let h = error as? HTTPClientError, h == .connectTimeout {
            return failed(.timeout(method: "connect", after: settings.connectTimeout))
        }
        return failed(.disconnected(scrub(PlainWords.describe(error, target: settings.target))))
    }

    /// Counts a failed exchange; after `failuresBeforeClose` in a row the link closes (the worker reconnects).
    private func failed(_ e: LedgerClientError) -> LedgerClientError {
        consecutiveFailures += 1
        if consecutiveFailures >= settings.failuresBeforeClose {
            logger.warning("repeated failures; closing the HTTP link", metadata: ["error": "\(e)"])
            finish(e)
        }
        return e
    }

    private func scrub(_ text: String) -> String { Redaction.scrub(text, secrets: settings.secrets) }

    /// The start of a non-JSON answer, printable ASCII only, for the error message.
    static func excerpt(_ bytes: [UInt8], max: Int = 120) -> String {
        let printable = bytes.prefix(max * 4).map { (0x20..<0x7f).contains($0) ? Character(UnicodeScalar($0)) : " " }
        let text = String(printable).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return text.count > max ? String(text.prefix(max)) + "…" : text
    }
}
