"""Tests for fastdescent.theory: closed forms checked against brute force."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fastdescent import theory as T

EPS = np.finfo(np.float64).eps
# Near a double root of z**2 - p z + q the radius is not Lipschitz in (p, q): rounding the
# inputs by eps moves it by ~sqrt(eps) ~ 1.5e-8 (relative). Used wherever a double root is
# hit on purpose (heavy_ball / nesterov optima).
SQRT_EPS_TOL = 8 * np.sqrt(EPS)


def iteration_matrices(optimizer, eta, beta, lam):
    """Stack of 2x2 iteration matrices (gd: 1x1) for 1-d arrays eta, beta, lam."""
    eta, beta, lam = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (eta, beta, lam)))
    h = eta * lam
    if optimizer == "gd":
        return (1.0 - h)[..., None, None]
    M = np.empty((*h.shape, 2, 2))
    if optimizer == "heavy_ball":  # state (w_t, w_{t-1})
        M[..., 0, 0], M[..., 0, 1] = 1.0 + beta - h, -beta
        M[..., 1, 0], M[..., 1, 1] = 1.0, 0.0
    else:  # nesterov, state (w, v)
        M[..., 0, 0], M[..., 0, 1] = 1.0 - h, beta * (1.0 - h)
        M[..., 1, 0], M[..., 1, 1] = -h, beta * (1.0 - h)
    return M


def brute_radius(optimizer, eta, beta, lam):
    return np.abs(np.linalg.eigvals(iteration_matrices(optimizer, eta, beta, lam))).max(axis=-1)


def random_params(rng, n, beta_lo=-1.5, beta_hi=1.5, h_lo=-0.5, h_hi=5.0):
    lam = 10.0 ** rng.uniform(-2, 2, n)
    eta = rng.uniform(h_lo, h_hi, n) / lam
    beta = rng.uniform(beta_lo, beta_hi, n)
    return eta, beta, lam


# --------------------------------------------------------------------------- characteristic


def test_characteristic_known_values():
    assert T.characteristic("gd", 0.1, 0.0, 4.0) == pytest.approx((0.6, 0.0))
    assert T.characteristic("heavy_ball", 0.1, 0.5, 4.0) == pytest.approx((1.1, 0.5))
    assert T.characteristic("nesterov", 0.1, 0.5, 4.0) == pytest.approx((0.9, 0.3))


@pytest.mark.parametrize("optimizer", T.OPTIMIZERS)
def test_characteristic_matches_simulated_update_rules(optimizer):
    """Run the literal update rules; the error must obey w_{t+1} = p w_t - q w_{t-1}."""
    rng = np.random.default_rng(1)
    lam = np.array([0.3, 1.0, 2.5, 7.0])
    eta, beta = 0.2, (0.0 if optimizer == "gd" else 0.7)
    w, v = rng.normal(size=4), np.zeros(4)
    traj = [w.copy()]
    for _ in range(30):
        if optimizer == "gd":
            w = w - eta * lam * w
        elif optimizer == "heavy_ball":
            v = beta * v - eta * lam * w
            w = w + v
        else:
            v = beta * v - eta * lam * (w + beta * v)
            w = w + v
        traj.append(w.copy())
    traj = np.array(traj)
    p, q = T.characteristic(optimizer, eta, beta, lam)
    pred = p * traj[1:-1] - q * traj[:-2]
    np.testing.assert_allclose(traj[2:], pred, rtol=1e-10, atol=1e-12 * np.abs(traj).max())


# --------------------------------------------------------------------------- rate_direction


@pytest.mark.parametrize("optimizer", T.OPTIMIZERS)
def test_rate_direction_matches_eigvals(optimizer):
    rng = np.random.default_rng(2)
    n = 4000
    eta, beta, lam = random_params(rng, n)
    if optimizer == "gd":
        beta = np.zeros(n)
    # Also put points on purpose close to double roots (lam = 1): p ~ 2*sqrt(q)*(1 + 1e-7).
    if optimizer == "heavy_ball":
        b = rng.uniform(0.05, 0.95, 500)
        h = 1 + b - 2 * np.sqrt(b) * (1 + rng.normal(scale=1e-7, size=500))
        eta, beta, lam = np.r_[eta, h], np.r_[beta, b], np.r_[lam, np.ones(500)]
    elif optimizer == "nesterov":
        b = rng.uniform(0.05, 0.95, 500)
        u = 4 * b / (1 + b) ** 2 * (1 + rng.normal(scale=1e-7, size=500))
        eta, beta, lam = np.r_[eta, 1 - u], np.r_[beta, b], np.r_[lam, np.ones(500)]
    got = T.rate_direction(optimizer, eta, beta, lam)
    ref = brute_radius(optimizer, eta, beta, lam)
    p, q = T.characteristic(optimizer, eta, beta, lam)
    # eigvals of a (nearly) defective matrix are only accurate to ~sqrt(eps * |M|**2):
    # within |disc| < 1e-6 * scale**2 of a double root (root separation < 1e-3 * scale) use a
    # loose absolute tolerance; elsewhere the eigenvalue condition number is < ~1e3.
    scale = np.maximum(np.maximum(np.abs(p), np.sqrt(np.abs(q))), 1.0)
    near_double = np.abs(p * p - 4 * q) < 1e-6 * scale**2
    far = ~near_double
    assert far.sum() > 3000
    err = np.abs(got - ref)
    bad = far & (err > 1e-9 * np.abs(ref) + 1e-12 * scale)
    assert not bad.any(), (eta[bad][:5], beta[bad][:5], lam[bad][:5], err[bad][:5])
    np.testing.assert_allclose(got[near_double], ref[near_double], rtol=0, atol=1e-6)
    if optimizer != "gd":
        assert near_double.sum() >= 400


def test_rate_direction_exact_near_double_root():
    """Inputs chosen so that p and disc = p*p - 4q are exact in float64 (p = 1 +- 2**-44,
    q = 1/4): the real/complex branch must be taken on the sign of disc, with no threshold.
    """
    d = 2.0**-44
    eta = np.array([0.25 - d, 0.25 + d, 0.25])  # heavy_ball, beta = 1/4, lam = 1
    got = T.rate_direction("heavy_ball", eta, 0.25, 1.0)
    p = 1.0 + d
    real = 0.5 * (p + np.sqrt(2 * d + d * d))  # disc = 2**-43 + 2**-88 ~ 1e-13
    np.testing.assert_allclose(got, [real, 0.5, 0.5], rtol=1e-15)
    assert got[0] - 0.5 > 1.6e-7  # the double-root sensitivity itself: sqrt(2**-43)/2


def test_rate_direction_gd_closed_form_and_shapes():
    eta = np.linspace(-1, 3, 7)[:, None]
    lam = np.array([0.5, 1.0, 2.0])
    got = T.rate_direction("gd", eta, 0.0, lam)
    assert got.shape == (7, 3)
    np.testing.assert_allclose(got, np.abs(1 - eta * lam), rtol=0, atol=1e-15)
    r = T.rate_direction("heavy_ball", 0.1, 0.5, 1.0)
    assert np.ndim(r) == 0 and isinstance(r, np.floating)


# --------------------------------------------------------------------------- rate


@pytest.mark.parametrize("optimizer", T.OPTIMIZERS)
@pytest.mark.parametrize("beta_range", [(0.0, 1.0), (-1.5, 1.5)])
def test_rate_is_max_over_dense_grid(optimizer, beta_range):
    """Quasi-convexity: the max over [mu, L] of the per-direction radius is at an endpoint."""
    rng = np.random.default_rng(3)
    n, m = 300, 2001
    mu = 10.0 ** rng.uniform(-2, 1, n)
    L = mu * 10.0 ** rng.uniform(0, 3, n)
    eta = rng.uniform(0, 5, n) / L
    eta[:30] = -eta[:30]  # a few negative step sizes too
    beta = np.zeros(n) if optimizer == "gd" else rng.uniform(*beta_range, n)
    t = np.linspace(0.0, 1.0, m)
    lam = mu[:, None] + t * (L - mu)[:, None]
    grid = T.rate_direction(optimizer, eta[:, None], beta[:, None], lam)
    got = T.rate(optimizer, eta, beta, mu, L)
    interior_max = grid[:, 1:-1].max(axis=1)
    assert np.all(interior_max <= got * (1 + 1e-12) + 1e-15)
    np.testing.assert_allclose(got, grid.max(axis=1), rtol=1e-14)
    # The interior max really approaches the endpoint max somewhere (test is not vacuous).
    assert np.any(interior_max > 0.999 * got)


@settings(max_examples=150, deadline=None, database=None)
@given(
    opt=st.sampled_from(["heavy_ball", "nesterov"]),
    h=st.floats(0.0, 6.0),
    beta=st.floats(0.0, 0.999),
    logk=st.floats(0.0, 4.0),
)
def test_rate_quasiconvex_hypothesis(opt, h, beta, logk):
    mu, L = 1.0, 10.0**logk
    eta = h / L
    lam = np.linspace(mu, L, 501)
    ref = brute_radius(opt, np.full(lam.shape, eta), np.full(lam.shape, beta), lam).max()
    # brute force uses eigvals (sqrt(eps)-accurate at double roots)
    assert T.rate(opt, eta, beta, mu, L) == pytest.approx(ref, rel=1e-7, abs=1e-7)


# --------------------------------------------------------------------------- stability


@pytest.mark.parametrize("optimizer", T.OPTIMIZERS)
def test_stable_matches_brute_force(optimizer):
    rng = np.random.default_rng(4)
    n, m = 1500, 81
    mu = 10.0 ** rng.uniform(-2, 1, n)
    L = mu * 10.0 ** rng.uniform(0, 2, n)
    eta = rng.uniform(-0.3, 5, n) / L
    beta = np.zeros(n) if optimizer == "gd" else rng.uniform(-1.5, 1.5, n)
    lam = mu[:, None] + np.linspace(0, 1, m) * (L - mu)[:, None]
    e, b = np.broadcast_arrays(eta[:, None], beta[:, None], lam)[:2]
    radius = brute_radius(optimizer, e.ravel(), b.ravel(), lam.ravel()).reshape(n, m).max(axis=1)
    got = T.stable(optimizer, eta, beta, mu, L)
    assert got.dtype == np.bool_ and got.shape == (n,)
    clear = np.abs(radius - 1) > 1e-9  # eigvals are not trusted right at the boundary
    np.testing.assert_array_equal(got[clear], radius[clear] < 1)
    assert 0.1 * n < got.sum() < 0.9 * n  # both classes well represented


@settings(max_examples=200, deadline=None, database=None)
@given(
    opt=st.sampled_from(T.OPTIMIZERS),
    h=st.floats(-0.5, 6.0),
    ratio=st.floats(1e-4, 1.0),
    beta=st.floats(0.0, 0.999),
)
def test_stable_closed_form_for_beta_in_unit_interval(opt, h, ratio, beta):
    """For beta in [0, 1): stable <=> 0 < eta < stability_limit (any mu in (0, L])."""
    if opt == "gd":
        beta = 0.0
    L = 3.0
    mu, eta = ratio * L, h / L
    limit = T.stability_limit(opt, beta, L)
    # On the boundary (or with eta*lam below rounding, where 1 - eta*lam == 1) rounding decides.
    assume(abs(eta / limit - 1) > 1e-9 and abs(h) > 1e-9)
    assert bool(T.stable(opt, eta, beta, mu, L)) == (0 < eta < limit)


@pytest.mark.parametrize("optimizer", T.OPTIMIZERS)
def test_stability_limit_is_the_boundary(optimizer):
    rng = np.random.default_rng(5)
    beta = np.zeros(200) if optimizer == "gd" else rng.uniform(0, 0.99, 200)
    L = 10.0 ** rng.uniform(-2, 3, 200)
    mu = L * rng.uniform(0.001, 1, 200)
    lim = T.stability_limit(optimizer, beta, L)
    below, above = lim * (1 - 1e-6), lim * (1 + 1e-6)
    assert np.all(brute_radius(optimizer, below, beta, L) < 1)
    assert np.all(brute_radius(optimizer, above, beta, L) > 1)
    assert np.all(T.stable(optimizer, below, beta, mu, L))
    assert not np.any(T.stable(optimizer, above, beta, mu, L))
    np.testing.assert_allclose(T.rate_direction(optimizer, lim, beta, L), 1.0, rtol=1e-9)
    expected = {"gd": 2 / L, "heavy_ball": 2 * (1 + beta) / L}.get(
        optimizer, 2 * (1 + beta) / ((1 + 2 * beta) * L)
    )
    np.testing.assert_allclose(lim, expected, rtol=1e-15)
    # Lower end: eta <= 0 never contracts.
    assert not np.any(T.stable(optimizer, 0.0, beta, mu, L))
    assert not np.any(T.stable(optimizer, -1e-3 / L, beta, mu, L))


def test_gd_on_x2_plus_3y2():
    """f = x^2 + 3 y^2 has Hessian eigenvalues 2 and 6."""
    eta, beta, rho = T.optimal("gd", 2.0, 6.0)
    assert eta == pytest.approx(0.25) and beta == 0 and rho == pytest.approx(0.5)
    assert T.stability_limit("gd", 0.0, 6.0) == pytest.approx(1 / 3)
    assert T.stable("gd", 0.33, 0.0, 2.0, 6.0)
    assert not T.stable("gd", 1 / 3, 0.0, 2.0, 6.0)  # |1 - 6/3| = 1: no contraction
    assert T.rate("gd", 1 / 3, 0.0, 2.0, 6.0) == pytest.approx(1.0)
    assert not T.stable("gd", 0.34, 0.0, 2.0, 6.0)
    assert T.rate("gd", 0.34, 0.0, 2.0, 6.0) > 1
    # Simulate: at eta* the error shrinks by exactly 0.5 per step in both coordinates.
    w = np.array([1.0, 1.0])
    for _ in range(20):
        w = w - 0.25 * np.array([2.0, 6.0]) * w
    np.testing.assert_allclose(np.abs(w), 0.5**20, rtol=1e-12)
    w = np.array([1.0, 1.0])
    for _ in range(200):
        w = w - 0.34 * np.array([2.0, 6.0]) * w
    assert abs(w[1]) > 1.0


# --------------------------------------------------------------------------- optimal


KAPPAS = [3.0, 10.0, 100.0, 1e4]


@pytest.mark.parametrize("optimizer", T.OPTIMIZERS)
@pytest.mark.parametrize("kappa", KAPPAS)
def test_optimal_rate_is_attained(optimizer, kappa):
    mu, L = 0.5, 0.5 * kappa
    eta, beta, rho = T.optimal(optimizer, mu, L)
    p_mu, q_mu = T.characteristic(optimizer, eta, beta, mu)
    p_L, q_L = T.characteristic(optimizer, eta, beta, L)
    if optimizer == "gd":
        assert beta == 0
        np.testing.assert_allclose(T.rate(optimizer, eta, beta, mu, L), rho, rtol=1e-9)
        np.testing.assert_allclose([1 - eta * mu, eta * L - 1], rho, rtol=1e-9)
        return
    # Well-conditioned pieces to 1e-9:
    if optimizer == "heavy_ball":  # double roots at both ends: p = +-2 sqrt(beta)
        np.testing.assert_allclose(np.sqrt(beta), rho, rtol=1e-9)
        np.testing.assert_allclose([p_mu, -p_L], 2 * np.sqrt(q_mu), rtol=1e-9)
    else:  # double root at mu; at L the roots are -rho and rho/3 (distinct)
        np.testing.assert_allclose(np.sqrt(q_mu), rho, rtol=1e-9)
        np.testing.assert_allclose(p_mu, 2 * np.sqrt(q_mu), rtol=1e-9)
        np.testing.assert_allclose(T.rate_direction(optimizer, eta, beta, L), rho, rtol=1e-9)
        np.testing.assert_allclose(np.roots([1, -p_L, q_L]), [-rho, rho / 3], rtol=1e-9)
    # The full rate passes through a double root: sqrt(eps)-level agreement only.
    np.testing.assert_allclose(T.rate(optimizer, eta, beta, mu, L), rho, rtol=SQRT_EPS_TOL)


def _brute_minimise(optimizer, mu, L):
    """Global grid over (eta*L, beta) in (0, 4.5) x [0, 1), then a shrinking random search.

    Random (not grid) local refinement: the sublevel sets of the rate are thin wedges near
    the optimum (e.g. heavy_ball at kappa=1e4), which a zooming grid can step over.
    """
    h = np.linspace(1e-3, 4.5, 451)[:, None]
    b = (np.linspace(0.0, 0.999, 334) if optimizer != "gd" else np.zeros(1))[None, :]
    r = T.rate(optimizer, h / L, b, mu, L)
    i, j = np.unravel_index(np.argmin(r), r.shape)
    best, h0, b0 = r[i, j], h[i, 0], b[0, j]
    grid_best = best
    rng = np.random.default_rng(6)
    dh, db = 0.02, (0.01 if optimizer != "gd" else 0.0)
    for _ in range(150):
        hs = h0 + dh * rng.uniform(-1, 1, 2000)
        bs = np.clip(b0 + db * rng.uniform(-1, 1, 2000), 0.0, 1 - 1e-12)
        rs = T.rate(optimizer, hs / L, bs, mu, L)
        k = np.argmin(rs)
        if rs[k] < best:
            best, h0, b0 = rs[k], hs[k], bs[k]
        else:
            dh, db = 0.8 * dh, 0.8 * db
    return grid_best, best, h0 / L, b0


@pytest.mark.parametrize("optimizer", T.OPTIMIZERS)
@pytest.mark.parametrize("kappa", KAPPAS)
def test_optimal_beats_brute_force_search(optimizer, kappa):
    mu, L = 2.0, 2.0 * kappa
    eta, beta, rho = T.optimal(optimizer, mu, L)
    grid_best, best, eta_b, beta_b = _brute_minimise(optimizer, mu, L)
    # Rounding near the double roots can under-report a rate by ~sqrt(eps).
    assert grid_best >= rho - SQRT_EPS_TOL
    assert best >= rho - SQRT_EPS_TOL
    assert best <= rho + 1e-9  # and the search does get there ...
    np.testing.assert_allclose([eta_b, beta_b], [eta, beta], rtol=1e-6, atol=1e-9)  # ... here


@pytest.mark.parametrize(
    ("optimizer", "kappa", "rho"),
    [
        ("gd", 3.0, 0.5),
        ("gd", 100.0, 99 / 101),
        ("heavy_ball", 100.0, 9 / 11),
        ("heavy_ball", 1.0, 0.0),
        ("nesterov", 100.0, 1 - 2 / np.sqrt(301)),
        ("nesterov", 1.0, 0.0),
    ],
)
def test_optimal_known_values(optimizer, kappa, rho):
    assert T.optimal(optimizer, 1.0, kappa)[2] == pytest.approx(rho, rel=1e-12, abs=1e-15)


def test_optimal_known_hyperparameters():
    assert T.optimal("gd", 1.0, 3.0) == pytest.approx((0.5, 0.0, 0.5))
    eta, beta, _ = T.optimal("heavy_ball", 1.0, 100.0)
    assert (eta, beta) == pytest.approx((4 / 121, (9 / 11) ** 2))
    eta, beta, _ = T.optimal("nesterov", 1.0, 100.0)
    assert (eta, beta) == pytest.approx((4 / 301, (np.sqrt(301) - 2) / (np.sqrt(301) + 2)))


def test_optimal_broadcasts_and_orders_methods():
    mu = np.array([[1.0], [2.0]])
    L = np.array([3.0, 30.0, 3000.0])
    rhos = {}
    for opt in T.OPTIMIZERS:
        eta, beta, rho = T.optimal(opt, mu, L)
        assert eta.shape == beta.shape == rho.shape == (2, 3)
        rhos[opt] = rho
    # Polyak's heavy ball < Nesterov < gd for every kappa > 1.
    assert np.all(rhos["heavy_ball"] < rhos["nesterov"])
    assert np.all(rhos["nesterov"] < rhos["gd"])


# --------------------------------------------------------------------------- validation


def test_validation_messages():
    with pytest.raises(ValueError, match=r"unknown optimizer 'adam'.*gd.*heavy_ball.*nesterov"):
        T.rate("adam", 0.1, 0.0, 1.0, 2.0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        T.optimal("sgd", 1.0, 2.0)
    with pytest.raises(ValueError, match="beta must be 0"):
        T.rate_direction("gd", 0.1, 0.5, 1.0)
    with pytest.raises(ValueError, match="beta must be 0"):
        T.stable("gd", 0.1, np.array([0.0, 0.1]), 1.0, 2.0)
    with pytest.raises(ValueError, match="lambda_min must be > 0"):
        T.rate("heavy_ball", 0.1, 0.5, 0.0, 2.0)
    with pytest.raises(ValueError, match="lambda_min must be > 0"):
        T.optimal("nesterov", np.array([1.0, -1.0]), 2.0)
    with pytest.raises(ValueError, match="lambda_min must be <= lambda_max"):
        T.stable("nesterov", 0.1, 0.5, 3.0, 2.0)
    with pytest.raises(ValueError, match="finite"):
        T.rate("gd", 0.1, 0.0, 1.0, np.inf)
    with pytest.raises(ValueError, match=r"beta in \[0, 1\)"):
        T.stability_limit("heavy_ball", 1.0, 2.0)
    with pytest.raises(ValueError, match="lambda_max must be finite and > 0"):
        T.stability_limit("gd", 0.0, -1.0)
    # Valid edge cases do not raise: gd with beta=0 or None, mu == L.
    assert T.rate("gd", 0.1, None, 1.0, 1.0) == pytest.approx(0.9)
    assert T.characteristic("gd", 0.1, np.zeros(3), 1.0)[0].shape == (3,)
