import ChainCore

/// A block the client has accepted as canonical, with the grid events it holds.
public struct ChainBlock: Sendable, Equatable {
    public var header: BlockHeader
    public var events: [LocatedEvent]
    /// Logs in the block that claimed to be grid events but could not be decoded.
    public var rejectedLogs: Int
    /// Logs in the block from a contract that is not a configured metering contract: they
    /// changed nothing (the trust boundary), and are only counted. A node honouring the
    /// address filter never sends any; a count above zero names a node that does not.
    public var ignoredLogs: Int
    /// The node's head when it was fetched: every block up to it has been read (the end of a
    /// backfill, or a live head). A restarted monitor judges its restored alarms on it.
    public var atHead: Bool

    public init(header: BlockHeader, events: [LocatedEvent], rejectedLogs: Int = 0, ignoredLogs: Int = 0, atHead: Bool = false) {
        self.header = header; self.events = events; self.rejectedLogs = rejectedLogs; self.ignoredLogs = ignoredLogs; self.atHead = atHead
    }
}

/// The one ordered stream from LedgerClient to the rest of gridtop.
public enum LedgerUpdate: Sendable, Equatable {
    /// The chain the client is following (from `eth_chainId`).
    case chain(id: UInt64)
    /// A new canonical block, in height order, each block exactly once.
    case block(ChainBlock)
    /// A block (and every event in it) was orphaned by a reorg.
    case retract(number: UInt64, hash: Bytes32)
    /// Health of every configured node.
    case nodes([NodeStatus])
    /// A reorg the client saw: how deep, and whether it was followed (retracts emitted)
    /// or was deeper than the client's limit (older blocks were not retracted).
    case reorg(ReorgReport)
    /// Consensus health of the chain as probed on the followed node (validators, block timing).
    case consensus(ConsensusHealth)
    /// Something the operator should know that is not a block.
    case warning(String)
}

/// One reorg: the new head, how many canonical blocks it orphaned, and whether
/// the client could follow it block by block.
public struct ReorgReport: Sendable, Equatable {
    /// Height and hash of the new canonical head after the reorg.
    public var newHead: UInt64
    public var newHeadHash: Bytes32
    /// Blocks orphaned (retracted) or, when `beyondLimit`, at least this many.
    public var depth: Int
    /// The client's limit (`maxReorgDepth`) at the time.
    public var limit: Int
    /// True when the fork point is deeper than `limit`: blocks below were not retracted.
    public var beyondLimit: Bool

    public init(newHead: UInt64, newHeadHash: Bytes32, depth: Int, limit: Int, beyondLimit: Bool) {
        self.newHead = newHead; self.newHeadHash = newHeadHash; self.depth = depth; self.limit = limit
        self.beyondLimit = beyondLimit
    }
}
