import ChainCore
import GridCore
import XCTest
@testable import Alerts

/// Suspect ranking wired into the monitor: a suspected-theft alarm names the consumers.
final class SuspectWiringTests: XCTestCase {
    typealias F = ChainFixture

    func testTheUnderReportingConsumerRanksFirstOnTheAlarmAndTheSnapshot() throws {
        var rng = SplitMix(state: 2026)
        let feeder = AssetID.asset(code: "F-9"), tx = AssetID.asset(code: "TX-9")
        let consumers = (0..<20).map { AssetID.asset(code: "H-\($0)") }
        let thief = 7
        var m = Monitor()
        var chain = ChainFixture()
        // A balanced root: the generator exports what the feeder takes (plus 10 Wh of loss).
        let root = AssetID.asset(code: "TR-9"), gen = AssetID.asset(code: "G-9")
        _ = m.apply(chain.append([F.register(root, under: .zero, .transmission, "TR-9"), F.register(gen, under: root, .generation, "G-9"),
                                  F.register(feeder, under: root, .feeder, "F-9"), F.register(tx, under: feeder, .transformer, "TX-9")]
                                 + consumers.enumerated().map { F.register($1, under: tx, .consumer, "H-\($0)") }).update, now: 0)
        // Households differ in level and daily timing; appliance events at random.
        let base = (0..<20).map { _ in 150 + 250 * Double.random(in: 0..<1, using: &rng) }
        let phase = (0..<20).map { _ in Double.random(in: -3..<3, using: &rng) }
        let theftFrom = 2 * 96 + 40
        var raisedAt: Int?
        for k in 1...(3 * 96) {
            let hour = Double(k % 96) / 4
            var reported: [UInt64] = [], total = 0.0
            for i in 0..<20 {
                var load = base[i] * (1 + 0.6 * sin((hour - 7 - phase[i]) / 24 * 2 * .pi)) * (1 + 0.05 * rng.gaussian())
                if Double.random(in: 0..<1, using: &rng) < 0.05 { load += Double.random(in: 50..<300, using: &rng) }
                load = max(load, 5)
                total += load
                // H-7 hides 60 % of its use from the theft interval on (Jokar h1, α = 0.6).
                reported.append(UInt64((i == thief && k >= theftFrom ? 0.4 * load : load).rounded()))
            }
            let txIn = (total + 60 + 1e-5 * total * total) * (1 + 0.001 * rng.gaussian())
            var events = [F.reading(gen, UInt64(k), import: 0, export: UInt64(txIn + 40)),
                          F.reading(feeder, UInt64(k), import: UInt64(txIn + 30)), F.reading(tx, UInt64(k), import: UInt64(txIn))]
            events += consumers.indices.map { F.reading(consumers[$0], UInt64(k), import: reported[$0]) }
            let out = m.apply(chain.append(events).update, now: Double(k))
            if out.contains(where: { $0.event == .raised && $0.alarm.kind == .suspectedTheft && $0.alarm.asset == tx }), raisedAt == nil {
                raisedAt = k
            }
        }
        let first = try XCTUnwrap(raisedAt, "the theft is found")
        XCTAssertGreaterThanOrEqual(first, theftFrom, "no alarm before the theft")
        let alarm = try XCTUnwrap(m.book[AlarmKey(kind: .suspectedTheft, asset: tx)])
        XCTAssertTrue(alarm.active)
        XCTAssertEqual(alarm.suspects.first?.asset, consumers[thief], "\(alarm.suspects.map(\.name))")
        XCTAssertEqual(alarm.suspects.first?.name, "H-7")
        XCTAssertLessThanOrEqual(alarm.suspects.count, 5)
        XCTAssertEqual(alarm.suspects.map(\.score), alarm.suspects.map(\.score).sorted(by: >))
        XCTAssertGreaterThan(alarm.suspects.first?.deficitWh ?? 0, 0)
        XCTAssertTrue(alarm.message.contains("suspects: H-7 ("), alarm.message)
        let snap = m.snapshot(now: 1000)
        XCTAssertEqual(snap.suspects[tx]?.first?.asset, consumers[thief])
        XCTAssertNil(snap.suspects[feeder], "only suspect segments carry suspects")
        XCTAssertNil(snap.suspects[root])
        // The structured field survives the JSON stream (and so the journal).
        let line = AlarmJSON.line(AlarmTransition(event: .raised, alarm: alarm, at: 1000))
        XCTAssertEqual(try AlarmJSON.transition(fromLine: line).alarm.suspects.map(\.asset), alarm.suspects.map(\.asset))
    }
}
