import ArgumentParser
import GridSimulator

/// Options of the embedded simulated network, shared by `demo` and `sim`.
struct SimulationOptions: ParsableArguments {
    @Option(help: "Number of simulated validator nodes.")
    var nodes: Int = 4
    @Option(help: "Real time between blocks (e.g. 1s, 500ms).")
    var blockTime: DurationArgument = DurationArgument(.seconds(1))
    @Option(help: "Real time per simulated 15-minute metering interval.")
    var intervalEvery: DurationArgument = DurationArgument(.seconds(5))
    @Option(help: "Number of consumers (at least 500).")
    var consumers: Int = 520
    @Option(help: "Seed: the same seed gives the same grid and the same incidents.")
    var seed: UInt64 = 1
    @Option(help: "Real time after which the scripted theft starts.")
    var theftAfter: DurationArgument = DurationArgument(.seconds(60))
    @Option(help: "Chain id of the simulated chain.")
    var chainId: UInt64 = 0x4752_4944
    @Option(help: "Write the ground truth (which asset steals, under which transformer, from when) to this JSON file.")
    var truth: String?
    @Flag(help: "Give a few assets hostile names (escape sequences, bidi overrides) to test safe display.")
    var hostileNames = false
    @Option(help: ArgumentHelp(
        "Scripted fault, repeatable: [nodeN:]FAULT[=ARG][@AT][/EVERY][xCOUNT].",
        discussion: "FAULT is drop, restart=3s, slow=250ms, lag=5, reorg=3, lie, chain=1234, malformed, oversized=17MiB or no-ns=qbft; e.g. node2:lag=5@30s, node1:drop@10s/15s, reorg=2@40s/60sx3."))
    var fault: [String] = []

    func validate() throws {
        guard (1...64).contains(nodes) else { throw ValidationError("--nodes must be between 1 and 64") }
        guard consumers >= 500 else { throw ValidationError("--consumers must be at least 500") }
        guard blockTime.duration > .zero, intervalEvery.duration > .zero else {
            throw ValidationError("--block-time and --interval-every must be positive")
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

    func configuration(basePort: Int? = nil) -> SimulationConfig {
        var c = SimulationConfig()
        c.nodes = nodes
        c.basePort = basePort
        c.blockTime = blockTime.duration
        c.intervalEvery = intervalEvery.duration
        c.consumers = consumers
        c.seed = seed
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
            guard let v = Double(number), v >= 0, v.isFinite else { return nil }
            return .milliseconds(Int64((v * factor * 1000).rounded()))
        }
        guard let v = Double(text), v >= 0, v.isFinite else { return nil }
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
