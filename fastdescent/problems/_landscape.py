"""What the landscape problems (DESIGN 1.4) have in common.

A landscape is a 2-D (quartic: 1-D) test function with its own module under
fastdescent/problems/; the interface is in the package docstring
(fastdescent/problems/__init__.py). This module holds:

- ``Minimum`` and ``CriticalPoint``: the listed critical points;
- ``parse_start`` and ``parse_float``: problem_params checks (SpecError via _validate);
- ``check_start``: the loss and gradient are finite at the start point(s);
- ``find_critical_points``: the numerical search used by the families whose critical
  points have no closed form (candidates from a dense grid, Newton polish), and
  ``classify``, which orders and labels them;
- ``nearest_listed``: the jitted nearest-minimum lookup behind ``project_minimum``.

The jitted ``value``, ``grad`` and ``hessian`` of every landscape are written with
NumPy ufuncs (np.sin, np.exp, ...) and without branches, so the same source runs jitted
on scalars in the kernels and as plain NumPy over whole arrays here (through the
dispatcher's ``py_func``): the grid search and the start check evaluate the very
formulas the kernels run, without compiling anything.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .._jit import jit
from .._validate import SpecError, as_float, as_list, fail, show

F32_MAX = float(np.finfo(np.float32).max)
STOP_RULE = "grad"  # converged: |grad f(w_t)| <= stop.grad_tol (DESIGN 1.2)


@dataclass(frozen=True)
class Minimum:
    """A listed minimum. ``location``: DIM floats; ``eigenvalues``: the Hessian's, DIM
    floats ascending. ``kind`` is "point", or "circle" for a circle of minima (donut),
    given by one point of it (``location``) and listed once."""

    index: int
    location: tuple[float, ...]
    value: float
    eigenvalues: tuple[float, ...]
    kind: str = "point"

    def to_dict(self) -> dict:
        """JSON-ready form (plain ints, floats, lists, strings)."""
        return _plain(asdict(self))


@dataclass(frozen=True)
class CriticalPoint:
    """A listed critical point that is not a minimum: ``kind`` is "saddle" (eigenvalues
    of both signs), "maximum" (all negative) or "degenerate" (a zero eigenvalue, e.g. an
    inflection point)."""

    index: int
    location: tuple[float, ...]
    value: float
    eigenvalues: tuple[float, ...]
    kind: str

    def to_dict(self) -> dict:
        """JSON-ready form (plain ints, floats, lists, strings)."""
        return _plain(asdict(self))


def _plain(d: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def params_key(params: dict) -> str:
    """A hashable form of normalised params (canonical JSON), for functools.lru_cache."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------- problem_params checks


def parse_start(params: dict, where: str, default: Sequence[float]) -> list[float]:
    """``params["start"]`` (or ``default``) as a list of len(default) finite floats."""
    dim = len(default)
    if "start" not in params:
        return [float(v) for v in default]
    raw = as_list(params["start"], f"{where}.start", max_len=dim)
    if len(raw) != dim:
        fail(f"{where}.start", raw, f"expected a list of {dim} number{'s' * (dim > 1)}")
    return [as_float(v, f"{where}.start[{i}]") for i, v in enumerate(raw)]


def parse_float(params: dict, key: str, where: str, default: float, **bounds) -> float:
    """``params[key]`` (or ``default``) as a finite float within ``bounds`` (as_float)."""
    if key not in params:
        return float(default)
    return as_float(params[key], f"{where}.{key}", **bounds)


# ---------------------------------------------------------------- the start check


def _span(axis: dict) -> tuple[float, float]:
    """(min, max) of a normalised axis without materialising it."""
    if "values" in axis:
        return float(min(axis["values"])), float(max(axis["values"]))
    return float(min(axis["start"], axis["stop"])), float(max(axis["start"], axis["stop"]))


def _candidates(lo: float, hi: float) -> list[float]:
    """The ends of [lo, hi], and 0 when it lies strictly inside."""
    return [lo, hi, 0.0] if lo < 0.0 < hi else ([lo, hi] if lo != hi else [lo])


def _fits(values, dtype: str) -> bool:
    limit = F32_MAX if dtype == "float32" else math.inf
    arr = np.abs(np.asarray(values, dtype=np.float64))
    return bool(np.all(arr < limit))  # False for nan and inf


def check_start(
    params: dict,
    axes: dict,
    dtype: str,
    where: str,
    *,
    value: Callable,
    grad: Callable,
    bound: Callable,
    c: np.ndarray,
) -> None:
    """Refuse start points at which the loss or the gradient is not finite in ``dtype``.

    Checked: ``params["start"]`` itself (exactly; SpecError naming ``where.start``), and,
    when the axes ``x0`` / ``y0`` exist (``axes``: the normalised axes), the box they
    span, each missing axis taking the start's coordinate: f and grad f exactly at the
    box's corners (and at 0 on an axis whose range contains it), and
    ``bound(X, Y, c)`` -- an upper bound on |f|, |grad f| and every intermediate term of
    their formulas over |x| <= X, |y| <= Y -- at the box's largest |x| and |y|, which
    covers the inside of the box (SpecError naming the axes). float32: every value,
    coordinate and bound must also be below float32's largest value, the start's bound
    included (the kernel's float32 intermediates, e.g. x * x in x * x - y * y, may
    overflow where the float64 result is finite).
    ``value``, ``grad``: the problem's functions (jitted or not); ``bound``: plain Python.
    """
    dim = len(params["start"])
    value, grad = getattr(value, "py_func", value), getattr(grad, "py_func", grad)

    def bad(points: list[tuple[float, float]]):
        xs = np.array([p[0] for p in points], dtype=np.float64)
        ys = np.array([p[1] for p in points], dtype=np.float64)
        with np.errstate(all="ignore"):
            f = np.broadcast_to(value(xs, ys, c), xs.shape)
            gx, gy = (np.broadcast_to(g, xs.shape) for g in grad(xs, ys, c))
        for k, p in enumerate(points):
            if not _fits([p[0], p[1], f[k], gx[k], gy[k]], dtype):
                return p, f[k]
        return None

    start = [*params["start"], 0.0][:2]
    found = bad([(start[0], start[1])])
    if found is not None:
        what = "loss" if not _fits([found[1]], dtype) else "gradient"
        fail(
            f"{where}.start",
            params["start"],
            f"the {what} at the start is not finite in {dtype}; choose a smaller start",
        )
    if dtype == "float32" and not _fits([bound(abs(start[0]), abs(start[1]), c)], dtype):
        fail(
            f"{where}.start",
            params["start"],
            "the terms of the loss or its gradient at the start overflow float32; "
            "choose a smaller start",
        )
    names = [name for name in ("x0", "y0")[:dim] if name in axes]
    if not names:
        return
    spans = [
        _span(axes[name]) if name in axes else (start[i], start[i])
        for i, name in enumerate(("x0", "y0"))
    ]
    keys = " and ".join(f"axes.{name}" for name in names)
    grid = [(x, y) for x in _candidates(*spans[0]) for y in _candidates(*spans[1])]
    found = bad(grid)
    if found is not None:
        point = show(list(found[0][:dim]))
        raise SpecError(
            f"{keys}: the loss or its gradient at the start point {point} of the grid is "
            f"not finite in {dtype}; choose a smaller start range"
        )
    big = [max(abs(lo), abs(hi)) for lo, hi in spans]
    if not _fits([bound(big[0], big[1], c)], dtype):
        box = ", ".join(f"|{'xy'[i]}| <= {big[i]!r}" for i in range(dim))
        raise SpecError(
            f"{keys}: the loss or its gradient may overflow {dtype} inside the start grid "
            f"({box}); choose a smaller start range"
        )


# ---------------------------------------------------------------- critical points


def newton(grad: Callable, hessian: Callable, c, x, y, iters: int = 60):
    """Newton's method on grad f = 0 from every (x[i], y[i]) at once (NumPy arrays).

    Returns (x, y, gnorm): per start, the iterate with the smallest |grad f| met (so it
    stops improving at the rounding floor instead of wandering), float64 arrays.
    A start whose Hessian is singular, or that overflows, keeps its best iterate.
    """
    grad, hessian = getattr(grad, "py_func", grad), getattr(hessian, "py_func", hessian)
    x = np.array(x, dtype=np.float64)
    y = np.array(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        gx, gy = (np.broadcast_to(g, x.shape) for g in grad(x, y, c))
        best_x, best_y, best_g = x.copy(), y.copy(), np.hypot(gx, gy)
        best_g[~np.isfinite(best_g)] = np.inf
        for _ in range(iters):
            hxx, hxy, hyy = (np.broadcast_to(h, x.shape) for h in hessian(x, y, c))
            det = hxx * hyy - hxy * hxy
            x = x - (hyy * gx - hxy * gy) / det
            y = y - (hxx * gy - hxy * gx) / det
            gx, gy = (np.broadcast_to(g, x.shape) for g in grad(x, y, c))
            g = np.hypot(gx, gy)
            better = g < best_g  # False for nan
            best_x[better], best_y[better], best_g[better] = x[better], y[better], g[better]
    return best_x, best_y, best_g


def _sign_change_cells(g: np.ndarray) -> np.ndarray:
    """Cells (n-1, n-1) of a grid of values (n, n) whose corners contain 0 in their range."""
    corners = (g[:-1, :-1], g[:-1, 1:], g[1:, :-1], g[1:, 1:])
    lo = np.minimum(np.minimum(corners[0], corners[1]), np.minimum(corners[2], corners[3]))
    hi = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    return (lo <= 0.0) & (hi >= 0.0)


def grid_candidates(grad: Callable, c, box, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Start points for Newton from an n x n grid over ``box`` = (xmin, xmax, ymin, ymax):
    the centres of the cells across which both components of grad f change sign, and the
    grid points where |grad f| is no larger than at their 8 neighbours."""
    grad = getattr(grad, "py_func", grad)
    xs = np.linspace(box[0], box[1], n)
    ys = np.linspace(box[2], box[3], n)
    X, Y = np.meshgrid(xs, ys)  # [i, j] = (xs[j], ys[i])
    with np.errstate(all="ignore"):
        gx, gy = (np.broadcast_to(g, X.shape) for g in grad(X, Y, c))
        i, j = np.nonzero(_sign_change_cells(gx) & _sign_change_cells(gy))
        cx, cy = (xs[j] + xs[j + 1]) / 2, (ys[i] + ys[i + 1]) / 2
        s = gx * gx + gy * gy
        core = s[1:-1, 1:-1]
        low = np.ones(core.shape, dtype=bool)
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                if di or dj:
                    low &= core <= s[1 + di : n - 1 + di, 1 + dj : n - 1 + dj]
        i, j = np.nonzero(low)
    return np.concatenate([cx, xs[j + 1]]), np.concatenate([cy, ys[i + 1]])


def find_critical_points(
    grad: Callable,
    hessian: Callable,
    bound: Callable,
    c,
    grids: Sequence[tuple[tuple[float, float, float, float], int]],
    inside: Callable,
) -> list[tuple[float, float]]:
    """All critical points that a dense search finds, to full precision.

    For each (box, n) of ``grids``, the candidates of ``grid_candidates`` on an n x n
    grid over the box; Newton (``newton``) from each; kept: the points with |grad f| <=
    1e-9 * bound(|x|, |y|, c) (``bound`` scales by the size of the formula's terms
    there) for which ``inside(x, y)`` holds (the region known to hold every critical
    point), merged when closer than 1e-7 * (1 + |p|) (keeping the one with the smaller
    |grad f|), sorted by (x, y).
    """
    starts = [grid_candidates(grad, c, box, n) for box, n in grids]
    x0 = np.concatenate([s[0] for s in starts])
    y0 = np.concatenate([s[1] for s in starts])
    x, y, g = newton(grad, hessian, c, x0, y0)
    found = []
    for xi, yi, gi in zip(x.tolist(), y.tolist(), g.tolist(), strict=True):
        if math.isfinite(gi) and gi <= 1e-9 * bound(abs(xi), abs(yi), c) and inside(xi, yi):
            found.append((gi, xi, yi))
    found.sort()
    points: list[tuple[float, float]] = []
    for _, xi, yi in found:
        tol = 1e-7 * (1.0 + math.hypot(xi, yi))
        if all(math.hypot(xi - px, yi - py) > tol for px, py in points):
            points.append((xi, yi))
    return sorted(points)


def mirror_closure(
    points: Sequence[tuple[float, float]],
    image: Callable[[float, float], tuple[float, float]],
    on_fixed: Callable[[float, float], tuple[float, float]],
) -> list[tuple[float, float]]:
    """Make a symmetric landscape's critical points exactly symmetric.

    ``image``: the symmetry (an involution, e.g. (x, y) -> (x, -y)); ``on_fixed``: maps a
    point within 1e-9 of the fixed set onto it exactly (e.g. (x, y) -> (x, 0.0)). Each
    orbit is kept as one representative -- the larger of p and image(p) in (x, y) order
    -- and its exact image; so the pair's coordinates are exact mirrors of each other.
    """
    reps: list[tuple[float, float]] = []
    for p in points:
        q = image(*p)
        if math.hypot(p[0] - q[0], p[1] - q[1]) <= 1e-9 * (1.0 + math.hypot(*p)):
            rep = on_fixed(*p)
        else:
            rep = max(p, q)
        if all(math.hypot(rep[0] - r[0], rep[1] - r[1]) > 1e-7 for r in reps):
            reps.append(rep)
    out = set(reps) | {image(*r) for r in reps}
    return sorted(out)


def eigenvalues(hxx: float, hxy: float, hyy: float) -> tuple[float, float]:
    """Eigenvalues of the symmetric 2 x 2 matrix [[hxx, hxy], [hxy, hyy]], ascending."""
    lam = np.linalg.eigvalsh(np.array([[hxx, hxy], [hxy, hyy]], dtype=np.float64))
    return float(lam[0]), float(lam[1])


def kind_of(eig: Sequence[float]) -> str:
    """ "minimum", "maximum", "saddle" or "degenerate" from the Hessian's eigenvalues
    (an eigenvalue within 1e-9 * max(1, max |eigenvalue|) of 0 counts as zero)."""
    tol = 1e-9 * max(1.0, max(abs(v) for v in eig))
    if all(v > tol for v in eig):
        return "minimum"
    if all(v < -tol for v in eig):
        return "maximum"
    if min(eig) < -tol and max(eig) > tol:
        return "saddle"
    return "degenerate"


def _order(item) -> tuple:
    (x, y), value = item[0], item[1]
    return (round(value, 9), round(x, 9), round(y, 9))


def classify(
    points: Sequence[tuple[float, float]], value: Callable, hessian: Callable, c
) -> tuple[tuple[Minimum, ...], tuple[CriticalPoint, ...]]:
    """(minima, other critical points) of 2-D critical points, each ordered by value
    (rounded to 1e-9), then x, then y (rounded likewise, so that ties within rounding
    keep a stable order), and indexed 0, 1, ... in that order."""
    value, hessian = getattr(value, "py_func", value), getattr(hessian, "py_func", hessian)
    items = []
    for x, y in points:
        with np.errstate(all="ignore"):
            v = float(value(np.float64(x), np.float64(y), c))
            eig = eigenvalues(*(float(h) for h in hessian(np.float64(x), np.float64(y), c)))
        items.append(((float(x), float(y)), v, eig, kind_of(eig)))
    items.sort(key=_order)
    mins = [it for it in items if it[3] == "minimum"]
    others = [it for it in items if it[3] != "minimum"]
    minima = tuple(Minimum(k, it[0], it[1], it[2]) for k, it in enumerate(mins))
    rest = tuple(CriticalPoint(k, it[0], it[1], it[2], it[3]) for k, it in enumerate(others))
    return minima, rest


def morse_ok(minima: Sequence[Minimum], others: Sequence[CriticalPoint]) -> bool:
    """For a smooth coercive f on the plane with non-degenerate critical points,
    #minima - #saddles + #maxima = 1 (the Euler characteristic of a disk). True when it
    holds, or when a degenerate point makes it inapplicable."""
    kinds = [p.kind for p in others]
    if "degenerate" in kinds:
        return True
    return len(minima) - kinds.count("saddle") + kinds.count("maximum") == 1


def pack_minima(minima: Sequence[Minimum]) -> list[float]:
    """[m, x_0, y_0, ..., x_{m-1}, y_{m-1}]: the tail of ``pack`` read by nearest_listed."""
    out = [float(len(minima))]
    for m in minima:
        out += [m.location[0], m.location[1]]
    return out


@jit
def nearest_listed(x, y, c, offset):
    """(index, mx, my) of the listed minimum nearest to (x, y), the minima being stored
    as c[offset] = m, then (x_k, y_k) pairs (``pack_minima``); ties go to the lower index.
    (-1, nan, nan) when m = 0 or (x, y) is not finite."""
    m = int(c[offset])
    if m == 0 or not (np.isfinite(x) and np.isfinite(y)):
        return -1, np.nan, np.nan
    best = 0
    best_d = np.hypot(x - c[offset + 1], y - c[offset + 2])
    for k in range(1, m):
        d = np.hypot(x - c[offset + 1 + 2 * k], y - c[offset + 2 + 2 * k])
        if d < best_d:
            best, best_d = k, d
    return best, c[offset + 1 + 2 * best], c[offset + 2 + 2 * best]
