import ChainCore
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// One simulated validator node: JSON-RPC over WebSocket and HTTP POST on `/`.
///
/// Runs a Hummingbird application in a task; `stop()` cancels it, which
/// closes the listening socket and every connection.
final class NodeServer: Sendable {
    let index: Int
    let service: RPCService
    let hub: SubscriptionHub
    private let task = Locked<Task<Void, Never>?>(nil)
    private let boundPort = Locked<Int?>(nil)
    private let boundHost = Locked<String?>(nil)
    /// This node's standing faults (shared with its RPC service and sessions).
    var faults: NodeFaults { service.faults }

    static let maxMessageBytes = 16 << 20

    init(index: Int, service: RPCService, hub: SubscriptionHub) {
        self.index = index
        self.service = service
        self.hub = hub
    }

    var port: Int? { boundPort.withLock { $0 } }

    /// Binds `host:port` (0 = ephemeral) and returns the bound port once the server accepts connections.
    func start(host: String, port: Int) async throws -> Int {
        let service = self.service
        let hub = self.hub
        let faults = self.faults
        let index = self.index
        let logger = Logger(label: "gridtop-sim.node\(index)", factory: { _ in SwiftLogNoOpLogHandler() })

        let router = Router(context: BasicWebSocketRequestContext.self)
        router.post("/") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: Self.maxMessageBytes)
            let latency = faults.latency
            if latency > .zero { try await Task.sleep(for: latency) }
            let reply = service.handleBytes(text: String(buffer: body), session: nil) ?? []
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply)))
        }
        let wsRouter = Router(context: BasicWebSocketRequestContext.self)
        wsRouter.ws("/") { inbound, outbound, _ in
            let session = hub.open(node: index, faults: faults, ledger: service.ledger)
            defer { hub.close(session) }
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    // The single writer of this socket: replies and notifications in order.
                    for await message in session.outgoing {
                        // One text frame straight from the reply's bytes (no String, no copy).
                        do { try await outbound.withTextMessageWriter { try await $0(message.bytes) } } catch { break }
                    }
                }
                group.addTask {
                    do {
                        for try await message in inbound.messages(maxSize: Self.maxMessageBytes) {
                            let text: String
                            switch message {
                            case .text(let s): text = s
                            case .binary(let b): text = String(buffer: b)
                            }
                            let latency = faults.latency
                            if latency > .zero {
                                // A slow node: every answer comes late (computed when it is sent).
                                Task {
                                    try? await Task.sleep(for: latency)
                                    if let reply = service.handleBuffer(text: text, session: session) { session.send(bytes: reply) }
                                }
                            } else if let reply = service.handleBuffer(text: text, session: session) {
                                session.send(bytes: reply)
                            }
                        }
                    } catch {}
                }
                _ = await group.next()  // either side ending ends the connection
                session.finish()
                group.cancelAll()
            }
        }

        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let failure = Locked<(any Error)?>(nil)
        let app = Application(
            router: router,
            // Frames up to the message limit both ways, as geth (one frame per message, no 16 KiB cap).
            server: .http1WebSocketUpgrade(webSocketRouter: wsRouter,
                                           configuration: .init(maxFrameSize: Self.maxMessageBytes)),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "gridtop-sim"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? port)
                portContinuation.finish()
            },
            logger: logger
        )
        let t = Task {
            do { try await app.run() } catch { failure.withLock { $0 = error } }
            portContinuation.finish()
        }
        task.withLock { $0 = t }
        var it = ports.makeAsyncIterator()
        guard let bound = await it.next() else {
            throw SimulationError.bindFailed(host: host, port: port,
                                             reason: failure.withLock { $0.map { "\($0)" } } ?? "server stopped")
        }
        boundPort.withLock { $0 = bound }
        boundHost.withLock { $0 = host }
        return bound
    }

    /// A node restart: the server goes away (listening socket and connections), and after
    /// `down` serves the same chain again on the same port. Retries the bind for a while.
    func restart(after down: Duration) async {
        guard let port, let host = boundHost.withLock({ $0 }) else { return }
        hub.closeAll(node: index)
        await stop()
        try? await Task.sleep(for: down)
        for _ in 0..<50 {
            if (try? await start(host: host, port: port)) != nil { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    func stop() async {
        guard let t = task.withLock({ s -> Task<Void, Never>? in defer { s = nil }; return s }) else { return }
        t.cancel()
        await t.value
    }
}

public enum SimulationError: Error, CustomStringConvertible, Sendable {
    case bindFailed(host: String, port: Int, reason: String)
    case alreadyStarted

    public var description: String {
        switch self {
        case .bindFailed(let h, let p, let r): return "cannot listen on \(h):\(p): \(r)"
        case .alreadyStarted: return "the simulated network is already running"
        }
    }
}
