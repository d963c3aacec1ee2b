import Dispatch
import Foundation

/// Waits for SIGINT or SIGTERM (the default handlers are replaced so the
/// program can shut down its servers and restore the terminal).
enum Signals {
    /// Returns the signal's number, or nil when the waiting task is cancelled.
    static func wait() async -> Int32? {
        let once = OnceFlag()
        let box = ContinuationBox()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (cont: CheckedContinuation<Int32?, Never>) in
                box.set(cont)
                for sig in [SIGINT, SIGTERM] {
                    signal(sig, SIG_IGN)
                    let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                    src.setEventHandler {
                        if once.take() { box.resume(sig) }
                    }
                    src.resume()
                    Retained.sources.append(src)
                }
                if Task.isCancelled, once.take() { box.resume(nil) }
            }
        } onCancel: {
            if once.take() { box.resume(nil) }
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

/// Hands a continuation from the waiting task to whichever of signal or cancellation comes first.
final class ContinuationBox: @unchecked Sendable {
    private let lock = NSLock()
    private var cont: CheckedContinuation<Int32?, Never>?
    private var early: Int32??
    func set(_ c: CheckedContinuation<Int32?, Never>) {
        lock.lock()
        if let e = early { lock.unlock(); c.resume(returning: e); return }
        cont = c
        lock.unlock()
    }
    func resume(_ v: Int32?) {
        lock.lock()
        if let c = cont { cont = nil; lock.unlock(); c.resume(returning: v); return }
        early = .some(v)
        lock.unlock()
    }
}
