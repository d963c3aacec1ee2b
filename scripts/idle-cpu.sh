#!/usr/bin/env bash
# Idle CPU of the whole `gridtop watch` process following 4 simulated nodes
# (a block per second, 550 readings per 5 s), in a 160x48 tmux terminal.
# Prints the share of one core over the measured window, per-thread CPU,
# and the process's context switches (a proxy for wake-ups).
#
#   scripts/idle-cpu.sh [BIN] [SECONDS]     default: .build/release/gridtop 60
set -euo pipefail
BIN=${1:-.build/release/gridtop}
SECS=${2:-60}
WARMUP=${WARMUP:-15}
TMP=$(mktemp -d)
SESSION="gridtop-idle-$$"
HZ=$(getconf CLK_TCK)

"$BIN" sim --nodes 4 --block-time 1s > "$TMP/urls.txt" 2> "$TMP/sim.err" &
SIM=$!
cleanup() {
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    kill "$SIM" 2>/dev/null || true
    wait "$SIM" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

for _ in $(seq 100); do [ "$(grep -c '^ws://' "$TMP/urls.txt" || true)" -ge 4 ] && break; sleep 0.2; done
ARGS=()
for u in $(grep '^ws://' "$TMP/urls.txt"); do ARGS+=(--node "$u"); done
ARGS+=(--contract "$(sed -n 's/^contract //p' "$TMP/urls.txt")")
tmux new-session -d -s "$SESSION" -x 160 -y 48 "exec $BIN watch ${ARGS[*]} --db $TMP/idle.sqlite"
PID=$(tmux display -p -t "$SESSION" '#{pane_pid}')
sleep "$WARMUP"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
threads() {
    for t in /proc/"$PID"/task/*; do
        # comm may hold spaces: take the fields after the closing parenthesis.
        local stat; stat=$(cat "$t/stat")
        local comm=${stat#*(}; comm=${comm%%)*}
        local rest=${stat##*) }
        set -- $rest
        echo "$(basename "$t") $comm $(( ${12} + ${13} ))"
    done
}
switches() { awk '/ctxt_switches/ {s += $2} END {print s}' /proc/"$PID"/task/*/status; }

T0=$(ticks "$PID"); C0=$(switches); threads > "$TMP/t0"
sleep "$SECS"
T1=$(ticks "$PID"); C1=$(switches); threads > "$TMP/t1"

echo "gridtop watch pid $PID over ${SECS}s: $((T1 - T0)) ticks of 1/${HZ}s = $(awk -v t=$((T1 - T0)) -v s="$SECS" -v hz="$HZ" 'BEGIN {printf "%.2f", 100 * t / hz / s}') % of one core"
echo "context switches (all threads): $(( (C1 - C0) / SECS ))/s"
echo "per thread (ticks in the window):"
join <(sort "$TMP/t0") <(sort "$TMP/t1") | awk '{d = $5 - $3; printf "  %-8s %-20s %d\n", $1, $2, d}' | sort -k3 -n -r
