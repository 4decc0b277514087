"""fastdescent.theory.local: per-minimum limits and rates against hand values, against
theory.quadratic, and against the spectral radius of the iteration linearised at each
listed minimum (brute force: eigenvalues of the 2d x 2d iteration matrix built from the
problem's own Hessian)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastdescent import theory as T
from fastdescent.problems import get_problem

LANDSCAPES = ("multimodal", "rosenbrock", "donut", "wells", "himmelblau", "camel", "quartic")
OPTIMIZERS = ("gd", "heavy_ball", "nesterov")


def test_rosenbrock_hand_values():
    (m,) = T.local_minima("rosenbrock")
    # H(1, 1) = [[802, -400], [-400, 200]]: lam = 501 -+ sqrt(301^2 + 400^2)
    root = math.sqrt(301.0**2 + 400.0**2)
    assert m.eigenvalues == pytest.approx((501.0 - root, 501.0 + root), rel=1e-12)
    assert m.lambda_min == pytest.approx(0.39936, abs=1e-5)
    assert m.lambda_max == pytest.approx(1001.60, abs=1e-2)
    assert T.minima_limits("rosenbrock", "gd")[0] == pytest.approx(0.0019968, rel=1e-5)
    assert m.limit("gd") == pytest.approx(2.0 / (501.0 + root), rel=1e-14)
    assert m.limit("heavy_ball", 0.9) == pytest.approx(3.8 / (501.0 + root), rel=1e-14)
    assert m.limit("nesterov", 0.9) == pytest.approx(3.8 / (2.8 * (501.0 + root)), rel=1e-14)
    # the course milestone: eta = 0.001, the slow direction contracts by 1 - eta*lam_min
    assert m.rate("gd", 0.001) == pytest.approx(1.0 - 0.001 * (501.0 - root), rel=1e-14)


def test_limits_are_quadratic_theory_at_lambda_max():
    beta = np.linspace(0.0, 0.95, 7)
    for problem in LANDSCAPES:
        for opt in OPTIMIZERS:
            b = 0.0 if opt == "gd" else beta
            limits = T.minima_limits(problem, opt, None if opt == "gd" else beta)
            for m, row in zip(T.local_minima(problem), limits, strict=True):
                want = T.stability_limit(opt, b, max(m.eigenvalues))
                assert np.array_equal(row, np.broadcast_to(want, row.shape)), (problem, opt)


def test_rates_are_quadratic_theory_over_the_curved_spectrum():
    eta = np.geomspace(1e-4, 0.5, 40)[:, None]
    beta = np.array([0.0, 0.5, 0.9])[None, :]
    for problem in LANDSCAPES:
        minima = T.local_minima(problem)
        for opt in OPTIMIZERS:
            b = None if opt == "gd" else beta
            got = T.minima_rates(problem, opt, eta, b)
            assert got.shape == (len(minima), 40, 1 if opt == "gd" else 3)
            for m, row in zip(minima, got, strict=True):
                want = T.rate(opt, eta, b, m.lambda_min, m.lambda_max)
                assert np.allclose(row, want, rtol=1e-14, atol=0), (problem, opt)


def _iteration_radius(opt, eta, beta, H):
    """Spectral radius of the update map's Jacobian at a fixed point with Hessian H."""
    d = H.shape[0]
    eye = np.eye(d)
    if opt == "gd":
        M = eye - eta * H
    elif opt == "heavy_ball":  # state (w_t, w_{t-1})
        M = np.block([[(1 + beta) * eye - eta * H, -beta * eye], [eye, 0 * eye]])
    else:  # nesterov: w_{t+1} = (1 + beta)(I - eta H) w_t - beta (I - eta H) w_{t-1}
        A = eye - eta * H
        M = np.block([[(1 + beta) * A, -beta * A], [eye, 0 * eye]])
    return float(np.max(np.abs(np.linalg.eigvals(M))))


@pytest.mark.parametrize("problem", [p for p in LANDSCAPES if p != "donut"])
def test_rate_is_the_linearised_iterations_spectral_radius(problem):
    module = get_problem(problem)
    params = module.normalise_params({}, "problem_params")
    c = module.pack(params)
    hessian = module.hessian.py_func
    for m in T.local_minima(problem):
        x, y = (*m.location, 0.0)[:2]
        hxx, hxy, hyy = (float(h) for h in hessian(x, y, c))
        H = np.array([[hxx, hxy], [hxy, hyy]])[: module.DIM, : module.DIM]
        assert np.allclose(np.linalg.eigvalsh(H), m.eigenvalues, rtol=1e-12, atol=1e-12)
        limit = m.limit("gd")
        for opt, beta in [("gd", None), ("heavy_ball", 0.5), ("nesterov", 0.7)]:
            for eta in np.array([0.05, 0.4, 0.9, 0.99, 1.02, 1.3]) * limit:
                got = m.rate(opt, eta, beta)
                want = _iteration_radius(opt, eta, beta or 0.0, H)
                assert got == pytest.approx(want, rel=1e-7), (problem, m.index, opt, eta)


def test_donut_flat_direction_is_skipped():
    (m,) = T.local_minima("donut", {"r": 2.0})
    assert m.kind == "circle" and m.eigenvalues[0] == 0.0 and m.curved == (32.0,)
    eta = np.array([0.01, 1 / 32, 0.05, 0.07])
    assert np.allclose(m.rate("gd", eta), np.abs(1 - 32 * eta), rtol=1e-14)
    assert m.limit("gd") == 2 / 32 and m.limit("heavy_ball", 0.5) == 3 / 32
    assert (T.local_stable("gd", eta, None, m.eigenvalues) == [True, True, True, False]).all()
    assert list(T.curved_eigenvalues([1e-9, 1.0])) == [1.0]  # 1e-9 <= 1e-8 * 1: flat
    assert list(T.curved_eigenvalues([2e-8, 1.0])) == [2e-8, 1.0]
    with pytest.raises(ValueError, match="no curved direction"):
        T.curved_eigenvalues([0.0, 0.0])


def test_stable_iff_rate_below_one_and_eta_below_the_limit():
    eta = np.linspace(1e-4, 0.04, 400)
    for opt, beta in [("gd", None), ("heavy_ball", 0.6), ("nesterov", 0.6)]:
        for m in T.local_minima("himmelblau"):
            ok = T.local_stable(opt, eta, beta, m.eigenvalues)
            assert np.array_equal(ok, m.rate(opt, eta, beta) < 1.0)
            assert np.array_equal(ok, eta < m.limit(opt, beta))


def test_himmelblau_minima_have_four_distinct_limits():
    limits = T.minima_limits("himmelblau", "gd")
    assert limits == pytest.approx([0.014949, 0.024829, 0.024306, 0.018972], abs=1e-6)
    assert len(np.unique(np.round(limits, 6))) == 4


def test_shapes_nan_and_errors():
    assert T.minima_limits("saddle", "gd").shape == (0,)
    assert T.minima_rates("saddle", "heavy_ball", [0.1, 0.2], 0.5).shape == (0, 2)
    lim = T.minima_limits("camel", "heavy_ball", [[0.0, 0.5, 1.0, -0.1]])
    assert lim.shape == (6, 1, 4)
    assert np.isnan(lim[..., 2:]).all() and np.isfinite(lim[..., :2]).all()
    assert np.ndim(T.local_rate("gd", 0.1, None, [1.0, 2.0])) == 0
    with pytest.raises(ValueError, match="no momentum"):
        T.local_rate("gd", 0.1, 0.5, [1.0])
    with pytest.raises(ValueError, match="not a landscape"):
        T.local_minima("quadratic")
    wells = T.local_minima(
        "wells", {"bowl": 0.1, "wells": [{"center": [1, 0], "depth": 1, "width": 0.5}]}
    )
    assert len(wells) >= 1 and all(m.lambda_min > 0 for m in wells)
