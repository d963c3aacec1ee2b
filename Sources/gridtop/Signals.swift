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
        let ending = OnceFlag()
        let grace = Self.grace
        // The process must end even when every thread of the concurrency pool is busy (a
        // simulator building blocks, an audit decoding megabytes): the signal is caught by a
        // plain handler that writes to a pipe, read by an OS thread of its own, which also holds
        // the deadline. Installed before any work starts.
        let end: @Sendable (Int32) -> Void = { sig in
            guard ending.take() else { return }
            interrupted(sig)
            fflush(nil)
            exit(128 + sig)
        }
        SignalPipe.install { sig, isFirst in
            guard isFirst else { exit(128 + sig) }  // a second signal: end now
            first.finish(.signal(sig))
            let t = Thread {
                Thread.sleep(forTimeInterval: Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18)
                end(sig)
            }
            t.start()
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
            _ = await work.result
            end(s)
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

/// SIGINT and SIGTERM through a pipe to a thread of their own (see `runUntilSignal`).
enum SignalPipe {
    nonisolated(unsafe) static var writeEnd: Int32 = -1

    /// `onSignal(signal, first)` runs on the reader thread for every SIGINT/SIGTERM.
    static func install(_ onSignal: @escaping @Sendable (Int32, Bool) -> Void) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        writeEnd = fds[1]
        for sig in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { s in
                var b = UInt8(truncatingIfNeeded: s)
                _ = write(SignalPipe.writeEnd, &b, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(sig, &action, nil)
        }
        let readEnd = fds[0]
        let t = Thread {
            var count = 0
            while true {
                var b: UInt8 = 0
                let n = read(readEnd, &b, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                count += 1
                onSignal(Int32(b), count == 1)
            }
        }
        t.start()
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
