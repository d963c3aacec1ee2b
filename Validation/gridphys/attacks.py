"""Theft attacks (Jokar, Arianpoo and Leung, IEEE Trans. Smart Grid 7(1), 2016: h1–h6),
a full bypass, a hook-up before the thief's meter and an unmetered load on the line.

Meter attacks change what the thief's meter records, not what flows (the power flow
is the honest one). The two hook-ups draw extra power that no meter sees: the power
flow is re-run with that load at its bus.
"""
from __future__ import annotations

import random

import numpy as np

PER_DAY = 96


class Attack:
    def __init__(self, code: str, label: str, **p):
        self.code, self.label, self.p = code, label, p

    @property
    def is_hookup(self) -> bool:
        return self.code in ("hookup", "unmetered")

    def reported(self, x: np.ndarray, start: int, rng: random.Random) -> np.ndarray:
        """What the thief's meter is made to record, for the window's true energies `x` (Wh per
        interval, window-aligned to whole days); the attack acts from interval `start` on."""
        r = x.copy()
        if self.is_hookup:
            return r
        days = len(x) // PER_DAY
        for d in range(days):
            lo, hi = d * PER_DAY, (d + 1) * PER_DAY
            if hi <= start:
                continue
            day = x[lo:hi]
            if self.code == "bypass":
                rep = np.zeros_like(day)
            elif self.code == "h1":
                rep = self.p["alpha"] * day
            elif self.code == "h2":
                length = int(round(rng.uniform(self.p["lo"], self.p["hi"]) * 4))
                s = rng.randrange(PER_DAY)
                rep = day.copy()
                for k in range(length):
                    rep[(s + k) % PER_DAY] = 0
            elif self.code == "h3":
                rep = np.array([rng.uniform(self.p["lo"], self.p["hi"]) for _ in day]) * day
            elif self.code == "h4":
                rep = np.array([rng.uniform(self.p["lo"], self.p["hi"]) for _ in day]) * day.mean()
            elif self.code == "h5":
                rep = np.full_like(day, day.mean())
            elif self.code == "h6":
                rep = day[::-1].copy()
            else:
                raise ValueError(self.code)
            first = max(lo, start)
            r[first:hi] = rep[first - lo:]
        if "stop_after" in self.p:  # a theft that stops (recorded fixtures: the alarm must clear)
            end = start + self.p["stop_after"]
            r[end:] = x[end:]
        return r


ATTACKS = [
    Attack("bypass", "full bypass"),
    Attack("h1", "h1 α=0.8", alpha=0.8),
    Attack("h1", "h1 α=0.5", alpha=0.5),
    Attack("h2", "h2 off 4–8 h/day", lo=4, hi=8),
    Attack("h3", "h3 α∈[0.5,0.9]", lo=0.5, hi=0.9),
    Attack("h4", "h4 α∈[0.5,0.9]·mean", lo=0.5, hi=0.9),
    Attack("h5", "h5 flat mean"),
    Attack("h6", "h6 reversed day"),
    Attack("hookup", "hook-up before the meter 1 kW", kw=1.0),
    Attack("unmetered", "unmetered load on the line 0.3 kW", kw=0.3),
]
