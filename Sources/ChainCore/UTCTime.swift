/// Calendar arithmetic for unix timestamps in UTC, without Foundation or a
/// locale: block times, interval starts and alarm times all go through here.
public enum UTCTime {
    /// Civil UTC date and time of a unix timestamp (proleptic Gregorian;
    /// Howard Hinnant's civil_from_days).
    public static func civil(_ unix: Int64) -> (year: Int64, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        var days = unix / 86_400
        var secs = unix % 86_400
        if secs < 0 { secs += 86_400; days -= 1 }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d, Int(secs / 3600), Int(secs % 3600 / 60), Int(secs % 60))
    }

    /// A time an operator reads, to the minute: `2026-11-20 14:30 UTC` (alarm messages say this,
    /// never the unix number; the alarm's JSON keeps the number in its own field).
    public static func minuteText(_ unix: UInt64) -> String {
        let c = civil(Int64(clamping: unix))
        func p2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year)-\(p2(c.month))-\(p2(c.day)) \(p2(c.hour)):\(p2(c.minute)) UTC"
    }
}
