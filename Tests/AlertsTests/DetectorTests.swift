import ChainCore
import GridCore
import XCTest
@testable import Alerts

/// A small, seeded generator so every run sees the same noise.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func gaussian() -> Double {
        let u1 = max(Double.ulpOfOne, Double.random(in: 0..<1, using: &self))
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

final class DetectorTests: XCTestCase {
    /// A transformer segment whose loss is 120 Wh + 2e-6·E² with 0.3 % meter noise,
    /// load following a daily shape; theft of `stolen` Wh per interval from `theftFrom`.
    func run(seed: UInt64, intervals: Int, theftFrom: Int?, stolen: Double) -> (firstAlarm: Int?, falseAlarms: Int) {
        var rng = SplitMix(state: seed)
        var det = SegmentDetector()
        var first: Int?
        var falseAlarms = 0
        var wasSuspect = false
        for i in 0..<intervals {
            let hour = Double(i % 96) / 4
            let load = 8000 + 5000 * sin((hour - 6) / 24 * 2 * .pi) + 400 * rng.gaussian()
            let loss = 120 + 2e-6 * load * load
            let theft = (theftFrom.map { i >= $0 } ?? false) ? stolen : 0
            let parent = (load + loss + theft) * (1 + 0.001 * rng.gaussian())
            let children = load * (1 + 0.001 * rng.gaussian())
            let b = SegmentBalance(segment: .zero, interval: UInt64(i * 900), netInWh: Int64(parent), childrenNetInWh: Int64(children),
                                   throughputWh: Int64(parent), childrenReporting: 25, childrenExpected: 25, complete: true)
            let j = det.observe(b)
            let suspect = j?.suspect ?? false
            if suspect && !wasSuspect {
                if let t = theftFrom, i >= t { if first == nil { first = i } } else { falseAlarms += 1 }
            }
            wasSuspect = suspect
        }
        return (first, falseAlarms)
    }

    func testQuietWithoutTheftOverAWeek() {
        for seed in 1...5 {
            let r = run(seed: UInt64(seed), intervals: 96 * 7, theftFrom: nil, stolen: 0)
            XCTAssertEqual(r.falseAlarms, 0, "seed \(seed)")
        }
    }

    func testFindsAnUnmeteredLoadWithinAFewIntervals() {
        for seed in 1...5 {
            // 1 kW hook-up = 250 Wh per 15 minutes, about 3 % of the segment's energy.
            let r = run(seed: UInt64(seed), intervals: 200, theftFrom: 120, stolen: 250)
            XCTAssertEqual(r.falseAlarms, 0, "seed \(seed)")
            XCTAssertNotNil(r.firstAlarm, "seed \(seed)")
            XCTAssertLessThanOrEqual((r.firstAlarm ?? 999) - 120, 8, "seed \(seed)")
        }
    }

    func testLossModelRecoversQuadraticLossAndIgnoresOutliers() {
        var pts: [(e: Double, r: Double)] = []
        for i in 0..<200 {
            let e = 2000 + Double(i) * 50
            pts.append((e, 100 + 3e-6 * e * e))
        }
        pts[50].r += 50_000
        pts[150].r -= 40_000
        let m = LossModel.fit(pts, ridge: 0)
        XCTAssertEqual(m.expected(8000), 100 + 3e-6 * 64_000_000, accuracy: 5)
        XCTAssertLessThan(m.sigma, 5)
    }
}
