import Foundation
import XCTest

/// Finds the `gridtop` binary built beside the test bundle.
func gridtopBinary(file: StaticString = #filePath) throws -> URL {
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("gridtop")
    if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
    let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let debug = root.appendingPathComponent(".build/debug/gridtop")
    if FileManager.default.isExecutableFile(atPath: debug.path) { return debug }
    struct NotBuilt: Error, CustomStringConvertible {
        var description: String { "the gridtop binary was not found next to the tests; run `swift build --product gridtop`" }
    }
    throw NotBuilt()
}

/// A child process whose stdout is read line by line.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let out = Pipe()
    private let err = Pipe()
    private let lock = NSLock()
    private var buffer = Data()
    private var lines: [String] = []
    private var errText = Data()

    init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) {
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        // Never the user's real home: config, journals and logs go to this run's scratch folders
        // unless the test gives its own.
        for k in ["XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"] { env[k] = ChildProcess.scratch + "/" + k.lowercased() }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = out
        process.standardError = err
        out.fileHandleForReading.readabilityHandler = { [weak self] h in
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
        err.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.lock()
            self.errText.append(d)
            self.lock.unlock()
        }
    }

    /// A folder of this test run (under the temporary folder) for the XDG folders of child processes.
    static let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gridtop-e2e-xdg-\(getpid())").path

    func start() throws { try process.run() }

    var outputLines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    var standardError: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: errText, as: UTF8.self)
    }

    /// Waits until `count` lines arrived or the deadline passed.
    func waitForLines(_ count: Int, timeout: TimeInterval) -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let l = outputLines
            if l.count >= count { return l }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return outputLines
    }

    func interrupt() { if process.isRunning { process.interrupt() } }

    /// Waits for exit; kills after the timeout. Returns the exit status, nil if it had to be killed.
    @discardableResult
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        Thread.sleep(forTimeInterval: 0.1)  // let the pipes drain
        return process.terminationStatus
    }
}

/// The metering contract `gridtop sim` prints after its node URLs (`contract 0x…`).
func simContract(_ sim: ChildProcess, timeout: TimeInterval = 30) -> String? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let line = sim.outputLines.first(where: { $0.hasPrefix("contract 0x") }) { return String(line.dropFirst("contract ".count)) }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return nil
}

/// A command line for tmux that writes the process id of `bin ARGS` to `pidFile` first
/// (the shell execs into it, so the id is the program's own).
func pidWrapped(_ bin: URL, _ args: [String], pidFile: String) -> [String] {
    ["sh", "-c", "echo $$ > '\(pidFile)'; exec \"$0\" \"$@\"", bin.path] + args
}

/// The process id a `pidWrapped` command wrote, once it is there.
func readPid(_ pidFile: String, timeout: TimeInterval = 10) -> Int32? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let s = try? String(contentsOfFile: pidFile, encoding: .utf8), let p = Int32(s.trimmingCharacters(in: .whitespacesAndNewlines)) { return p }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return nil
}
