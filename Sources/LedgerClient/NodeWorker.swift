import ChainCore
import GridCore
import Logging
import Synchronization

/// Keeps one node connected: connect, check the chain id, follow its head (pushed over a
/// WebSocket subscription, or polled over HTTP), report heads and health to the hub, and
/// reconnect with backoff when anything fails.
struct NodeWorker: Sendable {
    let index: Int
    let endpoint: NodeEndpoint
    let configuration: LedgerClientConfiguration
    let hub: LedgerHub
    let logger: Logger

    func run() async {
        var attempt = 0
        while !Task.isCancelled {
            await hub.nodeConnecting(index)
            let (error, wentLive) = await session()
            if Task.isCancelled { break }
            if wentLive { attempt = 0 }
            var delay = backoffDelay(attempt: attempt, base: configuration.reconnectBaseDelay, cap: configuration.reconnectMaxDelay)
            switch error as? LedgerClientError {
            case .wrongChain?, .chainDisputed?, .unsupportedURL?: delay = configuration.reconnectMaxDelay  // retrying soon will not help
            default: break
            }
            attempt += 1
            await hub.nodeDisconnected(index, error: error)
            logger.info("node disconnected; reconnecting", metadata: [
                "node": "\(endpoint.name)", "error": "\(hub.scrub(index, error.map { "\($0)" } ?? "closed"))",
                "retryIn": "\(delay)",
            ])
            try? await Task.sleep(for: delay)
        }
    }

    /// One connection, from dial to close. Returns why it ended and whether it got as far as live.
    private func session() async -> ((any Error)?, Bool) {
        let hub = self.hub
        let index = self.index
        let conn: any RPCTransport
        do {
            conn = try makeTransport(for: endpoint, configuration: configuration, logger: logger,
                                     onLatency: { d in Task { await hub.recordLatency(index, d) } })
        } catch {
            return (error, false)
        }
        let live = LiveFlag()
        // The socket runs in a task of its own: a node that accepts the connection and never
        // completes the WebSocket handshake leaves the transport's connect waiting on a future
        // that cancellation does not reach, and the session must end (and say why) anyway.
        let ended = SessionEnd()
        let runner = Task {
            await conn.run()
            ended.finish(await conn.closeReason ?? LedgerClientError.disconnected("closed"))
        }
        let server = Task {
            do {
                try await self.serve(conn, live: live)
                ended.finish(nil)
            } catch {
                // Prefer the connection's own reason (e.g. malformed frame) over the symptom.
                let reason = await conn.closeReason
                ended.finish(reason ?? error)
            }
        }
        let outcome = await withTaskCancellationHandler { await ended.wait() } onCancel: { ended.finish(CancellationError()) }
        server.cancel()
        await conn.close((outcome as? LedgerClientError) ?? .disconnected(outcome.map { PlainWords.describe($0) } ?? "closed"))
        runner.cancel()
        // Give the socket a moment to close; a transport stuck in its handshake is left behind.
        let gone = SessionEnd()
        Task { _ = await runner.value; gone.finish(nil) }
        Task { try? await Task.sleep(for: .seconds(2)); gone.finish(nil) }
        _ = await gone.wait()
        return (outcome, await live.value)
    }

    private func serve(_ conn: any RPCTransport, live: LiveFlag) async throws {
        try await withDeadline(configuration.connectTimeout, what: "connect") {
            try await conn.waitOpen()
        }
        logger.debug("connected; asking the chain id", metadata: ["node": "\(endpoint.name)"])
        let idJSON = try await conn.call("eth_chainId", [])
        guard let chainId = idJSON.quantity else {
            throw LedgerClientError.badResponse(method: "eth_chainId", "expected a hex quantity")
        }
        try await hub.admit(index, chainId: chainId)
        logger.debug("chain id admitted", metadata: ["node": "\(endpoint.name)", "chainId": "\(chainId)"])
        let version = try? await conn.call("web3_clientVersion", []).stringValue
        if let pushing = conn as? any SubscribingTransport {
            try await followPushes(pushing, clientVersion: version, live: live)
        } else {
            try await pollHeads(conn, clientVersion: version, live: live)
        }
    }

    private func latestHead(_ conn: any RPCTransport) async throws -> BlockHeader {
        let latestJSON = try await conn.call("eth_getBlockByNumber", ["latest", false])
        do { return try BlockHeader(json: latestJSON) } catch {
            throw LedgerClientError.badResponse(method: "eth_getBlockByNumber", error.description)
        }
    }

    /// WebSocket: `newHeads` and `logs` subscriptions push heads and removed logs.
    private func followPushes(_ conn: any SubscribingTransport, clientVersion version: String?, live: LiveFlag) async throws {
        let headsSub = try await conn.subscribe(["newHeads"])
        var filter: [String: JSON] = ["topics": .array([.array(LedgerSchemaV1.allTopics.map { .string($0.hex) })])]
        if !configuration.contracts.isEmpty {
            filter["address"] = .array(configuration.contracts.map { .string($0.hex) })
        }
        let logsSub = try await conn.subscribe(["logs", .object(filter)])
        logger.debug("subscribed", metadata: ["node": "\(endpoint.name)"])
        let latest = try await latestHead(conn)
        logger.debug("head read", metadata: ["node": "\(endpoint.name)", "head": "\(latest.number)"])
        await hub.nodeLive(index, connection: conn, clientVersion: version, head: latest)
        await live.set()

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.pollHealth(conn) }
            group.addTask {
                for await n in conn.notifications {
                    if n.subscription == headsSub {
                        do {
                            await hub.nodeHead(index, try BlockHeader(json: n.result))
                        } catch {
                            await hub.nodeProblem(index, "bad newHeads header: \(error)")
                        }
                    } else if n.subscription == logsSub {
                        do {
                            let log = try Log(json: n.result)
                            if log.removed { await hub.removedLog(index, blockHash: log.blockHash) }
                        } catch {
                            await hub.nodeProblem(index, "bad log notification: \(error)")
                        }
                    }
                }
                throw await conn.closeReason ?? LedgerClientError.disconnected("notification stream ended")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// HTTP: the head is polled every `pollEvery`; a new hash (higher, or another block at a
    /// known height) goes to the hub, which fills the gap or follows the reorg as for a pushed
    /// head. A failed poll is reported and retried; the link itself gives up after repeated
    /// transport failures, and then the session ends and the worker reconnects.
    private func pollHeads(_ conn: any RPCTransport, clientVersion version: String?, live: LiveFlag) async throws {
        let first = try await latestHead(conn)
        await hub.nodeLive(index, connection: conn, clientVersion: version, head: first)
        await live.set()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.pollHealth(conn) }
            group.addTask {
                var last = first
                while true {
                    try await Task.sleep(for: configuration.pollEvery)
                    do {
                        let head = try await latestHead(conn)
                        if head.hash != last.hash {
                            last = head
                            await hub.nodeHead(index, head)
                        }
                    } catch {
                        if let reason = await conn.closeReason { throw reason }
                        if Task.isCancelled { throw CancellationError() }
                        await hub.nodeProblem(index, "head poll failed: \(error)")
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func pollHealth(_ conn: any RPCTransport) async throws {
        while true {
            let r = try await conn.batch([("net_peerCount", []), ("eth_syncing", []), ("eth_getBlockByNumber", ["finalized", false])])
            let peers = (try? r[0].get())?.quantity
            let syncing: Bool? = (try? r[1].get()).map { $0.boolValue.map { $0 } ?? true }
            // The `finalized` tag (geth, Besu, Nethermind since the Merge): an error or null where unsupported.
            let finalized: UInt64? = r.count > 2 ? (try? r[2].get()).flatMap { $0.isNull ? nil : $0["number"]?.quantity } : nil
            await hub.nodeHealth(index, peerCount: peers, syncing: syncing, finalized: finalized)
            try await Task.sleep(for: configuration.healthPollEvery)
        }
    }
}

/// The first reason a session ended (an error, or nil for a clean end), for whoever waits.
final class SessionEnd: Sendable {
    private let state = Mutex<(done: Bool, reason: (any Error)?, waiters: [CheckedContinuation<(any Error)?, Never>])>((false, nil, []))

    func finish(_ reason: (any Error)?) {
        let waiters = state.withLock { s -> [CheckedContinuation<(any Error)?, Never>] in
            guard !s.done else { return [] }
            s.done = true
            s.reason = reason
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(returning: reason) }
    }

    func wait() async -> (any Error)? {
        await withCheckedContinuation { c in
            let now = state.withLock { s -> (Bool, (any Error)?) in
                if s.done { return (true, s.reason) }
                s.waiters.append(c)
                return (false, nil)
            }
            if now.0 { c.resume(returning: now.1) }
        }
    }
}

actor LiveFlag {
    private(set) var value = false
    func set() { value = true }
}
