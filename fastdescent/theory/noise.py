"""Stationary loss of gd / heavy_ball / nesterov on a quadratic with additive gradient noise.

Re-exported by ``fastdescent.theory``; see ``fastdescent.theory.quadratic`` for the objective
and update rules.
Noise model: every step uses the gradient g = grad f(w') + sigma * xi_t instead of
grad f(w'), where w' is the point the method evaluates the gradient at (w for gd and
heavy_ball, the look-ahead w + beta*v for nesterov) and xi_t ~ N(0, I) is independent across
steps and coordinates. In the eigen-direction with eigenvalue lam the error then obeys the
AR(2) recursion (v_t = w_t - w_{t-1}; p, q as in ``theory.characteristic``)

    w_{t+1} = p * w_t - q * w_{t-1} - eta * sigma * xi_t,

for nesterov too: v_{t+1} = beta*(1 - eta*lam)*v_t - eta*lam*w_t - eta*sigma*xi_t, and
w_{t+1} = w_t + v_{t+1} gives p = (1 + beta)*(1 - eta*lam), q = beta*(1 - eta*lam).

Stationary variance of a stable AR(2) (both roots inside the unit circle) with innovation
variance s2 = eta**2 * sigma**2, from the discrete Lyapunov equation S = M S M^T + c c^T of
the state (w_t, w_{t-1}), M = [[p, -q], [1, 0]], c = (-eta*sigma, 0). Writing
S = [[g0, g1], [g1, g0]] (stationarity), its entries read
    (1,2):  g1 = p*g0 - q*g1                   =>  g1 = p*g0 / (1 + q)
    (1,1):  g0 = (p**2 + q**2)*g0 - 2*p*q*g1 + s2
            times (1 + q), with g1 substituted:
            g0 * ((1 - q**2)*(1 + q) - p**2*(1 - q)) = s2 * (1 + q), i.e.
    Var(w) = g0 = s2 * (1 + q) / ((1 - q) * ((1 + q)**2 - p**2)).
With h = eta*lam the last factor is (1 + q)**2 - p**2 = h * D:
    gd:          q = 0,              D = 2 - h
    heavy_ball:  q = beta,           D = 2*(1 + beta) - h
    nesterov:    q = beta*(1 - h),   D = 2*(1 + beta) - (1 + 2*beta)*h
so Var(w) = eta * sigma**2 * (1 + q) / ((1 - q) * lam * D) and the direction adds
0.5 * lam * Var(w) = eta * sigma**2 * (1 + q) / (2 * (1 - q) * D) to the loss:
    gd:          eta*sigma**2 / (2*(2 - h))
    heavy_ball:  eta*sigma**2 * (1 + beta) / (2*(1 - beta)*(2*(1 + beta) - h))
                 [Var(w) = eta**2*sigma**2*(1 + beta) / ((1 - beta)*h*(2*(1 + beta) - h))]
    nesterov:    eta*sigma**2 * (1 + beta*(1 - h)) /
                 (2*(1 - beta*(1 - h))*(2*(1 + beta) - (1 + 2*beta)*h))
Each reduces to gd's at beta = 0. The factored D avoids the cancellation in
(1 + q)**2 - p**2 for small h.
"""

from __future__ import annotations

import numpy as np

from .quadratic import _check_optimizer, _scalar, characteristic

__all__ = ["escape_steps", "stationary_loss", "stationary_variance"]

_EULER_GAMMA = 0.5772156649015329


def _direction(optimizer, eta, beta, lam, sigma):
    """Per-direction (Var(w), loss contribution), float64 arrays of the broadcast shape."""
    beta = _check_optimizer(optimizer, beta)
    eta = np.asarray(eta, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if not (np.all(np.isfinite(eta)) and np.all(np.isfinite(beta))):
        raise ValueError("eta and beta must be finite")
    if not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError("every eigenvalue lam must be finite and > 0")
    if not np.all(np.isfinite(sigma)) or np.any(sigma < 0):
        raise ValueError("sigma (the gradient-noise standard deviation) must be finite and >= 0")
    eta, beta, lam, sigma = np.broadcast_arrays(eta, beta, lam, sigma)
    p, q = (np.asarray(x) for x in characteristic(optimizer, eta, beta, lam))
    ok = (np.abs(q) < 1.0) & (np.abs(p) < 1.0 + q)  # Jury test, as in theory.stable
    h = eta * lam
    if optimizer == "gd":
        d = 2.0 - h
    elif optimizer == "heavy_ball":
        d = 2.0 * (1.0 + beta) - h
    else:
        d = 2.0 * (1.0 + beta) - (1.0 + 2.0 * beta) * h
    # Where ok, 1 - q > 0 and h * d = (1 + q)**2 - p**2 > 0; rounding at the boundary can still
    # flip a sign, so non-positive values are treated as unstable too.
    factor = np.where(ok, (1.0 + q) / np.where(ok, (1.0 - q) * d, 1.0), 1.0)
    ok &= factor > 0
    s2 = sigma * sigma
    loss = np.where(ok, 0.5 * eta * s2 * factor, np.inf)
    var = np.where(ok, eta * s2 * factor / lam, np.inf)
    return _scalar(var), _scalar(loss)


def stationary_variance(optimizer, eta, beta, lam, sigma):
    """Stationary variance lim_t Var(w_t) of one eigen-direction under gradient noise.

    Var(w) = eta * sigma**2 * (1 + q) / ((1 - q) * lam * D) with q and D as in the module
    docstring; e.g. gd: eta**2*sigma**2 / (1 - (1 - eta*lam)**2) = eta*sigma**2 /
    (lam*(2 - eta*lam)); heavy_ball: eta**2*sigma**2*(1 + beta) /
    ((1 - beta)*eta*lam*(2*(1 + beta) - eta*lam)).
    inf where the direction is unstable (spectral radius >= 1, same test as
    ``theory.stable``), whatever sigma. With sigma = 0 a stable direction gives 0.

    ``eta``, ``beta``, ``lam`` and ``sigma`` broadcast together elementwise (no axis is
    summed); the float64 result has the broadcast shape. Requires lam > 0, sigma >= 0, finite
    eta and beta (any real beta; 0 or None for gd).
    """
    return _direction(optimizer, eta, beta, lam, sigma)[0]


def stationary_loss(optimizer, eta, beta, lam, sigma):
    """Stationary expected excess loss lim_t E[f(w_t) - f*] under additive gradient noise.

        loss = sum_i 0.5 * lam_i * Var_inf(w_i)
             = sum_i eta * sigma**2 * (1 + q_i) / (2 * (1 - q_i) * D_i)
    (per-direction closed forms in the module docstring), inf if any direction is unstable
    (the limit does not exist), 0 if sigma = 0 and every direction is stable.

    Shapes: ``lam`` has shape (..., n), the n eigenvalues on its LAST axis (a 1-D array for
    one spectrum); ``eta``, ``beta`` and ``sigma`` broadcast against each other and against
    lam.shape[:-1] (they are given a trailing axis of length 1). The result has shape
    broadcast(eta, beta, sigma, lam[..., 0]); e.g. eta of shape (k, 1), beta of shape (m,)
    and lam of shape (n,) give (k, m). Requires lam > 0, sigma >= 0, finite eta and beta.
    """
    lam = np.asarray(lam, dtype=np.float64)
    if lam.ndim == 0:
        raise ValueError(
            "lam must hold the eigenvalues on its last axis (shape (..., n)); "
            "wrap a single eigenvalue as [lam], or use stationary_variance"
        )
    if lam.shape[-1] == 0:
        raise ValueError("lam must contain at least one eigenvalue")
    beta = 0.0 if beta is None else beta
    eta, beta, sigma = (np.asarray(x, dtype=np.float64)[..., None] for x in (eta, beta, sigma))
    loss = _direction(optimizer, eta, beta, lam, sigma)[1]
    out = np.asarray(loss).sum(axis=-1)
    return out[()] if out.ndim == 0 else out


def escape_steps(optimizer, eta, beta, lam, sigma, radius):
    """Mean number of steps for additive gradient noise to push a run from a saddle's
    stable manifold out of a ball of ``radius``, along a direction of curvature lam < 0.

    Started at y_0 = 0 (and v_0 = 0) on the unstable direction, the iterate obeys the
    AR(2) recursion of the module docstring, y_{t+1} = p y_t - q y_{t-1} - eta sigma xi_t,
    whose larger root r_1 > 1 when lam < 0 (roots r_1 > |r_2| of z^2 - p z + q, real).
    Its impulse response is h_k = (r_1^(k+1) - r_2^(k+1)) / (r_1 - r_2), so for large t

        y_t ~ r_1^t C,   C ~ N(0, s^2),   s^2 = eta^2 sigma^2 / ((r_1 - r_2)^2 (1 - r_1^-2))

    (gd: r_1 = 1 - eta lam, r_2 = 0, s^2 = eta^2 sigma^2 / (r_1^2 - 1)). The run leaves
    the ball at the first t with r_1^t |C| > radius, so with E log|Z| = -(gamma + ln 2)/2
    for a standard normal Z and half a step for the integer part,

        E[t_escape] = (ln(radius / s) + (gamma + ln 2) / 2) / ln r_1 + 1/2.

    Asymptotic for radius >> s (the escape takes many steps); the stable directions are
    ignored (they stay O(eta sigma) from the saddle). Broadcasts eta, beta, lam, sigma,
    radius; float64; requires lam < 0, sigma > 0, radius > 0.
    """
    beta = _check_optimizer(optimizer, beta)
    eta, beta, lam, sigma, radius = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (eta, beta, lam, sigma, radius))
    )
    if np.any(lam >= 0) or np.any(sigma <= 0) or np.any(radius <= 0) or np.any(eta <= 0):
        raise ValueError("escape_steps needs lam < 0 and eta, sigma, radius > 0")
    p, q = (np.asarray(x, dtype=np.float64) for x in characteristic(optimizer, eta, beta, lam))
    disc = np.sqrt(p * p - 4.0 * q)
    r1 = (p + disc) / 2.0
    r2 = (p - disc) / 2.0
    s2 = (eta * sigma) ** 2 / ((r1 - r2) ** 2 * (1.0 - r1**-2.0))
    steps = (np.log(radius / np.sqrt(s2)) + (_EULER_GAMMA + np.log(2.0)) / 2.0) / np.log(r1)
    return _scalar(steps + 0.5)
