import ArgumentParser
import Foundation
import GridSimulator
import Logging

struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run the simulated network alone, serving its nodes on loopback (a simulator, never a production ledger).")

    @OptionGroup var simulation: SimulationOptions
    @Option(help: "First port (nodes use P, P+1, …); default: ephemeral ports.")
    var port: Int?

    func validate() throws {
        if let port, !(1...65535).contains(port) || port + simulation.nodes - 1 > 65535 {
            throw ValidationError("--port must leave room for \(simulation.nodes) ports below 65536")
        }
    }

    func run() async throws {
        StderrLogHandler.bootstrap()
        let network = try SimulatedNetwork(checking: simulation.configuration(basePort: port))
        nonisolated(unsafe) let simulation = self.simulation
        // Until SIGINT/SIGTERM: then the servers stop and the exit status is 130/143.
        try await Signals.runUntilSignal {
            let urls = try await network.start()
            if let truth = simulation.truth { try network.keepGroundTruth(at: truth) }
            let contract = SimulatedNetwork.meteringContract.hex
            FileHandle.standardError.write(Data("gridtop sim: SIMULATED network, chain id \(simulation.chainId), metering contract \(contract), \(urls.count) nodes; Ctrl-C stops it\n".utf8))
            // One URL per node, then the contract to pass to watch/alerts --contract.
            FileHandle.standardOutput.write(Data((urls.joined(separator: "\n") + "\ncontract \(contract)\n").utf8))
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            await network.stop()
        }
    }
}
