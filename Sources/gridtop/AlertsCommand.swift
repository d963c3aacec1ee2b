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

    @Option(name: .customLong("node"), help: "A node's JSON-RPC URL: ws://, wss://, http:// or https:// (repeat for several nodes).")
    var nodes: [String] = []
    @Option(name: .customLong("header"),
            help: "An extra HTTP header for every node, or for node N (0-based) with 'N=': 'Authorization: Bearer $TOKEN' ($VAR is read from the environment; never shown or logged).")
    var headers: [String] = []
    @Flag(help: "One JSON object per line per alarm transition (see docs/alerts-json.md).")
    var json = false
    @Option(name: .customLong("for"), help: "Stop after this long (e.g. 90s, 5m); default: until interrupted.")
    var duration: DurationArgument?
    @Option(help: "The chain id to expect; a node reporting another is refused.")
    var chainId: UInt64?
    @Option(help: "Audit from this block (default: live from the chain's start).")
    var fromBlock: UInt64?
    @Option(help: "Audit up to this block, or 'head' (the head when the command starts), then exit.")
    var toBlock: String?
    @Flag(help: "Keep following the chain live (the default without --to-block).")
    var follow = false
    @Option(help: "Settlement depth: an interval is provisional until its newest block is this many blocks deep (default: by the chain's engine, 0 for QBFT/IBFT, 5 for Clique/AuRa, 12 otherwise).")
    var confirmations: UInt64?
    @Option(name: .customLong("state-json"),
            help: "Keep PATH holding the monitor's state as JSON (head, active alarms, per-stage energy, per-segment balances), rewritten as it changes and at exit.")
    var stateJSON: String?

    func endpoints() throws -> [NodeEndpoint] {
        try NodeEndpoint.fromCommandLine(urls: nodes, headers: headers, environment: ProcessInfo.processInfo.environment)
    }

    func validate() throws {
        guard !nodes.isEmpty else { throw ValidationError("give at least one --node URL (ws://, wss://, http:// or https://)") }
        do { _ = try endpoints() } catch { throw ValidationError("\(error)") }
        if let t = toBlock, t != "head", UInt64(t) == nil { throw ValidationError("--to-block takes a block number or 'head', got \(t)") }
        if follow && toBlock != nil { throw ValidationError("--follow and --to-block exclude each other") }
        if let f = fromBlock, let t = toBlock.flatMap(UInt64.init), t < f {
            throw ValidationError("--to-block \(t) is before --from-block \(f)")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .warning
            return h
        }
        var clientConfig = LedgerClientConfiguration(nodes: try endpoints())
        clientConfig.expectedChainId = chainId
        if let fromBlock { clientConfig.fromBlock = fromBlock }
        let client = LedgerClient(configuration: clientConfig, logger: Logger(label: "gridtop.ledger"))
        let out = LineWriter()
        let asJSON = json
        var monitorConfig = MonitorConfiguration()
        monitorConfig.confirmations = confirmations
        let service = MonitorService(configuration: monitorConfig, box: nil) { t in
            out.write(asJSON ? AlarmJSON.line(t) : AlertsCommand.text(t))
        }
        let limit = duration?.duration
        var until: UInt64?
        if let t = toBlock { until = try t == "head" ? await client.currentHead() : UInt64(t)! }
        let stop = until
        let statePath = stateJSON
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run(client: client, until: stop) }
            group.addTask { _ = await Signals.wait() }
            if let limit { group.addTask { try await Task.sleep(for: limit) } }
            if let statePath {
                group.addTask {
                    var last: MonitorState?
                    while !Task.isCancelled {
                        let s = await service.currentState()
                        if s != last { try StateFile.write(s, to: statePath); last = s }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
        if let statePath { try StateFile.write(await service.currentState(), to: statePath) }
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

/// `--state-json`: the whole file replaced at once (written beside it, then renamed), so a
/// reader never sees half of it.
enum StateFile {
    static func write(_ state: MonitorState, to path: String) throws {
        let tmp = path + ".tmp"
        try Data((state.json.serialized() + "\n").utf8).write(to: URL(fileURLWithPath: tmp))
        if rename(tmp, path) != 0 { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }
}
