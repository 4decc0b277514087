"""The course's 1-D quartic: f(x) = x^4 - 3 x^3 + 2 (exercise: GD from x_0 = 4).

- derivative: f'(x) = 4 x^3 - 9 x^2 = x^2 (4 x - 9);  f''(x) = 12 x^2 - 18 x.
- DIM = 1: the functions take (x, y, c) like the 2-D landscapes and ignore y; ``grad``
  returns (f'(x), 0.0) and ``hessian`` (f''(x), 0.0, 0.0).
- problem_params: ``start`` (list of 1 finite number, default [4]); no other parameters.
- minima (analytic): index 0 at x = 9/4, value 2 - 3 (9/4)^3 + (9/4)^4 = -1675/256
  = -6.54296875, f''(9/4) = 81/4 = 20.25.
- other critical points (analytic): index 0 at x = 0, value 2, f''(0) = 0, kind
  "degenerate": a double root of f', an inflection point with a horizontal tangent (f
  decreases through it), not a minimum. GD started left of it creeps through it
  slowly, f' ~ -9 x^2.
- stop rule ``"grad"``: converged when |f'(x_t)| <= stop.grad_tol; left when
  |x_t - x_0| > stop.radius or not finite, with status "escaped" if f(x_t) < f(x_0) when
  it left, else "diverged" (f is bounded below: leaving means diverging).
- ``project_minimum``: always (0, 9/4, 0.0).
- ``region``: (-1.5, 4.5, 0, 0): the x range of a plot holding both critical points and
  the default start (ymin = ymax = 0 for a 1-D problem).
- ``pack``: an empty float64 array (no constants).
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from .._validate import check_keys
from . import _landscape
from ._landscape import CriticalPoint, Minimum

DIM = 1
CODE = 8
STOP_RULE = _landscape.STOP_RULE
UNBOUNDED_BELOW = False
DEFAULT_START = (4.0,)
X_MIN = 2.25  # 9/4
F_MIN = -1675.0 / 256.0  # 2 - 3 (9/4)^3 + (9/4)^4, exact in binary
_KEYS = ("start",)


def normalise_params(params: dict, where: str) -> dict:
    """Validate ``problem_params`` -> {"start": [x]}; SpecError naming the key."""
    check_keys(params, _KEYS, where)
    return {"start": _landscape.parse_start(params, where, DEFAULT_START)}


def axes_used(params: dict) -> tuple[str, ...]:
    """The start-point axis ("x0",) and "sigma" (additive gradient noise, optional)."""
    return ("x0", "sigma")


def pack(params: dict) -> np.ndarray:
    """The constants the jitted functions read: none (float64, shape (0,))."""
    return np.zeros(0, dtype=np.float64)


def bound(X: float, Y: float, c) -> float:
    """An upper bound on |f|, |f'| and their terms over |x| <= X (Y is ignored)."""
    X2 = X * X
    return max(X2 * X2 + 3.0 * X2 * X + 2.0, X2 * (4.0 * X + 9.0))


def check_start(params: dict, axes: dict, dtype: str, where: str) -> None:
    """SpecError unless the loss and derivative are finite at the start point(s)."""
    _landscape.check_start(
        params, axes, dtype, where, value=value, grad=grad, bound=bound, c=pack(params)
    )


@jit
def value(x, y, c):
    """f = x^4 - 3 x^3 + 2 (y ignored)."""
    x2 = x * x
    return x2 * x2 - 3.0 * (x2 * x) + 2.0


@jit
def grad(x, y, c):
    """(f'(x), 0.0) = (x^2 (4 x - 9), 0.0)."""
    return (x * x) * (4.0 * x - 9.0), 0.0


@jit
def hessian(x, y, c):
    """(f''(x), 0.0, 0.0) = (12 x^2 - 18 x, 0.0, 0.0)."""
    return x * (12.0 * x - 18.0), 0.0, 0.0


@jit
def project_minimum(x, y, c):
    """The only minimum: (0, 9/4, 0.0)."""
    return 0, 2.25, 0.0


def minima(params: dict) -> tuple[Minimum, ...]:
    """Index 0: x = 9/4, value -1675/256, f'' = 81/4."""
    return (Minimum(0, (X_MIN,), F_MIN, (20.25,)),)


def saddles(params: dict) -> tuple[CriticalPoint, ...]:
    """The degenerate critical point x = 0 (an inflection point)."""
    return (CriticalPoint(0, (0.0,), 2.0, (0.0,), "degenerate"),)


def region(params: dict) -> tuple[float, float, float, float]:
    """(-1.5, 4.5, 0.0, 0.0)."""
    return (-1.5, 4.5, 0.0, 0.0)
