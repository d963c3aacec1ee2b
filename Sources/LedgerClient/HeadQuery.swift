import ChainCore
import Logging

extension LedgerClient {
    /// The highest `eth_blockNumber` among the configured nodes that answer
    /// (for "up to the head as it is now", e.g. `gridtop alerts --to-block head`).
    public func currentHead() async throws -> UInt64 {
        var best: UInt64?
        var lastError: (any Error)?
        for endpoint in configuration.nodes {
            let connection: any RPCTransport
            do {
                connection = try makeTransport(for: endpoint, configuration: configuration, logger: logger, onLatency: { _ in })
            } catch {
                lastError = error
                continue
            }
            let runner = Task { await connection.run() }
            defer { runner.cancel() }
            do {
                try await withDeadline(configuration.connectTimeout, what: "connect") { try await connection.waitOpen() }
                if let n = try await connection.call("eth_blockNumber", []).quantity { best = max(best ?? 0, n) }
            } catch {
                lastError = error
            }
            await connection.close(.disconnected("done"))
        }
        if let best { return best }
        throw lastError ?? LedgerClientError.noNodes
    }
}
