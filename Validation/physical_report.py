"""Physical detection report (issue 13): `make detection-report PHYSICAL=1`.

For every attack (and theft-free runs), for SEEDS seeds (one season each, cycling
winter → autumn): the three SimBench LV grids are metered over a window of the year
(AC power flows of pandapower's network model, see gridphys/powerflow.py), one thief
per grid, served as a schema v1 chain by a JSON-RPC server on loopback, and audited by
`gridtop alerts --node http://127.0.0.1:PORT --from-block 0 --to-block head --json`.
The alarm lines are scored against the ground truth and the same table as the
simulator's report is printed (Markdown on stdout, progress on stderr).

Environment: GRIDTOP (the binary, default .build/debug/gridtop), SEEDS (default 4),
ONLY (comma-separated attack labels' first words, e.g. "bypass,h1"), CACHE
(default .build/validation/cache), KEEP (a folder: keep each run's alarm lines there).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gridphys.attacks import ATTACKS, PER_DAY  # noqa: E402
from gridphys.grids import GRIDS  # noqa: E402
from gridphys.powerflow import Grid, year_cache  # noqa: E402
from gridphys.rpcserver import serve  # noqa: E402
from gridphys.scenario import SECONDS, build  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def audit(binary: str, run, keep: str | None) -> list[dict]:
    srv, port = serve(run.chain)
    try:
        with tempfile.TemporaryDirectory(prefix="gridtop-physical-") as home:
            env = dict(os.environ)
            for k in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
                env[k] = os.path.join(home, k.lower())
                os.makedirs(env[k], exist_ok=True)
            env["HOME"] = home
            p = subprocess.run([binary, "alerts", "--node", f"http://127.0.0.1:{port}", "--from-block", "0",
                                "--to-block", "head", "--json"], env=env, capture_output=True, text=True, timeout=3600)
    finally:
        srv.shutdown()
        srv.server_close()
    if p.returncode != 0:
        raise SystemExit(f"error: gridtop alerts exited {p.returncode} on {run.attack.label if run.attack else 'clean'} "
                         f"seed {run.seed}: {p.stderr.strip()[-400:]}")
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    if keep:
        os.makedirs(keep, exist_ok=True)
        name = (run.attack.label if run.attack else "clean").replace(" ", "_").replace("/", "-")
        with open(os.path.join(keep, f"{name}-seed{run.seed}.jsonl"), "w") as f:
            f.write(p.stdout)
    return lines


def score(run, lines: list[dict]) -> dict:
    """Per feeder: delay, thief rank, producers named, false alarms and the clean days they were counted over."""
    first_judged = run.first_interval + PER_DAY * SECONDS  # the first day is the detectors' learning
    raised = [x for x in lines if x.get("kind") == "suspected-theft" and x.get("event") == "raised"]
    out = {"feeders": [], "gsp_false": 0, "gsp_days": (run.intervals - PER_DAY) / PER_DAY, "messages": []}
    tx_assets = {f.transformer for f in run.feeders}
    for x in raised:
        if x["asset"] not in tx_assets and (x.get("interval") or 0) >= first_judged:
            out["gsp_false"] += 1
            out["messages"].append(f"{x.get('assetName')}: {x.get('message')}")
    for f in run.feeders:
        mine = [x for x in raised if x["asset"] == f.transformer]
        fa = sum(1 for x in mine if first_judged <= x["interval"] and (f.theft_start is None or x["interval"] < f.theft_start))
        end = f.theft_start if f.theft_start else run.first_interval + run.intervals * SECONDS
        r = {"grid": f.kind, "false": fa, "days": max(0, (end - first_judged) / (PER_DAY * SECONDS)),
             "delay": None, "rank": None, "producer_named": False, "stolen": sum(f.stolen_wh), "feeder": 0.0,
             "before": sum(f.stolen_wh)}
        if f.theft_start:
            k0 = (f.theft_start - run.first_interval) // SECONDS
            r["feeder"] = sum(f.feeder_wh[k0:])
            hit = next((x for x in mine if x["interval"] >= f.theft_start), None)
            if hit:
                d = (hit["interval"] - f.theft_start) // SECONDS + 1
                r["delay"] = d
                r["before"] = sum(f.stolen_wh[k0:k0 + d])
                sus = [s["asset"] for s in hit.get("suspects", [])]
                r["rank"] = sus.index(f.thief) + 1 if f.thief in sus else 99
                r["producer_named"] = any(s in f.producers for s in sus[:3])
                r["message"] = hit.get("message")
        out["feeders"].append(r)
    return out


def quantile(delays, q):
    """The simulator report's quantile (TheftEvaluation.summarize): undetected runs count as infinite."""
    d = sorted(x if x is not None else float("inf") for x in delays)
    if not d:
        return None
    i = min(len(d) - 1, max(0, math.ceil(q * len(d)) - 1))
    return d[i] * SECONDS / 3600 if d[i] != float("inf") else None


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = os.environ.get("GRIDTOP", os.path.join(root, ".build/debug/gridtop"))
    seeds = int(os.environ.get("SEEDS", "4"))
    only = [s for s in os.environ.get("ONLY", "").split(",") if s]
    cache = os.environ.get("CACHE", os.path.join(root, ".build/validation/cache"))
    keep = os.environ.get("KEEP")
    t0 = time.time()
    grids = []
    for code, kind in GRIDS:
        g = Grid(code)
        worst = g.validate([0, 8_000, 17_000, 26_000, 34_000])
        if worst > 1e-6:
            raise SystemExit(f"error: {code}: the Newton-Raphson loop differs from pandapower.runpp by {worst:.3g} MW")
        log(f"{code}: {len(g.net.load)} loads, {len(g.net.sgen)} PV, {g.storage_p.shape[1]} batteries; "
            f"matches pandapower.runpp within {worst:.1e} MW; year power flows…")
        grids.append((g, year_cache(g, cache), kind))
    attacks = [a for a in ATTACKS if not only or a.label.split()[0] in only or a.code in only]
    rows = []
    clean = {"false": 0, "days": 0.0, "gsp_false": 0, "gsp_days": 0.0}
    pre = {"false": 0, "days": 0.0}
    gsp_msgs = []
    plan = [(None, -1)] + [(a, i) for i, a in enumerate(ATTACKS) if a in attacks]
    for attack, index in plan:
        results = []
        for s in range(seeds):
            run = build(grids, attack, s, index)
            lines = audit(binary, run, keep)
            sc = score(run, lines)
            clean["gsp_false"] += sc["gsp_false"]
            clean["gsp_days"] += sc["gsp_days"]
            gsp_msgs.extend(sc["messages"])
            for r in sc["feeders"]:
                if attack is None:
                    clean["false"] += r["false"]
                    clean["days"] += r["days"]
                else:
                    pre["false"] += r["false"]
                    pre["days"] += r["days"]
                    results.append((r, attack))
            log(f"{attack.label if attack else 'theft-free'} seed {s} ({run.season}): "
                + ", ".join(f"{r['grid']} delay {r['delay']} rank {r['rank']} FA {r['false']}" for r in sc["feeders"])
                + f"; GSP FA {sc['gsp_false']} [{time.time() - t0:.0f} s]")
        if attack is not None:
            rows.append((attack, [r for r, _ in results]))
    print(f"Physical validation: SimBench {', '.join(f'{c} ({k})' for c, k in GRIDS)}; {seeds} seeds per row "
          f"(one 10-day window per season, cycling), one thief per grid per run; audited through "
          f"`gridtop alerts --from-block 0 --to-block head --json` over JSON-RPC.\n")
    print("| attack | runs | stolen share of feeder energy | recall ≤ 24 h | recall ≤ 7 d | median delay | p90 delay | "
          "kWh stolen before alarm (median) | thief in top 3 | producer named in top 3 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def pct(x):
        return f"{round(100 * x)} %"

    def hours(x):
        return "—" if x is None else f"{x:.1f} h"

    for attack, rs in rows:
        n = len(rs)
        share = sum(r["stolen"] / r["feeder"] for r in rs if r["feeder"] > 0) / max(n, 1)
        delays = [r["delay"] for r in rs]
        det = [r for r in rs if r["delay"] is not None]
        r24 = sum(1 for d in delays if d is not None and d <= PER_DAY) / n
        r7 = sum(1 for d in delays if d is not None and d <= 7 * PER_DAY) / n
        before = sorted(r["before"] / 1000 for r in rs)
        ranked = [r for r in det if r["rank"] is not None]
        top3 = "—" if attack.code == "unmetered" or not ranked else pct(sum(1 for r in ranked if r["rank"] <= 3) / len(ranked))
        prod = "—" if not det else pct(sum(1 for r in det if r["producer_named"]) / len(det))
        print(f"| {attack.label} | {n} | {100 * share:.2f} % | {pct(r24)} | {pct(r7)} | {hours(quantile(delays, 0.5))} | "
              f"{hours(quantile(delays, 0.9))} | {before[len(before) // 2]:.1f} | {top3} | {prod} |")
    print()
    tot_f, tot_d = clean["false"] + pre["false"], clean["days"] + pre["days"]
    print(f"False alarms at the transformers (first day excluded): {clean['false']} in {clean['days']:.1f} theft-free "
          f"feeder-days = {clean['false'] / max(clean['days'], 1e-9):.4f} per feeder-day; {pre['false']} in {pre['days']:.1f} "
          f"feeder-days before the theft in theft runs; together {tot_f / max(tot_d, 1e-9):.4f} per feeder-day.")
    print(f"False alarms at the grid supply point (every run, first day excluded): {clean['gsp_false']} in "
          f"{clean['gsp_days']:.1f} days.")
    if gsp_msgs:
        print(f"First GSP alarm: {gsp_msgs[0]}")
    log(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
