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

final class AlarmBookTests: XCTestCase {
    let asset = AssetID.asset(code: "TX-1")
    func cond(_ msg: String = "m") -> AlarmCondition {
        AlarmCondition(kind: .suspectedTheft, asset: asset, assetName: "TX-1", stage: .transformer, message: msg)
    }

    func testOneAlarmPerConditionRepeatsCountedAndClearedStaysUntilAcknowledged() {
        var book = AlarmBook()
        XCTAssertEqual(book.raise(cond(), now: 1)?.event, .raised)
        XCTAssertNil(book.raise(cond("again"), now: 2))  // same active condition
        XCTAssertEqual(book.visible.count, 1)
        XCTAssertEqual(book.clear(.suspectedTheft, asset: asset, now: 3)?.event, .cleared)
        XCTAssertEqual(book.visible.count, 1, "cleared but unacknowledged stays visible")
        let again = book.raise(cond(), now: 4)
        XCTAssertEqual(again?.alarm.count, 2)
        XCTAssertEqual(book.visible.count, 1)
        let id = book.visible[0].id
        XCTAssertEqual(book.acknowledge(id: id, by: "ana", now: 5)?.alarm.acknowledgedBy, "ana")
        XCTAssertNil(book.acknowledge(id: id, by: "ana", now: 6))
        XCTAssertEqual(book.visible.count, 1, "active and acknowledged is still shown")
        _ = book.clear(.suspectedTheft, asset: asset, now: 7)
        XCTAssertEqual(book.visible.count, 0, "cleared and acknowledged leaves the list")
    }

    func testOrderingPutsUnacknowledgedActiveAndHigherPriorityFirst() {
        var book = AlarmBook()
        _ = book.raise(AlarmCondition(kind: .staleMeter, asset: asset, assetName: "a", stage: .consumer, message: ""), now: 1)
        _ = book.raise(AlarmCondition(kind: .consensusStall, asset: .zero, assetName: "chain", stage: nil, message: ""), now: 2)
        _ = book.raise(cond(), now: 3)
        XCTAssertEqual(book.visible.map(\.kind), [.consensusStall, .suspectedTheft, .staleMeter])
    }

    func testJSONLineHasTheRequiredFieldsAndEscapesChainText() throws {
        var book = AlarmBook()
        let t = book.raise(AlarmCondition(kind: .suspectedTheft, asset: asset, assetName: "evil\u{1b}[2J", stage: .transformer,
                                          interval: 1_794_038_400, message: "x"), now: 1_794_038_401.5)!
        let line = AlarmJSON.line(t)
        XCTAssertFalse(line.contains("\u{1b}"))
        let j = try JSON.parse(line)
        XCTAssertEqual(j["event"]?.stringValue, "raised")
        XCTAssertEqual(j["kind"]?.stringValue, "suspected-theft")
        XCTAssertEqual(j["asset"]?.stringValue, asset.hex)
        XCTAssertEqual(j["assetName"]?.stringValue, "evil\u{1b}[2J")
        XCTAssertEqual(j["stage"]?.stringValue, "transformer")
        XCTAssertEqual(j["interval"]?.intValue, 1_794_038_400)
        XCTAssertEqual(j["ts"]?.stringValue, "2026-11-07T08:00:01.500Z")
        XCTAssertEqual(j["message"]?.stringValue, "x")
    }
}
