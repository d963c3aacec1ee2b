import ChainCore
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL

/// One WebSocket JSON-RPC 2.0 connection to one node.
///
/// `run` owns the socket for its whole life; requests made meanwhile are
/// correlated by id (singles and batches), time out on their own, and fail
/// with the connection's error when it closes. Subscription pushes
/// (`*_subscription`) come out of `notifications`. Anything that is not JSON
/// closes the connection with `.malformedFrame` so that the owner reconnects.
actor RPCConnection: SubscribingTransport {
    struct Notification: Sendable {
        var subscription: String
        var result: JSON
    }

    struct Settings: Sendable {
        var url: String
        var headers: [String: String]
        var maxFrameSize: Int
        /// Frames up to this size are read (and refused by size, with a clear error) rather than
        /// dropped by the decoder (`LedgerClientConfiguration.maxFrameSizeHardCap`).
        var frameHardCap: Int = 0
        var requestTimeout: Duration
        /// Consecutive timeouts after which the connection is given up.
        var timeoutsBeforeClose = 2
        /// For `wss://`: how the server is verified and which client certificate is shown (`NodeTLS`).
        var tls: TLSConfiguration? = nil
        /// `host:port` as errors name it (no credentials).
        var target: String = ""
    }

    /// What an exchange is answered with.
    private enum Answer: Sendable {
        /// Each call's result, from the parsed frame.
        case results([Result<JSON, RPCError>])
        /// The whole message's bytes, unparsed: the answer to an `eth_getLogs` call made with
        /// `getLogs`, for `GetLogsDecoder` (no JSON tree, no `String` for the bulk of a backfill).
        case frame(ByteBuffer)
    }

    private struct Exchange {
        var ids: [Int]
        var label: String
        /// The caller takes the raw frame (`getLogs`).
        var wantsFrame = false
        var results: [Int: Result<JSON, RPCError>] = [:]
        var continuation: CheckedContinuation<Answer, any Error>
        var started: ContinuousClock.Instant
        var timeout: Task<Void, Never>?
    }

    nonisolated let notifications: AsyncStream<Notification>
    private let sink: AsyncStream<Notification>.Continuation
    private let settings: Settings
    let logger: Logger
    private let onLatency: @Sendable (Duration) -> Void

    private var outbound: WebSocketOutboundWriter?
    private var openWaiters: [CheckedContinuation<Void, any Error>] = []
    private var closedError: LedgerClientError?
    private var nextID = 1
    private var exchanges: [Int: Exchange] = [:]
    private var owner: [Int: Int] = [:]
    private var consecutiveTimeouts = 0
    /// Open exchanges that take their answer's raw frame.
    private var framesWanted = 0

    init(settings: Settings, logger: Logger, onLatency: @escaping @Sendable (Duration) -> Void) {
        self.settings = settings
        self.logger = logger
        self.onLatency = onLatency
        (notifications, sink) = AsyncStream.makeStream(of: Notification.self, bufferingPolicy: .bufferingNewest(100_000))
    }

    /// Why the connection closed (nil while open).
    var closeReason: LedgerClientError? { closedError }

    // MARK: Socket

    /// Connects and serves the socket until it closes, the task is cancelled, or a malformed frame arrives.
    func run() async {
        var fields = HTTPFields()
        for (k, v) in settings.headers {
            if let name = HTTPField.Name(k) { fields[name] = v }
        }
        // NIO's frame decoder drops a connection over its limit without telling why (the node
        // seems to have closed it), so an oversized answer would not be recognised as one. It
        // gets the hard cap (at least twice the limit): every frame up to the cap reaches
        // `receive`, which names its size and the limit, so that the hub can ask again on a
        // wide connection. Only a frame over the hard cap is still dropped by the decoder.
        let config = WebSocketClientConfiguration(
            maxFrameSize: Self.decoderFrameLimit(settings.maxFrameSize, hardCap: settings.frameHardCap),
            additionalHeaders: fields, closeTimeout: .seconds(1))
        let maxMessage = settings.maxFrameSize
        let tooLarge = LedgerClientError.malformedFrame(
            "node sent a frame larger than the maximum frame size of \(maxMessage) bytes; connection dropped")
        do {
            let close: WebSocketCloseFrame?
            if let tls = settings.tls, let ip = IPAddressWebSocket(url: settings.url) {
                // wss:// to an IP address: no SNI, the certificate checked against the address (IP SAN).
                close = try await ip.connect(configuration: config, tls: tls, logger: logger) { inbound, outbound, _ in
                    try await self.serve(inbound, outbound, maxMessage: maxMessage)
                }
            } else if let tls = settings.tls {
                close = try await WebSocketClient.connect(url: settings.url, configuration: config, tlsConfiguration: tls,
                                                          logger: logger) { inbound, outbound, _ in
                    try await self.serve(inbound, outbound, maxMessage: maxMessage)
                }
            } else {
                close = try await WebSocketClient.connect(url: settings.url, configuration: config, logger: logger) { inbound, outbound, _ in
                    try await self.serve(inbound, outbound, maxMessage: maxMessage)
                }
            }
            if close?.closeCode == .messageTooLarge {
                // We closed it: the node sent a frame (or message) over the limit.
                finish(tooLarge)
            } else {
                if close == nil, framesWanted > 0 {
                    // No close frame while an eth_getLogs answer was due: how NIO's decoder drops a
                    // frame over its limit (the hard cap). Said as such, so the hub can ask for less.
                    finish(.malformedFrame(
                        "the node's connection ended while an eth_getLogs answer was due; an answer larger than \(Self.decoderFrameLimit(settings.maxFrameSize, hardCap: settings.frameHardCap)) bytes ends it this way (or the node went away)"))
                } else {
                    finish(.disconnected("closed by the node" + (close.map { " (close code \($0.closeCode))" } ?? "")))
                }
            }
        } catch let e as WebSocketClientError where e == .serverSentMessageTooLarge {
            finish(tooLarge)
        } catch let e as LedgerClientError {
            finish(e)
        } catch is CancellationError {
            finish(.disconnected("cancelled"))
        } catch {
            finish(.disconnected(PlainWords.describe(error, target: settings.target)))
        }
    }

    /// Reads the socket's frames into messages and hands each to `receive` (until it closes).
    private nonisolated func serve(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, maxMessage: Int) async throws {
        await self.attach(outbound)
        // Messages assembled here from the frames, as bytes: a text message is not made
        // a `String` (a copy and a UTF-8 pass over tens of megabytes for a backfill
        // answer); JSON parsing treats its bytes as `String(decoding:)` would.
        var frames = inbound.makeAsyncIterator()
        while let first = try await frames.next() {
            guard first.opcode != .continuation else { throw Self.protocolError }
            var message = first.data
            var fin = first.fin
            while !fin, message.readableBytes <= maxMessage, let more = try await frames.next() {
                guard more.opcode == .continuation else { throw Self.protocolError }
                var data = more.data
                message.writeBuffer(&data)
                fin = more.fin
            }
            if !fin, message.readableBytes <= maxMessage { break }  // closed mid-message
            try await self.receive(message)
        }
    }

    static let protocolError = LedgerClientError.malformedFrame("node sent a WebSocket continuation frame out of place")

    static func decoderFrameLimit(_ max: Int, hardCap: Int = 0) -> Int {
        let twice = max >= Int(Int32.max) / 2 ? Int(Int32.max) : max * 2
        return Swift.min(Int(Int32.max), Swift.max(twice, hardCap))
    }

    /// Connection errors in words an operator can act on (`PlainWords`).
    static func explain(_ error: any Error) -> String { PlainWords.describe(error) }

    /// Returns once the WebSocket is open; throws if it closed first.
    func waitOpen() async throws {
        if outbound != nil { return }
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

    /// Closes the connection (`run` returns shortly after).
    func close(_ reason: LedgerClientError) async {
        if closedError == nil { closedError = reason }
        let writer = outbound
        finish(reason)
        try? await writer?.close(.normalClosure, reason: nil)
    }

    private func attach(_ writer: WebSocketOutboundWriter) {
        guard closedError == nil else { return }
        outbound = writer
        let waiters = openWaiters
        openWaiters = []
        for w in waiters { w.resume() }
    }

    private func failOpenWaiters(_ error: any Error) {
        let waiters = openWaiters
        openWaiters = []
        for w in waiters { w.resume(throwing: error) }
    }

    private func finish(_ reason: LedgerClientError) {
        if closedError == nil { closedError = reason }
        let err = closedError ?? reason
        outbound = nil
        failOpenWaiters(err)
        let all = exchanges
        exchanges = [:]
        owner = [:]
        framesWanted = 0
        for (_, x) in all {
            x.timeout?.cancel()
            x.continuation.resume(throwing: err)
        }
        sink.finish()
    }

    // MARK: Inbound

    private func receive(_ message: ByteBuffer) throws {
        let size = message.readableBytes
        if size > settings.maxFrameSize {
            let error = LedgerClientError.malformedFrame(
                "node sent a frame of \(size) bytes, larger than the maximum frame size of \(settings.maxFrameSize) bytes; connection dropped")
            logger.warning("closing connection", metadata: ["error": "\(error)"])
            if closedError == nil { closedError = error }
            throw error
        }
        if framesWanted > 0, let id = message.withUnsafeReadableBytes({ GetLogsDecoder.responseID($0) }), let key = owner[id], let x = exchanges[key], x.wantsFrame {
            // An eth_getLogs answer: its bytes go to the caller's decoder as they are.
            complete(key, with: .success(.frame(message)))
            return
        }
        let decoded: RPCInbound.Frame
        do {
            decoded = try RPCInbound.decode(Array(message.readableBytesView))
        } catch {
            logger.warning("closing connection", metadata: ["error": "\(error)"])
            if closedError == nil { closedError = error }
            throw error
        }
        for m in decoded.messages { handle(m, inBatch: decoded.isBatch) }
    }

    private func handle(_ message: RPCMessage, inBatch: Bool) {
        switch message {
        case .response(let id, let result):
            guard let n = id.intValue, let key = owner[n], var x = exchanges[key] else {
                logger.debug("response to an unknown request", metadata: ["id": "\(id.serialized())"])
                return
            }
            if case .failure(let err) = result, x.ids.count > 1,
                !inBatch || (err.code == RPCError.invalidRequest && RPCConnection.isTooLarge(err))
            {
                // The whole batch was refused (geth: `[{"id":first,"error":{-32600 "batch too large"}}]`).
                complete(key, with: .failure(LedgerClientError.rpc(method: x.label, err)))
                return
            }
            x.results[n] = result
            owner[n] = nil
            if x.results.count == x.ids.count {
                exchanges[key] = x
                complete(key, with: .success(.results(x.ids.map { x.results[$0]! })))
            } else {
                exchanges[key] = x
            }
        case .notification(let method, let params):
            guard method.hasSuffix("_subscription"), let sub = params["subscription"]?.stringValue,
                let result = params["result"]
            else {
                logger.debug("ignored notification", metadata: ["method": "\(method)"])
                return
            }
            sink.yield(Notification(subscription: sub, result: result))
        case .request(_, let method, _):
            logger.debug("ignored request from node", metadata: ["method": "\(method)"])
        }
    }

    private func complete(_ key: Int, with result: Result<Answer, any Error>) {
        guard let x = exchanges.removeValue(forKey: key) else { return }
        if x.wantsFrame { framesWanted -= 1 }
        for id in x.ids { owner[id] = nil }
        x.timeout?.cancel()
        if case .success = result {
            consecutiveTimeouts = 0
            onLatency(ContinuousClock.now - x.started)
        }
        x.continuation.resume(with: result)
    }

    private func expire(_ key: Int) async {
        guard let x = exchanges[key] else { return }
        consecutiveTimeouts += 1
        complete(key, with: .failure(LedgerClientError.timeout(method: x.label, after: settings.requestTimeout)))
        if consecutiveTimeouts >= settings.timeoutsBeforeClose {
            logger.warning("node stopped answering; closing connection")
            await close(.timeout(method: x.label, after: settings.requestTimeout))
        }
    }

    private func cancelExchange(_ key: Int) {
        complete(key, with: .failure(CancellationError()))
    }

    // MARK: Requests

    private func send(_ calls: [(method: String, params: [JSON])], batch: Bool) async throws -> [Result<JSON, RPCError>] {
        guard case .results(let r) = try await exchange(calls, batch: batch, wantsFrame: false) else {
            throw LedgerClientError.badResponse(method: calls[0].method, "unexpected raw answer")
        }
        return r
    }

    private func exchange(_ calls: [(method: String, params: [JSON])], batch: Bool, wantsFrame: Bool) async throws -> Answer {
        precondition(!calls.isEmpty)
        if let closedError { throw closedError }
        guard let writer = outbound else { throw LedgerClientError.notConnected }
        var ids: [Int] = []
        var messages: [JSON] = []
        for c in calls {
            ids.append(nextID)
            messages.append(JSONRPC.request(id: nextID, method: c.method, params: c.params))
            nextID += 1
        }
        let key = ids[0]
        let text = (batch ? JSON.array(messages) : messages[0]).serialized()
        let label = batch ? "batch of \(calls.count) \(calls[0].method)" : calls[0].method
        let timeout = settings.requestTimeout
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Answer, any Error>) in
                if Task.isCancelled { c.resume(throwing: CancellationError()); return }
                var x = Exchange(ids: ids, label: label, wantsFrame: wantsFrame, continuation: c, started: .now)
                if wantsFrame { framesWanted += 1 }
                x.timeout = Task { [weak self] in
                    do { try await Task.sleep(for: timeout) } catch { return }
                    await self?.expire(key)
                }
                exchanges[key] = x
                for id in ids { owner[id] = key }
                Task {
                    do { try await writer.write(.text(text)) } catch {
                        self.complete(key, with: .failure(LedgerClientError.disconnected("write failed: \(error)")))
                    }
                }
            }
        } onCancel: {
            Task { await self.cancelExchange(key) }
        }
    }

    /// One call; an RPC error is thrown as `.rpc`.
    func call(_ method: String, _ params: [JSON] = []) async throws -> JSON {
        let r = try await send([(method, params)], batch: false)
        switch r[0] {
        case .success(let v): return v
        case .failure(let e): throw LedgerClientError.rpc(method: method, e)
        }
    }

    /// `eth_getLogs(filter)`, its answer decoded straight from the frame's bytes by
    /// `GetLogsDecoder` on a concurrent thread (off this actor, so the next frame can be read
    /// meanwhile). Invalid JSON closes the connection as any malformed frame does.
    func getLogs(_ filter: JSON) async throws -> [GridLog] {
        let answer = try await exchange([("eth_getLogs", [filter])], batch: false, wantsFrame: true)
        let decoded: Result<[GridLog], GetLogsDecoder.Failure>
        switch answer {
        case .results(let r):
            // Answered through the generic path (e.g. a node that writes the id after the result).
            switch r[0] {
            case .success(let v):
                guard let logs = GetLogsDecoder.gridLogs(result: v) else {
                    throw LedgerClientError.badResponse(method: "eth_getLogs", "expected an array")
                }
                return logs
            case .failure(let e): throw LedgerClientError.rpc(method: "eth_getLogs", e)
            }
        case .frame(let message):
            decoded = await Self.decode(message)
        }
        switch decoded {
        case .success(let logs): return logs
        case .failure(.rpc(let e)): throw LedgerClientError.rpc(method: "eth_getLogs", e)
        case .failure(.shape(let why)): throw LedgerClientError.badResponse(method: "eth_getLogs", why)
        case .failure(.json(let e)):
            let error = LedgerClientError.malformedFrame("node sent invalid JSON (\(e))")
            logger.warning("closing connection", metadata: ["error": "\(error)"])
            await close(error)
            throw error
        }
    }

    /// The raw answer to `eth_getLogs(filter)` (for the benchmark's phase timing and tests).
    func getLogsFrame(_ filter: JSON) async throws -> [UInt8] {
        switch try await exchange([("eth_getLogs", [filter])], batch: false, wantsFrame: true) {
        case .frame(let b): return Array(b.readableBytesView)
        case .results: throw LedgerClientError.badResponse(method: "eth_getLogs", "answer was not routed as a frame")
        }
    }

    @concurrent
    private nonisolated static func decode(_ message: ByteBuffer) async -> Result<[GridLog], GetLogsDecoder.Failure> {
        message.withUnsafeReadableBytes { buf in Result { () throws(GetLogsDecoder.Failure) in try GetLogsDecoder.gridLogs(buf) } }
    }

    /// A JSON-RPC batch; results in call order.
    func batch(_ calls: [(method: String, params: [JSON])]) async throws -> [Result<JSON, RPCError>] {
        if calls.isEmpty { return [] }
        return try await send(calls, batch: true)
    }

    /// Largest batch sent on this connection: at most 1000 (geth's limit), lowered when the node
    /// answers `-32600 batch too large` or `-32003 response too large` (see `RPCTransport.many`).
    private(set) var batchLimit = RPCConnection.maxBatch
    static let maxBatch = RPCBatching.maxBatch

    func lowerBatchLimit(to limit: Int) { batchLimit = max(1, min(batchLimit, limit)) }

    static func isTooLarge(_ e: RPCError) -> Bool { RPCBatching.isTooLarge(e) }

    /// `eth_subscribe`; returns the subscription id.
    func subscribe(_ params: [JSON]) async throws -> String {
        let r = try await call("eth_subscribe", params)
        guard let id = r.stringValue else { throw LedgerClientError.badResponse(method: "eth_subscribe", "expected a subscription id") }
        return id
    }
}
