import Dispatch
import Foundation

/// SIGINT and SIGTERM for the headless commands: the default handlers are replaced so the
/// program can stop its work, say what it did, and exit like a shell expects (128 + signal).
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
                    Retained.add(src)
                }
                if Task.isCancelled, once.take() { box.resume(nil) }
            }
        } onCancel: {
            if once.take() { box.resume(nil) }
        }
    }

    /// How long work gets to end after SIGINT/SIGTERM before the process exits anyway
    /// (the promise: every command ends within 2 s of the signal).
    static let grace: Duration = .milliseconds(1200)

    /// Runs `body` until it returns or throws, or until SIGINT/SIGTERM arrives. On a signal the
    /// body is cancelled and gets `grace` to end (journal writes are synchronous transactions:
    /// what was confirmed is on disk), then `interrupted(signal)` runs (say what was done) and
    /// the process exits with 128 + signal, whether or not the body ended.
    static func runUntilSignal(_ body: @escaping @Sendable () async throws -> Void,
                               interrupted: @escaping @Sendable (Int32) -> Void = { _ in }) async throws {
        let first = FirstOutcome()
        // Installed before any work starts: no window in which the default action kills the process.
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler {
                if !first.finish(.signal(sig)) {
                    // A second signal while the work winds down: end now.
                    exit(128 + sig)
                }
            }
            src.resume()
            Retained.add(src)
        }
        let work = Task {
            do { try await body(); first.finish(.done) } catch { first.finish(.failed(error)) }
        }
        let outcome = await first.wait()
        switch outcome {
        case .done: return
        case .failed(let e): throw e
        case .signal(let s):
            work.cancel()
            let ended = FirstOutcome()
            Task { _ = await work.result; ended.finish(.done) }
            Task { try? await Task.sleep(for: grace); ended.finish(.signal(s)) }
            _ = await ended.wait()
            interrupted(s)
            fflush(nil)  // every stream (stdout, for the alarm lines)
            exit(128 + s)
        }
    }

    static func name(_ s: Int32) -> String {
        switch s {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(s)"
        }
    }
}

/// The first of: the work ended, the work failed, a signal arrived.
final class FirstOutcome: @unchecked Sendable {
    enum Outcome: @unchecked Sendable { case done, failed(any Error), signal(Int32) }
    private let lock = NSLock()
    private var outcome: Outcome?
    private var waiter: CheckedContinuation<Outcome, Never>?

    /// True when this was the first outcome.
    @discardableResult
    func finish(_ o: Outcome) -> Bool {
        lock.lock()
        guard outcome == nil else { lock.unlock(); return false }
        outcome = o
        let w = waiter
        waiter = nil
        lock.unlock()
        w?.resume(returning: o)
        return true
    }

    func wait() async -> Outcome {
        await withCheckedContinuation { c in
            lock.lock()
            if let o = outcome { lock.unlock(); c.resume(returning: o); return }
            waiter = c
            lock.unlock()
        }
    }
}

/// Keeps signal sources alive for the life of the process.
private enum Retained {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
    static let lock = NSLock()
    static func add(_ s: any DispatchSourceSignal) {
        lock.lock()
        sources.append(s)
        lock.unlock()
    }
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
