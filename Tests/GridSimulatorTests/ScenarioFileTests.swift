import Foundation
import XCTest

@testable import GridSimulator

final class ScenarioFileTests: XCTestCase {
    static let scenariosFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scenarios")

    func testShippedScenariosLoadAndPlace() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.scenariosFolder.path).filter { $0.hasSuffix(".toml") }
        XCTAssert(Set(files).isSuperset(of: ["demo.toml", "quiet.toml", "theft-h1.toml", "bypass.toml"]), "\(files)")
        for f in files {
            let s = try Scenario.load(path: Self.scenariosFolder.appendingPathComponent(f).path)
            var c = SimulationConfig()
            s.apply(to: &c)
            let m = GridModel(config: c)
            XCTAssertEqual(m.incidentProblems, [], f)
            XCTAssertEqual(m.incidents.count, s.incidents.count, f)
        }
        let demo = try Scenario.load(path: Self.scenariosFolder.appendingPathComponent("demo.toml").path)
        XCTAssertEqual(Set(demo.incidents.map(\.kind)), Set(IncidentKind.allCases), "the demo stages every kind")
        XCTAssertEqual(demo.incidents.first?.kind, .unmeteredLoad, "the demo's first incident is the classic theft")
        var c = SimulationConfig()
        demo.apply(to: &c)
        let m = GridModel(config: c)
        XCTAssertEqual(Set(m.incidents.map(\.asset)).count, m.incidents.count, "every incident on its own asset")
        XCTAssertEqual(Set(m.incidents.map(\.segment)).count, m.incidents.count, "…under its own transformer")
        // A minute apart in real time (12 intervals of 5 s), in file order.
        XCTAssertEqual(m.incidents.map(\.fromIndex), (1...12).map { 12 * $0 - 1 })
        let quiet = try Scenario.load(path: Self.scenariosFolder.appendingPathComponent("quiet.toml").path)
        XCTAssertEqual(quiet.incidents, [])
        var q = SimulationConfig()
        quiet.apply(to: &q)
        XCTAssertEqual(GridModel(config: q).incidents.count, 0, "a scenario without incidents has no default theft either")
    }

    func testEveryKeyAndKind() throws {
        let text = """
        # comment
        name = "all"
        description = "every key"
        seed = 42
        consumers = 1200
        nodes = 3
        block_time = "250ms"
        interval_every = "1s"
        interval_seconds = 900
        history_days = 1.5

        [[incident]]
        kind = "h1"
        alpha = 0.25
        target = "C-00007"
        start = 4

        [[incident]]
        kind = "h2"
        min_hours = 2
        max_hours = 3.5
        start = "-6h"
        end = "5m"

        [[incident]]
        kind = "h3"
        lo = 0.2
        hi = 0.4
        transformer = "TX-0002"
        start = "90s"

        [[incident]]
        kind = "h4"

        [[incident]]
        kind = "h5"

        [[incident]]
        kind = "h6"

        [[incident]]
        kind = "bypass"
        start = -10
        end = 20

        [[incident]]
        kind = "unmetered-load"
        kw = 4
        meter_factor = 0.8

        [[incident]]
        kind = "hookup"
        kw = 1.5
        target = "TX-0005"

        [[incident]]
        kind = "overclaim"
        factor = 3
        extra_wh = 0

        [[incident]]
        kind = "silent"
        target = "TX-0004"

        [[incident]]
        kind = "duplicate"
        factor = 0.5
        """
        let s = try Scenario(toml: text, name: "x")
        XCTAssertEqual(s.name, "all")
        XCTAssertEqual(s.description, "every key")
        XCTAssertEqual(s.seed, 42)
        XCTAssertEqual(s.consumers, 1200)
        XCTAssertEqual(s.nodes, 3)
        XCTAssertEqual(s.blockTime, .milliseconds(250))
        XCTAssertEqual(s.intervalEvery, .seconds(1))
        XCTAssertEqual(s.intervalSeconds, 900)
        XCTAssertEqual(s.historyDays, 1.5)
        XCTAssertEqual(s.incidents.map(\.kind), [.h1, .h2, .h3, .h4, .h5, .h6, .bypass, .unmeteredLoad, .hookup, .overclaim,
                                                 .silent, .duplicate])
        let i = s.incidents
        XCTAssertEqual(i[0], IncidentSpec(kind: .h1, target: "C-00007", start: .interval(4), parameters: ["alpha": 0.25]))
        XCTAssertEqual(i[1].start, .before(seconds: 6 * 3600))
        XCTAssertEqual(i[1].end, .after(.seconds(300)))
        XCTAssertEqual(i[1].parameters, ["min_hours": 2, "max_hours": 3.5])
        XCTAssertEqual(i[2].transformer, "TX-0002")
        XCTAssertEqual(i[2].start, .after(.seconds(90)))
        XCTAssertNil(i[3].start)
        XCTAssertEqual(i[6].start, .interval(-10))
        XCTAssertEqual(i[7].parameters, ["kw": 4, "meter_factor": 0.8])

        var c = SimulationConfig()
        s.apply(to: &c)
        XCTAssertEqual(c.seed, 42)
        XCTAssertEqual(c.historyIntervals, 144)
        let m = GridModel(config: c)
        XCTAssertEqual(m.incidentProblems, [])
        let a = m.topology.assets
        XCTAssertEqual(a[m.incidents[0].asset].code, "C-00007")
        XCTAssertEqual(m.incidents[0].fromIndex, 144 + 4)
        XCTAssertEqual(m.incidents[1].fromIndex, 144 - 24)
        XCTAssertEqual(m.incidents[1].toIndex, 144 + 299)  // interval 299 is the first completed at 300 s (1 s each)
        XCTAssertEqual(a[m.incidents[2].segment].code, "TX-0002")
        XCTAssertEqual(m.incidents[2].fromIndex, 144 + 89)  // completes at 90 s
        XCTAssertEqual(m.incidents[3].fromIndex, 144 + c.theftIntervalIndex, "no start: --theft-after")
        XCTAssertEqual(m.incidents[6].fromIndex, 134)
        XCTAssertEqual(m.incidents[6].toIndex, 164)
        XCTAssertEqual(m.incidents[7].action, .theft(.unmeteredLoad(kw: 4, meterFactor: 0.8)))
        XCTAssertEqual(m.incidents[8].asset, m.incidents[8].segment)
        XCTAssertEqual(a[m.incidents[8].asset].code, "TX-0005")
        XCTAssertGreaterThan(a[m.incidents[9].asset].pvKwp, 0, "an over-claimer is a prosumer")
        XCTAssertEqual(m.incidents[9].toIndex, m.incidents[9].fromIndex + 1, "one transfer by default")
        XCTAssertEqual(a[m.incidents[10].asset].code, "TX-0004")
        XCTAssertEqual(m.incidents[11].action, .duplicateReading(factor: 0.5))
    }

    /// (file text, line expected in the error, key expected, words of the message)
    let broken: [(String, Int?, String?, String)] = [
        ("seed = 1\nconsumers = \n", 2, nil, "not valid TOML"),
        ("seed = 1\nseeds = 3\n", 2, "seeds", "unknown key"),
        ("# x\nseed = \"one\"\n", 2, "seed", "must be an integer"),
        ("nodes = 99\n", 1, "nodes", "out of range"),
        ("interval_every = \"0s\"\n", 1, "interval_every", "positive duration"),
        ("interval_every = \"fast\"\n", 1, "interval_every", "positive duration"),
        ("history_days = -1\n", 1, "history_days", "out of range"),
        ("seed = 1\n\n[[incident]]\nkind = \"h9\"\nstart = 3\n", 4, "incident[1].kind", "unknown kind \"h9\""),
        ("[[incident]]\nkind = \"h1\"\n\n[[incident]]\nstart = 3\n", 4, "incident[2].kind", "missing"),
        ("[[incident]]\nkind = \"h1\"\nstart = 3\nalpha = 1.5\n", 4, "incident[1].alpha", "out of range"),
        ("[[incident]]\nkind = \"h1\"\nkw = 3\n", 3, "incident[1].kw", "unknown for kind h1"),
        ("[[incident]]\nkind = \"bypass\"\nstart = \"soon\"\n", 3, "incident[1].start", "is not a time"),
        ("[[incident]]\nkind = \"bypass\"\nstart = 10\nend = 5\n", 4, "incident[1].end", "after start"),
        ("[[incident]]\nkind = \"h3\"\nlo = 0.6\nhi = 0.2\n", 4, "incident[1].hi", "below lo"),
        ("[[incident]]\nkind = \"duplicate\"\nfactor = 1\n", 3, "incident[1].factor", "must not be 1"),
        ("[[incident]]\nkind = \"silent\"\ntarget = 42\n", 3, "incident[1].target", "asset code"),
        ("[[incident]]\nkind = \"silent\"\nstart = true\n", 3, "incident[1].start", "number or a string"),
        ("[incident]\nkind = \"silent\"\n", 1, "incident", "array of tables"),
    ]

    func testBrokenFilesNameTheLineAndKey() {
        for (text, line, key, words) in broken {
            XCTAssertThrowsError(try Scenario(toml: text, name: "b", file: "broken.toml"), text) { e in
                guard let e = e as? ScenarioError else { return XCTFail("\(e)") }
                XCTAssertEqual(e.file, "broken.toml")
                XCTAssertEqual(e.line, line, "\(text) → \(e)")
                XCTAssertEqual(e.key, key, "\(text) → \(e)")
                XCTAssert(e.description.contains(words), "\(e) should say \(words)")
                XCTAssert(e.description.hasPrefix("broken.toml" + (line.map { ":\($0)" } ?? "") + ": "), e.description)
            }
        }
    }

    func testMissingFileIsAClearError() {
        XCTAssertThrowsError(try Scenario.load(path: "/nonexistent/x.toml")) { e in
            XCTAssert("\(e)".hasPrefix("/nonexistent/x.toml: cannot read the file"), "\(e)")
        }
    }

    func testIncidentFlagSyntax() throws {
        XCTAssertEqual(try IncidentSpec(parsing: "h1:alpha=0.3@2m"),
                       IncidentSpec(kind: .h1, start: .after(.seconds(120)), parameters: ["alpha": 0.3]))
        XCTAssertEqual(try IncidentSpec(parsing: "bypass:target=C-00042@90s"),
                       IncidentSpec(kind: .bypass, target: "C-00042", start: .after(.seconds(90))))
        XCTAssertEqual(try IncidentSpec(parsing: "silent@3m..5m"),
                       IncidentSpec(kind: .silent, start: .after(.seconds(180)), end: .after(.seconds(300))))
        XCTAssertEqual(try IncidentSpec(parsing: "hookup:kw=3,transformer=TX-0004@-6h"),
                       IncidentSpec(kind: .hookup, transformer: "TX-0004", start: .before(seconds: 21_600), parameters: ["kw": 3]))
        XCTAssertEqual(try IncidentSpec(parsing: "duplicate@12"), IncidentSpec(kind: .duplicate, start: .interval(12)))
        XCTAssertEqual(try IncidentSpec(parsing: "h5"), IncidentSpec(kind: .h5))
        XCTAssertEqual(try IncidentSpec(parsing: "h2:min_hours=1.5,max_hours=2@-1.5h..-1h"),
                       IncidentSpec(kind: .h2, start: .before(seconds: 5400), end: .before(seconds: 3600),
                                    parameters: ["min_hours": 1.5, "max_hours": 2]))
        let bad: [(String, String)] = [
            ("h7", "unknown kind"), ("h1:alpha=x", "must be a number"), ("h1:alpha", "expected key=value"),
            ("h1:beta=0.2", "unknown for kind h1"), ("bypass@soon", "is not a time"), ("overclaim:factor=1,extra_wh=0", "above 1"),
            ("h1:alpha=0.2,alpha=0.3", "given twice"),
        ]
        for (text, words) in bad {
            XCTAssertThrowsError(try IncidentSpec(parsing: text), text) { e in
                XCTAssert("\(e)".contains(words), "\(text): \(e)")
            }
        }
    }

    func testPlacementProblemsAreReported() {
        func problems(_ specs: [IncidentSpec], history: Double = 0) -> [String] {
            var c = SimulationConfig()
            c.consumers = 200
            c.historyDays = history
            c.incidents = specs
            return GridModel(config: c).incidentProblems.map(\.description)
        }
        XCTAssertEqual(problems([IncidentSpec(kind: .h1), IncidentSpec(kind: .bypass, target: "C-99999")]),
                       ["incident 2: no asset \"C-99999\" on this grid (give a code such as C-00042 or TX-0003, an id or an exact name)"])
        XCTAssert(problems([IncidentSpec(kind: .hookup, target: "C-00003")])[0].contains("targets a transformer"))
        XCTAssert(problems([IncidentSpec(kind: .h1, target: "TX-0001")])[0].contains("targets a consumer's meter"))
        XCTAssert(problems([IncidentSpec(kind: .h1, transformer: "TX-9999")])[0].contains("no transformer \"TX-9999\""))
        XCTAssert(problems([IncidentSpec(kind: .h1, target: "C-00003"), IncidentSpec(kind: .bypass, target: "C-00003")])[0]
            .contains("already tampered with by incident 1"))
        XCTAssert(problems([IncidentSpec(kind: .silent, start: .before(seconds: 3600))])[0].contains("before the first history interval"))
        XCTAssertEqual(problems([IncidentSpec(kind: .silent, start: .before(seconds: 3600))], history: 1), [])
        XCTAssertThrowsError(try SimulatedNetwork(checking: {
            var c = SimulationConfig()
            c.incidents = [IncidentSpec(kind: .silent, target: "nope")]
            return c
        }())) { e in XCTAssert("\(e)".hasPrefix("incident 1: no asset \"nope\""), "\(e)") }
    }
}
