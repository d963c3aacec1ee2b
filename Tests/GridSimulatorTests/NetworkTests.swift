import ChainCore
import GridCore
import HummingbirdWSClient
import Logging
import Foundation
import XCTest

@testable import GridSimulator

/// Messages received on one test connection, taken out by predicate with a deadline.
actor Inbox {
    private var messages: [JSON] = []
    private(set) var closed = false

    func push(_ j: JSON) { messages.append(j) }
    func close() { closed = true }
    func take(where p: @Sendable (JSON) -> Bool) -> JSON? {
        guard let i = messages.firstIndex(where: p) else { return nil }
        return messages.remove(at: i)
    }

    func wait(timeout: Duration = .seconds(3), _ p: @escaping @Sendable (JSON) -> Bool) async throws -> JSON {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let j = take(where: p) { return j }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw TestError.timeout
    }

    func reply(to id: Int) async throws -> JSON { try await wait { $0["id"] == .int(id) } }
}

enum TestError: Error { case timeout }

/// Runs `body` on a WebSocket connection to `url`; errors thrown inside are rethrown here.
func withWebSocket(_ url: String,
                   _ body: @escaping @Sendable (WebSocketOutboundWriter, Inbox) async throws -> Void) async throws {
    let failure = Locked<(any Error)?>(nil)
    let ran = Locked(false)
    let logger = Logger(label: "test-ws", factory: { _ in SwiftLogNoOpLogHandler() })
    try await WebSocketClient.connect(url: url, logger: logger) { inbound, outbound, _ in
        let inbox = Inbox()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await m in inbound.messages(maxSize: 1 << 24) {
                        if case .text(let s) = m, let j = try? JSON.parse(s) { await inbox.push(j) }
                    }
                } catch {}
                await inbox.close()
            }
            do { try await body(outbound, inbox) } catch { failure.withLock { $0 = error } }
            ran.withLock { $0 = true }
            group.cancelAll()
        }
    }
    if let e = failure.withLock({ $0 }) { throw e }
    XCTAssertTrue(ran.withLock { $0 }, "the handler did not run")
}

func send(_ out: WebSocketOutboundWriter, _ j: JSON) async throws { try await out.write(.text(j.serialized())) }

final class NetworkTests: XCTestCase {
    func fastConfig(seed: UInt64 = 5) -> SimulationConfig {
        var c = SimulationConfig()
        c.nodes = 2
        c.blockTime = .milliseconds(100)
        c.intervalEvery = .milliseconds(300)
        c.theftAfter = .seconds(1)
        c.seed = seed
        return c
    }

    func testTwoNodesServeTheSameChain() async throws {
        try await withNetwork(fastConfig()) { _, urls in
        XCTAssertEqual(urls.count, 2)
        XCTAssert(urls.allSatisfy { $0.hasPrefix("ws://127.0.0.1:") })
        XCTAssertNotEqual(urls[0], urls[1])

        try await withWebSocket(urls[0]) { out, inbox in
            try await send(out, JSONRPC.request(id: 1, method: "eth_chainId", params: []))
            let r = try await inbox.reply(to: 1)
            XCTAssertEqual(r["result"], "0x47524944")
            XCTAssertEqual(r["jsonrpc"], "2.0")

            // Batch.
            let batch: JSON = [JSONRPC.request(id: 2, method: "net_version", params: []),
                               JSONRPC.request(id: 3, method: "net_peerCount", params: []),
                               JSONRPC.request(id: 4, method: "web3_clientVersion", params: [])]
            try await send(out, batch)
            let b = try await inbox.wait { $0.arrayValue != nil }
            XCTAssertEqual(b.arrayValue?.map { $0["id"] }, [2, 3, 4])
            XCTAssertEqual(b[0]?["result"], "1196575044")
            XCTAssertEqual(b[1]?["result"], "0x1")
            XCTAssertEqual(b[2]?["result"], "gridtop-sim/0.1 (SIMULATED)")

            // Unknown method and invalid JSON.
            try await send(out, JSONRPC.request(id: 5, method: "eth_mining", params: []))
            let e = try await inbox.reply(to: 5)
            XCTAssertEqual(e["error"]?["code"], -32601)
            XCTAssertEqual(e["error"]?["message"], "the method eth_mining does not exist/is not available")
            try await out.write(.text("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":"))
            let p = try await inbox.wait { $0["error"]?["code"] == -32700 }
            XCTAssertEqual(p["id"], .null)
        }
        }
    }

    func testNewHeadsAndLogsSubscriptions() async throws {
        try await withNetwork(fastConfig()) { _, urls in try await withWebSocket(urls[1]) { out, inbox in
            try await send(out, JSONRPC.request(id: 1, method: "eth_subscribe", params: ["newHeads"]))
            let subReply = try await inbox.reply(to: 1)
            let sub = try XCTUnwrap(subReply["result"]?.stringValue)
            XCTAssertEqual(sub.count, 34)
            var last: UInt64? = nil
            for _ in 0..<3 {
                let n = try await inbox.wait { $0["method"] == "eth_subscription" }
                XCTAssertEqual(Set(n.objectValue!.keys), ["jsonrpc", "method", "params"])
                XCTAssertEqual(n["jsonrpc"], "2.0")
                XCTAssertEqual(Set(n["params"]!.objectValue!.keys), ["subscription", "result"])
                XCTAssertEqual(n["params"]?["subscription"], .string(sub))
                let head = try XCTUnwrap(n["params"]?["result"])
                XCTAssertNil(head["transactions"])
                let h = try BlockHeader(json: head)
                if let last { XCTAssertEqual(h.number, last + 1) }
                last = h.number
            }
            try await send(out, JSONRPC.request(id: 2, method: "eth_unsubscribe", params: [.string(sub)]))
            let unsub = try await inbox.reply(to: 2)
            XCTAssertEqual(unsub["result"], true)

            // Logs: wait for the first interval's readings (after registrations in blocks 1–4).
            try await send(out, JSONRPC.request(id: 3, method: "eth_subscribe", params: [
                "logs", ["address": .string(SimulatedNetwork.meteringContract.hex),
                         "topics": [.string(LedgerSchemaV1.meterReadingTopic.hex)]]]))
            let logReply = try await inbox.reply(to: 3)
            let logSub = try XCTUnwrap(logReply["result"]?.stringValue)
            let n = try await inbox.wait { $0["params"]?["subscription"] == .string(logSub) }
            let log = try Log(json: try XCTUnwrap(n["params"]?["result"]))
            XCTAssertEqual(n["params"]?["result"]?["removed"], false)
            guard case .meterReading(let r) = try LedgerSchemaV1.decode(log) else { return XCTFail("not a reading") }
            XCTAssertEqual(r.intervalSeconds, 900)
            XCTAssertEqual((r.intervalStart - SimulationConfig.epoch) % 900, 0)
        } }
    }

    /// Starts a network, runs `body`, and stops it even when `body` throws.
    func withNetwork(_ c: SimulationConfig, _ body: (SimulatedNetwork, [String]) async throws -> Void) async throws {
        let net = SimulatedNetwork(config: c)
        let urls = try await net.start()
        do { try await body(net, urls) } catch { await net.stop(); throw error }
        await net.stop()
    }

    func testGetLogsOverHTTPAndWebSocketAfterReadings() async throws {
        try await withNetwork(fastConfig()) { net, urls in
        // Wait until interval 0 is on chain (0.3 s + up to 3 blocks).
        let deadline = ContinuousClock.now + .seconds(3)
        while (net.ledger?.headNumber ?? 0) < 9, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try await withWebSocket(urls[0]) { out, inbox in
            let tx = Bytes32.asset(code: "TX-0003")
            try await send(out, JSONRPC.request(id: 1, method: "eth_getLogs", params: [[
                "fromBlock": "earliest", "toBlock": "latest",
                "topics": [[.string(LedgerSchemaV1.meterReadingTopic.hex), .string(LedgerSchemaV1.assetRegisteredTopic.hex)],
                           .string(tx.hex)]]]))
            let logsReply = try await inbox.reply(to: 1)
            let logs = try XCTUnwrap(logsReply["result"]?.arrayValue).map { try Log(json: $0) }
            let events = try logs.map { try LedgerSchemaV1.decode($0) }
            guard case .assetRegistered(let reg) = try XCTUnwrap(events.first) else { return XCTFail("registration first") }
            XCTAssertEqual(reg.asset, tx)
            XCTAssertEqual(reg.stage, .transformer)
            XCTAssert(events.dropFirst().allSatisfy { if case .meterReading(let m) = $0 { m.asset == tx } else { false } })
            XCTAssertGreaterThanOrEqual(events.count, 2)

            try await send(out, JSONRPC.request(id: 2, method: "eth_getLogs", params: [["fromBlock": "0x9", "toBlock": "0x3"]]))
            let rangeReply = try await inbox.reply(to: 2)
            XCTAssertEqual(rangeReply["error"]?["message"], "invalid block range params")
        }
        // Plain HTTP POST on the same port and path.
        let port = try XCTUnwrap(urls[0].split(separator: ":").last.flatMap { Int($0) })
        let reply = try httpPost(port: port, body: JSONRPC.request(id: 9, method: "eth_blockNumber", params: []).serialized())
        let j = try JSON.parse(reply)
        XCTAssertEqual(j["id"], 9)
        XCTAssertGreaterThanOrEqual(j["result"]?.quantity ?? 0, 9)
        }
    }

    func testStopFreesThePortsPromptly() async throws {
        let net = SimulatedNetwork(config: fastConfig())
        let urls = try await net.start()
        let ports = urls.compactMap { $0.split(separator: ":").last.flatMap { Int($0) } }
        // An open subscription must not keep the server alive.
        let connected = expectation(description: "connected")
        let client = Task {
            try await withWebSocket(urls[0]) { out, inbox in
                try await send(out, JSONRPC.request(id: 1, method: "eth_subscribe", params: ["newHeads"]))
                _ = try await inbox.reply(to: 1)
                connected.fulfill()
                while !(await inbox.closed) { try await Task.sleep(for: .milliseconds(10)) }
            }
        }
        await fulfillment(of: [connected], timeout: 3)
        let t0 = ContinuousClock.now
        await net.stop()
        XCTAssertLessThan(ContinuousClock.now - t0, .seconds(2), "stop() must return promptly")
        _ = try? await client.value  // the server closed the connection
        XCTAssertThrowsError(try httpPost(port: ports[0], body: "{}"), "port \(ports[0]) still accepts connections")

        // The same ports can be bound again.
        var c = fastConfig()
        c.basePort = ports[0]
        c.nodes = 1
        let again = SimulatedNetwork(config: c)
        let urls2 = try await again.start()
        XCTAssertEqual(urls2, ["ws://127.0.0.1:\(ports[0])"])
        await again.stop()
    }

    func testGroundTruthFile() async throws {
        let net = SimulatedNetwork(config: fastConfig(seed: 9))
        let path = NSTemporaryDirectory() + "gridtop-gt-\(UInt32.random(in: 0...UInt32.max)).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try net.writeGroundTruth(to: path)
        let json = try JSON.parse(try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(json["schema"], 1)
        XCTAssertEqual(json["seed"], 9)
        // theftAfter 1 s / intervalEvery 0.3 s: interval 3 (completes at 1.2 s) is the first stolen.
        XCTAssertEqual(json["incidents"]?[0]?["fromInterval"], .number(String(SimulationConfig.epoch + 3 * 900)))
        XCTAssertEqual(net.groundTruth.incidents[0].asset.hex, json["incidents"]?[0]?["asset"]?.stringValue)
    }
}

/// A minimal blocking HTTP/1.1 POST over a POSIX socket (no extra dependencies).
func httpPost(port: Int, body: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var tv = timeval(tv_sec: 3, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
    let request = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    var data = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        data += buf[0..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { throw POSIXError(.EBADMSG) }
    return String(text[split.upperBound...])
}
