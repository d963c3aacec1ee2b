import ChainCore
import GridCore

/// What the monitor believes about the grid, as data: the head it follows, the active
/// alarms with their evidence, the per-stage energy of the newest settled interval and
/// every segment's balance in every settled interval it retains.
///
/// Two monitors that agree on this agree on everything an operator acts on. It is what
/// `gridtop alerts --state-json PATH` writes, so a live run can be compared, as data, with a
/// fresh run over the final chain (the reorg invariant in docs/architecture.md).
public struct MonitorState: Sendable, Equatable {
    public struct ActiveAlarm: Sendable, Equatable {
        public var kind: AlarmKind
        public var asset: AssetID
        public var interval: UInt64?
        public var origin: EventOrigin?
    }

    public struct Balance: Sendable, Equatable {
        public var segment: AssetID
        public var interval: UInt64
        public var residualWh: Int64
        public var throughputWh: Int64
        public var complete: Bool
    }

    public var headNumber: UInt64?
    public var headHash: Bytes32?
    public var settledInterval: UInt64?
    /// The settled interval is provisional (not yet `confirmations` deep).
    public var settledProvisional: Bool
    public var activeAlarms: [ActiveAlarm]
    public var stages: [StageFlow]
    public var balances: [Balance]
    /// Registered assets, and the readings and transfers retained: every decoded event counts.
    public var assets: Int
    public var readings: Int
    public var transfers: Int

    public init(_ m: Monitor) {
        headNumber = m.head?.number
        headHash = m.head?.hash
        settledInterval = m.settledInterval
        settledProvisional = m.settledInterval.map(m.isProvisional) ?? false
        activeAlarms = m.book.alarms.values.filter { $0.active && $0.kind.isGridSide }
            .map { ActiveAlarm(kind: $0.kind, asset: $0.asset, interval: $0.interval, origin: $0.origin) }
            .sorted { ($0.kind.rawValue, $0.asset.hex) < ($1.kind.rawValue, $1.asset.hex) }
        stages = m.stageFlows
        var out: [Balance] = []
        if let s = m.settledInterval {
            for iv in m.ledger.intervals.keys.sorted() where iv <= s {
                for seg in m.topology.segments.sorted() {
                    guard let b = m.ledger.balance(of: seg, in: iv, topology: m.topology) else { continue }
                    out.append(Balance(segment: seg, interval: iv, residualWh: b.residualWh, throughputWh: b.throughputWh,
                                       complete: b.complete))
                }
            }
        }
        balances = out
        assets = m.topology.count
        readings = m.ledger.intervals.values.reduce(0) { $0 + $1.count }
        transfers = m.transfers.intervals.values.reduce(0) { $0 + $1.count }
    }

    public var json: JSON {
        func origin(_ o: EventOrigin?) -> JSON {
            guard let o else { return .null }
            return .object(["block": .number(String(o.blockNumber)), "blockHash": .string(o.blockHash.hex),
                            "transaction": .string(o.transactionHash.hex), "logIndex": .int(Int(o.logIndex))])
        }
        return .object([
            "head": headNumber.map { .number(String($0)) } ?? .null,
            "headHash": headHash.map { .string($0.hex) } ?? .null,
            "settledInterval": settledInterval.map { .number(String($0)) } ?? .null,
            "settledProvisional": .bool(settledProvisional),

            "assets": .int(assets), "readings": .int(readings), "transfers": .int(transfers),
            "activeAlarms": .array(activeAlarms.map { a in
                .object(["kind": .string(a.kind.rawValue), "asset": .string(a.asset.hex),
                         "interval": a.interval.map { .number(String($0)) } ?? .null, "evidence": origin(a.origin)])
            }),
            "stages": .array(stages.map { s in
                .object(["stage": .string(s.stage.name), "reporting": .int(s.reporting),
                         "importWh": .number(String(s.importWh)), "exportWh": .number(String(s.exportWh)),
                         "lossWh": .number(String(s.lossWh)), "unaccountedWh": .number(String(s.unaccountedWh)),
                         "deliveredWh": .number(String(s.deliveredWh)), "segments": .int(s.segments),
                         "incompleteSegments": .int(s.incompleteSegments)])
            }),
            "balances": .array(balances.map { b in
                .object(["segment": .string(b.segment.hex), "interval": .number(String(b.interval)),
                         "residualWh": .number(String(b.residualWh)), "throughputWh": .number(String(b.throughputWh)),
                         "complete": .bool(b.complete)])
            }),
        ])
    }
}
