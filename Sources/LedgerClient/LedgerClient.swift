import ChainCore
import GridCore
import Logging

/// Follows one or more ledger nodes and turns what they say into one ordered
/// stream of `LedgerUpdate`s.
///
/// The stream:
/// - `.chain(id:)` before any block (with `expectedChainId` nil it is learned from the
///   first node that answers, so `.nodes` statuses may come before it).
/// - Backfill: every block in `fromBlock...head` holding grid events, in height order
///   (`eth_getLogs` by range, headers by hash in batches), then the head block.
/// - Live: every canonical block once, in height order, empty ones included, with all
///   its grid events (`eth_getLogs` by block hash, so a reorg racing the fetch cannot
///   mix blocks). Gaps (skipped `newHeads`, reconnects) are filled block by block up to
///   `denseGapLimit`, beyond that like a backfill.
/// - Reorgs (new head at a known height, parent mismatch, `removed: true` logs):
///   `.retract` for each orphaned block, newest first, then `.reorg(ReorgReport)` with the
///   depth, then the new blocks. A fork deeper than `maxReorgDepth` (default 64) is reported
///   as `.reorg(… beyondLimit: true)`; blocks below the limit are not retracted.
/// - Transport by URL: `ws://`/`wss://` subscribe to `newHeads` and `logs`; `http://`/`https://`
///   poll the head every `pollEvery`; both go through the same gap filling and reorg handling.
/// - Undecodable grid logs are counted in `ChainBlock.rejectedLogs` and logged.
/// - `.nodes` every `statusEvery`; credentials never appear in it.
/// - Several nodes: follows the best head among connected nodes of the right chain and
///   moves to another node when that one fails; nodes of another chain are `.refused`.
public final class LedgerClient: Sendable {
    public let configuration: LedgerClientConfiguration
    let logger: Logger
    /// Heights whose grid logs were all fetched and emitted so far (an audit checks it is complete).
    public let coverage = CoverageRecord()

    public init(configuration: LedgerClientConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Connects to every node and yields one ordered stream until the task is cancelled.
    ///
    /// `emit` is called in stream order for blocks, retractions and reorgs; the client waits for
    /// it (a slow consumer slows fetching, nothing is dropped). `.nodes` may also come from the
    /// status clock while a long sync runs, concurrently with a block's `emit`. Returns when cancelled.
    public func run(_ emit: @escaping @Sendable (LedgerUpdate) async -> Void) async throws {
        try await run(emit, health: nil)
    }

    /// As `run(_:)`, and every `consensusEvery` a `ConsensusHealth` of the chain (from the
    /// followed node's verified headers and engine namespaces) is passed to `health`.
    /// (To become `LedgerUpdate.consensus` once GridCore carries it.)
    public func run(_ emit: @escaping @Sendable (LedgerUpdate) async -> Void,
                    health: (@Sendable (ConsensusHealth) async -> Void)?) async throws {
        guard !configuration.nodes.isEmpty else { throw LedgerClientError.noNodes }
        let hub = LedgerHub(configuration: configuration, logger: logger, coverage: coverage, emit: emit)
        let configuration = self.configuration
        let logger = self.logger
        await withTaskGroup(of: Void.self) { group in
            for (i, endpoint) in configuration.nodes.enumerated() {
                var nodeLogger = logger
                nodeLogger[metadataKey: "node"] = "\(Redaction.scrub(endpoint.name, secrets: Redaction.secrets(of: endpoint)))"
                let worker = NodeWorker(index: i, endpoint: endpoint, configuration: configuration, hub: hub, logger: nodeLogger)
                group.addTask { await worker.run() }
            }
            if let health {
                let probe = ConsensusProbe(hub: hub, configuration: configuration, logger: logger)
                group.addTask { await probe.run(health) }
            }
            group.addTask {
                while !Task.isCancelled {
                    hub.tick()
                    try? await Task.sleep(for: configuration.statusEvery)
                    await hub.emitStatusesIfStale()
                }
                hub.finish()
            }
            group.addTask {
                await withTaskCancellationHandler {
                    for await wake in hub.wakes {
                        if Task.isCancelled { break }
                        await hub.step(wake)
                    }
                } onCancel: {
                    hub.finish()
                }
            }
            await group.waitForAll()
        }
    }
}
