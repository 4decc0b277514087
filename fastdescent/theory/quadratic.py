"""Closed-form convergence theory for first-order methods on quadratics.

The objective is ``f(w) = 0.5 * sum_i lam_i * w_i**2`` with every eigenvalue ``lam_i`` in
``[lambda_min, lambda_max]`` (``mu`` and ``L``; condition number ``kappa = L / mu``). The
minimiser is ``w* = 0``. Update rules (step size ``eta``, momentum ``beta``):

* ``gd``:          ``w <- w - eta * grad f(w)``
* ``heavy_ball``:  ``v <- beta * v - eta * grad f(w);  w <- w + v``   (``v0 = 0``; this is
  PyTorch ``SGD(lr=eta, momentum=beta)``)
* ``nesterov``:    ``v <- beta * v - eta * grad f(w + beta * v);  w <- w + v``

The methods act independently on each eigen-direction. With eigenvalue ``lam`` the error
``w_t`` obeys ``w_{t+1} = p * w_t - q * w_{t-1}``, i.e. the characteristic polynomial
``z**2 - p*z + q`` with

* ``gd``:          ``p = 1 - eta*lam``,              ``q = 0``
* ``heavy_ball``:  ``p = 1 + beta - eta*lam``,       ``q = beta``
* ``nesterov``:    ``p = (1 + beta)*(1 - eta*lam)``, ``q = beta*(1 - eta*lam)``

The asymptotic per-step contraction of ``|w_t|`` in that direction is the spectral radius
``max |z|`` over the roots. Every function broadcasts its array arguments against each other
(NumPy rules), computes in float64 and returns float64 (or bool) arrays of the broadcast
shape; 0-d results are returned as NumPy scalars.

Besides rates, stability and optima: plot-overlay region labels (``regions``; for heavy ball
also Pedregosa's robust / lazy / knife's-edge split, ``heavy_ball_regions`` and
``heavy_ball_rate_chebyshev``) and the stationary loss under additive gradient noise
(``stationary_loss``, ``stationary_variance``) are in ``fastdescent.theory.noise``, which
builds on this module; ``fastdescent.theory`` re-exports both.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "HB_REGIONS",
    "OPTIMIZERS",
    "REGIONS",
    "characteristic",
    "heavy_ball_rate_chebyshev",
    "heavy_ball_regions",
    "optimal",
    "rate",
    "rate_direction",
    "regions",
    "stability_limit",
    "stable",
]

OPTIMIZERS = ("gd", "heavy_ball", "nesterov")
#: names of the codes returned by ``heavy_ball_regions`` (code = index)
HB_REGIONS = ("robust", "lazy", "knife_edge", "divergent")
#: names of the codes returned by ``regions`` (code = index)
REGIONS = ("monotone", "oscillating", "complex", "divergent")


def _check_optimizer(optimizer, beta):
    """Validate the optimizer name; return ``beta`` as a float64 array (``None`` -> 0)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected one of {OPTIMIZERS}")
    beta = np.asarray(0.0 if beta is None else beta, dtype=np.float64)
    if optimizer == "gd" and np.any(beta != 0):
        raise ValueError("optimizer 'gd' has no momentum: beta must be 0 (or None)")
    return beta


def _check_spectrum(lambda_min, lambda_max):
    """Validate ``0 < lambda_min <= lambda_max < inf`` elementwise; return float64 arrays."""
    lmin = np.asarray(lambda_min, dtype=np.float64)
    lmax = np.asarray(lambda_max, dtype=np.float64)
    if not (np.all(np.isfinite(lmin)) and np.all(np.isfinite(lmax))):
        raise ValueError("lambda_min and lambda_max must be finite")
    if np.any(lmin <= 0):
        raise ValueError("lambda_min must be > 0 (the quadratic must be strongly convex)")
    if np.any(lmin > lmax):
        raise ValueError("lambda_min must be <= lambda_max")
    return lmin, lmax


def _scalar(x):
    """Turn a 0-d array into a NumPy scalar; leave other arrays unchanged."""
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x


def characteristic(optimizer, eta, beta, lam):
    """Coefficients ``(p, q)`` of the characteristic polynomial ``z**2 - p*z + q``.

    gd:          p = 1 - eta*lam,             q = 0
    heavy_ball:  p = 1 + beta - eta*lam,      q = beta
    nesterov:    p = (1+beta)*(1 - eta*lam),  q = beta*(1 - eta*lam)

    ``eta``, ``beta`` and ``lam`` broadcast together; ``p`` and ``q`` both have the broadcast
    shape. ``beta`` must be 0 (or ``None``) for ``gd``.
    """
    beta = _check_optimizer(optimizer, beta)
    eta = np.asarray(eta, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    eta, beta, lam = np.broadcast_arrays(eta, beta, lam)
    h = eta * lam
    if optimizer == "gd":
        p, q = 1.0 - h, np.zeros_like(h)
    elif optimizer == "heavy_ball":
        p, q = 1.0 + beta - h, beta.copy()
    else:
        u = 1.0 - h
        p, q = (1.0 + beta) * u, beta * u
    return _scalar(p), _scalar(q)


def _radius(p, q):
    """Spectral radius of z**2 - p z + q (float64 arrays, broadcast)."""
    disc = p * p - 4.0 * q
    real = 0.5 * (np.abs(p) + np.sqrt(np.maximum(disc, 0.0)))
    cplx = np.sqrt(np.maximum(q, 0.0))  # disc < 0 implies q > p**2 / 4 >= 0
    return np.where(disc >= 0, real, cplx)


def rate_direction(optimizer, eta, beta, lam):
    """Spectral radius (asymptotic per-step contraction) in one eigen-direction.

    rho(lam) = max |z| over the roots of z**2 - p*z + q, with (p, q) = characteristic(...):
        disc = p*p - 4*q
        rho  = (|p| + sqrt(disc)) / 2   if disc >= 0   (real roots; no cancellation)
        rho  = sqrt(q)                  if disc <  0   (complex pair, |z|**2 = q)
    For gd this is rho = |1 - eta*lam|.

    ``eta``, ``beta`` and ``lam`` broadcast together (any real values, any beta); the result
    has the broadcast shape. Near a double root (disc ~ 0) rho is not Lipschitz in the
    inputs: a relative perturbation eps of p or q moves rho by up to ~sqrt(eps).
    """
    p, q = characteristic(optimizer, eta, beta, lam)
    return _scalar(_radius(np.asarray(p), np.asarray(q)))


def rate(optimizer, eta, beta, lambda_min, lambda_max):
    """Asymptotic per-step contraction of ||w - w*|| over a spectrum in [mu, L].

    rho = max(rate_direction(lambda_min), rate_direction(lambda_max))

    Why the endpoints suffice: as a function of lam the per-direction radius is
    quasi-convex (non-increasing, then non-decreasing), and a quasi-convex function attains
    its maximum over an interval at an endpoint. Proof sketch (stated for beta in [0, 1),
    where it is used, but it holds for every real eta and beta):
      * gd: rho = |1 - eta*lam| is convex in lam.
      * heavy_ball: q = beta is fixed and rho is a non-decreasing function of |p| (sqrt(beta)
        while p**2 <= 4*beta, then (|p| + sqrt(p**2 - 4*beta))/2), and |p| = |1+beta-eta*lam|
        is convex in lam: rho decreases, stays flat at sqrt(beta), then increases.
      * nesterov: with u = 1 - eta*lam (affine in lam), rho = 0 at u = 0 and rho increases
        with |u| on each side of 0: for u > 0 it is sqrt(beta*u) (complex roots) and then
        ((1+beta)*u + sqrt(disc))/2 with disc increasing; for u < 0 the roots are real
        and both |p| and disc = (1+beta)**2*u**2 - 4*beta*u increase with |u|.

    All arguments broadcast together; the result has the broadcast shape. Requires
    0 < lambda_min <= lambda_max.
    """
    lmin, lmax = _check_spectrum(lambda_min, lambda_max)
    r_min = rate_direction(optimizer, eta, beta, lmin)
    r_max = rate_direction(optimizer, eta, beta, lmax)
    return _scalar(np.maximum(r_min, r_max))


def stable(optimizer, eta, beta, lambda_min, lambda_max):
    """Whether every direction with lam in [mu, L] contracts (radius < 1): a bool array.

    Jury/Schur test for z**2 - p*z + q (both roots strictly inside the unit circle):
        |q| < 1   and   |p| < 1 + q
    checked at lam = lambda_min and lam = lambda_max. The endpoints suffice: for fixed eta
    and beta, p and q are affine in lam, so each of the four linear inequalities
    q < 1, -q < 1, p < 1 + q, -p < 1 + q holds on a half-line (or everywhere or nowhere) in
    lam, and the stable lams form their intersection, an interval. This is exact for any
    real eta and beta. For beta in [0, 1) it reduces to
        gd:          0 < eta*lam < 2
        heavy_ball:  0 < eta*lam < 2*(1+beta)
        nesterov:    0 < eta*lam < 2*(1+beta)/(1+2*beta)
    for lam = lambda_min and lam = lambda_max. Nesterov derivation, u = 1 - eta*lam: for
    u >= 0, (1+beta)*u < 1 + beta*u gives u < 1; for u < 0, -(1+beta)*u < 1 + beta*u gives
    u > -1/(1+2*beta), i.e. eta*lam < 1 + 1/(1+2*beta) = 2*(1+beta)/(1+2*beta); |q| < 1
    then holds automatically.

    All arguments broadcast together; the result has the broadcast shape.
    """
    lmin, lmax = _check_spectrum(lambda_min, lambda_max)
    ok = np.asarray(True)
    for lam in (lmin, lmax):
        p, q = characteristic(optimizer, eta, beta, lam)
        ok = ok & (np.abs(q) < 1.0) & (np.abs(p) < 1.0 + q)
    return _scalar(ok)


def stability_limit(optimizer, beta, lambda_max):
    """Largest stable step size (supremum; eta itself is unstable) for beta in [0, 1).

    gd:          eta_max = 2 / L
    heavy_ball:  eta_max = 2*(1+beta) / L
    nesterov:    eta_max = 2*(1+beta) / ((1+2*beta) * L)
    with L = lambda_max; see ``stable`` for the derivation. Stability holds for
    0 < eta < eta_max whatever lambda_min in (0, L] is. ``beta`` and ``lambda_max``
    broadcast together. Raises ValueError for beta outside [0, 1) (use ``stable`` there).
    """
    beta = _check_optimizer(optimizer, beta)
    lmax = np.asarray(lambda_max, dtype=np.float64)
    if not np.all(np.isfinite(lmax)) or np.any(lmax <= 0):
        raise ValueError("lambda_max must be finite and > 0")
    if np.any(~((beta >= 0) & (beta < 1))):
        raise ValueError("stability_limit requires beta in [0, 1); use stable() otherwise")
    if optimizer == "gd":
        out = 2.0 / lmax + 0.0 * beta
    elif optimizer == "heavy_ball":
        out = 2.0 * (1.0 + beta) / lmax
    else:
        out = 2.0 * (1.0 + beta) / ((1.0 + 2.0 * beta) * lmax)
    return _scalar(np.asarray(out, dtype=np.float64))


def optimal(optimizer, lambda_min, lambda_max):
    """Optimal constant hyperparameters ``(eta, beta, rho)`` minimising ``rate`` on [mu, L].

    kappa = L / mu.
    gd:          eta* = 2/(mu + L),  beta* = 0,  rho* = (kappa - 1)/(kappa + 1)
    heavy_ball:  (Polyak) eta* = 4/(sqrt(L) + sqrt(mu))**2,
                 beta* = ((sqrt(kappa) - 1)/(sqrt(kappa) + 1))**2,
                 rho* = (sqrt(kappa) - 1)/(sqrt(kappa) + 1)
                 (double roots at both endpoints, p = +-2*sqrt(beta)).
    nesterov:    (Lessard, Recht & Packard 2016, quadratic case) eta* = 4/(3*L + mu),
                 beta* = (sqrt(3*kappa + 1) - 2)/(sqrt(3*kappa + 1) + 2),
                 rho* = 1 - 2/sqrt(3*kappa + 1)
                 (double root at lam = mu; real roots with u = 1 - eta*L < 0 at lam = L;
                 both endpoints have radius rho*).
    Because of the double roots, ``rate`` evaluated at the float64-rounded heavy_ball and
    nesterov optimum can exceed rho* by ~sqrt(machine eps) in relative terms.

    ``lambda_min`` and ``lambda_max`` broadcast together; each output has the broadcast
    shape. Requires 0 < lambda_min <= lambda_max.
    """
    _check_optimizer(optimizer, None)
    mu, L = _check_spectrum(lambda_min, lambda_max)
    mu, L = np.broadcast_arrays(mu, L)
    kappa = L / mu
    if optimizer == "gd":
        eta = 2.0 / (mu + L)
        beta = np.zeros_like(kappa)
        rho = (kappa - 1.0) / (kappa + 1.0)
    elif optimizer == "heavy_ball":
        sk = np.sqrt(kappa)
        eta = 4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2
        rho = (sk - 1.0) / (sk + 1.0)
        beta = rho * rho
    else:
        s = np.sqrt(3.0 * kappa + 1.0)
        eta = 4.0 / (3.0 * L + mu)
        beta = (s - 2.0) / (s + 2.0)
        rho = 1.0 - 2.0 / s
    return _scalar(eta), _scalar(beta), _scalar(rho)


# --------------------------------------------------------------------------- region labels


def _hb_edge_rate(h, beta, lo, hi):
    """Heavy-ball radius at eta*lam = h given lo = (1 - sqrt(beta))**2, hi = (1 + sqrt(beta))**2.

    Uses the factorisation p**2 - 4*beta = (lo - h) * (hi - h) (p = 1 + beta - h), so the
    complex/real branch is decided by the same comparisons of h with lo and hi that define
    the regions.
    """
    disc = (lo - h) * (hi - h)
    real = 0.5 * (np.abs(1.0 + beta - h) + np.sqrt(np.maximum(disc, 0.0)))
    return np.where(disc > 0, real, np.sqrt(beta))


def _hb_setup(eta, beta, lambda_min, lambda_max):
    """Validate and broadcast heavy-ball region inputs; return the shared pieces."""
    lmin, lmax = _check_spectrum(lambda_min, lambda_max)
    eta = np.asarray(eta, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if not (np.all(np.isfinite(eta)) and np.all(np.isfinite(beta))):
        raise ValueError("eta and beta must be finite")
    if np.any(beta < 0):
        raise ValueError(
            "heavy-ball regions need beta >= 0 (their boundaries are (1 +- sqrt(beta))**2); "
            "use rate() or regions() for negative beta"
        )
    eta, beta, lmin, lmax = np.broadcast_arrays(eta, beta, lmin, lmax)
    sb = np.sqrt(beta)
    lo, hi = (1.0 - sb) ** 2, (1.0 + sb) ** 2
    h_min, h_max = eta * lmin, eta * lmax
    r_min = _hb_edge_rate(h_min, beta, lo, hi)
    r_max = _hb_edge_rate(h_max, beta, lo, hi)
    robust = (h_min >= lo) & (h_min <= hi) & (h_max >= lo) & (h_max <= hi)
    rho = np.where(robust, sb, np.maximum(r_min, r_max))
    return eta, beta, lmin, lmax, lo, hi, h_min, h_max, r_min, r_max, robust, rho


def heavy_ball_rate_chebyshev(eta, beta, lambda_min, lambda_max):
    """Heavy-ball rate over [mu, L] in Pedregosa's form ("A Hitchhiker's Guide to Momentum").

    With sigma(lam) = (1 + beta - eta*lam) / (2*sqrt(beta)) the per-direction radius is
        r(lam) = sqrt(beta)                                   if |sigma| <= 1
        r(lam) = sqrt(beta) * (|sigma| + sqrt(sigma**2 - 1))  if |sigma| > 1
    (|sigma| <= 1 <=> (1 - sqrt(beta))**2 <= eta*lam <= (1 + sqrt(beta))**2: complex roots),
    and for eta > 0 the rate over the spectrum is, by region (see ``heavy_ball_regions``):
        robust      (both eta*mu and eta*L in [(1-sqrt(beta))**2, (1+sqrt(beta))**2]):
                    rho = sqrt(beta)
        lazy        (eta*mu < (1-sqrt(beta))**2, eta*L <= (1+sqrt(beta))**2):  rho = r(mu)
        knife_edge  (eta*L > (1+sqrt(beta))**2, eta*mu >= (1-sqrt(beta))**2):  rho = r(L)
        both ends outside the complex interval:             rho = max(r(mu), r(L))
    It is computed as rho = sqrt(beta) on the robust region and max(r(mu), r(L)) elsewhere,
    which equals the table (r decreases in lam below the complex interval, is sqrt(beta) on
    it and increases above it) and stays correct for eta <= 0 (where rho >= 1).
    r(lam) is evaluated as (|p| + sqrt((lo - h)*(hi - h))) / 2 with p = 1 + beta - h,
    h = eta*lam, lo, hi = (1 -+ sqrt(beta))**2: algebraically the formula above, and finite
    at beta = 0, where it is gd's rate max(|1 - eta*mu|, |1 - eta*L|).
    It equals ``rate("heavy_ball", ...)`` up to rounding (~sqrt(eps) at a double root).

    Arguments broadcast together; the float64 result has the broadcast shape. Requires
    finite eta and beta, beta >= 0 (beta >= 1 is allowed: rho >= 1) and
    0 < lambda_min <= lambda_max.
    """
    return _scalar(_hb_setup(eta, beta, lambda_min, lambda_max)[-1])


def heavy_ball_regions(eta, beta, lambda_min, lambda_max):
    """Pedregosa's heavy-ball regions as int8 codes indexing ``HB_REGIONS``.

    lo = (1 - sqrt(beta))**2, hi = (1 + sqrt(beta))**2 (the complex-root interval of eta*lam).
        3 divergent   not stable("heavy_ball", ...), i.e. rate >= 1 (decided by the exact
                      Jury test of ``stable``, so this region is exactly where stable() is
                      False); takes precedence over the rest
        0 robust      lo <= eta*mu and eta*L <= hi: every direction has complex (or double)
                      roots, rate sqrt(beta)
        1 lazy        eta*mu < lo and eta*L <= hi: the rate r(mu) > sqrt(beta) is set by mu
        2 knife_edge  eta*L > hi and eta*mu >= lo: the rate r(L) is set by L
        both ends outside (eta*mu < lo and eta*L > hi): lazy if r(mu) > r(L), knife_edge if
                      r(L) >= r(mu). Ties (equal in float64, so rounding decides on that
                      curve) go to knife_edge, matching ``regions``, where a tie between a
                      monotone and an oscillating direction is labelled oscillating.
    r(lam) as in ``heavy_ball_rate_chebyshev``. For eta <= 0 every point is divergent. At
    beta = 0 (gd) the complex interval shrinks to eta*lam = 1.

    Arguments broadcast together (same requirements as ``heavy_ball_rate_chebyshev``); the
    int8 result has the broadcast shape.
    """
    eta, beta, lmin, lmax, lo, hi, h_min, h_max, r_min, r_max, robust, _ = _hb_setup(
        eta, beta, lambda_min, lambda_max
    )
    low, high = h_min < lo, h_max > hi
    lazy = (low & ~high) | (low & high & (r_min > r_max))
    code = np.where(robust, 0, np.where(lazy, 1, 2))
    code = np.where(stable("heavy_ball", eta, beta, lmin, lmax), code, 3)
    return _scalar(code.astype(np.int8))


def regions(optimizer, eta, beta, lambda_min, lambda_max):
    """Region label for plot overlays, as int8 codes indexing ``REGIONS``.

    The label describes how the slowest error mode behaves: take the endpoint direction(s)
    lam in {mu, L} that attain the max radius (``rate``; the max over [mu, L] is always at
    an endpoint) and their dominant root(s), the roots of z**2 - p*z + q of largest modulus.
        3 divergent    radius >= 1 (decided by the exact Jury test of ``stable``, so this
                       region is exactly where stable() is False); takes precedence
        2 complex      the dominant roots are a complex pair (p*p - 4*q < 0): the error
                       spirals, |w_t| oscillates with a period of 2*pi/arg(z) steps
        1 oscillating  a dominant root is real and negative (p < 0; or p == 0 and q < 0,
                       roots +-sqrt(-q)): the error flips sign every step
        0 monotone     the dominant root is real and >= 0 (p > 0, or p == q == 0): the
                       error keeps its sign
    Ties between the two endpoints (equal radii in float64) and between roots of equal
    modulus take the larger code (complex > oscillating > monotone), i.e. the label is
    monotone only if every slowest mode is. Double roots are real. Boundaries between
    labels are decided in float64 and can go either way within rounding.
    gd: monotone for 0 < eta < 2/(mu + L), oscillating for 2/(mu + L) < eta < 2/L (at
    eta = 2/(mu + L) the endpoint tie makes it oscillating, unless mu == L), divergent
    otherwise; never complex.
    heavy_ball with beta in [0, 1): complex on the robust region, monotone on the lazy one
    and oscillating on the knife's edge (see ``heavy_ball_regions``).

    Arguments broadcast together (any real eta and beta; beta 0 or None for gd); the int8
    result has the broadcast shape. Requires 0 < lambda_min <= lambda_max.
    """
    lmin, lmax = _check_spectrum(lambda_min, lambda_max)
    ends = []
    for lam in (lmin, lmax):
        p, q = (np.asarray(x) for x in characteristic(optimizer, eta, beta, lam))
        disc = p * p - 4.0 * q
        osc = (p < 0) | ((p == 0) & (q < 0))
        code = np.where(disc < 0, 2, np.where(osc, 1, 0))
        ends.append((_radius(p, q), code))
    (r_min, c_min), (r_max, c_max) = ends
    code = np.where(r_min > r_max, c_min, np.where(r_max > r_min, c_max, np.maximum(c_min, c_max)))
    code = np.where(stable(optimizer, eta, beta, lmin, lmax), code, 3)
    return _scalar(np.asarray(code).astype(np.int8))
