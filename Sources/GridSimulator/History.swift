import GridCore

/// `--history DAYS`: the past days of the chain, built at once before going live.
extension SimulatedNetwork {
    /// Seals the registrations (blocks 1…4, just before `start`) and then one block per past
    /// interval `0..<intervals`, stamped at the interval's end in real time counted from `start`
    /// (so the last one is about now). Incidents whose start lies in these intervals are in them.
    /// Nothing is published: no client is connected yet; they backfill with `eth_getLogs`.
    func buildHistory(ledger: Ledger, intervals: Int, startingAt start: UInt64) {
        let registrationBlocks = Self.registrationBlocks
        for b in 1...registrationBlocks {
            ledger.produceBlock(timestamp: start - min(start, registrationBlocks - b))
        }
        let length = UInt64(config.intervalSeconds)
        for k in 0..<intervals {
            let out = model.interval(k)
            var txs = intervalTransactions(out, nextBlock: 0)
            for i in txs.indices { txs[i].notBefore = 0 }
            ledger.enqueue(txs)
            ledger.produceBlock(timestamp: start + UInt64(k + 1) * length)
            count(out, rewrite: false)
        }
    }
}
