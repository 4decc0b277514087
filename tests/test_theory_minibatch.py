"""Tests for the theory of mini-batch SGD on least squares (fastdescent.theory.minibatch).

Every closed form is compared with a brute-force route that shares none of its algebra:
the literal update rules applied to the literal mini-batch gradient -(2/B) X_S^T (y_S - X_S w),
enumerated over every batch (or every permutation, for "epoch"), with the first and second
moments iterated step by step to convergence; plus one Monte-Carlo simulation per sampling.
"""

import itertools
import math

import numpy as np
import pytest

from fastdescent import theory as T
from fastdescent.theory import minibatch as MB

OPTS = (("gd", None), ("heavy_ball", 0.6), ("nesterov", 0.6))


def make_data(n, d, seed, lams=None, noise=0.5):
    """Tiny least-squares problem like linreg: (2/n) X^T X has eigenvalues ``lams``
    (default spread over [1, 3]), y = X w_true + noise * eps."""
    rng = np.random.default_rng(seed)
    lams = np.linspace(1.0, 3.0, d) if lams is None else np.asarray(lams, dtype=float)
    U = np.linalg.qr(rng.standard_normal((n, d)))[0]
    V = np.linalg.qr(rng.standard_normal((d, d)))[0]
    X = U * np.sqrt(n * lams / 2.0) @ V.T
    y = X @ rng.standard_normal(d) + noise * rng.standard_normal(n)
    return X, y


def lstsq(X, y):
    return np.linalg.solve(X.T @ X, X.T @ y)


def batches(n, B, sampling):
    """Every batch (index tuple) with its probability."""
    if sampling == "subset":
        out = list(itertools.combinations(range(n), B))
    else:
        out = list(itertools.product(range(n), repeat=B))
    return out, np.full(len(out), 1.0 / len(out))


def literal_step(X, y, w, v, idx, eta, beta, optimizer, xi):
    """One step of the literal update rule on batch idx, gradient noise vector xi."""
    idx = list(idx)

    def grad(u):
        Xs = X[idx]
        return -(2.0 / len(idx)) * Xs.T @ (y[idx] - Xs @ u) + xi

    beta = beta or 0.0
    if optimizer == "gd":
        v_new = -eta * grad(w)
    elif optimizer == "heavy_ball":
        v_new = beta * v - eta * grad(w)
    else:
        v_new = beta * v - eta * grad(w + beta * v)
    return w + v_new, v_new


def affine_maps(X, y, idx, eta, beta, optimizer):
    """(M, c, N) with s' = M s + c + N xi for the state s = (e, v), e = w - w_hat, read off
    the literal step by evaluating it at the origin and at unit vectors."""
    d = X.shape[1]
    w_hat = lstsq(X, y)

    def step(s, xi):
        w, v = literal_step(X, y, w_hat + s[:d], s[d:], idx, eta, beta, optimizer, xi)
        return np.concatenate([w - w_hat, v])

    zero_s, zero_xi = np.zeros(2 * d), np.zeros(d)
    c = step(zero_s, zero_xi)
    M = np.stack([step(col, zero_xi) - c for col in np.eye(2 * d)], axis=1)
    N = np.stack([step(zero_s, col) - c for col in np.eye(d)], axis=1)
    return M, c, N


def brute_iid_moments(X, y, eta, beta, B, optimizer, sampling, sigma, tol=1e-14):
    """Iterate m' = E[M m + c], P' = E[M P M^T + M m c^T + c m^T M^T + c c^T] + sigma^2 N N^T
    over every batch from a nonzero start until the second moment stops changing. Returns
    (mean e, second moment of e, excess loss)."""
    n, d = X.shape
    H = 2.0 / n * X.T @ X
    idxs, wts = batches(n, B, sampling)
    maps = [affine_maps(X, y, idx, eta, beta, optimizer) for idx in idxs]
    M = np.stack([t[0] for t in maps])
    c = np.stack([t[1] for t in maps])
    Q = sigma**2 * maps[0][2] @ maps[0][2].T  # N does not depend on the batch
    Ecc = np.einsum("n,ni,nj->ij", wts, c, c) + Q
    m = np.concatenate([np.ones(d), np.zeros(d)])
    P = np.outer(m, m)
    for it in range(200_000):
        Mm = M @ m
        cross = np.einsum("n,ni,nj->ij", wts, Mm, c)
        P_new = np.einsum("n,nij,jk,nlk->il", wts, M, P, M) + cross + cross.T + Ecc
        m = wts @ (Mm + c)
        change = np.max(np.abs(P_new - P))
        P = P_new
        if not np.all(np.isfinite(P)) or np.max(np.abs(P)) > 1e100:
            return m[:d], P[:d, :d], math.inf
        if it > 20 and change <= tol * np.max(np.abs(P)):
            break
    else:
        raise AssertionError("moment iteration did not converge")
    return m[:d], P[:d, :d], 0.5 * np.trace(H @ P[:d, :d])


# ---------------------------------------------------------------- gradient noise covariance


@pytest.mark.parametrize(
    "sampling, n, B",
    [
        ("subset", 5, 1),
        ("subset", 5, 2),
        ("subset", 6, 3),
        ("subset", 7, 6),
        ("subset", 5, 5),
        ("replacement", 4, 1),
        ("replacement", 5, 2),
        ("replacement", 4, 4),
        ("replacement", 3, 5),
    ],
)
def test_gradient_noise_cov_matches_enumeration(sampling, n, B):
    X, y = make_data(n, 3, seed=n * 10 + B)
    w = np.random.default_rng(B).standard_normal(3)
    idxs, wts = batches(n, B, sampling)
    g = np.stack([-(2.0 / B) * X[list(i)].T @ (y[list(i)] - X[list(i)] @ w) for i in idxs])
    mean = wts @ g
    np.testing.assert_allclose(mean, -(2.0 / n) * X.T @ (y - X @ w), rtol=1e-12, atol=1e-12)
    cov = np.einsum("k,ki,kj->ij", wts, g - mean, g - mean)
    got = MB.gradient_noise_cov(X, y, w, B, sampling)
    scale = np.linalg.norm(MB.gradient_noise_cov(X, y, w, 1, "replacement"))
    assert scale > 1.0
    assert np.linalg.norm(got - cov) <= 1e-12 * scale
    assert MB.gradient_noise_var(X, y, w, B, sampling) == pytest.approx(np.trace(cov), rel=1e-12)
    if sampling == "subset" and B == n:
        assert np.linalg.norm(got) <= 1e-14 * scale  # the full batch: no noise
    else:
        assert np.linalg.norm(cov) > 1e-3 * scale
    # the marginal batch of "epoch" is a uniform subset
    if sampling == "subset":
        np.testing.assert_array_equal(MB.gradient_noise_cov(X, y, w, B, "epoch"), got)


def test_gradient_noise_law_in_B():
    """tr Cov = tr(S_pop) / B * fpc: 1/B with replacement, (n-B)/((n-1) B) without."""
    n = 9
    X, y = make_data(n, 2, seed=3)
    w = np.array([0.3, -1.0])
    v1 = MB.gradient_noise_var(X, y, w, 1, "subset")
    assert v1 == pytest.approx(MB.gradient_noise_var(X, y, w, 1, "replacement"), rel=1e-14)
    for B in range(1, n + 1):
        assert MB.gradient_noise_var(X, y, w, B, "replacement") == pytest.approx(v1 / B, 1e-13)
        assert MB.gradient_noise_var(X, y, w, B, "subset") == pytest.approx(
            v1 / B * (n - B) / (n - 1), rel=1e-13, abs=1e-13 * v1
        )


# ------------------------------------------------------ exact stationary moments vs brute force


@pytest.mark.parametrize("optimizer, beta", OPTS)
@pytest.mark.parametrize(
    "sampling, n, B, h",
    [("subset", 6, 2, 0.6), ("subset", 7, 3, 1.1), ("replacement", 5, 2, 0.5)],
)
@pytest.mark.parametrize("sigma", [0.0, 0.7])
def test_stationary_loss_matches_brute_force(optimizer, beta, sampling, n, B, h, sigma):
    d = 3
    X, y = make_data(n, d, seed=7 * n + B)
    eta = h / 3.0 * (1.0 - (beta or 0.0))  # eta * lambda_max = h (gd); momentum: smaller
    mean, second, loss = brute_iid_moments(X, y, eta, beta, B, optimizer, sampling, sigma)
    assert math.isfinite(loss) and loss > 1e-3
    got = MB.stationary_excess_loss_minibatch(X, y, eta, beta, B, optimizer, sampling, sigma)
    assert got == pytest.approx(loss, rel=1e-9)
    m, cov = MB.stationary_moments_minibatch(X, y, eta, beta, B, optimizer, sampling, sigma)
    scale = np.max(np.abs(second))
    assert np.max(np.abs(m)) <= 1e-9 * np.sqrt(scale)  # the stationary mean is 0
    assert np.max(np.abs(mean)) <= 1e-9 * np.sqrt(scale)
    assert np.max(np.abs(cov - second)) <= 1e-9 * scale
    assert MB.ms_stable(X, y, eta, beta, B, optimizer, sampling)


@pytest.mark.parametrize("optimizer, beta", OPTS)
def test_batch_size_one_subset_equals_replacement(optimizer, beta):
    X, y = make_data(6, 3, seed=1)
    a = MB.stationary_excess_loss_minibatch(X, y, 0.2, beta, 1, optimizer, "subset", 0.3)
    b = MB.stationary_excess_loss_minibatch(X, y, 0.2, beta, 1, optimizer, "replacement", 0.3)
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("optimizer, beta", OPTS)
def test_full_batch_equals_additive_noise_theory(optimizer, beta):
    """B = n ("subset" or "epoch"): every batch is the data; only sigma remains."""
    n = 6
    X, y = make_data(n, 3, seed=2)
    lam = np.linalg.eigvalsh(2.0 / n * X.T @ X)
    for h in (0.3, 1.2):
        eta = h / lam[-1]
        want = T.stationary_loss(optimizer, eta, beta, lam, 0.4)
        assert math.isfinite(want)
        got = MB.stationary_excess_loss_minibatch(X, y, eta, beta, n, optimizer, "subset", 0.4)
        assert got == pytest.approx(want, rel=1e-10)
        got = MB.stationary_excess_loss_epoch(X, y, eta, beta, n, optimizer, 0.4)
        assert got == pytest.approx(want, rel=1e-10)
        assert MB.stationary_excess_loss_minibatch(X, y, eta, beta, n, optimizer, "subset") < 1e-25


@pytest.mark.parametrize("optimizer, beta", OPTS)
@pytest.mark.parametrize("sampling", ["subset", "replacement"])
def test_mean_square_radius_and_edge(optimizer, beta, sampling):
    """ms_radius equals the radius of E[M (x) M] assembled by enumeration; the loss is finite
    below the edge and inf above it, and the brute-force iteration diverges above it."""
    n, B, d = 5, 2, 2
    X, y = make_data(n, d, seed=11, lams=[1.0, 3.0])
    idxs, wts = batches(n, B, sampling)

    def radius(eta):
        Ms = [affine_maps(X, y, i, eta, beta, optimizer)[0] for i in idxs]
        EMM = sum(w * np.kron(M, M) for w, M in zip(wts, Ms, strict=True))
        return np.max(np.abs(np.linalg.eigvals(EMM)))

    for h in (0.3, 0.9):
        eta = h / 3.0
        assert MB.ms_radius(X, y, eta, beta, B, optimizer, sampling) == pytest.approx(
            radius(eta), rel=1e-9
        )
    lo, hi = 0.01, 4.0 / 3.0  # bisect the mean-square edge
    assert MB.ms_radius(X, y, lo, beta, B, optimizer, sampling) < 1
    assert MB.ms_radius(X, y, hi, beta, B, optimizer, sampling) > 1
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (
            (mid, hi) if MB.ms_radius(X, y, mid, beta, B, optimizer, sampling) < 1 else (lo, mid)
        )
    below, above = lo * (1 - 1e-3), hi * (1 + 1e-3)
    assert math.isfinite(
        MB.stationary_excess_loss_minibatch(X, y, below, beta, B, optimizer, sampling)
    )
    assert (
        MB.stationary_excess_loss_minibatch(X, y, above, beta, B, optimizer, sampling) == math.inf
    )
    _, cov = MB.stationary_moments_minibatch(X, y, above, beta, B, optimizer, sampling)
    assert np.all(np.isinf(cov))
    above = hi * 1.05
    assert brute_iid_moments(X, y, above, beta, B, optimizer, sampling, 0.0)[2] == math.inf
    # mini-batch noise lowers the edge below the full-batch one (gd: 2 / lambda_max)
    if optimizer == "gd":
        assert hi < 2.0 / 3.0 * 0.99
        assert T.stable("gd", hi, 0.0, 1.0, 3.0)


# --------------------------------------------------------------------------- small-step law


@pytest.mark.parametrize("optimizer, beta", [("gd", None), ("heavy_ball", 0.5), ("nesterov", 0.5)])
@pytest.mark.parametrize("sampling", ["subset", "replacement"])
def test_small_step_law(optimizer, beta, sampling):
    n, d = 8, 3
    X, y = make_data(n, d, seed=5)
    lmax = np.linalg.eigvalsh(2.0 / n * X.T @ X)[-1]
    ratios = []
    for h in (1e-1, 1e-2, 1e-3):
        eta = h / lmax
        for B, sigma in ((1, 0.0), (3, 0.0), (3, 0.5)):
            exact = MB.stationary_excess_loss_minibatch(
                X, y, eta, beta, B, optimizer, sampling, sigma
            )
            small = MB.small_step_excess_loss(X, y, eta, B, sampling, sigma, optimizer, beta)
            ratios.append((h, exact / small))
    at = {h: [r for hh, r in ratios if hh == h] for h in (1e-1, 1e-2, 1e-3)}
    assert max(abs(r - 1) for r in at[1e-3]) < 0.01
    assert max(abs(r - 1) for r in at[1e-2]) < 0.1
    # the error is first order in eta: 10x smaller step, ~10x smaller error
    for r1, r2 in zip(at[1e-2], at[1e-3], strict=True):
        assert 5 < abs(r1 - 1) / abs(r2 - 1) < 20


def test_small_step_one_over_B_and_finite_population():
    """At small eta the exact stationary loss scales as fpc(B) / B (sigma = 0)."""
    n, d = 8, 2
    X, y = make_data(n, d, seed=9)
    w_hat = lstsq(X, y)
    r = y - X @ w_hat
    s_pop_tr = np.trace(4.0 / n * (X.T * r**2) @ X)
    eta = 1e-4
    base = MB.stationary_excess_loss_minibatch(X, y, eta, None, 1, "gd", "replacement")
    assert base == pytest.approx(eta / 4 * s_pop_tr, rel=1e-3)
    for B in (2, 3, 5, 7):
        for sampling, fpc in (("replacement", 1.0), ("subset", (n - B) / (n - 1))):
            got = MB.stationary_excess_loss_minibatch(X, y, eta, None, B, "gd", sampling)
            assert got == pytest.approx(base * fpc / B, rel=1e-3)
            small = MB.small_step_excess_loss(X, y, eta, B, sampling)
            assert small == pytest.approx(eta / 4 * s_pop_tr * fpc / B, rel=1e-12)
    # subset B = n: no gradient noise at all
    assert MB.small_step_excess_loss(X, y, eta, n, "subset") == 0.0
    assert MB.small_step_excess_loss(X, y, eta, n, "subset", sigma=0.5) == pytest.approx(
        eta / 4 * 0.25 * d, rel=1e-12
    )
    with pytest.raises(ValueError, match="sampling"):
        MB.small_step_excess_loss(X, y, eta, 2, "shuffled")


# ------------------------------------------------------------ epoch sampling (reshuffling)


def brute_epoch(X, y, eta, beta, B, optimizer, sigma, tol=1e-14):
    """Random reshuffling by a different route: all n! permutations (consecutive batches,
    remainder dropped), the conditional moments propagated step by step through each epoch
    from a common epoch-start (m, P), averaged at the epoch's end, iterated over epochs until
    the epoch-start moments stop changing. Returns the per-position excess losses."""
    n, d = X.shape
    steps = n // B
    H = 2.0 / n * X.T @ X
    perms = list(itertools.permutations(range(n)))
    cache = {}

    def maps(batch):
        key = tuple(sorted(batch))
        if key not in cache:
            cache[key] = affine_maps(X, y, key, eta, beta, optimizer)
        return cache[key]

    Ms, cs = [], []
    for k in range(steps):
        mk = [maps(p[k * B : (k + 1) * B]) for p in perms]
        Ms.append(np.stack([t[0] for t in mk]))
        cs.append(np.stack([t[1] for t in mk]))
    Nm = maps(perms[0][:B])[2]
    Q = sigma**2 * Nm @ Nm.T
    D = 2 * d
    m0 = np.concatenate([np.ones(d), np.zeros(d)])
    P0 = np.outer(m0, m0)
    for _ in range(20_000):
        m = np.broadcast_to(m0, (len(perms), D))
        P = np.broadcast_to(P0, (len(perms), D, D))
        losses = []
        for M, c in zip(Ms, cs, strict=True):
            losses.append(0.5 * np.mean(np.einsum("ij,nji->n", H, P[:, :d, :d])))
            Mm = np.einsum("nij,nj->ni", M, m)
            t = np.einsum("ni,nj->nij", Mm, c)
            P = M @ P @ M.transpose(0, 2, 1) + t + t.transpose(0, 2, 1)
            P = P + np.einsum("ni,nj->nij", c, c) + Q
            m = Mm + c
        m_new, P_new = m.mean(axis=0), P.mean(axis=0)
        change = np.max(np.abs(P_new - P0))
        m0, P0 = m_new, P_new
        if change <= tol * np.max(np.abs(P0)):
            return np.array(losses), m0[:d]
    raise AssertionError("epoch moment iteration did not converge")


@pytest.mark.parametrize("optimizer, beta", OPTS)
@pytest.mark.parametrize(
    "n, B, sigma, eta", [(6, 2, 0.0, 0.25), (5, 2, 0.5, 0.25), (4, 1, 0.0, 0.05), (6, 4, 0.3, 0.25)]
)
def test_epoch_matches_brute_force(optimizer, beta, n, B, sigma, eta):
    X, y = make_data(n, 2, seed=n + 3 * B, lams=[1.0, 3.0])
    want, mean = brute_epoch(X, y, eta, beta, B, optimizer, sigma)
    got = MB.stationary_excess_loss_epoch(X, y, eta, beta, B, optimizer, sigma, per_position=True)
    assert got.shape == (n // B,)
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert MB.stationary_excess_loss_epoch(X, y, eta, beta, B, optimizer, sigma) == (
        pytest.approx(want.mean(), rel=1e-9)
    )
    assert MB.stationary_excess_loss_minibatch(X, y, eta, beta, B, optimizer, "epoch", sigma) == (
        pytest.approx(want.mean(), rel=1e-9)
    )
    if B > 1 and n % B == 0 and optimizer == "gd":
        assert np.max(np.abs(mean)) > 1e-4  # reshuffling: the stationary mean is not zero


def test_epoch_chunking_does_not_change_the_result():
    X, y = make_data(6, 2, seed=8, lams=[1.0, 3.0])
    r = y - X @ lstsq(X, y)
    whole = MB._epoch_system(X, r, 0.2, 0.5, 2, "nesterov", 0.3)
    parts = MB._epoch_system(X, r, 0.2, 0.5, 2, "nesterov", 0.3, chunk=7)  # 90 = 12 * 7 + 6
    np.testing.assert_allclose(parts["losses"], whole["losses"], rtol=1e-12)
    np.testing.assert_allclose(parts["P0"], whole["P0"], rtol=1e-12)
    assert parts["radius"] == pytest.approx(whole["radius"], rel=1e-12)


@pytest.mark.parametrize("optimizer, beta", OPTS)
def test_epoch_beats_subset_and_scales_as_eta_squared(optimizer, beta):
    """Random reshuffling: smaller stationary loss than i.i.d. subsets at moderate eta; with
    B | n the noise cancels over an epoch and the loss is O(eta^2) (halving eta quarters it),
    while subset sampling, and reshuffling with a dropped remainder, stay O(eta) (halving eta
    halves it)."""
    X, y = make_data(6, 2, seed=21, lams=[1.0, 3.0])
    for eta in (0.1, 0.05):
        ep = MB.stationary_excess_loss_epoch(X, y, eta, beta, 2, optimizer)
        sub = MB.stationary_excess_loss_minibatch(X, y, eta, beta, 2, optimizer, "subset")
        assert 0 < ep < 0.4 * sub

    def halving(fn, eta=0.004):
        return fn(eta) / fn(eta / 2)

    assert halving(
        lambda e: MB.stationary_excess_loss_epoch(X, y, e, beta, 2, optimizer)
    ) == pytest.approx(4.0, rel=0.02)
    assert halving(
        lambda e: MB.stationary_excess_loss_minibatch(X, y, e, beta, 2, optimizer, "subset")
    ) == pytest.approx(2.0, rel=0.02)
    X7, y7 = make_data(7, 2, seed=22, lams=[1.0, 3.0])  # B = 2: one sample dropped per epoch
    assert halving(
        lambda e: MB.stationary_excess_loss_epoch(X7, y7, e, beta, 2, optimizer)
    ) == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize("optimizer, beta", OPTS)
def test_epoch_with_one_step_per_epoch_is_subset(optimizer, beta):
    """B > n/2: one batch per epoch, a fresh uniform B-subset each time, i.e. "subset"."""
    X, y = make_data(6, 2, seed=23, lams=[1.0, 3.0])
    for B, sigma in ((4, 0.0), (5, 0.3)):
        ep = MB.stationary_excess_loss_epoch(X, y, 0.2, beta, B, optimizer, sigma)
        sub = MB.stationary_excess_loss_minibatch(X, y, 0.2, beta, B, optimizer, "subset", sigma)
        assert ep == pytest.approx(sub, rel=1e-10)
        assert MB.ms_radius(X, y, 0.2, beta, B, optimizer, "epoch") == pytest.approx(
            MB.ms_radius(X, y, 0.2, beta, B, optimizer, "subset"), rel=1e-9
        )


@pytest.mark.parametrize("optimizer, beta", [*OPTS, ("heavy_ball", 0.9)])
@pytest.mark.parametrize(
    "n, B, sigma", [(6, 2, 0.0), (8, 4, 0.0), (4, 1, 0.0), (7, 2, 0.0), (6, 2, 0.4)]
)
def test_small_step_law_epoch(optimizer, beta, n, B, sigma):
    """Reshuffling's small-step law against the exact enumeration: the ratio tends to 1 with
    an O(eta) error (B | n and sigma = 0: the eta^2 law; otherwise the eta law)."""
    X, y = make_data(n, 2, seed=n * B, lams=[1.0, 3.0])
    err = []
    for eta in (1e-3, 1e-4):
        exact = MB.stationary_excess_loss_epoch(X, y, eta, beta, B, optimizer, sigma)
        small = MB.small_step_excess_loss(X, y, eta, B, "epoch", sigma, optimizer, beta)
        assert small == MB.small_step_excess_loss_epoch(X, y, eta, B, sigma, optimizer, beta)
        err.append(abs(exact / small - 1))
    assert err[1] < 2e-3
    assert 5 < err[0] / err[1] < 20


def test_small_step_law_epoch_gd_closed_form():
    """gd, B | n: eta^2 ((m^2-1)/(3(n-1)) tr(H V) + 2 (m-1)^2/(n-1)^2 t^T H^-1 t); with a
    remainder rho: eta tr(V) rho (n-rho) / ((n-1) B^2 m)."""
    for n, B in ((6, 2), (8, 2), (6, 1), (7, 2), (8, 3)):
        X, y = make_data(n, 3, seed=n + B)
        r = y - X @ lstsq(X, y)
        H = 2.0 / n * X.T @ X
        V = sum(r[i] ** 2 * np.outer(X[i], X[i]) for i in range(n)) / n
        t = sum(X[i] @ X[i] * r[i] * X[i] for i in range(n)) / n
        m, rho, eta = n // B, n % B, 0.01
        if rho:
            want = eta * np.trace(V) * rho * (n - rho) / ((n - 1) * B**2 * m)
        else:
            want = eta**2 * (
                (m * m - 1) / (3 * (n - 1)) * np.trace(H @ V)
                + 2 * (m - 1) ** 2 / (n - 1) ** 2 * t @ np.linalg.solve(H, t)
            )
        assert MB.small_step_excess_loss_epoch(X, y, eta, B) == pytest.approx(want, rel=1e-12)
    assert MB.small_step_excess_loss_epoch(X, y, eta, n) == 0.0  # full batch


# ------------------------------------------------------------------------------ Monte Carlo


def simulate(X, y, eta, beta, B, optimizer, sampling, sigma, chains, burn, steps, seed):
    """Plain NumPy SGD, vectorised over independent chains; returns each chain's average
    excess loss over ``steps`` steps after ``burn``."""
    rng = np.random.default_rng(seed)
    n, d = X.shape
    w_hat = lstsq(X, y)
    G = X.T @ X / n
    beta = beta or 0.0
    e = np.zeros((chains, d))
    v = np.zeros((chains, d))
    r = y - X @ w_hat
    acc = np.zeros(chains)
    perm = None
    steps_per_epoch = n // B
    for t in range(burn + steps):
        if sampling == "subset":
            idx = np.argsort(rng.random((chains, n)), axis=1)[:, :B]
        else:
            k = t % steps_per_epoch
            if k == 0:
                perm = np.argsort(rng.random((chains, n)), axis=1)
            idx = perm[:, k * B : (k + 1) * B]
        Xs = X[idx]  # (chains, B, d)
        rs = r[idx]
        xi = sigma * rng.standard_normal((chains, d))

        def grad(u, Xs=Xs, rs=rs, xi=xi):  # (2/B) X_S^T (X_S u - r_S) + noise
            return (2.0 / B) * np.einsum("cbi,cb->ci", Xs, np.einsum("cbi,ci->cb", Xs, u) - rs) + xi

        if t >= burn:
            acc += np.einsum("ci,ij,cj->c", e, G, e)
        if optimizer == "nesterov":
            v = beta * v - eta * grad(e + beta * v)
        else:
            v = beta * v - eta * grad(e)
        e = e + v
    return acc / steps


@pytest.mark.parametrize(
    "sampling, optimizer, beta, B, sigma",
    [("subset", "heavy_ball", 0.5, 2, 0.3), ("epoch", "nesterov", 0.5, 2, 0.0)],
)
def test_monte_carlo(sampling, optimizer, beta, B, sigma):
    n = 6
    X, y = make_data(n, 2, seed=4, lams=[1.0, 3.0], noise=1.0)
    eta = 0.1  # mean-square radius 0.72 per step (subset), 0.14 per epoch (epoch)
    per_chain = simulate(X, y, eta, beta, B, optimizer, sampling, sigma, 2000, 150, 1500, 17)
    est = per_chain.mean()
    se = per_chain.std(ddof=1) / np.sqrt(len(per_chain))
    want = MB.stationary_excess_loss_minibatch(X, y, eta, beta, B, optimizer, sampling, sigma)
    assert abs(est - want) < 3 * se, (est, want, se)
    assert se < 0.02 * want  # the check has teeth


def test_input_validation():
    X, y = make_data(5, 2, seed=0)
    with pytest.raises(ValueError, match="sampling"):
        MB.stationary_excess_loss_minibatch(X, y, 0.1, None, 2, "gd", "random")
    with pytest.raises(ValueError, match="batch size"):
        MB.stationary_excess_loss_minibatch(X, y, 0.1, None, 6, "gd", "subset")
    with pytest.raises(ValueError, match="batch size"):
        MB.gradient_noise_cov(X, y, np.zeros(2), 0, "replacement")
    with pytest.raises(ValueError, match="integer"):
        MB.stationary_excess_loss_epoch(X, y, 0.1, None, 2.5, "gd")
    with pytest.raises(ValueError, match="beta"):
        MB.stationary_excess_loss_minibatch(X, y, 0.1, 0.5, 2, "gd", "subset")
    with pytest.raises(ValueError, match="sigma"):
        MB.stationary_excess_loss_minibatch(X, y, 0.1, None, 2, "gd", "subset", sigma=-1.0)
    with pytest.raises(ValueError, match="rank"):
        MB.stationary_excess_loss_minibatch(np.ones((5, 2)), y, 0.1, None, 2, "gd", "subset")
    with pytest.raises(ValueError, match="sampling"):
        MB.stationary_moments_minibatch(X, y, 0.1, None, 2, "gd", "epoch")
    with pytest.raises(ValueError, match="orderings"):
        MB.stationary_excess_loss_epoch(
            *make_data(9, 2, seed=0), 0.1, None, 1, "gd", max_orderings=1000
        )
    # replacement allows B > n
    assert math.isfinite(
        MB.stationary_excess_loss_minibatch(X, y, 0.1, None, 7, "gd", "replacement")
    )
