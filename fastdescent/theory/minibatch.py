"""Exact theory of mini-batch SGD (gd / heavy_ball / nesterov) on least squares.

Re-exported by ``fastdescent.theory``. Pure NumPy, float64, no state.

Setting (the ``linreg`` problem, DESIGN 1.4). Data X (n x d, full column rank), y (n,);
loss f(w) = (1/n) ||y - X w||^2 (no 1/2); full Hessian H = (2/n) X^T X; w_hat the
least-squares solution, r = y - X w_hat its residual (X^T r = 0); e = w - w_hat and

    excess loss = f(w) - f(w_hat) = e^T (X^T X / n) e = 1/2 e^T H e.

Mini-batch gradient on a batch S of B indices (repeats counted for "replacement"):

    g_S(w) = -(2/B) X_S^T (y_S - X_S w) = A_S e - zeta_S,
    A_S = (2/B) sum_{i in S} x_i x_i^T,   zeta_S = (2/B) sum_{i in S} x_i r_i,

optionally plus additive noise sigma * xi, xi ~ N(0, I_d) independent of everything.
Sampling: "subset" (each step an independent uniform set of B distinct samples),
"replacement" (each step B independent uniform indices), "epoch" (random reshuffling:
a fresh uniform permutation per epoch, consecutive batches of B, the incomplete last batch
dropped, floor(n/B) steps per epoch).

Batch moments. Write N_i for the number of times sample i is in S. Then
E[N_i] = B/n and E[N_i N_j] = alpha + gamma * [i == j] with

    subset:       alpha = B(B-1) / (n(n-1)),  gamma = B/n - alpha = (B/n)(n-B)/(n-1)
    replacement:  alpha = B(B-1) / n^2,       gamma = B/n

(subset: P(i in S) = B/n, P(i, j in S) = B(B-1)/(n(n-1)) for i != j; replacement: the
counts are multinomial(B, 1/n)). Every expectation below follows, e.g. E[A_S] = H,
E[zeta_S] = (2/n) X^T r = 0 and, for any d x d matrix Q,

    E[A_S Q A_S] = (4/B^2) (alpha G Q G + gamma sum_i (x_i^T Q x_i) x_i x_i^T),  G = X^T X,
    E[zeta_S zeta_S^T] = (4/B^2) (alpha u u^T + gamma X^T diag(r^2) X),       u = X^T r = 0.

State-space form (the state s = (e, v), v the velocity, v_0 = 0; gd uses s = e alone):

    s_{t+1} = M_S s_t + c_S - eta * sigma * (a (x) xi_t),
    M_S = K (x) I_d - eta * (a b^T) (x) A_S,     c_S = eta * a (x) zeta_S,

    gd:          K = [[1]],                a = (1,),   b = (1,)
    heavy_ball:  K = [[1, beta], [0, beta]], a = (1, 1), b = (1, 0)
    nesterov:    K = [[1, beta], [0, beta]], a = (1, 1), b = (1, beta)

(heavy_ball: v' = beta v - eta g(w), e' = e + v'; nesterov: the gradient at e + beta v).
For "subset" and "replacement" the (M_S, c_S) are i.i.d. across steps, so the mean m and
second moment P = E[s s^T] obey

    m' = E[M] m + E[c],
    P' = E[M_S P M_S^T] + E[M_S m c_S^T] + E[c_S m^T M_S^T] + E[c_S c_S^T]
         + eta^2 sigma^2 (a a^T) (x) I_d,

the expectations over ONE batch S (M_S and c_S share it). Since E[c] = 0, the stationary
mean is m = 0 for all three methods, so P is the stationary covariance and the stationary
excess loss is 1/2 tr(H P_ee). In row-major vec form vec(M P M^T) = (M (x) M) vec(P), so
the stationary P solves (I - E[M_S (x) M_S]) vec(P) = vec(R): a dense linear system,
solved on the symmetric matrices (kd (kd + 1)/2 unknowns, k = 1 for gd, 2 otherwise; fine
for d <= 16). The map P -> E[M_S P M_S^T] is positive; its
spectral radius is the mean-square stability criterion (``ms_radius``): below 1 the second
moments converge, at or above 1 there is no stationary second moment (it grows without
bound from generic starts or with any noise), and the stationary functions return inf.
Mean-square stability implies stability of the mean (E[M] has radius <= sqrt(ms radius));
the converse fails: mini-batch noise lowers the largest stable step size below the
full-batch 2/lambda_max (for gd).

Small-step law (gd): with C = Cov(g_S(w_hat)) + sigma^2 I, the stationary covariance obeys
H Sigma + Sigma H = eta C + O(eta^2), so excess = 1/2 tr(H Sigma) = (eta/4) tr(C) + O(eta^2);
heavy ball and Nesterov divide by (1 - beta). Cov(g_S(w_hat)) = S_pop * fpc / B with
S_pop = (4/n) X^T diag(r^2) X and fpc = (n-B)/(n-1) for "subset", 1 for "replacement":
the 1/B law with its finite-population factor (``small_step_excess_loss``).

Random reshuffling ("epoch"): each step's batch is marginally a uniform B-subset (its
one-step gradient covariance is the "subset" one), but batches of one epoch are disjoint,
so the steps are NOT independent and the i.i.d. theory above does not apply. When B
divides n the epoch's zeta_S sum to -(2/B) X^T r = 0: the noise cancels over each epoch,
and the stationary excess loss is O(eta^2) instead of the O(eta) of the small-step law
(random reshuffling beats SGD: Guerbuezbalaban, Ozdaglar & Parrilo 2019; Mishchenko,
Khaled & Richtarik 2020; Safran & Shamir 2020). With a remainder dropped the epoch sum is
(2/B) sum_{dropped} x_i r_i, random, and an O(eta) term returns, smaller than "subset"'s by
the factor rho (n - rho) / (B m (n - B)) (rho = n - m B dropped, m = floor(n/B)). The
exact theory used here: the state at epoch boundaries is a Markov chain driven by i.i.d.
random affine maps (the product of the epoch's step maps over a uniform random ordered
partition); ``stationary_excess_loss_epoch`` solves its stationary first and second moments
by enumerating every ordered partition (n <= 8 or so), then propagates them through the
epoch's positions and averages the excess loss over the steps of an epoch. The mean of e is
not zero here (the batches of an epoch are dependent). For any n, the leading small-step
terms (O(eta) from the dropped samples and sigma; O(eta^2), mean and within-epoch parts,
when B divides n) are ``small_step_excess_loss_epoch``, valid while a whole epoch is a
small step (eta m lambda_max << 1).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .quadratic import _check_optimizer

__all__ = [
    "SAMPLINGS",
    "gradient_noise_cov",
    "gradient_noise_var",
    "ms_radius",
    "ms_stable",
    "small_step_excess_loss",
    "small_step_excess_loss_epoch",
    "stationary_excess_loss_epoch",
    "stationary_excess_loss_minibatch",
    "stationary_moments_minibatch",
]

SAMPLINGS = ("epoch", "subset", "replacement")

# ------------------------------------------------------------------------------ helpers


def _check_data(X, y):
    """Validate (X, y); return float64 X, y, w_hat and r = y - X w_hat."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError("X must be (n, d) and y (n,)")
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError("X must have at least one row and one column")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite")
    if np.linalg.matrix_rank(X) < d:
        raise ValueError("X must have full column rank (H = (2/n) X^T X positive definite)")
    w_hat = np.linalg.lstsq(X, y, rcond=None)[0]
    return X, y, w_hat, y - X @ w_hat


def _check_sampling(sampling, B, n, allowed=SAMPLINGS):
    if sampling not in allowed:
        raise ValueError(f"unknown sampling {sampling!r}; expected one of {allowed}")
    if isinstance(B, bool) or int(B) != B:
        raise ValueError("the batch size B must be an integer")
    B = int(B)
    if B < 1 or (sampling != "replacement" and B > n):
        raise ValueError(f"batch size B must be in 1..n (n = {n}); got {B}")
    return B


def _count_moments(B, n, sampling):
    """(alpha, gamma): E[N_i N_j] = alpha + gamma [i == j] for the batch counts N_i."""
    if sampling == "replacement":
        return B * (B - 1) / n**2, B / n
    # subset (also the marginal law of one "epoch" batch)
    alpha = B * (B - 1) / (n * (n - 1)) if n > 1 else 0.0
    return alpha, B / n - alpha


def _fpc(B, n, sampling):
    """Finite-population factor of the batch-mean covariance: (n-B)/(n-1) without
    replacement (0 at B = n), 1 with replacement."""
    if sampling == "replacement":
        return 1.0
    return (n - B) / (n - 1) if n > 1 else 0.0


def _state(optimizer, beta):
    """(K, a, b) of the state-space form (module docstring); k = len(a)."""
    beta = float(_check_optimizer(optimizer, beta))
    if not math.isfinite(beta):
        raise ValueError("beta must be finite")
    if optimizer == "gd":
        return np.ones((1, 1)), np.ones(1), np.ones(1)
    K = np.array([[1.0, beta], [0.0, beta]])
    b = np.array([1.0, 0.0 if optimizer == "heavy_ball" else beta])
    return K, np.ones(2), b


def _check_step(eta, sigma):
    eta, sigma = float(eta), float(sigma)
    if not math.isfinite(eta):
        raise ValueError("eta must be finite")
    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError("sigma must be finite and >= 0")
    return eta, sigma


def _excess(H, P, d):
    """1/2 tr(H P_ee), P_ee the e-block (leading d x d) of a second moment P."""
    return 0.5 * float(np.einsum("ij,ji->", H, P[:d, :d]))


def _sym_reduce(L, D):
    """The positive map L (D^2 x D^2, row-major vec) restricted to symmetric matrices, in the
    coordinates P_ij, i <= j: (s, s), s = D (D + 1) / 2. L maps symmetric matrices to
    symmetric ones, and its spectral radius is attained there (a positive map has a PSD
    Perron eigenvector), so both the solve and the radius can use the smaller matrix."""
    iu, ju = np.triu_indices(D)
    rows = L[iu * D + ju]
    Ls = rows[:, iu * D + ju] + np.where(iu != ju, 1.0, 0.0) * rows[:, ju * D + iu]
    return Ls, (iu, ju)


def _radius(L, D):
    """Spectral radius of the positive map L (D^2 x D^2)."""
    return float(np.max(np.abs(np.linalg.eigvals(_sym_reduce(L, D)[0]))))


def _psd_solve(L, rhs, D):
    """Solve (I - L) vec(P) = vec(rhs) for symmetric rhs and decide mean-square stability of
    the positive map L (D^2 x D^2, row-major vec). Returns (P, stable). Stability test:
    (I - L) X = I has a positive-definite solution X iff the spectral radius of L is < 1 (a
    positive map with L(X) = X - I < X for some X > 0 is a strict contraction in the cone
    order). Solved on the symmetric matrices (``_sym_reduce``)."""
    Ls, (iu, ju) = _sym_reduce(L, D)
    eye = np.eye(D)
    try:
        sol = np.linalg.solve(np.eye(len(iu)) - Ls, np.stack([rhs[iu, ju], eye[iu, ju]], axis=1))
    except np.linalg.LinAlgError:
        return None, False
    P = np.empty((D, D))
    X = np.empty((D, D))
    P[iu, ju] = P[ju, iu] = sol[:, 0]
    X[iu, ju] = X[ju, iu] = sol[:, 1]
    try:
        np.linalg.cholesky(X)
    except np.linalg.LinAlgError:
        return None, False
    if not np.all(np.isfinite(P)):
        return None, False
    return P, True


# --------------------------------------------------------------------- gradient noise


def gradient_noise_cov(X, y, w, B, sampling):
    """Exact covariance of the mini-batch gradient g_S(w) over the random batch S, (d, d).

    Per-sample gradients g_i = 2 x_i (x_i^T w - y_i) (their mean gbar is the full
    gradient), population covariance S_pop = (1/n) sum_i (g_i - gbar)(g_i - gbar)^T, and

        replacement:       Cov = S_pop / B
        subset / epoch:    Cov = S_pop / B * (n - B) / (n - 1)   (0 at B = n)

    (the variance of the mean of B draws, with the finite-population factor when drawn
    without replacement; for "epoch" this is the marginal covariance of one step's batch,
    a uniform B-subset). No additive sigma included. X (n, d), y (n,), w (d,); B an int,
    1..n (any B >= 1 for "replacement"). float64.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],) or w.shape != (X.shape[1],):
        raise ValueError("X must be (n, d), y (n,) and w (d,)")
    n = X.shape[0]
    B = _check_sampling(sampling, B, n)
    g = 2.0 * X * (X @ w - y)[:, None]
    dev = g - g.mean(axis=0)
    s_pop = dev.T @ dev / n
    return s_pop * (_fpc(B, n, sampling) / B)


def gradient_noise_var(X, y, w, B, sampling):
    """E ||g_S(w) - grad f(w)||^2 = tr(gradient_noise_cov(X, y, w, B, sampling)), a float:
    tr(S_pop) / B, times (n - B)/(n - 1) without replacement."""
    return float(np.trace(gradient_noise_cov(X, y, w, B, sampling)))


# ------------------------------------------------------ i.i.d. batches: subset, replacement


def _iid_system(X, r, eta, beta, B, optimizer, sampling, sigma):
    """Closed-form expectations of the stationary moment equations (module docstring).

    Returns (EMM, EM, m, R, H, D): E[M_S (x) M_S] (D^2, D^2), E[M_S] (D, D), the stationary
    mean m (D,), the right-hand side R (D, D) of P = E[M P M^T] + R evaluated at that m,
    H (d, d) and D = k d.
    """
    n, d = X.shape
    K, a, b = _state(optimizer, beta)
    k = len(a)
    D = k * d
    F = np.outer(a, b)
    aa = np.outer(a, a)
    alpha, gamma = _count_moments(B, n, sampling)
    c2 = 4.0 / B**2
    G = X.T @ X
    H = (2.0 / n) * G
    u = X.T @ r  # = 0 up to rounding
    Id = np.eye(d)
    Kt = np.kron(K, Id)
    FH = np.kron(F, H)
    # E[A_ij A_kl] = c2 (alpha G_ij G_kl + gamma sum_s X_si X_sj X_sk X_sl)
    W = (X[:, :, None] * X[:, None, :]).reshape(n, d * d)
    E4 = c2 * (alpha * np.multiply.outer(G, G) + gamma * (W.T @ W).reshape(d, d, d, d))
    quad = np.einsum("pq,PQ,ijIJ->piPIqjQJ", F, F, E4).reshape(D * D, D * D)
    EMM = np.kron(Kt, Kt) - eta * np.kron(Kt, FH) - eta * np.kron(FH, Kt) + eta**2 * quad
    EM = Kt - eta * FH
    Ec = eta * np.kron(a, (2.0 / n) * u)
    m = np.linalg.solve(np.eye(D) - EM, Ec) if np.any(Ec) else np.zeros(D)
    mu = (b[:, None] * m.reshape(k, d)).sum(axis=0)  # (b^T (x) I) m
    # E[A mu zeta^T] = c2 (alpha G mu u^T + gamma X^T diag((X mu) r) X)
    EAmz = c2 * (alpha * np.outer(G @ mu, u) + gamma * (X.T * ((X @ mu) * r)) @ X)
    cross = np.outer(Kt @ m, Ec) - eta**2 * np.kron(aa, EAmz)
    Ezz = c2 * (alpha * np.outer(u, u) + gamma * (X.T * r**2) @ X)
    R = cross + cross.T + eta**2 * np.kron(aa, Ezz) + (eta * sigma) ** 2 * np.kron(aa, Id)
    return EMM, EM, m, R, H, D


def ms_radius(X, y, eta, beta, B, optimizer, sampling):
    """Spectral radius of the second-moment map of mini-batch SGD (mean-square stability).

    "subset" / "replacement": the radius of P -> E[M_S P M_S^T] (per step), i.e. of the
    (kd)^2 x (kd)^2 matrix E[M_S (x) M_S]; "epoch": the radius of the epoch-boundary map
    P -> E[Phi P Phi^T] (per epoch, Phi the product of the epoch's step maps; enumerates
    every ordered partition, small n only). Below 1: mean-square stable. Does not depend on
    y or sigma. A float; eta, beta scalars (beta 0 or None for gd).
    """
    X, y, _, r = _check_data(X, y)
    n = X.shape[0]
    B = _check_sampling(sampling, B, n)
    eta, _ = _check_step(eta, 0.0)
    if sampling == "epoch":
        return _epoch_system(X, r, eta, beta, B, optimizer, 0.0)["radius"]
    EMM, _, _, _, _, D = _iid_system(X, r, eta, beta, B, optimizer, sampling, 0.0)
    return _radius(EMM, D)


def ms_stable(X, y, eta, beta, B, optimizer, sampling):
    """True when the mini-batch iteration is mean-square stable: ``ms_radius(...) < 1``."""
    return ms_radius(X, y, eta, beta, B, optimizer, sampling) < 1.0


def stationary_moments_minibatch(X, y, eta, beta, B, optimizer, sampling, sigma=0.0):
    """Stationary mean (d,) and covariance (d, d) of e = w - w_hat under mini-batch SGD.

    "subset" / "replacement" only (i.i.d. batches). Solves the stationary moment equations
    of the module docstring in closed form:
        m = (I - E[M])^-1 E[c] = 0   (E[c] = eta a (x) (2/n) X^T r = 0 up to rounding),
        (I - E[M_S (x) M_S]) vec(P) = vec(E[M m c^T] + E[c m^T M^T] + E[c c^T]
                                          + eta^2 sigma^2 (a a^T) (x) I_d)
    and returns the e-block of m and of P - m m^T. Both are filled with inf when the
    iteration is not mean-square stable (``ms_radius`` >= 1). Shapes: X (n, d), y (n,),
    full column rank; eta, beta, sigma scalars; B int in 1..n (>= 1 for "replacement").
    """
    X, y, _, r = _check_data(X, y)
    n, d = X.shape
    B = _check_sampling(sampling, B, n, allowed=("subset", "replacement"))
    eta, sigma = _check_step(eta, sigma)
    EMM, _, m, R, _, D = _iid_system(X, r, eta, beta, B, optimizer, sampling, sigma)
    P, ok = _psd_solve(EMM, R, D)
    if not ok:
        return np.full(d, np.inf), np.full((d, d), np.inf)
    return m[:d].copy(), P[:d, :d] - np.outer(m[:d], m[:d])


def stationary_excess_loss_minibatch(X, y, eta, beta, B, optimizer, sampling, sigma=0.0):
    """Exact stationary expected excess loss lim_t E[1/2 e_t^T H e_t] of mini-batch SGD.

    = 1/2 tr(H P_ee), P the stationary second moment of the state (module docstring), for
    gd, heavy_ball and nesterov (v_0 = 0), batch size B, additive noise sigma >= 0.
    "subset" / "replacement": the closed-form expectation over one batch (i.i.d. steps);
    "epoch": delegates to ``stationary_excess_loss_epoch`` (enumeration, small n only).
    inf when not mean-square stable. With B = n and "subset" (every batch the full data)
    this is ``theory.stationary_loss(optimizer, eta, beta, eigvalsh(H), sigma)``.
    A float; X (n, d) full column rank, y (n,), scalars otherwise.
    """
    if sampling == "epoch":
        return stationary_excess_loss_epoch(X, y, eta, beta, B, optimizer, sigma)
    X, y, _, r = _check_data(X, y)
    n, d = X.shape
    B = _check_sampling(sampling, B, n, allowed=("subset", "replacement"))
    eta, sigma = _check_step(eta, sigma)
    EMM, _, _, R, H, D = _iid_system(X, r, eta, beta, B, optimizer, sampling, sigma)
    P, ok = _psd_solve(EMM, R, D)
    return _excess(H, P, d) if ok else math.inf


def small_step_excess_loss(X, y, eta, B, sampling, sigma=0.0, optimizer="gd", beta=None):
    """Small-step (first order in eta) stationary excess loss of mini-batch SGD.

        loss ~ eta / (4 (1 - beta)) * tr(C),
        C = Cov(g_S(w_hat)) + sigma^2 I = S_pop(w_hat) * fpc / B + sigma^2 I,
        S_pop(w_hat) = (4/n) X^T diag(r^2) X,  fpc = (n - B)/(n - 1) ("subset"), 1
        ("replacement"),
    i.e. eta/(4(1-beta)) * (tr(S_pop) fpc / B + sigma^2 d): the 1/B law with its
    finite-population factor. Derivation (gd): Sigma = E[(I - eta A) Sigma (I - eta A)]
    + eta^2 C gives H Sigma + Sigma H = eta C + O(eta^2), so 1/2 tr(H Sigma) = eta tr(C)/4;
    heavy_ball and nesterov (beta in [0, 1)) divide by 1 - beta (the per-direction limit of
    ``theory.stationary_loss``). The relative error is O(eta lambda_max / (1 - beta)); the
    exact value is ``stationary_excess_loss_minibatch``. "epoch" delegates to
    ``small_step_excess_loss_epoch`` (a different law). A float.
    """
    if sampling == "epoch":
        return small_step_excess_loss_epoch(X, y, eta, B, sigma, optimizer, beta)
    X, y, w_hat, _ = _check_data(X, y)
    n, d = X.shape
    B = _check_sampling(sampling, B, n, allowed=("subset", "replacement"))
    eta, sigma = _check_step(eta, sigma)
    beta = _small_step_beta(optimizer, beta)
    tr_c = gradient_noise_var(X, y, w_hat, B, sampling) + sigma**2 * d
    return eta * tr_c / (4.0 * (1.0 - beta))


def _small_step_beta(optimizer, beta):
    beta = float(_check_optimizer(optimizer, beta))
    if not 0.0 <= beta < 1.0:
        raise ValueError("the small-step law needs 0 <= beta < 1")
    return beta


def small_step_excess_loss_epoch(X, y, eta, B, sigma=0.0, optimizer="gd", beta=None):
    """Leading-order small-step stationary excess loss under random reshuffling ("epoch").

    m = floor(n/B) steps per epoch, rho = n - m B samples dropped per epoch, and
        V = (1/n) sum_i r_i^2 x_i x_i^T   (S_pop(w_hat) = 4 V),
        t = (1/n) sum_i |x_i|^2 r_i x_i.
    The zeta_S of one epoch sum to (2/B) sum_{dropped} x_i r_i, so only the dropped samples
    (and sigma) leave O(eta) noise:

    rho > 0 or sigma > 0 (first order):
        loss ~ eta / (4 (1 - beta)) * (4 tr(V) rho (n - rho) / ((n - 1) B^2 m) + sigma^2 d)
    (an epoch acts like one step of size m eta with the dropped samples' noise, whose
    covariance is (4/B^2) rho (n - rho)/(n - 1) V; for m = 1 this is the "subset" law).

    rho = 0 and sigma = 0 (B divides n; the O(eta) term vanishes; second order):
        loss ~ eta^2 * (1/2 mu1^T H mu1 + 1/2 cbar tr(H V)),
    the two parts being the stationary mean of e (E[e] ~ eta mu1, not zero: the batches of
    an epoch are dependent) and the within-epoch excursion e_t ~ E[e] + eta f_t, f_t the
    position response to the zeta's without restoring force (f_t = (Z_k - sum_{s<t}
    beta^(t-s) zeta_s)/(1 - beta), Z_k the partial sum of the current epoch's zeta, k the
    position in the epoch):
        mu1 = 4 W / (m (n - 1)) H^-1 t,  W = sum_{j<m} sum_{tau=1..j} w(tau),
        w(tau) = (1 - beta^tau)/(1 - beta)  (+ beta^tau for nesterov, whose gradient sees
        the look-ahead),
    from sum_j E[A_j e'_j] = 0 at stationarity and E[A_j zeta_s] = -4 t/(n - 1) for two
    distinct steps of one epoch; and cbar = (1/m) sum_{k<m} c(k) with
        c(k) = c1 (sum_s om_s)^2 + (c0 - c1) sum_s om_s^2, summed over epochs,
        om_s = ([s in the current epoch] - beta^(t-s)) / (1 - beta) for past steps s < t,
        c0 = 4 (n - B)/(B (n - 1)),  c1 = -4/(n - 1)
    (E[zeta_s zeta_s'^T] = c0 V at s = s', c1 V for two steps of one epoch, 0 across
    epochs); the past epochs' sums are geometric (closed forms in the code). For gd this is
        loss ~ eta^2 ((m^2 - 1)/(3 (n - 1)) tr(H V) + 2 (m - 1)^2/(n - 1)^2 t^T H^-1 t).
    Validity: a whole epoch must be a small step, eta m lambda_max / (1 - beta) << 1; the
    relative error is O(eta m lambda_max / (1 - beta)) (measured, n = 8, B = 1, gd: 0.3 % at
    eta m lambda_max = 0.024, 3 % at 0.24, 11 % at 0.72, a factor 1.8 at 2.4). For large n
    (m in the hundreds) that is a much smaller eta than the i.i.d. law needs; beyond it the
    iterate forgets within an epoch and the loss moves towards the "subset" value. The exact
    value for small n is ``stationary_excess_loss_epoch``. Assumes 0 <= beta < 1. A float.
    """
    X, y, _, r = _check_data(X, y)
    n, d = X.shape
    B = _check_sampling("epoch", B, n)
    eta, sigma = _check_step(eta, sigma)
    beta = _small_step_beta(optimizer, beta)
    m = n // B
    rho = n - m * B
    V = (X.T * r**2) @ X / n
    if rho > 0 or sigma > 0:
        noise = 4.0 * np.trace(V) * rho * (n - rho) / ((n - 1) * B**2 * m) + sigma**2 * d
        return eta * noise / (4.0 * (1.0 - beta))
    if m == 1:
        return 0.0  # B = n: full-batch gd, no noise
    H = (2.0 / n) * (X.T @ X)
    t = X.T @ (np.einsum("ij,ij->i", X, X) * r) / n
    tau = np.arange(1, m, dtype=np.float64)
    w = (1.0 - beta**tau) / (1.0 - beta)  # position response after tau steps
    w_look = w + beta**tau if optimizer == "nesterov" else w
    W = float(np.sum(np.cumsum(w_look)))  # sum_j sum_{tau=1..j} w(tau), j = 1..m-1
    mu1 = 4.0 * W / (m * (n - 1)) * np.linalg.solve(H, t)
    c0 = 4.0 * (n - B) / (B * (n - 1))
    c1 = -4.0 / (n - 1)
    k = np.arange(m, dtype=np.float64)
    cum = np.concatenate([[0.0], np.cumsum(w)])  # sum_{tau=1..k} w(tau), k = 0..m-1
    cum2 = np.concatenate([[0.0], np.cumsum(w**2)])
    # past epochs p >= 1: om = -beta^(t-s)/(1-beta) over t-s = k+(p-1)m+1 .. k+pm
    bm = beta**m
    s1 = (beta ** (k + 1) * (1.0 - bm) / (1.0 - beta) ** 2) ** 2 / (1.0 - bm * bm)
    s2 = beta ** (2 * k + 2) / ((1.0 - beta * beta) * (1.0 - beta) ** 2)
    c = c1 * (cum**2 + s1) + (c0 - c1) * (cum2 + s2)
    return eta**2 * (0.5 * mu1 @ H @ mu1 + 0.5 * float(c.mean()) * float(np.trace(H @ V)))


# ------------------------------------------------------------- epoch: random reshuffling


def _ordered_partitions(n, B):
    """Every ordered choice of floor(n/B) disjoint B-subsets of range(n) (the batches of
    one epoch; the rest is dropped), each batch sorted. Each arises from exactly
    (B!)^m (n - mB)! permutations, so uniform weights give the law of a uniform
    permutation's batches. int array (N, m, B), N = n! / ((B!)^m (n - mB)!)."""
    m = n // B

    def rec(rest, left):
        if left == 0:
            yield ()
            return
        for c in itertools.combinations(rest, B):
            cs = set(c)
            remaining = tuple(i for i in rest if i not in cs)
            for tail in rec(remaining, left - 1):
                yield (c, *tail)

    out = np.array(list(rec(tuple(range(n)), m)), dtype=np.intp)
    return out.reshape(-1, m, B)


def _epoch_count(n, B):
    m = n // B
    return math.factorial(n) // (math.factorial(B) ** m * math.factorial(n - m * B))


def _step_maps(outer, xr, idx, eta, K, a, b, d):
    """Step maps (M, c) for the batches idx (N, B): M (N, D, D), c (N, D)."""
    B = idx.shape[1]
    A = (2.0 / B) * outer[idx].sum(axis=1)  # (N, d, d)
    zeta = (2.0 / B) * xr[idx].sum(axis=1)  # (N, d)
    k = len(a)
    F = np.outer(a, b)
    M = np.kron(K, np.eye(d))[None] - eta * np.einsum("pq,nij->npiqj", F, A).reshape(
        -1, k * d, k * d
    )
    c = eta * np.einsum("p,ni->npi", a, zeta).reshape(-1, k * d)
    return M, c


def _epoch_system(X, r, eta, beta, B, optimizer, sigma, max_orderings=500_000, chunk=None):
    """Epoch-boundary chain of random reshuffling, by enumeration of ordered partitions.

    Returns a dict: radius (of P -> E[Phi P Phi^T]), and, when stable, m0 (D,), P0 (D, D)
    (stationary mean and second moment at epoch boundaries) and ``losses`` (m,), the
    stationary expected excess loss at each position k = 0..m-1 of an epoch (k = 0: the
    boundary).
    """
    n, d = X.shape
    count = _epoch_count(n, B)
    if count > max_orderings:
        raise ValueError(
            f"epoch sampling enumerates {count} orderings of n = {n}, B = {B}: more than "
            f"{max_orderings}; use a smaller n"
        )
    K, a, b = _state(optimizer, beta)
    D = len(a) * d
    H = (2.0 / n) * (X.T @ X)
    Q = (eta * sigma) ** 2 * np.kron(np.outer(a, a), np.eye(d))
    outer = X[:, :, None] * X[:, None, :]
    xr = X * r[:, None]
    parts = _ordered_partitions(n, B)
    N, m, _ = parts.shape
    if chunk is None:
        chunk = max(1, 2**21 // (D * D))  # orderings per chunk: a few arrays of ~16 MB

    def chunks():
        for lo in range(0, N, chunk):
            sub = parts[lo : lo + chunk]
            yield [_step_maps(outer, xr, sub[:, j], eta, K, a, b, d) for j in range(m)]

    # pass 1: sums over orderings of the epoch map s -> Phi s + psi (+ noise, covariance Nz)
    s_phi, s_psi = np.zeros((D, D)), np.zeros(D)
    s_pp = np.zeros((D * D, D * D))
    s_phipsi = np.zeros((D, D, D))
    s_psipsi, s_nz = np.zeros((D, D)), np.zeros((D, D))
    for maps in chunks():
        Nc = maps[0][1].shape[0]
        Phi = np.broadcast_to(np.eye(D), (Nc, D, D)).copy()
        psi = np.zeros((Nc, D))
        Nz = np.zeros((Nc, D, D))
        for M, c in maps:
            Phi = M @ Phi
            psi = np.einsum("nij,nj->ni", M, psi) + c
            Nz = M @ Nz @ M.transpose(0, 2, 1) + Q
        flat = Phi.reshape(Nc, D * D)
        s_phi += Phi.sum(axis=0)
        s_psi += psi.sum(axis=0)
        s_pp += flat.T @ flat
        s_phipsi += np.einsum("nij,nl->ijl", Phi, psi)
        s_psipsi += psi.T @ psi
        s_nz += Nz.sum(axis=0)
    # E[Phi_ij Phi_kl] -> row-major (Phi (x) Phi)[(i,k),(j,l)]
    EPP = (s_pp / N).reshape(D, D, D, D).transpose(0, 2, 1, 3).reshape(D * D, D * D)
    radius = _radius(EPP, D)
    out = {"radius": radius}
    try:
        m0 = np.linalg.solve(np.eye(D) - s_phi / N, s_psi / N)
    except np.linalg.LinAlgError:
        return out
    cross = np.einsum("ijl,j->il", s_phipsi, m0) / N  # E[Phi m0 psi^T]
    R = cross + cross.T + (s_psipsi + s_nz) / N
    P0, ok = _psd_solve(EPP, R, D)
    if not ok:
        return out
    # pass 2: propagate (m0, P0) through the epoch, conditionally on the ordering
    losses = np.zeros(m)
    for maps in chunks():
        Nc = maps[0][1].shape[0]
        mk = np.broadcast_to(m0, (Nc, D)).copy()
        Pk = np.broadcast_to(P0, (Nc, D, D)).copy()
        for j, (M, c) in enumerate(maps):
            losses[j] += 0.5 * np.einsum("ij,nji->", H, Pk[:, :d, :d])
            Mm = np.einsum("nij,nj->ni", M, mk)
            t = np.einsum("ni,nj->nij", Mm, c)
            Pk = M @ Pk @ M.transpose(0, 2, 1) + t + t.transpose(0, 2, 1)
            Pk += np.einsum("ni,nj->nij", c, c) + Q
            mk = Mm + c
    out.update(m0=m0, P0=P0, losses=losses / N)
    return out


def stationary_excess_loss_epoch(
    X, y, eta, beta, B, optimizer, sigma=0.0, per_position=False, max_orderings=500_000
):
    """Exact stationary excess loss of mini-batch SGD with random reshuffling ("epoch").

    Each epoch draws a uniform permutation; its m = floor(n/B) consecutive batches of B are
    the epoch's steps (the last n - mB samples are dropped). The state at epoch boundaries,
    s_0 -> Phi s_0 + psi + noise with Phi = M_{S_m} ... M_{S_1} and psi the accumulated
    c_S (module docstring), is a Markov chain with i.i.d. random affine maps; its stationary
    mean and second moment solve
        m0 = E[Phi] m0 + E[psi],
        P0 = E[Phi P0 Phi^T] + E[Phi m0 psi^T] + E[psi m0^T Phi^T] + E[psi psi^T] + E[N],
    E[N] the additive noise accumulated over the epoch, the expectations taken exactly over
    all n! / ((B!)^m (n - mB)!) ordered partitions (one set of batches per ordering;
    feasible for n <= 8; ``max_orderings`` caps it). (m0, P0) are then propagated through
    the positions k = 0..m-1 of the epoch, conditionally on the ordering (s_0 is independent
    of the current epoch's permutation), and the result is the average over those positions
    of E[1/2 e^T H e] (the long-run average over all steps). The stationary mean of e is in
    general not zero. ``per_position=True`` returns the (m,) array of per-position losses
    instead. inf (or an inf array) when the epoch-boundary chain is not mean-square stable.
    Cost ~ N (kd)^3 m plus N (kd)^4 for E[Phi (x) Phi].
    """
    X, y, _, r = _check_data(X, y)
    n = X.shape[0]
    B = _check_sampling(sampling="epoch", B=B, n=n)
    eta, sigma = _check_step(eta, sigma)
    out = _epoch_system(X, r, eta, beta, B, optimizer, sigma, max_orderings)
    if "losses" not in out:
        return np.full(n // B, np.inf) if per_position else math.inf
    return out["losses"].copy() if per_position else float(out["losses"].mean())
