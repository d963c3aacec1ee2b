import ChainCore
import GridCore
import NIOCore

/// One message queued for a WebSocket: its UTF-8 bytes, sent as one text frame as they are
/// (no `String` in between, so a large `eth_getLogs` answer is not copied or re-validated).
struct OutgoingMessage: Sendable {
    let bytes: ByteBuffer
    var text: String { String(buffer: bytes) }
}

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

    let outgoing: AsyncStream<OutgoingMessage>
    private let continuation: AsyncStream<OutgoingMessage>.Continuation
    private let subscriptions = Locked<[String: Subscription]>([:])
    private let closed = Locked(false)
    /// The node serving this session (nil: tests' bare sessions), its faults and chain.
    let node: Int?
    let faults: NodeFaults?
    let ledger: Ledger?

    init(node: Int? = nil, faults: NodeFaults? = nil, ledger: Ledger? = nil) {
        self.node = node
        self.faults = faults
        self.ledger = ledger
        (outgoing, continuation) = AsyncStream.makeStream(of: OutgoingMessage.self, bufferingPolicy: .bufferingOldest(Self.maxQueued))
    }

    var isClosed: Bool { closed.withLock { $0 } }

    /// Queues a message; on overflow the session is closed.
    func send(_ text: String) { send(bytes: ByteBuffer(string: text)) }

    /// Queues a message already written as UTF-8 bytes (an `RPCService.handleBuffer` reply).
    func send(bytes: ByteBuffer) {
        if case .dropped = continuation.yield(OutgoingMessage(bytes: bytes)) { finish() }
    }

    func finish() {
        closed.withLock { $0 = true }
        continuation.finish()
    }

    func subscribe(_ id: String, _ s: Subscription) { subscriptions.withLock { $0[id] = s } }
    func unsubscribe(_ id: String) -> Bool { subscriptions.withLock { $0.removeValue(forKey: id) != nil } }
    var activeSubscriptions: [String: Subscription] { subscriptions.withLock { $0 } }

    /// Pushes a new block to this session's subscriptions (go-ethereum's notification shape).
    /// A lagging node pushes the block `lag` below instead; a lying one tampers the header.
    func notify(block new: SimBlock, contract: Address) {
        let subs = activeSubscriptions
        guard !subs.isEmpty else { return }
        var block = new
        let f = faults?.current
        if let f, f.lag > 0 {
            guard new.number >= f.lag, let old = ledger?.block(number: new.number - f.lag) else { return }
            block = old
        }
        let headJSON = f?.lie == true ? NodeFaults.tamper(block.header.json) : block.header.json
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

    /// A reorganisation as go-ethereum pushes it: the orphaned blocks' logs again with
    /// `removed: true` (newest block first), then the new branch (heads and logs) in order.
    /// A lagging node leaves it to its regular pushes (it reaches those heights later).
    func notifyReorg(orphaned: [SimBlock], branch: [SimBlock], contract: Address) {
        if let f = faults?.current, f.lag > 0 { return }
        for (id, s) in activeSubscriptions.sorted(by: { $0.key < $1.key }) {
            guard case .logs(let filter) = s else { continue }
            for b in orphaned.reversed() {
                for var log in Ledger.logs(of: b, filter: filter, address: contract) {
                    log.removed = true
                    send(JSONRPC.subscriptionNotification(subscription: id, result: log.json).serialized())
                }
            }
        }
        for b in branch { notify(block: b, contract: contract) }
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

    func open(node: Int? = nil, faults: NodeFaults? = nil, ledger: Ledger? = nil) -> RPCSession {
        let s = RPCSession(node: node, faults: faults, ledger: ledger)
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

    /// Closes every session of one node (its clients see the connection drop).
    func closeAll(node: Int) {
        let some = state.withLock { st -> [RPCSession] in
            let mine = st.sessions.filter { $0.value.node == node }
            for k in mine.keys { st.sessions[k] = nil }
            return Array(mine.values)
        }
        for s in some { s.finish() }
    }

    /// Queues a raw frame on every session of one node (malformed and oversized frames).
    func sendRaw(node: Int, _ text: String) {
        let some = state.withLock { $0.sessions.values.filter { $0.node == node } }
        for s in some where !s.isClosed { s.send(text) }
    }

    func sessionCount(node: Int) -> Int { state.withLock { $0.sessions.values.filter { $0.node == node }.count } }

    func publishReorg(orphaned: [SimBlock], branch: [SimBlock], contract: Address) {
        let all = state.withLock { Array($0.sessions.values) }
        for s in all where !s.isClosed { s.notifyReorg(orphaned: orphaned, branch: branch, contract: contract) }
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
