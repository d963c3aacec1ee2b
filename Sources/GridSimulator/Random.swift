/// Deterministic randomness for the simulator.
///
/// Everything the simulated grid does is a pure function of the seed, so the
/// same seed gives the same grid, the same readings and the same theft on every
/// run and every machine. Never use the system RNG here.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private(set) var state: UInt64

    init(seed: UInt64) { state = seed }

    /// An independent stream for `(seed, domain, index)`: lets any interval or
    /// asset be computed on its own, in any order, with the same result.
    init(seed: UInt64, stream domain: UInt64, _ index: UInt64 = 0) {
        var s = SplitMix64(seed: seed ^ 0x6A09_E667_F3BC_C908)
        let a = s.next() ^ (domain &* 0x9E37_79B9_7F4A_7C15)
        var t = SplitMix64(seed: a)
        let b = t.next() ^ (index &* 0xBF58_476D_1CE4_E5B9)
        state = SplitMix64.mix(b)
    }

    static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }

    /// Uniform integer in [0, n).
    mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        return Int(next() % UInt64(n))
    }

    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Standard normal (Box–Muller).
    mutating func gaussian() -> Double {
        let u1 = max(unit(), 0x1.0p-53)
        let u2 = unit()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }
}

/// Stream domains, so that adding a new random quantity later does not shift existing ones.
enum RandomDomain: UInt64 {
    case topology = 1
    case interval = 2
    case weather = 3
    case transfers = 4
    case theft = 5
    case blocks = 6
}

// Minimal math without Foundation.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) func _log(_ x: Double) -> Double { log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { cos(x) }
@inline(__always) func _sin(_ x: Double) -> Double { sin(x) }
@inline(__always) func _exp(_ x: Double) -> Double { exp(x) }
@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
