import ChainCore
import GridCore

/// Energy through one stage in one interval (watt-hours).
public struct StageFlow: Sendable, Equatable {
    public var stage: Stage
    /// Assets of this stage known from the chain.
    public var assets: Int
    /// Meters of this stage that reported in the interval.
    public var reporting: Int
    public var importWh: Int64
    public var exportWh: Int64
    /// Expected technical loss inside this stage's segments.
    public var lossWh: Int64
    /// Residual beyond the expected loss (positive: energy metered nowhere).
    public var unaccountedWh: Int64
    /// Σ over this stage's segments of what their children took: energy delivered downstream.
    public var deliveredWh: Int64 = 0
    /// Segments of this stage balanced in the interval, and how many of them were incomplete
    /// (a meter missing: marked, never counted as loss or theft).
    public var segments = 0
    public var incompleteSegments = 0

    public init(stage: Stage, assets: Int, reporting: Int, importWh: Int64, exportWh: Int64, lossWh: Int64, unaccountedWh: Int64) {
        self.stage = stage; self.assets = assets; self.reporting = reporting; self.importWh = importWh
        self.exportWh = exportWh; self.lossWh = lossWh; self.unaccountedWh = unaccountedWh
    }
}

/// One segment's energy flow in one settled interval (watt-hours).
public struct SegmentFlow: Sendable, Equatable {
    public var segment: AssetID
    public var stage: Stage
    public var interval: UInt64
    /// Through the segment's own meter, from and to its parent.
    public var importedWh: Int64
    public var exportedWh: Int64
    /// Σ net import of the children that reported: delivered downstream.
    public var deliveredWh: Int64
    public var throughputWh: Int64
    /// The detector's expected technical loss; nil while learning or when incomplete.
    public var expectedLossWh: Int64?
    /// Residual beyond the expected loss; nil while learning or when incomplete.
    public var unaccountedWh: Int64?
    /// False when a meter was missing: never evidence of theft.
    public var complete: Bool
    public var childrenReporting: Int
    public var childrenExpected: Int

    public init(segment: AssetID, stage: Stage, balance b: SegmentBalance) {
        self.segment = segment; self.stage = stage; interval = b.interval
        importedWh = b.importWh; exportedWh = b.exportWh; deliveredWh = b.childrenNetInWh; throughputWh = b.throughputWh
        complete = b.complete; childrenReporting = b.childrenReporting; childrenExpected = b.childrenExpected
    }
}

/// A block as listed on the screen.
public struct BlockRow: Sendable, Equatable {
    public var number: UInt64
    public var hash: Bytes32
    public var proposer: Address
    public var timestamp: UInt64
    public var readings: Int
    public var registrations: Int
    public var transfers: Int
    public var rejected: Int

    public init(number: UInt64, hash: Bytes32, proposer: Address, timestamp: UInt64, readings: Int, registrations: Int, transfers: Int, rejected: Int) {
        self.number = number; self.hash = hash; self.proposer = proposer; self.timestamp = timestamp
        self.readings = readings; self.registrations = registrations; self.transfers = transfers; self.rejected = rejected
    }
}

/// Everything the operator's screen shows, as one immutable value.
/// Built by the monitor after each update; views are pure functions of it.
public struct MonitorSnapshot: Sendable, Equatable {
    public var chainId: UInt64?
    /// True on the embedded simulated network: the screen must say so.
    public var simulated: Bool
    public var head: BlockHeader?
    /// Wall-clock unix seconds when the head arrived.
    public var headSeenAt: Double?
    public var nodes: [NodeStatus]
    /// Start (unix seconds, chain time) of the last settled interval.
    public var settledInterval: UInt64?
    public var intervalSeconds: UInt32
    public var stages: [StageFlow]
    /// Newest first.
    public var recentBlocks: [BlockRow]
    /// Active, or cleared but unacknowledged; most urgent first.
    public var alarms: [Alarm]
    public var warnings: [String]
    /// Wall-clock unix seconds when the snapshot was made.
    public var now: Double
    /// Suppressed by design: explained by an upstream alarm (`suppressedBy`), shown as "N inhibited"; most urgent first.
    public var inhibited: [Alarm]
    /// Shelved (timed or one-shot), still evaluated underneath.
    public var shelved: [Alarm]
    /// Out of service, still evaluated underneath.
    public var outOfService: [Alarm]
    /// Alarm-system KPIs (EEMUA 191 / ISA-18.2): rate, flood, stale, chattering, bad actors, priority mix.
    public var kpis: AlarmSystemKPIs
    /// Ranked suspect consumers per suspected segment, most suspect first.
    public var suspects: [AssetID: [AlarmSuspect]]
    /// The latest consensus probe, as the monitor judged it.
    public var consensus: ConsensusHealth?
    /// The settled interval's newest block is not yet `confirmations` deep: its figures may
    /// still change with a reorg (the screen marks them provisional).
    public var settledProvisional: Bool
    /// The settlement depth in force (blocks).
    public var confirmations: UInt64
    /// Blocks a reorg took off the chain, newest first: shown as orphaned, never as the chain.
    public var orphanedBlocks: [BlockRow]

    /// The site's name, if configured.
    public var site: String? = nil
    /// Standing conditions shown as a banner at all times (`--any-contract`, every node on the wrong chain).
    public var banners: [String] = []
    /// Logs from contracts other than the configured metering contracts, ignored since the start.
    public var ignoredLogs = 0
    /// Settlement by the nodes' `finalized` block (no `confirmations` configured and the nodes
    /// support the tag): the block, else nil (settlement by depth).
    public var settledByFinalized: UInt64? = nil

    public var inhibitedCount: Int { inhibited.count }

    public init(chainId: UInt64? = nil, simulated: Bool = false, head: BlockHeader? = nil, headSeenAt: Double? = nil,
                nodes: [NodeStatus] = [], settledInterval: UInt64? = nil, intervalSeconds: UInt32 = 900,
                stages: [StageFlow] = [], recentBlocks: [BlockRow] = [], alarms: [Alarm] = [],
                warnings: [String] = [], now: Double = 0, inhibited: [Alarm] = [], shelved: [Alarm] = [],
                outOfService: [Alarm] = [], kpis: AlarmSystemKPIs = AlarmSystemKPIs(),
                suspects: [AssetID: [AlarmSuspect]] = [:], consensus: ConsensusHealth? = nil,
                settledProvisional: Bool = false, confirmations: UInt64 = 0, orphanedBlocks: [BlockRow] = []) {
        self.suspects = suspects; self.consensus = consensus
        self.settledProvisional = settledProvisional; self.confirmations = confirmations; self.orphanedBlocks = orphanedBlocks
        self.inhibited = inhibited; self.shelved = shelved; self.outOfService = outOfService; self.kpis = kpis
        self.chainId = chainId; self.simulated = simulated; self.head = head; self.headSeenAt = headSeenAt
        self.nodes = nodes; self.settledInterval = settledInterval; self.intervalSeconds = intervalSeconds
        self.stages = stages; self.recentBlocks = recentBlocks; self.alarms = alarms; self.warnings = warnings
        self.now = now
    }
}

/// Every configured node refused for reporting another chain id: nothing can be shown.
public enum WrongChain {
    /// The banner text, or nil while at least one node is usable (or none is configured).
    public static func banner(nodes: [NodeStatus], expected: UInt64?) -> String? {
        guard !nodes.isEmpty, nodes.allSatisfy({ $0.connection == .refused }) else { return nil }
        let got = Set(nodes.compactMap(\.chainId)).sorted().map(String.init).joined(separator: ", ")
        return "WRONG CHAIN: every node reports chain id \(got.isEmpty ? "?" : got)"
            + (expected.map { ", expected \($0); check --chain-id or the nodes" } ?? "")
    }
}
