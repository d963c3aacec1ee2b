import Foundation

/// Runs scripts/bench_web3.py (web3.py from PyPI, in the venv scripts/bench-web3-setup.sh
/// makes) against a node and reads its one JSON line. Any reason it cannot run is returned
/// as text, so the benchmark says so instead of failing silently.
enum Web3Comparison {
    struct Run {
        var version: String
        var logs: Int
        var seconds: Double
        var fetchSeconds: Double
        var decodeSeconds: Double
    }

    static func run(url: String, to head: UInt64, repeats: Int) -> Result<[Run], Web3Error> {
        let env = ProcessInfo.processInfo.environment
        let python = env["GRIDTOP_BENCH_PYTHON"] ?? ".build/bench-venv/bin/python"
        let script = "scripts/bench_web3.py"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return .failure(Web3Error("no Python with web3.py at \(python) (make bench runs scripts/bench-web3-setup.sh to make it)"))
        }
        guard FileManager.default.fileExists(atPath: script) else {
            return .failure(Web3Error("\(script) not found (run from the repository root)"))
        }
        var runs: [Run] = []
        for _ in 0..<repeats {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = [script, "--url", url, "--from", "0", "--to", String(head)]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.standardError
            do { try p.run() } catch { return .failure(Web3Error("cannot start \(python): \(error)")) }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                return .failure(Web3Error("bench_web3.py exited \(p.terminationStatus) without a result: \(line.prefix(300))"))
            }
            if let e = obj["error"] as? String { return .failure(Web3Error(e)) }
            guard let logs = obj["logs"] as? Int, let s = obj["seconds"] as? Double, s > 0 else {
                return .failure(Web3Error("bench_web3.py gave an unreadable result: \(line.prefix(300))"))
            }
            runs.append(Run(version: obj["web3"] as? String ?? "?", logs: logs, seconds: s,
                            fetchSeconds: obj["fetchSeconds"] as? Double ?? 0, decodeSeconds: obj["decodeSeconds"] as? Double ?? 0))
        }
        return .success(runs)
    }
}

struct Web3Error: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
