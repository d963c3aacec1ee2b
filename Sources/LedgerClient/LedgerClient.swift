import ChainCore
import GridCore
import Logging

/// Follows one or more ledger nodes and turns what they say into one ordered
/// stream of `LedgerUpdate`s (see `docs/ledger-client.md` for its guarantees).
public final class LedgerClient: Sendable {
    public let configuration: LedgerClientConfiguration
    let logger: Logger

    public init(configuration: LedgerClientConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Connects to every node and yields one ordered stream until the task is cancelled.
    ///
    /// `emit` is called from one task at a time, in stream order; the client waits for it
    /// (a slow consumer slows fetching, nothing is dropped). Returns when cancelled.
    public func run(_ emit: @escaping @Sendable (LedgerUpdate) async -> Void) async throws {
        guard !configuration.nodes.isEmpty else { throw LedgerClientError.noNodes }
        let hub = LedgerHub(configuration: configuration, logger: logger, emit: emit)
        let configuration = self.configuration
        let logger = self.logger
        await withTaskGroup(of: Void.self) { group in
            for (i, endpoint) in configuration.nodes.enumerated() {
                var nodeLogger = logger
                nodeLogger[metadataKey: "node"] = "\(Redaction.scrub(endpoint.name, secrets: Redaction.secrets(of: endpoint)))"
                let worker = NodeWorker(index: i, endpoint: endpoint, configuration: configuration, hub: hub, logger: nodeLogger)
                group.addTask { await worker.run() }
            }
            group.addTask {
                while !Task.isCancelled {
                    hub.tick()
                    try? await Task.sleep(for: configuration.statusEvery)
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
