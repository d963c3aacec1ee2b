// GridSimulator — the embedded simulated network (see docs/architecture.md).
//
// A simulator, and it says so on the wire: never a ledger to run in production.
//
// Layout, from physics to sockets:
//
//   Random.swift           SplitMix64 streams keyed by (seed, domain, index): every
//                          interval is a pure function of the seed, computable alone.
//   SimulationConfig.swift The public knobs; epoch (2026-11-20T00:00Z, 900 s aligned)
//                          and the exact theft interval derived from them.
//   GridTopology.swift     The tree derived from the number of consumers (transformers of
//                          50–150 consumers, feeders, substations, generators sized to the
//                          load); names (optionally hostile), meter bias, loss parameters.
//   ConsumerProfile.swift  Per-consumer habits and equipment (daily/weekly shape, season,
//                          PV, EV, battery), calendar and weather; one consumer's energy.
//   GridModel.swift        One metering interval: segment losses (no-load + k·E² on
//                          throughput), dispatch, the scripted theft, P2P trades.
//   MeterDelivery.swift    The meter model: bias, random error, 1 Wh registers; missing
//                          and late readings.
//   SimulatorBenchmarks.swift  Grid build and interval timing for `make bench`.
//   GroundTruth.swift      The incidents staged, as the ground-truth JSON file.
//   Ledger.swift           The one chain all nodes serve: QBFT-like blocks
//                          (keccak(rlp(header)) hashes, real log blooms), transactions
//                          per data concentrator, logs kept as decoded events.
//   RPCService.swift       go-ethereum-shaped JSON-RPC 2.0 (transport-free).
//   Subscriptions.swift    WebSocket sessions, newHeads/logs pushes, bounded queues.
//   NodeServer.swift       One Hummingbird server per node: WebSocket + HTTP POST on `/`.
//   SimulatedNetwork.swift The public entry point: start/stop, block production clock,
//                          scheduling of registrations and interval readings.
//
// Later issues (more incidents, faults, reorgs, node outages) plug in at GridModel
// (new physics/attacks, new GroundTruth incidents), Ledger (forks, removed logs)
// and NodeServer/RPCService (per-node faults, latency).
