"""Local theory at the minima of a landscape: stability limits and rates per minimum.

Near a minimum w* of a smooth f the update rules of ``fastdescent.theory.quadratic`` act
on the error e = w - w* through the Hessian H = H(w*), up to O(|e|^2) terms:
    gd:          e <- (I - eta H) e
    heavy_ball:  e_{t+1} = (1 + beta) e_t - eta H e_t - beta e_{t-1}
    nesterov:    e_{t+1} = (1 + beta)(I - eta H) e_t - beta (I - eta H) e_{t-1}
so along each eigenvector of H, with eigenvalue lam, the error obeys exactly the
one-direction recurrence of a quadratic with that eigenvalue (``characteristic``).
Hence, with lam_1 <= ... <= lam_d the Hessian's eigenvalues at w*:

- local rate (the per-step contraction of |w_t - w*| close to w*):
      rho(eta, beta) = max over the curved lam_i of rate_direction(optimizer, eta, beta, lam_i)
  (gd: rho = max_i |1 - eta*lam_i|);
- local stability limit (w* attracts nearby points iff eta is below it, for beta in
  [0, 1)), with L = lam_d, the largest eigenvalue:
      gd:          eta < 2 / L
      heavy_ball:  eta < 2*(1+beta) / L
      nesterov:    eta < 2*(1+beta) / ((1+2*beta) * L)
  (``quadratic.stability_limit``). Past the limit the minimum repels along the top
  eigenvector: its basin of attraction vanishes from a start-point map, except for
  starts on its stable manifold (measure zero) or exactly at w*.

Flat directions: an eigenvalue lam_i <= FLAT_RTOL * max_i |lam_i| counts as flat and is
left out of the rate (the donut's direction along its circle of minima: the error there
does not decay, it is a displacement to another minimum of the circle). The measured
``rate`` column skips the same directions (``kernels.lanes.EIG_RTOL``, the same 1e-8).

Every function broadcasts ``eta`` and ``beta`` (NumPy rules) and returns float64 (or bool)
arrays of the broadcast shape, NumPy scalars for 0-d results; per-minimum functions add a
leading axis of length m (the number of listed minima). ``problem`` is a registered
landscape name ("rosenbrock", ...) or its module; ``params`` its ``problem_params``
(raw or normalised; None: the defaults).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from .quadratic import _check_optimizer, _scalar, rate_direction, stability_limit, stable

__all__ = [
    "FLAT_RTOL",
    "LocalMinimum",
    "curved_eigenvalues",
    "local_minima",
    "local_rate",
    "local_stability_limit",
    "local_stable",
    "minima_limits",
    "minima_rates",
]

FLAT_RTOL = 1e-8  # lam <= FLAT_RTOL * max |lam|: a flat direction (as kernels.lanes.EIG_RTOL)


def curved_eigenvalues(eigenvalues) -> np.ndarray:
    """The eigenvalues lam > FLAT_RTOL * max |lam| (the curved directions of a minimum),
    as a 1-D float64 array in the given order. Raises ValueError if none is left (a
    minimum needs at least one curved direction) or an eigenvalue is not finite."""
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        raise ValueError(f"eigenvalues must be finite and non-empty, got {lam.tolist()}")
    keep = lam[lam > FLAT_RTOL * np.max(np.abs(lam))]
    if keep.size == 0:
        raise ValueError(f"no curved direction among the eigenvalues {lam.tolist()}")
    return keep


def local_rate(optimizer, eta, beta, eigenvalues):
    """Local rate at a minimum with Hessian eigenvalues ``eigenvalues`` (a sequence).

        rho = max over curved lam of rate_direction(optimizer, eta, beta, lam)

    (gd: max |1 - eta*lam|). ``eta`` and ``beta`` broadcast (beta 0 or None for gd); the
    result has their broadcast shape. rho >= 1 means the minimum is not attracting.
    """
    lam = curved_eigenvalues(eigenvalues)
    _check_optimizer(optimizer, beta)
    out = None
    for value in lam:
        r = np.asarray(rate_direction(optimizer, eta, beta, value))
        out = r if out is None else np.maximum(out, r)
    return _scalar(out)


def local_stable(optimizer, eta, beta, eigenvalues):
    """Whether the minimum attracts: every curved direction has radius < 1 (bool array).

    The Jury test of ``quadratic.stable`` over [min curved lam, max lam]: exact for any
    real eta and beta (for beta in [0, 1): 0 < eta < local_stability_limit).
    """
    lam = curved_eigenvalues(eigenvalues)
    return stable(optimizer, eta, beta, lam.min(), lam.max())


def local_stability_limit(optimizer, beta, eigenvalues):
    """Largest stable step size at a minimum (a supremum) for beta in [0, 1).

        gd:          2 / L
        heavy_ball:  2*(1+beta) / L
        nesterov:    2*(1+beta) / ((1+2*beta) * L)

    with L = max(eigenvalues) (``quadratic.stability_limit``). ``beta`` is broadcast
    (0 or None for gd); NaN where beta is outside [0, 1), where the stable set of eta is
    not an interval from 0 (use ``local_stable`` there).
    """
    lam = curved_eigenvalues(eigenvalues)
    b = _check_optimizer(optimizer, beta)
    inside = (b >= 0.0) & (b < 1.0)
    limit = np.asarray(stability_limit(optimizer, np.where(inside, b, 0.0), lam.max()))
    return _scalar(np.where(inside, limit, np.nan))


@dataclass(frozen=True)
class LocalMinimum:
    """A listed minimum of a landscape with its local theory inputs.

    index, location (DIM floats), value, eigenvalues (all DIM, ascending) and kind
    ("point" or "circle") as listed by the problem; curved: the eigenvalues that are not
    flat; lambda_min, lambda_max: the smallest curved and the largest eigenvalue."""

    index: int
    location: tuple[float, ...]
    value: float
    eigenvalues: tuple[float, ...]
    kind: str
    curved: tuple[float, ...]
    lambda_min: float
    lambda_max: float

    def limit(self, optimizer, beta=None):
        """``local_stability_limit(optimizer, beta, self.eigenvalues)``."""
        return local_stability_limit(optimizer, beta, self.eigenvalues)

    def rate(self, optimizer, eta, beta=None):
        """``local_rate(optimizer, eta, beta, self.eigenvalues)``."""
        return local_rate(optimizer, eta, beta, self.eigenvalues)


def _module(problem) -> ModuleType:
    if isinstance(problem, ModuleType):
        return problem
    from ..problems import get_problem

    module = get_problem(problem)
    if not hasattr(module, "minima"):
        raise ValueError(f"problem {problem!r} is not a landscape (it lists no minima)")
    return module


def local_minima(problem, params=None) -> tuple[LocalMinimum, ...]:
    """The problem's listed minima (``problem.minima(params)``, in index order) with their
    curved eigenvalues. Empty for a problem without minima (the saddle)."""
    module = _module(problem)
    params = module.normalise_params(dict(params or {}), "problem_params")
    out = []
    for m in module.minima(params):
        lam = curved_eigenvalues(m.eigenvalues)
        out.append(
            LocalMinimum(
                index=int(m.index),
                location=tuple(float(v) for v in m.location),
                value=float(m.value),
                eigenvalues=tuple(float(v) for v in m.eigenvalues),
                kind=m.kind,
                curved=tuple(float(v) for v in lam),
                lambda_min=float(lam.min()),
                lambda_max=float(lam.max()),
            )
        )
    return tuple(out)


def minima_limits(problem, optimizer, beta=None, params=None) -> np.ndarray:
    """Local stability limit of eta at every listed minimum: float64 array of shape
    (m, *beta.shape), row k for minimum k (NaN where beta is outside [0, 1))."""
    b = np.asarray(0.0 if beta is None else beta, dtype=np.float64)
    rows = [m.limit(optimizer, beta) for m in local_minima(problem, params)]
    return np.array(rows, dtype=np.float64).reshape(len(rows), *b.shape)


def minima_rates(problem, optimizer, eta, beta=None, params=None) -> np.ndarray:
    """Local rate at every listed minimum: float64 array of shape (m, *broadcast shape of
    eta and beta), row k for minimum k."""
    shape = np.broadcast_shapes(np.shape(eta), np.shape(0.0 if beta is None else beta))
    rows = [m.rate(optimizer, eta, beta) for m in local_minima(problem, params)]
    return np.array(rows, dtype=np.float64).reshape(len(rows), *shape)
