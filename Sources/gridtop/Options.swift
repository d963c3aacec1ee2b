import ArgumentParser
import GridSimulator

/// Options of the embedded simulated network, shared by `demo` and `sim`.
struct SimulationOptions: ParsableArguments {
    // Options a scenario file can also set are optional here: given, they override the file.
    @Option(name: .customLong("nodes"), help: "Number of simulated validator nodes (default: 4).")
    var nodesOption: Int?
    @Option(name: .customLong("block-time"), help: "Real time between blocks (e.g. 1s, 500ms; default: 1s).")
    var blockTimeOption: DurationArgument?
    @Option(name: .customLong("interval-every"), help: "Real time per simulated 15-minute metering interval (default: 5s).")
    var intervalEveryOption: DurationArgument?
    @Option(name: .customLong("consumers"), help: "Number of consumers (at least 500; default: 520).")
    var consumersOption: Int?
    @Option(name: .customLong("seed"), help: "Seed: the same seed gives the same grid and the same incidents (default: 1).")
    var seedOption: UInt64?
    @Option(help: ArgumentHelp(
        "Scenario file (TOML): grid size, timing and a timeline of incidents; see docs/scenarios.md and scenarios/.",
        valueName: "file"))
    var scenario: String?
    @Option(help: ArgumentHelp(
        "Incident, repeatable: KIND[:key=value,...][@START[..END]].",
        discussion: "KIND is h1…h6, bypass, unmetered-load, hookup, overclaim, silent or duplicate; keys are target=C-00042, transformer=TX-0003 and the kind's parameters (alpha, kw, factor…); START/END: 90s or 2m real time after the start, 12 (interval), -6h (simulated time in the --history). E.g. h1:alpha=0.3@2m, bypass:target=C-00042@90s, silent@3m..5m. Replaces the default theft; adds to a --scenario's incidents."))
    var incident: [String] = []
    @Option(help: ArgumentHelp("Build this many past days of chain at start (blocks with past timestamps) before going live.",
                               valueName: "days"))
    var history: Double?
    @Option(help: "Real time after which the scripted theft starts (and incidents without a start).")
    var theftAfter: DurationArgument = DurationArgument(.seconds(60))
    @Option(help: "Chain id of the simulated chain.")
    var chainId: UInt64 = 0x4752_4944
    @Option(help: "Write the ground truth of every incident (asset, transformer, intervals, energy) to this JSON file, kept current.")
    var truth: String?
    @Flag(help: "Give a few assets hostile names (escape sequences, bidi overrides) to test safe display.")
    var hostileNames = false
    @Option(help: ArgumentHelp(
        "Scripted fault, repeatable: [nodeN:]FAULT[=ARG][@AT][/EVERY][xCOUNT].",
        discussion: "FAULT is drop, restart=3s, slow=250ms, lag=5, reorg=3, lie, chain=1234, malformed, oversized=17MiB or no-ns=qbft; e.g. node2:lag=5@30s, node1:drop@10s/15s, reorg=2@40s/60sx3."))
    var fault: [String] = []

    var nodes: Int { (try? configuration())?.nodes ?? nodesOption ?? 4 }

    func validate() throws {
        if let n = nodesOption, !(1...64).contains(n) { throw ValidationError("--nodes must be between 1 and 64") }
        if let c = consumersOption, c < 500 { throw ValidationError("--consumers must be at least 500") }
        if blockTimeOption.map({ $0.duration <= .zero }) == true || intervalEveryOption.map({ $0.duration <= .zero }) == true {
            throw ValidationError("--block-time and --interval-every must be positive")
        }
        if theftAfter.duration < .zero { throw ValidationError("--theft-after must not be negative") }
        if let h = history, !(0...366).contains(h) { throw ValidationError("--history must be between 0 and 366 days") }
        let nodes: Int
        do {
            nodes = try configuration().nodes
        } catch {
            throw ValidationError("\(error)")
        }
        for f in fault {
            do {
                let script = try FaultScript(parsing: f)
                guard script.node < nodes else { throw ValidationError("--fault \(f): there are only \(nodes) nodes (node0…node\(nodes - 1))") }
            } catch let e as ValidationError {
                throw e
            } catch {
                throw ValidationError("--fault \(f): \(error)")
            }
        }
    }

    /// The run's configuration: the scenario file (if any), then the flags given.
    /// Throws `ScenarioError` for a broken file, `IncidentSpec.Problem` for a bad `--incident`.
    func configuration(basePort: Int? = nil) throws -> SimulationConfig {
        var c = SimulationConfig()
        if let scenario { try Scenario.load(path: scenario).apply(to: &c) }
        for text in incident {
            do {
                c.incidents = (c.incidents ?? []) + [try IncidentSpec(parsing: text)]
            } catch {
                throw ValidationError("--incident \(text): \(error)")
            }
        }
        if let nodesOption { c.nodes = nodesOption }
        c.basePort = basePort
        if let blockTimeOption { c.blockTime = blockTimeOption.duration }
        if let intervalEveryOption { c.intervalEvery = intervalEveryOption.duration }
        if let consumersOption { c.consumers = consumersOption }
        if let seedOption { c.seed = seedOption }
        if let history { c.historyDays = history }
        c.theftAfter = theftAfter.duration
        c.chainId = chainId
        c.hostileNames = hostileNames
        c.faults = fault.compactMap { try? FaultScript(parsing: $0) }
        return c
    }
}

/// A duration on the command line: `90s`, `500ms`, `5m`, `2h`, or bare seconds.
struct DurationArgument: ExpressibleByArgument, Sendable {
    var duration: Duration

    init(_ duration: Duration) { self.duration = duration }

    init?(argument: String) {
        guard let d = DurationArgument.parse(argument) else { return nil }
        duration = d
    }

    static func parse(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            // "5m" must not be read as "5" + "m" of "ms".
            if suffix == "m" && text.hasSuffix("ms") { continue }
            // A negative value parses (as a negative duration) so that the command can say
            // "must be positive" instead of the parser's "missing value".
            guard let v = Double(number), v.isFinite, abs(v) < 1e12 else { return nil }
            return .milliseconds(Int64((v * factor * 1000).rounded()))
        }
        guard let v = Double(text), v.isFinite, abs(v) < 1e12 else { return nil }
        return .milliseconds(Int64((v * 1000).rounded()))
    }

    var defaultValueDescription: String { "\(duration)" }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
