import ChainCore
import GridCore

/// One WebSocket connection: its outgoing message queue and its subscriptions.
///
/// Replies and notifications go through one queue so that a single writer
/// owns the socket. The queue is bounded: a client that falls this far behind
/// is disconnected (as geth does), and must resubscribe and backfill.
final class RPCSession: Sendable {
    enum Subscription: Sendable, Equatable {
        case newHeads
        case logs(LogFilter)
    }

    static let maxQueued = 20_000

    let outgoing: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let subscriptions = Locked<[String: Subscription]>([:])
    private let closed = Locked(false)

    init() {
        (outgoing, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(Self.maxQueued))
    }

    var isClosed: Bool { closed.withLock { $0 } }

    /// Queues a message; on overflow the session is closed.
    func send(_ text: String) {
        if case .dropped = continuation.yield(text) { finish() }
    }

    func finish() {
        closed.withLock { $0 = true }
        continuation.finish()
    }

    func subscribe(_ id: String, _ s: Subscription) { subscriptions.withLock { $0[id] = s } }
    func unsubscribe(_ id: String) -> Bool { subscriptions.withLock { $0.removeValue(forKey: id) != nil } }
    var activeSubscriptions: [String: Subscription] { subscriptions.withLock { $0 } }

    /// Pushes a new block to this session's subscriptions (go-ethereum's notification shape).
    func notify(block: SimBlock, contract: Address) {
        let subs = activeSubscriptions
        guard !subs.isEmpty else { return }
        let headJSON = block.header.json
        // Heads before logs, so a client sees a block before the events it holds.
        let ordered = subs.sorted { a, b in
            let (ha, hb) = (a.value == .newHeads, b.value == .newHeads)
            return ha != hb ? ha : a.key < b.key
        }
        for (id, s) in ordered {
            switch s {
            case .newHeads:
                send(JSONRPC.subscriptionNotification(subscription: id, result: headJSON).serialized())
            case .logs(let filter):
                for log in Ledger.logs(of: block, filter: filter, address: contract) {
                    send(JSONRPC.subscriptionNotification(subscription: id, result: log.json).serialized())
                }
            }
        }
    }
}

/// All open WebSocket sessions of all simulated nodes, and subscription ids.
final class SubscriptionHub: Sendable {
    private struct State {
        var sessions: [ObjectIdentifier: RPCSession] = [:]
        var counter: UInt64 = 0
    }
    private let state = Locked(State())
    private let salt: UInt64

    init(salt: UInt64) { self.salt = salt }

    func open() -> RPCSession {
        let s = RPCSession()
        state.withLock { $0.sessions[ObjectIdentifier(s)] = s }
        return s
    }

    func close(_ s: RPCSession) {
        s.finish()
        state.withLock { _ = $0.sessions.removeValue(forKey: ObjectIdentifier(s)) }
    }

    func closeAll() {
        let all = state.withLock { st -> [RPCSession] in
            defer { st.sessions.removeAll() }
            return Array(st.sessions.values)
        }
        for s in all { s.finish() }
    }

    var sessionCount: Int { state.withLock { $0.sessions.count } }

    /// A fresh `0x`-prefixed 32-hex-digit id (like geth's).
    func newSubscriptionID() -> String {
        let n = state.withLock { st -> UInt64 in st.counter += 1; return st.counter }
        var r = SplitMix64(seed: salt, stream: 0x5ab5, n)
        return Hex.encode(Bytes32(uint: r.next()).bytes.suffix(8) + Bytes32(uint: r.next()).bytes.suffix(8))
    }

    func publish(_ block: SimBlock, contract: Address) {
        let all = state.withLock { Array($0.sessions.values) }
        for s in all where !s.isClosed { s.notify(block: block, contract: contract) }
    }
}
