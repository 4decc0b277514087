"""The adaptive optimizers on a quadratic with the preconditioner frozen.

Near the end of a run the second-moment sums change slowly, so each coordinate sees a
fixed per-coordinate scale d_i = 1 / (sqrt(s_hat_i) + eps) (Adagrad: 1 / (sqrt(G_i) +
eps)). With d frozen, along an eigen-direction of eigenvalue lam the error obeys a
linear recurrence in the *preconditioned sharpness* a = lam * d:

- Adam (bias corrections gone, t large): m' = beta1 m + (1 - beta1) g and w' = w - eta d m'
  give w' = (1 + beta1 - eta (1 - beta1) a) w - beta1 w_prev: heavy ball with step
  eta (1 - beta1) and momentum beta1 on the eigenvalue a. It is stable while
  a < 2 (1 + beta1) / ((1 - beta1) eta): 38 / eta at beta1 = 0.9.
- RMSProp with momentum mu: b' = mu b + d g, w' = w - eta b': heavy ball with step eta
  and momentum mu: a < 2 (1 + mu) / eta (2 / eta without momentum).
- Adagrad: w' = (1 - eta a) w: a < 2 / eta.

``precond_sharpness`` (the sweep's column) is max_i lam_i d_i at the final state, so a
run that settles at its stability edge has precond_sharpness at ``adaptive_edge``.

**Does a run settle there?** At the edge the frozen iteration has the eigenvalue -1: the
candidate end state is the flip orbit w_t = (-1)^t A along one coordinate. On it g^2 is
constant, so s = g^2 exactly (bias corrections gone, eps negligible), and Adam's m, an
average of an alternating g, is (1 - beta1) / (1 + beta1) g; the flip then needs
A = eta (1 - beta1) / (2 (1 + beta1)) and sits exactly at a = a* (RMSProp: b =
g / (|g| (1 + mu)), A = eta / (2 (1 + mu)), a = a*). Whether runs reach it is the
stability of that orbit in the full nonlinear map on (w, m, s), preconditioner not
frozen: ``flip_orbit_radius`` is the spectral radius of the Jacobian of two steps at the
orbit (the map is blind to the gradient's scale and to (w, eta) scaled together, so it
depends on the betas only; a diagonal quadratic's coordinates are independent, so this
scalar map is exact there). Without momentum the radius is beta2 (< 1): the orbit
attracts, and runs end at the edge to rounding. With momentum it exceeds 1 from a
critical value on (``flip_orbit_beta_limit``; Adam's beta1: 0.181 at beta2 = 0.9, 0.172
at 0.99 and 0.999; RMSProp's mu: 0.254 at alpha = 0.9, 0.238 at 0.99): above it the orbit
repels and no run settles on it; they oscillate around the edge. Below it the orbit is
an attractor but need not be the only one: in tests/test_adaptive.py runs below the
limit settle at the edge to rounding at beta2 = 0.9, while at beta2 = 0.99 one run just
below it (beta1 = 0.15, radius 0.9983) still oscillates after 30,000 steps.
"""

from __future__ import annotations

import numpy as np

__all__ = ["adaptive_edge", "flip_orbit_beta_limit", "flip_orbit_radius", "frozen_iteration"]


def adaptive_edge(optimizer: str, eta, beta=0.0):
    """The preconditioned sharpness a* = lam * d at which the frozen iteration's spectral
    radius reaches 1 (stable below it): Adam 2 (1 + beta) / ((1 - beta) eta) (beta is
    beta1), RMSProp 2 (1 + beta) / eta (beta is the momentum mu), Adagrad 2 / eta.
    Broadcasts over eta and beta."""
    eta = np.asarray(eta, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if optimizer == "adam":
        return 2.0 * (1.0 + beta) / ((1.0 - beta) * eta)
    if optimizer == "rmsprop":
        return 2.0 * (1.0 + beta) / eta
    if optimizer == "adagrad":
        return 2.0 / eta + 0.0 * beta
    raise ValueError(f"optimizer {optimizer!r}: expected adam, rmsprop or adagrad")


def frozen_iteration(optimizer: str, eta: float, beta: float, a: float) -> np.ndarray:
    """The linear map of one step on the state along one eigen-direction, with the
    preconditioner frozen, written from the update rules (not from the edge formula):
    Adam on (w, m) with lam d = a (g = lam w, the step eta d m'); RMSProp on (w, b);
    Adagrad on (w,). Its spectral radius is the frozen iteration's rate."""
    if optimizer == "adam":
        # m' = beta m + (1 - beta) lam w;  w' = w - eta d m'   (per unit d: a = lam d)
        return np.array([[1.0 - eta * (1.0 - beta) * a, -eta * beta], [(1.0 - beta) * a, beta]])
    if optimizer == "rmsprop":
        # b' = mu b + d lam w;  w' = w - eta b'
        return np.array([[1.0 - eta * a, -eta * beta], [a, beta]])
    if optimizer == "adagrad":
        return np.array([[1.0 - eta * a]])
    raise ValueError(f"optimizer {optimizer!r}: expected adam, rmsprop or adagrad")


def _flip_step_jacobian(
    optimizer: str, beta: float, beta2: float, w: float, m: float, s: float
) -> tuple[np.ndarray, tuple[float, float, float]]:
    """One step of the scalar map (lam = eta = 1, eps = 0, bias corrections gone) from
    (w, m, s): its Jacobian and the next state. Adam: m' = beta m + (1 - beta) w,
    s' = beta2 s + (1 - beta2) w^2, w' = w - m' / sqrt(s'). RMSProp (m is b):
    s' as Adam's, b' = beta b + w / sqrt(s'), w' = w - b'."""  # fmt: skip
    s1 = beta2 * s + (1.0 - beta2) * w * w
    r = np.sqrt(s1)
    ds_dw, ds_ds = 2.0 * (1.0 - beta2) * w, beta2
    if optimizer == "adam":
        m1 = beta * m + (1.0 - beta) * w
        dm = np.array([1.0 - beta, beta, 0.0])  # d m' / d (w, m, s)
        ds = np.array([ds_dw, 0.0, ds_ds])
        dw = np.array([1.0, 0.0, 0.0]) - dm / r + m1 / (2.0 * s1 * r) * ds
        return np.array([dw, dm, ds]), (w - m1 / r, m1, s1)
    if optimizer == "rmsprop":
        b1 = beta * m + w / r
        ds = np.array([ds_dw, 0.0, ds_ds])
        db = np.array([1.0 / r, beta, 0.0]) - w / (2.0 * s1 * r) * ds
        dw = np.array([1.0, 0.0, 0.0]) - db
        return np.array([dw, db, ds]), (w - b1, b1, s1)
    raise ValueError(f"optimizer {optimizer!r}: expected adam or rmsprop (Adagrad's G only "
                     "grows: it has no flip orbit)")  # fmt: skip


def flip_orbit_radius(optimizer: str, beta: float, beta2: float) -> float:
    """The spectral radius of two steps' Jacobian at the flip orbit of the scalar map
    (module docstring): below 1 the orbit at the edge attracts (runs settle at a = a*),
    above 1 it repels (they oscillate around it). beta: Adam's beta1 or RMSProp's mu;
    beta2: Adam's beta2 or RMSProp's alpha. Without momentum it is beta2."""
    if optimizer == "adam":
        A = (1.0 - beta) / (2.0 * (1.0 + beta))
        state = (A, -(1.0 - beta) / (1.0 + beta) * A, A * A)  # m after the previous step
    else:
        A = 1.0 / (2.0 * (1.0 + beta))
        state = (A, -1.0 / (1.0 + beta), A * A)
    J1, nxt = _flip_step_jacobian(optimizer, beta, beta2, *state)
    J2, back = _flip_step_jacobian(optimizer, beta, beta2, *nxt)
    if not np.allclose(back, state, rtol=1e-12, atol=0.0):  # the orbit, to rounding
        raise AssertionError(f"not a flip orbit: {state} -> {nxt} -> {back}")
    return float(np.max(np.abs(np.linalg.eigvals(J2 @ J1))))


def flip_orbit_beta_limit(optimizer: str, beta2: float) -> float:
    """The momentum (Adam's beta1, RMSProp's mu) at which ``flip_orbit_radius`` reaches 1
    (bisection to 1e-12; stable below): runs with less momentum settle at the edge."""
    lo, hi = 0.0, 0.99
    if flip_orbit_radius(optimizer, hi, beta2) < 1.0:
        return 1.0
    while hi - lo > 1e-12:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if flip_orbit_radius(optimizer, mid, beta2) < 1.0 else (lo, mid)
    return 0.5 * (lo + hi)
