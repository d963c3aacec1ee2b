import ChainCore
import LedgerClient

/// What the command line says; anything given overrides the config file.
public struct ConfigOverrides: Sendable, Equatable {
    /// `--node URL` (repeated): replaces the file's nodes.
    public var nodes: [String] = []
    /// `--header '[N=]Name: value'` (repeated): added to the nodes in force (flag or file nodes).
    public var headers: [String] = []
    public var chainId: UInt64?
    /// `--contract ADDR` (repeated): replaces the file's contracts.
    public var contracts: [String] = []
    public var journal: String?
    public var operatorName: String?
    public var theme: String?
    /// `--ca-file`, `--client-cert`, `--client-key`: for every node in force, over the file's.
    public var caFile: String?
    public var clientCertificate: String?
    public var clientKey: String?

    public init() {}
}

/// A problem with a flag (not the file): one line, names the flag.
public struct FlagError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension SiteConfiguration {
    /// This configuration with the command line's values put over it.
    public func merged(_ o: ConfigOverrides, environment: [String: String]) throws(FlagError) -> SiteConfiguration {
        var c = self
        if !o.nodes.isEmpty {
            // `$VAR` / `${VAR}` in a URL is read from the environment (a credential in the URL need
            // never sit in the process list).
            var nodes: [Node] = []
            for written in o.nodes {
                let u: String
                do { u = try NodeHeaderSpec.expandVariables(written, environment: environment) } catch {
                    throw FlagError("--node \(NodeEndpoint(url: written).safeURL): \(error.description.replacingOccurrences(of: "header value", with: "the URL"))")
                }
                if let p = NodeURLCheck.problem(u) { throw FlagError("--node: \(p)") }
                nodes.append(Node(url: u, name: nil))
            }
            c.nodes = nodes
        }
        if !o.headers.isEmpty {
            var endpoints = c.nodes.map { NodeEndpoint(url: $0.url, headers: $0.headers) }
            do {
                try NodeHeaderSpec.apply(o.headers, to: &endpoints, environment: environment)
            } catch {
                throw FlagError("--header: \(error)")
            }
            for i in c.nodes.indices { c.nodes[i].headers = endpoints[i].headers }
        }
        if let id = o.chainId { c.chainId = id }
        if !o.contracts.isEmpty {
            var list: [Address] = []
            for text in o.contracts {
                guard let a = Self.address(text) else {
                    throw FlagError("--contract \(text) is not a contract address (0x and 40 hex digits)")
                }
                if !list.contains(a) { list.append(a) }
            }
            c.contracts = list
        }
        if let j = o.journal { c.journal = j }
        if let n = o.operatorName { c.operatorName = n }
        if let t = o.theme { c.theme = t }
        if o.clientCertificate != nil || o.clientKey != nil {
            guard o.clientCertificate != nil, o.clientKey != nil else {
                throw FlagError(o.clientCertificate == nil ? "--client-key needs --client-cert (the certificate it belongs to)"
                                                           : "--client-cert needs --client-key (its private key, PEM)")
            }
        }
        for i in c.nodes.indices {
            if o.caFile != nil { c.nodes[i].tls.caFile = nil }
            if o.clientCertificate != nil { c.nodes[i].tls.clientCertificate = nil; c.nodes[i].tls.clientKey = nil }
        }
        if let f = o.caFile { c.tls.caFile = f }
        if let f = o.clientCertificate { c.tls.clientCertificate = f }
        if let f = o.clientKey { c.tls.clientKey = f }
        return c
    }

    /// Why the TLS files of some node cannot be used (one line naming the file), or nil. Only
    /// nodes reached over `wss://` or `https://` are checked.
    public func tlsProblem() -> String? {
        for n in nodes where n.url.lowercased().hasPrefix("wss://") || n.url.lowercased().hasPrefix("https://") {
            do { try effectiveTLS(n).check() } catch { return error.description }
        }
        return nil
    }

    /// The nodes as the ledger client takes them.
    public var endpoints: [NodeEndpoint] {
        nodes.map { NodeEndpoint(url: $0.url, name: $0.name, headers: $0.headers, tls: effectiveTLS($0)) }
    }

    /// Why the client must not start against these nodes, or nil: no node, or (unless
    /// `anyContract`) no metering contract — without one, any contract's events would be believed.
    public func startProblem(anyContract: Bool, environment: [String: String]) -> String? {
        let where_ = file ?? Self.defaultPath(environment: environment)
        if nodes.isEmpty {
            return "no ledger node configured: give --node URL (ws://, wss://, http:// or https://) or add a [[node]] with url = \"…\" to \(where_)"
        }
        if contracts.isEmpty && !anyContract {
            return "no metering contract configured, so any contract's events would be believed: give --contract 0x… (repeatable) or contracts = [\"0x…\"] in \(where_) (--any-contract believes every contract; never in production)"
        }
        return nil
    }

    /// The banner shown while every contract's events are believed.
    public static let anyContractBanner = "ANY CONTRACT: events of every contract are believed (--any-contract)"
}
