/// Extra headers for nodes from the command line or a config file, written
/// `[N=]Name: value`: for every node, or for node N (0-based) only. A value `$VAR` or
/// `${VAR}` is read from the environment, so that a secret need not appear in the
/// process list or the shell history.
public enum NodeHeaderSpec {
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case invalid(String)
        case noSuchNode(Int, nodes: Int)
        case unsetVariable(String)

        public var description: String {
            switch self {
            case .invalid(let why): return "invalid header: \(why) (expected [N=]Name: value)"
            case .noSuchNode(let n, let count): return "header for node \(n), but only \(count) node(s) are configured (0-based)"
            case .unsetVariable(let v): return "header value refers to $\(v), which is not set in the environment"
            }
        }
    }

    /// Adds each header to the nodes it names. Error messages never contain a header value.
    public static func apply(_ specs: [String], to nodes: inout [NodeEndpoint],
                             environment: [String: String]) throws(ParseError) {
        for spec in specs {
            var rest = Substring(spec)
            var target: Int?
            if let eq = rest.firstIndex(of: "="), let colon = rest.firstIndex(of: ":"), eq < colon,
                let n = Int(rest[..<eq].trimmingCharacters(in: " "))
            {
                target = n
                rest = rest[rest.index(after: eq)...]
            }
            guard let colon = rest.firstIndex(of: ":") else { throw .invalid("no ':' after the header name") }
            let name = rest[..<colon].trimmingCharacters(in: " ")
            var value = rest[rest.index(after: colon)...].trimmingCharacters(in: " ")
            guard !name.isEmpty, name.allSatisfy(isTokenCharacter) else {
                throw .invalid("the header name must be letters, digits or -")
            }
            guard value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
                throw .invalid("the value of \(name) contains control characters")
            }
            value = try expand(value, environment: environment)
            if let target {
                guard nodes.indices.contains(target) else { throw .noSuchNode(target, nodes: nodes.count) }
                nodes[target].headers[name] = value
            } else {
                for i in nodes.indices { nodes[i].headers[name] = value }
            }
        }
    }

    /// `$VAR` and `${VAR}` replaced from the environment (a config file's header values).
    public static func expandVariables(_ value: String, environment: [String: String]) throws(ParseError) -> String {
        try expand(value, environment: environment)
    }

    /// `$VAR` and `${VAR}` replaced from the environment; anything else kept as written.
    static func expand(_ value: String, environment: [String: String]) throws(ParseError) -> String {
        var out = ""
        var i = value.startIndex
        while i < value.endIndex {
            let c = value[i]
            guard c == "$" else {
                out.append(c)
                i = value.index(after: i)
                continue
            }
            var j = value.index(after: i)
            let braced = j < value.endIndex && value[j] == "{"
            if braced { j = value.index(after: j) }
            let start = j
            while j < value.endIndex, value[j].isASCII, value[j].isLetter || value[j].isNumber || value[j] == "_" { j = value.index(after: j) }
            let name = String(value[start..<j])
            if name.isEmpty || (braced && (j == value.endIndex || value[j] != "}")) {
                out.append(c)  // a lone "$" is kept
                i = value.index(after: i)
                continue
            }
            guard let v = environment[name] else { throw .unsetVariable(name) }
            out += v
            i = braced ? value.index(after: j) : j
        }
        return out
    }

    private static func isTokenCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_")
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}

extension NodeEndpoint {
    /// Endpoints from `--node URL` (repeated) and `--header '[N=]Name: value'` (repeated) options.
    /// A URL that is not ws, wss, http or https, or a bad header, is a clear error that never
    /// shows a credential.
    public static func fromCommandLine(urls: [String], headers: [String],
                                       environment: [String: String]) throws -> [NodeEndpoint] {
        // `$VAR` / `${VAR}` in a URL is read from the environment too (credentials in the URL
        // need never sit in the process list); the name is taken from the URL as written.
        var nodes: [NodeEndpoint] = []
        for u in urls {
            let expanded: String
            do { expanded = try NodeHeaderSpec.expand(u, environment: environment) } catch {
                throw LedgerClientError.unsupportedURL("\(Redaction.sanitize(url: u)) (\(error.description.replacingOccurrences(of: "header value", with: "the URL")))")
            }
            nodes.append(NodeEndpoint(url: expanded, name: u.contains("$") ? Redaction.hostAndPort(of: u) : nil))
        }
        for n in nodes where n.transport == nil { throw LedgerClientError.unsupportedURL(n.safeURL) }
        try NodeHeaderSpec.apply(headers, to: &nodes, environment: environment)
        return nodes
    }
}
