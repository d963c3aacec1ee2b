import GridCore

/// `--history DAYS`: the past days of the chain, built at once before going live.
extension SimulatedNetwork {
    /// Seals the registrations (blocks 1…4, just before `start`) and then one block per past
    /// interval `0..<intervals`, stamped at the interval's end in real time counted from `start`
    /// (so the last one is about now). Incidents whose start lies in these intervals are in them.
    /// Nothing is published: no client is connected yet; they backfill with `eth_getLogs`.
    func buildHistory(ledger: Ledger, intervals: Int, startingAt start: UInt64) {
        let registrationBlocks = registrationBlockCount
        for b in 1...registrationBlocks {
            ledger.produceBlock(timestamp: start - min(start, registrationBlocks - b))
        }
        let length = UInt64(config.intervalSeconds)
        for k in 0..<intervals {
            let out = model.interval(k)
            ledger.enqueue(historyTransactions(out))
            ledger.produceBlock(timestamp: start + UInt64(k + 1) * length)
            count(out, rewrite: false)
        }
    }

    /// One past interval as the meter-data management system bulk-loads it: all its readings in
    /// one transaction (silent meters left out), the market's trades, then any duplicate reading.
    /// Few transactions keep the build fast (each costs several keccaks); the events are the
    /// same as live.
    func historyTransactions(_ out: IntervalOutcome) -> [PendingTransaction] {
        let silent = Set(out.silenced)
        var events: [GridEvent] = []
        events.reserveCapacity(out.readings.count)
        for (i, r) in out.readings.enumerated() where silent.isEmpty || !silent.contains(i) { events.append(.meterReading(r)) }
        var txs = [PendingTransaction(from: Self.meterDataSystem, events: events, notBefore: 0)]
        if !out.transfers.isEmpty {
            txs.append(PendingTransaction(from: Self.address(of: "p2p-market"), events: out.transfers.map { .energyTransfer($0) },
                                          notBefore: 0))
        }
        if !out.duplicates.isEmpty {
            txs.append(PendingTransaction(from: Self.meterDataSystem, events: out.duplicates.map { .meterReading($0) }, notBefore: 0))
        }
        return txs
    }

    static let meterDataSystem = address(of: "meter-data-management")
}
