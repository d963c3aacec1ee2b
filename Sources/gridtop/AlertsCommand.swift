import Alerts
import ArgumentParser
import ControlRoom
import Foundation
import LedgerClient
import ChainCore
import Logging
import SiteConfig
import Synchronization

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Headless: stream alarm transitions from the given nodes, for scripts and paging systems.")

    @OptionGroup var ledger: LedgerOptions
    @Flag(help: "One JSON object per line per alarm transition (see docs/alerts-json.md).")
    var json = false
    @Option(name: .customLong("for"), parsing: .unconditional, help: "Stop after this long (e.g. 90s, 5m); default: until interrupted.")
    var duration: DurationArgument?
    @Option(help: "Audit from this block (default: live from the chain's start).")
    var fromBlock: UInt64?
    @Option(help: "Audit up to this block, or 'head' (the head when the command starts), then exit.")
    var toBlock: String?
    @Flag(help: "Keep following the chain live (the default without --to-block).")
    var follow = false
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "An audit (--to-block) with no node connected for this long stops and names the blocks it could not cover (exit 1).",
        valueName: "duration"))
    var giveUpAfter: DurationArgument = DurationArgument(.seconds(30))
    @Option(help: ArgumentHelp(
        "Alarm journal (SQLite) path, shared with the dashboards and `gridtop alarms`; default when following live: the config file's journal, else $XDG_DATA_HOME/gridtop/chain-<id>.sqlite. An audit (--to-block) journals only with --db.",
        valueName: "path"))
    var db: String?
    @Option(help: "Settlement depth: an interval is provisional until its newest block is this many blocks deep (default: by the chain's engine, 0 for QBFT/IBFT, 5 for Clique/AuRa, 12 otherwise).")
    var confirmations: UInt64?
    @Option(name: .customLong("state-json"),
            help: "Keep PATH holding the monitor's state as JSON (head, active alarms, per-stage energy, per-segment balances), rewritten as it changes and at exit.")
    var stateJSON: String?

    func validate() throws {
        if let d = duration, d.duration <= .zero { throw ValidationError("--for must be a positive duration such as 90s or 5m") }
        if giveUpAfter.duration <= .zero { throw ValidationError("--give-up-after must be a positive duration such as 30s") }
        if let t = toBlock, t != "head", UInt64(t) == nil { throw ValidationError("--to-block takes a block number or 'head', got \(t)") }
        if follow && toBlock != nil { throw ValidationError("--follow and --to-block exclude each other") }
        if let f = fromBlock, let t = toBlock.flatMap(UInt64.init), t < f {
            throw ValidationError("--to-block \(t) is before --from-block \(f)")
        }
    }

    func run() async throws {
        let site = try ledger.site(journal: db)
        // Live, the headless process journals every transition like the dashboard (same per-chain
        // file); an audit of a past range replays history, so it journals only where told to.
        let journalling = toBlock == nil || db != nil
        if journalling { try JournalPreflight.check(dbPath: site.journal) }
        // Logs go to the dashboard's log file; stderr carries only the one-line errors a script needs.
        FileLogHandler.bootstrap()
        var clientConfig = ledger.clientConfiguration(site)
        if let fromBlock { clientConfig.fromBlock = fromBlock }
        let client = LedgerClient(configuration: clientConfig, logger: Logger(label: "gridtop.ledger"))
        let out = LineWriter()
        let asJSON = json
        var monitor = MonitorConfiguration()
        monitor.banners = ledger.banners
        monitor.confirmations = confirmations
        if ledger.anyContract { FileHandle.standardError.write(Data("gridtop alerts: warning: \(SiteConfiguration.anyContractBanner)\n".utf8)) }
        let service = ControlRoom(configuration: monitor, sink: { t in
            out.write(asJSON ? AlarmJSON.line(t) : AlertsCommand.text(t))
        })
        if journalling { try await service.enableJournal(dbPath: site.journal, chainId: site.chainId) }
        let limit = duration?.duration
        let from = clientConfig.fromBlock
        let target = TargetBlock()
        let toBlock = self.toBlock, fromBlock = self.fromBlock, stateJSON = self.stateJSON, giveUp = giveUpAfter.duration
        try await Signals.runUntilSignal({
            var until: UInt64?
            if let t = toBlock {
                if t == "head" {
                    do {
                        until = try await client.currentHead()
                    } catch {
                        throw CommandFailure("--to-block head: no node told its head: \(PlainWords.describe(error))")
                    }
                } else {
                    until = UInt64(t)!
                }
            }
            target.set(until)
            let stop = until
            let patience = giveUp
            let statePath = stateJSON
            let ended: AlertsEnd = try await withThrowingTaskGroup(of: AlertsEnd.self) { group in
                group.addTask { try await service.run(client: client, until: stop); return .done }
                if let limit { group.addTask { try await Task.sleep(for: limit); return .timeUp } }
                if let statePath {
                    group.addTask {
                        var last: MonitorState?
                        while true {
                            let s = await service.currentState()
                            if s != last { try StateFile.write(s, to: statePath); last = s }
                            try await Task.sleep(for: .milliseconds(200))
                        }
                    }
                }
                group.addTask {
                    // Conditions under which running on cannot help: every node on the wrong chain,
                    // the journal failed. A script gets a non-zero exit and one line.
                    var lastConnected = ContinuousClock.now
                    var lastApplied = service.progress.blocks?.last
                    while true {
                        try await Task.sleep(for: .milliseconds(500))
                        let s = await service.standing()
                        if let b = s.banners.first(where: { $0.hasPrefix("WRONG CHAIN") || $0.hasPrefix("NO JOURNAL") }) {
                            return .failed(b)
                        }
                        // An audit cannot finish without a node: after `patience` with none connected and
                        // no block applied it says what it missed. (Blocks still arriving count as a node:
                        // a dense history is read on a connection of its own while the node reconnects.)
                        let applied = service.progress.blocks?.last
                        if s.nodes.isEmpty || s.nodes.contains(where: { $0.connection == .connected }) || applied != lastApplied {
                            lastApplied = applied
                            lastConnected = .now
                        } else if stop != nil, ContinuousClock.now - lastConnected >= patience {
                            return .gaveUp
                        }
                    }
                }
                let first = try await group.next() ?? .done
                group.cancelAll()
                return first
            }
            if let statePath { try StateFile.write(await service.currentState(), to: statePath) }
            if let stop {
                // An audit is clean only if every block was read from nodes that could be believed.
                var problems: [String] = []
                if let f = service.progress.failure { problems.append(f) }
                for (name, why) in service.progress.faultyNodes.sorted(by: { $0.key < $1.key }) { problems.append("node \(name) was faulty: \(why)") }
                if !problems.isEmpty {
                    let covered = service.progress.blocks.map { "blocks \($0.first)–\($0.last) were read" } ?? "no block was read"
                    throw CommandFailure("the audit is not clean (\(covered)): \(problems.joined(separator: "; "))")
                }
                // An audit is complete only if every block of its range was examined.
                let range = (fromBlock ?? 0)...max(fromBlock ?? 0, stop)
                let missing = client.coverage.value.missing(in: range)
                if case .failed(let why) = ended { throw CommandFailure(why) }
                if !missing.isEmpty {
                    let s = await service.standing()
                    let why: String
                    switch ended {
                    case .gaveUp: why = "no node connected for \(patience)"
                    case .timeUp: why = "--for \(limit.map { "\($0)" } ?? "") ran out"
                    case .interrupted: why = "interrupted"
                    default: why = "stopped"
                    }
                    let nodes = s.nodes.map { "\($0.name): \($0.lastError ?? $0.connection.rawValue)" }.joined(separator: "; ")
                    throw CommandFailure("audit incomplete (\(why)): \(BlockCoverage.count(missing)) of \(range.count) blocks not covered: "
                        + "\(BlockCoverage.describe(missing)); nodes: \(nodes)")
                }
                return
            }
            switch ended {
            case .done, .gaveUp, .interrupted: return
            case .failed(let why): throw CommandFailure(why)
            case .timeUp:
                let s = await service.standing()
                if !s.reached {
                    let why = s.nodes.map { "\($0.name): \($0.lastError ?? $0.connection.rawValue)" }.joined(separator: "; ")
                    throw CommandFailure("no ledger node was reachable in \(limit.map { "\($0)" } ?? "the run"): \(why)")
                }
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

    enum AlertsEnd: Sendable { case done, timeUp, gaveUp, interrupted, failed(String) }

    static func text(_ t: AlarmTransition) -> String {
        let a = t.alarm
        // Chain text is untrusted (the name, and the message that quotes names): escaped.
        return "\(AlarmJSON.iso8601(t.at)) \(t.event.rawValue.uppercased()) \(a.priority.letter) \(a.kind.rawValue) \(SafeText.escaped(a.assetName)) [\(a.stageName)] \(SafeText.escaped(a.message, quotes: false))"
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

/// The audit's last block, once known (`--to-block head` asks the nodes first).
final class TargetBlock: Sendable {
    private let block = Mutex<UInt64?>(nil)
    func set(_ n: UInt64?) { block.withLock { $0 = n } }
    var value: UInt64? { block.withLock { $0 } }
}
