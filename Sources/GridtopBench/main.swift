// gridtop-bench: the speed and memory targets, measured (make bench).
// Results are printed as a Markdown table for docs/benchmarks.md.
import AlarmJournal
import Alerts
import Foundation
import GridSimulator
import LedgerClient
import Logging
import OperatorTUI

struct Row { var name: String; var value: String; var target: String }
var rows: [Row] = []
@MainActor func report(_ name: String, _ value: String, target: String = "") {
    rows.append(Row(name: name, value: value, target: target))
    FileHandle.standardOutput.write(Data("\(name): \(value)\(target.isEmpty ? "" : "  (target \(target))")\n".utf8))
}
func median(_ sorted: [Double]) -> Double {
    sorted.isEmpty ? 0 : sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
extension Array { subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil } }
func rate(_ v: Double) -> String { v >= 1e6 ? String(format: "%.2f M/s", v / 1e6) : String(format: "%.0f /s", v) }

LoggingSystem.bootstrap { label in
    var h = StreamLogHandler.standardError(label: label)
    h.logLevel = .critical
    return h
}

let args = CommandLine.arguments
let quick = args.contains("--quick")

/// 5. Flow model + detectors: one interval of 1,000,000 consumer readings until settled and judged, one core.
@MainActor func detectorBench() {
    let r = DetectorBenchmarks.interval(consumers: quick ? 100_000 : 1_000_000, runs: quick ? 3 : 5)
    report("flow model + detectors: one interval of \(r.consumers / 1000)k consumer readings (\(r.meters) meters, \(r.segments) segments) until settled and judged",
           String(format: "median %.2f s (runs: %@)", r.median, r.runs.map { String(format: "%.2f", $0) }.joined(separator: ", ")),
           target: "≤ 2 s")
}
if args.contains("--only-sim") {  // just the simulator section
    try await simulatorBenchmarks(quick: quick)
    exit(0)
}
if args.contains("--detectors-only") {
    detectorBench()
    print("\n| benchmark | result | target |\n|---|---|---|")
    for r in rows { print("| \(r.name) | \(r.value) | \(r.target) |") }
    exit(0)
}

// 1. Decoding MeterReading logs from raw eth_getLogs JSON, one core.
let decodeLogs = quick ? 20_000 : 200_000
let streaming = try LedgerBenchmarks.decodeThroughput(logs: decodeLogs, repetitions: 5, path: .streaming)
report("decode MeterReading logs (streaming decoder, 1 core)", rate(streaming.perSecond), target: "≥ 1,000,000 /s")
let generic = try LedgerBenchmarks.decodeThroughput(logs: decodeLogs / 4, repetitions: 3, path: .generic)
report("decode MeterReading logs (generic JSON tree)", rate(generic.perSecond))

// 2. Backfill from a simulator node over loopback WebSocket; then web3.py on the same node
// fetching and decoding the same logs (scripts/bench_web3.py), and the ratio.
// The machine is shared: each is repeated (`--repeat N`) and the best and the median reported.
let repeats = max(1, args.firstIndex(of: "--repeat").flatMap { Int(args[safe: $0 + 1] ?? "") } ?? (quick ? 1 : 3))
var sim = SimulationConfig()
sim.nodes = 1
sim.blockTime = .milliseconds(50)
sim.intervalEvery = .milliseconds(100)
sim.theftAfter = .seconds(3600)
let network = SimulatedNetwork(config: sim)
let urls = try await network.start()
try await Task.sleep(for: quick ? .seconds(3) : .seconds(12))
var backfills: [LedgerBenchmarks.Backfill] = []
for _ in 0..<repeats { backfills.append(try await LedgerBenchmarks.backfill(url: urls[0])) }
let swiftRates = backfills.map(\.logs.perSecond).sorted()
let last = backfills[backfills.count - 1]
report("backfill from a simulator node over loopback WebSocket (\(last.logs.items) logs, \(last.blocks.items) blocks; best of \(repeats))",
       "\(rate(swiftRates.last!)) logs, \(rate(backfills.map(\.blocks.perSecond).max()!)) blocks; median \(rate(median(swiftRates))) logs"
           + " (runs: \(backfills.map { String(format: "%.0f k", $0.logs.perSecond / 1000) }.joined(separator: ", ")))",
       target: "≥ 200,000 logs/s")
let phases = try await LedgerBenchmarks.getLogsPhases(url: urls[0], from: 0, to: last.head)
report("one eth_getLogs of blocks 0…\(last.head) (\(phases.logs) logs, \(phases.bytes / 1_000_000) MB): phases",
       String(format: "round trip %.0f ms, decode %.0f ms (generic JSON tree %.0f ms)",
              phases.roundTrip * 1000, phases.decode * 1000, phases.genericDecode * 1000))
let web3 = Web3Comparison.run(url: urls[0], to: last.head, repeats: repeats)
switch web3 {
case .success(let w):
    let rates = w.map { Double($0.logs) / $0.seconds }.sorted()
    let best = w.max { Double($0.logs) / $0.seconds < Double($1.logs) / $1.seconds }!
    report("web3.py \(best.version): eth_getLogs over WebSocket + event ABI decoding (process_log), same node, blocks 0…\(last.head) (\(best.logs) logs)",
           "\(rate(rates.last!)) logs; median \(rate(median(rates)))"
               + String(format: " (best run: fetch %.2f s, decode %.2f s)", best.fetchSeconds, best.decodeSeconds))
    if best.logs != phases.logs {
        report("web3.py log count differs from the Swift client's", "\(best.logs) vs \(phases.logs)")
    }
    report("Swift client / web3.py (logs/s)", String(format: "best %.0f×, median %.0f×", swiftRates.last! / rates.last!,
                                                     median(swiftRates) / median(rates)), target: "≥ 30×")
case .failure(let why):
    report("web3.py comparison", "NOT RUN: \(why)", target: "≥ 30×")
}
await network.stop()

if args.contains("--backfill-only") {
    print("\n| benchmark | result | target |\n|---|---|---|")
    for r in rows { print("| \(r.name) | \(r.value) | \(r.target) |") }
    exit(0)
}

// 3. Frame time of the heaviest views at 200×60.
for r in FrameBench.run(frames: quick ? 10 : 30) {
    report("frame: \(r.name) at \(r.width)×\(r.height)", String(format: "median %.2f ms, p95 %.2f ms", r.medianMs, r.p95Ms), target: "≤ 2 ms")
}

// 4. Alarm engine with 100,000 live alarms, and journal write latency (fsync per commit).
let engine = AlarmBenchmarks.engine(liveAlarms: 100_000, updates: quick ? 200_000 : 2_000_000)
report("alarm engine: condition updates with 100,000 live alarms (\(engine.transitions) transitions)", rate(engine.updatesPerSecond))
let dir = NSTemporaryDirectory() + "gridtop-bench-\(ProcessInfo.processInfo.processIdentifier)"
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
for batch in [1, 100] {
    let l = try JournalBenchmarks.writeLatency(directory: dir, samples: quick ? 100 : 1000, batchSize: batch)
    report("journal write, \(batch) transition(s) per commit (WAL, synchronous=FULL: fsync before return)",
           String(format: "median %.2f ms, p99 %.2f ms, max %.1f ms", l.medianMs, l.p99Ms, l.maxMs))
}
try? FileManager.default.removeItem(atPath: dir)

// 5. The simulated grid at 1,000,000 consumers (SimulatorBench.swift); `--only-sim` runs only this.
try await simulatorBenchmarks(quick: quick)
// 6. Flow model + detectors on one interval of 1,000,000 consumer readings; `--detectors-only` runs only this.
detectorBench()

print("\n| benchmark | result | target |\n|---|---|---|")
for r in rows { print("| \(r.name) | \(r.value) | \(r.target) |") }
