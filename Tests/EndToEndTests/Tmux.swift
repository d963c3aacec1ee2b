import Foundation
import Glibc
import XCTest

/// A real terminal: a detached tmux session running one command, read with
/// `capture-pane` and driven with `send-keys`, as an operator would.
final class TmuxSession {
    let name: String
    let exitFile: String

    /// Starts `command` in a new detached session of the given size. The
    /// command's exit status is written to `exitFile` when it ends.
    ///
    /// With `rawOutput`, every byte the command writes to the terminal is
    /// appended to that file (`pipe-pane`), from its very first byte: the
    /// command starts only once the pipe is in place.
    init(command: [String], width: Int, height: Int, environment: [String: String] = [:], rawOutput: String? = nil) throws {
        name = "gridtop-e2e-\(UUID().uuidString.prefix(8))"
        exitFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).exit").path
        let goFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).go").path
        let env = environment.map { "\($0.key)=\(TmuxSession.quote($0.value))" }.sorted().joined(separator: " ")
        let cmd = command.map(TmuxSession.quote).joined(separator: " ")
        let gate = rawOutput == nil ? "" : "while [ ! -e \(TmuxSession.quote(goFile)) ]; do sleep 0.05; done; "
        let shell = gate + "\(env.isEmpty ? "" : "env \(env) ")\(cmd); echo $? > \(TmuxSession.quote(exitFile)); sleep 30"
        try TmuxSession.tmux(["new-session", "-d", "-s", name, "-x", "\(width)", "-y", "\(height)", shell])
        if let raw = rawOutput {
            try TmuxSession.tmux(["pipe-pane", "-o", "-t", name, "cat >> " + TmuxSession.quote(raw)])
            FileManager.default.createFile(atPath: goFile, contents: Data())
        }
    }

    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// Runs tmux with a hard time limit. Output goes to a temporary file, never
    /// a pipe: the first command on a machine forks the tmux server, which would
    /// inherit a pipe and hold it open for its whole life. posix_spawn + waitpid
    /// rather than Foundation's Process, whose waitUntilExit can miss the child's
    /// exit when many processes come and go, and then never return.
    @discardableResult
    static func tmux(_ args: [String], timeout: TimeInterval = 10) throws -> String {
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("tmux-\(UUID().uuidString).out").path
        defer { unlink(outPath) }
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let out = args.first == "capture-pane" ? outPath : "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = (["tmux"] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, "tmux", &actions, nil, argv, environ)
        guard rc == 0 else { throw NSError(domain: "tmux", code: Int(rc), userInfo: [NSLocalizedDescriptionKey: "cannot start tmux"]) }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date() > deadline {
                Glibc.kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw NSError(domain: "tmux", code: -1, userInfo: [NSLocalizedDescriptionKey: "tmux \(args.joined(separator: " ")) timed out"])
            }
            usleep(10_000)
        }
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw NSError(domain: "tmux", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "tmux \(args.joined(separator: " ")) failed"])
        }
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    /// The visible screen as text (no escape sequences).
    func screen() -> String { (try? TmuxSession.tmux(["capture-pane", "-p", "-t", name])) ?? "" }

    /// The visible screen with colours and attributes as escape sequences.
    func screenWithAttributes() -> String { (try? TmuxSession.tmux(["capture-pane", "-p", "-e", "-t", name])) ?? "" }

    func send(_ keys: String...) { _ = try? TmuxSession.tmux(["send-keys", "-t", name] + keys) }

    /// Types `text` literally (no key names), e.g. Unicode or spaces.
    func type(_ text: String) { _ = try? TmuxSession.tmux(["send-keys", "-t", name, "-l", text]) }

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
        try? FileManager.default.removeItem(atPath: exitFile.replacingOccurrences(of: ".exit", with: ".go"))
    }
}
