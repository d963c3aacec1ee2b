import ChainCore
import Foundation
import LedgerClient
import TOMLKit

extension SiteConfiguration {
    /// `$XDG_CONFIG_HOME/gridtop/config.toml`, or `~/.config/gridtop/config.toml` when
    /// `XDG_CONFIG_HOME` is unset or relative (the XDG spec: a relative path is ignored).
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let x = environment["XDG_CONFIG_HOME"], x.hasPrefix("/") { return x + "/gridtop/config.toml" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.config/gridtop/config.toml"
    }

    /// The configuration in force: `--config PATH` (which must exist), else the default
    /// file if there is one, else an empty configuration (flags and built-in defaults only).
    public static func load(explicitPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigError) -> SiteConfiguration
    {
        if let explicitPath { return try load(path: explicitPath, environment: environment) }
        let path = defaultPath(environment: environment)
        guard FileManager.default.fileExists(atPath: path) else { return SiteConfiguration() }
        return try load(path: path, environment: environment)
    }

    /// Reads and checks a config file.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigError) -> SiteConfiguration
    {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ConfigError(file: path, message: "no such config file; create it (see docs/config.example.toml) or drop --config")
        }
        guard !isDir.boolValue else { throw ConfigError(file: path, message: "is a folder, not a config file") }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, message: "cannot be read (check its permissions and that it is UTF-8 text)")
        }
        return try SiteConfiguration(toml: text, file: path, environment: environment)
    }

    /// Parses a config file's text; `file` names it in errors and anchors a relative `journal` path.
    public init(toml text: String, file: String, environment: [String: String]) throws(ConfigError) {
        self.init(file: file)
        let at = TOMLLocator(text)
        func fail(_ place: TOMLLocator.Place, _ message: String) -> ConfigError {
            let p = at.position(place)
            return ConfigError(file: file, line: p?.line, column: p?.column, message: message)
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ConfigError(file: file, line: e.source.begin.line, column: e.source.begin.column,
                              message: "not valid TOML: \(e.description)")
        } catch {
            throw ConfigError(file: file, message: "not valid TOML: \(error)")
        }
        for key in table.keys where !Self.topKeys.contains(key) {
            throw fail(.key(key, in: .top), "unknown key '\(key)' (allowed: \(Self.topKeys.joined(separator: ", ")))")
        }
        func string(_ key: String) throws(ConfigError) -> String? {
            guard let v = table[key] else { return nil }
            guard let s = v.string else { throw fail(.value(key, in: .top), "\(key) must be a string (in quotes), not a \(v.type)") }
            guard !s.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail(.value(key, in: .top), "\(key) is empty") }
            guard s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
                throw fail(.value(key, in: .top), "\(key) contains control characters")
            }
            return s
        }
        site = try string("site")
        if let v = table["chain_id"] {
            guard let i = v.int else { throw fail(.value("chain_id", in: .top), "chain_id must be an integer (e.g. 246), not a \(v.type)") }
            guard i > 0 else { throw fail(.value("chain_id", in: .top), "chain_id must be positive, got \(i)") }
            chainId = UInt64(i)
        }
        if let v = table["contracts"] {
            guard let list = v.array else {
                throw fail(.value("contracts", in: .top), "contracts must be a list of addresses, e.g. [\"0x…\"]")
            }
            for (i, element) in list.enumerated() {
                guard let s = element.string, let a = Self.address(s) else {
                    throw fail(.element("contracts", i), "contracts[\(i + 1)] is not a contract address (0x and 40 hex digits)")
                }
                if !contracts.contains(a) { contracts.append(a) }
            }
        }
        if let j = try string("journal") { journal = Self.resolve(path: j, relativeTo: file, environment: environment) }
        operatorName = try string("operator")
        theme = try string("theme")
        if let z = try string("time_zone") {
            guard TimeZone(identifier: z) != nil else {
                throw fail(.value("time_zone", in: .top), "unknown time zone '\(z)' (use an IANA name such as Europe/Berlin or UTC)")
            }
            timeZone = z
        }
        if let s = try string("shelve_limit") {
            guard let d = Self.seconds(s), d > 0 else {
                throw fail(.value("shelve_limit", in: .top), "shelve_limit '\(s)' is not a positive duration such as \"30m\" or \"8h\"")
            }
            guard d <= Self.maxShelveLimitSeconds else {
                throw fail(.value("shelve_limit", in: .top), "shelve_limit '\(s)' is longer than 24h; shelving is time-limited (ISA-18.2)")
            }
            shelveLimitSeconds = d
        }
        // TLS files: a relative path is relative to the config file's folder, like journal.
        if let v = try string("ca_file") { tls.caFile = Self.resolve(path: v, relativeTo: file, environment: environment) }
        if let v = try string("client_cert") { tls.clientCertificate = Self.resolve(path: v, relativeTo: file, environment: environment) }
        if let v = try string("client_key") { tls.clientKey = Self.resolve(path: v, relativeTo: file, environment: environment) }
        guard let nodeList = table["node"] else { return }
        guard let array = nodeList.array else {
            throw fail(.key("node", in: .top), "write each node under its own [[node]] header (two brackets)")
        }
        for (n, element) in array.enumerated() {
            guard let t = element.table else { throw fail(.table(n), "each [[node]] must be a table of keys") }
            for key in t.keys where !Self.nodeKeys.contains(key) {
                throw fail(.key(key, in: .node(n)), "unknown key '\(key)' in [[node]] \(n + 1) (allowed: \(Self.nodeKeys.joined(separator: ", ")))")
            }
            guard let urlValue = t["url"] else { throw fail(.table(n), "[[node]] \(n + 1) has no url") }
            guard let written = urlValue.string else { throw fail(.value("url", in: .node(n)), "url must be a string") }
            // `$VAR` / `${VAR}` from the environment, as in header values (credentials out of the file).
            let url: String
            do { url = try NodeHeaderSpec.expandVariables(written, environment: environment) } catch {
                throw fail(.value("url", in: .node(n)), error.description.replacingOccurrences(of: "header value", with: "url"))
            }
            let endpoint = NodeEndpoint(url: url)
            guard endpoint.transport != nil, NodeURLCheck.problem(url) == nil else {
                throw fail(.value("url", in: .node(n)),
                           NodeURLCheck.problem(url) ?? "url \(endpoint.safeURL) is not a node URL: use ws://, wss://, http:// or https://")
            }
            var node = Node(url: url)
            if let v = t["name"] {
                guard let s = v.string, !s.isEmpty else { throw fail(.value("name", in: .node(n)), "name must be a non-empty string") }
                node.name = s
            }
            func path(_ key: String) throws(ConfigError) -> String? {
                guard let v = t[key] else { return nil }
                guard let s = v.string, !s.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw fail(.value(key, in: .node(n)), "\(key) must be a non-empty string (a file path, in quotes)")
                }
                guard s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
                    throw fail(.value(key, in: .node(n)), "\(key) contains control characters")
                }
                return Self.resolve(path: s, relativeTo: file, environment: environment)
            }
            node.tls = NodeTLS(caFile: try path("ca_file"), clientCertificate: try path("client_cert"), clientKey: try path("client_key"))
            if let v = t["headers"] {
                guard let h = v.table else {
                    throw fail(.value("headers", in: .node(n)), "headers must be a table, e.g. headers = { Authorization = \"Bearer $TOKEN\" }")
                }
                for name in h.keys {
                    guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                        throw fail(.header(name, node: n), "header name '\(name)' must be letters, digits or -")
                    }
                    // The message never shows the value: it is a secret.
                    guard let raw = h[name]?.string else { throw fail(.header(name, node: n), "header \(name) must be a string") }
                    guard raw.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
                        throw fail(.header(name, node: n), "the value of header \(name) contains control characters")
                    }
                    do {
                        node.headers[name] = try NodeHeaderSpec.expandVariables(raw, environment: environment)
                    } catch {
                        throw fail(.header(name, node: n), "\(error); export it before starting gridtop")
                    }
                }
            }
            nodes.append(node)
        }
    }

    /// 24 hours.
    public static let maxShelveLimitSeconds = 86_400

    /// `0x` and 40 hex digits.
    public static func address(_ s: String) -> Address? {
        guard s.count == 42, s.hasPrefix("0x") || s.hasPrefix("0X") else { return nil }
        return try? Address(hex: s)
    }

    /// `90s`, `30m`, `8h`, `1h30m`; nil for anything else.
    public static func seconds(_ text: String) -> Int? {
        var total = 0, num = ""
        let t = text.lowercased().filter { $0 != " " }
        guard !t.isEmpty, t.last?.isLetter == true else { return nil }
        for c in t {
            if c.isASCII, c.isNumber { num.append(c); continue }
            guard let n = Int(num) else { return nil }
            switch c {
            case "h": total += n * 3600
            case "m": total += n * 60
            case "s": total += n
            default: return nil
            }
            num = ""
        }
        return num.isEmpty ? total : nil
    }

    /// `~/…` from `HOME`; a relative path is relative to the config file's folder.
    static func resolve(path: String, relativeTo file: String, environment: [String: String]) -> String {
        if path.hasPrefix("~/") {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            return home + path.dropFirst()
        }
        if path.hasPrefix("/") { return path }
        return ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(path)
    }
}

/// A node URL that has a scheme but nothing to connect to (`ws://`, `http://:8545`).
public enum NodeURLCheck {
    /// What is wrong with the URL, in plain words, or nil.
    public static func problem(_ url: String) -> String? {
        let endpoint = NodeEndpoint(url: url)
        guard endpoint.transport != nil else {
            return "node URL \(endpoint.safeURL) is not ws://, wss://, http:// or https://"
        }
        guard let r = url.range(of: "://") else { return "node URL \(endpoint.safeURL) has no host" }
        var authority = url[r.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = authority
        if host.hasPrefix("[") {
            host = host.prefix { $0 != "]" }.dropFirst()
        } else if let colon = host.lastIndex(of: ":") {
            let port = authority[authority.index(after: colon)...]
            guard let p = Int(port), (1...65535).contains(p) else {
                return "node URL \(endpoint.safeURL) has a bad port '\(port)' (1-65535)"
            }
            host = host[..<colon]
        }
        guard !host.isEmpty else { return "node URL \(endpoint.safeURL) has no host (e.g. ws://127.0.0.1:8546)" }
        return nil
    }
}

/// Where a key or value is in a TOML text (TOMLKit keeps no source positions of values).
/// Understands what a gridtop config file holds: top-level keys, `[[node]]` tables, and their
/// `headers` as an inline table or a `[node.headers]` table.
struct TOMLLocator {
    enum Table: Equatable { case top, node(Int) }
    enum Place {
        case key(String, in: Table)
        case value(String, in: Table)
        /// The n-th (0-based) element of an array value at the top.
        case element(String, Int)
        /// A `[[node]]` header line.
        case table(Int)
        case header(String, node: Int)
    }

    let lines: [[Character]]

    init(_ text: String) { lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(Array.init) }

    /// 1-based (line, column).
    func position(_ place: Place) -> (line: Int, column: Int)? {
        switch place {
        case .key(let k, let t):
            if let f = find(k, in: t) { return (f.line + 1, f.keyColumn + 1) }
            // A table written as `[node]` or `[node.x]` instead of `[[node]]`.
            return lines.firstIndex { isHeader($0) && headerName($0).hasPrefix("[\(k)") }.map { ($0 + 1, 1) }
        case .value(let k, let t): return find(k, in: t).map { ($0.line + 1, $0.valueColumn + 1) }
        case .table(let n): return nodeHeader(n).map { ($0 + 1, 1) }
        case .element(let k, let index): return element(k, index)
        case .header(let name, let n):
            if let h = find("headers", in: .node(n)) {
                if let col = column(of: name, in: lines[h.line], from: h.valueColumn) { return (h.line + 1, col + 1) }
                return (h.line + 1, h.valueColumn + 1)
            }
            if let sub = subTable("node.headers", after: nodeHeader(n)), let f = find(name, from: sub + 1) {
                return (f.line + 1, f.valueColumn + 1)
            }
            return nodeHeader(n).map { ($0 + 1, 1) }
        }
    }

    private func trimmedStart(_ l: [Character]) -> Int { l.firstIndex { $0 != " " && $0 != "\t" } ?? l.count }

    private func isHeader(_ l: [Character]) -> Bool {
        let s = trimmedStart(l)
        return s < l.count && l[s] == "["
    }

    private func headerName(_ l: [Character]) -> String {
        String(l.filter { $0 != " " && $0 != "\t" }).components(separatedBy: "#")[0]
    }

    private func nodeHeader(_ n: Int) -> Int? {
        var seen = -1
        for (i, l) in lines.enumerated() where isHeader(l) && headerName(l) == "[[node]]" {
            seen += 1
            if seen == n { return i }
        }
        return nil
    }

    private func subTable(_ name: String, after start: Int?) -> Int? {
        guard let start else { return nil }
        for i in (start + 1)..<lines.count where isHeader(lines[i]) {
            return headerName(lines[i]) == "[\(name)]" ? i : nil
        }
        return nil
    }

    private func find(_ key: String, in table: Table) -> (line: Int, keyColumn: Int, valueColumn: Int)? {
        switch table {
        case .top: return find(key, from: 0)
        case .node(let n): return nodeHeader(n).flatMap { find(key, from: $0 + 1) }
        }
    }

    /// `key = value` from line `from` up to the next table header.
    private func find(_ key: String, from start: Int) -> (line: Int, keyColumn: Int, valueColumn: Int)? {
        guard start < lines.count else { return nil }
        for i in start..<lines.count {
            let l = lines[i]
            if isHeader(l) { return nil }
            let s = trimmedStart(l)
            for form in [key, "\"\(key)\"", "'\(key)'"] {
                let f = Array(form)
                guard l.count >= s + f.count, Array(l[s..<(s + f.count)]) == f else { continue }
                var j = s + f.count
                while j < l.count, l[j] == " " || l[j] == "\t" { j += 1 }
                guard j < l.count, l[j] == "=" else { continue }
                j += 1
                while j < l.count, l[j] == " " || l[j] == "\t" { j += 1 }
                return (i, s, j)
            }
        }
        return nil
    }

    /// Column of `name` as a key inside an inline table on one line.
    private func column(of name: String, in l: [Character], from: Int) -> Int? {
        let f = Array(name)
        var j = from
        while j + f.count <= l.count {
            if Array(l[j..<(j + f.count)]) == f {
                let before = j == 0 ? " " : l[j - 1]
                if before == "{" || before == " " || before == "," || before == "\"" { return j }
            }
            j += 1
        }
        return nil
    }

    /// The n-th string of an array value (which may span lines).
    private func element(_ key: String, _ index: Int) -> (line: Int, column: Int)? {
        guard let f = find(key, in: .top) else { return nil }
        var seen = -1
        var i = f.line, j = f.valueColumn
        var depth = 0
        while i < lines.count {
            let l = lines[i]
            while j < l.count {
                let c = l[j]
                if c == "#" { break }
                if c == "[" {
                    depth += 1
                } else if c == "]" {
                    depth -= 1
                    if depth <= 0 { return (f.line + 1, f.valueColumn + 1) }
                } else if depth == 1, c != " ", c != "\t", c != "," {
                    seen += 1
                    if seen == index { return (i + 1, j + 1) }
                    // Skip this element.
                    if c == "\"" || c == "'" {
                        j += 1
                        while j < l.count, l[j] != c { j += 1 }
                    } else {
                        while j + 1 < l.count, l[j + 1] != ",", l[j + 1] != "]" { j += 1 }
                    }
                }
                j += 1
            }
            i += 1
            j = 0
        }
        return (f.line + 1, f.valueColumn + 1)
    }
}
