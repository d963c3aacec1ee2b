import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOWebSocket
@_spi(WSInternal) import WSCore

/// A `wss://` connection to a node named by IP address (`wss://10.0.0.5:8546`).
///
/// `WebSocketClient` always sends its URL's host as SNI, and NIOSSL refuses an IP address there
/// (RFC 6066), so such a node could never be reached. Here the TLS handler is made with no
/// server name: no SNI is sent, and NIOSSL then checks the certificate against the peer's
/// address (an iPAddress subjectAltName equal to the address dialled), after the chain has been
/// verified as usual. The WebSocket upgrade and frames are the same code as `WebSocketClient`'s
/// (`WebSocketHandler`), with the same configuration.
struct IPAddressWebSocket: Sendable {
    let host: String
    let port: Int
    /// Path and query, as sent in the upgrade request.
    let requestURI: String

    /// nil unless the URL is `wss://` to an IPv4 or IPv6 address.
    init?(url: String) {
        let p = Redaction.parts(of: url)
        guard p.scheme.lowercased() == "wss" else { return nil }
        let endpoint = NodeEndpoint(url: url)
        guard endpoint.hostIsIPAddress else { return nil }
        host = endpoint.host
        let authority = p.authority
        var portText: Substring?
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            let rest = authority[authority.index(after: close)...]
            portText = rest.hasPrefix(":") ? rest.dropFirst() : nil
        } else if let colon = authority.lastIndex(of: ":") {
            portText = authority[authority.index(after: colon)...]
        }
        port = portText.flatMap { Int($0) } ?? 443
        requestURI = (p.path.isEmpty ? "/" : p.path) + (p.query.map { "?" + $0 } ?? "")
    }

    struct Context: WebSocketContext {
        let logger: Logger
    }

    /// Connects, upgrades and runs `handler` like `WebSocketClient.connect`; returns the close frame.
    func connect(configuration: WebSocketClientConfiguration, tls: TLSConfiguration, logger: Logger,
                 handler: @escaping WebSocketDataHandler<Context>) async throws -> WebSocketCloseFrame? {
        let context = try NIOSSLContext(configuration: tls)
        let bracketed = host.contains(":") ? "[\(host)]" : host
        let hostHeader = bracketed + ":\(port)"
        let channel = Channel(host: host, hostHeader: hostHeader, origin: "wss://" + bracketed, requestURI: requestURI, configuration: configuration,
                              sslContext: context, handler: handler)
        do {
            return try await ClientConnection(channel, address: .hostname(host, port: port), logger: logger).run()
        } catch {
            // The handler's own close on a protocol violation (a `package` type here), mapped as
            // `WebSocketClient.run` maps it, so that `RPCConnection` tells an oversized frame apart.
            guard String(reflecting: type(of: error)).contains("WebSocketHandler.InternalError") else { throw error }
            let raw = String(describing: error)
            if raw.contains("messageTooLarge") { throw WebSocketClientError.serverSentMessageTooLarge }
            if raw.contains("dataInconsistentWithMessage") { throw WebSocketClientError.serverSentDataInconsistentWithMessage }
            throw WebSocketClientError.serverProtocolError
        }
    }

    struct Channel: ClientConnectionChannel {
        enum Upgrade: Sendable {
            case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
            case notUpgraded
        }
        typealias Value = EventLoopFuture<Upgrade>

        let host: String
        let hostHeader: String
        /// As `WebSocketClient` sends it: scheme and host, no port.
        let origin: String
        let requestURI: String
        let configuration: WebSocketClientConfiguration
        let sslContext: NIOSSLContext
        let handler: WebSocketDataHandler<Context>

        func setup(channel: any NIOCore.Channel, logger: Logger) -> EventLoopFuture<Value> {
            channel.eventLoop.makeCompletedFuture {
                let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(
                    maxFrameSize: configuration.maxFrameSize,
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            .websocket(try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel))
                        }
                    })
                var headers = HTTPHeaders()
                headers.replaceOrAdd(name: "Host", value: hostHeader)
                headers.replaceOrAdd(name: "Origin", value: origin)
                for field in configuration.additionalHeaders { headers.add(name: field.name.rawName, value: field.value) }
                let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: requestURI, headers: headers)
                let upgrade = NIOTypedHTTPClientUpgradeConfiguration(
                    upgradeRequestHead: head, upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in channel.eventLoop.makeCompletedFuture { Upgrade.notUpgraded } })
                var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
                pipeline.leftOverBytesStrategy = .forwardBytes
                // No server name: no SNI, and the certificate is matched against the peer's IP address.
                let tlsHandler = try NIOSSLClientHandler(context: sslContext, serverHostname: nil)
                try channel.pipeline.syncOperations.addHandler(tlsHandler, position: .first)
                return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
            }
        }

        func handle(value: Value, logger: Logger) async throws -> WebSocketCloseFrame? {
            switch try await value.get() {
            case .websocket(let channel):
                return try await WebSocketHandler.handle(
                    type: .client,
                    configuration: .init(extensions: [], autoPing: configuration.autoPing, closeTimeout: configuration.closeTimeout,
                                         validateUTF8: configuration.validateUTF8,
                                         ignoreUncleanSSLShutdownErrors: configuration.ignoreUncleanSSLShutdownErrors,
                                         maxFrameSize: configuration.maxFrameSize),
                    asyncChannel: channel, context: Context(logger: logger), handler: handler)
            case .notUpgraded:
                throw WebSocketClientError.webSocketUpgradeFailed
            }
        }
    }
}
