import Alerts
import ArgumentParser
import ControlRoom
import Foundation
import GridCore
import GridSimulator
import LedgerClient
import Logging
import OperatorTUI
import SiteConfig

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start the dashboard on the embedded simulated network (the default command).")

    @OptionGroup var simulation: SimulationOptions
    @OptionGroup var screen: ScreenOptions
    @OptionGroup var config: ConfigFileOption
    @Option(help: "Alarm journal (SQLite) path; default: a new file for this demo run in the temporary folder.")
    var db: String?

    func run() async throws {
        // SIGINT/SIGTERM while the network starts end the command too (the screen handles them once up).
        nonisolated(unsafe) let command = self
        try await Signals.runUntilSignal { try await command.start() }
    }

    func start() async throws {
        // The site's look and limits (theme, operator, time zone, shelve limit) apply to the demo too;
        // its nodes, contracts and journal do not: the demo is its own simulated chain.
        let site = try config.load()
        FileLogHandler.bootstrap()
        let network = try SimulatedNetwork(checking: simulation.configuration())
        let urls = try await network.start()
        if let truth = simulation.truth { try network.keepGroundTruth(at: truth) }
        var monitor = MonitorConfiguration()
        monitor.simulated = true
        monitor.site = site.site
        // Each demo run is a new simulated chain: restoring an earlier run's alarms would mislead.
        let dbPath = db ?? NSTemporaryDirectory() + "gridtop-demo-\(ProcessInfo.processInfo.processIdentifier).sqlite"
        var client = LedgerClientConfiguration(nodes: urls.map { NodeEndpoint(url: $0) })
        client.contracts = [SimulatedNetwork.meteringContract]
        var options = site.operatorOptions(screen: screen)
        options.journalPath = dbPath
        try await Dashboard.run(client: client, monitor: monitor, options: options,
                                who: Operator.resolve(site, option: screen.operatorName), journal: (dbPath, simulation.chainId))
        await network.stop()
    }
}

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Start the dashboard on real ledger nodes (from --node flags or the config file).")

    @OptionGroup var ledger: LedgerOptions
    @OptionGroup var screen: ScreenOptions
    @Option(help: "Alarm journal (SQLite) path; default: the config file's journal, else $XDG_DATA_HOME/gridtop/chain-<id>.sqlite.")
    var db: String?

    func run() async throws {
        nonisolated(unsafe) let command = self
        try await Signals.runUntilSignal { try await command.start() }
    }

    func start() async throws {
        let site = try ledger.site(journal: db)
        try JournalPreflight.check(dbPath: site.journal)
        FileLogHandler.bootstrap()
        var monitor = MonitorConfiguration()
        monitor.site = site.site
        monitor.banners = ledger.banners
        try await Dashboard.run(client: ledger.clientConfiguration(site), monitor: monitor,
                                options: site.operatorOptions(screen: screen), who: Operator.resolve(site, option: screen.operatorName),
                                journal: (site.journal, site.chainId))
    }
}

/// The interactive dashboard: a front end over the control room (ledger client → core → screen).
enum Dashboard {
    static func run(client clientConfig: LedgerClientConfiguration, monitor: MonitorConfiguration, options: OperatorOptions,
                    who: String, journal: (dbPath: String?, chainId: UInt64?)? = nil) async throws {
        let client = LedgerClient(configuration: clientConfig, logger: Logger(label: "gridtop.ledger"))
        let box = SnapshotBox()
        let core = ControlRoom(configuration: monitor, display: ScreenFeed(box: box))
        if let journal { try await core.enableJournal(dbPath: journal.dbPath, chainId: journal.chainId) }
        let pipeline = Task { try await core.run(client: client) }
        var operatorOptions = options
        operatorOptions.operatorName = who
        let screenOptions = operatorOptions
        defer { pipeline.cancel() }
        do {
            try await runOnThread {
                // Keypresses go into the core's one input stream, in the order typed.
                try OperatorApp(source: box, options: screenOptions, onRequest: { core.send(.action($0)) }).run()
            }
        } catch OperatorAppError.interrupted(let signal) {
            // The terminal is already restored; end like a shell expects (128 + signal).
            throw ExitCode(128 + signal)
        }
    }

    /// The screen's side of the core: each state it shows becomes `ScreenData` in the box the TUI reads.
    struct ScreenFeed: ControlRoomDisplay {
        let box: SnapshotBox
        var builder = ScreenDataBuilder()
        mutating func record(_ update: LedgerUpdate) { builder.record(update) }
        mutating func show(_ state: ControlRoomState) {
            box.publish(builder.build(state.monitor, consensus: state.consensus, now: state.now))
        }
    }

    /// The screen's loop blocks its thread (curses input), so it gets one of its own.
    static func runOnThread(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                do {
                    try body()
                    cont.resume()
                } catch {
                    cont.resume(throwing: error)
                }
            }
            thread.name = "gridtop-screen"
            thread.start()
        }
    }
}

/// Who is at the keyboard: recorded with every action (the order is `OperatorIdentity`'s:
/// `--operator`, the config file's `operator`, `$GRIDTOP_OPERATOR`, `$USER`).
enum Operator {
    static func resolve(_ site: SiteConfiguration, option: String? = nil) -> String {
        OperatorIdentity.resolve(option: option, configured: site.operatorName, environment: ProcessInfo.processInfo.environment)
    }

    static var name: String { OperatorIdentity.resolve(environment: ProcessInfo.processInfo.environment) }
}

/// Options of the operator's screen, shared by `demo` and `watch`.
struct ScreenOptions: ParsableArguments {
    @Flag(help: "Hide and refuse every operator action.")
    var readOnly = false
    @Option(help: "Colour theme: isa101 (default), dark, light, high-contrast, colorblind, or a user theme's name.")
    var theme: String?
    @Option(name: .customLong("operator"), help: "Who is at this console, recorded with every action (default: $GRIDTOP_OPERATOR, then $USER).")
    var operatorName: String?
}
