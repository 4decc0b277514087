"""Tests for the stationary loss under additive gradient noise (fastdescent.theory.noise).

Closed forms are checked against (1) a numerical solve of the discrete Lyapunov equation of
the literal update rules and (2) a Monte-Carlo simulation of many independent chains.
"""

import numpy as np
import pytest

from fastdescent import theory as T
from fastdescent.theory import noise as theory_noise


def state_space(optimizer, eta, beta, lam, sigma):
    """(M, c) with x_{t+1} = M x_t + c xi_t, xi_t ~ N(0, 1), for the state x = (w, v) of
    the literal update rules (gd: x = (w,)). 1-d inputs of equal length n; M is (n, k, k),
    c is (n, k)."""
    h, u, s = eta * lam, 1.0 - eta * lam, -eta * sigma
    n = len(h)
    if optimizer == "gd":  # w' = w - eta*(lam*w + sigma*xi)
        return u.reshape(n, 1, 1), s.reshape(n, 1)
    # heavy_ball: v' = beta*v - eta*(lam*w + sigma*xi);             w' = w + v'
    # nesterov:   v' = beta*v - eta*(lam*(w + beta*v) + sigma*xi);  w' = w + v'
    bv = beta if optimizer == "heavy_ball" else beta * u
    M = np.empty((n, 2, 2))
    M[:, 0, 0], M[:, 0, 1] = u, bv  # w' = w + v' = (1 - h) w + bv v + s xi
    M[:, 1, 0], M[:, 1, 1] = -h, bv
    return M, np.stack([s, s], axis=-1)  # the noise enters v' and hence w'


def lyapunov(M, c):
    """Solve S = M S M^T + c c^T for the stationary covariance: vec(S) = (I - M (x) M)^-1
    vec(c c^T) (row-major vec: vec(M S M^T) = (M (x) M) vec(S)). Batched over axis 0."""
    n, k, _ = M.shape
    kron = np.einsum("nij,nkl->nikjl", M, M).reshape(n, k * k, k * k)
    rhs = np.einsum("ni,nj->nij", c, c).reshape(n, k * k)
    S = np.linalg.solve(np.eye(k * k) - kron, rhs[..., None])[..., 0]
    return S.reshape(n, k, k)


def random_stable(rng, optimizer, n, max_radius=0.995):
    """Random (eta, beta, lam) whose direction lam has spectral radius <= max_radius."""
    lam = 10.0 ** rng.uniform(-2, 2, n)
    beta = np.zeros(n) if optimizer == "gd" else rng.uniform(-0.9, 0.99, n)
    if optimizer != "gd":
        beta[: n // 2] = rng.uniform(0, 0.99, n // 2)  # the usual range, well covered
    eta = rng.uniform(0, 4.5, n) / lam
    keep = T.rate_direction(optimizer, eta, beta, lam) <= max_radius
    return eta[keep], beta[keep], lam[keep]


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("optimizer", T.OPTIMIZERS)
def test_stationary_variance_matches_lyapunov_solve(optimizer):
    rng = np.random.default_rng(20)
    eta, beta, lam = random_stable(rng, optimizer, 6000)
    assert len(eta) > 1000
    sigma = 10.0 ** rng.uniform(-3, 1, len(eta))
    S = lyapunov(*state_space(optimizer, eta, beta, lam, sigma))
    got = T.stationary_variance(optimizer, eta, beta, lam, sigma)
    # The Kronecker system has condition number ~ 1/(1 - rho**2) <= ~100 (rho <= 0.995).
    np.testing.assert_allclose(got, S[:, 0, 0], rtol=1e-9)
    np.testing.assert_allclose(
        T.stationary_loss(optimizer, eta, beta, lam[:, None], sigma),  # n spectra of size 1
        0.5 * lam * S[:, 0, 0],
        rtol=1e-9,
    )


def test_heavy_ball_lyapunov_in_w_t_w_t_minus_1_coordinates():
    """The brief's state (w_t, w_{t-1}): M = [[1 + beta - eta*lam, -beta], [1, 0]], noise
    (-eta*sigma, 0); also iterate the covariance recursion to convergence."""
    rng = np.random.default_rng(21)
    eta, beta, lam = random_stable(rng, "heavy_ball", 400, max_radius=0.95)
    sigma = rng.uniform(0.1, 2.0, len(eta))
    M = np.zeros((len(eta), 2, 2))
    M[:, 0, 0], M[:, 0, 1], M[:, 1, 0] = 1 + beta - eta * lam, -beta, 1.0
    c = np.stack([-eta * sigma, np.zeros_like(eta)], axis=-1)
    S = lyapunov(M, c)
    expected = (  # the known closed form, written out literally
        eta**2 * sigma**2 * (1 + beta) / ((1 - beta) * eta * lam * (2 * (1 + beta) - eta * lam))
    )
    got = T.stationary_variance("heavy_ball", eta, beta, lam, sigma)
    np.testing.assert_allclose(S[:, 0, 0], expected, rtol=1e-9)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    cc = np.einsum("ni,nj->nij", c, c)
    P = np.zeros_like(M)
    for _ in range(1000):  # 0.95**2000 ~ 1e-45
        P = M @ P @ np.swapaxes(M, 1, 2) + cc
    np.testing.assert_allclose(got, P[:, 0, 0], rtol=1e-10)


def test_closed_forms_per_direction():
    eta, lam, sigma = 0.3, np.array([0.5, 1.0, 3.0, 4.5]), 0.7  # stable: eta*L = 1.35
    h = eta * lam
    gd_var = eta**2 * sigma**2 / (1 - (1 - h) ** 2)
    np.testing.assert_allclose(T.stationary_variance("gd", eta, 0.0, lam, sigma), gd_var)
    np.testing.assert_allclose(gd_var, eta * sigma**2 / (lam * (2 - h)))
    assert T.stationary_loss("gd", eta, None, lam, sigma) == pytest.approx(
        np.sum(eta * sigma**2 / (2 * (2 - h))), rel=1e-14
    )
    b = 0.6
    hb = eta * sigma**2 * (1 + b) / (2 * (1 - b) * (2 * (1 + b) - h))
    np.testing.assert_allclose(
        T.stationary_variance("heavy_ball", eta, b, lam, sigma) * 0.5 * lam, hb, rtol=1e-14
    )
    u = 1 - h
    nes = eta * sigma**2 * (1 + b * u) / (2 * (1 - b * u) * (2 * (1 + b) - (1 + 2 * b) * h))
    assert T.stationary_loss("nesterov", eta, b, lam, sigma) == pytest.approx(nes.sum(), rel=1e-14)
    # beta = 0 reduces both momentum methods to gd; small eta*lam: ~ eta*sigma^2/4 per direction
    for opt in ("heavy_ball", "nesterov"):
        np.testing.assert_allclose(
            T.stationary_variance(opt, eta, 0.0, lam, sigma), gd_var, rtol=1e-14
        )
    assert T.stationary_loss("gd", 1e-8, 0.0, [1.0], 1.0) == pytest.approx(1e-8 / 4, rel=1e-7)


# --------------------------------------------------------------------------- Monte Carlo


def simulate_final(optimizer, eta, beta, lam, sigma, n_chains, steps, rng):
    """w_T of n_chains independent runs of the literal update rules from w = v = 0.
    Returns (n_chains, len(lam))."""
    w = np.zeros((n_chains, len(lam)))
    v = np.zeros_like(w)
    for _ in range(steps):
        g_noise = sigma * rng.standard_normal(w.shape)
        if optimizer == "gd":
            w = w - eta * (lam * w + g_noise)
        elif optimizer == "heavy_ball":
            v = beta * v - eta * (lam * w + g_noise)
            w = w + v
        else:
            v = beta * v - eta * (lam * (w + beta * v) + g_noise)
            w = w + v
    return w


# (optimizer, eta, beta, lam, sigma, alternatives: plausible wrong per-direction losses
# that the test must reject, i.e. evidence that it can fail)
MC_CASES = [
    ("gd", 0.5, 0.0, [0.3, 1.0, 3.0], 0.5, {"eta*sigma^2/4": lambda e, b, h: e / 4 + 0 * h}),
    (
        "heavy_ball",
        0.1,
        0.8,
        [0.5, 2.0, 10.0, 25.0],
        1.0,
        {
            # gd's formula with the "effective step" eta / (1 - beta)
            "gd(eta/(1-beta))": lambda e, b, h: (e / (1 - b)) / (2 * (2 - h / (1 - b))),
            # the heavy-ball form without the (1 + beta) factor
            "no (1+beta)": lambda e, b, h: e / (2 * (1 - b) * (2 * (1 + b) - h)),
        },
    ),
    (
        "nesterov",
        0.15,
        0.7,
        [0.5, 2.0, 6.0, 9.0],
        2.0,
        {
            # heavy ball's formula at the same (eta, beta)
            "heavy_ball's": lambda e, b, h: e * (1 + b) / (2 * (1 - b) * (2 * (1 + b) - h)),
        },
    ),
]


@pytest.mark.parametrize(("optimizer", "eta", "beta", "lam", "sigma", "alternatives"), MC_CASES)
def test_stationary_loss_matches_monte_carlo(optimizer, eta, beta, lam, sigma, alternatives):
    """Tolerance. Started from w = v = 0, the system is linear with Gaussian noise, so w_T
    of each chain is exactly N(0, V_T) per direction, directions and chains independent, and
    V_T = V_inf - O(rho**(2T)). With N chains, mean_k(w_T,i**2) has mean V_T,i and variance
    2 V_T,i**2 / N (chi-square), hence
        loss_hat = mean_k sum_i 0.5 lam_i w_T,i**2,  SE = sqrt(sum_i (0.5 lam_i)**2 2 V_i**2 / N),
    and loss_hat is, by the CLT over N * d chi-square terms, close to Gaussian. We accept
    |loss_hat - loss| < 5 SE (two-sided false-alarm probability 6e-7 per check; the seed is
    fixed anyway), and the same per direction with SE_i = sqrt(2/N) V_i. T is chosen so that
    rho**T <= 1e-7: the bias, ~rho**(2T) relative, is < 1e-10, far below SE (~1e-2).
    """
    lam = np.asarray(lam)
    n_chains = 20000
    rho = T.rate(optimizer, eta, beta, lam.min(), lam.max())
    assert rho < 0.97
    steps = int(np.ceil(np.log(1e-7) / np.log(rho)))
    rng = np.random.default_rng(22)
    w = simulate_final(optimizer, eta, beta, lam, sigma, n_chains, steps, rng)

    var = T.stationary_variance(optimizer, eta, beta, lam, sigma)
    var_hat = np.mean(w * w, axis=0)
    np.testing.assert_array_less(np.abs(var_hat - var), 5 * np.sqrt(2 / n_chains) * var)

    loss = T.stationary_loss(optimizer, eta, beta, lam, sigma)
    se = np.sqrt(np.sum((0.5 * lam) ** 2 * 2 * var**2 / n_chains))
    loss_hat = np.mean(np.sum(0.5 * lam * w * w, axis=1))
    assert abs(loss_hat - loss) < 5 * se, (loss_hat, loss, se)
    assert se < 0.02 * loss  # the check is tight
    # ... tight enough to reject plausible wrong formulas
    for name, alt in alternatives.items():
        wrong = np.sum(sigma**2 * alt(eta, beta, eta * lam))
        assert abs(loss_hat - wrong) > 10 * se, name


# --------------------------------------------------------------------------- unstable, shapes


@pytest.mark.parametrize("optimizer", T.OPTIMIZERS)
def test_inf_exactly_where_unstable(optimizer):
    rng = np.random.default_rng(23)
    n = 4000
    lam = 10.0 ** rng.uniform(-1, 1, n)
    eta = rng.uniform(-0.2, 5.0, n) / lam
    beta = np.zeros(n) if optimizer == "gd" else rng.uniform(-1.2, 1.2, n)
    got = T.stationary_variance(optimizer, eta, beta, lam, 0.3)
    ok = T.stable(optimizer, eta, beta, lam, lam)
    assert 0.2 < ok.mean() < 0.8
    np.testing.assert_array_equal(np.isinf(got), ~ok)
    assert np.all(np.isfinite(got[ok]) & (got[ok] > 0))
    # at the boundary (radius exactly 1) it is inf, and it blows up approaching it
    limit = T.stability_limit(optimizer, 0.5 if optimizer != "gd" else 0.0, 2.0)
    b = 0.5 if optimizer != "gd" else 0.0
    assert T.stationary_loss(optimizer, limit, b, [2.0], 1.0) == np.inf
    assert T.stationary_loss(optimizer, limit * (1 - 1e-9), b, [2.0], 1.0) > 1e7
    # sigma = 0: 0 where stable, inf where not
    zero = T.stationary_variance(optimizer, eta, beta, lam, 0.0)
    np.testing.assert_array_equal(zero, np.where(ok, 0.0, np.inf))


def test_shapes_and_summation():
    lam = np.array([0.5, 1.0, 4.0])
    eta = np.array([0.05, 0.1, 0.2, 0.3])[:, None]
    beta = np.array([0.0, 0.5, 0.9])
    got = T.stationary_loss("heavy_ball", eta, beta, lam, 1.5)
    assert got.shape == (4, 3) and got.dtype == np.float64
    per_dir = (
        0.5 * lam * T.stationary_variance("heavy_ball", eta[..., None], beta[:, None], lam, 1.5)
    )
    np.testing.assert_allclose(got, per_dir.sum(axis=-1), rtol=1e-14)
    # eta * L = 0.3 * 4 = 1.2 < 2(1 + beta): all stable
    assert np.all(np.isfinite(got))
    # a batch of spectra on the trailing axis, one per row
    spectra = np.array([[1.0, 2.0], [1.0, 50.0]])
    r = T.stationary_loss("gd", np.array([0.1, 0.1]), 0.0, spectra, 1.0)
    assert r.shape == (2,) and np.isfinite(r[0]) and r[1] == np.inf  # 0.1 * 50 > 2
    # scalars in, NumPy scalar out; same function from both modules
    s = T.stationary_loss("nesterov", 0.1, 0.5, [1.0, 2.0], 1.0)
    assert np.ndim(s) == 0 and isinstance(s, np.floating)
    assert T.stationary_loss is theory_noise.stationary_loss
    assert isinstance(T.stationary_variance("gd", 0.1, None, 1.0, 1.0), np.floating)


def test_validation_messages():
    with pytest.raises(ValueError, match="last axis"):
        T.stationary_loss("gd", 0.1, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="at least one eigenvalue"):
        T.stationary_loss("gd", 0.1, 0.0, [], 1.0)
    with pytest.raises(ValueError, match="lam must be finite and > 0"):
        T.stationary_loss("heavy_ball", 0.1, 0.5, [1.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="lam must be finite and > 0"):
        T.stationary_variance("heavy_ball", 0.1, 0.5, np.inf, 1.0)
    with pytest.raises(ValueError, match="sigma"):
        T.stationary_loss("gd", 0.1, 0.0, [1.0], -1.0)
    with pytest.raises(ValueError, match="finite"):
        T.stationary_loss("nesterov", np.nan, 0.5, [1.0], 1.0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        T.stationary_loss("adam", 0.1, 0.5, [1.0], 1.0)
    with pytest.raises(ValueError, match="beta must be 0"):
        T.stationary_loss("gd", 0.1, 0.5, [1.0], 1.0)


@pytest.mark.parametrize(
    ("optimizer", "eta", "beta"),
    [("gd", 0.05, None), ("gd", 0.2, None), ("heavy_ball", 0.05, 0.5), ("nesterov", 0.1, 0.7)],
)
def test_escape_steps_against_a_monte_carlo_of_the_recursion(optimizer, eta, beta):
    """Mean first step with |y_t| > R of the exact noisy recursion on f = -y^2 (lam = -2)
    from y_0 = 0, 4,000 runs: within 3 standard errors (and 1 %) of escape_steps."""
    rng = np.random.default_rng(7)
    lam, sigma, radius = -2.0, 1e-3, 1e3
    b = 0.0 if beta is None else beta
    y = np.zeros(4000)
    v = np.zeros_like(y)
    first = np.full(y.shape, -1)
    for t in range(1, 2000):
        point = y + b * v if optimizer == "nesterov" else y
        g = lam * point + sigma * rng.standard_normal(y.shape)
        v = b * v - eta * g
        y = y + v
        first[(first < 0) & (np.abs(y) > radius)] = t
        if (first > 0).all():
            break
    assert (first > 0).all()
    want = T.escape_steps(optimizer, eta, beta, lam, sigma, radius)
    se = first.std() / np.sqrt(len(first))
    assert abs(first.mean() - want) < 3 * se, (first.mean(), want, se)
    assert abs(first.mean() / want - 1) < 0.01
