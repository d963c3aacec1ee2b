import AlarmJournal

/// Checks before anything starts that an explicit journal path can be opened or created
/// (its folder must exist): a journal that cannot be written is a one-line error at start,
/// not a warning an hour later.
enum JournalPreflight {
    static func check(dbPath: String?) throws {
        guard let dbPath else { return }
        do {
            _ = try AlarmJournal(path: dbPath, chainId: nil, createFolders: false)
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
