/// One consumer's fixed (per-seed) habits and equipment: what makes its meter
/// move differently from every other meter on the grid.
///
/// Drawn once by the topology; the interval model (`GridModel.consumerNetWh`)
/// turns it into energy with the interval's calendar, weather and randomness.
struct ConsumerProfile: Sendable, Equatable {
    /// Overall level (×0.45–2.45 of the mean household, mean 1, skewed: a few large users).
    var loadScale = 0.0
    /// Time shift of the whole day (hours, ±0.75): early risers and night owls.
    var shiftHours = 0.0
    /// Weights of the morning peak, the midday plateau and the evening peak (mean ≈ 1 each).
    var morning = 1.0, midday = 1.0, evening = 1.0
    /// Weekend: the morning starts this many hours later, and the day's level is scaled.
    var weekendLateHours = 1.0
    var weekendLevel = 1.0
    /// Seasonal sensitivity (electric heating/cooling share): level ∝ 1 + heating · cos(season).
    var heating = 0.0
    /// How often appliance-like events (kettle, oven, heat-pump boost) happen (×0.5–1.5).
    var spikiness = 1.0
    /// Rooftop PV peak power (kWp); 0 for households without PV.
    var pvKwp = 0.0
    /// EV charger power (kW: 3.7, 7.4 or 11); 0 without an EV.
    var evKw = 0.0
    /// Probability of a charging session on a weekday (weekends: 60 % of it).
    var evDailyChance = 0.0
    /// Mean weekday arrival hour (the session starts then).
    var evArrivalHour = 18.0
    /// Mean energy of a session (kWh).
    var evSessionKwh = 0.0
    /// Home battery capacity (kWh) and power (kW); 0 without a battery.
    var batteryKwh = 0.0
    var batteryKw = 0.0

    /// Shares of the consumer base (documented in docs/architecture.md, tested).
    static let prosumerShare = 0.15
    static let batteryShareOfProsumers = 0.35
    static let evShare = 0.12

    /// Draws one consumer's profile (a fixed number of draws per branch).
    static func draw(_ rng: inout SplitMix64) -> ConsumerProfile {
        var p = ConsumerProfile()
        // Level: log-uniform-ish, mean ≈ 1, a tail of large users.
        p.loadScale = 0.45 + rng.unit() * rng.unit() * 1.8 + rng.unit() * 0.2
        p.shiftHours = rng.uniform(-0.75, 0.75)
        p.morning = rng.uniform(0.4, 1.6)
        p.midday = rng.uniform(0.3, 1.7)
        p.evening = rng.uniform(0.6, 1.4)
        p.weekendLateHours = rng.uniform(0.5, 2.5)
        p.weekendLevel = rng.uniform(0.9, 1.3)
        p.heating = rng.uniform(0.05, 0.45)
        p.spikiness = rng.uniform(0.5, 1.5)
        if rng.chance(prosumerShare) {
            p.pvKwp = (rng.uniform(3, 8) * 10).rounded() / 10
            if rng.chance(batteryShareOfProsumers) {
                p.batteryKwh = (rng.uniform(5, 13.5) * 2).rounded() / 2
                p.batteryKw = (rng.uniform(2.5, 5) * 2).rounded() / 2
            }
        }
        if rng.chance(evShare) {
            let u = rng.unit()
            p.evKw = u < 0.4 ? 3.7 : u < 0.85 ? 7.4 : 11
            p.evDailyChance = rng.uniform(0.25, 0.8)
            p.evArrivalHour = rng.uniform(16.5, 20)
            p.evSessionKwh = rng.uniform(6, 20)
        }
        return p
    }

    /// The consumer's expected demand (kW, before level and season) at hour `h` of its day.
    func shapeKw(hour h: Double, weekend: Bool) -> Double {
        if weekend {
            return 0.45 + 0.75 * morning * Self.bump(h, 7.5 + weekendLateHours, 1.6)
                + 0.6 * midday * Self.bump(h, 13, 2.8) + 1.4 * evening * Self.bump(h, 19, 1.9)
        }
        return 0.45 + 0.9 * morning * Self.bump(h, 7.5, 1.2) + 0.35 * midday * Self.bump(h, 13, 2.5)
            + 1.4 * evening * Self.bump(h, 19, 1.8)
    }

    /// A Gaussian bump on the 24-hour circle.
    @inline(__always) static func bump(_ h: Double, _ centre: Double, _ width: Double) -> Double {
        var d = abs(h - centre)
        d = min(d, 24 - d)
        let x = d / width
        return x > 4 ? 0 : _exp(-0.5 * x * x)
    }
}

/// The calendar and weather of one interval, shared by every consumer (computed once).
struct IntervalContext: Sendable {
    let k: Int
    /// Hour of day (UTC, the simulated grid's local time) at the interval's middle, and its bounds.
    let hour: Double
    let startHour: Double
    let endHour: Double
    /// Days since 1970-01-01 and whether that day (and the day before) is a Saturday or Sunday.
    let day: Int
    let weekend: Bool
    let yesterdayWeekend: Bool
    /// `cos` of the season (+1 mid-January, −1 mid-July) and its value on the epoch's day.
    let season: Double
    static let epochSeason = GridModel.season(dayOfYear: 324)
    /// Clear-sky fraction and wind capacity factor.
    let clear: Double
    let wind: Double
    /// PV output per kWp (kW) this interval, clouds included, and the day's total (kWh per kWp).
    let solarKwPerKwp: Double
    let solarDayKwhPerKwp: Double
    let intervalHours: Double
    var whPerKw: Double { 1000 * intervalHours }
}

/// Civil calendar without Foundation (proleptic Gregorian, UTC).
enum SimCalendar {
    /// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
    static func weekday(day: Int) -> Int { ((day + 3) % 7 + 7) % 7 }
    static func isWeekend(day: Int) -> Bool { weekday(day: day) >= 5 }

    /// Day of the year (1…366) of `day` days since 1970-01-01 (Hinnant's civil_from_days).
    static func dayOfYear(day: Int) -> Int {
        let z = day + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)  // from March 1st
        let mp = (5 * doy + 2) / 153
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        // Day of the year: March 1st is day 60 (61 in leap years).
        let fromJan = doy + 59 + (leap ? 1 : 0)
        return (m <= 2 ? doy - 306 : fromJan) + 1
    }
}

extension GridModel {
    // MARK: Calendar and weather

    /// `cos` of the season: +1 in mid-January (most heating, least sun), −1 in mid-July.
    static func season(dayOfYear d: Int) -> Double { _cos(2 * Double.pi * Double(d - 15) / 365) }

    /// Mean household demand (kW) at hour `h` of a November weekday: low at night,
    /// a morning peak, a midday plateau and a larger evening peak (~0.95 kW mean).
    static func householdKw(hour h: Double) -> Double {
        ConsumerProfile().shapeKw(hour: h, weekend: false)
    }

    /// Clear-sky PV output per kWp at hour `h` on the epoch's day (short, low November sun).
    static func daylight(hour h: Double) -> Double { daylight(hour: h, dayOfYear: 324) }

    /// Clear-sky PV output per kWp at hour `h` of day `d` of the year, at ~50° N:
    /// day length 7.9 h (December) to 16.1 h (June), peak 0.52 to 0.92 kW/kWp.
    static func daylight(hour h: Double, dayOfYear d: Int) -> Double {
        let c = _cos(2 * Double.pi * Double(d + 10) / 365)  // +1 at the winter solstice
        let length = 12 - 4.1 * c
        let sunrise = 12 - length / 2, sunset = 12 + length / 2
        guard h > sunrise, h < sunset else { return 0 }
        let peak = 0.72 - 0.2 * c
        return peak * _pow(_sin(Double.pi * (h - sunrise) / length), 1.3)
    }

    /// Clear-sky fraction (clouds) and wind capacity factor: smooth weather plus per-interval noise.
    func weather(_ k: Int) -> (clear: Double, wind: Double) {
        let t = Double(k) * intervalHours  // simulated hours since the epoch
        var r = SplitMix64(seed: config.seed, stream: RandomDomain.weather.rawValue, UInt64(bitPattern: Int64(k)) &+ 1)
        let twoPi = 2 * Double.pi
        let clear = 0.55 + 0.3 * _sin(twoPi * t / 40.8 + phases[0]) + 0.15 * _sin(twoPi * t / 5.3 + phases[1])
            + 0.12 * r.gaussian()
        let wind = 0.45 + 0.3 * _sin(twoPi * t / 55.2 + phases[2]) + 0.15 * _sin(twoPi * t / 7.1 + phases[3])
            + 0.08 * r.gaussian()
        return (min(max(clear, 0.1), 1), min(max(wind, 0.02), 1))
    }

    /// Calendar, weather and PV of interval `k`, computed once for all consumers.
    /// `daySolar: false` skips the day's PV total (only batteries need it).
    func context(_ k: Int, daySolar: Bool = true) -> IntervalContext {
        let secs = UInt64(max(config.intervalSeconds, 1))
        let start = config.intervalStart(k)
        let dayStart = start - start % 86_400
        let day = Int(start / 86_400)
        let startHour = Double(start - dayStart) / 3600
        let hour = startHour + Double(secs) / 7200
        let doy = SimCalendar.dayOfYear(day: day)
        let (clear, wind) = weather(k)
        // The day's PV per kWp (batteries plan their charge on it): its intervals' sun and clouds.
        var dayKwh = 0.0
        let first = k - Int((start - dayStart) / secs)
        for j in first..<(first + (daySolar ? intervalsPerDay : 0)) {
            let h = Double((config.intervalStart(j) + secs / 2) % 86_400) / 3600
            let sun = Self.daylight(hour: h, dayOfYear: doy)
            if sun > 0 { dayKwh += sun * weather(j).clear * intervalHours }
        }
        return IntervalContext(
            k: k, hour: hour, startHour: startHour, endHour: startHour + Double(secs) / 3600, day: day,
            weekend: SimCalendar.isWeekend(day: day), yesterdayWeekend: SimCalendar.isWeekend(day: day - 1),
            season: Self.season(dayOfYear: doy), clear: clear, wind: wind,
            solarKwPerKwp: Self.daylight(hour: hour, dayOfYear: doy) * clear, solarDayKwhPerKwp: dayKwh,
            intervalHours: intervalHours)
    }

    // MARK: One consumer

    static let evDomain: UInt64 = 0x6576_7365_7373_696F  // "evsessio"

    /// One consumer's true net energy (load + EV + battery charge − rooftop PV − battery
    /// discharge, Wh) in an interval, drawing its randomness from `rng`.
    func consumerNetWh(_ c: Int, _ p: ConsumerProfile, _ x: IntervalContext, rng: inout SplitMix64) -> Double {
        let whPerKw = x.whPerKw
        var h = x.hour + p.shiftHours
        if h < 0 { h += 24 } else if h >= 24 { h -= 24 }
        let level = p.loadScale * (1 + p.heating * x.season) / (1 + p.heating * IntervalContext.epochSeason)
            * (x.weekend ? p.weekendLevel : 1)
        let noise = max(0.3, 1 + 0.12 * rng.gaussian())
        var loadWh = p.shapeKw(hour: h, weekend: x.weekend) * level * noise * whPerKw
        if rng.chance(0.07 * p.spikiness) {  // kettle, oven, heat pump boost
            let kw = rng.uniform(1.5, 7)
            let minutes = min(rng.uniform(3, 15), x.intervalHours * 60)
            loadWh += kw * 1000 * minutes / 60
        }
        if p.evKw > 0 { loadWh += evWh(c, p, x) }
        guard p.pvKwp > 0 else { return loadWh }
        let pvBaseWh = p.pvKwp * x.solarKwPerKwp * whPerKw
        let pvWh = pvBaseWh * rng.uniform(0.9, 1.05)
        var batteryWh = 0.0  // + charging, − discharging
        if p.batteryKwh > 0 {
            // The battery plans on the day's PV: it takes a fixed share of the PV output,
            // at most 60 % (the surplus over the household's own daytime use), at most its
            // capacity over the day and never above its power (PV peaks at 0.92 kW/kWp), and
            // gives 90 % back between 17:00 and 23:00 at a flat rate, never more than the house uses.
            let dayPvKwh = p.pvKwp * x.solarDayKwhPerKwp
            if dayPvKwh > 0 {
                let share = min(0.6, p.batteryKwh / dayPvKwh, p.batteryKw / (0.92 * p.pvKwp))
                if pvBaseWh > 0 {
                    batteryWh = pvBaseWh * share
                } else if x.hour >= 17, x.hour < 23 {
                    let stored = share * dayPvKwh * 1000
                    batteryWh = -min(p.batteryKw * whPerKw, 0.9 * stored / 6 * x.intervalHours, loadWh)
                }
            }
        }
        return loadWh + batteryWh - pvWh
    }

    /// EV charging energy (Wh) in the interval: today's session and the tail of yesterday's.
    func evWh(_ c: Int, _ p: ConsumerProfile, _ x: IntervalContext) -> Double {
        var hours = 0.0
        if let s = evSession(c, p, day: x.day, weekend: x.weekend) {
            hours += max(0, min(s.end, x.endHour) - max(s.start, x.startHour))
        }
        if let s = evSession(c, p, day: x.day - 1, weekend: x.yesterdayWeekend), s.end > 24 {
            hours += max(0, min(s.end - 24, x.endHour) - max(s.start - 24, x.startHour))
        }
        return hours * p.evKw * 1000
    }

    /// Day `day`'s charging session (hours from that day's midnight), if the car charges then.
    func evSession(_ c: Int, _ p: ConsumerProfile, day: Int, weekend: Bool) -> (start: Double, end: Double)? {
        var r = SplitMix64(seed: config.seed, stream: Self.evDomain, UInt64(c) << 24 ^ UInt64(truncatingIfNeeded: day))
        guard r.chance(weekend ? 0.6 * p.evDailyChance : p.evDailyChance) else { return nil }
        let start = weekend ? r.uniform(10, 20) : min(23, max(14, p.evArrivalHour + 0.75 * r.gaussian()))
        let kwh = p.evSessionKwh * r.uniform(0.5, 1.5)
        return (start, start + kwh / p.evKw)
    }

    /// Compatibility: one consumer's net energy at `hour` on the epoch's weekday with the
    /// interval's `clear` sky (no EV session, no battery plan). Prefer `consumerNetWh(_:_:_:rng:)`.
    func consumerNetWh(_ a: SimAsset, hour: Double, clear: Double, rng: inout SplitMix64) -> Double {
        let secs = Double(config.intervalSeconds)
        let x = IntervalContext(k: 0, hour: hour, startHour: hour - secs / 7200, endHour: hour + secs / 7200,
                                day: Int(SimulationConfig.epoch / 86_400), weekend: false, yesterdayWeekend: false,
                                season: IntervalContext.epochSeason, clear: clear, wind: 0,
                                solarKwPerKwp: Self.daylight(hour: hour) * clear, solarDayKwhPerKwp: 0,
                                intervalHours: intervalHours)
        var p = a.profile
        p.evKw = 0
        p.batteryKwh = 0
        return consumerNetWh(a.index, p, x, rng: &rng)
    }
}
