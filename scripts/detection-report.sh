#!/usr/bin/env bash
# Builds the Monte-Carlo detection report driver from the pure simulator and
# detector sources (one module, optimised) and runs it. Environment: RUNS,
# CLEAN_RUNS, CONSUMERS. Prints Markdown tables on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build/detection-report
mkdir -p "$out/src"
rm -f "$out"/src/*.swift
for f in Sources/ChainCore/*.swift Sources/GridCore/*.swift \
         Sources/GridSimulator/{Random,SimulationConfig,GridTopology,ConsumerProfile,MeterDelivery,GridModel,TheftAttack,TheftEvaluation,GroundTruth}.swift \
         Sources/Alerts/{LossModel,SegmentDetector}.swift Sources/Alerts/Suspect*.swift Sources/Alerts/Shape*.swift \
         scripts/detection-report/main.swift; do
    [ -f "$f" ] || continue
    name=$(echo "$f" | tr / _); [ "$f" = scripts/detection-report/main.swift ] && name=main.swift
    sed -E 's/^(@testable )?import (ChainCore|GridCore|GridSimulator|Alerts)$//' "$f" > "$out/src/$name"
done
swiftc -O -module-name DetectionReport "$out"/src/*.swift -o "$out/report" 2>&1 | grep -v "^warning" >&2 || true
"$out/report"
