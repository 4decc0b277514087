"""Checks of the slow twin (tests/naive.py): theory, brute force, a literal streaming
transcription of the estimator (semantics v2), and the NumPy baseline.

Everything but the last test is independent of fastdescent, so the twin is trusted
independently of the engine it is used to check; the last test compares the NumPy
baseline (already checked against the twin here) with the compiled engine.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import naive
import numpy as np
import pytest

TINY = sys.float_info.min  # smallest normal double


def _load_numpy_baseline():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "numpy_baseline.py"
    spec = importlib.util.spec_from_file_location("fastdescent_numpy_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------
# theory: spectral radius of the iteration matrix, brute force with eigvals
# ---------------------------------------------------------------------------------------


def iteration_matrix(optimizer, eta, beta, lam):
    h = eta * lam
    if optimizer == "heavy_ball":  # state (w_t, w_{t-1})
        return np.array([[1.0 + beta - h, -beta], [1.0, 0.0]])
    if optimizer == "nesterov":  # state (w, v)
        return np.array([[1.0 - h, beta * (1.0 - h)], [-h, beta * (1.0 - h)]])
    raise ValueError(optimizer)


def spectral_radius(optimizer, eta, beta, lams):
    if optimizer == "gd":
        return max(abs(1.0 - eta * lam) for lam in lams)
    return max(
        float(np.max(np.abs(np.linalg.eigvals(iteration_matrix(optimizer, eta, beta, lam)))))
        for lam in lams
    )


def assert_log_close(rate, rho, rel=0.02):
    """|log rate - log rho| <= rel * |log rho|."""
    assert math.isfinite(rate) and rate > 0, rate
    assert abs(math.log(rate) - math.log(rho)) <= rel * abs(math.log(rho)), (rate, rho)


def random_cases(optimizer, n, seed):
    """(eta, beta, kappa, rho) with rho in [0.01, 0.9999], lam = (1, kappa)."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < n:
        kappa = float(10.0 ** rng.uniform(0.0, 4.0))
        beta = float(rng.uniform(0.0, 0.99))
        h = float(rng.uniform(0.0, 2.0 * (1.0 + beta)))  # eta * lambda_max
        eta = h / kappa
        rho = spectral_radius(optimizer, eta, beta, (1.0, kappa))
        if 0.01 <= rho <= 0.9999:
            cases.append((eta, beta, kappa, rho))
    return cases


# ---------------------------------------------------------------------------------------
# (a) gd: rate == max |1 - eta*lam|
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0])
@pytest.mark.parametrize("h", [0.1, 0.5, 1.0, 1.5, 1.9])
def test_gd_rate_is_max_abs_one_minus_eta_lambda(kappa, h):
    eta = h / kappa
    out = naive.simulate("gd", eta, 0.0, (1.0, kappa), (1.0, 1.0), 1000)
    rho = spectral_radius("gd", eta, 0.0, (1.0, kappa))
    assert out["status"] in ("converged", "max_steps")
    assert math.isclose(out["rate"], rho, rel_tol=1e-9, abs_tol=1e-12), (out, rho)


# ---------------------------------------------------------------------------------------
# (b), (c) momentum: rate == spectral radius, within 2 % in |log rho|
# ---------------------------------------------------------------------------------------

HAND_PICKED = [
    # heavy ball, complex roots: beta = 0.9, eta*lam mid-range
    ("heavy_ball", 0.5 / 100.0, 0.9, 100.0),
    ("heavy_ball", 0.7, 0.9, 1.0),
    # heavy ball, real roots: small beta, small eta
    ("heavy_ball", 0.3 / 50.0, 0.05, 50.0),
    ("heavy_ball", 0.1, 0.2, 3.0),
    # heavy ball, repeated roots at Polyak's optimum for kappa = 100 (rho = 9/11)
    ("heavy_ball", 4.0 / (1.0 + 10.0) ** 2, (9.0 / 11.0) ** 2, 100.0),
    # nesterov: complex, real, and its own optimum-ish setting
    ("nesterov", 0.5 / 100.0, 0.9, 100.0),
    ("nesterov", 0.2 / 20.0, 0.1, 20.0),
    ("nesterov", 1.0 / 100.0, (1.0 - 0.1) / (1.0 + 0.1), 100.0),
]


@pytest.mark.parametrize(("optimizer", "eta", "beta", "kappa"), HAND_PICKED)
def test_momentum_rate_hand_picked(optimizer, eta, beta, kappa):
    out = naive.simulate(optimizer, eta, beta, (1.0, kappa), (1.0, 1.0), 1000)
    assert_log_close(out["rate"], spectral_radius(optimizer, eta, beta, (1.0, kappa)))


def test_polyak_optimum_repeated_root():
    eta, beta = 4.0 / (1.0 + 10.0) ** 2, (9.0 / 11.0) ** 2
    out = naive.simulate("heavy_ball", eta, beta, (1.0, 100.0), (1.0, 1.0), 1000)
    assert out["status"] == "converged"
    assert abs(out["rate"] - 9.0 / 11.0) < 1e-4, out


SQRT_30001 = math.sqrt(30001.0)
KAPPA_1E4 = [
    # heavy ball at Polyak's optimum: both coordinates double roots, at +rho (lam = 1)
    # and -rho (lam = 1e4), rho = 99/101
    pytest.param("heavy_ball", 4.0 / (1.0 + 100.0) ** 2, (99.0 / 101.0) ** 2, 1000, id="hb-opt"),
    # a near-double root near +1 (the plain normal equations were 2-40 % off here)
    pytest.param("heavy_ball", 2.2162711864406783e-4, 0.97, 3000, id="hb-near-double"),
    # Nesterov at its optimum: double root at rho = 1 - 2/sqrt(3 kappa + 1) for lam = 1
    pytest.param(
        "nesterov", 4.0 / (3.0 * 1e4 + 1.0), (SQRT_30001 - 2.0) / (SQRT_30001 + 2.0), 1000,
        id="nesterov-opt",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("optimizer", "eta", "beta", "steps"), KAPPA_1E4)
def test_rate_near_double_roots_kappa_1e4(optimizer, eta, beta, steps):
    lam = (1.0, 1e4)
    out = naive.simulate(optimizer, eta, beta, lam, (1.0, 1.0), steps)
    assert out["status"] in ("converged", "max_steps")
    assert_log_close(out["rate"], spectral_radius(optimizer, eta, beta, lam))


def test_optima_kappa_1e4_closed_forms():
    """The brute-force radii above are the textbook optima (to the sqrt(eps) that eigvals
    resolves a double root to), so the test above checks the right numbers."""
    hb = spectral_radius("heavy_ball", 4.0 / 101.0**2, (99.0 / 101.0) ** 2, (1.0, 1e4))
    assert math.isclose(hb, 99.0 / 101.0, rel_tol=1e-6)
    nb = (SQRT_30001 - 2.0) / (SQRT_30001 + 2.0)
    nv = spectral_radius("nesterov", 4.0 / 30001.0, nb, (1.0, 1e4))
    assert math.isclose(nv, 1.0 - 2.0 / SQRT_30001, rel_tol=1e-6)


@pytest.mark.parametrize("optimizer", ["heavy_ball", "nesterov"])
def test_momentum_rate_random(optimizer):
    for eta, beta, kappa, rho in random_cases(optimizer, 40, seed=1 + len(optimizer)):
        out = naive.simulate(optimizer, eta, beta, (1.0, kappa), (1.0, 1.0), 1000)
        assert out["status"] in ("converged", "max_steps")
        assert_log_close(out["rate"], rho)


# ---------------------------------------------------------------------------------------
# (d) divergence
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kappa", [1.0, 100.0])
def test_gd_divergence_threshold(kappa):
    bad = naive.simulate("gd", 2.1 / kappa, 0.0, (1.0, kappa), (1.0, 1.0), 1000)
    assert bad["status"] == "diverged"
    assert bad["diverge_step"] == bad["steps"] > 0
    assert bad["final_loss"] > 1e10 * bad["loss0"]
    assert math.isclose(bad["rate"], 1.1, rel_tol=1e-9)  # the fit sees growth too
    good = naive.simulate("gd", 1.9 / kappa, 0.0, (1.0, kappa), (1.0, 1.0), 1000)
    assert good["status"] in ("converged", "max_steps")
    assert good["diverge_step"] == -1
    assert math.isclose(good["rate"], spectral_radius("gd", 1.9 / kappa, 0, (1, kappa)))


def test_nonfinite_loss_stops_before_accumulating():
    out = naive.simulate_detail("gd", 1e100, 0.0, (1.0, 1.0), (1.0, 1.0), 50, diverge=math.inf)
    assert out["status"] == "diverged" and out["final_loss"] == math.inf
    assert out["diverge_step"] == out["steps"] == out["last"] + 1
    assert math.isclose(out["rate"], 1e100 - 1.0, rel_tol=1e-12)


# ---------------------------------------------------------------------------------------
# (e) the fit itself against numpy.linalg.lstsq on the same window
# ---------------------------------------------------------------------------------------


def _lstsq(e, prev_steps, cur_steps, order, sigma):
    """lstsq in both bases on the same equations: (alpha, gamma) for
    F_t ~ alpha x_{t-1} + gamma F_{t-1}, (a, b) for x_t ~ a x_{t-1} + b x_{t-2}, the
    largest |root| of z^2 - a z - b, and cond of the x-basis design matrix."""
    rows = list(prev_steps) + list(cur_steps)

    def f(t):
        return e[t] - sigma * e[t - 1]

    XF = np.array([[e[t - 1], f(t - 1)][:order] for t in rows])
    coef_f, *_ = np.linalg.lstsq(XF, np.array([f(t) for t in rows]), rcond=None)
    X = np.array([[e[t - 1 - j] for j in range(order)] for t in rows])
    coef_x, *_ = np.linalg.lstsq(X, np.array([e[t] for t in rows]), rcond=None)
    poly = [1.0, -coef_x[0]] if order == 1 else [1.0, -coef_x[0], -coef_x[1]]
    return coef_f, coef_x, float(np.max(np.abs(np.roots(poly)))), np.linalg.cond(X)


@pytest.mark.parametrize("noise", [0.0, 0.3])
@pytest.mark.parametrize("order", [1, 2])
def test_fit_matches_lstsq(order, noise):
    rng = np.random.default_rng(7)
    checked, signs = 0, set()
    for _ in range(40):
        a, b = rng.uniform(-1.2, 1.2), (rng.uniform(-0.9, 0.3) if order == 2 else 0.0)
        n = int(rng.integers(40, 400))
        e = [1.0, rng.uniform(-1, 1)][:order]  # free initial conditions e_0 .. e_{k-1}
        for _t in range(order, n):
            e.append(a * e[-1] + b * e[-order] * (order == 2) + noise * rng.standard_normal())
        if max(map(abs, e)) > 1e100 or min(map(abs, e[-5:])) < 1e-100:
            continue
        B = int(rng.integers(8, 64))
        prev_steps, cur_steps = naive.window(n - 1, order, B)
        S, sigma = naive.coordinate_sums(e, n - 1, order, B)
        assert sigma == (1.0 if e[1] * e[0] >= 0.0 else -1.0)
        coef_f, coef_x, rho, cond = _lstsq(e, prev_steps, cur_steps, order, sigma)
        if cond > 1e4:
            continue
        used, alpha, gamma = naive.fit_coefficients(S, order)
        assert used == order
        assert math.isclose(alpha, coef_f[0], rel_tol=1e-9, abs_tol=1e-12)
        if order == 2:
            assert math.isclose(gamma, coef_f[1], rel_tol=1e-9, abs_tol=1e-12)
        # the same recurrence in the x basis: a = sigma + alpha + gamma, b = -sigma gamma
        fa, fb = sigma + alpha + gamma, -(sigma * gamma)
        assert math.isclose(fa, coef_x[0], rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(fb, coef_x[-1] if order == 2 else 0.0, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(naive.fit_rate(S, sigma, order), rho, rel_tol=1e-8)
        if noise == 0.0:  # exact sequence: the fit recovers the recurrence
            assert math.isclose(fa, a, rel_tol=1e-9, abs_tol=1e-12)
            assert math.isclose(fb, b, rel_tol=1e-9, abs_tol=1e-12)
        checked += 1
        signs.add(sigma)
    assert checked >= 10
    assert signs == {1.0, -1.0}


def test_window_blocks():
    B, k = 10, 2
    assert naive.window(0, k, B) == (range(0), range(0))
    assert naive.window(1, k, B) == (range(0), range(0))
    assert naive.window(7, k, B) == (range(0), range(2, 8))
    assert naive.window(10, k, B) == (range(0), range(2, 11))
    assert naive.window(11, k, B) == (range(2, 11), range(11, 12))  # rotation at t = B+1
    assert naive.window(25, k, B) == (range(11, 21), range(21, 26))
    assert naive.window(30, 1, B) == (range(11, 21), range(21, 31))
    assert naive.window(1, 1, B) == (range(0), range(1, 2))


# ---------------------------------------------------------------------------------------
# the windowed estimator == a literal transcription of the streaming rule, bit for bit
# ---------------------------------------------------------------------------------------


def streaming_rate(history, last, order, B):
    """The v2 streaming rule, transcribed literally from the definition."""
    d = len(history[0]) if history else 0
    rs = []
    for i in range(d):
        sigma, f_prev = 1.0, 0.0
        cur, prev = [0.0] * 5, [0.0] * 5  # xx, xf, ff, rxf, rff
        frozen = history[0][i] * history[0][i] <= naive.FLOOR  # at t = 0
        for t in range(1, last + 1):
            if frozen:
                break
            x, x1 = history[t][i], history[t - 1][i]
            if t == 1:
                sigma = 1.0 if x * x1 >= 0.0 else -1.0
            f = x - sigma * x1
            if t > 1 and (t - 1) % B == 0:
                prev, cur = cur, [0.0] * 5
            if t >= order:
                cur[0] = cur[0] + x1 * x1
                cur[3] = cur[3] + f * x1
                if order == 2:
                    cur[1] = cur[1] + x1 * f_prev
                    cur[2] = cur[2] + f_prev * f_prev
                    cur[4] = cur[4] + f * f_prev
            f_prev = f
            if x * x <= naive.FLOOR:
                frozen = True
        rs.append(naive.fit_rate([prev[j] + cur[j] for j in range(5)], sigma, order))
    return naive.combine_rates(rs)


STREAMING_CASES = [
    ("gd", 0.5, 0.0, (1.0, 2.0), (1.0, -1.0), 300, 0.0),  # tol 0: freezes, underflow
    ("gd", 1.0, 0.0, (1.0, 0.5), (1.0, 1.0), 200, 1e-20),  # coordinate 0 exact zero at t=1
    ("gd", 0.9 / 50, 0.0, (1.0, 50.0), (1.0, 1.0), 400, 0.0),  # freeze long before the end
    ("gd", 1.5 / 10, 0.0, (1.0, 10.0), (1.0, 1.0), 300, 0.0),  # sigma = -1 (kappa coord)
    ("heavy_ball", 0.9 / 30, 0.0, (1.0, 30.0), (1.0, 1.0), 300, 0.0),
    ("heavy_ball", 0.5, 0.9, (1.0, 3.0), (1.0, 1.0), 300, 1e-20),
    ("heavy_ball", 0.01, 0.5, (1.0, 400.0), (0.3, -2.0), 500, 1e-20),  # divergent
    ("heavy_ball", 1.9 / 100, 0.3, (1.0, 100.0), (1.0, 1.0), 400, 0.0),  # sigma = -1
    ("heavy_ball", 4.0 / 101**2, (99 / 101) ** 2, (1.0, 1e4), (1.0, -1.0), 1000, 1e-20),
    ("nesterov", 0.05, 0.8, (1.0, 10.0, 30.0), (1.0, 1.0, 1.0), 1000, 0.0),
    ("nesterov", 1.5, 0.3, (1.0, 1.0), (1.0, 1.0), 100, 1e-20),
    ("nesterov", 4.0 / 30001, 0.97, (1.0, 1e4), (0.0, 1.0), 600, 1e-20),  # frozen at t = 0
    ("gd", 1e100, 0.0, (1.0, 1.0), (1.0, 1.0), 50, 0.0),  # non-finite loss
]


@pytest.mark.parametrize("case", STREAMING_CASES)
def test_windowed_estimator_equals_streaming(case):
    optimizer, eta, beta, lam, start, steps, tol = case
    div = math.inf if eta > 1e50 else 1e10
    out = naive.simulate_detail(optimizer, eta, beta, lam, start, steps, tol=tol, diverge=div)
    r_stream = streaming_rate(out["history"], out["last"], out["order"], out["B"])
    assert (math.isnan(r_stream) and math.isnan(out["rate"])) or r_stream == out["rate"]


def test_sigma_is_the_first_step_sign():
    # gd, eta*lam = (0.15, 1.5): coordinate 1 flips its sign on every step
    out = naive.simulate_detail("gd", 0.15, 0.0, (1.0, 10.0), (1.0, 1.0), 100)
    assert out["sigma"] == [1.0, -1.0]
    # heavy ball, eta*lam = 1.9 with beta = 0.3: both roots of coordinate 1 negative
    out = naive.simulate_detail("heavy_ball", 0.019, 0.3, (1.0, 100.0), (1.0, -1.0), 100)
    assert out["sigma"] == [1.0, -1.0]
    # a coordinate starting at 0 is frozen at t = 0 and keeps sigma = 1 (no data: NaN)
    out = naive.simulate_detail("heavy_ball", 0.019, 0.3, (1.0, 100.0), (0.0, 1.0), 100)
    assert out["sigma"] == [1.0, -1.0] and out["t_last"][0] == 0
    S, sigma = naive.coordinate_sums([h[0] for h in out["history"]], out["last"], 2, out["B"])
    assert S == [0.0] * 5 and sigma == 1.0 and math.isnan(naive.fit_rate(S, sigma, 2))


# ---------------------------------------------------------------------------------------
# (f) start at the minimum; (g) tol = 0
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["gd", "heavy_ball", "nesterov"])
def test_start_at_minimum(optimizer):
    out = naive.simulate(optimizer, 0.1, 0.5, (1.0, 10.0), (0.0, 0.0), 100)
    assert out["status"] == "converged" and out["steps"] == 0 and out["diverge_step"] == -1
    assert out["loss0"] == 0.0 and out["final_loss"] == 0.0
    assert math.isnan(out["rate"])


@pytest.mark.parametrize(
    ("optimizer", "eta", "beta", "kappa"),
    [
        ("gd", 1.5 / 10.0, 0.0, 10.0),
        ("gd", 1.5, 0.0, 1.0),
        ("heavy_ball", 4.0 / (1.0 + 10.0) ** 2, (9.0 / 11.0) ** 2, 100.0),
        ("nesterov", 0.5, 0.5, 1.0),
        # v1 fell back to order 1 here (its det = a11*a22 - a12^2 underflowed once the
        # window's sums dropped below ~1e-154); v2 divides the sums by xx first
        ("heavy_ball", 0.5 / 100.0, 0.9, 100.0),
    ],
)
def test_tol_zero_runs_to_underflow(optimizer, eta, beta, kappa):
    lam = (1.0, kappa)
    out = naive.simulate_detail(optimizer, eta, beta, lam, (1.0, 1.0), 10000, tol=0.0)
    assert out["status"] == "converged" and out["final_loss"] == 0.0  # loss underflowed
    rho = spectral_radius(optimizer, eta, beta, lam)
    if optimizer == "gd":
        assert math.isclose(out["rate"], rho, rel_tol=1e-9)
    elif optimizer == "heavy_ball" and eta == 4.0 / (1.0 + 10.0) ** 2:
        # both coordinates have a double root: x_t = (a + b t) rho^t. Seen through a
        # 32..64-step window ending near t = 1640, the two modes are too alike to separate
        # (det/ff ~ 3e-11 < DET_RTOL), the fit falls back to order 1 and measures the
        # local ratio x_t / x_{t-1} ~ rho (1 + 1/t): |log rate - log rho| ~ 1/t_last
        # (metrics.py: "Double roots"). With tol = 1e-20 the run ends near t = 230, where
        # the order-2 fit still resolves them (tests/test_engine_theory.py).
        t_last = max(out["t_last"])
        assert 0 < math.log(out["rate"] / rho) <= 1.5 / t_last, (out["rate"], rho, t_last)
    else:
        assert_log_close(out["rate"], rho, rel=1e-6)
    # the freeze at FLOOR keeps every summed product normal (no subnormals in a fit)
    order = out["order"]
    for i, t_last in enumerate(out["t_last"]):
        e = [h[i] for h in out["history"]]
        sigma = out["sigma"][i]
        assert t_last < out["last"]  # froze before the run ended
        assert e[t_last] * e[t_last] <= naive.FLOOR
        prev_steps, cur_steps = naive.window(t_last, order, out["B"])
        for t in [*prev_steps, *cur_steps]:
            x1, f = e[t - 1], e[t] - sigma * e[t - 1]
            products = [x1 * x1, f * x1]
            if order == 2:
                f1 = e[t - 1] - sigma * e[t - 2]
                products += [x1 * f1, f1 * f1, f * f1]
            for p in products:
                assert p == 0.0 or abs(p) >= TINY, (t, p)


# ---------------------------------------------------------------------------------------
# NumPy baseline (benchmarks/numpy_baseline.py) == the twin, row by row
# ---------------------------------------------------------------------------------------

GRIDS = {
    "w1-like": dict(
        lr=np.linspace(0.01, 4.0, 8), beta=np.linspace(0.0, 0.99, 4),
        kappa=np.geomspace(1.0, 1e4, 3), steps=300, chunk=16,
    ),
    "freezes": dict(  # exact zeros and early freezes of the kappa coordinate, tol = 0
        lr=[0.9, 1.0, 0.5], beta=[0.0, 0.1], kappa=[1.0, 100.0, 1e4], steps=300, tol=0.0,
        chunk=7,
    ),
    "non-finite": dict(  # diverge = inf: runs on until the loss overflows
        lr=[3.5, 4.0], beta=[0.0, 0.99], kappa=[1.0, 1e4], steps=1000, diverge=math.inf,
        chunk=3,
    ),
    "clamped": dict(  # diverge * gap0 overflows (kappa = 1e4): div_thr = MAX_FLOAT
        lr=[3.5, 4.0], beta=[0.0, 0.99], kappa=[1.0, 1e4], steps=1000, diverge=1e308,
        chunk=3,
    ),
}  # fmt: skip


def _same(x, y):
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y or math.isclose(x, y, rel_tol=1e-12, abs_tol=0.0)


@pytest.mark.parametrize("name", list(GRIDS))
def test_numpy_baseline_equals_twin(name):
    base = _load_numpy_baseline()
    g = dict(tol=1e-20, diverge=1e10) | GRIDS[name]
    lr, beta, kappa = (np.asarray(g[a], dtype=np.float64) for a in ("lr", "beta", "kappa"))
    steps, tol, diverge = g["steps"], g["tol"], g["diverge"]
    out = base.run_numpy(lr, beta, kappa, steps=steps, tol=tol, diverge=diverge, chunk=g["chunk"])
    codes = {"converged": 0, "diverged": 1, "max_steps": 2}
    n = 0
    for i, lr_i in enumerate(lr):
        for j, beta_j in enumerate(beta):
            for k, kappa_k in enumerate(kappa):
                eta = float(lr_i / kappa_k)
                ref = naive.simulate(
                    "heavy_ball", eta, float(beta_j), (1.0, float(kappa_k)), (1.0, 1.0), steps,
                    tol=tol, diverge=diverge,
                )  # fmt: skip
                row = (i * beta.size + j) * kappa.size + k
                assert out["status"][row] == codes[ref["status"]], (row, ref)
                assert out["steps"][row] == ref["steps"], (row, ref)
                assert out["diverge_step"][row] == ref["diverge_step"], (row, ref)
                for key in ("loss0", "final_loss", "rate"):
                    assert _same(float(out[key][row]), ref[key]), (row, key, out[key][row], ref)
                n += 1
    assert n == out["status"].size
    assert out["status"].dtype == np.int8 and out["steps"].dtype == np.int32


# ---------------------------------------------------------------------------------------
# NumPy baseline == the compiled engine, bit for bit, on a small W1-like grid
# ---------------------------------------------------------------------------------------


ENGINE_GRIDS = {
    # up to eta*lambda_max = 4: all three statuses
    "w1-like": dict(
        lr=np.linspace(0.01, 4.0, 16), beta=np.linspace(0.0, 0.99, 8),
        kappa=np.geomspace(1.0, 1e4, 5), steps=300,
    ),
    "freezes": GRIDS["freezes"],  # tol = 0: runs into the FLOOR freeze
    # the engine refuses diverge = inf; 1e308 * gap0 overflows and is clamped to MAX_FLOAT
    "non-finite": GRIDS["clamped"],
}  # fmt: skip


@pytest.mark.parametrize("name", list(ENGINE_GRIDS))
def test_numpy_baseline_equals_engine(name):
    fastdescent = pytest.importorskip("fastdescent")
    base = _load_numpy_baseline()
    g = dict(tol=1e-20, diverge=1e10) | ENGINE_GRIDS[name]
    lr, beta, kappa = (np.asarray(g[a], dtype=np.float64) for a in ("lr", "beta", "kappa"))
    steps = g["steps"]
    spec = {
        "problem": "quadratic",
        "optimizer": "heavy_ball",
        "steps": steps,
        "problem_params": {"dim": 2, "spectrum": "endpoints", "start": [1.0, 1.0]},
        "axes": {
            "lr": {"values": lr.tolist(), "relative_to": "lambda_max"},
            "beta": {"values": beta.tolist()},
            "kappa": {"values": kappa.tolist()},
        },
        "stop": {"tol": g["tol"], "diverge": g["diverge"]},
    }
    df = fastdescent.run(spec, progress=False)
    out = base.run_numpy(
        lr, beta, kappa, steps=steps, tol=g["tol"], diverge=g["diverge"], chunk=100
    )
    n = lr.size * beta.size * kappa.size
    assert len(df) == n == out["status"].size
    # same rows in the same C order (lr slowest, kappa fastest), same eta = lr / kappa
    lr_g, beta_g, kappa_g = (x.ravel() for x in np.meshgrid(lr, beta, kappa, indexing="ij"))
    assert np.array_equal(df["lr"].to_numpy(), lr_g)
    assert np.array_equal(df["beta"].to_numpy(), beta_g)
    assert np.array_equal(df["kappa"].to_numpy(), kappa_g)
    assert np.array_equal(df["eta"].to_numpy(), lr_g / kappa_g)
    names = np.array(["converged", "diverged", "max_steps"])
    status = df["status"].astype(str).to_numpy()
    assert (status == names[out["status"]]).all()
    if name == "w1-like":
        assert set(status) == {"converged", "diverged", "max_steps"}  # all three covered
    for key in ("steps", "diverge_step"):
        assert np.array_equal(df[key].to_numpy().astype(np.int64), out[key].astype(np.int64)), key
    for key in ("loss0", "final_loss", "rate"):
        x, y = df[key].to_numpy(dtype=np.float64), out[key]
        same = (x == y) | (np.isnan(x) & np.isnan(y))
        assert same.all(), (key, np.flatnonzero(~same)[:5], x[~same][:5], y[~same][:5])
