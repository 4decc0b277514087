"""The course notebook's multimodal loss: f(x, y) = sin(x) cos(y) + 0.1 (x^2 + y^2).

- gradient: df/dx = cos(x) cos(y) + 0.2 x,  df/dy = -sin(x) sin(y) + 0.2 y.
- Hessian: hxx = hyy = -sin(x) cos(y) + 0.2,  hxy = -cos(x) sin(y).
- problem_params: ``start`` (list of 2 finite numbers, default [2, -1], the notebook's
  start); no other parameters.
- critical points: where cos(x) cos(y) = -0.2 x and sin(x) sin(y) = 0.2 y, so every one
  has |x| <= 5 and |y| <= 5 (and f is coercive: 0.1 r^2 dominates outside). Found
  numerically over that whole box, ``region`` = (-5, 5, -5, 5): Newton on grad f = 0
  from the candidates of a 401 x 401 grid (cells where both components change sign, and
  local minima of |grad f|), polished to the rounding floor, deduplicated. f(x, -y) =
  f(x, y), so they are made exactly symmetric: pairs (x, +-y) and points on y = 0
  (y = 0 exactly). Checked: #minima - #saddles + #maxima = 1, as for any coercive Morse
  function on the plane.
- minima (index: by value, then x, then y; 6 decimals shown, ~1e-15 in the list):
    index  location               value      Hessian eigenvalues
    0      (-1.306440,  0)        -0.794582  (1.165261, 1.165261)   the global minimum
    1      ( 1.265514, -2.571954)  0.018488  (0.841057, 1.165261)
    2      ( 1.265514,  2.571954)  0.018488  (0.841057, 1.165261)
    3      ( 3.837467,  0)         0.831559  (0.841057, 0.841057)
- saddles and maxima (same order):
    0 saddle   (0.335472, -1.641912)  0.257449  (-0.718476, 1.165261)
    1 saddle   (0.335472,  1.641912)  0.257449  (-0.718476, 1.165261)
    2 saddle   (2.907425, -0.930042)  1.070519  (-0.718476, 0.841057)
    3 saddle   (2.907425,  0.930042)  1.070519  (-0.718476, 0.841057)
    4 maximum  (1.977383,  0)         1.309480  (-0.718476, -0.718476)
- stop rule ``"grad"``: converged when |grad f(w_t)| <= stop.grad_tol; left when
  |w_t - w_0| > stop.radius or not finite, with status "escaped" if f(w_t) < f(w_0) when
  it left, else "diverged" (f is bounded below by -1: leaving means diverging).
- ``pack``: [m, x_0, y_0, ..., x_{m-1}, y_{m-1}], the m minima in index order (read by
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
CODE = 1
STOP_RULE = _landscape.STOP_RULE
UNBOUNDED_BELOW = False
DEFAULT_START = (2.0, -1.0)
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
    """[m, x_0, y_0, ...]: the minima, for ``project_minimum`` (float64, shape (1 + 2m,))."""
    return np.array(_landscape.pack_minima(minima(params)), dtype=np.float64)


def bound(X: float, Y: float, c) -> float:
    """An upper bound on |f|, |grad f| and their terms over |x| <= X, |y| <= Y."""
    return max(1.0 + 0.1 * (X * X + Y * Y), 1.0 + 0.2 * X, 1.0 + 0.2 * Y)


def check_start(params: dict, axes: dict, dtype: str, where: str) -> None:
    """SpecError unless the loss and gradient are finite at the start point(s)."""
    _landscape.check_start(
        params, axes, dtype, where, value=value, grad=grad, bound=bound, c=_NO_CONSTANTS
    )


@jit
def value(x, y, c):
    """f = sin(x) cos(y) + 0.1 (x^2 + y^2)."""
    return np.sin(x) * np.cos(y) + 0.1 * (x * x + y * y)


@jit
def grad(x, y, c):
    """(df/dx, df/dy) = (cos(x) cos(y) + 0.2 x, -sin(x) sin(y) + 0.2 y)."""
    return np.cos(x) * np.cos(y) + 0.2 * x, -np.sin(x) * np.sin(y) + 0.2 * y


@jit
def hessian(x, y, c):
    """(hxx, hxy, hyy) = (0.2 - sin(x) cos(y), -cos(x) sin(y), 0.2 - sin(x) cos(y))."""
    d = 0.2 - np.sin(x) * np.cos(y)
    return d, -np.cos(x) * np.sin(y), d


@jit
def project_minimum(x, y, c):
    """(index, mx, my) of the listed minimum nearest to (x, y); c from ``pack``."""
    return _landscape.nearest_listed(x, y, c, 0)


@functools.lru_cache(maxsize=1)
def _critical(key: str):
    del key  # no parameters
    points = _landscape.find_critical_points(
        grad, hessian, bound, _NO_CONSTANTS, [(REGION, GRID)], _inside
    )
    points = _landscape.mirror_closure(points, lambda x, y: (x, -y), lambda x, y: (x, 0.0))
    return _landscape.classify(points, value, hessian, _NO_CONSTANTS)


def _inside(x: float, y: float) -> bool:
    return abs(x) <= REGION[1] and abs(y) <= REGION[3]


def minima(params: dict) -> tuple[Minimum, ...]:
    """The minima, ordered by value, then x, then y."""
    return _critical(_landscape.params_key({}))[0]


def saddles(params: dict) -> tuple[CriticalPoint, ...]:
    """The saddles and maxima, ordered by value, then x, then y."""
    return _critical(_landscape.params_key({}))[1]


def region(params: dict) -> tuple[float, float, float, float]:
    """(-5, 5, -5, 5): the box that holds every critical point."""
    return REGION
