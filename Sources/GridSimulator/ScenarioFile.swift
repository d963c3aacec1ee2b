import Foundation
import TOMLKit

/// A scenario: the grid's size and timing and a timeline of incidents, read from a TOML file
/// (format: docs/scenarios.md, examples: scenarios/*.toml). Every key is checked; a broken
/// file gives a `ScenarioError` naming the line and key, and nothing is started.
public struct Scenario: Sendable, Equatable {
    public var name: String
    public var description: String?
    public var seed: UInt64?
    public var consumers: Int?
    public var nodes: Int?
    public var blockTime: Duration?
    public var intervalEvery: Duration?
    public var intervalSeconds: UInt32?
    public var historyDays: Double?
    public var incidents: [IncidentSpec] = []

    public init(name: String) { self.name = name }

    /// Sets what the scenario gives (the rest of `config` is kept); its incidents replace the default theft.
    public func apply(to config: inout SimulationConfig) {
        if let seed { config.seed = seed }
        if let consumers { config.consumers = consumers }
        if let nodes { config.nodes = nodes }
        if let blockTime { config.blockTime = blockTime }
        if let intervalEvery { config.intervalEvery = intervalEvery }
        if let intervalSeconds { config.intervalSeconds = intervalSeconds }
        if let historyDays { config.historyDays = historyDays }
        config.incidents = (config.incidents ?? []) + incidents
        config.scenarioName = name
    }

    /// Reads and checks a scenario file.
    public static func load(path: String) throws(ScenarioError) -> Scenario {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ScenarioError(file: path, line: nil, key: nil, message: "cannot read the file (\(error.localizedDescription))")
        }
        let base = (path as NSString).lastPathComponent
        let name = base.hasSuffix(".toml") ? String(base.dropLast(5)) : base
        return try Scenario(toml: text, name: name, file: path)
    }

    static let topKeys = ["name", "description", "seed", "consumers", "nodes", "block_time", "interval_every",
                          "interval_seconds", "history_days", "incident"]

    /// Parses a scenario from TOML text; `file` only names it in errors.
    public init(toml text: String, name: String, file: String = "scenario") throws(ScenarioError) {
        let lines = SourceLines(text)
        func fail(_ key: String?, _ message: String, incident: Int? = nil) -> ScenarioError {
            let line = incident.map { lines.line(ofKey: key, inIncident: $0) } ?? key.flatMap { lines.line(ofTopKey: $0) }
            return ScenarioError(file: file, line: line, key: incident.map { n in "incident[\(n + 1)]" + (key.map { ".\($0)" } ?? "") } ?? key,
                                 message: message)
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ScenarioError(file: file, line: e.source.begin.line, key: nil, message: "not valid TOML: \(e.description)")
        } catch {
            throw ScenarioError(file: file, line: nil, key: nil, message: "not valid TOML: \(error)")
        }
        self.init(name: name)
        for key in table.keys where !Self.topKeys.contains(key) {
            throw fail(key, "unknown key (allowed: \(Self.topKeys.joined(separator: ", ")))")
        }
        func string(_ key: String) throws(ScenarioError) -> String? {
            guard let v = table[key] else { return nil }
            guard let s = v.string else { throw fail(key, "must be a string") }
            return s
        }
        func integer(_ key: String, _ range: ClosedRange<Int>) throws(ScenarioError) -> Int? {
            guard let v = table[key] else { return nil }
            guard let i = v.int else { throw fail(key, "must be an integer") }
            guard range.contains(i) else { throw fail(key, "\(i) is out of range \(range.lowerBound)…\(range.upperBound)") }
            return i
        }
        func duration(_ key: String) throws(ScenarioError) -> Duration? {
            guard let s = try string(key) else { return nil }
            guard case .after(let d)? = IncidentTime.parse(s), d > .zero, s.last?.isLetter == true else {
                throw fail(key, "\"\(s)\" is not a positive duration such as \"500ms\", \"5s\" or \"1m\"")
            }
            return d
        }
        if let n = try string("name") { self.name = n }
        description = try string("description")
        seed = try integer("seed", 0...Int.max).map(UInt64.init)
        consumers = try integer("consumers", 1...10_000_000)
        nodes = try integer("nodes", 1...64)
        blockTime = try duration("block_time")
        intervalEvery = try duration("interval_every")
        intervalSeconds = try integer("interval_seconds", 60...86_400).map(UInt32.init)
        if let v = table["history_days"] {
            guard let d = v.double ?? v.int.map(Double.init) else { throw fail("history_days", "must be a number of days") }
            guard (0...366).contains(d) else { throw fail("history_days", "\(d) is out of range 0…366") }
            historyDays = d
        }
        guard let list = table["incident"] else { return }
        guard let array = list.array else {
            throw fail("incident", "must be an array of tables: write each incident under its own [[incident]] header")
        }
        for (n, element) in array.enumerated() {
            guard let t = element.table else { throw fail(nil, "must be a table of keys", incident: n) }
            var values: [(key: String, value: IncidentSpec.Value)] = []
            for key in t.keys {
                guard let v = t[key] else { continue }
                if let i = v.int { values.append((key, .integer(i))) }
                else if let d = v.double { values.append((key, .number(d))) }
                else if let s = v.string { values.append((key, .text(s))) }
                else { throw fail(key, "must be a number or a string", incident: n) }
            }
            do {
                incidents.append(try IncidentSpec(values: values))
            } catch {
                throw fail(error.key, error.message, incident: n)
            }
        }
    }
}

/// A broken scenario: where (file, line, key) and why.
public struct ScenarioError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    /// `seed`, `incident[2].alpha`…
    public var key: String?
    public var message: String

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if let key { s += "\(key): " }
        return s + message
    }
}

/// Finds the line of a key in a TOML text (TOMLKit does not keep source positions of values).
struct SourceLines {
    let lines: [Substring]

    init(_ text: String) { lines = text.split(separator: "\n", omittingEmptySubsequences: false) }

    private static func isHeader(_ l: Substring) -> Bool { l.trimmingWhitespace.hasPrefix("[") }

    private static func defines(_ l: Substring, _ key: String) -> Bool {
        let t = l.trimmingWhitespace
        guard t.hasPrefix(key) else { return false }
        return t.dropFirst(key.count).trimmingWhitespace.hasPrefix("=")
    }

    /// 1-based line of a top-level `key = …` (before the first table header).
    func line(ofTopKey key: String) -> Int? {
        for (i, l) in lines.enumerated() {
            if Self.isHeader(l) { break }
            if Self.defines(l, key) { return i + 1 }
        }
        if key == "incident" { return lines.firstIndex { $0.trimmingWhitespace.hasPrefix("[incident") }.map { $0 + 1 } }
        return nil
    }

    /// 1-based line of `key` in the `n`-th `[[incident]]` table (its header line when the key is absent).
    func line(ofKey key: String?, inIncident n: Int) -> Int? {
        var seen = -1
        var header: Int?
        for (i, l) in lines.enumerated() {
            if Self.isHeader(l) {
                if header != nil { break }
                if l.filter({ !$0.isWhitespace }).hasPrefix("[[incident]]") {
                    seen += 1
                    if seen == n { header = i }
                }
                continue
            }
            if header != nil, let key, Self.defines(l, key) { return i + 1 }
        }
        return header.map { $0 + 1 }
    }
}
