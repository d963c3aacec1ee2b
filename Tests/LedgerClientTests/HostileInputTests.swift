import ChainCore
import Foundation
import GridCore
import XCTest

@testable import LedgerClient

/// A small deterministic generator, so that every fuzz case can be replayed from its seed.
struct Rng: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}

/// The decoding path (frame → JSON-RPC → logs, headers, grid events) fed random, truncated
/// and hostile input built from real go-ethereum responses: never a crash, always a clear error,
/// and the streaming eth_getLogs decoder always agrees with the generic one.
final class HostileInputTests: XCTestCase {
    /// Response lines of the execution-apis fixtures (shared with ChainCoreTests).
    static func fixtureResponses() throws -> [[UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ChainCoreTests/Fixtures/execution-apis/tests")
        var out: [[UInt8]] = []
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "io" }
        for f in files {
            for line in try String(contentsOf: f, encoding: .utf8).split(separator: "\n") where line.hasPrefix("<< ") {
                out.append(Array(line.dropFirst(3).utf8))
            }
        }
        return out
    }

    static let meterTopic = LedgerSchemaV1.meterReadingTopic

    /// An eth_getLogs response with `n` grid logs (meter readings, transfers, registrations, foreign logs).
    static func gridLogsResponse(_ n: Int, rng: inout Rng, id: Int = 1) -> [UInt8] {
        var logs: [JSON] = []
        for i in 0..<n {
            let asset = Bytes32(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next())
            let event: GridEvent
            switch rng.below(8) {
            case 0: event = .energyTransfer(EnergyTransfer(from: asset, to: .asset(code: "F"), intervalStart: rng.next() >> 20,
                                                           wh: rng.next() >> 30, priceMicrosPerKwh: 125_000))
            case 1: event = .assetRegistered(AssetRegistration(asset: asset, parent: .zero, stage: .transformer, ratedKw: 630,
                                                               name: "TX-\(i) \u{1F50C}"))
            default: event = .meterReading(MeterReading(asset: asset, intervalStart: 1_794_038_400 + UInt64(i) * 900,
                                                        intervalSeconds: 900, importWh: rng.next() >> 40, exportWh: rng.next() >> 44))
            }
            let bh = Bytes32(uint: UInt64(i / 4 + 1))
            let log = Log(address: TestChain.contract, topics: LedgerSchemaV1.topics(of: event), data: LedgerSchemaV1.data(of: event),
                          blockNumber: UInt64(i / 4 + 1), blockHash: bh, transactionHash: Bytes32(uint: UInt64(i)),
                          transactionIndex: UInt32(i % 4), logIndex: UInt32(i % 4), removed: false)
            var j = log.json
            if rng.below(3) == 0, case .object(var o) = j {
                o["blockTimestamp"] = .string(Hex.quantity(1_794_038_400 + UInt64(i)))
                j = .object(o)
            }
            logs.append(j)
        }
        return JSONRPC.result(id: .int(id), .array(logs)).serializedBytes()
    }

    static let hostileTokens: [String] = [
        "\"\\ud800\"", "\"\\udc00\"", "\"\\u00zz\"", "\"\u{01}\"", "1e", "-", "01", "1.", "nul", "tru", "[", "{", "]", "}", ",", ":",
        "\"0x\"", "\"0x0\"", "\"0xZZ\"", "\"0x" + String(repeating: "f", count: 17) + "\"", "null", "true", "[]", "{}",
        String(repeating: "[", count: 200), String(repeating: "{\"a\":", count: 150), "\"" + String(repeating: "a", count: 5000) + "\"",
        "18446744073709551616", "-0", "1E+999", "\"\\\"\"", "\u{FEFF}", "\u{00}", "\"\\/\"",
    ]

    static func mutate(_ doc: [UInt8], _ rng: inout Rng) -> [UInt8] {
        var b = doc
        let rounds = 1 + rng.below(3)
        for _ in 0..<rounds {
            if b.isEmpty { b = Array(hostileTokens[rng.below(hostileTokens.count)].utf8); continue }
            switch rng.below(9) {
            case 0: b = Array(b.prefix(rng.below(b.count)))  // truncated
            case 1: b[rng.below(b.count)] = UInt8(truncatingIfNeeded: rng.next())  // random byte
            case 2: b[rng.below(b.count)] ^= 1 << UInt8(rng.below(8))  // flipped bit
            case 3: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(b.count + 1))
            case 4:
                let a = rng.below(b.count), n = min(b.count - a, 1 + rng.below(40))
                b.removeSubrange(a..<(a + n))
            case 5:
                let t = Array(hostileTokens[rng.below(hostileTokens.count)].utf8)
                b.insert(contentsOf: t, at: rng.below(b.count + 1))
            case 6:
                // Replace a structural or hex character with another one the grammar cares about.
                let specials = Array("{}[]\",:0x\\ 9aF-".utf8)
                b[rng.below(b.count)] = specials[rng.below(specials.count)]
            case 7:
                let a = rng.below(b.count), n = min(b.count - a, 1 + rng.below(64))
                b.insert(contentsOf: b[a..<(a + n)], at: rng.below(b.count + 1))  // duplicated slice
            default:
                b = b + b.prefix(rng.below(b.count))  // trailing data
            }
        }
        return b
    }

    /// Everything the client does with a frame; returns whether the frame was accepted.
    @discardableResult
    static func exercise(_ bytes: [UInt8]) -> Bool {
        let frame: RPCInbound.Frame
        do {
            frame = try RPCInbound.decode(bytes)
        } catch {
            XCTAssertTrue(error.description.hasPrefix("malformed frame: "), error.description)
            XCTAssertGreaterThan(error.description.count, 20)
            return false
        }
        for m in frame.messages {
            guard case .response(_, .success(let result)) = m else { continue }
            var items: [JSON] = [result]
            if let a = result.arrayValue { items = a }
            for item in items {
                do { _ = try BlockHeader(json: item) } catch { XCTAssertFalse(error.description.isEmpty) }
                do {
                    let log = try Log(json: item)
                    if LedgerSchemaV1.isGridEvent(log) {
                        do { _ = try LedgerSchemaV1.decode(log) } catch { XCTAssertFalse(error.description.isEmpty) }
                    }
                } catch { XCTAssertFalse(error.description.isEmpty) }
            }
        }
        return true
    }

    /// The fast and the generic eth_getLogs path agree on every input.
    static func assertDecodersAgree(_ bytes: [UInt8], _ label: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
        let fast = Result { try GetLogsDecoder.decodeLogs(bytes) }
        let slow = bytes.withUnsafeBytes { buf in Result { try GetLogsDecoder.generic(buf) } }
        switch (fast, slow) {
        case (.success(let a), .success(let b)):
            XCTAssertEqual(a.count, b.count, label(), file: file, line: line)
            for (x, y) in zip(a, b) {
                XCTAssertEqual(try? x.get(), try? y.get(), label(), file: file, line: line)
            }
        case (.failure(let e), .failure):
            XCTAssertFalse("\(e)".isEmpty)
        default:
            XCTFail("decoders disagree on \(label()): fast \(fast), generic \(slow)", file: file, line: line)
        }
        // And straight to grid events (no Log built) gives what decoding the logs gives.
        let fastEvents = Result { try GetLogsDecoder.decodeEvents(bytes) }
        switch (fastEvents, slow) {
        case (.success(let a), .success(let logs)):
            let b = GetLogsDecoder.eventsOf(logs)
            XCTAssertEqual(a.events, b.events, label(), file: file, line: line)
            XCTAssertEqual(a.rejected, b.rejected, label(), file: file, line: line)
        case (.failure, .failure): break
        default: XCTFail("event decoders disagree on \(label())", file: file, line: line)
        }
        // And to the logs backfill keeps (`GridLog`): the same on both paths.
        let fastGrid = Result { try GetLogsDecoder.gridLogs(bytes) }
        let slowGrid = bytes.withUnsafeBytes { buf in Result { try GetLogsDecoder.genericGridLogs(buf) } }
        switch (fastGrid, slowGrid) {
        case (.success(let a), .success(let b)):
            XCTAssertEqual(a.count, b.count, label(), file: file, line: line)
            for (x, y) in zip(a, b) {
                XCTAssertEqual(x.block, y.block, label(), file: file, line: line)
                XCTAssertEqual(try? x.content.get(), try? y.content.get(), label(), file: file, line: line)
            }
        case (.failure(let e), .failure):
            XCTAssertFalse("\(e)".isEmpty)
        default: XCTFail("grid-log decoders disagree on \(label()): fast \(fastGrid), generic \(slowGrid)", file: file, line: line)
        }
        // Reading the id for routing never traps, whatever the frame.
        _ = bytes.withUnsafeBytes { GetLogsDecoder.responseID($0) }
    }

    func testTenThousandHostileFramesNeverCrashAndDecodersAgree() throws {
        let fixtures = try Self.fixtureResponses().filter { $0.count <= 6_000 }
        XCTAssertGreaterThanOrEqual(fixtures.count, 20)
        var rng = Rng(seed: 0x67_72_69_64)
        var seeds = fixtures
        for k in 0..<40 { seeds.append(Self.gridLogsResponse(1 + k % 6, rng: &rng, id: k)) }
        for s in seeds { XCTAssertTrue(Self.exercise(s), "unmutated fixtures are valid frames") }
        let started = ContinuousClock.now
        var cases = 0, accepted = 0
        while cases < 12_000 {
            let seed = seeds[rng.below(seeds.count)]
            let input = Self.mutate(seed, &rng)
            if Self.exercise(input) { accepted += 1 }
            Self.assertDecodersAgree(input, "case \(cases)")
            cases += 1
        }
        let elapsed = ContinuousClock.now - started
        XCTAssertLessThan(elapsed, .seconds(60))
        XCTAssertGreaterThan(accepted, 100, "some mutations stay valid JSON and reach the field decoders")
        XCTAssertLessThan(accepted, cases, "most are rejected")
        print("hostile frames: \(cases) cases, \(accepted) still valid JSON-RPC, \(elapsed)")
    }

    func testStreamingDecoderEqualsGenericOnFixturesAndRandomResponses() throws {
        var rng = Rng(seed: 7)
        var checked = 0
        // Every real eth_getLogs fixture (and every other response: they must be refused alike).
        for doc in try Self.fixtureResponses() {
            Self.assertDecodersAgree(doc, String(decoding: doc.prefix(80), as: UTF8.self))
            checked += 1
        }
        // Random valid responses in every shape a node may use.
        for k in 0..<1_500 {
            var text = String(decoding: Self.gridLogsResponse(rng.below(7), rng: &rng, id: k), as: UTF8.self)
            switch rng.below(10) {
            case 0: text = text.replacingOccurrences(of: ",", with: " ,\n\t")
            case 1: text = text.replacingOccurrences(of: "\"0x", with: "\"0X")
            case 2: text = text.replacingOccurrences(of: "\"removed\":false", with: "\"removed\":true")
            case 3: text = text.replacingOccurrences(of: "\"removed\":false", with: "\"removed\":null,\"removed\":\"yes\"")
            case 4: text = text.replacingOccurrences(of: "\"logIndex\":\"0x", with: "\"logIndex\":\"0x000")
            case 5: text = text.replacingOccurrences(of: "\"data\"", with: "\"d\\u0061ta\"")  // escaped key: generic fallback
            case 6: text = text.replacingOccurrences(of: "\"address\":", with: "\"address\":\"0x12\",\"address\":")  // last wins
            case 7: text = text.replacingOccurrences(of: "\"topics\":[", with: "\"topics\":null,\"topics\":[")
            case 8: text = text.replacingOccurrences(of: "\"blockHash\":\"0x", with: "\"blockHash\":\"0x\\u0030")
            default: break
            }
            let bytes = Array(text.utf8)
            Self.assertDecodersAgree(bytes, "random response \(k): \(text.prefix(120))")
            XCTAssertEqual(bytes.withUnsafeBytes { GetLogsDecoder.responseID($0) }, k, "the id routes the answer")
            checked += 1
        }
        // An error answer and a non-array result are clear errors on both paths.
        for text in [#"{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"query returned more than 10000 results"}}"#,
                     #"{"jsonrpc":"2.0","id":1,"result":{}}"#, #"{"jsonrpc":"2.0","result":[]}"#, "[]", "{}"] {
            Self.assertDecodersAgree(Array(text.utf8), text)
            XCTAssertThrowsError(try GetLogsDecoder.decodeLogs(Array(text.utf8)), text)
        }
        XCTAssertGreaterThan(checked, 1_520)
    }

    func testGridEventsFromRawResponse() throws {
        var rng = Rng(seed: 99)
        let bytes = Self.gridLogsResponse(50, rng: &rng)
        let (events, rejected) = try GetLogsDecoder.decodeEvents(bytes)
        XCTAssertEqual(events.count, 50)
        XCTAssertEqual(rejected, 0)
        let generic = try bytes.withUnsafeBytes { try GetLogsDecoder.generic($0) }.map { try LedgerSchemaV1.decode($0.get()) }
        XCTAssertEqual(events.map(\.event), generic)
    }
}
