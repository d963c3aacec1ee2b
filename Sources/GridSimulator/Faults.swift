import ChainCore
import Foundation

/// A fault a simulated node (or the shared chain) can be made to show.
public enum Fault: Sendable, Equatable, CustomStringConvertible {
    /// Close every WebSocket connection of the node (clients reconnect).
    case drop
    /// Stop the node's server (listening socket and connections) for a while, then serve the same chain again.
    case restart(down: Duration)
    /// Add this latency to every answer (and push) of the node; `.zero` clears it.
    case slow(Duration)
    /// Serve a head this many blocks behind the chain (0 clears it).
    case lag(UInt64)
    /// The shared chain replaces its last `depth` blocks with another branch (every node follows).
    case reorg(depth: Int)
    /// Serve headers whose hash does not match their fields (`false` clears it).
    case lie(Bool)
    /// Report another chain id (nil clears it).
    case chainId(UInt64?)
    /// Send one frame that is not JSON on every connection.
    case malformed
    /// Send one frame of this many bytes on every connection.
    case oversized(bytes: Int)
    /// Answer `-32601` for every method of this namespace (e.g. `qbft`).
    case disableNamespace(String)

    public var description: String {
        switch self {
        case .drop: return "drop"
        case .restart(let d): return "restart=\(FaultScript.format(d))"
        case .slow(let d): return "slow=\(FaultScript.format(d))"
        case .lag(let n): return "lag=\(n)"
        case .reorg(let k): return "reorg=\(k)"
        case .lie(let on): return on ? "lie" : "lie=off"
        case .chainId(let id): return id.map { "chain=\($0)" } ?? "chain=off"
        case .malformed: return "malformed"
        case .oversized(let n): return "oversized=\(n)"
        case .disableNamespace(let ns): return "no-ns=\(ns)"
        }
    }
}

/// One scripted fault: what, on which node, when, and how often.
///
/// Command-line syntax (one per `--fault`):
///
///     [nodeN:]FAULT[=ARG][@AT][/EVERY][xCOUNT]
///
/// - `nodeN:` the node index (0-based); omitted = node 0 (ignored by `reorg`, which hits the shared chain).
/// - `FAULT`: `drop`, `restart=3s`, `slow=250ms`, `lag=5`, `reorg=3`, `lie`, `chain=1234`,
///   `malformed`, `oversized=17MiB`, `no-ns=qbft`.
/// - `@AT` first occurrence after the start (default `0s`); `/EVERY` repeat period; `xCOUNT` at most
///   this many occurrences (default: once without `/EVERY`, forever with it).
/// - Durations: `ms`, `s`, `m`; sizes: plain bytes or `KiB`, `MiB`.
///
/// Examples: `node2:lag=5@30s`, `node1:drop@10s/15s`, `node0:restart=3s@20s`, `reorg=2@40s/60s x3`.
public struct FaultScript: Sendable, Equatable, CustomStringConvertible {
    public var node: Int
    public var fault: Fault
    public var at: Duration
    public var every: Duration?
    public var count: Int?

    public init(node: Int = 0, fault: Fault, at: Duration = .zero, every: Duration? = nil, count: Int? = nil) {
        self.node = node; self.fault = fault; self.at = at; self.every = every; self.count = count
    }

    /// Occurrences: 1 without a period; `count` (or unbounded) with one.
    var occurrences: Int? { every == nil ? 1 : count }

    public var description: String {
        var s = "node\(node):\(fault)@\(Self.format(at))"
        if let every { s += "/\(Self.format(every))" }
        if let count, every != nil { s += "x\(count)" }
        return s
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case invalid(String, String)
        public var description: String {
            switch self { case .invalid(let text, let why): return "invalid fault \"\(text)\": \(why)" }
        }
    }

    /// Parses `[nodeN:]FAULT[=ARG][@AT][/EVERY][xCOUNT]`.
    public init(parsing text: String) throws(ParseError) {
        func fail(_ why: String) -> ParseError { .invalid(text, why) }
        var rest = Substring(text.filter { !$0.isWhitespace })
        var node = 0
        if rest.hasPrefix("node"), let colon = rest.firstIndex(of: ":") {
            guard let n = Int(rest[rest.index(rest.startIndex, offsetBy: 4)..<colon]), n >= 0 else { throw fail("bad node index") }
            node = n
            rest = rest[rest.index(after: colon)...]
        }
        var count: Int?
        if let x = rest.lastIndex(of: "x"), rest[..<x].contains("/"), let n = Int(rest[rest.index(after: x)...]) {
            guard n > 0 else { throw fail("count must be positive") }
            count = n
            rest = rest[..<x]
        }
        var every: Duration?
        if let slash = rest.lastIndex(of: "/") {
            guard let d = Self.duration(rest[rest.index(after: slash)...]), d > .zero else { throw fail("bad period") }
            every = d
            rest = rest[..<slash]
        }
        var at = Duration.zero
        if let atSign = rest.lastIndex(of: "@") {
            guard let d = Self.duration(rest[rest.index(after: atSign)...]) else { throw fail("bad start time") }
            at = d
            rest = rest[..<atSign]
        }
        let name: Substring, arg: Substring?
        if let eq = rest.firstIndex(of: "=") {
            name = rest[..<eq]; arg = rest[rest.index(after: eq)...]
        } else {
            name = rest; arg = nil
        }
        let fault: Fault
        switch name {
        case "drop":
            fault = .drop
        case "restart":
            guard let d = arg.map({ Self.duration($0) }) ?? .seconds(2) else { throw fail("bad downtime") }
            fault = .restart(down: d)
        case "slow":
            guard let a = arg, let d = Self.duration(a) else { throw fail("slow needs a latency, e.g. slow=200ms") }
            fault = .slow(d)
        case "lag":
            guard let a = arg, let n = UInt64(a) else { throw fail("lag needs a block count, e.g. lag=5") }
            fault = .lag(n)
        case "reorg":
            guard let n = arg.map({ Int($0) }) ?? 1, n >= 1 else { throw fail("reorg needs a depth ≥ 1") }
            fault = .reorg(depth: n)
        case "lie":
            fault = .lie(arg != "off")
        case "chain":
            if arg == "off" { fault = .chainId(nil); break }
            guard let a = arg, let n = UInt64(a) else { throw fail("chain needs a chain id") }
            fault = .chainId(n)
        case "malformed":
            fault = .malformed
        case "oversized":
            guard let n = arg.map({ Self.size($0) }) ?? (17 << 20), n > 0 else { throw fail("bad size") }
            fault = .oversized(bytes: n)
        case "no-ns":
            guard let a = arg, !a.isEmpty else { throw fail("no-ns needs a namespace, e.g. no-ns=qbft") }
            fault = .disableNamespace(String(a))
        default:
            throw fail("unknown fault \"\(name)\" (drop, restart, slow, lag, reorg, lie, chain, malformed, oversized, no-ns)")
        }
        self.init(node: node, fault: fault, at: at, every: every, count: count)
    }

    static func duration(_ s: Substring) -> Duration? {
        let units: [(String, Double)] = [("ms", 1e-3), ("s", 1), ("m", 60)]
        for (u, scale) in units where s.hasSuffix(u) {
            guard let v = Double(s.dropLast(u.count)), v >= 0, v.isFinite else { return nil }
            return .milliseconds(Int64((v * scale * 1000).rounded()))
        }
        return Double(s).flatMap { $0 >= 0 && $0.isFinite ? .milliseconds(Int64(($0 * 1000).rounded())) : nil }
    }

    static func size(_ s: Substring) -> Int? {
        if s.hasSuffix("MiB") { return Int(s.dropLast(3)).map { $0 << 20 } }
        if s.hasSuffix("KiB") { return Int(s.dropLast(3)).map { $0 << 10 } }
        return Int(s)
    }

    static func format(_ d: Duration) -> String {
        let ms = d.nanoseconds / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }
}

/// The standing faults of one node, read by its RPC service and its sessions.
final class NodeFaults: Sendable {
    struct State: Sendable {
        var latency: Duration = .zero
        var lag: UInt64 = 0
        var lie = false
        var chainId: UInt64?
        var disabledNamespaces: Set<String> = []
    }
    private let state = Locked(State())

    var current: State { state.withLock { $0 } }
    func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
    var latency: Duration { state.withLock { $0.latency } }
    var lag: UInt64 { state.withLock { $0.lag } }
    var lie: Bool { state.withLock { $0.lie } }

    /// A header as this node serves it: tampered (fields changed, hash kept) when lying.
    static func tamper(_ header: JSON) -> JSON {
        guard case .object(var o) = header else { return header }
        o["stateRoot"] = .string(Bytes32(uint: 0xbad).hex)
        return .object(o)
    }
}

extension SimulatedNetwork {
    /// Applies a fault now, from code (tests, scenario files). Node indices out of range are ignored.
    public func inject(_ fault: Fault, node: Int = 0) async {
        let servers = self.servers
        switch fault {
        case .reorg(let depth):
            reorg(depth: depth)
            return
        default: break
        }
        guard servers.indices.contains(node) else { return }
        let server = servers[node]
        switch fault {
        case .drop: hub.closeAll(node: node)
        case .restart(let down): await server.restart(after: down)
        case .slow(let d): server.faults.update { $0.latency = d }
        case .lag(let n): server.faults.update { $0.lag = n }
        case .lie(let on): server.faults.update { $0.lie = on }
        case .chainId(let id): server.faults.update { $0.chainId = id }
        case .malformed: hub.sendRaw(node: node, "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{\"subscr")
        case .oversized(let n): hub.sendRaw(node: node, Self.oversizedFrame(bytes: n))
        case .disableNamespace(let ns): server.faults.update { $0.disabledNamespaces.insert(ns) }
        case .reorg: break
        }
    }

    /// Reorganises the shared chain (see `Ledger.reorg`) and pushes it to every subscriber
    /// as geth does. Returns the orphaned blocks (ascending).
    @discardableResult
    func reorg(depth: Int) -> [SimBlock] {
        guard let ledger, let (orphaned, branch) = ledger.reorg(depth: depth, timestamp: Self.unixNow()) else { return [] }
        hub.publishReorg(orphaned: orphaned, branch: branch, contract: Self.meteringContract)
        return orphaned
    }

    /// Clears a node's standing faults (latency, lag, lie, chain id, namespaces).
    public func clearFaults(node: Int) {
        let servers = self.servers
        guard servers.indices.contains(node) else { return }
        servers[node].faults.update { $0 = NodeFaults.State() }
    }

    /// A valid JSON-RPC notification padded to `bytes` (so only its size is wrong).
    static func oversizedFrame(bytes: Int) -> String {
        let head = "{\"jsonrpc\":\"2.0\",\"method\":\"sim_padding\",\"params\":{\"pad\":\""
        let tail = "\"}}"
        return head + String(repeating: "x", count: max(0, bytes - head.utf8.count - tail.utf8.count)) + tail
    }

    /// Runs `config.faults` on their schedule until cancelled.
    func runFaults() async {
        let scripts = config.faults
        guard !scripts.isEmpty else { return }
        await withTaskGroup(of: Void.self) { group in
            for s in scripts {
                group.addTask { [self] in
                    let clock = ContinuousClock()
                    var next = clock.now + s.at
                    var done = 0
                    while !Task.isCancelled, s.occurrences.map({ done < $0 }) ?? true {
                        do { try await clock.sleep(until: next) } catch { return }
                        await inject(s.fault, node: s.node)
                        done += 1
                        guard let every = s.every else { return }
                        next = next + every
                    }
                }
            }
        }
    }
}
