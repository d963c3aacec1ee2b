// Monte-Carlo detection report driver (`make detection-report`): runs the
// simulator's evaluation harness (GridSimulator.TheftEvaluation, no sockets)
// against Alerts' segment detector and suspect ranking, and prints Markdown.
import Alerts
import GridCore
import GridSimulator

#if canImport(Glibc)
import Glibc
#endif

/// Alerts' segment detector, as the evaluation drives it.
struct SegmentDetectorUnderTest: BalanceDetector {
    var detector = SegmentDetector()
    mutating func observe(_ balance: SegmentBalance) -> Bool {
        _ = detector.observe(balance)
        return detector.suspect
    }
    var changePoint: UInt64? { detector.changePoint }
}

/// Alerts' suspect ranking, as the evaluation asks it.
func rankSuspects(_ h: FeederHistory) -> [AssetID] {
    SuspectRanking.rank(consumers: h.consumers, readings: h.readings, hourOfDay: h.hourOfDay, changePoint: h.changePoint,
                        residualWh: h.residualWh, throughputWh: h.throughputWh)
        .map(\.asset)
}

let env = ProcessInfoLite()
let runs = env.int("RUNS") ?? 40
let cleanRuns = env.int("CLEAN_RUNS") ?? 100
var setup = TheftEvaluation.Setup()
setup.consumers = env.int("CONSUMERS") ?? 100
setup.realistic = env.int("IDEAL") == nil

var rows: [TheftEvaluation.Summary] = []
var cleanFalse = 0
var cleanDays = 0.0
for (i, attack) in TheftEvaluation.standardAttacks.enumerated() {
    var rs: [TheftEvaluation.Run] = []
    for s in 0..<runs {
        rs.append(TheftEvaluation.run(attack: attack, seed: UInt64(1000 * (i + 1) + s), setup: setup,
                                      detector: SegmentDetectorUnderTest(), rank: rankSuspects))
    }
    let row = TheftEvaluation.summarize(rs, label: attack.label, setup: setup)
    rows.append(row)
    cleanFalse += rs.reduce(0) { $0 + $1.falseAlarms }
    cleanDays += rs.reduce(0.0) { $0 + $1.judgedDays }
    progress("\(attack.label): recall24h \(row.recall24h) 7d \(row.recall7d) median \(row.medianDelayHours ?? -1)\n")
}
var fa = 0
var days = 0.0
for s in 0..<cleanRuns {
    let r = TheftEvaluation.run(attack: nil, seed: UInt64(900_000 + s), setup: setup, detector: SegmentDetectorUnderTest())
    fa += r.falseAlarms
    days += r.judgedDays
}
print("Consumers per feeder: \(setup.consumers); runs per row: \(runs); theft-free runs: \(cleanRuns) × \(setup.cleanDays + setup.attackDays) days\n")
print(TheftEvaluation.markdownTable(rows))
print("False alarms (theft-free runs, first day excluded): \(fa) in \(fixed(days, 1)) feeder-days = \(fixed(Double(fa) / max(days, 1), 4)) per feeder-day")
print("False alarms before the theft started, in theft runs: \(cleanFalse) in \(fixed(cleanDays, 1)) feeder-days")

struct ProcessInfoLite {
    func int(_ name: String) -> Int? { getenv(name).flatMap { Int(String(cString: $0)) } }
}

/// One progress line on standard error (file descriptor 2: the C `stderr` global is not concurrency-safe).
func progress(_ line: String) {
    var text = line
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// `x` with `digits` decimals, as the report's tables print numbers (no Foundation).
func fixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "—" }
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let v = (abs(x) * p).rounded()
    let whole = Int(v / p)
    var frac = String(Int(v.truncatingRemainder(dividingBy: p)))
    while frac.count < digits { frac = "0" + frac }
    return (x < 0 && v > 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + frac : "")
}
