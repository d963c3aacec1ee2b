import ChainCore

/// Rolling window of RPC round-trip times.
struct LatencyWindow: Sendable {
    private var samples: [Double] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int = 512) { self.capacity = capacity }

    mutating func add(_ d: Duration) {
        let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        if samples.count < capacity { samples.append(ms) } else { samples[next] = ms }
        next = (next + 1) % capacity
    }

    /// (median, p99) in milliseconds, nil without samples.
    var summary: (median: Double, p99: Double)? {
        guard !samples.isEmpty else { return nil }
        let s = samples.sorted()
        func q(_ p: Double) -> Double { s[min(s.count - 1, Int((Double(s.count - 1) * p).rounded()))] }
        return (q(0.5), q(0.99))
    }
}

/// The recent canonical chain as emitted: height → hash, ascending, bounded.
/// After a backfill it may have holes (blocks without grid events are not emitted then).
struct ChainWindow: Sendable {
    private(set) var entries: [(number: UInt64, hash: Bytes32)] = []
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    var tip: (number: UInt64, hash: Bytes32)? { entries.last }
    var lowest: UInt64? { entries.first?.number }
    var isEmpty: Bool { entries.isEmpty }

    func hash(at number: UInt64) -> Bytes32? {
        // Entries are ascending; search from the top, where lookups happen.
        for e in entries.reversed() {
            if e.number == number { return e.hash }
            if e.number < number { return nil }
        }
        return nil
    }

    func contains(_ hash: Bytes32) -> Bool { entries.contains { $0.hash == hash } }

    mutating func append(number: UInt64, hash: Bytes32) {
        precondition(entries.last.map { $0.number < number } ?? true, "chain window must ascend")
        entries.append((number, hash))
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    /// Removes every entry above `number` and returns them newest first.
    mutating func removeAbove(_ number: UInt64?) -> [(number: UInt64, hash: Bytes32)] {
        var removed: [(number: UInt64, hash: Bytes32)] = []
        while let last = entries.last, number.map({ last.number > $0 }) ?? true {
            removed.append(entries.removeLast())
        }
        return removed
    }
}

/// Runs `op` with a deadline.
func withDeadline<T: Sendable>(_ limit: Duration, what: String, _ op: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await op() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw LedgerClientError.timeout(method: what, after: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Capped exponential backoff with jitter (50–100 % of the nominal delay).
func backoffDelay(attempt: Int, base: Duration, cap: Duration) -> Duration {
    let nominal = min(cap, base * (1 << min(attempt, 20)))
    return nominal * Double.random(in: 0.5...1.0)
}
