"""Annealing on a landscape: how often noisy runs end in the deepest well, against the
noise level sigma and the learning-rate schedule.

Noise as temperature. With additive gradient noise, w <- w - eta_t (grad f + sigma xi)
samples, for small steps, the Gibbs density exp(-(f - f_min) / T) at the temperature

    T_t = eta_t sigma^2 / (2 (1 - beta))          (``temperature``)

so a schedule eta_t = eta s(t) is a cooling schedule T_t = T s(t). A run hops over a
barrier of height dE at a rate of about exp(-dE / T) per unit of time eta_t; where it
ends (``basin``: the well it settles in once the noise is switched off) depends on
- sigma: at sigma -> 0 nothing moves, every run ends in the basin it started in;
- the schedule: constant eta keeps the temperature, so at high sigma the runs go on
  hopping and end spread over the wells as the Gibbs shares at T say
  (``analysis_landscape_noise.gibbs_weights``, an equilibrium reached given time); a
  decaying schedule (step, cosine) cools while the runs are hopping and freezes them,
  more often than not, into the deepest well, whose barrier is the last one to freeze;
- the run length: cooling that is too fast quenches (the runs freeze wherever they
  were); too short a stay at a temperature where the shallow wells' barriers can be
  crossed leaves runs in them (at moderate sigma a decaying schedule can do *worse*
  than constant eta, which stays hot for longer).

``deep_table`` gives, per (eta, beta, schedule, sigma), the share of runs that end in
the deepest listed minimum with its Wilson interval (``analysis_landscape_noise.wilson``),
the share that end in the basin their start point lies in (noiseless gradient flow,
``analysis_landscape_noise.basin_of_attraction``) and the share that settled nowhere
listed.

Counting runs. The engine's noise depends on the seed alone (common random numbers):
runs from different start points with one seed feel the same kicks, and once hot they
forget their start and move together (noise synchronises them), so a start grid adds
information at low sigma only. The intervals count ``effective_runs`` (Kish's design
effect with the seeds as clusters), between the number of seeds and the number of runs.
``compare`` tests one schedule against another at each sigma: a one-sided two-proportion
z-test (pooled) on those counts; it ignores that the two schedules share their seeds
too, which correlates them positively and so only makes the test cautious.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import schedules as sch
from .analysis_landscape_noise import basin_of_attraction, gibbs_weights, wilson

__all__ = [
    "compare",
    "deep_maps",
    "deep_table",
    "deepest",
    "effective_runs",
    "gibbs_deep",
    "schedule_factors",
    "schedule_label",
    "schedule_names",
    "start_basins",
    "temperature",
    "z_test",
]

KEYS = ("eta", "beta", "schedule", "sigma")
CONSTANT = "constant"


def deepest(info) -> int:
    """Index of the listed minimum with the lowest value (the deepest well)."""
    if not info.minima:
        raise ValueError(f"{info.name} lists no minima")
    return min(range(len(info.minima)), key=lambda i: (info.minima[i].value, i))


def temperature(eta, beta, sigma):
    """T = eta sigma^2 / (2 (1 - beta)): the temperature of noisy (heavy-ball) descent."""
    return np.asarray(eta) * np.asarray(sigma) ** 2 / (2.0 * (1.0 - np.asarray(beta)))


def gibbs_deep(info, T, deep=None, n=300):
    """Gibbs share of the deepest well's basin at each temperature T (1-D array)."""
    deep = deepest(info) if deep is None else deep
    return gibbs_weights(info, np.atleast_1d(T), n=n)[:, deep]


def schedule_tables(spec) -> dict[str, dict]:
    """{name: normalised schedule table} in the sweep's order: the schedule axis's names
    ("constant" built in), a single [schedule] table under its kind, or {"constant":
    ...} for a sweep without a schedule."""
    named = dict(spec.get("schedules") or {})
    axis = (spec.get("axes") or {}).get("schedule")
    if axis is not None:
        return {n: named.get(n, sch.BUILTIN.get(n, {"kind": n})) for n in axis["values"]}
    one = spec.get("schedule")
    if one:
        return {one.get("kind", CONSTANT): one}
    return {CONSTANT: {"kind": CONSTANT}}


def schedule_names(spec) -> list[str]:
    """The schedules of a sweep, in its order (see ``schedule_tables``)."""
    return list(schedule_tables(spec))


def schedule_factors(spec) -> dict[str, np.ndarray]:
    """{name: s(0 .. steps-1)}: eta_t / eta of each schedule of the sweep."""
    steps = int(spec["steps"])
    out = {}
    for name, table in schedule_tables(spec).items():
        full = sch.normalise(dict(table), f"schedules.{name}", steps)
        out[name] = sch.factors(full, steps)
    return out


def schedule_label(name, table, steps) -> str:
    """A short legend text for a schedule, e.g. "cosine: η → 0 over 10,000 steps"."""
    kind = table.get("kind", name)
    head = name if name == kind else f"{name} ({kind})"
    if kind == "constant":
        return f"{head}: η fixed"
    if kind == "step":
        return f"{head}: ×{table.get('gamma', 0.1):g} every {int(table['every']):,} steps"
    if kind == "cosine":
        floor = table.get("min_factor", 0.0)
        T = int(table.get("T", steps))
        return f"{head}: η → {_times(floor)} over {T:,} steps"
    if kind == "cyclical":
        low = table.get("low", 0.1)
        tri2 = " halving" if table.get("mode") == "triangular2" else ""
        return f"{head}: {_times(low)} ↔ η{tri2}, period {2 * int(table['half']):,}"
    if kind == "exponential":
        return f"{head}: ×{table['gamma']:g} per step"
    return head


def _times(f):
    return "0" if f == 0 else "η" if f == 1 else f"{f:g}η"


def start_basins(info, x0, y0) -> np.ndarray:
    """Basin of each start point under noiseless gradient flow (index of a listed
    minimum, -1 where the flow ends elsewhere): int array shaped as x0."""
    return basin_of_attraction(info, x0, y0)


def _starts(df, spec):
    start = [*list((spec.get("problem_params") or {}).get("start") or [0.0, 0.0]), 0.0]
    x0 = df["x0"].to_numpy(np.float64) if "x0" in df else np.full(len(df), float(start[0]))
    y0 = df["y0"].to_numpy(np.float64) if "y0" in df else np.full(len(df), float(start[1]))
    return x0, y0


def with_start_basin(df, spec, info) -> pd.DataFrame:
    """``df`` with a column ``start_basin``: the basin its start point lies in (noiseless
    gradient flow; computed once per distinct start)."""
    x0, y0 = _starts(df, spec)
    pts, inverse = np.unique(np.stack([x0, y0], axis=1), axis=0, return_inverse=True)
    basins = start_basins(info, pts[:, 0], pts[:, 1])
    out = df.copy()
    out["start_basin"] = np.asarray(basins)[np.ravel(inverse)]
    return out


def _keys(df):
    return [k for k in KEYS if k in df]


def deep_table(df, spec, info, deep=None) -> pd.DataFrame:
    """Per (eta, beta, schedule, sigma) present: runs; ``deep`` (runs ending in the
    deepest well) and its share ``p`` with the 95 % Wilson interval ``lo``, ``hi``;
    ``stayed`` (share ending in the basin of their start, noiseless gradient flow);
    ``other`` (share settled at no listed minimum: basin -1, escaped, diverged);
    ``start_deep`` (share of the runs that started in the deep well's basin) and ``T``
    (temperature at the base step size). Needs the column basin."""
    deep = deepest(info) if deep is None else deep
    d = with_start_basin(df, spec, info)
    keys = _keys(d)
    if "schedule" in d:
        d["schedule"] = d["schedule"].astype(str)
    rows = []
    for key, g in d.groupby(keys, sort=True, observed=True) if keys else [((), d)]:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key, strict=True))
        basin = g["basin"].to_numpy()
        n, k = len(g), int((basin == deep).sum())
        n_eff = effective_runs(basin == deep, g["seed"].to_numpy() if "seed" in g else None)
        lo, hi = wilson(k / n * n_eff, n_eff)
        row.update(runs=n, deep=k, p=k / n, n_eff=n_eff, lo=float(lo), hi=float(hi))
        row["stayed"] = float((basin == g["start_basin"].to_numpy()).mean())
        row["other"] = float((basin < 0).mean())
        row["start_deep"] = float((g["start_basin"].to_numpy() == deep).mean())
        row["T"] = float(
            temperature(row.get("eta", np.nan), row.get("beta", 0.0), row.get("sigma", 0.0))
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    if "schedule" in table:  # the sweep's order, not the alphabet's
        order = {n: i for i, n in enumerate(schedule_names(spec))}
        table["_o"] = table["schedule"].map(order)
        first = [k for k in ("eta", "beta") if k in table]
        table = table.sort_values([*first, "_o", "sigma" if "sigma" in table else "_o"])
        table = table.drop(columns="_o").reset_index(drop=True)
    return table


def effective_runs(hit, seed=None) -> float:
    """The number of independent runs that ``hit`` (bool per run) is worth, for its
    interval: the engine's noise is keyed by the seed alone, so runs that share a seed
    (other start points, schedules) share their noise and, in a contracting landscape,
    their fate (common noise synchronises them). Kish's design effect with the seeds as
    clusters: deff = (variance of the per-seed shares) / (p (1 - p) / m), m the runs per
    seed; n_eff = n / deff, kept within [number of seeds, n]. Where the share is 0 or 1
    the data say nothing about the correlation: n_eff = number of seeds (cautious)."""
    hit = np.asarray(hit, dtype=np.float64)
    n = len(hit)
    if seed is None or n == 0:
        return float(n)
    _, inverse, counts = np.unique(np.asarray(seed), return_inverse=True, return_counts=True)
    clusters = len(counts)
    if clusters == n:
        return float(n)
    p = hit.mean()
    if p <= 0.0 or p >= 1.0 or clusters < 2:
        return float(clusters)
    shares = np.bincount(np.ravel(inverse), weights=hit) / counts
    m = n / clusters
    deff = shares.var(ddof=1) / (p * (1.0 - p) / m)
    return float(min(n, max(clusters, n / deff if deff > 0 else n)))


def z_test(k1, n1, k2, n2):
    """One-sided two-proportion z-test of p1 > p2 (pooled variance): (z, p-value)."""
    k1, n1, k2, n2 = (np.asarray(v, dtype=np.float64) for v in (k1, n1, k2, n2))
    p1, p2 = k1 / n1, k2 / n2
    pool = (k1 + k2) / (n1 + n2)
    se = np.sqrt(pool * (1.0 - pool) * (1.0 / n1 + 1.0 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (p1 - p2) / np.where(se > 0, se, 1.0), 0.0)
    p = np.vectorize(lambda v: 0.5 * math.erfc(v / math.sqrt(2.0)))(z)
    return z, p


def compare(table, better, worse=CONSTANT) -> pd.DataFrame:
    """Per (eta, beta, sigma): the deep-well shares of schedule ``better`` and ``worse``,
    their difference and the one-sided z-test of "better > worse" (columns z, p_value)
    on the effective numbers of runs (``n_eff``, see ``effective_runs``)."""
    if "schedule" not in table:
        raise ValueError("the table has no schedule column")
    keys = [k for k in ("eta", "beta", "sigma") if k in table]
    a = table[table["schedule"] == better][[*keys, "n_eff", "p"]]
    b = table[table["schedule"] == worse][[*keys, "n_eff", "p"]]
    both = a.merge(b, on=keys, suffixes=("_a", "_b"), how="inner")
    na, nb = both["n_eff_a"], both["n_eff_b"]
    z, p = z_test(both["p_a"] * na, na, both["p_b"] * nb, nb)
    out = both[keys].copy()
    out[better], out[worse] = both["p_a"], both["p_b"]
    out["diff"] = both["p_a"] - both["p_b"]
    out["z"], out["p_value"] = z, p
    return out.reset_index(drop=True)


def deep_maps(df, deep, sigmas=None, schedules=None):
    """Per (schedule, sigma) pair asked (default: all present), the share of runs (over
    seeds and every other axis) that end in the deep well at each start point:
    {(schedule, sigma): (x (nx,), y (ny,), share (ny, nx))} (NaN where no run).
    Needs the x0 and y0 columns."""
    d = df.copy()
    if "schedule" not in d:
        d["schedule"] = CONSTANT
    if "sigma" not in d:
        d["sigma"] = 0.0
    d["schedule"] = d["schedule"].astype(str)
    d["_deep"] = (d["basin"].to_numpy() == deep).astype(np.float64)
    x = np.unique(d["x0"].to_numpy())
    y = np.unique(d["y0"].to_numpy())
    sigmas = np.unique(d["sigma"]) if sigmas is None else sigmas
    schedules = list(dict.fromkeys(d["schedule"])) if schedules is None else schedules
    out = {}
    for s in schedules:
        for sg in sigmas:
            g = d[(d["schedule"] == s) & (d["sigma"] == sg)]
            m = g.groupby(["y0", "x0"])["_deep"].mean()
            share = np.full((len(y), len(x)), np.nan)
            iy = np.searchsorted(y, m.index.get_level_values(0).to_numpy())
            ix = np.searchsorted(x, m.index.get_level_values(1).to_numpy())
            share[iy, ix] = m.to_numpy()
            out[(s, float(sg))] = (x, y, share)
    return out
