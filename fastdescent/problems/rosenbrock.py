"""Rosenbrock's valley: f(x, y) = (a - x)^2 + b (y - x^2)^2 (DESIGN 1.4; the course's
week-1 milestone: GD from (-1, 1), eta = 0.001, 10,000 steps).

- gradient: df/dx = -2 (a - x) - 4 b x (y - x^2),  df/dy = 2 b (y - x^2).
- Hessian: hxx = 2 - 4 b (y - x^2) + 8 b x^2,  hxy = -4 b x,  hyy = 2 b.
- problem_params: ``a`` (finite, |a| <= 1000, default 1), ``b`` (0 < b <= 1e6, default
  100), ``start`` (list of 2 finite numbers, default [-1, 1]).
- minima (analytic): index 0 at (a, a^2), value 0, Hessian [[2 + 8 b a^2, -4 a b],
  [-4 a b, 2 b]]; for a = 1, b = 100 eigenvalues 0.39936... and 1001.60... (condition
  number ~2508: the curved valley).
- other critical points: none. df/dy = 0 forces y = x^2, and then df/dx = -2 (a - x)
  vanishes only at x = a.
- stop rule ``"grad"``: converged when |grad f(w_t)| <= stop.grad_tol; left when
  |w_t - w_0| > stop.radius or not finite, with status "escaped" if f(w_t) < f(w_0)
  when it left, else "diverged" (f >= 0 is bounded below: leaving means diverging).
- ``region``: with X = max(2, |a| + 1), (-X, X, -(X^2 - 1) / 3, X^2 - 1); for a = 1
  the usual plotting box (-2, 2, -1, 3).
- ``pack``: [a, b].
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from .._validate import check_keys
from . import _landscape
from ._landscape import CriticalPoint, Minimum

DIM = 2
CODE = 3
STOP_RULE = _landscape.STOP_RULE
UNBOUNDED_BELOW = False
DEFAULT_START = (-1.0, 1.0)
DEFAULTS = {"a": 1.0, "b": 100.0}
_KEYS = ("a", "b", "start")


def normalise_params(params: dict, where: str) -> dict:
    """Validate ``problem_params`` -> {"a", "b", "start"}; SpecError naming the key."""
    check_keys(params, _KEYS, where)
    return {
        "a": _landscape.parse_float(params, "a", where, DEFAULTS["a"], ge=-1e3, le=1e3),
        "b": _landscape.parse_float(params, "b", where, DEFAULTS["b"], gt=0.0, le=1e6),
        "start": _landscape.parse_start(params, where, DEFAULT_START),
    }


def axes_used(params: dict) -> tuple[str, ...]:
    """The start-point axes ("x0", "y0") and "sigma" (additive gradient noise, optional)."""
    return ("x0", "y0", "sigma")


def pack(params: dict) -> np.ndarray:
    """The constants the jitted functions read: [a, b], float64 of shape (2,)."""
    return np.array([params["a"], params["b"]], dtype=np.float64)


def bound(X: float, Y: float, c) -> float:
    """An upper bound on |f|, |grad f| and their terms over |x| <= X, |y| <= Y."""
    a, b = abs(float(c[0])), float(c[1])
    d1, d2 = a + X, Y + X * X
    return max(d1 * d1 + b * d2 * d2, 2.0 * d1 + 4.0 * b * X * d2, 2.0 * b * d2)


def check_start(params: dict, axes: dict, dtype: str, where: str) -> None:
    """SpecError unless the loss and gradient are finite at the start point(s)."""
    _landscape.check_start(
        params, axes, dtype, where, value=value, grad=grad, bound=bound, c=pack(params)
    )


@jit
def value(x, y, c):
    """f = (a - x)^2 + b (y - x^2)^2, with c = [a, b]."""
    d1 = c[0] - x
    d2 = y - x * x
    return d1 * d1 + c[1] * (d2 * d2)


@jit
def grad(x, y, c):
    """(df/dx, df/dy) = (-2 (a - x) - 4 b x (y - x^2), 2 b (y - x^2))."""
    d1 = c[0] - x
    d2 = y - x * x
    return -2.0 * d1 - 4.0 * c[1] * x * d2, 2.0 * c[1] * d2


@jit
def hessian(x, y, c):
    """(hxx, hxy, hyy) = (2 - 4 b (y - x^2) + 8 b x^2, -4 b x, 2 b)."""
    b = c[1]
    return 2.0 - 4.0 * b * (y - x * x) + 8.0 * b * (x * x), -4.0 * b * x, 2.0 * b


@jit
def project_minimum(x, y, c):
    """The only minimum: (0, a, a^2)."""
    return 0, c[0], c[0] * c[0]


def minima(params: dict) -> tuple[Minimum, ...]:
    """Index 0: (a, a^2), value 0."""
    a, b = params["a"], params["b"]
    eig = _landscape.eigenvalues(2.0 + 8.0 * b * a * a, -4.0 * a * b, 2.0 * b)
    return (Minimum(0, (a, a * a), 0.0, eig),)


def saddles(params: dict) -> tuple[CriticalPoint, ...]:
    """None: (a, a^2) is the only critical point."""
    return ()


def region(params: dict) -> tuple[float, float, float, float]:
    """(-X, X, -(X^2 - 1) / 3, X^2 - 1) with X = max(2, |a| + 1)."""
    X = max(2.0, abs(params["a"]) + 1.0)
    return (-X, X, -(X * X - 1.0) / 3.0, X * X - 1.0)
