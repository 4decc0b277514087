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


# --------------------------------------------------------------------------- heavy-ball regions

HB = {name: code for code, name in enumerate(T.HB_REGIONS)}
RG = {name: code for code, name in enumerate(T.REGIONS)}


def random_spectra(rng, n, h_hi=4.5, beta_lo=0.0, beta_hi=1.0, log_kappa_hi=2.0, knife=0.25):
    """Random (eta, beta, mu, L); the last `knife` fraction has eta*L in heavy ball's
    (narrow) knife's-edge band ((1 + sqrt(b))**2, 2(1 + b)), b = max(beta, 0)."""
    mu = 10.0 ** rng.uniform(-2, 1, n)
    L = mu * 10.0 ** rng.uniform(0, log_kappa_hi, n)
    eta = rng.uniform(0, h_hi, n) / L
    beta = rng.uniform(beta_lo, beta_hi, n)
    k = n - int(knife * n)
    b = np.maximum(beta[k:], 0)
    eta[k:] = rng.uniform((1 + np.sqrt(b)) ** 2, 2 * (1 + b)) / L[k:]
    return eta, beta, mu, L


def pedregosa_r(eta, beta, lam):
    """sqrt(beta) * (|s| + sqrt(s**2 - 1)), s = (1 + beta - eta*lam) / (2 sqrt(beta)), beta > 0."""
    s = (1 + beta - eta * lam) / (2 * np.sqrt(beta))
    real = np.sqrt(beta) * (np.abs(s) + np.sqrt(np.maximum(s * s - 1, 0)))
    return np.where(np.abs(s) <= 1, np.sqrt(beta), real)


def test_heavy_ball_rate_chebyshev_equals_rate():
    rng = np.random.default_rng(10)
    n = 20000
    eta, beta, mu, L = random_spectra(rng, n, h_hi=5.0, log_kappa_hi=3.0)
    beta[:2000] = 0.0  # gd: max |1 - eta*lam|
    got = T.heavy_ball_rate_chebyshev(eta, beta, mu, L)
    assert got.dtype == np.float64 and got.shape == (n,)
    ref = T.rate("heavy_ball", eta, beta, mu, L)
    # Away from double roots both are accurate to a few ulps. Within |disc| < 1e-6 of one (p
    # and disc = p*p - 4q carry absolute rounding errors ~eps, and rho moves by
    # d(disc) / (4 sqrt(disc))) the two float64 evaluations may differ by ~1e-11 or more.
    near = np.zeros(n, dtype=bool)
    for lam in (mu, L):
        p, q = T.characteristic("heavy_ball", eta, beta, lam)
        near |= np.abs(p * p - 4 * q) < 1e-6
    assert 0 < near.sum() < 0.02 * n
    np.testing.assert_allclose(got[~near], ref[~near], rtol=1e-12)
    np.testing.assert_allclose(got[near], ref[near], rtol=SQRT_EPS_TOL)
    gd = np.maximum(np.abs(1 - eta[:2000] * mu[:2000]), np.abs(1 - eta[:2000] * L[:2000]))
    np.testing.assert_allclose(got[:2000], gd, rtol=1e-14)
    # The region table itself, with r(lam) in Pedregosa's sigma form (beta > 0).
    code = T.heavy_ball_regions(eta, beta, mu, L)
    b, e, m, l_, g, c = beta[2000:], eta[2000:], mu[2000:], L[2000:], got[2000:], code[2000:]
    robust, lazy, knife = c == HB["robust"], c == HB["lazy"], c == HB["knife_edge"]
    np.testing.assert_allclose(g[robust], np.sqrt(b[robust]), rtol=1e-15)
    for sel, lam in ((lazy, m), (knife, l_)):
        for part, tol in ((~near[2000:], 1e-12), (near[2000:], SQRT_EPS_TOL)):
            k = sel & part
            np.testing.assert_allclose(g[k], pedregosa_r(e[k], b[k], lam[k]), rtol=tol)
    assert np.all(g[c == HB["divergent"]] >= 1 - 1e-12)
    assert min(robust.sum(), lazy.sum(), knife.sum()) > 500


def hb_brute_labels(eta, beta, mu, L, m=101):
    """Label from eigenvalues of [[1+beta-eta*lam, -beta], [1, 0]] on a dense lam grid.

    Returns (labels, clear): clear is False where the label depends on rounding (close to
    a region boundary, a double root, an endpoint tie or radius 1).
    """
    lam = mu[:, None] + np.linspace(0, 1, m) * (L - mu)[:, None]
    e, b = (np.broadcast_to(x[:, None], lam.shape).ravel() for x in (eta, beta))
    ev = np.linalg.eigvals(iteration_matrices("heavy_ball", e, b, lam.ravel()))
    ev = ev.reshape(*lam.shape, 2)
    radius = np.abs(ev).max(axis=-1)
    rho = radius.max(axis=1)
    r_mu, r_L = radius[:, 0], radius[:, -1]
    cplx = np.abs(ev.imag).min(axis=-1) > 0  # (n, m): a complex pair
    robust = cplx[:, 0] & cplx[:, -1]
    labels = np.where(
        rho >= 1,
        HB["divergent"],
        np.where(robust, HB["robust"], np.where(r_mu > r_L, HB["lazy"], HB["knife_edge"])),
    )
    # lazy: the slow mode at mu is real and positive; knife's edge: real and negative at L.
    dom = lambda k: ev[np.arange(len(mu)), k, np.abs(ev[:, k]).argmax(axis=-1)]  # noqa: E731
    lazy, knife = labels == HB["lazy"], labels == HB["knife_edge"]
    assert np.all(dom(0)[lazy].real > 0) and np.all(dom(-1)[knife].real < 0)
    # the max over the grid is at an endpoint
    np.testing.assert_allclose(rho, np.maximum(r_mu, r_L), rtol=1e-7)
    sb = np.sqrt(beta)
    edges = np.stack([(1 - sb) ** 2, (1 + sb) ** 2], axis=-1)  # (n, 2)
    h = np.stack([eta * mu, eta * L], axis=-1)  # (n, 2)
    near_edge = (np.abs(h[:, :, None] - edges[:, None, :]) < 1e-6).any(axis=(1, 2))
    tie = ~robust & (np.abs(r_mu - r_L) <= 1e-9)
    clear = ~near_edge & ~tie & (np.abs(rho - 1) > 1e-9)
    return labels, clear


def test_heavy_ball_regions_match_brute_force():
    rng = np.random.default_rng(11)
    n = 3000
    eta, beta, mu, L = random_spectra(rng, n)
    beta[:300] = 0.0
    got = T.heavy_ball_regions(eta, beta, mu, L)
    assert got.dtype == np.int8 and got.shape == (n,)
    ref, clear = hb_brute_labels(eta, beta, mu, L)
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(got[clear], ref[clear])
    counts = np.bincount(got, minlength=4)
    assert np.all(counts > 0.05 * n), counts
    # divergent is exactly "not stable" (same Jury test)
    np.testing.assert_array_equal(got == HB["divergent"], ~T.stable("heavy_ball", eta, beta, mu, L))


def test_heavy_ball_regions_known_points_and_ties():
    # beta = 1/4: the complex interval of eta*lam is [1/4, 9/4].
    lab = lambda *a: T.HB_REGIONS[T.heavy_ball_regions(*a)]  # noqa: E731
    assert lab(1.0, 0.25, 0.25, 2.25) == "robust"  # closed interval: double roots at both ends
    assert lab(1.0, 0.25, 0.2, 2.25) == "lazy"
    assert lab(1.0, 0.25, 0.25, 2.3) == "knife_edge"
    assert lab(1.0, 0.25, 0.25, 2.5 * 1.25) == "divergent"  # eta*L >= 2(1+beta) = 2.5
    assert lab(0.0, 0.25, 1.0, 2.0) == "divergent" and lab(-1.0, 0.25, 1.0, 2.0) == "divergent"
    assert lab(0.1, 1.0, 1.0, 2.0) == "divergent"  # beta >= 1: rate sqrt(beta) >= 1
    # Both ends outside: the max decides; an exact tie goes to knife_edge.
    assert lab(1.0, 0.0, 0.5, 1.25) == "lazy"  # gd: |1 - 0.5| > |1 - 1.25|
    assert lab(1.0, 0.0, 0.75, 1.5) == "knife_edge"
    assert lab(0.5, 0.0, 1.0, 3.0) == "knife_edge"  # gd tie: 1 - 0.5 == 1.5 - 1 exactly
    assert T.heavy_ball_rate_chebyshev(0.5, 0.0, 1.0, 3.0) == 0.5
    assert T.heavy_ball_rate_chebyshev(1.0, 0.25, 0.25, 2.25) == 0.5
    # Polyak's optimum sits on both edges of the robust region (up to rounding).
    eta, beta, rho = T.optimal("heavy_ball", 1.0, 100.0)
    assert T.heavy_ball_rate_chebyshev(eta, beta, 1.0, 100.0) == pytest.approx(rho, rel=1e-7)
    assert T.heavy_ball_regions(eta * (1 - 1e-6), beta, 1.0, 100.0) == HB["lazy"]
    assert T.heavy_ball_regions(eta * (1 + 1e-6), beta, 1.0, 100.0) == HB["knife_edge"]
    assert T.heavy_ball_regions(eta, beta * (1 + 1e-6), 1.0, 100.0) == HB["robust"]
    # broadcasting and scalar results
    r = T.heavy_ball_regions(np.array([0.5, 1.0, 1.5])[:, None], np.array([0.0, 0.5]), 1.0, 2.0)
    assert r.shape == (3, 2) and r.dtype == np.int8
    assert isinstance(T.heavy_ball_regions(1.0, 0.25, 1.0, 2.0), np.int8)


# --------------------------------------------------------------------------- regions


def brute_region_labels(optimizer, eta, beta, mu, L, m=61, tol_r=1e-11, tol_c=1e-11):
    """Label from eigenvalues on a dense lam grid with the documented rules, at tolerances
    tol_r (which radii count as the max / as tied) and tol_c (which roots count as complex,
    as negative). Returns int codes indexing REGIONS."""
    lam = mu[:, None] + np.linspace(0, 1, m) * (L - mu)[:, None]
    e, b = (np.broadcast_to(x[:, None], lam.shape).ravel() for x in (eta, beta))
    ev = np.linalg.eigvals(iteration_matrices(optimizer, e, b, lam.ravel()))
    ev = ev.reshape(*lam.shape, -1)
    mod = np.abs(ev)
    radius = mod.max(axis=-1)  # (n, m)
    dominant = mod >= radius[..., None] - tol_r  # (n, m, k): the slowest roots of each lam
    cplx = (dominant & (np.abs(ev.imag) > tol_c)).any(axis=-1)
    neg = (dominant & (ev.real < -tol_c)).any(axis=-1)
    point = np.where(cplx, RG["complex"], np.where(neg, RG["oscillating"], RG["monotone"]))
    rho = radius.max(axis=1)
    slowest = radius >= rho[:, None] - tol_r  # directions attaining the max radius
    label = np.where(slowest, point, -1).max(axis=1)
    return np.where(rho >= 1 - tol_r, RG["divergent"], label)


@pytest.mark.parametrize("optimizer", T.OPTIMIZERS)
def test_regions_match_brute_force(optimizer):
    rng = np.random.default_rng(12)
    n = 1500
    eta, beta, mu, L = random_spectra(rng, n, h_hi=4.0, beta_lo=-0.3, beta_hi=1.0)
    beta[:100] = rng.uniform(-1.5, 1.5, 100)
    if optimizer == "gd":
        beta = np.zeros(n)
    got = T.regions(optimizer, eta, beta, mu, L)
    assert got.dtype == np.int8 and got.shape == (n,)
    tight = brute_region_labels(optimizer, eta, beta, mu, L)
    loose = brute_region_labels(optimizer, eta, beta, mu, L, tol_r=1e-7, tol_c=1e-6)
    clear = tight == loose  # the label does not hinge on rounding
    assert clear.mean() > 0.97
    np.testing.assert_array_equal(got[clear], tight[clear])
    counts = np.bincount(got, minlength=4)
    expected_classes = [0, 1, 3] if optimizer == "gd" else [0, 1, 2, 3]
    assert np.all(counts[expected_classes] > 0.03 * n), counts
    np.testing.assert_array_equal(got == RG["divergent"], ~T.stable(optimizer, eta, beta, mu, L))


def test_regions_agree_with_heavy_ball_regions():
    """For beta in [0, 1): robust <-> complex, lazy <-> monotone, knife's edge <->
    oscillating (ties included), divergent <-> divergent."""
    rng = np.random.default_rng(13)
    eta, beta, mu, L = random_spectra(rng, 50000, h_hi=5.0, log_kappa_hi=3.0)
    beta[:5000] = 0.0
    hb = T.heavy_ball_regions(eta, beta, mu, L)
    to_hb = np.array([HB["lazy"], HB["knife_edge"], HB["robust"], HB["divergent"]])
    np.testing.assert_array_equal(to_hb[T.regions("heavy_ball", eta, beta, mu, L)], hb)
    # gd with beta = 0 is heavy ball with beta = 0
    np.testing.assert_array_equal(
        T.regions("gd", eta[:5000], 0.0, mu[:5000], L[:5000]),
        T.regions("heavy_ball", eta[:5000], 0.0, mu[:5000], L[:5000]),
    )


def test_regions_known_points():
    lab = lambda *a: T.REGIONS[T.regions(*a)]  # noqa: E731
    # gd on [1, 3]: eta* = 2/(1 + 3) = 0.5 is an exact endpoint tie -> oscillating.
    assert lab("gd", 0.4, None, 1.0, 3.0) == "monotone"
    assert lab("gd", 0.5, None, 1.0, 3.0) == "oscillating"
    assert lab("gd", 0.6, None, 1.0, 3.0) == "oscillating"
    assert lab("gd", 2 / 3, None, 1.0, 3.0) == "divergent"  # |1 - 2| = 1
    assert lab("gd", 1.0, None, 1.0, 1.0) == "monotone"  # radius 0: root 0 is not negative
    assert lab("gd", -0.1, None, 1.0, 2.0) == "divergent"
    # heavy ball, lam = 1: p = 1 + beta - eta, q = beta
    assert lab("heavy_ball", 1.0, 0.25, 1.0, 1.0) == "complex"  # p = 0.25, p^2 < 4q
    assert lab("heavy_ball", 0.25, 0.25, 1.0, 1.0) == "monotone"  # double root 1/2
    assert lab("heavy_ball", 2.25, 0.25, 1.0, 1.0) == "oscillating"  # double root -1/2
    assert lab("heavy_ball", 0.75, -0.25, 1.0, 1.0) == "oscillating"  # p = 0: roots +-1/2
    # nesterov at lam = 1, u = 1 - eta: p = 1.5 u, q = 0.5 u
    assert lab("nesterov", 0.5, 0.5, 1.0, 1.0) == "complex"  # u = 0.5: p^2 = 0.5625 < 1
    assert lab("nesterov", 0.1, 0.5, 1.0, 1.0) == "monotone"  # u = 0.9: p^2 = 1.8225 > 1.8
    assert lab("nesterov", 1.2, 0.5, 1.0, 1.0) == "oscillating"  # u < 0: q < 0, p < 0
    assert lab("nesterov", 1.6, 0.5, 1.0, 1.0) == "divergent"  # limit 2(1.5)/2 = 1.5
    # broadcasting and scalar results
    r = T.regions("heavy_ball", np.linspace(0.1, 3, 4)[:, None], np.array([0.0, 0.5]), 1.0, 2.0)
    assert r.shape == (4, 2) and r.dtype == np.int8
    assert isinstance(T.regions("nesterov", 0.1, 0.5, 1.0, 2.0), np.int8)


def test_region_validation():
    with pytest.raises(ValueError, match="beta >= 0"):
        T.heavy_ball_regions(0.1, -0.1, 1.0, 2.0)
    with pytest.raises(ValueError, match="beta >= 0"):
        T.heavy_ball_rate_chebyshev(0.1, np.array([0.5, -0.5]), 1.0, 2.0)
    with pytest.raises(ValueError, match="finite"):
        T.heavy_ball_regions(np.nan, 0.5, 1.0, 2.0)
    with pytest.raises(ValueError, match="lambda_min must be <= lambda_max"):
        T.heavy_ball_rate_chebyshev(0.1, 0.5, 3.0, 2.0)
    with pytest.raises(ValueError, match="lambda_min must be > 0"):
        T.regions("gd", 0.1, 0.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        T.regions("adam", 0.1, 0.0, 1.0, 2.0)
    with pytest.raises(ValueError, match="beta must be 0"):
        T.regions("gd", 0.1, 0.5, 1.0, 2.0)
