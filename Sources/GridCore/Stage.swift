/// Where an asset sits in the grid (schema v1 `uint8 stage`).
///
/// Unknown values are kept and shown as `stage ?N`, never dropped.
public struct Stage: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let generation = Stage(rawValue: 0)
    public static let transmission = Stage(rawValue: 1)
    public static let substation = Stage(rawValue: 2)
    public static let feeder = Stage(rawValue: 3)
    public static let transformer = Stage(rawValue: 4)
    public static let consumer = Stage(rawValue: 5)
    public static let storage = Stage(rawValue: 6)

    /// The stages of the schema, in the order energy flows.
    public static let known: [Stage] = [.generation, .transmission, .substation, .feeder, .transformer, .consumer, .storage]

    public var isKnown: Bool { rawValue <= 6 }

    public var name: String {
        switch rawValue {
        case 0: return "generation"
        case 1: return "transmission"
        case 2: return "substation"
        case 3: return "feeder"
        case 4: return "transformer"
        case 5: return "consumer"
        case 6: return "storage"
        default: return "stage ?\(rawValue)"
        }
    }

    public var description: String { name }

    public static func < (a: Stage, b: Stage) -> Bool { a.rawValue < b.rawValue }

    public init?(name: String) {
        guard let s = Stage.known.first(where: { $0.name == name }) else { return nil }
        self = s
    }
}
