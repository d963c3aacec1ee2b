import XCTest

@testable import LedgerClient

/// `--node` and `--header '[N=]Name: value'` options into endpoints.
final class NodeHeaderTests: XCTestCase {
    let urls = ["wss://a.example:8546", "https://b.example/rpc"]

    func testHeaderForEveryNodeAndForOneNode() throws {
        let nodes = try NodeEndpoint.fromCommandLine(
            urls: urls, headers: ["X-Site: control-room-2", "1=Authorization: Bearer $TOKEN_B"],
            environment: ["TOKEN_B": "abc.def"])
        XCTAssertEqual(nodes.map(\.headers), [
            ["X-Site": "control-room-2"],
            ["X-Site": "control-room-2", "Authorization": "Bearer abc.def"],
        ])
        XCTAssertEqual(nodes.map(\.transport), [.webSocket, .http])
    }

    func testEnvironmentExpansion() throws {
        let env = ["A": "1", "B_2": "two"]
        XCTAssertEqual(try NodeHeaderSpec.expand("x${A}y$B_2-$", environment: env), "x1ytwo-$")
        XCTAssertEqual(try NodeHeaderSpec.expand("plain", environment: env), "plain")
        XCTAssertThrowsError(try NodeHeaderSpec.expand("Bearer $MISSING", environment: env)) {
            XCTAssertEqual($0 as? NodeHeaderSpec.ParseError, .unsetVariable("MISSING"))
        }
    }

    func testBadInputIsAClearErrorWithoutTheValue() {
        func error(_ urls: [String], _ headers: [String]) -> String {
            do {
                _ = try NodeEndpoint.fromCommandLine(urls: urls, headers: headers, environment: [:])
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(error(["ftp://user:pw@h/"], []), "unsupported node URL ftp://h/: use ws://, wss://, http:// or https://")
        XCTAssert(error(urls, ["Authorization Bearer s3cret"]).contains("no ':'"))
        XCTAssertFalse(error(urls, ["Authorization Bearer s3cret"]).contains("s3cret"))
        XCTAssert(error(urls, ["2=Authorization: s3cret"]).contains("node 2, but only 2 node(s)"))
        XCTAssertFalse(error(urls, ["Auth\u{1b}: s3cret"]).contains("s3cret"))
        XCTAssert(error(urls, ["Authorization: s3cret\u{0a}X: y"]).contains("control characters"))
        XCTAssertFalse(error(urls, ["Authorization: s3cret\u{0a}X: y"]).contains("s3cret"))
    }
}
