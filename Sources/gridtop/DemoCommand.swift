import Alerts
import ArgumentParser
import Foundation
import GridSimulator
import LedgerClient
import Logging
import OperatorTUI

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start the dashboard on the embedded simulated network (the default command).")

    @OptionGroup var simulation: SimulationOptions
    @OptionGroup var screen: ScreenOptions
    @Option(help: "Alarm journal (SQLite) path; default: a new file for this demo run in the temporary folder.")
    var db: String?

    func run() async throws {
        // SIGINT/SIGTERM while the network starts end the command too (the screen handles them once up).
        nonisolated(unsafe) let command = self
        try await Signals.runUntilSignal { try await command.start() }
    }

    func start() async throws {
        FileLogHandler.bootstrap()
        let network = try SimulatedNetwork(checking: simulation.configuration())
        let urls = try await network.start()
        if let truth = simulation.truth { try network.keepGroundTruth(at: truth) }
        var config = MonitorConfiguration()
        config.simulated = true
        // Each demo run is a new simulated chain: restoring an earlier run's alarms would mislead.
        let dbPath = db ?? NSTemporaryDirectory() + "gridtop-demo-\(ProcessInfo.processInfo.processIdentifier).sqlite"
        try await Dashboard.run(nodes: urls.map { NodeEndpoint(url: $0) }, monitor: config, screen: screen,
                                journal: (dbPath, simulation.chainId))
        await network.stop()
    }
}

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Start the dashboard on real ledger nodes.")

    @Option(name: .customLong("node"), help: "A node's JSON-RPC URL: ws://, wss://, http:// or https:// (repeat for several nodes).")
    var nodes: [String] = []
    @Option(name: .customLong("header"),
            help: "An extra HTTP header for every node, or for node N (0-based) with 'N=': 'Authorization: Bearer $TOKEN' ($VAR is read from the environment; never shown or logged).")
    var headers: [String] = []
    @Option(help: "The chain id to expect; a node reporting another is refused.")
    var chainId: UInt64?
    @OptionGroup var screen: ScreenOptions
    @Option(help: "Alarm journal (SQLite) path; default: $XDG_DATA_HOME/gridtop/chain-<id>.sqlite.")
    var db: String?

    func endpoints() throws -> [NodeEndpoint] {
        try NodeEndpoint.fromCommandLine(urls: nodes, headers: headers, environment: ProcessInfo.processInfo.environment)
    }

    func validate() throws {
        guard !nodes.isEmpty else { throw ValidationError("give at least one --node URL (ws://, wss://, http:// or https://)") }
        do { _ = try endpoints() } catch { throw ValidationError("\(error)") }
    }

    func run() async throws {
        nonisolated(unsafe) let command = self
        try await Signals.runUntilSignal { try await command.start() }
    }

    func start() async throws {
        FileLogHandler.bootstrap()
        try await Dashboard.run(nodes: try endpoints(), monitor: MonitorConfiguration(),
                                screen: screen, expectedChainId: chainId, journal: (db, chainId))
    }
}

/// The interactive dashboard: ledger client → monitor → screen.
enum Dashboard {
    static func run(nodes: [NodeEndpoint], monitor: MonitorConfiguration, screen: ScreenOptions,
                    expectedChainId: UInt64? = nil, journal: (dbPath: String?, chainId: UInt64?)? = nil) async throws {
        var clientConfig = LedgerClientConfiguration(nodes: nodes)
        clientConfig.expectedChainId = expectedChainId
        let client = LedgerClient(configuration: clientConfig, logger: Logger(label: "gridtop.ledger"))
        let box = SnapshotBox()
        let service = MonitorService(configuration: monitor, box: box, sink: { _ in })
        if let journal { try await service.enableJournal(dbPath: journal.dbPath, chainId: journal.chainId) }
        let pipeline = Task { try await service.run(client: client) }
        var operatorOptions = OperatorOptions()
        operatorOptions.readOnly = screen.readOnly
        if let theme = screen.theme { operatorOptions.themeName = theme }
        let options = operatorOptions
        defer { pipeline.cancel() }
        do {
            let who = Operator.name
            try await runOnThread {
                try OperatorApp(source: box, options: options, onCommand: { command in
                    Task { await service.perform(command, by: who) }
                }).run()
            }
        } catch OperatorAppError.interrupted(let signal) {
            // The terminal is already restored; end like a shell expects (128 + signal).
            throw ExitCode(128 + signal)
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

/// Who is at the keyboard: recorded with every action.
enum Operator {
    static var name: String {
        let env = ProcessInfo.processInfo.environment
        if let n = env["GRIDTOP_OPERATOR"], !n.isEmpty { return n }
        if let n = env["USER"] ?? env["LOGNAME"], !n.isEmpty { return n }
        return "operator"
    }
}

/// Options of the operator's screen, shared by `demo` and `watch`.
struct ScreenOptions: ParsableArguments {
    @Flag(help: "Hide and refuse every operator action.")
    var readOnly = false
    @Option(help: "Colour theme: isa101 (default), dark, light, high-contrast, colorblind, or a user theme's name.")
    var theme: String?
}
