/// The kinds of incident the simulator can stage (their names in scenario files and on the command line).
public enum IncidentKind: String, Sendable, Equatable, CaseIterable {
    /// Meter tampering by a household (Jokar et al. 2016), see `TheftAttack`.
    case h1, h2, h3, h4, h5, h6
    /// The household's meter is bypassed: it records 0.
    case bypass
    /// The default demo's theft: a hook-up behind the household's meter plus the meter under-reporting.
    case unmeteredLoad = "unmetered-load"
    /// An unmetered hook-up on an LV segment's line: extra load, no meter tampered.
    case hookup
    /// A P2P transfer claiming more than the seller's meter exported.
    case overclaim
    /// A meter stops reporting.
    case silent
    /// A second, different reading for the same asset and interval.
    case duplicate

    /// Hides energy from the chain (a theft), as opposed to a data incident.
    var isTheft: Bool {
        switch self {
        case .overclaim, .silent, .duplicate: false
        default: true
        }
    }

    /// Tampers with the target household's own meter.
    var tampersMeter: Bool { isTheft && self != .hookup }

    /// The `kind` of its ground-truth record.
    public var truthKind: String {
        switch self {
        case .overclaim: "transfer-overclaim"
        case .silent: "silent-meter"
        case .duplicate: "duplicate-reading"
        default: "theft"
        }
    }

    /// The alarm (Alerts' `AlarmKind` raw name) a monitor should raise for it.
    public var expectedAlarm: String {
        switch self {
        case .overclaim: "transfer-mismatch"
        case .silent: "stale-meter"
        case .duplicate: "conflicting-reading"
        default: "suspected-theft"
        }
    }

    /// Its parameters: key, default (nil: drawn from the seed), allowed range, and what it means.
    struct Parameter {
        let key: String
        let defaultValue: Double?
        let range: ClosedRange<Double>
        let help: String
    }

    var parameters: [Parameter] {
        switch self {
        case .h1: [Parameter(key: "alpha", defaultValue: 0.5, range: 0...1, help: "fraction the meter still records")]
        case .h2: [Parameter(key: "min_hours", defaultValue: 4, range: 0...24, help: "shortest daily off window"),
                   Parameter(key: "max_hours", defaultValue: 8, range: 0...24, help: "longest daily off window")]
        case .h3, .h4: [Parameter(key: "lo", defaultValue: 0.1, range: 0...1, help: "lowest fraction"),
                        Parameter(key: "hi", defaultValue: 0.8, range: 0...1, help: "highest fraction")]
        case .h5, .h6, .bypass, .silent: []
        case .unmeteredLoad: [Parameter(key: "kw", defaultValue: nil, range: 0...1000, help: "hooked-up load, default 3–5 kW by seed"),
                              Parameter(key: "meter_factor", defaultValue: 0.5, range: 0...1, help: "fraction the meter still records")]
        case .hookup: [Parameter(key: "kw", defaultValue: 2, range: 0...10_000, help: "load hung on the line")]
        case .overclaim: [Parameter(key: "factor", defaultValue: 2, range: 1...1000, help: "claim = factor × metered export"),
                          Parameter(key: "extra_wh", defaultValue: 500, range: 0...1e9, help: "claim at least export + this")]
        case .duplicate: [Parameter(key: "factor", defaultValue: 1.25, range: 0...1000, help: "second value = factor × first")]
        }
    }
}

/// When an incident starts or ends.
public enum IncidentTime: Sendable, Equatable, CustomStringConvertible {
    /// This interval, counted from the first live interval (negative: in the `--history` days).
    case interval(Int)
    /// The first interval completed this much real time after the live start (like `--theft-after`).
    case after(Duration)
    /// This much simulated time before the live start (in the `--history` days).
    case before(seconds: UInt64)

    public var description: String {
        switch self {
        case .interval(let k): "interval \(k)"
        case .after(let d): FaultScript.format(d)
        case .before(let s): "-\(s)s simulated"
        }
    }

    /// Parses `12` (interval), `-96` (interval in the history), `90s`/`2m`/`1h` (real time after the live
    /// start), `-6h`/`-1d`/`-30m` (simulated time before it).
    static func parse(_ text: String) -> IncidentTime? {
        let t = text.trimmingWhitespace
        if let k = Int(t) { return .interval(k) }
        if t.hasPrefix("-") {
            let body = t.dropFirst()
            let units: [(String, Double)] = [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)]
            for (u, scale) in units where body.hasSuffix(u) && !body.hasSuffix("ms") {
                guard let v = Double(body.dropLast(u.count)), v >= 0, v.isFinite else { return nil }
                return .before(seconds: UInt64((v * scale).rounded()))
            }
            return nil
        }
        if t.hasSuffix("h"), let v = Double(t.dropLast()), v >= 0, v.isFinite {
            return .after(.milliseconds(Int64((v * 3_600_000).rounded())))
        }
        guard t.last?.isLetter == true, let d = FaultScript.duration(Substring(t)) else { return nil }
        return .after(d)
    }
}

/// One incident as a scenario asks for it (before the grid exists to resolve its target).
public struct IncidentSpec: Sendable, Equatable {
    public var kind: IncidentKind
    /// Asset code (`C-00042`, `TX-0003`), id (`0x…`) or exact name; nil: picked by seed.
    public var target: String?
    /// For a picked target: pick it under this transformer (code, id or name).
    public var transformer: String?
    /// nil: the config's `theftAfter` (the `--theft-after` flag, 60 s by default).
    public var start: IncidentTime?
    /// Exclusive; nil: until the run ends.
    public var end: IncidentTime?
    /// The kind's parameters that were given (validated); the rest take their defaults.
    public var parameters: [String: Double]

    public init(kind: IncidentKind, target: String? = nil, transformer: String? = nil, start: IncidentTime? = nil,
                end: IncidentTime? = nil, parameters: [String: Double] = [:]) {
        self.kind = kind; self.target = target; self.transformer = transformer; self.start = start; self.end = end
        self.parameters = parameters
    }

    /// A value as written in a scenario file or on the command line.
    public enum Value: Sendable, Equatable {
        case integer(Int)
        case number(Double)
        case text(String)

        var number: Double? {
            switch self {
            case .integer(let i): Double(i)
            case .number(let d): d
            case .text(let s): Double(s.trimmingWhitespace)
            }
        }
        var text: String {
            switch self {
            case .integer(let i): String(i)
            case .number(let d): String(d)
            case .text(let s): s
            }
        }
    }

    /// What is wrong with one incident, and under which key.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var key: String?
        public var message: String
        public var description: String { key.map { "key \"\($0)\": \(message)" } ?? message }
    }

    static let commonKeys = ["kind", "target", "transformer", "start", "end"]

    /// Builds an incident from its keys (a scenario file's `[[incident]]` table or a `--incident` flag);
    /// every key is checked: unknown keys, wrong types and out-of-range values are refused.
    public init(values: [(key: String, value: Value)]) throws(Problem) {
        guard let kindValue = values.first(where: { $0.key == "kind" })?.value else {
            throw Problem(key: "kind", message: "missing (one of \(IncidentKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard case .text(let kindText) = kindValue, let kind = IncidentKind(rawValue: kindText.trimmingWhitespace) else {
            throw Problem(key: "kind", message: "unknown kind \"\(kindValue.text)\" (one of \(IncidentKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.init(kind: kind)
        let params = kind.parameters
        var seen = Set<String>()
        for (key, value) in values {
            guard seen.insert(key).inserted else { throw Problem(key: key, message: "given twice") }
            switch key {
            case "kind": continue
            case "target", "transformer":
                guard case .text(let s) = value, !s.trimmingWhitespace.isEmpty else {
                    throw Problem(key: key, message: "must be an asset code, id or name, e.g. \"C-00042\" or \"TX-0003\"")
                }
                let v = s.trimmingWhitespace
                if key == "target" { target = v == "auto" ? nil : v } else { transformer = v }
            case "start", "end":
                let time: IncidentTime?
                switch value {
                case .integer(let k): time = .interval(k)
                case .text(let s): time = IncidentTime.parse(s)
                case .number: time = nil
                }
                guard let time else {
                    throw Problem(key: key, message: "\"\(value.text)\" is not a time: an interval number (12, -96), real time after the start (\"90s\", \"2m\", \"1h\") or simulated time before it (\"-6h\", \"-1d\")")
                }
                if key == "start" { start = time } else { end = time }
            default:
                guard let p = params.first(where: { $0.key == key }) else {
                    let allowed = (Self.commonKeys + params.map(\.key)).joined(separator: ", ")
                    throw Problem(key: key, message: "unknown for kind \(kind.rawValue) (allowed: \(allowed))")
                }
                guard let x = value.number, x.isFinite else { throw Problem(key: key, message: "must be a number (\(p.help))") }
                guard p.range.contains(x) else {
                    throw Problem(key: key, message: "\(value.text) is out of range \(fmtNumber(p.range.lowerBound))…\(fmtNumber(p.range.upperBound)) (\(p.help))")
                }
                parameters[key] = x
            }
        }
        try checkConsistency()
    }

    private func checkConsistency() throws(Problem) {
        switch kind {
        case .h2 where value("min_hours") > value("max_hours"):
            throw Problem(key: "max_hours", message: "must not be below min_hours")
        case .h3 where value("lo") > value("hi"), .h4 where value("lo") > value("hi"):
            throw Problem(key: "hi", message: "must not be below lo")
        case .overclaim where value("factor") <= 1 && value("extra_wh") < 1:
            throw Problem(key: "factor", message: "with extra_wh = 0 the factor must be above 1, or nothing is over-claimed")
        case .duplicate where value("factor") == 1:
            throw Problem(key: "factor", message: "must not be 1 (the duplicate must differ)")
        default: break
        }
        if case .interval(let a)? = start, case .interval(let b)? = end, b <= a {
            throw Problem(key: "end", message: "must be after start")
        }
    }

    /// A parameter's value: given, or the kind's default (nil: no default, drawn from the seed).
    func value(_ key: String) -> Double {
        parameters[key] ?? kind.parameters.first { $0.key == key }?.defaultValue ?? 0
    }

    /// Parses one `--incident` flag: `KIND[:key=value,...][@START[..END]]`, e.g.
    /// `h1:alpha=0.3@2m`, `bypass:target=C-00042@90s`, `silent@3m..5m`, `hookup:kw=3,transformer=TX-0004@-6h`.
    public init(parsing text: String) throws(Problem) {
        var rest = Substring(text.trimmingWhitespace)
        var start: String?, end: String?
        if let at = rest.lastIndex(of: "@") {
            let when = rest[rest.index(after: at)...]
            rest = rest[..<at]
            var i = when.startIndex
            start = String(when)
            while i < when.endIndex {
                let j = when.index(after: i)
                if j < when.endIndex, when[i] == ".", when[j] == "." {
                    start = String(when[..<i]); end = String(when[when.index(after: j)...])
                    break
                }
                i = j
            }
        }
        var values: [(key: String, value: Value)] = []
        let kind: Substring
        if let colon = rest.firstIndex(of: ":") {
            kind = rest[..<colon]
            for pair in rest[rest.index(after: colon)...].split(separator: ",") {
                guard let eq = pair.firstIndex(of: "=") else {
                    throw Problem(key: String(pair), message: "expected key=value")
                }
                let key = String(pair[..<eq]).trimmingWhitespace
                values.append((key, .text(String(pair[pair.index(after: eq)...]))))
            }
        } else {
            kind = rest
        }
        values.insert(("kind", .text(String(kind))), at: 0)
        if let start { values.append(("start", .text(start))) }
        if let end { values.append(("end", .text(end))) }
        try self.init(values: values)
    }
}

/// An incident placed on the grid: its target asset, its segment and its interval range.
struct ResolvedIncident: Sendable, Equatable {
    /// Position in the scenario (0-based); also selects its random streams.
    let ordinal: Int
    let kind: IncidentKind
    let action: IncidentAction
    /// The asset whose meter or line it touches (the transformer for a line hook-up).
    let asset: Int
    /// The segment whose balance shows it: the asset's transformer (the transformer itself for a hook-up).
    let segment: Int
    /// The buyer of an over-claimed transfer.
    let counterparty: Int?
    let fromIndex: Int
    /// Exclusive; nil: open-ended.
    let toIndex: Int?
    /// The parameters in force (defaults and seeded values filled in), for the ground truth.
    let parameters: [String: Double]

    func isActive(_ k: Int) -> Bool { k >= fromIndex && toIndex.map { k < $0 } ?? true }
}

/// What an incident does to the grid, with every parameter settled.
enum IncidentAction: Sendable, Equatable {
    case theft(TheftAttack)
    case lineHookup(kw: Double)
    case transferOverclaim(factor: Double, extraWh: Double)
    case silentMeter
    case duplicateReading(factor: Double)
}

/// Why a scenario's incidents cannot be placed on this grid.
public struct IncidentError: Error, Equatable, CustomStringConvertible {
    /// 1-based incident number.
    public var incident: Int
    public var message: String
    public var description: String { "incident \(incident): \(message)" }
}

func fmtNumber(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
}

extension StringProtocol {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
