import Foundation
import ChainCore
import LedgerClient

extension SiteConfiguration {
    /// The configuration as TOML, every secret replaced by `‹redacted›`: header values always,
    /// and credentials in node URLs (userinfo, query, key-like path segments). Safe to paste
    /// into a ticket. `notes` are comments printed after each key (e.g. "default", "from --chain-id").
    public func redactedDescription(notes: [String: String] = [:]) -> String {
        var out: [String] = []
        out.append("# gridtop effective configuration" + (file.map { " (file: \($0); flags override it)" } ?? " (no config file; flags and defaults)"))
        func line(_ key: String, _ value: String?) {
            let note = notes[key].map { "  # \($0)" } ?? ""
            if let value { out.append("\(key) = \(value)\(note)") } else { out.append("# \(key) not set\(note)") }
        }
        line("site", site.map(Self.quoted))
        line("chain_id", chainId.map(String.init))
        line("contracts", contracts.isEmpty ? nil : "[" + contracts.map { Self.quoted($0.hex) }.joined(separator: ", ") + "]")
        line("journal", journal.map(Self.quoted))
        line("operator", operatorName.map(Self.quoted))
        line("theme", theme.map(Self.quoted))
        line("time_zone", timeZone.map(Self.quoted))
        line("shelve_limit", shelveLimitSeconds.map { Self.quoted(Self.durationText($0)) })
        line("ca_file", tls.caFile.map(Self.quoted))
        line("client_cert", tls.clientCertificate.map(Self.quoted))
        line("client_key", tls.clientKey.map(Self.quoted))
        for n in nodes {
            out.append("")
            out.append("[[node]]")
            out.append("url = " + Self.quoted(NodeEndpoint(url: n.url).safeURL))
            if let name = n.name { out.append("name = " + Self.quoted(name)) }
            if let f = n.tls.caFile { out.append("ca_file = " + Self.quoted(f)) }
            if let f = n.tls.clientCertificate { out.append("client_cert = " + Self.quoted(f)) }
            if let f = n.tls.clientKey { out.append("client_key = " + Self.quoted(f)) }
            if !n.headers.isEmpty {
                let h = n.headers.keys.sorted().map { "\($0) = \"‹redacted›\"" }.joined(separator: ", ")
                out.append("headers = { \(h) }")
            }
        }
        if nodes.isEmpty { out.append(""); out.append("# no [[node]] configured" + (notes["node"].map { "  # \($0)" } ?? "")) }
        return out.joined(separator: "\n") + "\n"
    }

    /// `8h`, `1h30m`, `90s`.
    public static func durationText(_ seconds: Int) -> String {
        var s = ""
        if seconds / 3600 > 0 { s += "\(seconds / 3600)h" }
        if seconds % 3600 / 60 > 0 { s += "\(seconds % 3600 / 60)m" }
        if seconds % 60 > 0 || s.isEmpty { s += "\(seconds % 60)s" }
        return s
    }

    /// A TOML basic string, control characters escaped.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20 || u.value == 0x7f: out += String(format: "\\u%04X", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
