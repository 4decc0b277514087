"""Tables for noisy landscape sweeps: escape from a saddle, and basin hopping.

**Escape time** (``escape_table``). On the saddle f = x^2 - y^2 a run started on the
stable manifold (y0 = 0) never leaves without noise; with additive noise sigma it leaves
the ball of radius stop.radius after about

    E[t] = (ln(R / s) + (gamma + ln 2) / 2) / ln r_1 + 1/2          (theory.escape_steps)

steps, r_1 > 1 the unstable root of the method's recursion along y (curvature -2) and
s the standard deviation of the noise-driven amplitude. Per grid point the table holds
the mean escape step (``diverge_step`` of the escaped runs) over seeds, its standard
error, the share of runs that escaped, and the theory.

**Basin hopping** (``occupancy_table``, ``gibbs_weights``). With noise, ``basin`` is the
minimum where a run settles once the noise is switched off. Per (eta, beta, sigma) the
table gives the share of runs in each basin, with a 95 % Wilson interval. For small
steps, additive noise acts as a temperature: the iteration w <- w - eta (grad f + sigma
xi) samples, at equilibrium, approximately the Gibbs density

    p(w) ∝ exp(-(f(w) - f_min) / T),   T = eta sigma^2 / (2 (1 - beta))

(Langevin dynamics with time step eta(1 - beta)^-1 per step; the discrete iteration's own
stationary law differs at O(eta lambda)). ``gibbs_weights`` integrates it over each basin
of attraction of the noiseless gradient flow on a grid, so the curve is the share each
basin gets once the runs have had time to equilibrate; before that, the runs remember
their start.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import theory

__all__ = ["basin_of_attraction", "escape_table", "gibbs_weights", "occupancy_table", "wilson"]

SADDLE_CURVATURE = -2.0  # f = x^2 - y^2 along y


def _keys(df, names=("eta", "beta", "sigma")):
    return [k for k in names if k in df]


def escape_table(df, spec) -> pd.DataFrame:
    """Per (eta, beta, sigma) grid point of a saddle sweep, over the rows started on the
    stable manifold (y0 = 0 or problem_params.start[1] = 0): runs, escaped share, mean
    escape step and its standard error (over the escaped runs), theory.escape_steps."""
    y0 = df["y0"] if "y0" in df else pd.Series(spec["problem_params"]["start"][1], index=df.index)
    rows = df[(y0 == 0.0) & (df["sigma"] > 0)] if "sigma" in df else df.iloc[:0]
    radius = spec["stop"]["radius"]
    out = []
    for key, g in rows.groupby(_keys(rows), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        point = dict(zip(_keys(rows), key, strict=True))
        esc = g[g["status"].astype(str) == "escaped"]["diverge_step"].to_numpy(np.float64)
        beta = point.get("beta", 0.0)
        want = theory.escape_steps(spec["optimizer"], point["eta"],
                                   None if spec["optimizer"] == "gd" else beta,
                                   SADDLE_CURVATURE, point["sigma"], radius)  # fmt: skip
        se = esc.std(ddof=1) / math.sqrt(len(esc)) if len(esc) > 1 else math.nan
        out.append({**point, "runs": len(g), "escaped": len(esc) / len(g),
                    "mean_steps": esc.mean() if len(esc) else math.nan, "se": se,
                    "theory": float(want)})  # fmt: skip
    return pd.DataFrame(out)


def wilson(k, n, z=1.96):
    """The Wilson score interval (low, high) of a share k / n (arrays)."""
    k, n = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    p = k / n
    den = 1.0 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return mid - half, mid + half


def occupancy_table(df, n_minima) -> pd.DataFrame:
    """Per (eta, beta, sigma): runs, and for each basin i < n_minima the share of runs
    settled there (column "p<i>") with its Wilson interval ("lo<i>", "hi<i>"), and the share
    that settled nowhere listed ("other": basin -1, escaped or diverged)."""
    out = []
    for key, g in df.groupby(_keys(df), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(_keys(df), key, strict=True))
        basin = g["basin"].to_numpy()
        n = len(g)
        row["runs"] = n
        for i in range(n_minima):
            k = int((basin == i).sum())
            lo, hi = wilson(k, n)
            row[f"p{i}"], row[f"lo{i}"], row[f"hi{i}"] = k / n, float(lo), float(hi)
        row["other"] = float((basin < 0).mean())
        out.append(row)
    return pd.DataFrame(out)


def basin_of_attraction(info, x, y, steps=4000):
    """Index of the listed minimum that noiseless gradient descent from (x, y) reaches
    (arrays; -1 where it ends farther than 1e-3 from every listed minimum). The step is
    0.25 / (the largest Hessian eigenvalue over the listed minima); at most ``steps``
    steps, fewer once no point moves by more than 1e-9."""
    c = info.module.pack(info.params)
    grad = info.module.grad.py_func
    top = max(max(m.eigenvalues) for m in info.minima)
    eta = 0.25 / top
    x, y = np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        for _ in range(steps):
            gx, gy = grad(x, y, c)
            dx, dy = eta * gx, eta * np.broadcast_to(gy, y.shape)
            x, y = x - dx, y - dy
            moving = np.abs(dx) + np.abs(dy)
            if not np.any(moving[np.isfinite(moving)] > 1e-9):
                break
    locs = np.array([m.location for m in info.minima], dtype=np.float64)
    dist = np.hypot(x[..., None] - locs[:, 0], y[..., None] - locs[:, 1])
    best = np.argmin(np.where(np.isfinite(dist), dist, np.inf), axis=-1)
    near = np.take_along_axis(dist, best[..., None], axis=-1)[..., 0] <= 1e-3
    return np.where(near, best, -1)


def gibbs_weights(info, temperature, n=400, margin=12.0):
    """Share of the Gibbs density exp(-(f - f_min) / T) in each listed minimum's basin of
    attraction, for each temperature T (1-D array) -> array (len(T), n_minima).

    Integrated on an n x n grid over the problem's region, widened until f - f_min >=
    margin * max(T) on its border (so the mass left outside is below exp(-margin) per
    unit of border length); each cell is given the basin of its centre
    (``basin_of_attraction``)."""
    T = np.atleast_1d(np.asarray(temperature, dtype=np.float64))
    xmin, xmax, ymin, ymax = info.region()
    fmin = min(m.value for m in info.minima)
    for _ in range(8):  # widen the box until its border lies high enough
        xs, ys = np.linspace(xmin, xmax, 64), np.linspace(ymin, ymax, 64)
        border = np.concatenate([
            info.values(xs, np.full_like(xs, ymin)), info.values(xs, np.full_like(xs, ymax)),
            info.values(np.full_like(ys, xmin), ys), info.values(np.full_like(ys, xmax), ys),
        ])  # fmt: skip
        if np.nanmin(border) - fmin >= margin * T.max():
            break
        cx, cy, hx, hy = (xmin + xmax) / 2, (ymin + ymax) / 2, (xmax - xmin), (ymax - ymin)
        xmin, xmax, ymin, ymax = cx - hx, cx + hx, cy - hy, cy + hy
    gx = np.linspace(xmin, xmax, n)
    gy = np.linspace(ymin, ymax, n)
    X, Y = np.meshgrid(gx, gy)
    F = info.values(X, Y) - fmin
    basin = basin_of_attraction(info, X, Y)
    m = len(info.minima)
    out = np.zeros((len(T), m))
    for k, t in enumerate(T):
        w = np.exp(-F / t)
        total = w[np.isfinite(w)].sum()
        for i in range(m):
            out[k, i] = w[(basin == i) & np.isfinite(w)].sum() / total
    return out
