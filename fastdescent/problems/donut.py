"""The donut: f(x, y) = (x^2 + y^2 - r^2)^2, a circle of minima.

- gradient, with S = x^2 + y^2 - r^2: (4 S x, 4 S y).
- Hessian: hxx = 4 S + 8 x^2,  hxy = 8 x y,  hyy = 4 S + 8 y^2.
- problem_params: ``r`` (0 < r <= 1000, default 1), ``start`` (list of 2 finite
  numbers, default [1.5, 0.5]: outside the unit circle, off the axes, so that GD slides
  in along a curved path and momentum can orbit).
- minima (analytic): the whole circle x^2 + y^2 = r^2, value 0, listed as ONE minimum,
  index 0, kind "circle", represented by its point (r, 0). On the circle the Hessian is
  8 p p^T: eigenvalues 0 (along the circle) and 8 r^2 (across it).
- other critical points (analytic): index 0, a maximum at the origin, value r^4,
  Hessian -4 r^2 I (eigenvalues -4 r^2, -4 r^2). grad f = 4 S p vanishes only there
  and on the circle.
- stop rule ``"grad"``: converged when |grad f(w_t)| <= stop.grad_tol; left when
  |w_t - w_0| > stop.radius or not finite, with status "escaped" if f(w_t) < f(w_0) when
  it left, else "diverged" (f >= 0: leaving means diverging).
- ``project_minimum``: index 0 and the point of the circle nearest to (x, y), i.e.
  r p / |p|; (r, 0) for p = (0, 0).
- ``region``: (-2r, 2r, -2r, 2r), a plotting box.
- ``pack``: [r].
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from .._validate import check_keys
from . import _landscape
from ._landscape import CriticalPoint, Minimum

DIM = 2
CODE = 4
STOP_RULE = _landscape.STOP_RULE
UNBOUNDED_BELOW = False
DEFAULT_START = (1.5, 0.5)
DEFAULTS = {"r": 1.0}
_KEYS = ("r", "start")


def normalise_params(params: dict, where: str) -> dict:
    """Validate ``problem_params`` -> {"r", "start"}; SpecError naming the key."""
    check_keys(params, _KEYS, where)
    return {
        "r": _landscape.parse_float(params, "r", where, DEFAULTS["r"], gt=0.0, le=1e3),
        "start": _landscape.parse_start(params, where, DEFAULT_START),
    }


def axes_used(params: dict) -> tuple[str, ...]:
    """The start-point axes ("x0", "y0") and "sigma" (additive gradient noise, optional)."""
    return ("x0", "y0", "sigma")


def pack(params: dict) -> np.ndarray:
    """The constants the jitted functions read: [r], float64 of shape (1,)."""
    return np.array([params["r"]], dtype=np.float64)


def bound(X: float, Y: float, c) -> float:
    """An upper bound on |f|, |grad f| and their terms over |x| <= X, |y| <= Y."""
    S = X * X + Y * Y + float(c[0]) * float(c[0])
    return max(S * S, 4.0 * S * max(X, Y))


def check_start(params: dict, axes: dict, dtype: str, where: str) -> None:
    """SpecError unless the loss and gradient are finite at the start point(s)."""
    _landscape.check_start(
        params, axes, dtype, where, value=value, grad=grad, bound=bound, c=pack(params)
    )


@jit
def value(x, y, c):
    """f = (x^2 + y^2 - r^2)^2, with c = [r]."""
    S = x * x + y * y - c[0] * c[0]
    return S * S


@jit
def grad(x, y, c):
    """(df/dx, df/dy) = (4 S x, 4 S y), S = x^2 + y^2 - r^2."""
    S = x * x + y * y - c[0] * c[0]
    return 4.0 * S * x, 4.0 * S * y


@jit
def hessian(x, y, c):
    """(hxx, hxy, hyy) = (4 S + 8 x^2, 8 x y, 4 S + 8 y^2)."""
    S = x * x + y * y - c[0] * c[0]
    return 4.0 * S + 8.0 * (x * x), 8.0 * (x * y), 4.0 * S + 8.0 * (y * y)


@jit
def project_minimum(x, y, c):
    """(0, mx, my): the point of the circle nearest to (x, y) (r p / |p|; (r, 0) at the
    origin); (-1, nan, nan) for a non-finite input."""
    r = c[0]
    if not (np.isfinite(x) and np.isfinite(y)):
        return -1, np.nan, np.nan
    rho = np.hypot(x, y)
    if rho == 0.0:
        return 0, r, 0.0
    if np.isinf(rho):  # |p| overflows: scale p down first (exact: a power of two)
        x, y = x * 2.0**-600, y * 2.0**-600
        rho = np.hypot(x, y)
    return 0, r * (x / rho), r * (y / rho)


def minima(params: dict) -> tuple[Minimum, ...]:
    """The circle of radius r, as one minimum represented by (r, 0)."""
    r = params["r"]
    return (Minimum(0, (r, 0.0), 0.0, (0.0, 8.0 * r * r), kind="circle"),)


def saddles(params: dict) -> tuple[CriticalPoint, ...]:
    """The maximum at the origin."""
    r = params["r"]
    lam = -4.0 * r * r
    return (CriticalPoint(0, (0.0, 0.0), r * r * r * r, (lam, lam), "maximum"),)


def region(params: dict) -> tuple[float, float, float, float]:
    """(-2r, 2r, -2r, 2r)."""
    r = 2.0 * params["r"]
    return (-r, r, -r, r)
