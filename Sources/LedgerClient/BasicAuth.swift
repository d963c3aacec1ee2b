import Foundation

extension Redaction {
    /// The URL to dial and the headers to send for a node URL that carries credentials in its
    /// userinfo (`wss://user:pass@host/`): the userinfo is removed from the URL (it would be taken
    /// for part of the host) and sent as `Authorization: Basic …` (RFC 7617) instead, unless an
    /// `Authorization` header is configured. Percent-escapes in the userinfo are decoded first.
    static func dialing(url: String, headers: [String: String]) -> (url: String, headers: [String: String]) {
        let p = parts(of: url)
        guard let userinfo = p.userinfo, !userinfo.isEmpty else { return (url, headers) }
        var h = headers
        if !headers.keys.contains(where: { $0.lowercased() == "authorization" }) { h["Authorization"] = "Basic " + basicToken(userinfo) }
        var stripped = p.scheme + "://" + p.authority + p.path
        if let q = p.query { stripped += "?" + q }
        return (stripped, h)
    }

    /// base64("user:pass") of a URL's userinfo, as the Basic header carries it.
    static func basicToken(_ userinfo: String) -> String {
        Data((userinfo.removingPercentEncoding ?? userinfo).utf8).base64EncodedString()
    }

    /// The forms a URL's userinfo takes on the wire: the Basic header and its token, and the
    /// percent-decoded user and password (a node may echo any of them).
    static func userinfoSecrets(_ userinfo: String) -> [String] {
        let plain = userinfo.removingPercentEncoding ?? userinfo
        let token = basicToken(userinfo)
        return ["Basic " + token, token, plain] + plain.split(separator: ":").map(String.init)
    }
}
