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
"""

from __future__ import annotations

import numpy as np

__all__ = ["adaptive_edge", "frozen_iteration"]


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
