import Foundation
import Glibc

/// A TCP proxy on loopback in front of a node that resets connections: each connection is
/// cut with a TCP reset (SO_LINGER 0) once it has carried a random number of bytes towards
/// the client, until `resets` connections have been cut; after that it forwards faithfully.
/// What a flaky load balancer or a NAT that drops long-lived flows looks like to the client.
final class ResettingProxy: @unchecked Sendable {
    let port: UInt16
    private let upstream: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var remaining: Int
    private var rng: UInt64
    private var open: [(Int32, Int32)] = []
    private var stopped = false
    private let byteRange: ClosedRange<Int>
    /// Connections cut so far.
    private(set) var cut = 0

    /// `resets` connections are cut, each after between `bytes` bytes towards the client.
    init(upstream: UInt16, resets: Int, bytes: ClosedRange<Int> = 20_000...400_000, seed: UInt64 = 7) throws {
        self.upstream = upstream
        remaining = resets
        byteRange = bytes
        rng = seed | 1
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = Self.loopback(0)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(sock, 64) == 0 else { throw NSError(domain: "ResettingProxy", code: Int(errno)) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
        fd = sock
        Thread { [self] in acceptLoop() }.start()
    }

    var wsURL: String { "ws://127.0.0.1:\(port)/" }
    var httpURL: String { "http://127.0.0.1:\(port)/" }

    private static func loopback(_ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = port.bigEndian
        return a
    }

    /// xorshift64*: the same seed cuts at the same byte counts.
    private func nextBudget() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard remaining > 0 else { return nil }
        remaining -= 1
        rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27
        let r = rng &* 2_685_821_657_736_338_717
        return byteRange.lowerBound + Int(r % UInt64(byteRange.count))
    }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                lock.lock(); let s = stopped; lock.unlock()
                if s { return }
                usleep(10_000); continue
            }
            let u = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = Self.loopback(upstream)
            let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(u, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if ok != 0 { close(c); close(u); continue }
            lock.lock()
            if stopped { lock.unlock(); close(c); close(u); return }
            open.append((c, u))
            lock.unlock()
            let budget = nextBudget()
            Thread { [self] in pump(from: c, to: u, budget: nil, pair: (c, u)) }.start()
            Thread { [self] in pump(from: u, to: c, budget: budget, pair: (c, u)) }.start()
        }
    }

    private func pump(from: Int32, to: Int32, budget: Int?, pair: (Int32, Int32)) {
        var buf = [UInt8](repeating: 0, count: 16_384)
        var left = budget
        while true {
            let n = recv(from, &buf, left.map { min(buf.count, max(1, $0)) } ?? buf.count, 0)
            if n <= 0 { break }
            var sent = 0
            while sent < n {
                let m = buf.withUnsafeBytes { send(to, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                if m <= 0 { return reset(pair) }
                sent += m
            }
            if let l = left {
                left = l - n
                if left! <= 0 {
                    lock.lock(); cut += 1; lock.unlock()
                    return reset(pair)
                }
            }
        }
        reset(pair)  // one side ended: the connection ends
    }

    /// Both sides closed with a TCP reset (linger 0), once.
    private func reset(_ pair: (Int32, Int32)) {
        lock.lock()
        guard let i = open.firstIndex(where: { $0 == pair }) else { lock.unlock(); return }
        open.remove(at: i)
        lock.unlock()
        var l = linger(l_onoff: 1, l_linger: 0)
        for s in [pair.0, pair.1] {
            setsockopt(s, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
            close(s)
        }
    }

    func stop() {
        lock.lock()
        stopped = true
        let all = open
        open = []
        lock.unlock()
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        for (a, b) in all { close(a); close(b) }
    }
}
