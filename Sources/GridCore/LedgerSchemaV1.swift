import ChainCore

/// The on-chain schema v1 (`docs/ledger-events.md`): topics and ABI layout of
/// the three grid events. Encoding is used by the simulator, decoding by the
/// client; both are pure and tested against the schema's own vectors.
public enum LedgerSchemaV1 {
    public static let assetRegisteredSignature = "AssetRegistered(bytes32,bytes32,uint8,uint32,string)"
    public static let meterReadingSignature = "MeterReading(bytes32,uint64,uint32,uint64,uint64)"
    public static let energyTransferSignature = "EnergyTransfer(bytes32,bytes32,uint64,uint64,uint64)"

    public static let assetRegisteredTopic = try! Bytes32(hex: "0xd2adfd2ce1b41ca1a96e13fe9c952cd0bea7bd595f08bc56c2e5a2b71148e8b7")
    public static let meterReadingTopic = try! Bytes32(hex: "0x965ed4b4030440543f1d34f3ae4a2ea7b7e65954789641167d4e4cf4a1883a21")
    public static let energyTransferTopic = try! Bytes32(hex: "0x86af18689511a478a2cb61bf2e3c6d60f27aa438872b0156a96ef9569468c3b1")

    public static let allTopics = [assetRegisteredTopic, meterReadingTopic, energyTransferTopic]

    /// Names longer than this are cut when decoded (the chain may carry megabytes).
    public static let maxNameBytes = 1024

    public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
        case notAGridEvent
        case wrongTopicCount(expected: Int, got: Int)
        case wrongDataLength(expected: Int, got: Int)
        case valueOutOfRange(String)
        case badStringEncoding(String)

        public var description: String {
            switch self {
            case .notAGridEvent: return "log is not a grid event of schema v1"
            case .wrongTopicCount(let e, let g): return "expected \(e) topics, got \(g)"
            case .wrongDataLength(let e, let g): return "expected \(e) data bytes, got \(g)"
            case .valueOutOfRange(let f): return "\(f) does not fit its ABI type"
            case .badStringEncoding(let why): return "bad string encoding: \(why)"
            }
        }
    }

    // MARK: Decoding

    public static func isGridEvent(_ log: Log) -> Bool {
        guard let t0 = log.topics.first else { return false }
        return t0 == assetRegisteredTopic || t0 == meterReadingTopic || t0 == energyTransferTopic
    }

    public static func decode(_ log: Log) throws(DecodeError) -> GridEvent {
        try decode(topics: log.topics, data: log.data)
    }

    public static func decode(topics: [Bytes32], data: [UInt8]) throws(DecodeError) -> GridEvent {
        guard let t0 = topics.first else { throw .notAGridEvent }
        return try data.withUnsafeBytes { d in Result { () throws(DecodeError) in
            if t0 == meterReadingTopic {
                guard topics.count == 3 else { throw .wrongTopicCount(expected: 3, got: topics.count) }
                guard d.count == 96 else { throw .wrongDataLength(expected: 96, got: d.count) }
                guard let start = topics[2].uint64 else { throw .valueOutOfRange("intervalStart") }
                let secs = try word(d, 0, "intervalSeconds", max: UInt64(UInt32.max))
                return .meterReading(MeterReading(
                    asset: topics[1], intervalStart: start, intervalSeconds: UInt32(secs),
                    importWh: try word(d, 1, "importWh"), exportWh: try word(d, 2, "exportWh")))
            }
            if t0 == energyTransferTopic {
                guard topics.count == 3 else { throw .wrongTopicCount(expected: 3, got: topics.count) }
                guard d.count == 96 else { throw .wrongDataLength(expected: 96, got: d.count) }
                return .energyTransfer(EnergyTransfer(
                    from: topics[1], to: topics[2], intervalStart: try word(d, 0, "intervalStart"),
                    wh: try word(d, 1, "wh"), priceMicrosPerKwh: try word(d, 2, "priceMicrosPerKwh")))
            }
            if t0 == assetRegisteredTopic {
                guard topics.count == 3 else { throw .wrongTopicCount(expected: 3, got: topics.count) }
                guard d.count >= 128, d.count % 32 == 0 else { throw .wrongDataLength(expected: 128, got: d.count) }
                let stage = try word(d, 0, "stage", max: 255)
                let rated = try word(d, 1, "ratedKw", max: UInt64(UInt32.max))
                let offset = try word(d, 2, "name offset")
                guard offset % 32 == 0, offset >= 96, offset <= UInt64(d.count - 32) else {
                    throw .badStringEncoding("offset \(offset) outside the data")
                }
                let len = try word(d, Int(offset / 32), "name length")
                let bodyStart = Int(offset) + 32
                guard len <= UInt64(d.count - bodyStart) else {
                    throw .badStringEncoding("length \(len) runs past the data")
                }
                let keep = min(Int(len), maxNameBytes)
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: d[bodyStart..<(bodyStart + keep)]), as: UTF8.self)
                return .assetRegistered(AssetRegistration(
                    asset: topics[1], parent: topics[2], stage: Stage(rawValue: UInt8(stage)),
                    ratedKw: UInt32(rated), name: keep < Int(len) ? name + "…" : name))
            }
            throw DecodeError.notAGridEvent
        } }.get()
    }

    /// The i-th 32-byte word as an unsigned integer no larger than `max`.
    @inline(__always)
    static func word(_ d: UnsafeRawBufferPointer, _ i: Int, _ field: String, max: UInt64 = UInt64.max) throws(DecodeError) -> UInt64 {
        let w = Bytes32(unchecked: d, at: i * 32)
        guard let v = w.uint64, v <= max else { throw .valueOutOfRange(field) }
        return v
    }

    // MARK: Encoding

    public static func topics(of event: GridEvent) -> [Bytes32] {
        switch event {
        case .assetRegistered(let a): return [assetRegisteredTopic, a.asset, a.parent]
        case .meterReading(let m): return [meterReadingTopic, m.asset, Bytes32(uint: m.intervalStart)]
        case .energyTransfer(let t): return [energyTransferTopic, t.from, t.to]
        }
    }

    public static func data(of event: GridEvent) -> [UInt8] {
        var out: [UInt8] = []
        func put(_ v: UInt64) { out.append(contentsOf: Bytes32(uint: v).bytes) }
        switch event {
        case .assetRegistered(let a):
            put(UInt64(a.stage.rawValue))
            put(UInt64(a.ratedKw))
            put(96)
            let name = Array(a.name.utf8)
            put(UInt64(name.count))
            out.append(contentsOf: name)
            let pad = (32 - name.count % 32) % 32
            out.append(contentsOf: [UInt8](repeating: 0, count: pad))
        case .meterReading(let m):
            put(UInt64(m.intervalSeconds)); put(m.importWh); put(m.exportWh)
        case .energyTransfer(let t):
            put(t.intervalStart); put(t.wh); put(t.priceMicrosPerKwh)
        }
        return out
    }
}
