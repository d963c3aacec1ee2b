@testable import AlarmJournal
import Alerts
import ChainCore
import Foundation
import GridCore

/// A stream of alarm work against a journal, for the crash test (run in a child process of the test bundle):
/// detector batches (raise/clear) and operator actions, each printed as `done <seq> <alarm> <event>`
/// only after its transaction committed. Runs until `actions` are done or the process is killed.
enum JournalStress {
    static func run(path: String, seed: UInt64, actions: Int = .max, alarms: Int = 20,
                           print: (String) -> Void) throws {
        let journal = try AlarmJournal(path: path, chainId: 1)
        var (book, _) = try journal.restore()
        var rng = StressRandom(seed: seed)
        let names = (0..<alarms).map { AssetID.asset(code: "STRESS-\($0)") }
        func condition(_ i: Int) -> AlarmCondition {
            AlarmCondition(kind: i % 3 == 0 ? .staleMeter : .suspectedTheft, asset: names[i], assetName: "STRESS-\(i)",
                           stage: .transformer, interval: UInt64(i) * 900, message: "stress \(i)")
        }
        print("ready \(book.alarms.count)")
        var done = 0
        while done < actions {
            let now = Date().timeIntervalSince1970
            if book.alarms.count < alarms || Int.random(in: 0..<4, using: &rng) == 0 {
                // A detector batch, written the way the monitor writes it.
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let i = Int.random(in: 0..<alarms, using: &rng)
                    if book.isActive(condition(i).kind, names[i]) {
                        book.clear(condition(i).kind, asset: names[i], now: now, message: "back to normal")
                    } else {
                        book.raise(condition(i), now: now)
                    }
                }
                let ts = book.takeTransitions()
                let seqs = try journal.append(ts)
                for (s, t) in zip(seqs, ts) { print("done \(s) \(t.alarm.id) \(t.event.rawValue)") }
            } else {
                let ids = book.alarms.values.map(\.id).sorted()
                let id = ids[Int.random(in: 0..<ids.count, using: &rng)]
                let action: OperatorAction
                switch Int.random(in: 0..<6, using: &rng) {
                case 0: action = .acknowledge(comment: "ack \(done)")
                case 1: action = .shelve(.timed, until: now + 3600, reason: "stress shelf \(done)")
                case 2: action = .unshelve(reason: nil)
                case 3: action = .removeFromService(reason: "stress oos \(done)")
                case 4: action = .returnToService(reason: nil)
                default: action = .comment("note \(done)")
                }
                do {
                    let entries = try journal.perform(action, on: id, by: "stress", now: now)
                    for e in entries {
                        book.replay(e.transition)
                        print("done \(e.seq) \(e.transition.alarm.id) \(e.transition.event.rawValue)")
                    }
                } catch JournalError.action {
                    continue  // not allowed in this state (e.g. unshelve of an unshelved alarm)
                }
            }
            done += 1
        }
    }
}

/// A small seeded generator (xorshift64*): the same seed, the same stream of work.
struct StressRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
