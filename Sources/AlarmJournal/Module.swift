// AlarmJournal: the durable, append-only record of every alarm transition and operator action (SQLite via GRDB).
