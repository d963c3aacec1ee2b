// The simulated grid at scale (issue 4): building the 1,000,000-consumer grid, one
// interval's generation, and how long `gridtop sim --consumers 1000000` takes to serve
// its first interval over JSON-RPC.
import ChainCore
import Foundation
import GridCore
import GridSimulator
#if canImport(Glibc)
import Glibc
#endif

@MainActor func simulatorBenchmarks(quick: Bool) async throws {
    let n = quick ? 100_000 : 1_000_000
    let r = SimulatorBenchmarks.grid(consumers: n, repetitions: quick ? 3 : 5)
    report("simulator: build the \(r.consumers)-consumer grid (\(r.transformers) transformers, \(r.feeders) feeders, \(r.substations) substations, \(r.generators) generators)",
           String(format: "%.2f s CPU (%.2f s wall)", r.buildCPUSeconds, r.buildSeconds), target: "seconds")
    let cpu = r.intervalCPUSeconds.map { String(format: "%.2f", $0) }.joined(separator: ", ")
    report("simulator: one interval, \(r.readingsPerInterval) readings delivered (1 core, median of \(r.intervalSeconds.count))",
           String(format: "median %.2f s CPU (%.2f s wall; CPU runs: %@ s)", r.medianIntervalCPUSeconds, r.medianIntervalSeconds, cpu),
           target: "≤ 5 s")

    do {
        let s = try await simulatorStartup(consumers: n)
        report("gridtop sim --consumers \(n): grid built / nodes serving / first readings of interval 0 / interval 0 complete (block time 1 s, interval every 5 s)",
               String(format: "%.1f s / %.1f s / %.1f s / %.1f s (registrations in %llu blocks)",
                      s.built, s.serving, s.firstReadings, s.intervalComplete, s.registrationBlocks))
    } catch {
        report("gridtop sim --consumers \(n): time to serve interval 0", "failed: \(error)")
    }
}

/// Starts the simulated network as `gridtop sim` does (one node, default block and interval
/// times) and polls it over HTTP JSON-RPC until interval 0's readings are served: the first
/// consumers' readings (the first concentrator's batch) and GEN-1's (the SCADA batch, last).
func simulatorStartup(consumers: Int) async throws
    -> (built: Double, serving: Double, firstReadings: Double, intervalComplete: Double, registrationBlocks: UInt64) {
    var c = SimulationConfig()
    c.consumers = consumers
    c.nodes = 1
    c.theftAfter = .seconds(3600)
    let clock = ContinuousClock()
    let t0 = clock.now
    func since() -> Double { let d = clock.now - t0; return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
    let net = SimulatedNetwork(config: c)
    let built = since()
    let urls = try await net.start()
    let serving = since()
    defer { Task { await net.stop() } }
    guard let port = urls.first?.split(separator: ":").last.flatMap({ Int($0) }) else { throw BenchError.noPort }
    let firstConsumers = (1...3).map { AssetID.asset(code: "C-0000\($0)") }
    let scada = AssetID.asset(code: "GEN-1")
    var from: UInt64 = 0
    var first: Double?, complete: Double?
    var registrationBlocks: UInt64 = 0
    while complete == nil, since() < 900 {
        try await Task.sleep(for: .milliseconds(250))
        // A busy node may time out or drop a connection: try again at the next poll.
        guard let head = (try? rpc(port, "eth_blockNumber", []))?.quantity else { continue }
        if head >= from {
            guard let logs = try? rpc(port, "eth_getLogs", [[
                "fromBlock": .string(Hex.quantity(from)), "toBlock": .string(Hex.quantity(head)),
                "topics": [.string(LedgerSchemaV1.meterReadingTopic.hex), .array((firstConsumers + [scada]).map { .string($0.hex) })],
            ]]) else { continue }
            for l in logs.arrayValue ?? [] {
                guard let log = try? Log(json: l), case .meterReading(let m)? = try? LedgerSchemaV1.decode(log) else { continue }
                if m.asset == scada { complete = complete ?? since() } else if first == nil {
                    first = since()
                    print(String(format: "  (first readings of interval 0 served after %.1f s)", first!))
                }
                if registrationBlocks == 0 { registrationBlocks = log.blockNumber - 1 }
            }
            from = head + 1
        }
    }
    guard let first, let complete else { throw BenchError.timeout }
    return (built, serving, first, complete, registrationBlocks)
}

enum BenchError: Error { case noPort, timeout, http }

/// One JSON-RPC call as an HTTP/1.1 POST on loopback (blocking; the network runs on other threads).
func rpc(_ port: Int, _ method: String, _ params: [JSON]) throws -> JSON {
    let body = JSONRPC.request(id: 1, method: method, params: params).serialized()
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchError.http }
    defer { close(fd) }
    var tv = timeval(tv_sec: 120, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw BenchError.http }
    let request = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    var data = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        data += buf[0..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { throw BenchError.http }
    let reply = try JSON.parse(String(text[split.upperBound...]))
    guard let result = reply["result"] else { throw BenchError.http }
    return result
}
