"""The six-hump camel: f(x, y) = (4 - 2.1 x^2 + x^4 / 3) x^2 + x y + (-4 + 4 y^2) y^2.

- gradient: df/dx = 8 x - 8.4 x^3 + 2 x^5 + y,  df/dy = x - 8 y + 16 y^3.
- Hessian: hxx = 8 - 25.2 x^2 + 10 x^4,  hxy = 1,  hyy = -8 + 48 y^2.
- problem_params: ``start`` (list of 2 finite numbers, default [1.5, 1]); no other
  parameters.
- critical points: df/dx has degree 5 and df/dy degree 3, so by Bezout's theorem there
  are at most 15 isolated ones (equivalently: df/dy = 0 gives x = 8 y - 16 y^3, and
  df/dx then is a polynomial of degree 15 in y). All 15 are real and found numerically
  in ``region`` = (-3, 3, -2, 2) (Newton on grad f = 0 from the candidates of a
  401 x 401 grid, polished to the rounding floor, deduplicated), so there are no others
  anywhere. f(-x, -y) = f(x, y): they are made exactly symmetric, in pairs +-p and the
  saddle at the origin (0, 0) exactly. #minima - #saddles + #maxima = 6 - 7 + 2 = 1.
- minima (index: by value, then x, then y; 6 decimals shown, ~1e-15 in the list):
    index  location                value      Hessian eigenvalues
    0      (-0.089842,  0.712656)  -1.031628  ( 7.682251, 16.493195)  the global pair
    1      ( 0.089842, -0.712656)  -1.031628  ( 7.682251, 16.493195)
    2      (-1.703607,  0.796084)  -0.215464  (18.817139, 22.697515)
    3      ( 1.703607, -0.796084)  -0.215464  (18.817139, 22.697515)
    4      (-1.607105, -0.568651)   2.104250  ( 7.121512, 10.021603)
    5      ( 1.607105,  0.568651)   2.104250  ( 7.121512, 10.021603)
- saddles and maxima (same order):
    0 saddle   ( 0,          0        )  0         (-8.062258,  8.062258)
    1 saddle   (-1.109205,  0.768268)  0.543719  (-7.902619, 20.366740)
    2 saddle   ( 1.109205, -0.768268)  0.543719  (-7.902619, 20.366740)
    3 saddle   (-1.638068, -0.228674)  2.229357  (-5.545775, 12.436664)
    4 saddle   ( 1.638068,  0.228674)  2.229357  (-5.545775, 12.436664)
    5 saddle   (-1.296070, -0.605084)  2.229471  (-6.177182,  9.637588)
    6 saddle   ( 1.296070,  0.605084)  2.229471  (-6.177182,  9.637588)
    7 maximum  (-1.230230, -0.162335)  2.496295  (-8.014907, -5.953724)
    8 maximum  ( 1.230230,  0.162335)  2.496295  (-8.014907, -5.953724)
- stop rule ``"grad"``: converged when |grad f(w_t)| <= stop.grad_tol; left when
  |w_t - w_0| > stop.radius or not finite, with status "escaped" if f(w_t) < f(w_0) when
  it left, else "diverged" (f is bounded below: leaving means diverging).
- ``pack``: [m, x_0, y_0, ..., x_{m-1}, y_{m-1}], the 6 minima in index order (read by
  ``project_minimum``; the formulas have no constants).
"""

from __future__ import annotations

import functools

import numpy as np

from .._jit import jit
from .._validate import check_keys
from . import _landscape
from ._landscape import CriticalPoint, Minimum

DIM = 2
CODE = 7
STOP_RULE = _landscape.STOP_RULE
UNBOUNDED_BELOW = False
DEFAULT_START = (1.5, 1.0)
REGION = (-3.0, 3.0, -2.0, 2.0)
GRID = 401
_KEYS = ("start",)
_NO_CONSTANTS = np.zeros(0, dtype=np.float64)


def normalise_params(params: dict, where: str) -> dict:
    """Validate ``problem_params`` -> {"start": [x, y]}; SpecError naming the key."""
    check_keys(params, _KEYS, where)
    return {"start": _landscape.parse_start(params, where, DEFAULT_START)}


def axes_used(params: dict) -> tuple[str, ...]:
    """The start-point axes ("x0", "y0") and "sigma" (additive gradient noise, optional)."""
    return ("x0", "y0", "sigma")


def pack(params: dict) -> np.ndarray:
    """[m, x_0, y_0, ...]: the minima, for ``project_minimum`` (float64, shape (13,))."""
    return np.array(_landscape.pack_minima(minima(params)), dtype=np.float64)


def bound(X: float, Y: float, c) -> float:
    """An upper bound on |f|, |grad f| and their terms over |x| <= X, |y| <= Y."""
    X2, Y2 = X * X, Y * Y
    return max(
        (4.0 + 2.1 * X2 + X2 * X2 / 3.0) * X2 + X * Y + (4.0 + 4.0 * Y2) * Y2,
        X * (8.0 + 8.4 * X2 + 2.0 * (X2 * X2)) + Y,
        X + Y * (8.0 + 16.0 * Y2),
    )


def check_start(params: dict, axes: dict, dtype: str, where: str) -> None:
    """SpecError unless the loss and gradient are finite at the start point(s)."""
    _landscape.check_start(
        params, axes, dtype, where, value=value, grad=grad, bound=bound, c=_NO_CONSTANTS
    )


@jit
def value(x, y, c):
    """f = (4 - 2.1 x^2 + x^4 / 3) x^2 + x y + (-4 + 4 y^2) y^2."""
    x2 = x * x
    y2 = y * y
    return (4.0 - 2.1 * x2 + x2 * x2 / 3.0) * x2 + x * y + (-4.0 + 4.0 * y2) * y2


@jit
def grad(x, y, c):
    """(df/dx, df/dy) = (x (8 - 8.4 x^2 + 2 x^4) + y, x + y (-8 + 16 y^2))."""
    x2 = x * x
    return x * (8.0 - 8.4 * x2 + 2.0 * (x2 * x2)) + y, x + y * (-8.0 + 16.0 * (y * y))


@jit
def hessian(x, y, c):
    """(hxx, hxy, hyy) = (8 - 25.2 x^2 + 10 x^4, 1, -8 + 48 y^2)."""
    x2 = x * x
    return 8.0 - 25.2 * x2 + 10.0 * (x2 * x2), 1.0, -8.0 + 48.0 * (y * y)


@jit
def project_minimum(x, y, c):
    """(index, mx, my) of the listed minimum nearest to (x, y); c from ``pack``."""
    return _landscape.nearest_listed(x, y, c, 0)


def _inside(x: float, y: float) -> bool:
    return abs(x) <= REGION[1] and abs(y) <= REGION[3]


@functools.lru_cache(maxsize=1)
def _critical():
    points = _landscape.find_critical_points(
        grad, hessian, bound, _NO_CONSTANTS, [(REGION, GRID)], _inside
    )
    points = _landscape.mirror_closure(points, lambda x, y: (-x, -y), lambda x, y: (0.0, 0.0))
    return _landscape.classify(points, value, hessian, _NO_CONSTANTS)


def minima(params: dict) -> tuple[Minimum, ...]:
    """The six minima, ordered by value, then x, then y."""
    return _critical()[0]


def saddles(params: dict) -> tuple[CriticalPoint, ...]:
    """The seven saddles and two maxima, ordered by value, then x, then y."""
    return _critical()[1]


def region(params: dict) -> tuple[float, float, float, float]:
    """(-3, 3, -2, 2): the box searched, which holds every critical point."""
    return REGION
