import ChainCore
import GridCore
import XCTest
@testable import OperatorTUI

/// A segment whose detector is still learning says how far it has got (issue 13).
final class LearningStatusTests: XCTestCase {
    func testALearningSegmentShowsItsProgress() {
        var b = SegmentStatus(residualWh: -5_140, throughputWh: 120_000)
        XCTAssertEqual(b.verdict, .learning)
        XCTAssertEqual(b.learningText, "learning")
        b.learning = (40, 96)
        XCTAssertEqual(b.learningText, "learning (40 of 96 intervals)")
        let n = GridNode(id: .zero, name: "GSP", stage: .transmission, parent: nil, ratedKw: 0, balance: b)
        XCTAssertEqual(GridView.verdictText(n, .unicode).0, "learn 40/96", "the status column's short form")
    }
}
