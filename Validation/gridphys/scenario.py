"""One validation run: the three SimBench LV grids over one window of the year, metered,
with one thief per grid (or none), written as a schema v1 chain, and its ground truth.

Layout on chain (docs/ledger-events.md): the grid supply point (transmission, root) with
the MV infeed's meter (generation, class 0.2S) and the three transformers (meter on the
MV side, class 0.5S); under each transformer every SimBench load (households, trades,
farms, heat pumps, EV chargers: consumers), PV system (generation: its own feed-in
meter) and battery (storage), each with a class-B meter. 0.2 % of readings never
arrive, 0.5 % arrive 1–8 intervals late.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

from . import chain as ch
from .attacks import PER_DAY, Attack
from .meters import Meter
from .powerflow import Grid

YEAR_START = 1_451_606_400  # 2016-01-01T00:00Z: SimBench profiles are the year 2016
SECONDS = 900
WH_PER_MW = 250_000.0  # one MW for a quarter-hour
MISSING, LATE = 0.002, 0.005
SEASONS = ["winter", "spring", "summer", "autumn"]
HOUSEHOLD_PREFIXES = ("H0", "G", "L")


@dataclass
class FeederTruth:
    grid: str
    kind: str
    transformer: str  # asset id hex
    thief: str | None = None  # the consumer whose meter lies (or who hooked up before it)
    thief_name: str | None = None
    producers: set[str] = field(default_factory=set)
    children: list[str] = field(default_factory=list)  # every child asset id hex, in registration order
    names: dict[str, str] = field(default_factory=dict)
    consumers: set[str] = field(default_factory=set)
    theft_start: int | None = None  # interval start (unix) of the first stolen interval
    stolen_wh: list[float] = field(default_factory=list)  # per window interval
    feeder_wh: list[float] = field(default_factory=list)  # transformer's true import per interval


@dataclass
class Run:
    attack: Attack | None
    seed: int
    season: str
    first_interval: int
    intervals: int
    chain: ch.Chain
    feeders: list[FeederTruth]
    gsp: str
    # Per asset id hex: (importWh, exportWh) per interval as metered, and the intervals that
    # arrived on time (the rest never arrived or came late): for recording test fixtures.
    series: dict = field(default_factory=dict)
    on_time: dict = field(default_factory=dict)


def _name(s) -> str:
    return str(s).replace("\n", " ")[:60]


def build(grids: list[tuple[Grid, np.ndarray, str]], attack: Attack | None, seed: int, attack_index: int,
          clean_days: int = 3, attack_days: int = 7, clean_run_days: int = 10) -> Run:
    rng = random.Random(7919 * seed + 104_729 * (attack_index + 1))
    season = seed % 4
    start_day = season * 91 + 10 + rng.randrange(60)
    start_step = start_day * PER_DAY
    theft_start = clean_days * PER_DAY + rng.randrange(PER_DAY) if attack else None
    total = theft_start + attack_days * PER_DAY if attack else clean_run_days * PER_DAY
    whole = math.ceil(total / PER_DAY) * PER_DAY
    first_interval = YEAR_START + start_step * SECONDS

    gsp_code = f"GSP-{seed}"
    gsp = ch.asset_id(gsp_code)
    infeed = ch.asset_id(f"{gsp_code}/MV-infeed")
    regs = [ch.registered(gsp, ch.ZERO32, 1, 2000, "Grid supply point (physical validation)"),
            ch.registered(infeed, gsp, 0, 2000, "MV infeed meter")]
    readings: dict[int, list] = {t: [] for t in range(total + 9)}
    feeders: list[FeederTruth] = []
    infeed_wh = np.zeros(total)
    infeed_va = np.zeros(total)

    series: dict = {}
    on_time: dict = {}

    def emit(asset: bytes, t: int, imp: int, exp: int) -> bool:
        u = rng.random()
        if u < MISSING:
            return False
        arrive = t + (rng.randint(1, 8) if u < MISSING + LATE else 0)
        readings[arrive].append(ch.reading(asset, first_interval + t * SECONDS, SECONDS, imp, exp))
        return arrive == t

    def emit_all(asset: bytes, imp, exp):
        key = "0x" + asset.hex()
        series[key] = (imp, exp)
        on_time[key] = np.array([emit(asset, t, int(imp[t]), int(exp[t])) for t in range(total)])

    for gi, (g, year, kind) in enumerate(grids):
        net = g.net
        steps = [(start_step + k) % g.steps for k in range(whole)]
        slack = year[steps].copy()
        tx_code = f"{gsp_code}/{g.code}/TX"
        tx = ch.asset_id(tx_code)
        trafo = net.trafo.iloc[0]
        regs.append(ch.registered(tx, gsp, 4, int(trafo.sn_mva * 1000), f"Transformer {_name(trafo['name'])} ({kind})"))
        truth = FeederTruth(grid=g.code, kind=kind, transformer="0x" + tx.hex())
        households = [i for i, p in enumerate(net.load.profile)
                      if str(p).startswith(HOUSEHOLD_PREFIXES) and g.load_p[steps, i].mean() >= 1e-4]
        thief = rng.choice(households) if attack and attack.code != "unmetered" else None
        stolen = np.zeros(total)
        if attack and attack.is_hookup:
            if attack.code == "hookup":
                bus = g.load_bus[thief]
            else:
                candidates = sorted(set(range(g.ybus.shape[0])) - set(g.ref.tolist()))
                bus = rng.choice(candidates)
            mw = attack.p["kw"] / 1000
            n = total - theft_start
            extra = {int(bus): np.full(n, mw)}
            slack[theft_start:total] = g.run(start_step + theft_start, n, extra)
            stolen[theft_start:] = mw * WH_PER_MW
        # Loads.
        for i in range(len(net.load)):
            code = f"{tx_code}/load/{i}"
            aid = ch.asset_id(code)
            prof = str(net.load.profile.iloc[i])
            what = ("Heat pump" if prof.startswith(("Air", "Soil")) else
                    "EV charger" if prof.startswith(("HLS", "APLS")) else
                    "Farm" if prof.startswith("L") else "Business" if prof.startswith("G") else "Household")
            name = f"{what} {_name(net.load.name.iloc[i])}"
            p = g.load_p[steps, i]
            q = g.load_q[steps, i]
            regs.append(ch.registered(aid, tx, 5, max(1, int(round(net.load.sn_mva.iloc[i] * 1000))) if "sn_mva" in net.load else 10, name))
            truth.consumers.add("0x" + aid.hex())
            truth.children.append("0x" + aid.hex())
            truth.names["0x" + aid.hex()] = name
            wh = p * WH_PER_MW
            va = np.hypot(p, q) * 1e6
            if i == thief:
                truth.thief, truth.thief_name = "0x" + aid.hex(), name
                if not attack.is_hookup:
                    rep = attack.reported(wh, theft_start, rng)
                    stolen[:] += (wh - rep)[:total]
                    va = va * np.divide(rep, wh, out=np.ones_like(wh), where=wh > 0)
                    wh = rep
            emit_all(aid, *Meter("direct", rng).read_all(wh[:total], va[:total]))
        # PV systems (own feed-in meter).
        for i in range(len(net.sgen)):
            aid = ch.asset_id(f"{tx_code}/pv/{i}")
            regs.append(ch.registered(aid, tx, 0, max(1, int(round(net.sgen.sn_mva.iloc[i] * 1000))), f"PV {_name(net.sgen.name.iloc[i])}"))
            truth.producers.add("0x" + aid.hex())
            truth.children.append("0x" + aid.hex())
            truth.names["0x" + aid.hex()] = f"PV {_name(net.sgen.name.iloc[i])}"
            p = g.sgen_p[steps, i]
            emit_all(aid, *Meter("direct", rng).read_all(-p[:total] * WH_PER_MW, p[:total] * 1e6))
        # Batteries.
        for i in range(g.storage_p.shape[1]):
            aid = ch.asset_id(f"{tx_code}/storage/{i}")
            regs.append(ch.registered(aid, tx, 6, max(1, int(round(abs(net.storage.p_mw.iloc[i]) * 1000))), f"Battery {_name(net.storage.name.iloc[i])}"))
            truth.producers.add("0x" + aid.hex())
            truth.children.append("0x" + aid.hex())
            truth.names["0x" + aid.hex()] = f"Battery {_name(net.storage.name.iloc[i])}"
            p = g.storage_p[steps, i]
            emit_all(aid, *Meter("direct", rng).read_all(p[:total] * WH_PER_MW, np.abs(p[:total]) * 1e6))
        # The transformer's own meter (MV side, CT-operated).
        emit_all(tx, *Meter("ct", rng, rated_va=trafo.sn_mva * 1e6).read_all(slack[:total].real * WH_PER_MW, np.abs(slack[:total]) * 1e6))
        infeed_wh -= slack[:total].real * WH_PER_MW
        infeed_va += np.abs(slack[:total]) * 1e6
        truth.theft_start = first_interval + theft_start * SECONDS if attack else None
        truth.stolen_wh = stolen.tolist()
        truth.feeder_wh = (slack[:total].real * WH_PER_MW).tolist()
        feeders.append(truth)
    emit_all(infeed, *Meter("0.2S", rng).read_all(infeed_wh, infeed_va))

    c = ch.Chain(genesis_time=first_interval - 3600)
    c.add_block(first_interval - 600, regs)
    for t in range(total + 9):
        if readings[t] or t < total:
            c.add_block(first_interval + (t + 1) * SECONDS + 20, readings[t])
    return Run(attack=attack, seed=seed, season=SEASONS[season], first_interval=first_interval, intervals=total,
               chain=c, feeders=feeders, gsp="0x" + gsp.hex(), series=series, on_time=on_time)
