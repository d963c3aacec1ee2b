import ArgumentParser
import Foundation
import LedgerClient
import OperatorTUI
import SiteConfig

/// A one-line error for the caller (a script or an operator), exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `--config PATH`: the site's config file (default `$XDG_CONFIG_HOME/gridtop/config.toml`).
struct ConfigFileOption: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp(
        "The site's config file (default: $XDG_CONFIG_HOME/gridtop/config.toml, if present); flags override it.",
        valueName: "path"))
    var path: String?

    /// The file's configuration; a broken file stops the command before anything starts.
    func load() throws -> SiteConfiguration {
        do {
            return try SiteConfiguration.load(explicitPath: path)
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

/// The ledger side of `watch` and `alerts`: nodes, chain, metering contracts (each also in the config file).
struct LedgerOptions: ParsableArguments {
    @OptionGroup var config: ConfigFileOption
    @Option(name: .customLong("node"), help: "A node's JSON-RPC URL: ws://, wss://, http:// or https:// (repeat for several nodes; replaces the config file's nodes).")
    var nodes: [String] = []
    @Option(name: .customLong("header"),
            help: "An extra HTTP header for every node, or for node N (0-based) with 'N=': 'Authorization: Bearer $TOKEN' ($VAR is read from the environment; never shown or logged).")
    var headers: [String] = []
    @Option(help: "The chain id to expect; a node reporting another is refused.")
    var chainId: UInt64?
    @Option(name: .customLong("contract"), help: ArgumentHelp(
        "The metering contract's address (repeatable): only its events are believed, others are ignored and counted.",
        valueName: "0x…"))
    var contracts: [String] = []
    @Flag(help: "Believe grid events from every contract (testing only; shown as a warning banner).")
    var anyContract = false
    @Option(name: .customLong("ca-file"), help: ArgumentHelp(
        "PEM file of the CA(s) that issued the nodes' TLS certificates (wss://, https://): the only trust roots then (default: the system trust store, plus SSL_CERT_FILE and SSL_CERT_DIR if set). Overrides ca_file in the config.",
        valueName: "path"))
    var caFile: String?
    @Option(name: .customLong("client-cert"), help: ArgumentHelp(
        "PEM client certificate for nodes that demand mutual TLS (with --client-key). Overrides client_cert in the config.",
        valueName: "path"))
    var clientCert: String?
    @Option(name: .customLong("client-key"), help: ArgumentHelp(
        "PEM private key (unencrypted) of --client-cert. Overrides client_key in the config.", valueName: "path"))
    var clientKey: String?

    func validate() throws {
        // A URL with `$VAR` is checked once the environment is read (`site()`).
        for u in nodes where !u.contains("$") {
            if let p = NodeURLCheck.problem(u) { throw ValidationError("--node: \(p)") }
        }
        for c in contracts where SiteConfiguration.address(c) == nil {
            throw ValidationError("--contract \(c) is not a contract address (0x and 40 hex digits)")
        }
        if anyContract && !contracts.isEmpty { throw ValidationError("--any-contract and --contract exclude each other") }
        if (clientCert == nil) != (clientKey == nil) {
            throw ValidationError(clientCert == nil ? "--client-key needs --client-cert (the certificate it belongs to)"
                                                    : "--client-cert needs --client-key (its private key, PEM)")
        }
    }

    /// The config file with the flags put over it. Throws a one-line `CommandFailure`.
    func site(journal: String? = nil, requireStart: Bool = true) throws -> SiteConfiguration {
        let env = ProcessInfo.processInfo.environment
        var o = ConfigOverrides()
        o.nodes = nodes
        o.headers = headers
        o.chainId = chainId
        o.contracts = contracts
        o.journal = journal
        o.caFile = caFile
        o.clientCertificate = clientCert
        o.clientKey = clientKey
        let site: SiteConfiguration
        do {
            site = try config.load().merged(o, environment: env)
        } catch let e as FlagError {
            throw CommandFailure(e.description)
        }
        if requireStart, let problem = site.startProblem(anyContract: anyContract, environment: env) {
            throw CommandFailure(problem)
        }
        // A missing or unusable CA file, client certificate or key stops the command before anything starts.
        if requireStart, let problem = site.tlsProblem() { throw CommandFailure(problem) }
        return site
    }

    /// The ledger client's configuration for a site.
    func clientConfiguration(_ site: SiteConfiguration) -> LedgerClientConfiguration {
        var c = LedgerClientConfiguration(nodes: site.endpoints)
        c.expectedChainId = site.chainId
        c.contracts = anyContract ? [] : site.contracts
        return c
    }

    var banners: [String] { anyContract ? [SiteConfiguration.anyContractBanner] : [] }
}

extension SiteConfiguration {
    /// The screen options the site asks for (theme, shelve limit, time zone); `--theme` wins.
    func operatorOptions(screen: ScreenOptions) -> OperatorOptions {
        var o = OperatorOptions()
        o.readOnly = screen.readOnly
        if let t = screen.theme ?? theme { o.themeName = t }
        if let s = shelveLimitSeconds { o.shelveLimitSeconds = s }
        if let z = timeZone.flatMap(TimeZone.init(identifier:)) { o.clockZone = ClockZone(z) }
        return o
    }
}

extension ClockZone {
    /// The zone now and after its next daylight-saving change.
    init(_ zone: TimeZone, now: Date = Date()) {
        let name = zone.identifier == "UTC" || zone.identifier == "GMT" ? "UTC" : (zone.abbreviation(for: now) ?? zone.identifier)
        var change: (at: Int64, offsetSeconds: Int, name: String)?
        if let next = zone.nextDaylightSavingTimeTransition(after: now) {
            change = (Int64(next.timeIntervalSince1970), zone.secondsFromGMT(for: next),
                      zone.abbreviation(for: next) ?? zone.identifier)
        }
        self.init(name: name, offsetSeconds: zone.secondsFromGMT(for: now), change: change)
    }
}
