import Alerts
import ArgumentParser
import Foundation
import LedgerClient
import ChainCore
import Logging
import Synchronization

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
        StderrLogHandler.bootstrap()
        var clientConfig = LedgerClientConfiguration(nodes: try endpoints())
        clientConfig.expectedChainId = chainId
        if let fromBlock { clientConfig.fromBlock = fromBlock }
        let client = LedgerClient(configuration: clientConfig, logger: Logger(label: "gridtop.ledger"))
        let out = LineWriter()
        let asJSON = json
        let service = MonitorService(configuration: MonitorConfiguration(), box: nil) { t in
            out.write(asJSON ? AlarmJSON.line(t) : AlertsCommand.text(t))
        }
        let limit = duration?.duration
        let from = clientConfig.fromBlock
        let toBlock = self.toBlock
        let target = TargetBlock()
        try await Signals.runUntilSignal({
            var until: UInt64?
            if let t = toBlock { until = try t == "head" ? await client.currentHead() : UInt64(t)! }
            target.set(until)
            let stop = until
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run(client: client, until: stop) }
                if let limit { group.addTask { try await Task.sleep(for: limit) } }
                _ = try await group.next()
                group.cancelAll()
            }
            guard toBlock != nil else { return }
            // An audit is clean only if every block was read from nodes that could be believed.
            var problems: [String] = []
            if let f = service.progress.failure { problems.append(f) }
            for (name, why) in service.progress.faultyNodes.sorted(by: { $0.key < $1.key }) { problems.append("node \(name) was faulty: \(why)") }
            if !problems.isEmpty {
                let covered = service.progress.blocks.map { "blocks \($0.first)–\($0.last) were read" } ?? "no block was read"
                FileHandle.standardError.write(Data("gridtop alerts: the audit is not clean (\(covered)): \(problems.joined(separator: "; "))\n".utf8))
                throw ExitCode(1)
            }
        }, interrupted: { sig in
            // Say what was covered: an interrupted audit is not a clean one.
            var line = "gridtop alerts: stopped by \(Signals.name(sig))"
            let range = target.value.map { "\(from)–\($0)" } ?? (toBlock == nil ? "\(from)–(live)" : "\(from)–head")
            if let done = service.progress.blocks {
                line += "; blocks \(done.first)–\(done.last) were read of \(range)"
            } else {
                line += "; no block was read of \(range)"
            }
            if toBlock != nil { line += "; the audit is incomplete" }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        })
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

/// The audit's last block, once known (`--to-block head` asks the nodes first).
final class TargetBlock: Sendable {
    private let block = Mutex<UInt64?>(nil)
    func set(_ n: UInt64?) { block.withLock { $0 = n } }
    var value: UInt64? { block.withLock { $0 } }
}
