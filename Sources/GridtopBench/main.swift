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

// 2. Backfill from a simulator node over loopback WebSocket.
var sim = SimulationConfig()
sim.nodes = 1
sim.blockTime = .milliseconds(50)
sim.intervalEvery = .milliseconds(100)
sim.theftAfter = .seconds(3600)
let network = SimulatedNetwork(config: sim)
let urls = try await network.start()
try await Task.sleep(for: quick ? .seconds(3) : .seconds(12))
let (blocks, logs) = try await LedgerBenchmarks.backfillThroughput(url: urls[0])
report("backfill from a simulator node over loopback WebSocket (\(logs.items) logs, \(blocks.items) blocks)",
       "\(rate(logs.perSecond)) logs, \(rate(blocks.perSecond)) blocks", target: "≥ 200,000 logs/s")
await network.stop()

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
