"""Meter error models by accuracy class, each meter with its own seeded errors.

- Direct-connected consumer, PV and battery meters: IEC 62053-21 class 1 / MID class B
  (5(60) A): maximum permissible error ±1 % from I_tr = 0.5 A up, ±1.5 % from I_min =
  0.25 A to I_tr; below the starting current I_st = 20 mA nothing registers. A meter uses
  part of its allowance: a fixed calibration error N(0, 0.3 %) (clipped at ±0.8 %), a
  low-current error growing to ±0.5 % at I_min and up to ±1.5 % more towards I_st, and a
  0.05 % random error per reading.
- The transformer's meter: CT-operated, IEC 62053-22 class 0.5S with class 0.5S current
  transformers: fixed error N(0, 0.15 %), a CT ratio error that grows below 20 % of the
  rated current (±0.5 % there, up to ±1.5 % at 1 %), 0.02 % random.
- The MV infeed meter at the grid supply point: class 0.2S, fixed N(0, 0.07 %), 0.01 % random.

Every meter keeps cumulative import and export registers of 1 Wh resolution; an
interval's reading is the difference of the registers (rounding does not accumulate).
"""
from __future__ import annotations

import math
import random

import numpy as np

PHASE_V = 230.0


class Meter:
    def __init__(self, kind: str, rng: random.Random, rated_va: float = 0.0):
        self.kind = kind
        self.rated_va = rated_va
        self.cum_import = 0.0
        self.cum_export = 0.0
        if kind == "direct":
            self.fixed = max(-0.008, min(0.008, rng.gauss(0, 0.003)))
            self.low = rng.uniform(-0.005, 0.005)
            self.very_low = rng.uniform(-0.015, 0.015)
            self.noise = 0.0005
        elif kind == "ct":
            self.fixed = rng.gauss(0, 0.0015)
            self.ct = rng.uniform(-1, 1)
            self.noise = 0.0002
        else:  # "0.2S"
            self.fixed = rng.gauss(0, 0.0007)
            self.noise = 0.0001
        self.rng = rng

    def error(self, apparent_va: float) -> float | None:
        """Relative error at this apparent power; None below the starting current."""
        if self.kind == "direct":
            i = apparent_va / (3 * PHASE_V)  # three-phase meter, current per phase
            if i < 0.02:
                return None
            e = self.fixed
            if i < 0.5:
                e += self.low * min(1.0, (0.5 - i) / 0.25)
            if i < 0.25:
                e += self.very_low * (0.25 - i) / 0.23
            return e
        if self.kind == "ct":
            x = apparent_va / self.rated_va if self.rated_va > 0 else 1.0
            if x < 0.2:
                ct = 0.005 + 0.01 * min(1.0, (0.2 - x) / 0.19)
            else:
                ct = 0.005
            return self.fixed + 0.6 * self.ct * ct
        return self.fixed

    def errors(self, apparent_va: np.ndarray) -> np.ndarray:
        """`error` for every interval at once (NaN below the starting current)."""
        if self.kind == "direct":
            i = apparent_va / (3 * PHASE_V)
            e = np.full(i.shape, self.fixed)
            e += np.where(i < 0.5, self.low * np.minimum(1.0, (0.5 - i) / 0.25), 0.0)
            e += np.where(i < 0.25, self.very_low * (0.25 - i) / 0.23, 0.0)
            return np.where(i < 0.02, np.nan, e)
        if self.kind == "ct":
            x = apparent_va / self.rated_va if self.rated_va > 0 else np.ones_like(apparent_va)
            ct = np.where(x < 0.2, 0.005 + 0.01 * np.minimum(1.0, (0.2 - x) / 0.19), 0.005)
            return self.fixed + 0.6 * self.ct * ct
        return np.full(apparent_va.shape, self.fixed)

    def read_all(self, wh: np.ndarray, apparent_va: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`read` for a whole series: (importWh, exportWh) per interval, from the cumulative registers."""
        e = self.errors(apparent_va)
        noise = np.array([self.rng.gauss(0, self.noise) for _ in range(len(wh))])
        measured = np.where(np.isnan(e), 0.0, wh * (1 + np.nan_to_num(e) + noise))
        imp = np.floor(np.cumsum(np.where(measured > 0, measured, 0.0)))
        exp = np.floor(np.cumsum(np.where(measured < 0, -measured, 0.0)))
        return np.diff(imp, prepend=0).astype(np.int64), np.diff(exp, prepend=0).astype(np.int64)

    def read(self, wh: float, apparent_va: float) -> tuple[int, int]:
        """One interval of net energy `wh` (positive: import from the parent) → (importWh, exportWh)."""
        e = self.error(apparent_va)
        if e is None or wh == 0:
            measured = 0.0
        else:
            measured = wh * (1 + e + self.rng.gauss(0, self.noise))
        before_i, before_e = math.floor(self.cum_import), math.floor(self.cum_export)
        if measured > 0:
            self.cum_import += measured
        else:
            self.cum_export -= measured
        return math.floor(self.cum_import) - before_i, math.floor(self.cum_export) - before_e
