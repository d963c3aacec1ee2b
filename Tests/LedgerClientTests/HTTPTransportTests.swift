import ChainCore
import GridCore
import Hummingbird
import Logging
import NIOCore
import XCTest

@testable import GridSimulator
@testable import LedgerClient

/// JSON-RPC over HTTP POST against the real simulator on loopback (it serves HTTP on the
/// same port as its WebSockets): the head is polled, gaps and reorgs go through the same
/// machinery as pushed heads, and what the client shows is exactly the simulator's chain.
final class HTTPTransportTests: SimulatorTestCase {
    static func http(_ wsURL: String) -> String {
        precondition(wsURL.hasPrefix("ws://"))
        return "http://" + wsURL.dropFirst("ws://".count)
    }

    func followHTTP(_ net: SimulatedNetwork, _ urls: [String],
                    tweak: (inout LedgerClientConfiguration) -> Void = { _ in }) -> Recorder {
        follow(net, urls) {
            $0.pollEvery = .milliseconds(50)
            tweak(&$0)
        }
    }

    func testHTTPOnlyClientFollowsTheChainExactly() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 2))
        let rec = followHTTP(net, urls.map(Self.http))
        await assertMatchesLedger(rec, net, minHeight: 25)
        // Health polls work over HTTP too.
        await eventually("health of both HTTP nodes") {
            guard let s = await rec.lastStatus else { return false }
            return s.allSatisfy { $0.peerCount == 1 && $0.syncing == false && $0.latencyMedianMs != nil && $0.chainId == net.config.chainId }
        }
        let last = await rec.lastStatus
        let s = try XCTUnwrap(last)
        for n in s {
            XCTAssertEqual(n.connection, .connected)
            XCTAssertEqual(n.trust, .verified)
            XCTAssertEqual(n.clientVersion, RPCService.clientVersion)
            XCTAssert(n.endpoint.hasPrefix("http://127.0.0.1:"), n.endpoint)
            XCTAssertNil(n.lastError)
        }
    }

    func testMixedWebSocketAndHTTPPoolReachesQuorum() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 4))
        let mixed = [urls[0], Self.http(urls[1]), urls[2], Self.http(urls[3])]
        let rec = followHTTP(net, mixed)
        await eventually("all four nodes connected and verified by the quorum") {
            guard let s = await rec.lastStatus else { return false }
            return s.allSatisfy { $0.connection == .connected && $0.trust == .verified }
        }
        await assertMatchesLedger(rec, net, minHeight: 20)
        let s = await rec.lastStatus
        XCTAssertEqual(s?.map { $0.endpoint.hasPrefix("http://") }, [false, true, false, true])
    }

    func testWrongChainOverHTTPIsRefused() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 3, faults: [try FaultScript(parsing: "node1:chain=99")]))
        try await Task.sleep(for: .milliseconds(50))  // the script applies at 0 s
        let rec = followHTTP(net, urls.map(Self.http))
        await eventually("node1 refused") { await self.status(rec, 1)?.connection == .refused }
        await assertMatchesLedger(rec, net, minHeight: 15)
        let s = await status(rec, 1)
        XCTAssertEqual(s?.chainId, 99)
        XCTAssert(s?.lastError?.contains("wrong chain") ?? false, s?.lastError ?? "no error")
    }

    func testNodeRestartOverHTTPIsBackfilledWithNothingLost() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1))
        let rec = followHTTP(net, urls.map(Self.http))
        await assertMatchesLedger(rec, net, minHeight: 8)
        let before = net.ledger!.headNumber
        await net.inject(.restart(down: .seconds(1)), node: 0)
        await eventually("restart seen") { await self.history(rec, 0).contains { $0.connection == .disconnected } }
        await assertMatchesLedger(rec, net, minHeight: before + 12)
        await eventually("node0 shown connected again") { await self.status(rec, 0)?.connection == .connected }
    }

    func testReorgOverHTTPIsFollowedAndReported() async throws {
        let (net, urls) = try await startNetwork(slowChain(nodes: 1))
        let rec = followHTTP(net, urls.map(Self.http))
        await assertMatchesLedger(rec, net, minHeight: 8, timeout: .seconds(10))
        let (orphaned, before) = await reorgWhileAtTip(rec, net, depth: 3)
        await eventually("reorg reported") { await !self.reorgReports(rec, after: before).reports.isEmpty }
        let (reports, retracted) = await reorgReports(rec, after: before)
        XCTAssertEqual(reports.map(\.depth), [3])
        XCTAssertEqual(reports.map(\.beyondLimit), [false])
        XCTAssertEqual(retracted, orphaned.reversed().map(\.hash))
        await assertMatchesLedger(rec, net, minHeight: net.ledger!.headNumber, timeout: .seconds(10))
    }

    func testResponseOverTheLimitIsFetchedOnTheWideLink() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1))
        // Wait for readings on chain: an eth_getLogs answer then exceeds 4 KiB.
        await eventually("readings on chain") {
            net.ledger.map { l in (0...l.headNumber).contains { (l.block(number: $0)?.events.count ?? 0) > 20 } } ?? false
        }
        let rec = followHTTP(net, urls.map(Self.http)) { $0.maxFrameSize = 4096 }
        // Every answer over the 4 KiB limit is asked again on a wide link (up to the hard cap):
        // the readings arrive all the same, and the node is not shown down for it.
        await assertMatchesLedger(rec, net, minHeight: 5, timeout: .seconds(20))
        let shown = await history(rec, 0)
        XCTAssertFalse(shown.contains { $0.connection == .disconnected }, "\(shown.compactMap(\.lastError))")
    }

    func testResponseOverTheHardCapShowsNothingOfIt() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1))
        await eventually("readings on chain") {
            net.ledger.map { l in (0...l.headNumber).contains { (l.block(number: $0)?.events.count ?? 0) > 20 } } ?? false
        }
        let rec = followHTTP(net, urls.map(Self.http)) { $0.maxFrameSize = 4096; $0.maxFrameSizeHardCap = 4096 }
        await eventually("the block too large even for the hard cap is named") {
            await self.history(rec, 0).contains { $0.lastError?.contains("are larger than the hard cap of 4096 bytes") ?? false }
        }
        // Nothing from a refused answer is shown: no block with the readings that did not fit.
        let shown = await rec.blocks.reduce(0) { $0 + $1.events.count }
        XCTAssertEqual(shown, 0)
    }

    /// Batches over HTTP: one POST each, never more than 1000 calls; a batch the node refuses
    /// as a whole (the simulator, as geth, answers one `-32600 batch too large`) is an `.rpc` error.
    func testBatchesOverHTTPAreChunkedAndAnswersKeptInOrder() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1))
        await eventually("a few blocks") { (net.ledger?.headNumber ?? 0) >= 5 }
        let conn = HTTPRPCConnection(
            settings: .init(url: Self.http(urls[0]), headers: [:], maxResponseSize: 16 << 20, requestTimeout: .seconds(10),
                            connectTimeout: .seconds(2), secrets: []),
            logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }), onLatency: { _ in })
        let runner = Task { await conn.run() }
        try await conn.waitOpen()
        do {
            _ = try await conn.batch(Array(repeating: (method: "eth_chainId", params: [JSON]()), count: 1001))
            XCTFail("a batch of 1001 was accepted")
        } catch LedgerClientError.rpc(_, let e) {
            XCTAssertEqual(e.code, RPCError.invalidRequest)
        }
        let calls: [(method: String, params: [JSON])] = (0..<2500).map { ("eth_getBlockByNumber", [.string(Hex.quantity(UInt64($0 % 6))), false]) }
        let results = try await conn.many(calls)
        XCTAssertEqual(results.count, 2500)
        for (i, r) in results.enumerated() {
            XCTAssertEqual(try r.get()["number"]?.quantity, UInt64(i % 6), "answer \(i)")
        }
        let limit = await conn.batchLimit
        XCTAssertEqual(limit, 1000)
        await conn.close(.disconnected("done"))
        await runner.value
        let reason = await conn.closeReason
        XCTAssertEqual(reason, .disconnected("done"))
        do {
            _ = try await conn.call("eth_chainId", [])
            XCTFail("a closed link answered")
        } catch let e as LedgerClientError {
            XCTAssertEqual(e, .disconnected("done"))
        }
    }

    // MARK: Headers

    /// A node behind an authenticating proxy: the first answers are 401s that echo the
    /// credentials back (as some gateways do); then the right token is accepted.
    func testAuthorizationHeaderReachesTheNodeAndIsNeverShown() async throws {
        let (net, urls) = try await startNetwork(simConfig(nodes: 1))
        let service = net.servers[0].service
        let secret = "tok-\(UInt64.random(in: 1 << 40..<1 << 50))-s3cr3t"
        let gate = AuthGate(expected: "Bearer \(secret)", rejectFirst: 3)
        let port = try await gate.start(service: service)
        defer { gate.stop() }
        _ = urls

        let logs = LogCapture()
        var logger = Logger(label: "ledger-client-test", factory: { _ in logs.handler() })
        logger.logLevel = .trace
        var c = clientConfig([], chainId: net.config.chainId)
        c.nodes = [NodeEndpoint(url: "http://127.0.0.1:\(port)/", name: "gated", headers: ["Authorization": "Bearer \(secret)"])]
        c.pollEvery = .milliseconds(50)
        let rec = Recorder()
        let client = LedgerClient(configuration: c, logger: logger)
        tasks.append(Task { try await client.run({ await rec.add($0) }) })

        await assertMatchesLedger(rec, net, minHeight: 15)
        let seen = gate.seenAuthorizations
        XCTAssert(seen.contains("Bearer \(secret)"), "the header reached the node")
        XCTAssertEqual(gate.rejected, 3)

        let statuses = await history(rec, 0)
        let errors = statuses.compactMap(\.lastError)
        XCTAssert(errors.contains { $0.contains("HTTP 401") && $0.contains(Redaction.placeholder) },
                  "the 401 was shown, credentials redacted: \(Set(errors))")
        for s in statuses {
            for field in [s.name, s.endpoint, s.lastError ?? "", s.clientVersion ?? ""] {
                XCTAssertFalse(field.contains(secret), "secret shown in a status: \(field)")
            }
        }
        let lines = logs.lines
        XCTAssertFalse(lines.isEmpty, "the client logged something")
        XCTAssertFalse(lines.contains { $0.contains(secret) }, "secret in the log")
        let updates = await rec.updates
        XCTAssertFalse(updates.contains { "\($0)".contains(secret) }, "secret in the stream")
    }

    func testUnsupportedSchemeIsAClearError() async throws {
        var c = LedgerClientConfiguration(nodes: [NodeEndpoint(url: "ftp://127.0.0.1:1/", name: "odd")])
        c.statusEvery = .milliseconds(50)
        c.startupGrace = .zero
        let rec = startClient(c)
        await eventually("unsupported URL reported") {
            await rec.lastStatus?.first?.lastError?.contains("unsupported node URL ftp://127.0.0.1:1/") ?? false
        }
    }
}

/// An HTTP JSON-RPC front for a simulator node that requires an `Authorization` header.
final class AuthGate: Sendable {
    let expected: String
    let rejectFirst: Int
    private let state = Locked<(seen: [String], rejected: Int, task: Task<Void, Never>?)>(([], 0, nil))

    init(expected: String, rejectFirst: Int) {
        self.expected = expected
        self.rejectFirst = rejectFirst
    }

    var seenAuthorizations: [String] { state.withLock { $0.seen } }
    var rejected: Int { state.withLock { $0.rejected } }

    func start(service: RPCService) async throws -> Int {
        let router = Router()
        router.post("/") { [self] request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 24)
            let auth = request.headers[.authorization] ?? ""
            let reject = state.withLock { s -> Bool in
                s.seen.append(auth)
                if auth != expected || s.rejected < rejectFirst {
                    s.rejected += 1
                    return true
                }
                return false
            }
            if reject {
                return Response(status: .unauthorized, headers: [.contentType: "text/plain"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: "invalid credentials: \(auth)")))
            }
            let reply = service.handle(text: String(buffer: body), session: nil) ?? ""
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: reply)))
        }
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { sink.yield($0.localAddress?.port ?? 0); sink.finish() },
                              logger: Logger(label: "gate", factory: { _ in SwiftLogNoOpLogHandler() }))
        let t = Task { _ = try? await app.run() }
        state.withLock { $0.task = t }
        for await p in ports { return p }
        throw SimulationError.bindFailed(host: "127.0.0.1", port: 0, reason: "gate did not start")
    }

    func stop() { state.withLock { $0.task?.cancel() } }
}

/// Every log line (message and metadata) the client writes, at any level.
final class LogCapture: Sendable {
    private let store = Locked<[String]>([])
    var lines: [String] { store.withLock { $0 } }
    func append(_ line: String) { store.withLock { $0.append(line) } }
    func handler() -> Handler { Handler(capture: self) }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.level) \(event.message) \(all.map { "\($0)=\($1)" }.sorted().joined(separator: " "))")
        }
    }
}
