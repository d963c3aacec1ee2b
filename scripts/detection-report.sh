#!/usr/bin/env bash
# Builds the Monte-Carlo detection report driver (Sources/DetectionReport,
# optimised) and runs it. Environment: RUNS, CLEAN_RUNS, CONSUMERS, IDEAL.
# Prints Markdown tables on stdout; progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product DetectionReport >&2
.build/release/DetectionReport
