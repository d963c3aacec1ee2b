import ChainCore
import GridCore

/// What the placed incidents do in one interval: on the physics (tampered meters, loads on
/// the line) and on what reaches the chain (silent meters, duplicate readings, over-claims).
extension GridModel {
    /// Random streams of incident `ordinal`: incident 0 keeps the scripted theft's streams.
    static func incidentStream(_ base: UInt64, _ ordinal: Int) -> UInt64 {
        ordinal == 0 ? base : base ^ (UInt64(ordinal) &* 0xD6E8_FEB8_6659_FD93)
    }

    /// Household `c`'s true net energy in interval `k` from incident `ordinal`'s own stream, so any
    /// interval of its day can be recomputed (day-based attacks h4–h6).
    func ownNetWh(_ c: Int, _ k: Int, ordinal: Int) -> Double {
        var r = SplitMix64(seed: config.seed, stream: Self.incidentStream(Self.thiefLoadDomain, ordinal), UInt64(max(k, 0)))
        let p = topology.assets[c].profile
        return consumerNetWh(c, p, context(k, daySolar: p.batteryKwh > 0), rng: &r)
    }

    struct Tampering {
        /// Unmetered energy drawn on each transformer's line (by asset index).
        var lineWh: [Int: Double] = [:]
        /// Per incident (by ordinal): energy hidden from the meters this interval.
        var wh: [Double]
        var theftWh = 0.0
    }

    /// Applies the thefts of interval `k`: tampered meters (`metered` overrides) and hook-ups.
    func tamper(_ k: Int, trueNet: inout [Double], metered: inout [Double?]) -> Tampering {
        var out = Tampering(wh: [Double](repeating: 0, count: incidents.count))
        guard !incidents.isEmpty else { return out }
        let whPerKw = 1000 * intervalHours
        for inc in incidents {
            let stolen: Double
            switch inc.action {
            case .theft(let attack):
                let c = inc.asset
                // Day-based attacks need the whole day: the household's load then comes from its own stream.
                if attack.needsDay { trueNet[c] = ownNetWh(c, k, ordinal: inc.ordinal) }
                guard inc.isActive(k) else { continue }
                var hr = SplitMix64(seed: config.seed, stream: Self.incidentStream(RandomDomain.theft.rawValue, inc.ordinal),
                                    UInt64(k) + 1)
                if case .unmeteredLoad(let kw, let factor) = attack {
                    let hook = kw * whPerKw * hr.uniform(0.98, 1.02)  // the hook-up bypasses the meter
                    out.lineWh[inc.segment, default: 0] += hook
                    metered[c] = trueNet[c] * factor
                    stolen = hook + trueNet[c] * (1 - factor)
                } else {
                    let perDay = intervalsPerDay
                    let slot = k % perDay
                    var day: [Double]
                    if attack.needsDay {
                        let first = k - slot
                        day = (first..<(first + perDay)).map { ownNetWh(c, $0, ordinal: inc.ordinal) }
                    } else {
                        day = [Double](repeating: 0, count: perDay)
                        day[slot] = trueNet[c]
                    }
                    var dr = SplitMix64(seed: config.seed, stream: Self.incidentStream(Self.theftDayDomain, inc.ordinal),
                                        UInt64(k / perDay))
                    let reported = attack.reported(day: day, slot: slot, rng: &hr, dayRng: &dr)
                    metered[c] = reported
                    stolen = trueNet[c] - reported
                }
            case .lineHookup(let kw):
                guard inc.isActive(k) else { continue }
                var hr = SplitMix64(seed: config.seed, stream: Self.incidentStream(RandomDomain.theft.rawValue, inc.ordinal),
                                    UInt64(k) + 1)
                stolen = kw * whPerKw * hr.uniform(0.98, 1.02)
                out.lineWh[inc.asset, default: 0] += stolen
            default:
                continue
            }
            out.wh[inc.ordinal] = stolen
            out.theftWh += stolen
        }
        return out
    }

    struct ChainIncidents {
        /// Assets whose readings do not reach the chain this interval.
        var silenced: [Int] = []
        /// Second readings with other values for an asset and interval already read.
        var duplicates: [MeterReading] = []
        /// Transfers claiming more than the seller exported.
        var transfers: [EnergyTransfer] = []
    }

    /// The data incidents of interval `k`, given its honest readings; adds their energy to `wh`:
    /// silent: the unreported metered energy; duplicate: the difference; over-claim: the claim beyond the export.
    func chainIncidents(_ k: Int, readings: [MeterReading], wh: inout [Double]) -> ChainIncidents {
        var out = ChainIncidents()
        for inc in incidents where inc.isActive(k) {
            let r = readings[inc.asset]
            switch inc.action {
            case .silentMeter:
                out.silenced.append(inc.asset)
                wh[inc.ordinal] = Double(r.importWh) + Double(r.exportWh)
            case .duplicateReading(let factor):
                var d = r
                func other(_ v: UInt64) -> UInt64 {
                    let x = UInt64(max(0, (Double(v) * factor).rounded()))
                    return x != v ? x : (factor > 1 ? v + 10 : (v >= 10 ? v - 10 : v + 10))
                }
                if r.exportWh > r.importWh { d.exportWh = other(r.exportWh) } else { d.importWh = other(r.importWh) }
                out.duplicates.append(d)
                wh[inc.ordinal] = abs(Double(d.netInWh) - Double(r.netInWh))
            case .transferOverclaim(let factor, let extraWh):
                guard let buyer = inc.counterparty else { continue }
                let exported = r.exportWh
                let claim = max(UInt64((Double(exported) * factor).rounded()), exported + UInt64(extraWh.rounded()), exported + 1)
                var pr = SplitMix64(seed: config.seed, stream: Self.incidentStream(RandomDomain.transfers.rawValue, inc.ordinal + 1),
                                    UInt64(k))
                out.transfers.append(EnergyTransfer(from: topology.assets[inc.asset].id, to: topology.assets[buyer].id,
                                                    intervalStart: config.intervalStart(k), wh: claim,
                                                    priceMicrosPerKwh: UInt64(80_000 + pr.below(100) * 1000)))
                wh[inc.ordinal] = Double(claim - exported)
            default:
                continue
            }
        }
        return out
    }
}
