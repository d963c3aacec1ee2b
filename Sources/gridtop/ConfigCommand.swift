import AlarmJournal
import ArgumentParser
import Foundation
import SiteConfig

/// `gridtop config check`: the configuration in force, secrets redacted.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "The site's config file ($XDG_CONFIG_HOME/gridtop/config.toml; see docs/config.example.toml).",
        subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective configuration (file, then flags) with every secret redacted; exit 1 with file:line:column on a broken file.")

        @OptionGroup var ledger: LedgerOptions
        @Option(help: "Alarm journal path, as watch and alerts take it.") var db: String?

        func run() throws {
            let env = ProcessInfo.processInfo.environment
            var site: SiteConfiguration
            do {
                site = try ledger.site(journal: db, requireStart: false)
            } catch let e as CommandFailure {
                FileHandle.standardError.write(Data((e.description + "\n").utf8))
                throw ExitCode.failure
            }
            var notes: [String: String] = [:]
            if site.file == nil { notes["site"] = "no config file at \(SiteConfiguration.defaultPath(environment: env))" }
            if site.journal == nil {
                if let id = site.chainId {
                    site.journal = JournalLocation.path(chainId: id, environment: env)
                    notes["journal"] = "default for chain \(id)"
                } else {
                    notes["journal"] = "default: \(JournalLocation.directory(environment: env))/chain-<id>.sqlite, once the chain id is known"
                }
            }
            if site.operatorName == nil {
                site.operatorName = Operator.name
                notes["operator"] = "default: GRIDTOP_OPERATOR or the login name"
            }
            if site.theme == nil { notes["theme"] = "default isa101" }
            if site.timeZone == nil { notes["time_zone"] = "default UTC" }
            if site.shelveLimitSeconds == nil { notes["shelve_limit"] = "default 12h" }
            if site.tls.caFile == nil { notes["ca_file"] = "default: the system trust store, plus SSL_CERT_FILE / SSL_CERT_DIR if set" }
            if ledger.anyContract { notes["contracts"] = "--any-contract: every contract is believed" }
            print(site.redactedDescription(notes: notes), terminator: "")
            if let problem = site.startProblem(anyContract: ledger.anyContract, environment: env) {
                print("# watch and alerts would not start: \(problem)")
            }
            if let problem = site.tlsProblem() { print("# watch and alerts would not start: \(problem)") }
        }
    }
}
