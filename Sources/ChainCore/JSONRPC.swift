/// JSON-RPC 2.0 message shapes shared by the client and the simulated nodes.
public struct RPCError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: JSON?

    public init(code: Int, message: String, data: JSON? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603
    /// go-ethereum's "response too large" for batches.
    public static let responseTooLarge = -32003

    public var description: String { "RPC error \(code): \(message)" }

    public var json: JSON {
        var o: [String: JSON] = ["code": .int(code), "message": .string(message)]
        if let data { o["data"] = data }
        return .object(o)
    }
}

/// One incoming JSON-RPC message, as seen by either side.
public enum RPCMessage: Sendable, Equatable {
    case request(id: JSON, method: String, params: JSON)
    /// A request without id (JSON-RPC notification) or a subscription push (`eth_subscription`).
    case notification(method: String, params: JSON)
    case response(id: JSON, result: Result<JSON, RPCError>)
}

public enum JSONRPC {
    public static func request(id: Int, method: String, params: [JSON]) -> JSON {
        ["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": .array(params)]
    }

    public static func result(id: JSON, _ result: JSON) -> JSON {
        ["jsonrpc": "2.0", "id": id, "result": result]
    }

    public static func error(id: JSON, _ error: RPCError) -> JSON {
        ["jsonrpc": "2.0", "id": id, "error": error.json]
    }

    /// go-ethereum's subscription push: `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":ID,"result":…}}`.
    public static func subscriptionNotification(subscription: String, result: JSON) -> JSON {
        ["jsonrpc": "2.0", "method": "eth_subscription",
         "params": ["subscription": .string(subscription), "result": result]]
    }

    /// Classifies one JSON-RPC object; a malformed one is a clear error, never a crash.
    public static func message(_ json: JSON) throws(RPCError) -> RPCMessage {
        guard case .object(let o) = json else {
            throw RPCError(code: RPCError.invalidRequest, message: "expected a JSON-RPC object")
        }
        if let method = o["method"] {
            guard let name = method.stringValue else {
                throw RPCError(code: RPCError.invalidRequest, message: "method must be a string")
            }
            let params = o["params"] ?? .array([])
            if let id = o["id"], !id.isNull {
                return .request(id: id, method: name, params: params)
            }
            return .notification(method: name, params: params)
        }
        guard let id = o["id"] else {
            throw RPCError(code: RPCError.invalidRequest, message: "message has neither method nor id")
        }
        if let err = o["error"], !err.isNull {
            guard let code = err["code"]?.intValue else {
                throw RPCError(code: RPCError.invalidRequest, message: "error without an integer code")
            }
            return .response(id: id, result: .failure(RPCError(code: code, message: err["message"]?.stringValue ?? "", data: err["data"])))
        }
        guard let result = o["result"] else {
            throw RPCError(code: RPCError.invalidRequest, message: "response has neither result nor error")
        }
        return .response(id: id, result: .success(result))
    }
}
