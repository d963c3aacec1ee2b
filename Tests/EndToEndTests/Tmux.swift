import Foundation
import XCTest

/// A real terminal: a detached tmux session running one command, read with
/// `capture-pane` and driven with `send-keys`, as an operator would.
final class TmuxSession {
    let name: String
    let exitFile: String

    /// Starts `command` in a new detached session of the given size. The
    /// command's exit status is written to `exitFile` when it ends.
    init(command: [String], width: Int, height: Int, environment: [String: String] = [:]) throws {
        name = "gridtop-e2e-\(UUID().uuidString.prefix(8))"
        exitFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).exit").path
        let env = environment.map { "\($0.key)=\(TmuxSession.quote($0.value))" }.sorted().joined(separator: " ")
        let cmd = command.map(TmuxSession.quote).joined(separator: " ")
        let shell = "\(env.isEmpty ? "" : "env \(env) ")\(cmd); echo $? > \(TmuxSession.quote(exitFile)); sleep 30"
        try TmuxSession.tmux(["new-session", "-d", "-s", name, "-x", "\(width)", "-y", "\(height)", shell])
    }

    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    @discardableResult
    static func tmux(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["tmux"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "tmux", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "tmux \(args.joined(separator: " ")) failed"])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The visible screen as text (no escape sequences).
    func screen() -> String { (try? TmuxSession.tmux(["capture-pane", "-p", "-t", name])) ?? "" }

    /// The visible screen with colours and attributes as escape sequences.
    func screenWithAttributes() -> String { (try? TmuxSession.tmux(["capture-pane", "-p", "-e", "-t", name])) ?? "" }

    func send(_ keys: String...) { _ = try? TmuxSession.tmux(["send-keys", "-t", name] + keys) }

    func resize(width: Int, height: Int) {
        _ = try? TmuxSession.tmux(["resize-window", "-t", name, "-x", "\(width)", "-y", "\(height)"])
    }

    /// Polls the screen until `condition` holds; returns the last screen seen.
    @discardableResult
    func waitFor(timeout: TimeInterval, _ condition: (String) -> Bool) -> (ok: Bool, screen: String) {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = screen()
            if condition(last) { return (true, last) }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return (false, last)
    }

    /// The command's exit status once it has ended, or nil.
    func exitStatus(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let s = try? String(contentsOfFile: exitFile, encoding: .utf8), let v = Int32(s.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return v
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return nil
    }

    func kill() {
        _ = try? TmuxSession.tmux(["kill-session", "-t", name])
        try? FileManager.default.removeItem(atPath: exitFile)
    }
}
