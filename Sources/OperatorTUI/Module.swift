// OperatorTUI: see docs/architecture.md. Filled in by the module's own files.
