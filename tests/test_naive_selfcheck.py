"""Checks of the slow twin (tests/naive.py) ALONE: theory, brute force, a literal
streaming transcription of the estimator, and the NumPy baseline.

Nothing here touches fastdescent, so the twin is trusted independently of the engine
it is used to check.
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


def _lstsq_rate(e, prev_steps, cur_steps, order):
    rows = list(prev_steps) + list(cur_steps)
    X = np.array([[e[t - 1 - j] for j in range(order)] for t in rows])
    y = np.array([e[t] for t in rows])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    poly = [1.0, -coef[0]] if order == 1 else [1.0, -coef[0], -coef[1]]
    return coef, float(np.max(np.abs(np.roots(poly)))), np.linalg.cond(X)


@pytest.mark.parametrize("noise", [0.0, 0.3])
@pytest.mark.parametrize("order", [1, 2])
def test_fit_matches_lstsq(order, noise):
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(30):
        a, b = rng.uniform(-1.2, 1.2), (rng.uniform(-0.9, 0.3) if order == 2 else 0.0)
        n = int(rng.integers(40, 400))
        e = [1.0, rng.uniform(-1, 1)][:order]  # free initial conditions e_0 .. e_{k-1}
        for _t in range(order, n):
            e.append(a * e[-1] + b * e[-order] * (order == 2) + noise * rng.standard_normal())
        if max(map(abs, e)) > 1e100 or min(map(abs, e[-5:])) < 1e-100:
            continue
        B = int(rng.integers(8, 64))
        prev_steps, cur_steps = naive.window(n - 1, order, B)
        coef, rho, cond = _lstsq_rate(e, prev_steps, cur_steps, order)
        if cond > 1e4:
            continue
        S = naive.coordinate_sums(e, n - 1, order, B)
        used, fa, fb = naive.fit_coefficients(S, order)
        assert used == order
        assert math.isclose(fa, coef[0], rel_tol=1e-9, abs_tol=1e-12)
        if order == 2:
            assert math.isclose(fb, coef[1], rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(naive.fit_rate(S, order), rho, rel_tol=1e-8)
        if noise == 0.0:  # exact sequence: the fit recovers the recurrence
            assert math.isclose(fa, a, rel_tol=1e-9, abs_tol=1e-12)
        checked += 1
    assert checked >= 10


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
    d = len(history[0]) if history else 0
    rs = []
    for i in range(d):
        cur, prev, frozen = [0.0] * 5, [0.0] * 5, False
        for t in range(last + 1):
            if frozen:
                break
            e = [history[s][i] for s in range(max(0, t - 2), t + 1)][::-1]  # e_t, e_{t-1}..
            if t > 1 and (t - 1) % B == 0:
                prev, cur = cur, [0.0] * 5
            if t >= order:
                cur[0] = cur[0] + e[1] * e[1]
                cur[3] = cur[3] + e[0] * e[1]
                if order == 2:
                    cur[1] = cur[1] + e[1] * e[2]
                    cur[2] = cur[2] + e[2] * e[2]
                    cur[4] = cur[4] + e[0] * e[2]
            if e[0] * e[0] <= naive.FLOOR:
                frozen = True
        rs.append(naive.fit_rate([prev[j] + cur[j] for j in range(5)], order))
    return naive.combine_rates(rs)


STREAMING_CASES = [
    ("gd", 0.5, 0.0, (1.0, 2.0), (1.0, -1.0), 300, 0.0),  # tol 0: freezes, underflow
    ("gd", 1.0, 0.0, (1.0, 0.5), (1.0, 1.0), 200, 1e-20),  # coordinate 0 exact zero at t=1
    ("gd", 0.9 / 50, 0.0, (1.0, 50.0), (1.0, 1.0), 400, 0.0),  # freeze long before the end
    ("heavy_ball", 0.9 / 30, 0.0, (1.0, 30.0), (1.0, 1.0), 300, 0.0),
    ("heavy_ball", 0.5, 0.9, (1.0, 3.0), (1.0, 1.0), 300, 1e-20),
    ("heavy_ball", 0.01, 0.5, (1.0, 400.0), (0.3, -2.0), 500, 1e-20),  # divergent
    ("nesterov", 0.05, 0.8, (1.0, 10.0, 30.0), (1.0, 1.0, 1.0), 1000, 0.0),
    ("nesterov", 1.5, 0.3, (1.0, 1.0), (1.0, 1.0), 100, 1e-20),
    ("gd", 1e100, 0.0, (1.0, 1.0), (1.0, 1.0), 50, 0.0),  # non-finite loss
]


@pytest.mark.parametrize("case", STREAMING_CASES)
def test_windowed_estimator_equals_streaming(case):
    optimizer, eta, beta, lam, start, steps, tol = case
    div = math.inf if eta > 1e50 else 1e10
    out = naive.simulate_detail(optimizer, eta, beta, lam, start, steps, tol=tol, diverge=div)
    r_stream = streaming_rate(out["history"], out["last"], out["order"], out["B"])
    assert (math.isnan(r_stream) and math.isnan(out["rate"])) or r_stream == out["rate"]


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
        pytest.param(
            "heavy_ball", 0.5 / 100.0, 0.9, 100.0,
            marks=pytest.mark.xfail(
                strict=True,
                reason="spec: the order-2 fit's det = a11*a22 - a12*a12 is quartic in e and "
                "underflows to 0 once the window's sums drop below ~1e-154 (here ~1e-172, "
                "window e ~ 1e-86..1e-140), so the fit falls back to order 1 "
                "(0.938 instead of sqrt(0.9) = 0.949). FLOOR keeps products of two e's "
                "normal, not products of sums.",
            ),
        ),
    ],
)  # fmt: skip
def test_tol_zero_runs_to_underflow(optimizer, eta, beta, kappa):
    lam = (1.0, kappa)
    out = naive.simulate_detail(optimizer, eta, beta, lam, (1.0, 1.0), 10000, tol=0.0)
    assert out["status"] == "converged" and out["final_loss"] == 0.0  # loss underflowed
    rho = spectral_radius(optimizer, eta, beta, lam)
    if optimizer == "gd":
        assert math.isclose(out["rate"], rho, rel_tol=1e-9)
    else:
        assert_log_close(out["rate"], rho)
    # the freeze at FLOOR keeps every summed product normal (no subnormals in a fit)
    order = out["order"]
    for i, t_last in enumerate(out["t_last"]):
        e = [h[i] for h in out["history"]]
        assert t_last < out["last"]  # froze before the run ended
        assert e[t_last] * e[t_last] <= naive.FLOOR
        prev_steps, cur_steps = naive.window(t_last, order, out["B"])
        for t in [*prev_steps, *cur_steps]:
            for x, y in [(t, t - 1), (t - 1, t - 1)] + [(t, t - 2)] * (order == 2):
                p = abs(e[x] * e[y])
                assert p == 0.0 or p >= TINY, (t, x, y, e[x], e[y])


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
