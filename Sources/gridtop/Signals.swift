import Dispatch
import Foundation

/// Waits for SIGINT or SIGTERM (the default handlers are replaced so the
/// program can shut down its servers and restore the terminal).
enum Signals {
    static func wait() async -> Int32 {
        await withCheckedContinuation { (cont: CheckedContinuation<Int32, Never>) in
            let once = OnceFlag()
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                src.setEventHandler {
                    if once.take() { cont.resume(returning: sig) }
                }
                src.resume()
                Retained.sources.append(src)
            }
        }
    }
}

/// Keeps signal sources alive for the life of the process.
private enum Retained {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
}

final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func take() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if done { return false }
        done = true
        return true
    }
}
