import Alerts
import ChainCore
import GridCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Frame-time measurement for `make bench`: builds big fixed states and times
/// one frame (render into a fresh cell buffer + diff against the previous
/// frame, i.e. everything but the terminal write). The reducer's one-off
/// work when data arrives (sorting 10,000 alarms, …) is timed separately.
public enum FrameBench {
    public struct Result: Sendable, CustomStringConvertible {
        public var name: String
        public var width: Int
        public var height: Int
        /// Per frame, milliseconds.
        public var medianMs: Double
        public var p95Ms: Double
        /// Applying one new data set (sort/filter), milliseconds.
        public var updateMs: Double
        public var frames: Int

        public var description: String {
            "\(name) at \(width)×\(height): frame median \(fmt(medianMs)) ms, p95 \(fmt(p95Ms)) ms over \(frames) frames; data update \(fmt(updateMs)) ms"
        }
        func fmt(_ v: Double) -> String { String(Int(v * 1000) / 1000) + "." + String(100_000 + Int(v * 1000) % 1000).suffix(3) }
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Runs every scenario; `frames` frames each (the first is a warm-up).
    public static func run(frames: Int = 50) -> [Result] {
        [alarms(count: 10_000, frames: frames), grid(assets: 100_000, flat: false, frames: frames),
         grid(assets: 100_000, flat: true, frames: frames)]
    }

    static func measure(_ name: String, state: AppState, data: ScreenData, frames: Int) -> Result {
        var s = state
        let t0 = monotonic()
        AppReducer.reduce(&s, .data(data))
        let update = (monotonic() - t0) * 1000
        var times: [Double] = []
        var previous = CellBuffer(width: s.width, height: s.height)
        for i in 0...frames {
            // Ages tick and the selection moves, so frames really differ.
            AppReducer.reduce(&s, .tick(now: s.now + 1))
            AppReducer.reduce(&s, .move(i % 2 == 0 ? 1 : -1))
            let a = monotonic()
            var buf = CellBuffer(width: s.width, height: s.height)
            AppView.render(s, into: &buf)
            let runs = CellBuffer.diff(previous, buf)
            let b = monotonic()
            precondition(!runs.isEmpty || i > 0)
            previous = buf
            if i > 0 { times.append((b - a) * 1000) }
        }
        times.sort()
        return Result(name: name, width: s.width, height: s.height, medianMs: times[times.count / 2],
                      p95Ms: times[min(times.count - 1, times.count * 95 / 100)], updateMs: update, frames: frames)
    }

    static func id(_ i: Int) -> AssetID { Bytes32(w0: 0x6772_6964, w1: 0, w2: 0, w3: UInt64(i)) }

    public static func alarms(count: Int, frames: Int = 50, width: Int = 200, height: Int = 60) -> Result {
        let now = 1_777_640_000.0
        let kinds = AlarmKind.allCases
        var list: [Alarm] = []
        list.reserveCapacity(count)
        for i in 0..<count {
            let k = kinds[i % kinds.count]
            list.append(Alarm(id: i, kind: k, asset: id(i), assetName: "meter \(i) Rua \(i % 97)", stage: .consumer,
                              priority: AlarmPriority(rawValue: i % 4)!, active: i % 3 != 0, acknowledged: i % 5 == 0,
                              raisedAt: now - Double(i), changedAt: now - Double(i), interval: nil,
                              message: "condition \(i)", count: 1 + i % 4,
                              origin: EventOrigin(blockNumber: UInt64(1000 + i), blockHash: id(i), transactionHash: id(i), logIndex: 0)))
        }
        var s = AppState(width: width, height: height, now: now)
        s.stack = [.alarms]
        return measure("alarms \(count)", state: s, data: ScreenData(snapshot: MonitorSnapshot(alarms: list, now: now)), frames: frames)
    }

    /// `flat`: every asset under one root (the worst list); otherwise a tree
    /// of 20 substations × 50 feeders × ~100 consumers, viewed at a substation.
    public static func grid(assets: Int, flat: Bool, frames: Int = 50, width: Int = 200, height: Int = 60) -> Result {
        let now = 1_777_640_000.0
        var nodes: [GridNode] = [GridNode(id: id(0), name: "Line 400kV", stage: .transmission)]
        nodes.reserveCapacity(assets)
        var focus = id(0)
        if flat {
            for i in 1..<assets {
                nodes.append(GridNode(id: id(i), name: "consumer \(i)", stage: .consumer, parent: id(0), ratedKw: 15,
                                      balance: SegmentStatus(residualWh: Int64(i % 500), throughputWh: 10_000, bandLowWh: 0, bandHighWh: 300),
                                      suspect: i % 1000 == 0))
            }
        } else {
            var next = 1
            let perFeeder = max(1, (assets - 1 - 20 - 1000) / 1000)
            for s in 0..<20 {
                let sid = id(next); next += 1
                nodes.append(GridNode(id: sid, name: "substation \(s)", stage: .substation, parent: id(0),
                                      balance: SegmentStatus(residualWh: 1000, throughputWh: 1_000_000, bandLowWh: 500, bandHighWh: 2000)))
                if s == 0 { focus = sid }
                for f in 0..<50 {
                    let fid = id(next); next += 1
                    nodes.append(GridNode(id: fid, name: "feeder \(s)-\(f)", stage: .feeder, parent: sid,
                                          balance: SegmentStatus(residualWh: Int64(f * 37), throughputWh: 50_000, bandLowWh: 100, bandHighWh: 1500),
                                          suspect: f == 7))
                    for c in 0..<perFeeder where next < assets {
                        nodes.append(GridNode(id: id(next), name: "consumer \(s)-\(f)-\(c)", stage: .consumer, parent: fid))
                        next += 1
                    }
                }
            }
        }
        let data = ScreenData(snapshot: MonitorSnapshot(now: now), grid: GridTree(nodes: nodes))
        var s = AppState(width: width, height: height, now: now)
        s.stack = [.grid(flat ? id(0) : focus)]
        return measure("grid \(nodes.count) assets" + (flat ? " (all under one node)" : " (tree, at a substation)"), state: s, data: data, frames: frames)
    }
}
