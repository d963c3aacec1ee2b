#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Who is at the keyboard: the name recorded with every operator action, found one way for
/// every front end (the dashboard, `gridtop alarms …`), first match wins:
/// 1. `--operator NAME`,
/// 2. the config file's `operator = "NAME"`,
/// 3. `$GRIDTOP_OPERATOR`,
/// 4. `$USER`,
/// then the login name of the process's user (`getpwuid`), and `uid-N` as a last resort.
/// Blank values are skipped.
public enum OperatorIdentity {
    public static func resolve(option: String? = nil, configured: String? = nil,
                               environment: [String: String]) -> String {
        for candidate in [option, configured, environment["GRIDTOP_OPERATOR"], environment["USER"]] {
            if let name = candidate?.trimmed, !name.isEmpty { return name }
        }
        if let pw = getpwuid(geteuid()), let n = pw.pointee.pw_name {
            let name = String(cString: n)
            if !name.isEmpty { return name }
        }
        return "uid-\(geteuid())"
    }
}

extension String {
    fileprivate var trimmed: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
