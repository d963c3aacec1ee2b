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
//   GridTopology.swift     Root, generators, substations, feeders, transformers,
//                          consumers/prosumers; names (optionally hostile), meter bias,
//                          loss parameters.
//   GridModel.swift        One metering interval: load and PV profiles, segment losses
//                          (no-load + k·E² on throughput), dispatch, the scripted theft,
//                          meter readings (bias, 1 Wh), P2P trades.
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
