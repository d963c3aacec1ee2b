import ChainCore
import Foundation
import GridCore
import XCTest

@testable import GridSimulator

/// `--history`: past days of chain built at start, incidents included.
final class HistoryTests: XCTestCase {
    func testHistoryIsBuiltAtStartWithPastTimestampsAndItsIncidents() async throws {
        var c = SimulationConfig()
        c.missingReadingRate = 0; c.lateReadingRate = 0  // these tests count every reading
        c.nodes = 1
        c.consumers = 200
        c.seed = 4
        c.historyDays = 1
        c.blockTime = .seconds(30)  // no live block during the test
        c.intervalEvery = .seconds(60)
        c.incidents = [
            IncidentSpec(kind: .silent, target: "C-00020", start: .before(seconds: 6 * 3600)),
            IncidentSpec(kind: .bypass, start: .before(seconds: 12 * 3600)),
            IncidentSpec(kind: .h1, start: .after(.seconds(1))),
        ]
        let net = try SimulatedNetwork(checking: c)
        let model = net.model
        XCTAssertEqual(model.incidents.map(\.fromIndex), [72, 48, 96])
        let before = UInt64(Date().timeIntervalSince1970)
        let clock = ContinuousClock()
        let t0 = clock.now
        _ = try await net.start()
        let took = clock.now - t0
        let after = UInt64(Date().timeIntervalSince1970)
        print("history: 96 intervals × \(model.topology.assets.count) meters built and served in \(took)")
        let ledger = try XCTUnwrap(net.ledger)
        XCTAssertEqual(ledger.headNumber, 4 + 96, "registrations, then one block per past interval")

        let bypassed = model.incidents[1].asset
        let silent = model.topology.index(of: .asset(code: "C-00020"))!
        var previous = ledger.block(number: 0)!.header.timestamp
        for n in UInt64(1)...(4 + 96) {
            let b = ledger.block(number: n)!
            XCTAssertGreaterThanOrEqual(b.header.timestamp, previous, "block \(n)")
            previous = b.header.timestamp
            guard n > 4 else {
                XCTAssert(b.events.allSatisfy { if case .assetRegistered = $0 { true } else { false } })
                XCTAssertLessThanOrEqual(b.header.timestamp + 96 * 900, after, "registrations precede the history")
                continue
            }
            let k = Int(n) - 5
            // Stamped at its interval's end, a day ago for the first: the last is about now.
            XCTAssertGreaterThanOrEqual(b.header.timestamp + UInt64(96 - k - 1) * 900, before)
            XCTAssertLessThanOrEqual(b.header.timestamp + UInt64(96 - k - 1) * 900, after)
            let readings = b.events.compactMap { e -> MeterReading? in if case .meterReading(let r) = e { r } else { nil } }
            XCTAssert(readings.allSatisfy { $0.intervalStart == model.config.intervalStart(k) }, "block \(n) holds interval \(k)")
            let ids = Set(readings.map(\.asset))
            XCTAssertEqual(ids.contains(model.topology.assets[silent].id), k < 72, "interval \(k): the silent meter")
            XCTAssertEqual(readings.count, model.topology.assets.count - (k < 72 ? 0 : 1))
            let thief = readings.first { $0.asset == model.topology.assets[bypassed].id }!
            if k >= 48 { XCTAssertEqual(thief.importWh, 0, "interval \(k): bypassed") } else { XCTAssertGreaterThan(thief.importWh, 0) }
            XCTAssertEqual(b.events.filter { if case .energyTransfer = $0 { true } else { false } }.count,
                           model.interval(k).transfers.count)
        }
        // The ground truth counts the history: the bypass stole for 48 intervals, the live h1 not yet.
        let gt = net.groundTruth
        XCTAssertEqual(gt.historyIntervals, 96)
        XCTAssertEqual(gt.incidents.map(\.energyThroughIndex), [95, 95, 95])
        let stolen = (48..<96).reduce(0.0) { $0 + model.interval($1).incidentWh[1] }
        XCTAssertEqual(gt.incidents[1].energyWh, stolen, accuracy: 1e-6)
        XCTAssertGreaterThan(stolen, 1000)
        XCTAssertEqual(gt.incidents[2].energyWh, 0)
        await net.stop()
    }

    func testLiveIntervalsContinueAfterTheHistory() async throws {
        var c = SimulationConfig()
        c.missingReadingRate = 0; c.lateReadingRate = 0  // these tests count every reading
        c.nodes = 1
        c.consumers = 200
        c.historyDays = 0.25  // 24 intervals
        c.blockTime = .milliseconds(50)
        c.intervalEvery = .milliseconds(200)
        let net = SimulatedNetwork(config: c)
        XCTAssertEqual(net.model.theft.fromIndex, 24 + c.theftIntervalIndex, "--theft-after counts from the live start")
        _ = try await net.start()
        let ledger = try XCTUnwrap(net.ledger)
        try await Task.sleep(for: .seconds(1.5))
        await net.stop()
        var starts: [UInt64] = []
        for n in UInt64(5)...ledger.headNumber {
            for e in ledger.block(number: n)!.events {
                if case .meterReading(let r) = e, r.asset == net.model.topology.assets[net.model.topology.root].id { starts.append(r.intervalStart) }
            }
        }
        XCTAssertGreaterThan(starts.count, 26, "live intervals followed")
        XCTAssertEqual(starts, (0..<starts.count).map { c.intervalStart($0) }, "one reading per interval, in order, no gap")
    }
}

final class LedgerGasTests: XCTestCase {
    /// The shortcut for readings and transfers gives what encoding them gives.
    func testLogGasMatchesTheEncodedEvents() {
        let m = GridModel(config: SimulationConfig())
        let o = m.interval(48)
        let events = o.readings.prefix(5).map(GridEvent.meterReading) + o.transfers.map(GridEvent.energyTransfer)
            + m.topology.registrations.prefix(3).map(GridEvent.assetRegistered)
        XCTAssertGreaterThan(o.transfers.count, 0)
        for e in events {
            let encoded = 375 + 375 * UInt64(LedgerSchemaV1.topics(of: e).count) + 8 * UInt64(LedgerSchemaV1.data(of: e).count)
            XCTAssertEqual(Ledger.logGas(e), encoded, "\(e)")
        }
    }
}
