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
    @Flag(help: "Hide and refuse every operator action.")
    var readOnly = false

    func run() async throws {
        FileLogHandler.bootstrap()
        let network = SimulatedNetwork(config: simulation.configuration())
        let urls = try await network.start()
        if let truth = simulation.truth { try network.writeGroundTruth(to: truth) }
        var config = MonitorConfiguration()
        config.simulated = true
        try await Dashboard.run(nodes: urls.map { NodeEndpoint(url: $0) }, monitor: config, readOnly: readOnly)
        await network.stop()
    }
}

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Start the dashboard on real ledger nodes.")

    @Option(name: .customLong("node"), help: "A node's JSON-RPC WebSocket URL (repeat for several nodes).")
    var nodes: [String] = []
    @Option(help: "The chain id to expect; a node reporting another is refused.")
    var chainId: UInt64?
    @Flag(help: "Hide and refuse every operator action.")
    var readOnly = false

    func validate() throws {
        guard !nodes.isEmpty else { throw ValidationError("give at least one --node ws://HOST:PORT") }
        for n in nodes where !(n.hasPrefix("ws://") || n.hasPrefix("wss://")) {
            throw ValidationError("--node must be a ws:// or wss:// URL, got \(n)")
        }
    }

    func run() async throws {
        FileLogHandler.bootstrap()
        try await Dashboard.run(nodes: nodes.map { NodeEndpoint(url: $0) }, monitor: MonitorConfiguration(),
                                readOnly: readOnly, expectedChainId: chainId)
    }
}

/// The interactive dashboard: ledger client → monitor → screen.
enum Dashboard {
    static func run(nodes: [NodeEndpoint], monitor: MonitorConfiguration, readOnly: Bool,
                    expectedChainId: UInt64? = nil) async throws {
        var clientConfig = LedgerClientConfiguration(nodes: nodes)
        clientConfig.expectedChainId = expectedChainId
        let client = LedgerClient(configuration: clientConfig, logger: Logger(label: "gridtop.ledger"))
        let box = SnapshotBox()
        let service = MonitorService(configuration: monitor, box: box, sink: { _ in })
        let pipeline = Task { try await service.run(client: client) }
        var operatorOptions = OperatorOptions()
        operatorOptions.readOnly = readOnly
        let options = operatorOptions
        defer { pipeline.cancel() }
        do {
            try await runOnThread { try OperatorApp(source: box, options: options).run() }
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
