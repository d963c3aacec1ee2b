import ChainCore

/// A block the client has accepted as canonical, with the grid events it holds.
public struct ChainBlock: Sendable, Equatable {
    public var header: BlockHeader
    public var events: [LocatedEvent]
    /// Logs in the block that claimed to be grid events but could not be decoded.
    public var rejectedLogs: Int

    public init(header: BlockHeader, events: [LocatedEvent], rejectedLogs: Int = 0) {
        self.header = header; self.events = events; self.rejectedLogs = rejectedLogs
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
    /// Something the operator should know that is not a block (e.g. reorg deeper than the limit).
    case warning(String)
}
