"""Himmelblau's function: f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2.

- gradient, with A = x^2 + y - 11 and B = x + y^2 - 7:
  df/dx = 4 x A + 2 B,  df/dy = 2 A + 4 y B.
- Hessian: hxx = 4 A + 8 x^2 + 2,  hxy = 4 (x + y),  hyy = 4 B + 8 y^2 + 2.
- problem_params: ``start`` (list of 2 finite numbers, default [0, 0]); no other
  parameters.
- critical points: df/dx and df/dy are cubics, so by Bezout's theorem there are at most
  9 isolated ones; all 9 are found numerically in ``region`` = (-5, 5, -5, 5) (Newton on
  grad f = 0 from the candidates of a 401 x 401 grid, polished to the rounding floor,
  deduplicated), so there are no others anywhere. (3, 2) is exact (A = B = 0 there);
  the others are accurate to ~1e-15. #minima - #saddles + #maxima = 4 - 4 + 1 = 1.
- minima (index: by value, then x, then y; all four are zeros of f, A = B = 0, so their
  value is listed as 0 exactly; 6 decimals shown, ~1e-15 in the list):
    index  location                 value  Hessian eigenvalues
    0      (-3.779310, -3.283186)   0      (70.714355, 133.785615)
    1      (-2.805118,  3.131313)   0      (64.840373,  80.550072)
    2      ( 3,         2       )   0      (25.715729,  82.284271)
    3      ( 3.584428, -1.848127)   0      (28.690677, 105.418908)
- saddles and maxima (same order):
    0 saddle   ( 3.385154,  0.073852)   13.311926  (-14.135178, 97.547878)
    1 saddle   ( 0.086678,  2.884255)   67.719150  (-31.706622, 75.507609)
    2 saddle   (-3.073026, -0.081353)  104.015163  (-39.651496, 72.435248)
    3 saddle   (-0.127961, -1.953715)  178.337239  (-50.610239, 20.284050)
    4 maximum  (-0.270845, -0.923039)  181.616522  (-45.605229, -16.066020)
- stop rule ``"grad"``: converged when |grad f(w_t)| <= stop.grad_tol; left when
  |w_t - w_0| > stop.radius or not finite, with status "escaped" if f(w_t) < f(w_0) when
  it left, else "diverged" (f >= 0: leaving means diverging).
- ``pack``: [m, x_0, y_0, ..., x_{m-1}, y_{m-1}], the 4 minima in index order (read by
  ``project_minimum``; the formulas have no constants).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .._jit import jit
from .._validate import check_keys
from . import _landscape
from ._landscape import CriticalPoint, Minimum

DIM = 2
CODE = 6
STOP_RULE = _landscape.STOP_RULE
UNBOUNDED_BELOW = False
DEFAULT_START = (0.0, 0.0)
REGION = (-5.0, 5.0, -5.0, 5.0)
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
    """[m, x_0, y_0, ...]: the minima, for ``project_minimum`` (float64, shape (9,))."""
    return np.array(_landscape.pack_minima(minima(params)), dtype=np.float64)


def bound(X: float, Y: float, c) -> float:
    """An upper bound on |f|, |grad f| and their terms over |x| <= X, |y| <= Y."""
    A, B = X * X + Y + 11.0, X + Y * Y + 7.0
    return max(A * A + B * B, 4.0 * X * A + 2.0 * B, 2.0 * A + 4.0 * Y * B)


def check_start(params: dict, axes: dict, dtype: str, where: str) -> None:
    """SpecError unless the loss and gradient are finite at the start point(s)."""
    _landscape.check_start(
        params, axes, dtype, where, value=value, grad=grad, bound=bound, c=_NO_CONSTANTS
    )


@jit
def value(x, y, c):
    """f = (x^2 + y - 11)^2 + (x + y^2 - 7)^2."""
    A = x * x + y - 11.0
    B = x + y * y - 7.0
    return A * A + B * B


@jit
def grad(x, y, c):
    """(df/dx, df/dy) = (4 x A + 2 B, 2 A + 4 y B)."""
    A = x * x + y - 11.0
    B = x + y * y - 7.0
    return 4.0 * x * A + 2.0 * B, 2.0 * A + 4.0 * y * B


@jit
def hessian(x, y, c):
    """(hxx, hxy, hyy) = (4 A + 8 x^2 + 2, 4 (x + y), 4 B + 8 y^2 + 2)."""
    A = x * x + y - 11.0
    B = x + y * y - 7.0
    return 4.0 * A + 8.0 * (x * x) + 2.0, 4.0 * (x + y), 4.0 * B + 8.0 * (y * y) + 2.0


@jit
def project_minimum(x, y, c):
    """(index, mx, my) of the listed minimum nearest to (x, y); c from ``pack``."""
    return _landscape.nearest_listed(x, y, c, 0)


def _inside(x: float, y: float) -> bool:
    return abs(x) <= REGION[1] and abs(y) <= REGION[3]


def _exact(x: float, y: float) -> tuple[float, float]:
    """(3, 2) exactly for the point that is (3, 2) up to rounding."""
    return (3.0, 2.0) if abs(x - 3.0) + abs(y - 2.0) < 1e-9 else (x, y)


@functools.lru_cache(maxsize=1)
def _critical():
    points = _landscape.find_critical_points(
        grad, hessian, bound, _NO_CONSTANTS, [(REGION, GRID)], _inside
    )
    points = [_exact(x, y) for x, y in points]
    minima, others = _landscape.classify(points, value, hessian, _NO_CONSTANTS)
    return tuple(dataclasses.replace(m, value=0.0) for m in minima), others


def minima(params: dict) -> tuple[Minimum, ...]:
    """The four minima, ordered by value, then x, then y."""
    return _critical()[0]


def saddles(params: dict) -> tuple[CriticalPoint, ...]:
    """The four saddles and the maximum, ordered by value, then x, then y."""
    return _critical()[1]


def region(params: dict) -> tuple[float, float, float, float]:
    """(-5, 5, -5, 5): the box searched, which holds every critical point."""
    return REGION
