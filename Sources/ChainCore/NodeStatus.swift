/// What the client knows about one ledger node: health as the operator sees it.
public struct NodeStatus: Sendable, Equatable {
    public enum Connection: String, Sendable, Equatable {
        case connecting, connected, disconnected, refused
    }

    /// Whether what this node says can be believed.
    public enum Trust: String, Sendable, Equatable {
        /// Agrees with the quorum and its headers hash correctly.
        case verified
        /// Not yet compared (just connected, or no quorum).
        case unknown
        /// Reported another hash at a height the quorum agrees on.
        case divergent
        /// Served a block whose hash does not match its header.
        case untrusted
    }

    public var name: String
    /// Endpoint with any credentials removed; safe to show.
    public var endpoint: String
    public var connection: Connection
    public var trust: Trust
    public var chainId: UInt64?
    public var headNumber: UInt64?
    public var headHash: Bytes32?
    /// Blocks behind the best head the quorum agrees on.
    public var lag: UInt64
    public var latencyMedianMs: Double?
    public var latencyP99Ms: Double?
    public var peerCount: UInt64?
    public var syncing: Bool?
    /// The node's `finalized` block (`eth_getBlockByNumber("finalized")`), nil where the node
    /// does not support the tag (or has not answered yet).
    public var finalizedNumber: UInt64?
    public var clientVersion: String?
    public var lastError: String?

    public init(name: String, endpoint: String, connection: Connection = .connecting, trust: Trust = .unknown,
                chainId: UInt64? = nil, headNumber: UInt64? = nil, headHash: Bytes32? = nil, lag: UInt64 = 0,
                latencyMedianMs: Double? = nil, latencyP99Ms: Double? = nil, peerCount: UInt64? = nil,
                syncing: Bool? = nil, clientVersion: String? = nil, lastError: String? = nil) {
        self.name = name; self.endpoint = endpoint; self.connection = connection; self.trust = trust
        self.chainId = chainId; self.headNumber = headNumber; self.headHash = headHash; self.lag = lag
        self.latencyMedianMs = latencyMedianMs; self.latencyP99Ms = latencyP99Ms; self.peerCount = peerCount
        self.syncing = syncing; self.clientVersion = clientVersion; self.lastError = lastError
    }
}
