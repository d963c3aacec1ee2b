import ChainCore
import Foundation
import XCTest

/// The package's root folder (for the test tooling beside the sources).
func packageRoot(file: StaticString = #filePath) -> URL {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// A real EVM (py-evm through eth-tester) served as a geth-like JSON-RPC node on loopback
/// (Tests/evm-node/evm_node.py), driven over its stdin/stdout control channel.
final class EVMNode: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private let lock = NSLock()
    private var buffer = Data()
    private var lines: [String] = []
    private var errText = Data()
    private(set) var wsURL = ""
    private(set) var httpURL = ""
    private(set) var chainId: UInt64 = 0
    private(set) var accounts: [String] = []

    init() throws {
        let root = packageRoot()
        let python = root.appendingPathComponent(".build/evm-venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw Failure(description: "the py-evm test venv is missing: run scripts/evm-venv.sh (make test does)")
        }
        process.executableURL = python
        process.arguments = [root.appendingPathComponent("Tests/evm-node/evm_node.py").path]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        output.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.lock()
            self.buffer.append(d)
            while let nl = self.buffer.firstIndex(of: 0x0a) {
                self.lines.append(String(decoding: self.buffer[self.buffer.startIndex..<nl], as: UTF8.self))
                self.buffer.removeSubrange(self.buffer.startIndex...nl)
            }
            self.lock.unlock()
        }
        errors.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.lock()
            self.errText.append(d)
            self.lock.unlock()
        }
        try process.run()
        let ready = try nextLine(timeout: 60)
        guard let r = ready["ready"], let ws = r["ws"]?.stringValue, let http = r["http"]?.stringValue else {
            throw Failure(description: "evm node did not start: \(ready.serialized()) \(standardError)")
        }
        wsURL = ws
        httpURL = http
        chainId = r["chainId"]?.quantity ?? UInt64(r["chainId"]?.intValue ?? 0)
        accounts = r["accounts"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            try? input.fileHandleForWriting.close()
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    var standardError: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: errText, as: UTF8.self)
    }

    private func nextLine(timeout: TimeInterval) throws -> JSON {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            lock.lock()
            let line = lines.isEmpty ? nil : lines.removeFirst()
            lock.unlock()
            if let line { return try JSON.parse(line) }
            if !process.isRunning { throw Failure(description: "evm node exited: \(standardError)") }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw Failure(description: "evm node did not answer within \(Int(timeout)) s: \(standardError.suffix(2000))")
    }

    /// Sends one control command; returns its `ok` value or throws its error.
    @discardableResult
    func command(_ name: String, _ fields: [String: JSON] = [:], timeout: TimeInterval = 120) throws -> JSON {
        var o = fields
        o["cmd"] = .string(name)
        input.fileHandleForWriting.write(Data((JSON.object(o).serialized() + "\n").utf8))
        let answer = try nextLine(timeout: timeout)
        if let e = answer["error"]?.stringValue { throw Failure(description: "evm node: \(name): \(e)") }
        return answer["ok"] ?? .null
    }

    /// Deploys the schema v1 metering contract from account `sender`; returns its address.
    func deploy(sender: Int = 0) throws -> String {
        try XCTUnwrap(command("deploy", ["sender": .int(sender)])["contract"]?.stringValue)
    }

    struct MinedBlock { let number: UInt64; let hash: String; let logs: Int }

    private func blocks(_ j: JSON, _ key: String = "blocks") -> [MinedBlock] {
        (j[key]?.arrayValue ?? []).map {
            MinedBlock(number: UInt64($0["number"]?.intValue ?? -1), hash: $0["hash"]?.stringValue ?? "", logs: $0["logs"]?.intValue ?? 0)
        }
    }

    /// Mines one block per list of events (one transaction per event), announcing each.
    @discardableResult
    func mine(_ blockEvents: [[JSON]], contract: String? = nil, sender: Int? = nil, notify: Bool = true) throws -> [MinedBlock] {
        var f: [String: JSON] = ["blocks": .array(blockEvents.map { .array($0) }), "notify": .bool(notify)]
        if let contract { f["contract"] = .string(contract) }
        if let sender { f["sender"] = .int(sender) }
        return blocks(try command("mine", f))
    }

    func snapshot() throws -> Int { try XCTUnwrap(command("snapshot")["snapshot"]?.intValue) }

    /// Reverts to `snapshot` and mines `blockEvents` as a longer branch, announced like geth.
    @discardableResult
    func reorg(to snapshot: Int, _ blockEvents: [[JSON]]) throws -> (dropped: [MinedBlock], mined: [MinedBlock]) {
        let j = try command("reorg", ["snapshot": .int(snapshot), "blocks": .array(blockEvents.map { .array($0) })])
        return (blocks(j, "dropped"), blocks(j))
    }

    func head() throws -> (number: UInt64, hash: String) {
        let j = try command("head")
        return (UInt64(j["number"]?.intValue ?? -1), j["hash"]?.stringValue ?? "")
    }

    /// A JSON-RPC call answered by the node itself (the same code path its HTTP and WebSocket use).
    func rpc(_ method: String, _ params: [JSON]) throws -> JSON {
        let j = try command("rpc", ["method": .string(method), "params": .array(params)])
        return j
    }
}

/// A small radial grid, as the schema v1 describes one, with readings that balance up to
/// realistic technical losses; a theft hides part of one consumer's use from its meter.
struct TestGrid {
    struct Node { let code: String; let parent: String?; let stage: Int; let ratedKw: Int; let name: String }
    static let intervalSeconds = 900
    /// 2026-11-02T00:00Z: every interval starts on a quarter hour.
    static let firstInterval: UInt64 = 1_793_577_600

    let nodes: [Node] = [
        Node(code: "GSP-1", parent: nil, stage: 1, ratedKw: 40_000, name: "Grid supply point GSP-1"),
        Node(code: "GEN-1", parent: "GSP-1", stage: 0, ratedKw: 20_000, name: "Wind farm GEN-1"),
        Node(code: "SUB-1", parent: "GSP-1", stage: 2, ratedKw: 10_000, name: "Substation SUB-1 Riverside"),
        Node(code: "FDR-1", parent: "SUB-1", stage: 3, ratedKw: 2_000, name: "Feeder FDR-1"),
        Node(code: "TX-A", parent: "FDR-1", stage: 4, ratedKw: 400, name: "Transformer TX-A Elm St"),
        Node(code: "TX-B", parent: "FDR-1", stage: 4, ratedKw: 400, name: "Transformer TX-B Oak Ave"),
        Node(code: "C-A1", parent: "TX-A", stage: 5, ratedKw: 15, name: "Consumer C-A1"),
        Node(code: "C-A2", parent: "TX-A", stage: 5, ratedKw: 15, name: "Consumer C-A2"),
        Node(code: "C-A3", parent: "TX-A", stage: 5, ratedKw: 15, name: "Consumer C-A3"),
        Node(code: "C-B1", parent: "TX-B", stage: 5, ratedKw: 15, name: "Consumer C-B1"),
        Node(code: "C-B2", parent: "TX-B", stage: 5, ratedKw: 15, name: "Consumer C-B2"),
        Node(code: "C-B3", parent: "TX-B", stage: 5, ratedKw: 15, name: "Consumer C-B3"),
    ]

    static func id(_ code: String) -> String { Keccak256.bytes32(code).hex }
    static func interval(_ k: Int) -> UInt64 { firstInterval + UInt64(k * intervalSeconds) }

    var registrations: [JSON] {
        nodes.map { n in
            .object(["type": .string("register"), "asset": .string(Self.id(n.code)),
                     "parent": .string(n.parent.map(Self.id) ?? Bytes32.zero.hex), "stage": .int(n.stage),
                     "ratedKw": .int(n.ratedKw), "name": .string(n.name)])
        }
    }

    /// A theft: the consumer's meter records only `(1 - hidden)` of what it takes.
    struct Theft { var consumer: String; var hidden: Double }

    /// What every meter records in interval `k`, physically consistent: each consumer's use
    /// varies over the day; transformers lose 3 % plus 12 Wh no-load, the feeder 1.2 %, the
    /// substation 0.5 %, the supply point 0.2 %. `bias` shifts every consumer's use (Wh), so two
    /// branches of a reorg can carry different figures for the same interval.
    func readings(_ k: Int, theft: Theft? = nil, bias: Int = 0) -> [String: (imp: UInt64, exp: UInt64)] {
        var out: [String: (imp: UInt64, exp: UInt64)] = [:]
        var txTrue: [String: Double] = [:]
        for (i, n) in nodes.enumerated() where n.stage == 5 {
            let phase = Double(k % 96) / 96 * 2 * Double.pi
            let use = 900 + 120 * Double(i) + 350 * sin(phase + Double(i)) + Double(bias)  // Wh in 15 min
            let recorded = theft?.consumer == n.code ? use * (1 - theft!.hidden) : use
            out[n.code] = (UInt64(recorded.rounded()), 0)
            txTrue[n.parent!, default: 0] += use
        }
        var fdr = 0.0
        for (tx, sum) in txTrue.sorted(by: { $0.key < $1.key }) {
            let imp = sum * 1.03 + 12
            out[tx] = (UInt64(imp.rounded()), 0)
            fdr += imp
        }
        let fdrImp = fdr * 1.012
        out["FDR-1"] = (UInt64(fdrImp.rounded()), 0)
        let subImp = fdrImp * 1.005
        out["SUB-1"] = (UInt64(subImp.rounded()), 0)
        out["GEN-1"] = (0, UInt64((subImp * 1.002).rounded()))
        return out
    }

    /// The interval's readings as events (in a fixed order), and a P2P trade that the meters cover.
    func events(_ k: Int, theft: Theft? = nil, bias: Int = 0) -> [JSON] {
        let r = readings(k, theft: theft, bias: bias)
        var out: [JSON] = []
        for n in nodes where n.parent != nil {
            let v = r[n.code]!
            out.append(.object(["type": .string("reading"), "asset": .string(Self.id(n.code)), "interval": .number(String(Self.interval(k))),
                                "seconds": .int(Self.intervalSeconds), "importWh": .number(String(v.imp)), "exportWh": .number(String(v.exp))]))
        }
        // C-B1 buys part of its use from the wind farm: well within both meters.
        out.append(.object(["type": .string("transfer"), "from": .string(Self.id("GEN-1")), "to": .string(Self.id("C-B1")),
                            "interval": .number(String(Self.interval(k))), "wh": .number(String(r["C-B1"]!.imp / 2)),
                            "price": .int(95_000)]))
        return out
    }

    static let metersPerInterval = 11
}
