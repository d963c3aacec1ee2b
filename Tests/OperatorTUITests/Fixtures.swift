import Alerts
import ChainCore
import GridCore
@testable import OperatorTUI

/// A fixed snapshot: the same screen every time.
enum Fixtures {
    static let now: Double = 1_777_640_000  // 2026-05-01 13:33:20 UTC

    static func bytes32(_ seed: UInt64) -> Bytes32 {
        Bytes32(w0: 0xbe92_0000_0000_0000 | seed, w1: seed &* 0x9E37_79B9_7F4A_7C15, w2: seed, w3: 0xf246 | seed << 16)
    }

    static func address(_ seed: UInt8) -> Address {
        try! Address(bytes: (0..<20).map { UInt8(truncatingIfNeeded: Int(seed) &* 17 &+ $0 &* 13) })
    }

    static func snapshot(simulated: Bool = true, alarms: [Alarm]? = nil) -> MonitorSnapshot {
        let head = BlockHeader(number: 8_123_456, hash: bytes32(1), parentHash: bytes32(2), timestamp: 1_777_639_996,
                               miner: address(1))
        let nodes = [
            NodeStatus(name: "validator-1", endpoint: "ws://127.0.0.1:8546", connection: .connected, trust: .verified,
                       chainId: 1337, headNumber: 8_123_456, lag: 0, latencyMedianMs: 3.2, latencyP99Ms: 11.7, peerCount: 3,
                       syncing: false, clientVersion: "besu/v25.4.1/linux-x86_64/openjdk-java-21"),
            NodeStatus(name: "validator-2", endpoint: "ws://127.0.0.1:8547", connection: .connected, trust: .verified,
                       chainId: 1337, headNumber: 8_123_456, lag: 0, latencyMedianMs: 4.0, latencyP99Ms: 15.1, peerCount: 3,
                       clientVersion: "Nethermind/v1.31.0+a2b3c4d5/linux-x64/dotnet9.0.1"),
            NodeStatus(name: "validator-3", endpoint: "ws://127.0.0.1:8548", connection: .connected, trust: .divergent,
                       chainId: 1337, headNumber: 8_123_455, lag: 1, latencyMedianMs: 5.5, latencyP99Ms: 40.2, peerCount: 2,
                       clientVersion: "Geth/v1.15.0-stable\u{1B}]0;pwned\u{07}/linux-amd64/go1.24"),
            NodeStatus(name: "validator-4", endpoint: "ws://127.0.0.1:8549", connection: .disconnected,
                       lastError: "connection refused\u{1B}[2J (errno 111)"),
        ]
        let stages = [
            StageFlow(stage: .generation, assets: 4, reporting: 4, importWh: 0, exportWh: 48_250_000, lossWh: 0, unaccountedWh: 0),
            StageFlow(stage: .transmission, assets: 6, reporting: 6, importWh: 48_250_000, exportWh: 47_310_500, lossWh: 940_000, unaccountedWh: -500),
            StageFlow(stage: .substation, assets: 3, reporting: 3, importWh: 47_310_500, exportWh: 47_120_000, lossWh: 190_000, unaccountedWh: 500),
            StageFlow(stage: .feeder, assets: 12, reporting: 11, importWh: 47_120_000, exportWh: 46_300_000, lossWh: 700_000, unaccountedWh: 120_000),
            StageFlow(stage: .transformer, assets: 40, reporting: 40, importWh: 46_300_000, exportWh: 45_900_000, lossWh: 400_000, unaccountedWh: 0),
            StageFlow(stage: .consumer, assets: 1200, reporting: 1187, importWh: 44_100_000, exportWh: 0, lossWh: 0, unaccountedWh: 1_800_000),
        ]
        let blocks = (0..<12).map { i in
            BlockRow(number: 8_123_456 - UInt64(i), hash: bytes32(UInt64(100 + i)), proposer: address(UInt8(i % 4 + 1)),
                     timestamp: 1_777_639_996 - UInt64(i) * 2, readings: 1247 - i * 3, registrations: i == 2 ? 1 : 0,
                     transfers: 14 + i, rejected: i == 1 ? 2 : 0)
        }
        let asset = Bytes32.asset(code: "F-12/T-07")
        let defaultAlarms = [
            Alarm(id: 3, kind: .staleMeter, asset: asset, assetName: "meter 0042 Rua das Flores", stage: .consumer,
                  priority: .low, active: true, acknowledged: true, raisedAt: now - 4000, changedAt: now - 3000,
                  interval: nil, message: "no reading for 4 intervals", count: 1, origin: nil),
            Alarm(id: 1, kind: .suspectedTheft, asset: asset, assetName: "TX-07 \u{202E}evil\u{202C} Vila 北区",
                  stage: .transformer, priority: .high, active: true, acknowledged: false, raisedAt: now - 125,
                  changedAt: now - 125, interval: 1_777_638_600,
                  message: "1.800 MWh entered the segment that no downstream meter saw", count: 3, origin: nil),
            Alarm(id: 2, kind: .consensusStall, asset: asset, assetName: "chain", stage: .generation, priority: .critical,
                  active: false, acknowledged: false, raisedAt: now - 700, changedAt: now - 60, interval: nil,
                  message: "no block for 45 s", count: 1, origin: nil),
            Alarm(id: 4, kind: .transferMismatch, asset: asset, assetName: "prosumer 17", stage: .consumer,
                  priority: .medium, active: true, acknowledged: false, raisedAt: now - 30, changedAt: now - 30,
                  interval: 1_777_638_600, message: "sold 12.4 kWh, exported 9.1 kWh", count: 1, origin: nil),
        ]
        return MonitorSnapshot(chainId: 1337, simulated: simulated, head: head, headSeenAt: now - 3.4, nodes: nodes,
                               settledInterval: 1_777_638_600, intervalSeconds: 900, stages: stages,
                               recentBlocks: blocks, alarms: alarms ?? defaultAlarms,
                               warnings: ["validator-4 unreachable: connection refused", "ABI: 2 logs rejected in #8123455"],
                               now: now)
    }

    static func render(width: Int, height: Int, snapshot: MonitorSnapshot = snapshot(),
                       options: RenderOptions = RenderOptions()) -> CellBuffer {
        var buf = CellBuffer(width: width, height: height)
        DashboardView.render(snapshot: snapshot, into: &buf, options: options)
        return buf
    }
}
