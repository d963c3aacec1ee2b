import ChainCore
import GridCore
import XCTest
@testable import Alerts

/// The slow CUSUM: small persistent shifts found, correlated residuals tolerated.
final class SlowShiftTests: XCTestCase {
    /// A segment with 120 Wh + 2e-6·E² loss; the balance error follows an AR(1)
    /// process with coefficient `phi` and marginal σ ≈ 0.1 % of E (in the detector's floor units).
    func run(seed: UInt64, days: Int, phi: Double, theftFrom: Int?, share: Double) -> (first: Int?, falseAlarms: Int, rho: Double) {
        var rng = SplitMix(state: seed)
        var det = SegmentDetector()
        var first: Int?, falseAlarms = 0, was = false
        var ar = 0.0
        for i in 0..<(days * 96) {
            let hour = Double(i % 96) / 4
            let load = 8000 + 5000 * sin((hour - 6) / 24 * 2 * .pi) + 400 * rng.gaussian()
            ar = phi * ar + (1 - phi * phi).squareRoot() * rng.gaussian()
            let theft = (theftFrom.map { i >= $0 } ?? false) ? share * load : 0
            let parent = load + 120 + 2e-6 * load * load + theft + 0.001 * load * ar
            let b = SegmentBalance(segment: .zero, interval: UInt64(i * 900), netInWh: Int64(parent), childrenNetInWh: Int64(load),
                                   throughputWh: Int64(parent), childrenReporting: 30, childrenExpected: 30, complete: true)
            let suspect = det.observe(b)?.suspect ?? false
            if suspect && !was {
                if let t = theftFrom, i >= t { first = first ?? i } else { falseAlarms += 1 }
            }
            was = suspect
        }
        return (first, falseAlarms, det.autocorrelation)
    }

    func testFindsATwoPermilleShiftWithinADay() {
        for seed: UInt64 in 1...4 {
            let r = run(seed: seed, days: 5, phi: 0, theftFrom: 3 * 96, share: 0.002)
            XCTAssertEqual(r.falseAlarms, 0, "seed \(seed)")
            let first = try! XCTUnwrap(r.first, "seed \(seed)")
            XCTAssertLessThanOrEqual(first - 3 * 96, 96, "seed \(seed)")
        }
    }

    func testCorrelatedResidualsRaiseNoAlarmForTwoWeeks() {
        for seed: UInt64 in 1...3 {
            let r = run(seed: seed, days: 14, phi: 0.8, theftFrom: nil, share: 0)
            XCTAssertEqual(r.falseAlarms, 0, "seed \(seed)")
            XCTAssertGreaterThan(r.rho, 0.4, "the detector should see the residuals' autocorrelation")
        }
    }

    func testLagOneAutocorrelation() {
        XCTAssertEqual(SegmentDetector.lagOneAutocorrelation([1, -1, 1, -1, 1, -1, 1, -1, 1, -1], sigma: 1), -0.9, accuracy: 1e-9)
        XCTAssertEqual(SegmentDetector.lagOneAutocorrelation([1, 2], sigma: 1), 0)
    }
}
