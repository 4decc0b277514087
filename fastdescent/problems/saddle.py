"""The saddle: f(x, y) = x^2 - y^2, unbounded below (DESIGN 1.4; the course's exercise
"Start GD at (0.01, 0.01)").

- gradient: (2x, -2y); Hessian: [[2, 0], [0, -2]] everywhere.
- problem_params: ``start`` (list of 2 finite numbers, default [0.01, 0.01]); no other
  parameters.
- minima: none. f -> -inf along the y axis, so the problem is ``UNBOUNDED_BELOW``.
- other critical points (analytic): index 0, the saddle (0, 0), value 0, Hessian
  eigenvalues (-2, 2).
- stop rule ``"grad"``: converged when |grad f(w_t)| <= stop.grad_tol (only at the
  saddle, i.e. from a start on the x axis); left when |w_t - w_0| > stop.radius or not
  finite, with status "escaped" if f(w_t) < f(w_0) when it left, else "diverged". GD
  from any start off the x axis grows |y| like (1 + 2 eta)^t and escapes.
- ``region``: (-2, 2, -2, 2), a plotting box around the saddle.
- ``pack``: an empty float64 array (no constants); ``project_minimum`` always returns
  (-1, nan, nan).
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from .._validate import check_keys
from . import _landscape
from ._landscape import CriticalPoint, Minimum

DIM = 2
CODE = 2
STOP_RULE = _landscape.STOP_RULE
UNBOUNDED_BELOW = True
DEFAULT_START = (0.01, 0.01)
_KEYS = ("start",)


def normalise_params(params: dict, where: str) -> dict:
    """Validate ``problem_params`` -> {"start": [x, y]}; SpecError naming the key."""
    check_keys(params, _KEYS, where)
    return {"start": _landscape.parse_start(params, where, DEFAULT_START)}


def axes_used(params: dict) -> tuple[str, ...]:
    """The start-point axes ("x0", "y0") and "sigma" (additive gradient noise, optional)."""
    return ("x0", "y0", "sigma")


def pack(params: dict) -> np.ndarray:
    """The constants the jitted functions read: none (float64, shape (0,))."""
    return np.zeros(0, dtype=np.float64)


def bound(X: float, Y: float, c) -> float:
    """An upper bound on |f|, |grad f| and their terms over |x| <= X, |y| <= Y."""
    return max(X * X + Y * Y, 2.0 * X, 2.0 * Y)


def check_start(params: dict, axes: dict, dtype: str, where: str) -> None:
    """SpecError unless the loss and gradient are finite at the start point(s)."""
    _landscape.check_start(
        params, axes, dtype, where, value=value, grad=grad, bound=bound, c=pack(params)
    )


@jit
def value(x, y, c):
    """f = x^2 - y^2."""
    return x * x - y * y


@jit
def grad(x, y, c):
    """(df/dx, df/dy) = (2x, -2y)."""
    return 2.0 * x, -2.0 * y


@jit
def hessian(x, y, c):
    """(hxx, hxy, hyy) = (2, 0, -2)."""
    return 2.0, 0.0, -2.0


@jit
def project_minimum(x, y, c):
    """No minima: (-1, nan, nan)."""
    return -1, np.nan, np.nan


def minima(params: dict) -> tuple[Minimum, ...]:
    """None: the saddle is unbounded below."""
    return ()


def saddles(params: dict) -> tuple[CriticalPoint, ...]:
    """The saddle point (0, 0)."""
    return (CriticalPoint(0, (0.0, 0.0), 0.0, (-2.0, 2.0), "saddle"),)


def region(params: dict) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) = (-2, 2, -2, 2)."""
    return (-2.0, 2.0, -2.0, 2.0)
