import ChainCore
import Foundation
import XCTest

/// Temporary XDG folders, so no test writes the user's real home.
final class TempHome: @unchecked Sendable {
    let dir: URL
    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-evm-\(UUID().uuidString)")
        for sub in ["config", "data", "state", "cache"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
    }
    deinit { try? FileManager.default.removeItem(at: dir) }
    var environment: [String: String] {
        ["XDG_CONFIG_HOME": dir.appendingPathComponent("config").path, "XDG_DATA_HOME": dir.appendingPathComponent("data").path,
         "XDG_STATE_HOME": dir.appendingPathComponent("state").path, "XDG_CACHE_HOME": dir.appendingPathComponent("cache").path]
    }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
}

/// `gridtop alerts --json --state-json PATH` as a child process: its alarm transitions and its state.
final class GridtopAlerts: @unchecked Sendable {
    let child: ChildProcess
    let statePath: String

    init(_ arguments: [String], home: TempHome, name: String = "state-\(UUID().uuidString).json") throws {
        statePath = home.path(name)
        // The node is a test chain with one metering contract per test: a run that names none
        // believes every contract, said explicitly (`--any-contract`), as the trust boundary requires.
        let trust = arguments.contains("--contract") ? [] : ["--any-contract"]
        child = ChildProcess(try Self.binary(), ["alerts", "--json", "--state-json", statePath] + trust + arguments, environment: home.environment)
        try child.start()
    }

    /// The gridtop under test: the one built beside the tests, or `GRIDTOP_BINARY` (e.g. an older
    /// build, to measure a behaviour before a change).
    static func binary() throws -> URL {
        if let p = ProcessInfo.processInfo.environment["GRIDTOP_BINARY"], !p.isEmpty { return URL(fileURLWithPath: p) }
        return try gridtopBinary()
    }

    /// A full audit of `0...head` (a fresh gridtop over the chain as it is now).
    static func audit(_ node: String, home: TempHome, extra: [String] = []) throws -> (status: Int32?, transitions: [JSON], state: JSON) {
        let run = try GridtopAlerts(["--node", node, "--from-block", "0", "--to-block", "head"] + extra, home: home)
        let status = run.child.waitForExit(timeout: 120)
        return (status, try run.transitions(), try run.state() ?? .null)
    }

    func transitions() throws -> [JSON] { try child.outputLines.map { try JSON.parse($0) } }

    func state() throws -> JSON? {
        guard let text = try? String(contentsOfFile: statePath, encoding: .utf8) else { return nil }
        return try JSON.parse(text)
    }

    /// Waits until the state file shows `hash` as the head (the block and everything before it applied).
    func waitForHead(_ hash: String, timeout: TimeInterval = 60) throws -> JSON {
        let deadline = Date().addingTimeInterval(timeout)
        var last: JSON?
        while Date() < deadline {
            if let s = try? state() {
                last = s
                if s["headHash"]?.stringValue == hash { return s }
            }
            if !child.process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw EVMNode.Failure(description: "gridtop did not reach head \(hash) in \(Int(timeout)) s (state head \(last?["head"]?.serialized() ?? "none")); stderr: \(child.standardError.suffix(3000))")
    }

    /// Interrupts the live run (SIGINT): a live `alerts` ends with 130, the signal's status.
    func stop() -> Int32? {
        child.interrupt()
        return child.waitForExit(timeout: 20)
    }
}

/// Helpers over the state JSON of `--state-json`.
extension JSON {
    var activeAlarmKeys: [String] {
        (self["activeAlarms"]?.arrayValue ?? []).map { "\($0["kind"]?.stringValue ?? "?") \($0["asset"]?.stringValue ?? "?")" }
    }

    func balance(_ segment: String, _ interval: UInt64) -> JSON? {
        self["balances"]?.arrayValue?.first { $0["segment"]?.stringValue == segment && $0["interval"]?.intValue == Int(interval) }
    }

    /// Everything an operator acts on, without the evidence locations (compared separately).
    var comparable: JSON {
        .object(["head": self["head"] ?? .null, "headHash": self["headHash"] ?? .null,
                 "settledInterval": self["settledInterval"] ?? .null, "activeAlarms": self["activeAlarms"] ?? .null,
                 "stages": self["stages"] ?? .null, "balances": self["balances"] ?? .null,
                 "assets": self["assets"] ?? .null, "readings": self["readings"] ?? .null, "transfers": self["transfers"] ?? .null])
    }
}

/// Where two states differ, in a few lines (for failure messages).
func stateDifferences(_ live: JSON, _ fresh: JSON) -> [String] {
    var out: [String] = []
    for key in ["head", "headHash", "settledInterval", "assets", "readings", "transfers"] where live[key] != fresh[key] {
        out.append("\(key): live \(live[key]?.serialized() ?? "nil") fresh \(fresh[key]?.serialized() ?? "nil")")
    }
    if live.activeAlarmKeys != fresh.activeAlarmKeys || live["activeAlarms"] != fresh["activeAlarms"] {
        out.append("active alarms: live \(live["activeAlarms"]?.serialized() ?? "") fresh \(fresh["activeAlarms"]?.serialized() ?? "")")
    }
    if live["stages"] != fresh["stages"] {
        out.append("stages: live \(live["stages"]?.serialized() ?? "") fresh \(fresh["stages"]?.serialized() ?? "")")
    }
    let lb = live["balances"]?.arrayValue ?? [], fb = fresh["balances"]?.arrayValue ?? []
    if lb != fb {
        let ls = Set(lb.map { $0.serialized() }), fs = Set(fb.map { $0.serialized() })
        let onlyLive = lb.filter { !fs.contains($0.serialized()) }.prefix(4).map { $0.serialized() }
        let onlyFresh = fb.filter { !ls.contains($0.serialized()) }.prefix(4).map { $0.serialized() }
        out.append("balances (\(lb.count) live, \(fb.count) fresh): only live \(onlyLive), only fresh \(onlyFresh)")
    }
    return out
}
