import ChainCore

/// Locale-independent number, energy, time and age formatting for the screen.
public enum Format {
    /// Unit for a column of energies: one unit per table so rows compare at a glance.
    public enum EnergyUnit: Sendable, Equatable {
        case kWh, MWh

        /// MWh when any value reaches 10 MWh, else kWh.
        public static func choose(forWh values: [Int64]) -> EnergyUnit {
            let m = values.map { $0 == Int64.min ? Int64.max : abs($0) }.max() ?? 0
            return m >= 10_000_000 ? .MWh : .kWh
        }
    }

    /// `1234.5 kWh` or `12.346 MWh` (rounded half away from zero), with a sign
    /// when negative, or with `+` when `plus` is set and the value is positive.
    public static func energy(wh: Int64, unit: EnergyUnit, plus: Bool = false) -> String {
        let (divisor, decimals, name): (Int64, Int, String) = unit == .kWh ? (100, 1, "kWh") : (1_000, 3, "MWh")
        // kWh with one decimal: units of 100 Wh; MWh with three decimals: units of 1 kWh.
        let neg = wh < 0
        let mag = wh.magnitude
        let d = UInt64(divisor)
        let q = (mag + d / 2) / d
        let scale: UInt64 = decimals == 1 ? 10 : 1_000
        let whole = q / scale
        var frac = String(q % scale)
        while frac.count < decimals { frac = "0" + frac }
        let sign = neg && q != 0 ? "-" : (plus && !neg && q != 0 ? "+" : "")
        return "\(sign)\(whole).\(frac) \(name)"
    }

    /// Compact age: `42s`, `12m05s`, `3h07m`, `2d04h`; `0s` for negative ages.
    public static func age(seconds: Double) -> String {
        let s = seconds.isFinite ? max(0, Int(seconds.rounded(.down))) : 0
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + pad2(s % 60) + "s" }
        if s < 86_400 { return "\(s / 3600)h" + pad2((s % 3600) / 60) + "m" }
        return "\(s / 86_400)d" + pad2((s % 86_400) / 3600) + "h"
    }

    static func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    /// Civil UTC date and time of a unix timestamp (proleptic Gregorian).
    public static func civil(_ unix: Int64) -> (year: Int64, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        UTCTime.civil(unix)
    }

    /// `2026-05-01`
    public static func date(_ unix: Int64) -> String {
        let c = civil(unix)
        return "\(c.year)-\(pad2(c.month))-\(pad2(c.day))"
    }

    /// `13:45` or `13:45:07`
    public static func time(_ unix: Int64, seconds: Bool = false) -> String {
        let c = civil(unix)
        return pad2(c.hour) + ":" + pad2(c.minute) + (seconds ? ":" + pad2(c.second) : "")
    }

    /// `2026-05-01 13:45-14:00 UTC`, with the end date when the range crosses midnight.
    public static func utcRange(start: UInt64, seconds: UInt32) -> String {
        let s = Int64(clamping: start)
        let e = s + Int64(seconds)
        let endText: String
        if date(s) == date(e) {
            endText = time(e)
        } else if e % 86_400 == 0 && e - s <= 86_400 {
            endText = "24:00"
        } else {
            endText = date(e) + " " + time(e)
        }
        return date(s) + " " + time(s) + "-" + endText + " UTC"
    }

    /// `15 min`, `1 h`, `90 s`
    public static func duration(seconds: UInt32) -> String {
        if seconds % 3600 == 0 { return "\(seconds / 3600) h" }
        if seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }

    /// `42.0%` of a ratio; nil when the denominator is zero.
    public static func percent(_ num: Int64, of den: Int64) -> String? {
        guard den != 0 else { return nil }
        let tenths = (Double(num) / Double(den) * 1000).rounded()
        guard tenths.isFinite, abs(tenths) < 1e9 else { return nil }
        let t = Int64(tenths)
        let sign = t < 0 ? "-" : ""
        return "\(sign)\(abs(t) / 10).\(abs(t) % 10)%"
    }
}
