import ChainCore
import LedgerClient

/// A site's configuration as read from `config.toml` (format: docs/config.example.toml).
/// Every value is checked when the file is read; flags given on the command line override it
/// (`SiteConfiguration.merged`). Header values keep their `$VAR` references resolved: they are
/// secrets, and `redactedDescription` never shows them.
public struct SiteConfiguration: Sendable, Equatable {
    /// One ledger node of the site.
    public struct Node: Sendable, Equatable {
        public var url: String
        public var name: String?
        /// Extra HTTP headers (e.g. `Authorization`), `$VAR`/`${VAR}` already read from the environment.
        public var headers: [String: String]
        /// This node's `ca_file`, `client_cert`, `client_key` (absolute paths); an unset one
        /// falls back to the site's (`SiteConfiguration.tls`).
        public var tls: NodeTLS

        public init(url: String, name: String? = nil, headers: [String: String] = [:], tls: NodeTLS = NodeTLS()) {
            self.url = url; self.name = name; self.headers = headers; self.tls = tls
        }
    }

    /// The file it was read from (nil: no file, defaults only).
    public var file: String?
    /// The site's name, shown in the screen's header.
    public var site: String?
    /// The chain id every node must report.
    public var chainId: UInt64?
    public var nodes: [Node] = []
    /// The site's `ca_file`, `client_cert`, `client_key` (absolute paths): for every node that
    /// does not set its own. `--ca-file`, `--client-cert`, `--client-key` override both.
    public var tls = NodeTLS()
    /// The metering contract address(es): only their events are believed.
    public var contracts: [Address] = []
    /// The alarm journal (SQLite) path; nil: `$XDG_DATA_HOME/gridtop/chain-<id>.sqlite`.
    public var journal: String?
    /// Who is at the keyboard, recorded with every action (default: the login name).
    public var operatorName: String?
    /// The screen's theme name.
    public var theme: String?
    /// An IANA time zone (`Europe/Berlin`) for the header clock; nil: UTC.
    public var timeZone: String?
    /// Longest timed shelve an operator may set, in seconds.
    public var shelveLimitSeconds: Int?

    public init(file: String? = nil) { self.file = file }

    /// The keys a config file may have, at the top and in each `[[node]]`.
    public static let topKeys = ["site", "chain_id", "contracts", "journal", "operator", "theme", "time_zone",
                                 "shelve_limit", "ca_file", "client_cert", "client_key", "node"]
    public static let nodeKeys = ["url", "name", "headers", "ca_file", "client_cert", "client_key"]

    /// The TLS settings in force for a node: its own, else the site's, field by field.
    public func effectiveTLS(_ node: Node) -> NodeTLS {
        NodeTLS(caFile: node.tls.caFile ?? tls.caFile,
                clientCertificate: node.tls.clientCertificate ?? tls.clientCertificate,
                clientKey: node.tls.clientKey ?? tls.clientKey)
    }
}

/// A broken config file: `file:line:column: what is wrong` (line and column 1-based).
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.file = file; self.line = line; self.column = column; self.message = message
    }

    public var description: String {
        var s = file
        if let line {
            s += ":\(line)"
            if let column { s += ":\(column)" }
        }
        return s + ": " + message
    }
}
