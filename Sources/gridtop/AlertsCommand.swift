import Alerts
import ArgumentParser
import Foundation
import LedgerClient
import ChainCore
import Logging

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Headless: stream alarm transitions from the given nodes, for scripts and paging systems.")

    @Option(name: .customLong("node"), help: "A node's JSON-RPC WebSocket URL (repeat for several nodes).")
    var nodes: [String] = []
    @Flag(help: "One JSON object per line per alarm transition (see docs/alerts-json.md).")
    var json = false
    @Option(name: .customLong("for"), help: "Stop after this long (e.g. 90s, 5m); default: until interrupted.")
    var duration: DurationArgument?
    @Option(help: "The chain id to expect; a node reporting another is refused.")
    var chainId: UInt64?

    func validate() throws {
        guard !nodes.isEmpty else { throw ValidationError("give at least one --node ws://HOST:PORT") }
        for n in nodes where !(n.hasPrefix("ws://") || n.hasPrefix("wss://")) {
            throw ValidationError("--node must be a ws:// or wss:// URL, got \(n)")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .warning
            return h
        }
        var clientConfig = LedgerClientConfiguration(nodes: nodes.map { NodeEndpoint(url: $0) })
        clientConfig.expectedChainId = chainId
        let client = LedgerClient(configuration: clientConfig, logger: Logger(label: "gridtop.ledger"))
        let out = LineWriter()
        let asJSON = json
        let service = MonitorService(configuration: MonitorConfiguration(), box: nil) { t in
            out.write(asJSON ? AlarmJSON.line(t) : AlertsCommand.text(t))
        }
        let limit = duration?.duration
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run(client: client) }
            group.addTask { _ = await Signals.wait() }
            if let limit { group.addTask { try await Task.sleep(for: limit) } }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    static func text(_ t: AlarmTransition) -> String {
        let a = t.alarm
        // Chain text is untrusted: JSON-escape it so no control character reaches the terminal.
        let name = String(JSON.string(a.assetName).serialized().dropFirst().dropLast())
        return "\(AlarmJSON.iso8601(t.at)) \(t.event.rawValue.uppercased()) \(a.priority.letter) \(a.kind.rawValue) \(name) [\(a.stageName)] \(a.message)"
    }
}

/// Whole lines to stdout, flushed at once (a pipe reader sees each alarm as it happens).
final class LineWriter: @unchecked Sendable {
    private let lock = NSLock()
    func write(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
