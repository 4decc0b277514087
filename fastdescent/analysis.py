"""Derived tables for the figures of scripts/: pandas/NumPy plus ``fastdescent.theory``.

Every function here reads a results DataFrame (``fastdescent.load``) and the sweep's
normalised spec (``_sweep.json["spec"]``) and returns plain tables; ``fastdescent.plots``
only draws them. The step size is always expressed as h = eta * lambda_max, in which
GD diverges at h = 2 for every kappa, so grids of different kappa share one x axis.

Cells. ``cells`` pools the seeds of each grid point (lr, beta, kappa): a cell is
diverged if any seed diverged, and its rate is the median measured rate of its seeds.
Quadratic sweeps are deterministic, so with one seed a cell is simply a row.

Units. "steps" in ``boundary`` means grid steps of the lr axis at the measured point,
so a boundary found exactly where theory puts it has residual in [0, 1).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import theory

__all__ = [
    "Grid",
    "RateMap",
    "best_rate",
    "boundary",
    "cells",
    "colour_top",
    "decade_ticks",
    "decades",
    "finite_limit",
    "grid",
    "kappa_line",
    "limit_curve",
    "limit_line",
    "loss_curves",
    "optimum",
    "pool_boundary",
    "rate_laws",
    "rate_map",
    "region_map",
]


def cells(df, spec):
    """One row per grid cell (seeds pooled), sorted by (kappa, beta, h).

    df: rows of ``fastdescent.load`` with at least lr, eta, lambda_min, lambda_max,
    status, rate, loss0, final_loss (and beta, kappa where the sweep has them).
    Returns a DataFrame with float64 columns kappa (lambda_max / lambda_min when the
    sweep has no kappa axis), beta (0 without a beta axis), lr, h = eta * lambda_max,
    lambda_min, lambda_max, rate (median over seeds of the non-diverged runs; NaN if
    all diverged), loss_ratio (median of final_loss / loss0; inf if diverged), steps
    (median steps of the converged runs: steps to the tolerance; NaN if none) and bool
    columns diverged (any seed) and unstable (not diverged, but rate >= 1: the run
    neither converged nor passed the divergence threshold within the step budget).
    """
    d = pd.DataFrame(
        {
            "kappa": df["kappa"] if "kappa" in df else df["lambda_max"] / df["lambda_min"],
            "beta": df["beta"] if "beta" in df else 0.0,
            "lr": df["lr"],
            "h": df["eta"] * df["lambda_max"],
            "lambda_min": df["lambda_min"],
            "lambda_max": df["lambda_max"],
        }
    )
    div = (df["status"] == "diverged").to_numpy()
    d["diverged"] = div
    d["rate"] = np.where(div, np.nan, df["rate"])
    d["loss_ratio"] = np.where(div, np.inf, df["final_loss"] / df["loss0"])
    conv = (df["status"] == "converged").to_numpy()
    steps = df["steps"].to_numpy(np.float64) if "steps" in df else np.full(len(df), np.nan)
    d["steps"] = np.where(conv, steps, np.nan)  # steps to the tolerance (converged runs)
    if spec["axes"]["lr"].get("relative_to") == "lambda_max":
        d["h"] = d["lr"]  # exact grid values, free of eta * lambda_max rounding
    if "seed" in df and df["seed"].nunique() > 1:
        g = d.groupby(["kappa", "beta", "lr"], sort=False)
        d = g.agg(
            h=("h", "first"),
            lambda_min=("lambda_min", "first"),
            lambda_max=("lambda_max", "first"),
            diverged=("diverged", "any"),
            rate=("rate", "median"),
            loss_ratio=("loss_ratio", "median"),
            steps=("steps", "median"),
        ).reset_index()
    d["unstable"] = ~d["diverged"] & (d["rate"] >= 1.0)
    return d.sort_values(["kappa", "beta", "h"], ignore_index=True)


def decades(rate):
    """Colour value for a rate: d = -log10(1 - rho), so rho = 0, 0.9, 0.99, 0.999 give
    d = 0, 1, 2, 3 and rates near 1 stay distinguishable. Same shape as ``rate``;
    NaN where rho >= 1 or rho is NaN; rho < 0 (not expected) gives d < 0."""
    r = np.asarray(rate, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(r < 1.0, -np.log10(1.0 - r), np.nan)


def decade_ticks(vmax, max_ticks=6):
    """Colour-bar ticks for ``decades``: (positions d, labels in rho), at most
    ``max_ticks`` (>= 5) of them, every label distinct. rho = 0, (0.5 if vmax <= 3, else
    it crowds 0), then whole decades d = k <= vmax: every one while they fit, else
    0.9, 0.99, 0.999 and the multiples above 3 of the smallest of 2, 4, 5, 8, 10, ... of
    which at most ``max_ticks`` - 4 fit. Labelled 0.9, 0.99, 0.999 for k <= 3 and as
    mathtext 1 - 10^-k above (0.9999999999 is unreadable)."""
    top = max(int(np.floor(vmax)), 0)
    half = vmax <= 3
    if top <= max_ticks - 1:
        ks = list(range(1, top + 1))
    else:
        room = max_ticks - 4
        for step in (2, 4, 5, 8, 10, 20, 25, 50, 100, 10**9):
            high = [k for k in range(step, top + 1, step) if k > 3]
            if len(high) <= room:
                break
        ks = [1, 2, 3, *high]
    pos = [0.0] + ([np.log10(2.0)] if half else []) + [float(k) for k in ks]
    labels = ["0"] + (["0.5"] if half else [])
    labels += ["0." + "9" * k if k <= 3 else f"$1 - 10^{{-{k}}}$" for k in ks]
    return pos, labels


@dataclass(frozen=True)
class RateMap:
    """The measured rate over a (y, h) grid: y = beta for one kappa, or y = kappa (gd).

    h: (ny, nx) float64, eta * lambda_max at each cell centre (rows differ only for gd
    sweeps with an absolute lr axis); h_edges: (ny, nx + 1) cell edges along h, per row.
    y: (ny,) float64; y_edges: (ny + 1,). x_log, y_log: whether the axis is log-spaced
    (edges are then geometric midpoints). rate, decades: (ny, nx) float64, NaN where
    diverged, unstable or not computed; interior: decades, also NaN within a few
    cells along h of such a cell (for iso-rate contours, which otherwise crowd into
    the last cells before the stability limit, where rho -> 1 for every level).
    diverged, unstable, missing: (ny, nx) bool.
    kappa, lambda_min, lambda_max: floats for a beta map, NaN for a kappa map;
    beta: the momentum of a kappa map (0 for gd), NaN for a beta map.
    """

    y_name: str
    y: np.ndarray
    y_edges: np.ndarray
    y_log: bool
    h: np.ndarray
    h_edges: np.ndarray
    x_log: bool
    rate: np.ndarray
    decades: np.ndarray
    interior: np.ndarray
    diverged: np.ndarray
    unstable: np.ndarray
    missing: np.ndarray
    kappa: float
    lambda_min: float
    lambda_max: float
    beta: float = np.nan

    @property
    def no_rate(self):
        """(ny, nx) bool: cells run and not diverged or unstable, but without a rate
        estimate (NaN rate: e.g. a start at the minimum, or no data in the rate window)."""
        return np.isnan(self.decades) & ~self.diverged & ~self.unstable & ~self.missing


def edges(centres, log=False):
    """Cell edges of sorted centres, shape (n + 1,): midpoints (geometric if ``log``),
    the ends extended by half a neighbouring step (a unit-wide cell if n == 1)."""
    v = np.log(centres) if log else np.asarray(centres, dtype=np.float64)
    if len(v) == 1:
        e = np.array([v[0] - 0.5, v[0] + 0.5]) if not log else v[0] + np.array([-0.1, 0.1])
    else:
        mid = 0.5 * (v[1:] + v[:-1])
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(e) if log else e


def _is_log(spec, axis):
    a = spec["axes"].get(axis, {})
    if "scale" in a:
        return a["scale"] == "log"
    v = np.asarray(a.get("values", [1.0]), dtype=np.float64)  # values: log if ratio-spaced
    return bool(len(v) > 2 and np.all(v > 0) and np.ptp(np.diff(np.log(np.sort(v)))) < 1e-9)


def _interior(d):
    """``d`` with NaN within a margin of max(1, nx // 80) cells (along axis 1, about
    3 on a 256-point lr axis) of a NaN cell."""
    margin = max(1, d.shape[1] // 80)
    bad = ~np.isfinite(d)
    grown = bad.copy()
    for k in range(1, min(margin, d.shape[1] - 1) + 1):
        grown[:, k:] |= bad[:, :-k]
        grown[:, :-k] |= bad[:, k:]
    return np.where(grown, np.nan, d)


@dataclass(frozen=True)
class Grid:
    """Cells (seeds pooled as in ``cells``) as dense arrays over the sweep's grid.

    kappa (nk,), beta (nb,), lr (nl,): the sorted grid values present (kappa =
    lambda_max / lambda_min without a kappa axis; beta = [0] without a beta axis);
    lambda_min, lambda_max (nk,). Per cell, shape (nk, nb, nl): h = eta * lambda_max
    (NaN where no row), rate (median over seeds of the non-diverged runs, NaN if none),
    diverged (any seed), unstable (not diverged, rate >= 1), count (rows: seeds).
    """

    kappa: np.ndarray
    beta: np.ndarray
    lr: np.ndarray
    lambda_min: np.ndarray
    lambda_max: np.ndarray
    h: np.ndarray
    rate: np.ndarray
    diverged: np.ndarray
    unstable: np.ndarray
    count: np.ndarray


def _codes(x):
    """(codes, sorted unique values) of a float64 array, by hashing (no sort of x)."""
    codes, uniques = pd.factorize(np.asarray(x, dtype=np.float64), sort=True)
    return codes, np.asarray(uniques, dtype=np.float64)


def grid(df, spec):
    """The rows of ``df`` pooled into a ``Grid``: the same per-cell values as ``cells``
    (rate: median over seeds of the non-diverged runs; diverged: any seed), computed
    on NumPy arrays with O(rows) hashing and bincounts, without a DataFrame per row or
    a sort of the rows (a sort only of the finite rates when cells hold several seeds).

    df: a DataFrame (``fastdescent.load``) or ``cells`` output with columns lr, status
    or diverged, rate, lambda_min, lambda_max, and eta unless the lr axis is relative to
    lambda_max (h = lr then, exactly); beta, kappa where the sweep has them.
    """
    lr = np.asarray(df["lr"], dtype=np.float64)
    lam_min = np.asarray(df["lambda_min"], dtype=np.float64)
    lam_max = np.asarray(df["lambda_max"], dtype=np.float64)
    kap = np.asarray(df["kappa"], dtype=np.float64) if "kappa" in df else lam_max / lam_min
    if "diverged" in df:
        div = np.asarray(df["diverged"], dtype=bool)
    else:
        div = np.asarray(df["status"] == "diverged", dtype=bool)
    if spec["axes"]["lr"].get("relative_to") == "lambda_max":
        h = lr
    elif "h" in df:
        h = np.asarray(df["h"], dtype=np.float64)
    else:
        h = np.asarray(df["eta"], dtype=np.float64) * lam_max
    ik, kappa = _codes(kap)
    il, lrs = _codes(lr)
    if "beta" in df:
        ib, beta = _codes(df["beta"])
    else:
        ib, beta = np.zeros(len(lr), dtype=np.intp), np.zeros(1)
    nk, nb, nl = len(kappa), len(beta), len(lrs)
    cell = (ik.astype(np.int64) * nb + ib) * nl + il
    n = nk * nb * nl
    count = np.bincount(cell, minlength=n)
    diverged = np.bincount(cell, weights=div, minlength=n) > 0
    h_cell = np.full(n, np.nan)
    h_cell[cell] = h
    lmin, lmax = np.full(nk, np.nan), np.full(nk, np.nan)
    lmin[ik], lmax[ik] = lam_min, lam_max
    r = np.where(div, np.nan, np.asarray(df["rate"], dtype=np.float64))
    rate = np.full(n, np.nan)
    if count.max(initial=0) <= 1:
        rate[cell] = r
    else:  # median of the finite rates of each cell: sort them by (cell, rate)
        ok = ~np.isnan(r)
        cc, rr = cell[ok], r[ok]
        order = np.lexsort((rr, cc))
        rr = rr[order]
        m = np.bincount(cc, minlength=n)
        first = np.cumsum(m) - m
        has = m > 0
        lo = first[has] + (m[has] - 1) // 2
        hi = first[has] + m[has] // 2
        rate[has] = 0.5 * (rr[lo] + rr[hi])
    shape = (nk, nb, nl)
    rate, diverged = rate.reshape(shape), diverged.reshape(shape)
    return Grid(
        kappa=kappa,
        beta=beta,
        lr=lrs,
        lambda_min=lmin,
        lambda_max=lmax,
        h=h_cell.reshape(shape),
        rate=rate,
        diverged=diverged,
        unstable=~diverged & (rate >= 1.0),
        count=count.reshape(shape),
    )


def rate_map(c, spec, kappa=None, beta=None):
    """A RateMap from a ``Grid`` (or ``cells`` output, pooled into one): over (beta, h)
    for the cells with kappa == ``kappa``, or over (kappa, h) when ``kappa`` is None
    (gd sweeps; or momentum sweeps with one beta: the cells with beta == ``beta``,
    default the first grid value)."""
    g = c if isinstance(c, Grid) else grid(c, spec)
    if kappa is not None:
        k = int(np.flatnonzero(g.kappa == kappa)[0])
        sel = (k, slice(None), slice(None))
        y_name, y_log, y, b = "beta", False, g.beta, np.nan
        kap, lmin, lmax = float(kappa), float(g.lambda_min[k]), float(g.lambda_max[k])
    else:
        j = 0 if beta is None else int(np.flatnonzero(g.beta == beta)[0])
        sel = (slice(None), j, slice(None))
        y_name, y_log, y, b = "kappa", True, g.kappa, float(g.beta[j])
        kap, lmin, lmax = np.nan, np.nan, np.nan
    hh = g.h[sel]
    lr = g.lr
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = hh / lr[None, :]
    with warnings.catch_warnings():  # an all-NaN row (nothing computed) is allowed
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = np.nanmedian(np.where(np.isfinite(ratio), ratio, np.nan), axis=1)
    scale = np.where(np.isfinite(scale), scale, 1.0)  # 1, or lambda_max per row
    x_log = _is_log(spec, "lr")
    uns = g.unstable[sel]
    r = np.where(uns, np.nan, g.rate[sel])
    d = decades(r)
    return RateMap(
        y_name=y_name,
        y=y,
        y_edges=edges(y, y_log),
        y_log=y_log,
        h=lr[None, :] * scale[:, None],
        h_edges=edges(lr, x_log)[None, :] * scale[:, None],
        x_log=x_log,
        rate=r,
        decades=d,
        interior=_interior(d),
        diverged=g.diverged[sel],
        unstable=uns,
        missing=g.count[sel] == 0,
        kappa=kap,
        lambda_min=lmin,
        lambda_max=lmax,
        beta=b,
    )


def colour_top(maps, quantile=0.995):
    """Top of a colour scale shared by RateMaps: the ``quantile`` of the finite
    ``decades`` values over all of them, rounded up to a whole decade (at least 1), as a
    float. A quantile rather than the maximum, so that the few cells right at the
    stability boundary (rho within 1e-12 of 1) don't stretch the scale; they saturate."""
    values = [m.decades[np.isfinite(m.decades)] for m in maps]
    values = np.concatenate([v for v in values if v.size] or [np.zeros(0)])
    if values.size == 0:
        return 1.0
    return float(max(np.ceil(np.quantile(values, quantile)), 1.0))


def iso_rates(vmax):
    """Measured iso-rate contours to draw: rho in (0.5, 0.9, 0.99, 0.999) with
    ``decades`` below ``vmax``, as (positions in decades, float64 array; labels, list
    of str such as "0.99")."""
    rho = np.array([0.5, 0.9, 0.99, 0.999])
    rho = rho[decades(rho) < vmax]
    return decades(rho), [f"{r:g}" for r in rho]


def heatmap_overlay(optimizer, m, n=200, regions=False):
    """Theory drawn over a RateMap, a dict of arrays:
    limit_y, limit_h (n,): the stability limit h = h_max(beta) over the beta range (a
    beta map), or h = 2 over the kappa range (a kappa map, gd);
    opt_h, opt_y, opt_rho: the optimum (h*, beta*, rho*) as floats for a beta map, or
    (h*(kappa), kappa, rho*(kappa)) as (n,) arrays for a kappa map (h* = 2 kappa/(1+kappa));
    regions: ``region_map(optimizer, m)`` if ``regions`` is true, else None.
    A kappa map of a momentum sweep (one beta) has the limit at that beta and no
    optimum (empty arrays): at a fixed beta the rate is flat over a range of eta."""
    if m.y_name == "beta":
        y = np.linspace(max(m.y_edges[0], min(m.y.min(), 0.0)), m.y_edges[-1], n)
        h_opt, b_opt, rho = optimum(optimizer, m.lambda_min, m.lambda_max)
        return dict(
            limit_y=y,
            limit_h=limit_curve(optimizer, y),
            opt_h=float(h_opt),
            opt_y=float(b_opt),
            opt_rho=float(rho),
            regions=region_map(optimizer, m) if regions else None,
        )
    y = np.geomspace(max(m.y_edges[0], 1.0), m.y_edges[-1], n)  # kappa >= 1
    if optimizer == "gd":
        h_opt, _, rho = optimum(optimizer, 1.0, y)
    else:  # one momentum: rho is flat (sqrt(beta)) over a range of eta; no single optimum
        h_opt, rho, y_opt = np.zeros(0), np.zeros(0), np.zeros(0)
    return dict(
        limit_y=y,
        limit_h=np.full(n, float(limit_curve(optimizer, 0.0 if optimizer == "gd" else m.beta))),
        opt_h=h_opt,
        opt_y=y if optimizer == "gd" else y_opt,
        opt_rho=rho,
        regions=None,
    )


def limit_curve(optimizer, beta):
    """Theory's stability limit in units of h: h_max(beta) = stability_limit * lambda_max
    (gd 2; heavy ball 2(1+beta); nesterov 2(1+beta)/(1+2beta)). Shape of ``beta``; NaN
    for beta outside [0, 1), where the stable set is not an interval (0, h_max)."""
    b = np.asarray(beta, dtype=np.float64)
    inside = (b >= 0) & (b < 1)
    h = theory.stability_limit(optimizer, np.where(inside, b, 0.0), 1.0)
    return np.where(inside, h, np.nan)


def limit_line(optimizer, x, by="beta", n=200):
    """Theory's stability limit on a fine grid spanning ``x`` (beta values, or kappa
    values with ``by="kappa"``, log-spaced; the limit does not depend on kappa): a dict
    x (n,), h_theory (n,)."""
    lo, hi = float(np.min(x)), float(np.max(x))
    if by == "kappa":
        dense = np.geomspace(lo, hi, n)
        return {"x": dense, "h_theory": limit_curve(optimizer, np.zeros(n))}
    dense = np.linspace(lo, hi, n)
    return {"x": dense, "h_theory": limit_curve(optimizer, dense)}


def finite_limit(optimizer, beta, steps, diverge):
    """Where a finite run is flagged diverged, in units of h: the h > h_max(beta) at
    which the lambda_max direction grows by rho**(2*steps) = diverge in loss within the
    step budget (bisection on theory.rate_direction). Shape of ``beta``. The measured
    boundary sits between ``limit_curve`` and this (prefactors of order 1 aside)."""
    b = np.asarray(beta, dtype=np.float64)
    lo = limit_curve(optimizer, b)
    ok = np.isfinite(lo)
    lo, hi = np.where(ok, lo, 2.0), np.where(ok, lo, 2.0) * 1.5
    target = diverge ** (1.0 / (2.0 * steps))  # rho at the threshold
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        grows = theory.rate_direction(optimizer, mid, np.where(ok, b, 0.0), 1.0) >= target
        lo, hi = np.where(grows, lo, mid), np.where(grows, mid, hi)
    return np.where(ok, hi, np.nan)


def optimum(optimizer, lambda_min, lambda_max):
    """Theory's optimum in plot units: (h*, beta*, rho*) with h* = eta* * lambda_max,
    broadcast over the arguments (see ``theory.optimal``)."""
    eta, beta, rho = theory.optimal(optimizer, lambda_min, lambda_max)
    return eta * np.asarray(lambda_max, dtype=np.float64), beta, rho


def region_map(optimizer, m, n=400):
    """Theory's dynamical regions over a beta map's range, on a fine n x n grid: a dict
    h (n,), beta (n,), codes (n, n) int8 indexing ``theory.REGIONS`` (rows: beta), and
    labels, a list of (name, h, beta) at each region's median cell; None for a kappa
    map or where the theory module has no ``regions``."""
    if not hasattr(theory, "regions") or m.y_name != "beta":
        return None
    h = np.linspace(m.h_edges.min(), m.h_edges.max(), n)
    beta = np.linspace(m.y_edges[0], m.y_edges[-1], n)
    bb, hh = np.meshgrid(np.clip(beta, 0.0, None), h, indexing="ij")
    codes = np.asarray(
        theory.regions(optimizer, hh / m.lambda_max, bb, m.lambda_min, m.lambda_max), dtype=np.int8
    )
    labels = []
    for k, name in enumerate(theory.REGIONS[:3]):
        inside = codes == k
        if inside.sum() > 0.03 * codes.size:  # skip slivers
            row = int(np.median(np.nonzero(inside)[0]))  # the median beta, then the middle h
            cols = np.nonzero(inside[row])[0]
            labels.append((name, float(h[cols[len(cols) // 2]]), float(beta[row])))
    return {"h": h, "beta": beta, "codes": codes, "labels": labels}


def boundary(c, spec):
    """Measured vs theoretical divergence boundary, one row per (kappa, beta).

    c: ``cells`` output; spec: the sweep's spec (optimizer, steps, stop.diverge).
    Columns: kappa, beta; h_div, the smallest h whose cell diverged (NaN if none);
    h_ok, the largest h below it; h_unstable, the smallest h that diverged or measured
    rate >= 1; step = h_div - h_ok, the lr grid spacing there; h_theory = limit_curve;
    h_finite = finite_limit (where the step budget can see divergence); residual =
    (h_div - h_theory) / step, and residual_unstable, residual_finite likewise. With an
    exact measurement h_theory lies in (h_ok, h_div], i.e. residual in [0, 1).
    """
    rows = []
    for (kappa, beta), g in c.groupby(["kappa", "beta"], sort=True):
        h, div = g["h"].to_numpy(), g["diverged"].to_numpy()
        bad = div | g["unstable"].to_numpy()
        i = int(np.argmax(div)) if div.any() else -1
        j = int(np.argmax(bad)) if bad.any() else -1
        h_ok = h[i - 1] if i > 0 else np.nan
        step = (h[i] - h_ok if i > 0 else h[1] - h[0]) if i >= 0 and len(h) > 1 else np.nan
        rows.append(
            (kappa, beta, h[i] if i >= 0 else np.nan, h_ok, h[j] if j >= 0 else np.nan, step)
        )
    t = pd.DataFrame(rows, columns=["kappa", "beta", "h_div", "h_ok", "h_unstable", "step"])
    opt, b = spec["optimizer"], t["beta"].to_numpy()
    t["h_theory"] = limit_curve(opt, b)
    t["h_finite"] = finite_limit(opt, b, spec["steps"], spec["stop"]["diverge"])
    for col, src in [("", "h_div"), ("_unstable", "h_unstable"), ("_finite", "h_finite")]:
        t["residual" + col] = (t[src] - t["h_theory"]) / t["step"]
    return t


def pool_boundary(t, by="beta"):
    """``boundary`` pooled over the other axis, one row per value of ``by`` ("beta":
    pooled over kappa; "kappa": gd sweeps, one row each). Columns: ``by``, h_theory,
    n (rows pooled that found a diverged cell), agree (True when they all found the
    same h_div, as they should in units of h), and for each of h_div, h_unstable,
    residual, residual_unstable, residual_finite the median over the pool with
    ``_lo``/``_hi`` suffixed min and max."""
    cols = ["h_div", "h_unstable", "residual", "residual_unstable", "residual_finite"]
    g = t.dropna(subset=["h_div"]).groupby(by, sort=True)
    out = g.agg(h_theory=("h_theory", "first"), n=("h_div", "size"))
    for col in cols:
        out[col] = g[col].median()
        out[col + "_lo"] = g[col].min()
        out[col + "_hi"] = g[col].max()
    out["agree"] = out["h_div_lo"] == out["h_div_hi"]
    return out.reset_index()


def best_rate(c, optimizer):
    """Best rate on the grid per kappa, measured and by theory, one row per kappa.

    Columns: kappa, lambda_min, lambda_max; rate, the min measured rate over the
    non-diverged cells (NaN if none), and the h and beta where it occurs; grid_rate,
    min over all cells of theory.rate (what a perfect measurement would give on this
    grid); rho_opt, theory's optimum over all eta (and beta) for the sweep's optimizer.
    """
    eta = c["h"] / c["lambda_max"]
    c = c.assign(theory=theory.rate(optimizer, eta, c["beta"], c["lambda_min"], c["lambda_max"]))
    ok = c.dropna(subset=["rate"])
    best = ok.loc[ok.groupby("kappa")["rate"].idxmin(), ["kappa", "rate", "h", "beta"]]
    g = c.groupby("kappa", sort=True)
    out = g.agg(
        lambda_min=("lambda_min", "first"),
        lambda_max=("lambda_max", "first"),
        grid_rate=("theory", "min"),
    ).reset_index()
    out = out.merge(best, on="kappa", how="left")
    out["rho_opt"] = theory.optimal(optimizer, out["lambda_min"], out["lambda_max"])[2]
    return out


def rate_laws(kappa):
    """Theory's optimal rates as closed forms of kappa (shape of ``kappa``), a DataFrame
    with columns kappa, gd = (kappa-1)/(kappa+1), heavy_ball = (sqrt(kappa)-1)/
    (sqrt(kappa)+1), nesterov = 1 - 2/sqrt(3 kappa + 1)."""
    k = np.asarray(kappa, dtype=np.float64)
    s = np.sqrt(k)
    return pd.DataFrame(
        {
            "kappa": k,
            "gd": (k - 1.0) / (k + 1.0),
            "heavy_ball": (s - 1.0) / (s + 1.0),
            "nesterov": 1.0 - 2.0 / np.sqrt(3.0 * k + 1.0),
        }
    )


def kappa_line(kappa, n=200):
    """A fine log-spaced grid spanning ``kappa`` for smooth theory curves: shape (n,)
    (a single kappa gives one decade either side of it)."""
    lo, hi = float(np.min(kappa)), float(np.max(kappa))
    if lo == hi:
        lo, hi = max(1.0, lo / 10.0), hi * 10.0
    return np.geomspace(lo, hi, n)


def loss_curves(c, betas, kappas, tol):
    """The classic loss-vs-learning-rate curves: cells with beta in ``betas`` and kappa
    in ``kappas`` (grid values), sorted by (beta, kappa, h). Columns
    beta, kappa, h, loss_ratio (final_loss / loss0; inf where diverged), diverged,
    converged (loss_ratio <= tol: the run stopped there), and shown = max(loss_ratio,
    tol), the value to draw (a converged run stops anywhere below tol, so the values
    under it are noise from where the last step happened to land)."""
    sel = c["beta"].isin(np.asarray(betas)) & c["kappa"].isin(np.asarray(kappas))
    cols = ["beta", "kappa", "h", "loss_ratio", "diverged"]
    out = c.loc[sel, cols].sort_values(["beta", "kappa", "h"], ignore_index=True)
    out["converged"] = out["loss_ratio"] <= tol
    out["shown"] = np.maximum(out["loss_ratio"], tol)
    return out


def steps_curves(c, betas, kappas, optimizer, tol):
    """Steps to reach the tolerance against the step size: cells with beta in ``betas``
    and kappa in ``kappas``, sorted by (beta, kappa, h), with columns beta, kappa, h, eta
    (= h / lambda_max), steps (measured, NaN unless converged), diverged, and theory's
    estimate ln(tol) / (2 ln rho(eta, beta)) (the loss gap contracts by rho^2 per step;
    it ignores the start's weights on the eigen-directions, so it is a guide within a
    few steps, not a bound), inf where rho >= 1."""
    sel = c["beta"].isin(np.asarray(betas)) & c["kappa"].isin(np.asarray(kappas))
    cols = ["beta", "kappa", "h", "lambda_min", "lambda_max", "steps", "diverged"]
    out = c.loc[sel, cols].sort_values(["beta", "kappa", "h"], ignore_index=True)
    out["eta"] = out["h"] / out["lambda_max"]
    b = None if optimizer == "gd" else out["beta"].to_numpy()
    rho = theory.rate(optimizer, out["eta"].to_numpy(), b, out["lambda_min"].to_numpy(),
                      out["lambda_max"].to_numpy())  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.log(tol) / (2.0 * np.log(rho))
    out["theory"] = np.where((rho < 1.0) & (rho > 0.0), est, np.where(rho == 0.0, 1.0, np.inf))
    return out
