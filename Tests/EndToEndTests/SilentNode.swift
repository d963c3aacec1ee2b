import Foundation
import Glibc

/// A hostile "node" on loopback TCP that accepts connections and then never answers
/// (`.silent`), or answers a byte at a time, one byte a second, forever (`.trickle`; with
/// `.slowBody` the answer's head comes at once and only its body trickles): what a
/// hung node, a black-holing proxy or a slowloris looks like from the client's side. With
/// `.echo` it refuses every request with 401 and a body that echoes the request line and
/// every header back (credentials included), as some misconfigured proxies do.
final class SilentNode: @unchecked Sendable {
    enum Mode { case silent, trickle, slowBody, echo }
    let port: UInt16
    private let fd: Int32
    private let mode: Mode
    private let lock = NSLock()
    private var clients: [Int32] = []
    private var stopped = false
    private(set) var accepted = 0

    init(_ mode: Mode) throws {
        self.mode = mode
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(sock, 64) == 0 else { throw NSError(domain: "SilentNode", code: Int(errno)) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
        fd = sock
        let t = Thread { [self] in acceptLoop() }
        t.start()
        if mode == .trickle || mode == .slowBody {
            let w = Thread { [self] in trickleLoop() }
            w.start()
        }
    }

    var wsURL: String { "ws://127.0.0.1:\(port)/" }
    var httpURL: String { "http://127.0.0.1:\(port)/" }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            lock.lock()
            if stopped { lock.unlock(); if c >= 0 { close(c) }; return }
            if c >= 0 { accepted += 1; if mode != .echo { clients.append(c) } }
            lock.unlock()
            if c < 0 { usleep(10_000); continue }
            if mode == .echo {
                let t = Thread { SilentNode.echo(c) }
                t.start()
            }
        }
    }

    private func trickleLoop() {
        let text = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"".utf8)
        var sent: [Int32: Int] = [:]
        while true {
            sleep(1)
            lock.lock()
            if stopped { lock.unlock(); return }
            let cs = clients
            for c in cs where sent[c] == nil { sent[c] = 0 }
            lock.unlock()
            // Each connection gets the answer from its first byte, one byte a second.
            for c in cs {
                if mode == .slowBody, sent[c] == 0 {
                    // The answer's head at once, then its body a byte a second.
                    var head = Array(text.prefix(while: { _ in true }))
                    let end = (text.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound) ?? text.count
                    head = Array(text[0..<end])
                    _ = send(c, &head, head.count, Int32(MSG_NOSIGNAL))
                    sent[c] = end
                    continue
                }
                let k = sent[c] ?? 0
                var b = k < text.count ? text[k] : UInt8(ascii: "0")
                _ = send(c, &b, 1, Int32(MSG_NOSIGNAL))
                sent[c] = k + 1
            }
        }
    }

    /// Reads one request head and answers 401 with it echoed in the body, then closes.
    static func echo(_ c: Int32) {
        var head = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while head.count < 65_536 {
            let n = recv(c, &buf, buf.count, 0)
            if n <= 0 { break }
            head += buf[0..<n]
            if head.count >= 4, head.suffix(from: 0).withUnsafeBufferPointer({ String(decoding: $0, as: UTF8.self) }).contains("\r\n\r\n") { break }
        }
        let request = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n\r\n").first ?? ""
        let body = "access denied for request: " + request.replacingOccurrences(of: "\r\n", with: " | ")
        let response = "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        var bytes = Array(response.utf8)
        _ = send(c, &bytes, bytes.count, Int32(MSG_NOSIGNAL))
        shutdown(c, Int32(SHUT_WR))
        usleep(200_000)
        close(c)
    }

    func stop() {
        lock.lock()
        stopped = true
        let cs = clients
        clients = []
        lock.unlock()
        for c in cs { close(c) }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
