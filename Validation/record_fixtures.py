"""Records the small physical cases the Alerts unit tests are built from (issue 13) into
Tests/Fixtures/physical/. Deterministic: the same pins, seeds and SimBench data give the
same files. Run: .build/validation-venv/bin/python Validation/record_fixtures.py

Each file starts with `#` lines of provenance. Balances are what gridtop computes
(docs/ledger-events.md): residual = netIn(segment) − Σ netIn(children); throughput = the
larger of the energy in (own import + children's export) and out (own export + children's
import); an interval is complete only when every reading arrived on time.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gridphys.attacks import Attack  # noqa: E402
from gridphys.grids import GRIDS  # noqa: E402
from gridphys.powerflow import Grid, year_cache  # noqa: E402
from gridphys.scenario import SECONDS, build  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "physical")


def provenance(what: str, run, grid: str) -> str:
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    return (f"# {what}\n# Recorded by Validation/record_fixtures.py (gridtop {commit}): SimBench {grid} (simbench 1.6.3, "
            f"pandapower 3.5.6 AC power flow), seed {run.seed}, {run.season} window from unix {run.first_interval}, "
            f"class-B meters, 0.2 % missing / 0.5 % late readings.\n# SimBench data: simbench.de, Open Database License "
            f"(ODbL) v1.0 / Database Contents License; derived values only.\n")


def netin(run, a):
    imp, exp = run.series[a]
    return imp.astype(np.int64) - exp.astype(np.int64)


def balance_rows(run, seg: str | None, children: list[str]):
    """Per interval: start, complete, netIn(seg), Σ netIn(children), throughput."""
    rows = []
    for t in range(run.intervals):
        ok = all(run.on_time[c][t] for c in children) and (seg is None or run.on_time[seg][t])
        own_i, own_e = (run.series[seg][0][t], run.series[seg][1][t]) if seg else (0, 0)
        kids_i = sum(int(run.series[c][0][t]) for c in children)
        kids_e = sum(int(run.series[c][1][t]) for c in children)
        net = int(own_i) - int(own_e) if seg else 0
        rows.append((run.first_interval + t * SECONDS, int(ok), net, kids_i - kids_e, max(int(own_i) + kids_e, int(own_e) + kids_i)))
    return rows


def write_balance(name: str, header: str, rows, start_note: str = ""):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(header + start_note + "interval,complete,netInWh,childrenNetInWh,throughputWh\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    cache = os.path.join(ROOT, ".build/validation/cache")
    grids = {code: (Grid(code), kind) for code, kind in GRIDS}
    years = {code: year_cache(g, cache) for code, (g, _) in grids.items()}

    def one(code):
        g, kind = grids[code]
        return [(g, years[code], kind)]

    # 1. The grid supply point over its first two theft-free days (the learning day and the next):
    #    meter errors only (no loss between the MV infeed meter and the transformers' MV meters).
    run = build([(g, years[c], k) for c, (g, k) in grids.items()], None, 0, -1, clean_run_days=2)
    tx = [f.transformer for f in run.feeders]
    infeed = next(a for a in run.series if a not in tx and all(a not in f.children for f in run.feeders))
    write_balance("gsp-clean-2days.csv", provenance("Grid supply point (root): MV infeed meter and three transformers' MV meters, 2 theft-free days", run, "+".join(grids)),
                  balance_rows(run, None, [infeed] + tx))

    # 2. A rural transformer with a full bypass that stops after 12 h (the alarm must clear).
    rural = GRIDS[0][0]
    stop = Attack("bypass", "full bypass, stops after 12 h", stop_after=48)
    run = build(one(rural), stop, 1, 0, clean_days=2, attack_days=2)
    f = run.feeders[0]
    k0 = (f.theft_start - run.first_interval) // SECONDS
    write_balance("rural-bypass-stops.csv",
                  provenance(f"Rural transformer: {f.thief_name} bypasses its meter from interval {f.theft_start} for 48 intervals, then stops", run, rural),
                  balance_rows(run, f.transformer, f.children), f"# theftStart={f.theft_start} theftEnd={f.theft_start + 48 * SECONDS} thief={f.thief}\n")

    # 3. Readings of every child of the rural transformer around a consumer's bypass (ranking):
    #    PV and batteries with their own meters, sunny and cloudy days; the thief's meter reads 0 from theftStart.
    run = build(one(rural), Attack("bypass", "full bypass"), 2, 0, clean_days=3, attack_days=1)
    f = run.feeders[0]
    with open(os.path.join(OUT, "rural-children-bypass.csv"), "w") as out:
        out.write(provenance(f"Rural transformer and every child meter; {f.thief_name} bypasses its meter from {f.theft_start}", run, rural))
        out.write(f"# theftStart={f.theft_start} thief={f.thief}\n")
        out.write("# row 'role': transformer, consumer, producer or thief; then one row per interval: start, then each column's netInWh (empty: not on time)\n")
        cols = [f.transformer] + f.children
        out.write("asset," + ",".join(cols) + "\n")
        out.write("role,transformer," + ",".join("thief" if c == f.thief else "producer" if c in f.producers else "consumer" for c in f.children) + "\n")
        series = {c: netin(run, c) for c in cols}
        for t in range(run.intervals):
            out.write(str(run.first_interval + t * SECONDS) + "," + ",".join(
                str(int(series[c][t])) if run.on_time[c][t] else "" for c in cols) + "\n")

    # 4. A semi-urban transformer where a household hides half its consumption (h1 α=0.5) for 7 days.
    semi = GRIDS[1][0]
    run = build(one(semi), Attack("h1", "h1 α=0.5", alpha=0.5), 3, 2, clean_days=2, attack_days=7)
    f = run.feeders[0]
    write_balance("semiurban-h1-half.csv",
                  provenance(f"Semi-urban transformer: {f.thief_name} meter records half its consumption from {f.theft_start} (h1 α=0.5), "
                             f"{sum(f.stolen_wh) / 1000:.1f} kWh hidden in 7 days", run, semi),
                  balance_rows(run, f.transformer, f.children), f"# theftStart={f.theft_start} thief={f.thief}\n")
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
