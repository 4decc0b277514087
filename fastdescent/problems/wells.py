"""Gaussian wells in a quadratic bowl:

    f(x, y) = bowl (x^2 + y^2) - sum_k depth_k exp(-((x - cx_k)^2 + (y - cy_k)^2) / (2 width_k^2))

- gradient, with u_k = (x - cx_k) / width_k, v_k = (y - cy_k) / width_k and
  e_k = depth_k exp(-(u_k^2 + v_k^2) / 2):
  df/dx = 2 bowl x + sum_k e_k u_k / width_k,  df/dy = 2 bowl y + sum_k e_k v_k / width_k.
- Hessian: hxx = 2 bowl + sum_k e_k (1 - u_k^2) / width_k^2,
  hxy = -sum_k e_k u_k v_k / width_k^2,  hyy = 2 bowl + sum_k e_k (1 - v_k^2) / width_k^2.
  (Written with u_k and v_k, the formulas stay finite for every finite input.)
- problem_params:
  - ``bowl`` (0 < bowl <= 1e3, default 0.05);
  - ``wells``: a list of 1 to 32 tables {center = [cx, cy], depth, width}, all three
    keys required: |cx|, |cy| <= 1000, 0 < depth <= 1e6, 1e-3 <= width <= 1e3. Default:
    one deep well and two shallow ones, each of which makes a local minimum:
        {center = [-1.5, -1.0], depth = 2.0, width = 0.5}
        {center = [ 1.5,  1.2], depth = 0.6, width = 0.5}
        {center = [ 1.8, -1.4], depth = 0.6, width = 0.5}
  - ``start`` (list of 2 finite numbers, default [3, 0]: on the bowl's rim between the
    two shallow wells, so that a small step falls into the nearer shallow well and the
    deep one takes momentum or a long step).
- critical points: p . grad f = 2 bowl |p|^2 + sum_k e_k (p . (p - c_k)) / width_k^2 is
  > 0 whenever |p| > R = max_k |c_k|, so every critical point lies in the disk
  |p| <= R. Found numerically: Newton on grad f = 0 from the candidates (cells where both
  components change sign, local minima of |grad f|) of a 257 x 257 grid over ``region``
  and of a 129 x 129 grid over each well's centre +- 6 width, polished to the rounding
  floor, deduplicated, those in the disk kept. Checked: #minima - #saddles + #maxima = 1
  (f is coercive); when it fails the grids are refined (twice at most), and a search
  that still fails raises RuntimeError unless a degenerate critical point explains it.
- minima (index: by value, then x, then y) of the defaults, 6 decimals shown (~1e-15 in
  the list); each sits a little inside its well's centre, pulled towards the origin:
    index  location               value      Hessian eigenvalues
    0      (-1.481463, -0.987642) -1.839507  (8.076196, 8.092063)   the deep well
    1      ( 1.439301,  1.151436) -0.422924  (2.413829, 2.471092)
    2      ( 1.726801, -1.343063) -0.350487  (2.377863, 2.459006)
  saddles (same order; no maxima), on the ridge between the deep well and each shallow
  one:
    0 saddle   (0.347612,  0.275816)  0.002095  (-0.142267, 0.128445)
    1 saddle   (0.766425, -0.578773)  0.027320  (-0.340898, 0.152902)
- stop rule ``"grad"``: converged when |grad f(w_t)| <= stop.grad_tol; left when
  |w_t - w_0| > stop.radius or not finite, with status "escaped" if f(w_t) < f(w_0) when
  it left, else "diverged" (f is bounded below: leaving means diverging).
- ``region``: (-L, L, -L, L) with L = max(1, R + 3 max_k width_k): the disk and the
  wells, a plotting box (defaults: L = 3.780...).
- ``pack``: [bowl, n, (cx_k, cy_k, depth_k, width_k) for each of the n wells, m,
  (x_j, y_j) for each of the m minima in index order] (the minima for
  ``project_minimum``).
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np

from .._jit import jit
from .._validate import as_float, as_list, check_keys, check_table, fail, require
from . import _landscape
from ._landscape import CriticalPoint, Minimum

DIM = 2
CODE = 5
STOP_RULE = _landscape.STOP_RULE
UNBOUNDED_BELOW = False
DEFAULT_START = (3.0, 0.0)
DEFAULTS = {
    "bowl": 0.05,
    "wells": [
        {"center": [-1.5, -1.0], "depth": 2.0, "width": 0.5},
        {"center": [1.5, 1.2], "depth": 0.6, "width": 0.5},
        {"center": [1.8, -1.4], "depth": 0.6, "width": 0.5},
    ],
}
MAX_WELLS = 32
GRID = 257  # over the region
LOCAL_GRID = 129  # over each well's centre +- LOCAL_WIDTHS widths
LOCAL_WIDTHS = 6.0
_KEYS = ("bowl", "wells", "start")
_WELL_KEYS = ("center", "depth", "width")


def normalise_params(params: dict, where: str) -> dict:
    """Validate ``problem_params`` -> {"bowl", "wells", "start"}; SpecError naming the
    key (e.g. "problem_params.wells[1].width")."""
    check_keys(params, _KEYS, where)
    bowl = _landscape.parse_float(params, "bowl", where, DEFAULTS["bowl"], gt=0.0, le=1e3)
    if "wells" in params:
        raw = as_list(params["wells"], f"{where}.wells", max_len=MAX_WELLS)
        wells = [_well(item, f"{where}.wells[{k}]") for k, item in enumerate(raw)]
    else:
        wells = json.loads(json.dumps(DEFAULTS["wells"]))
    start = _landscape.parse_start(params, where, DEFAULT_START)
    return {"bowl": bowl, "wells": wells, "start": start}


def _well(item, where: str) -> dict:
    table = check_table(item, where)
    check_keys(table, _WELL_KEYS, where)
    what = {"center": "[cx, cy]", "depth": "a number > 0", "width": "a number > 0"}
    raw = {key: require(table, key, where, what[key]) for key in _WELL_KEYS}
    center = as_list(raw["center"], f"{where}.center", max_len=2)
    if len(center) != 2:
        fail(f"{where}.center", center, "expected a list of 2 numbers [cx, cy]")
    center = [as_float(v, f"{where}.center[{i}]", ge=-1e3, le=1e3) for i, v in enumerate(center)]
    depth = as_float(raw["depth"], f"{where}.depth", gt=0.0, le=1e6)
    width = as_float(raw["width"], f"{where}.width", ge=1e-3, le=1e3)
    return {"center": center, "depth": depth, "width": width}


def axes_used(params: dict) -> tuple[str, ...]:
    """The start-point axes ("x0", "y0") and "sigma" (additive gradient noise, optional)."""
    return ("x0", "y0", "sigma")


def _constants(params: dict) -> np.ndarray:
    """[bowl, n, (cx, cy, depth, width) * n]: what value, grad and hessian read."""
    out = [params["bowl"], float(len(params["wells"]))]
    for w in params["wells"]:
        out += [w["center"][0], w["center"][1], w["depth"], w["width"]]
    return np.array(out, dtype=np.float64)


def pack(params: dict) -> np.ndarray:
    """[bowl, n, (cx, cy, depth, width) * n, m, (x, y) * m], float64 of shape
    (3 + 4n + 2m,)."""
    tail = _landscape.pack_minima(minima(params))
    return np.concatenate([_constants(params), np.array(tail, dtype=np.float64)])


def bound(X: float, Y: float, c) -> float:
    """An upper bound on |f|, |grad f| and their terms over |x| <= X, |y| <= Y
    (|e_k u_k| <= depth_k exp(-1/2) < depth_k)."""
    bowl, n = float(c[0]), int(c[1])
    depth = sum(float(c[4 + 4 * k]) for k in range(n))
    slope = sum(float(c[4 + 4 * k]) / float(c[5 + 4 * k]) for k in range(n))
    return max(bowl * (X * X + Y * Y) + depth, 2.0 * bowl * max(X, Y) + slope)


def check_start(params: dict, axes: dict, dtype: str, where: str) -> None:
    """SpecError unless the loss and gradient are finite at the start point(s)."""
    _landscape.check_start(
        params, axes, dtype, where, value=value, grad=grad, bound=bound, c=_constants(params)
    )


@jit
def value(x, y, c):
    """f = bowl (x^2 + y^2) - sum_k depth_k exp(-(u_k^2 + v_k^2) / 2)."""
    f = c[0] * (x * x + y * y)
    for k in range(int(c[1])):
        u = (x - c[2 + 4 * k]) / c[5 + 4 * k]
        v = (y - c[3 + 4 * k]) / c[5 + 4 * k]
        f = f - c[4 + 4 * k] * np.exp(-0.5 * (u * u + v * v))
    return f


@jit
def grad(x, y, c):
    """(2 bowl x + sum_k e_k u_k / width_k, 2 bowl y + sum_k e_k v_k / width_k)."""
    gx = 2.0 * c[0] * x
    gy = 2.0 * c[0] * y
    for k in range(int(c[1])):
        w = c[5 + 4 * k]
        u = (x - c[2 + 4 * k]) / w
        v = (y - c[3 + 4 * k]) / w
        e = c[4 + 4 * k] * np.exp(-0.5 * (u * u + v * v))
        gx = gx + e * u / w
        gy = gy + e * v / w
    return gx, gy


@jit
def hessian(x, y, c):
    """(hxx, hxy, hyy), sums over the wells of e_k (1 - u_k^2) / width_k^2,
    -e_k u_k v_k / width_k^2 and e_k (1 - v_k^2) / width_k^2, plus 2 bowl on the
    diagonal."""
    hxx = 2.0 * c[0]
    hyy = 2.0 * c[0]
    hxy = 0.0
    for k in range(int(c[1])):
        w = c[5 + 4 * k]
        u = (x - c[2 + 4 * k]) / w
        v = (y - c[3 + 4 * k]) / w
        e = c[4 + 4 * k] * np.exp(-0.5 * (u * u + v * v)) / (w * w)
        hxx = hxx + e * (1.0 - u * u)
        hxy = hxy - e * (u * v)
        hyy = hyy + e * (1.0 - v * v)
    return hxx, hxy, hyy


@jit
def project_minimum(x, y, c):
    """(index, mx, my) of the listed minimum nearest to (x, y); c from ``pack``."""
    return _landscape.nearest_listed(x, y, c, 2 + 4 * int(c[1]))


def _radius(params: dict) -> float:
    """R = max_k |c_k|: every critical point lies in the disk |p| <= R."""
    return max(math.hypot(*w["center"]) for w in params["wells"])


def region(params: dict) -> tuple[float, float, float, float]:
    """(-L, L, -L, L), L = max(1, R + 3 max_k width_k), R = max_k |c_k|."""
    L = max(1.0, _radius(params) + 3.0 * max(w["width"] for w in params["wells"]))
    return (-L, L, -L, L)


@functools.lru_cache(maxsize=32)
def _critical(key: str):
    params = json.loads(key)
    c = _constants(params)
    R = _radius(params)

    def inside(x: float, y: float) -> bool:
        return math.hypot(x, y) <= R * (1.0 + 1e-9) + 1e-12

    for refine in (1, 2, 4):
        grids = [(region(params), (GRID - 1) * refine + 1)]
        for w in params["wells"]:
            (cx, cy), h = w["center"], LOCAL_WIDTHS * w["width"]
            grids.append(((cx - h, cx + h, cy - h, cy + h), (LOCAL_GRID - 1) * refine + 1))
        points = _landscape.find_critical_points(grad, hessian, bound, c, grids, inside)
        minima, others = _landscape.classify(points, value, hessian, c)
        if _landscape.morse_ok(minima, others):
            return minima, others
    raise RuntimeError(
        f"wells: the critical-point search found {len(minima)} minima and "
        f"{len(others)} other critical points, which violates #minima - #saddles + "
        "#maxima = 1; please report these problem_params"
    )


def _key(params: dict) -> str:
    return _landscape.params_key({k: v for k, v in params.items() if k != "start"})


def minima(params: dict) -> tuple[Minimum, ...]:
    """The minima, ordered by value, then x, then y."""
    return _critical(_key(params))[0]


def saddles(params: dict) -> tuple[CriticalPoint, ...]:
    """The saddles and maxima, ordered by value, then x, then y."""
    return _critical(_key(params))[1]
