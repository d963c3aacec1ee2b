/// Rate-limits repeated log lines: the first of a kind is written, the repeats within
/// `window` seconds are counted, and when the window ends one line says how many there were.
/// A hostile node serving thousands of undecodable logs gives one line and a count, not
/// thousands of lines. Pure: the caller passes the clock.
public struct RepeatFilter: Sendable {
    public let window: Double
    private var open: [String: (since: Double, repeats: Int)] = [:]

    public init(window: Double = 10) { self.window = window }

    /// The lines to write now for a line of kind `key` (e.g. level, label and message without
    /// its metadata) at `now`: the line itself if it is the first of its kind in the window,
    /// preceded by the counts of windows that ended.
    public mutating func admit(_ key: String, line: String, now: Double) -> [String] {
        var out = expire(now: now)
        if open[key] != nil {
            open[key]!.repeats += 1
        } else {
            open[key] = (now, 0)
            out.append(line)
        }
        return out
    }

    /// Counts of the windows that ended by `now` (all of them with `now` = +∞, e.g. at exit).
    public mutating func expire(now: Double) -> [String] {
        var out: [String] = []
        for (key, w) in open.sorted(by: { $0.value.since < $1.value.since }) where now - w.since >= window {
            open[key] = nil
            if w.repeats > 0 { out.append(Self.summary(key, repeats: w.repeats, seconds: min(window, now - w.since))) }
        }
        return out
    }

    static func summary(_ key: String, repeats: Int, seconds: Double) -> String {
        "… and \(repeats) more like “\(key)” in \(Int(seconds.rounded())) s"
    }
}
