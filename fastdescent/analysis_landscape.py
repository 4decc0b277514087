"""Derived tables for the landscape figures and checks: outcomes, basin maps, contours.

Every function reads a results DataFrame (``fastdescent.load``) of a landscape sweep and
its normalised spec (``_sweep.json["spec"]``), or a problem's module, and returns plain
arrays; ``fastdescent.plots_landscape`` only draws them, ``fastdescent.checks_landscape``
checks them.

Outcome codes. Each run gets one integer: its ``basin`` (0, 1, ...: the index of the
listed minimum it converged to), or a negative code for everything else:
    ELSEWHERE  -1  converged, but not at a listed minimum (a saddle, a maximum)
    MOVING     -2  max_steps: still moving after ``steps`` steps
    DIVERGED   -3  left the ball of radius stop.radius uphill, or overflowed
    ESCAPED    -4  left it downhill (problems unbounded below: the saddle)
    MISSING    -5  no row for this grid point (only in maps)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import theory
from .problems import get_problem

__all__ = [
    "DIVERGED",
    "ELSEWHERE",
    "ESCAPED",
    "MISSING",
    "MOVING",
    "OUTCOME_NAMES",
    "BasinMap",
    "area_fractions",
    "basin_maps",
    "boundary_points",
    "contour_levels",
    "landscape_grid",
    "limit_etas",
    "outcomes",
    "panel_values",
    "problem_info",
]

ELSEWHERE, MOVING, DIVERGED, ESCAPED, MISSING = -1, -2, -3, -4, -5
OUTCOME_NAMES = {
    ELSEWHERE: "converged elsewhere (basin −1)",
    MOVING: "still moving (max_steps)",
    DIVERGED: "diverged",
    ESCAPED: "escaped (downhill)",
    MISSING: "not computed",
}
#: problems whose contours are drawn at log-spaced levels of f - min f (course style)
LOG_LEVELS = ("rosenbrock", "himmelblau", "camel", "donut")


@dataclass(frozen=True)
class ProblemInfo:
    """A landscape's module, normalised params, listed minima (theory.LocalMinimum) and
    other critical points (problem CriticalPoint: saddles, maxima, degenerate)."""

    name: str
    module: object
    params: dict
    minima: tuple
    others: tuple

    @property
    def dim(self) -> int:
        return int(self.module.DIM)

    def region(self) -> tuple[float, float, float, float]:
        return tuple(float(v) for v in self.module.region(self.params))

    def values(self, x, y):
        """f at the points (x, y) (arrays, broadcast), evaluated with the problem's own
        formula in NumPy (``value.py_func``)."""
        f = self.module.value.py_func
        c = self.module.pack(self.params)
        x = np.asarray(x, dtype=np.float64)
        y = np.zeros_like(x) if y is None else np.asarray(y, dtype=np.float64)
        with np.errstate(all="ignore"):
            return np.broadcast_to(f(x, y, c), np.broadcast_shapes(x.shape, y.shape)).copy()


def problem_info(spec) -> ProblemInfo:
    """The landscape of a normalised spec dict: ValueError for a problem without minima
    (the quadratic)."""
    name = spec["problem"]
    module = get_problem(name)
    if not hasattr(module, "minima"):
        raise ValueError(f"problem {name!r} is not a landscape")
    params = module.normalise_params(dict(spec.get("problem_params") or {}), "problem_params")
    minima = theory.local_minima(module, params)
    return ProblemInfo(name, module, params, minima, tuple(module.saddles(params)))


def outcomes(df) -> np.ndarray:
    """Outcome code per row (see the module docstring): int64 array of shape (len(df),).
    Needs the columns status and basin."""
    status = df["status"].astype(str).to_numpy()
    basin = df["basin"].to_numpy().astype(np.int64)
    code = np.full(len(df), MOVING, dtype=np.int64)
    code[status == "diverged"] = DIVERGED
    code[status == "escaped"] = ESCAPED
    conv = status == "converged"
    code[conv] = np.where(basin[conv] >= 0, basin[conv], ELSEWHERE)
    return code


def panel_values(df) -> list[tuple[float, float]]:
    """The (eta, beta) pairs present in ``df``, sorted by beta then eta (beta 0 without a
    beta column)."""
    beta = df["beta"] if "beta" in df else pd.Series(0.0, index=df.index)
    pairs = pd.DataFrame({"eta": df["eta"].to_numpy(), "beta": beta.to_numpy()})
    pairs = pairs.drop_duplicates().sort_values(["beta", "eta"])
    return [(float(e), float(b)) for e, b in pairs.itertuples(index=False)]


def limit_etas(grid, limits, n_max) -> np.ndarray:
    """Step sizes to show from an eta grid so that basins are seen to vanish: the grid's
    smallest value and, for each local stability limit (sorted), the largest grid value
    below it and the smallest above it, in the order of the limits, at most ``n_max``
    values; evenly spaced grid values instead when the limits give fewer than 3. The
    whole grid when it has at most ``n_max`` values. Sorted float64 array."""
    g = np.unique(np.asarray(grid, dtype=np.float64))
    if len(g) <= n_max:
        return g
    picks = [g[0]]
    for lim in np.sort(np.asarray(limits, dtype=np.float64)[np.isfinite(limits)]):
        below, above = g[g < lim], g[g > lim]
        for v in ([below[-1]] if len(below) else []) + ([above[0]] if len(above) else []):
            if v not in picks:
                picks.append(v)
    if len(picks) < 3:
        idx = np.unique(np.round(np.linspace(0, len(g) - 1, n_max)).astype(int))
        return g[idx]
    return np.sort(np.array(picks[:n_max]))


@dataclass(frozen=True)
class BasinMap:
    """Outcomes over the start grid of one panel (eta, beta).

    x, y: (nx,), (ny,) sorted start coordinates (the x0, y0 axis values); x_edges,
    y_edges: (nx + 1,), (ny + 1,) cell edges (midpoints; the ends half a step out);
    code: (ny, nx) int64 outcome codes, MISSING where no row; n: rows in the panel."""

    eta: float
    beta: float
    x: np.ndarray
    y: np.ndarray
    x_edges: np.ndarray
    y_edges: np.ndarray
    code: np.ndarray
    n: int


def _edges(v):
    v = np.asarray(v, dtype=np.float64)
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def basin_maps(df, spec, panels=None) -> list[BasinMap]:
    """One BasinMap per (eta, beta) of ``panels`` (default: ``panel_values(df)``).

    ``df`` needs the columns x0, y0, eta, status, basin (and beta where the sweep has
    it); x, y are the spec's x0 and y0 axis values (so a missing row shows as MISSING).
    Raises ValueError unless the sweep has both an x0 and a y0 axis.
    """
    from .spec import parse_spec

    parsed = parse_spec(spec)
    if not ("x0" in parsed.axes and "y0" in parsed.axes):
        raise ValueError("a basin map needs both x0 and y0 axes")
    xs, ys = np.asarray(parsed.axis_values("x0")), np.asarray(parsed.axis_values("y0"))
    ox, oy = np.argsort(xs, kind="stable"), np.argsort(ys, kind="stable")
    rank_x, rank_y = np.empty_like(ox), np.empty_like(oy)
    rank_x[ox], rank_y[oy] = np.arange(len(xs)), np.arange(len(ys))
    idx = parsed.decode(df["traj"].to_numpy())
    ix, iy = rank_x[idx["x0"]], rank_y[idx["y0"]]
    code = outcomes(df)
    eta = df["eta"].to_numpy()
    beta = df["beta"].to_numpy() if "beta" in df else np.zeros(len(df))
    out = []
    for e, b in panels if panels is not None else panel_values(df):
        sel = (eta == e) & (beta == b)
        grid = np.full((len(ys), len(xs)), MISSING, dtype=np.int64)
        grid[iy[sel], ix[sel]] = code[sel]
        out.append(
            BasinMap(e, b, xs[ox], ys[oy], _edges(xs[ox]), _edges(ys[oy]), grid, int(sel.sum()))
        )
    return out


def area_fractions(code, m) -> dict[int, float]:
    """Fraction of the computed grid points per outcome: {basin k: fraction for k < m,
    then each negative code present}; the fractions of the computed points sum to 1
    (MISSING points are left out of the denominator and reported as a fraction of all)."""
    code = np.asarray(code)
    done = code != MISSING
    n = max(int(done.sum()), 1)
    out = {k: float((code == k).sum()) / n for k in range(m)}
    for k in (ELSEWHERE, MOVING, DIVERGED, ESCAPED):
        if (code == k).any():
            out[k] = float((code == k).sum()) / n
    if (~done).any():
        out[MISSING] = float((~done).sum()) / code.size
    return out


def boundary_points(code) -> np.ndarray:
    """(ny, nx) bool: grid points with a 4-neighbour of a different outcome (the basin
    boundaries, where a map is only as fine as its grid)."""
    code = np.asarray(code)
    b = np.zeros(code.shape, dtype=bool)
    dx = code[:, 1:] != code[:, :-1]
    dy = code[1:, :] != code[:-1, :]
    b[:, 1:] |= dx
    b[:, :-1] |= dx
    b[1:, :] |= dy
    b[:-1, :] |= dy
    return b


def landscape_grid(info: ProblemInfo, box, n=300):
    """f on an n x n grid over box = (xmin, xmax, ymin, ymax): (x (n,), y (n,), F (n, n),
    F[i, j] = f(x[j], y[i])). 1-D problems: (x (n,), None, f(x) (n,))."""
    x = np.linspace(box[0], box[1], n)
    if info.dim == 1:
        return x, None, info.values(x, None)
    y = np.linspace(box[2], box[3], n)
    X, Y = np.meshgrid(x, y)
    return x, y, info.values(X, Y)


def contour_levels(info: ProblemInfo, F, n=14) -> tuple[np.ndarray, bool]:
    """(levels, log) for contours of F (from ``landscape_grid``).

    Rosenbrock, Himmelblau, camel and donut (``LOG_LEVELS``): f's range spans decades
    between the valley floor and the box's walls, so the levels are log-spaced in
    f - f_min (f_min: the lowest listed minimum, else the grid's minimum), from 1e-2 of
    the spread above the floor (Rosenbrock: the course's 10^-0.5 .. 10^3.5) up to the
    grid's 99th percentile. Other problems: n evenly spaced levels between the grid's
    1st and 99th percentiles. ``log``: whether the levels are log-spaced.
    """
    finite = F[np.isfinite(F)]
    lo, hi = np.percentile(finite, [1, 99])
    if info.name in LOG_LEVELS:
        fmin = min([m.value for m in info.minima] + [float(finite.min())])
        if info.name == "rosenbrock":
            return fmin + np.logspace(-0.5, 3.5, 17), True
        top = max(hi - fmin, 1e-12)
        return fmin + np.logspace(np.log10(top) - 3.0, np.log10(top), n), True
    return np.linspace(lo, hi, n), False
