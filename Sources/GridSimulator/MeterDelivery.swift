import GridCore

/// A reading the head-end system delivers only with a later interval's batch.
struct DelayedReading: Sendable, Equatable {
    /// Asset index of the meter.
    let asset: Int
    /// The reading itself (the same value it would have had on time).
    let reading: MeterReading
    /// How many intervals later it arrives (1 or 2).
    let byIntervals: Int
}

/// The meter model: what each meter's register shows (bias, random error, 1 Wh
/// resolution) and whether the reading reaches the chain on time, late or never.
extension GridModel {
    static let deliveryDomain: UInt64 = 0x6465_6C69_7665_7279  // "delivery"

    /// Every asset's reading of interval `k`, in asset order: true energy (or a tampered
    /// meter's `metered` value) × (1 + fixed bias + random error), rounded to 1 Wh.
    /// The root has no meter of its own (0/0).
    func meterReadings(_ k: Int, trueNetWh: [Double], metered: [Double?]) -> [MeterReading] {
        let assets = topology.assets
        let start = config.intervalStart(k)
        let secs = config.intervalSeconds
        var noise = SplitMix64(seed: config.seed, stream: Self.meterNoiseDomain, UInt64(k))
        let noisy = physics.meterNoise > 0
        return [MeterReading](unsafeUninitializedCapacity: assets.count) { buffer, count in
            for i in assets.indices {
                let split: MeterSplit
                if i == topology.root {
                    split = MeterSplit(importWh: 0, exportWh: 0)
                } else {
                    let e = noisy ? physics.meterNoise * noise.gaussian() : 0
                    split = Self.meterValue(metered[i] ?? trueNetWh[i], bias: assets[i].meterBias + e)
                }
                (buffer.baseAddress! + i).initialize(to: MeterReading(
                    asset: assets[i].id, intervalStart: start, intervalSeconds: secs,
                    importWh: split.importWh, exportWh: split.exportWh))
            }
            count = assets.count
        }
    }

    /// Which AMI readings (consumers' and transformers' meters, read through data
    /// concentrators) of interval `k` never arrive, and which arrive 1–2 intervals late,
    /// at the config's rates. SCADA meters upstream always report. Both lists ascend by asset.
    func delivery(_ k: Int) -> (missing: [Int], late: [(asset: Int, by: Int)]) {
        let pMissing = max(0, config.missingReadingRate), pLate = max(0, config.lateReadingRate)
        guard pMissing > 0 || pLate > 0 else { return ([], []) }
        var r = SplitMix64(seed: config.seed, stream: Self.deliveryDomain, UInt64(bitPattern: Int64(k)))
        var missing: [Int] = [], late: [(asset: Int, by: Int)] = []
        // Consumers and transformers in asset order (each transformer precedes its consumers).
        for t in topology.transformers {
            for i in [t] + topology.assets[t].children {
                let u = r.unit()
                if u < pMissing { missing.append(i) } else if u < pMissing + pLate { late.append((i, u < pMissing + pLate / 2 ? 1 : 2)) }
            }
        }
        return (missing, late)
    }
}
