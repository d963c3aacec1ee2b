"""AC power flows of SimBench LV grids over their year profiles.

The network model (lines, transformer impedance and iron-loss shunt, tap, phase
shift, the MV slack) is pandapower's own: the bus admittance matrix is taken from
a pandapower `runpp` of the SimBench net. The 35,136 quarter-hours of the year
are then solved with a Newton-Raphson loop on that matrix (pandapower's
per-call DataFrame conversion costs ~150 ms a step here; the loop ~1 ms), and
the loop is checked against `pandapower.runpp` itself at sampled steps
(`validate`), so the reference stays pandapower's physics.

Loads, PV (sgen) and storage are constant-power PQ injections from SimBench's
absolute profiles (`simbench.get_absolute_values`). The output per step is the
active power of every element and the active power at the transformer's MV
terminal (what the transformer's meter sees): their difference is the grid's
technical loss (transformer iron and copper, LV line I²R of the P and Q flows).
"""
from __future__ import annotations

import os
import warnings

# One BLAS thread: the machine's cores are shared, and a 100×100 solve gains nothing from more.
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore")
os.environ.setdefault("NUMBA_DISABLE_JIT", "1")

import pandapower as pp  # noqa: E402
import simbench as sb  # noqa: E402

STEPS_PER_DAY = 96


class Grid:
    """One SimBench LV grid: its elements, admittance matrix and year profiles (MW, Mvar)."""

    def __init__(self, code: str):
        self.code = code
        net = sb.get_simbench_net(code)
        self.net = net
        prof = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
        self.load_p = prof[("load", "p_mw")].to_numpy(float)
        self.load_q = prof[("load", "q_mvar")].to_numpy(float)
        self.sgen_p = prof[("sgen", "p_mw")].to_numpy(float) if len(net.sgen) else np.zeros((len(self.load_p), 0))
        st = prof.get(("storage", "p_mw"))
        self.storage_p = st.to_numpy(float) if st is not None and st.shape[1] == len(net.storage) and len(net.storage) else np.zeros((len(self.load_p), 0))
        self.steps = self.load_p.shape[0]
        pp.runpp(net, numba=False, calculate_voltage_angles=True)
        ppci = net._ppc["internal"]
        self.base_mva = float(ppci["baseMVA"])
        self.ybus = ppci["Ybus"].toarray()
        self.ref = np.array(ppci["ref"], dtype=int)
        self.pq = np.array(sorted(set(range(self.ybus.shape[0])) - set(self.ref.tolist())), dtype=int)
        self.v0 = np.array(ppci["V"], dtype=complex)
        lookup = net._pd2ppc_lookups["bus"]
        self.load_bus = np.array([lookup[b] for b in net.load.bus], dtype=int)
        self.sgen_bus = np.array([lookup[b] for b in net.sgen.bus], dtype=int)
        self.storage_bus = np.array([lookup[b] for b in net.storage.bus], dtype=int)
        self.bus_of_pp = {int(b): int(lookup[b]) for b in net.bus.index}
        # Every in-service element must be in the profiles (else the model would miss an injection).
        assert self.load_p.shape[1] == len(net.load) and self.sgen_p.shape[1] == len(net.sgen)

    def sbus(self, t: int, extra: dict[int, float] | None = None) -> np.ndarray:
        """Bus injections (p.u.) at step t; `extra` adds unmetered loads {ppc bus: MW} (unity power factor)."""
        n = self.ybus.shape[0]
        s = np.zeros(n, dtype=complex)
        np.add.at(s, self.load_bus, -(self.load_p[t] + 1j * self.load_q[t]))
        if self.sgen_bus.size:
            np.add.at(s, self.sgen_bus, self.sgen_p[t])
        if self.storage_bus.size:
            np.add.at(s, self.storage_bus, -self.storage_p[t])
        if extra:
            for b, mw in extra.items():
                s[b] -= mw
        return s / self.base_mva

    def solve(self, sbus: np.ndarray, v0: np.ndarray, tol: float = 1e-10, max_it: int = 30) -> np.ndarray:
        """Newton-Raphson (polar) on pandapower's Ybus; the slack keeps its voltage."""
        y = self.ybus
        v = v0.copy()
        pq = self.pq
        npq = len(pq)
        for _ in range(max_it):
            i = y @ v
            mis = v * np.conj(i) - sbus
            f = np.concatenate([mis.real[pq], mis.imag[pq]])
            if np.max(np.abs(f)) < tol:
                return v
            vm = np.abs(v)
            vn = v / vm
            ds_dvm = v[:, None] * np.conj(y * vn[None, :])
            ds_dvm[np.diag_indices_from(ds_dvm)] += np.conj(i) * vn
            ds_dva = -1j * v[:, None] * np.conj(y * v[None, :])
            ds_dva[np.diag_indices_from(ds_dva)] += 1j * v * np.conj(i)
            j = np.block([
                [ds_dva.real[np.ix_(pq, pq)], ds_dvm.real[np.ix_(pq, pq)]],
                [ds_dva.imag[np.ix_(pq, pq)], ds_dvm.imag[np.ix_(pq, pq)]],
            ])
            dx = np.linalg.solve(j, -f)
            va = np.angle(v)
            va[pq] += dx[:npq]
            vm[pq] += dx[npq:]
            v = vm * np.exp(1j * va)
        raise RuntimeError(f"{self.code}: power flow did not converge")

    def slack_mw(self, v: np.ndarray) -> float:
        """Active power drawn from the MV slack (the transformer's MV terminal), MW."""
        return self.slack(v).real

    def slack(self, v: np.ndarray) -> complex:
        """Complex power drawn from the MV slack, MVA."""
        r = self.ref[0]
        return complex(v[r] * np.conj(self.ybus[r] @ v) * self.base_mva)

    def run(self, start: int, steps: int, extra: dict[int, np.ndarray] | None = None) -> np.ndarray:
        """Slack (transformer MV-side) complex power per step, MVA, for steps start..start+steps-1.

        `extra`: unmetered loads {ppc bus: MW per step of the window}."""
        out = np.empty(steps, dtype=complex)
        v = self.v0
        for k in range(steps):
            t = (start + k) % self.steps
            ex = {b: float(p[k]) for b, p in extra.items() if p[k] != 0} if extra else None
            v = self.solve(self.sbus(t, ex), v)
            out[k] = self.slack(v)
        return out

    def validate(self, steps: list[int]) -> float:
        """Largest |difference| (MW) between this loop and pandapower.runpp at the given steps."""
        net = self.net
        worst = 0.0
        for t in steps:
            net.load["p_mw"] = self.load_p[t]
            net.load["q_mvar"] = self.load_q[t]
            if len(net.sgen):
                net.sgen["p_mw"] = self.sgen_p[t]
                net.sgen["q_mvar"] = 0.0
            if len(net.storage):
                net.storage["p_mw"] = self.storage_p[t]
                net.storage["q_mvar"] = 0.0
            pp.runpp(net, numba=False, calculate_voltage_angles=True, tolerance_mva=1e-10)
            ref = float(net.res_ext_grid.p_mw.sum())
            mine = self.slack_mw(self.solve(self.sbus(t), self.v0))
            worst = max(worst, abs(ref - mine))
        return worst


def year_cache(grid: Grid, cache_dir: str) -> np.ndarray:
    """The whole year's slack power (MVA per quarter-hour), computed once and kept under .build/."""
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, f"pf-{grid.code}.npy")
    if os.path.exists(path):
        arr = np.load(path)
        if arr.shape == (grid.steps,):
            return arr
    arr = grid.run(0, grid.steps)
    np.save(path, arr)
    return arr
