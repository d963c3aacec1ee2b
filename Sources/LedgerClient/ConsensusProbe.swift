import ChainCore
import Foundation
import Logging

/// Per node, the engine namespaces that answered -32601 (not enabled): never asked again,
/// and never shown as an error — the view simply falls back to what headers say.
actor NamespaceMemory {
    private var disabled: [Int: Set<String>] = [:]
    func isDisabled(_ node: Int, _ ns: String) -> Bool { disabled[node]?.contains(ns) ?? false }
    func disable(_ node: Int, _ ns: String) { disabled[node, default: []].insert(ns) }
    func disabledList(_ node: Int) -> [String] { (disabled[node] ?? []).sorted() }
}

/// Periodically builds a `ConsensusHealth` from the followed node: recent verified headers
/// (proposer rotation, block timing, missed turns from QBFT rounds, Clique difficulty, AuRa
/// steps) plus the engine's own namespace when the node enables it.
struct ConsensusProbe: Sendable {
    let hub: LedgerHub
    let configuration: LedgerClientConfiguration
    let memory = NamespaceMemory()
    let logger: Logger

    func run(_ report: @escaping @Sendable (ConsensusHealth) async -> Void) async {
        while !Task.isCancelled {
            if let target = await hub.probeTarget() {
                do {
                    await report(try await probe(target))
                } catch {
                    if Task.isCancelled { return }
                    logger.debug("consensus probe failed", metadata: ["error": "\(hub.scrub(target.index, "\(error)"))"])
                }
            }
            try? await Task.sleep(for: configuration.consensusEvery)
        }
    }

    func probe(_ t: LedgerHub.ProbeTarget) async throws -> ConsensusHealth {
        let window = UInt64(max(2, configuration.consensusWindow))
        let to = t.head
        let from = to + 1 >= window ? to + 1 - window : 0
        let calls: [(method: String, params: [JSON])] = (from...to).map { ("eth_getBlockByNumber", [.string(Hex.quantity($0)), false]) }
        var headers: [BlockHeader] = []
        for r in try await t.conn.many(calls) {
            guard case .success(let v) = r, !v.isNull, let h = try? BlockHeader(json: v) else { continue }
            headers.append(try await hub.accept(t.index, h))  // every header verified; a lie excludes the node
        }
        for (a, b) in zip(headers, headers.dropFirst()) where b.number == a.number + 1 && b.parentHash != a.hash {
            throw LedgerClientError.inconsistent("block \(b.number) does not link to its parent")
        }
        let preferred = await hub.scheme
        let engine = ConsensusAnalysis.engine(of: headers, scheme: headers.last.flatMap { HeaderHashing.verify($0, preferred: preferred) })
        var known: [Address]?
        var pendingChange: Bool?
        var metrics: [Address: (count: Int, last: UInt64?)] = [:]
        var cliqueShare: Double?
        switch engine {
        case .qbft, .ibft2:
            let ns = engine == .qbft ? "qbft" : "ibft"
            if let v = try await optional(t, ns, "\(ns)_getValidatorsByBlockNumber", ["latest"]) { known = addresses(v) }
            if known != nil, let v = try await optional(t, ns, "\(ns)_getValidatorsByBlockNumber", ["pending"]), let p = addresses(v) {
                pendingChange = Set(p) != Set(known ?? [])
            }
            if let v = try await optional(t, ns, "\(ns)_getSignerMetrics", [.string(Hex.quantity(from)), .string(Hex.quantity(to))]),
                let rows = v.arrayValue
            {
                for r in rows {
                    guard let a = r["address"]?.stringValue.flatMap({ try? Address(hex: $0) }), a != .zero,
                        let c = r["proposedBlockCount"]?.quantity
                    else { continue }
                    metrics[a] = (Int(clamping: c), r["lastProposedBlockNumber"]?.quantity)
                }
            }
        case .clique:
            if let v = try await optional(t, "clique", "clique_getSigners", []) { known = addresses(v) }
            if let v = try await optional(t, "clique", "clique_status", []) {
                if let pct = v["inturnPercent"]?.doubleValue { cliqueShare = pct / 100 }
                for (k, n) in v["sealerActivity"]?.objectValue ?? [:] {
                    guard let a = try? Address(hex: k), let c = n.intValue ?? n.quantity.map({ Int(clamping: $0) }) else { continue }
                    metrics[a] = (c, nil)
                }
            }
        case .aura, .generic:
            break
        }
        var health = ConsensusAnalysis.analyse(headers: headers, engine: engine, validators: known, node: t.name,
                                               now: Date().timeIntervalSince1970)
        if !metrics.isEmpty {
            for k in health.validators.indices {
                if let m = metrics.removeValue(forKey: health.validators[k].address) {
                    health.validators[k].proposedBlocks = m.count
                    if let last = m.last { health.validators[k].lastProposedBlock = last }
                }
            }
            for (a, m) in metrics { health.validators.append(.init(address: a, proposedBlocks: m.count, lastProposedBlock: m.last)) }
            health.validators.sort { $0.address < $1.address }
        }
        if let cliqueShare { health.inTurnShare = cliqueShare }
        health.pendingValidatorChange = pendingChange
        health.unavailableNamespaces = await memory.disabledList(t.index)
        return health
    }

    private func addresses(_ v: JSON) -> [Address]? {
        guard let a = v.arrayValue else { return nil }
        let out = a.compactMap { $0.stringValue.flatMap { try? Address(hex: $0) } }
        return out.count == a.count ? out : nil
    }

    /// A call in an engine namespace: nil when the node does not enable it (-32601, remembered
    /// per node and namespace, logged once at info) or refuses this call otherwise (quietly).
    private func optional(_ t: LedgerHub.ProbeTarget, _ ns: String, _ method: String, _ params: [JSON]) async throws -> JSON? {
        if await memory.isDisabled(t.index, ns) { return nil }
        do {
            return try await t.conn.call(method, params)
        } catch LedgerClientError.rpc(_, let e) where e.code == RPCError.methodNotFound {
            await memory.disable(t.index, ns)
            logger.info("namespace not enabled on node; using the generic view", metadata: ["namespace": "\(ns)"])
            return nil
        } catch LedgerClientError.rpc(_, let e) {
            logger.debug("consensus call refused", metadata: ["method": "\(method)", "error": "\(e)"])
            return nil
        }
    }
}
