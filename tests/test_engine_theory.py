"""The engine against optimisation theory on dense grids (fastdescent.theory).

For every grid point at least 2% (in eta * lambda_max) from the stability boundary:
- ``diverged`` never where theory says stable;
- ``diverged`` always where theory says unstable and the predicted loss growth
  rho^(2 steps) exceeds the ``diverge`` threshold by a wide margin (1e6);
- the measured rate within 2% of |log rho| wherever rho is in [0.01, 0.9999] and the
  run took enough steps to fit its recurrence (>= 4).

Why 2% holds even at repeated roots: the estimator fits the exact recurrence
e_t = a e_{t-1} + b e_{t-2} that every coordinate obeys, so (t+1) rho^t is no bias for it
(a log-slope of ||e_t|| over a window [t0, t1] would be biased by
log((t1+1)/(t0+1)) / (t1 - t0) ~ 1/t). Rounding perturbs (a, b) by ~eps * cond and a
double root moves by the square root of that, ~1e-8 * sqrt(cond): far inside 2%.
test_repeated_roots checks it at the heavy-ball and Nesterov optima, which are double roots.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import quadratic_spec

import fastdescent
from fastdescent import theory

STEPS = 3000
DIVERGE = 1e10


def _sweep(optimizer, steps=STEPS):
    axes = {
        "lr": {"start": 0.02, "stop": 4.2, "num": 60, "relative_to": "lambda_max"},
        "kappa": {"start": 1, "stop": 1e4, "num": 9, "scale": "log"},
    }
    if optimizer != "gd":
        axes["beta"] = {"start": 0.0, "stop": 0.97, "num": 14}
    return fastdescent.run(quadratic_spec(optimizer, steps=steps, axes=axes))


@pytest.fixture(scope="module", params=["gd", "heavy_ball", "nesterov"])
def swept(request):
    optimizer = request.param
    df = _sweep(optimizer)
    beta = df["beta"].to_numpy() if "beta" in df else np.zeros(len(df))
    eta, lmin, lmax = (df[c].to_numpy() for c in ("eta", "lambda_min", "lambda_max"))
    opt_beta = beta if optimizer != "gd" else None
    rho = theory.rate(optimizer, eta, opt_beta, lmin, lmax)
    stable = theory.stable(optimizer, eta, opt_beta, lmin, lmax)
    limit = theory.stability_limit(optimizer, beta if optimizer != "gd" else 0.0, lmax)
    away = np.abs(eta / limit - 1.0) >= 0.02
    return optimizer, df, rho, stable, away


def test_never_diverges_where_stable(swept):
    _, df, _rho, stable, away = swept
    diverged = (df["status"] == "diverged").to_numpy()
    bad = diverged & stable & away
    assert bad.sum() == 0, df[bad].head()
    assert (stable & away).sum() > 0.2 * len(df)


def test_always_diverges_where_unstable(swept):
    _, df, rho, stable, away = swept
    diverged = (df["status"] == "diverged").to_numpy()
    with np.errstate(over="ignore"):
        must = ~stable & away & (2 * STEPS * np.log(rho) > np.log(DIVERGE * 1e6))
    assert must.sum() > 0.1 * len(df)
    assert diverged[must].all(), df[must & ~diverged].head()


def test_rate_within_2_percent_of_theory(swept):
    optimizer, df, rho, _stable, away = swept
    rate = df["rate"].to_numpy()
    check = away & (rho >= 0.01) & (rho <= 0.9999) & (df["steps"].to_numpy() >= 4)
    assert check.sum() > 0.2 * len(df)
    assert np.isfinite(rate[check]).all()
    err = np.abs(np.log(rate[check]) - np.log(rho[check])) / np.abs(np.log(rho[check]))
    worst = np.argmax(err)
    assert err.max() <= 0.02, (optimizer, df[check].iloc[worst].to_dict(), rho[check][worst])


@pytest.mark.parametrize("optimizer", ["gd", "heavy_ball", "nesterov"])
@pytest.mark.parametrize("kappa", [3.0, 100.0, 1e4])
def test_repeated_roots_at_the_optimum(optimizer, kappa):
    eta, beta, rho = theory.optimal(optimizer, 1.0, kappa)
    axes = {"lr": {"values": [float(eta)]}, "kappa": {"values": [kappa]}}
    if optimizer != "gd":
        axes["beta"] = {"values": [float(beta)]}
    df = fastdescent.run(quadratic_spec(optimizer, steps=5000, axes=axes))
    assert df["status"].iloc[0] in ("converged", "max_steps")
    rate = df["rate"].iloc[0]
    assert abs(np.log(rate) - np.log(rho)) <= 0.02 * abs(np.log(rho)), (rate, rho)


def test_course_values_at_kappa_100():
    """Heavy ball at (eta*, beta*) measures rho ~ 0.8182 = 9/11; GD at eta* ~ 0.9802 = 99/101."""
    eta, beta, _ = theory.optimal("heavy_ball", 1.0, 100.0)
    hb = fastdescent.run(
        quadratic_spec(
            "heavy_ball",
            steps=2000,
            axes={
                "lr": {"values": [float(eta)]},
                "beta": {"values": [float(beta)]},
                "kappa": {"values": [100.0]},
            },
        )
    )
    assert hb["rate"].iloc[0] == pytest.approx(0.8182, abs=5e-5)
    eta, _, _ = theory.optimal("gd", 1.0, 100.0)
    gd = fastdescent.run(
        quadratic_spec(
            "gd", steps=3000, axes={"lr": {"values": [float(eta)]}, "kappa": {"values": [100.0]}}
        )
    )
    assert gd["rate"].iloc[0] == pytest.approx(0.9802, abs=5e-5)


def test_rate_survives_underflow():
    """tol = 0: runs go on until the loss underflows to exactly 0; the window freezes
    before subnormals, so the rate is still the theoretical one."""
    axes = {
        "lr": {"values": [0.3, 0.5, 0.7]},
        "beta": {"values": [0.0, 0.3, 0.6]},
        "kappa": {"values": [2.0]},
    }
    spec = quadratic_spec("heavy_ball", steps=20000, axes=axes)
    spec["stop"] = {"tol": 0.0}
    df = fastdescent.run(spec)
    assert (df["final_loss"] == 0.0).all() and (df["status"] == "converged").all()
    rho = theory.rate("heavy_ball", df["eta"], df["beta"], df["lambda_min"], df["lambda_max"])
    assert np.allclose(np.log(df["rate"]), np.log(rho), rtol=0.02)


@pytest.mark.parametrize(
    ("optimizer", "worst", "dtype"),
    [
        ("gd", 1e-9, "float64"),
        ("heavy_ball", 1e-3, "float64"),
        ("nesterov", 1e-3, "float64"),
        ("gd", 1e-4, "float32"),
        ("heavy_ball", 2e-3, "float32"),
        ("nesterov", 2e-3, "float32"),
    ],
)
def test_worst_rate_error_on_a_fine_grid(optimizer, worst, dtype):
    """The README's accuracy figure: lr 128 (gd: 2048) x beta 64 x kappa 64 up to 1e4,
    1000 steps. Measured worst |log rate - log rho| / |log rho|: 1.3e-4 (heavy ball),
    1.7e-4 (nesterov), 1e-12 (gd); float32 (dynamics in float32, the window replayed in
    float64): 2.8e-4, 2.0e-4, 4.1e-6. The bounds leave room for other machines."""
    axes = {
        "lr": {
            "start": 0.01,
            "stop": 4.0,
            "num": 2048 if optimizer == "gd" else 128,
            "relative_to": "lambda_max",
        },
        "kappa": {"start": 1, "stop": 1e4, "num": 64, "scale": "log"},
    }
    if optimizer != "gd":
        axes["beta"] = {"start": 0.0, "stop": 0.99, "num": 64}
    df = fastdescent.run(quadratic_spec(optimizer, steps=1000, axes=axes, dtype=dtype))
    beta = df["beta"].to_numpy() if optimizer != "gd" else None
    eta, lmin, lmax = (df[c].to_numpy() for c in ("eta", "lambda_min", "lambda_max"))
    rho = theory.rate(optimizer, eta, beta, lmin, lmax)
    limit = theory.stability_limit(optimizer, 0.0 if beta is None else beta, lmax)
    check = (np.abs(eta / limit - 1) >= 0.02) & (rho >= 0.01) & (rho <= 0.9999)
    check &= df["steps"].to_numpy() >= 4
    rate = df["rate"].to_numpy()[check]
    err = np.abs(np.log(rate) - np.log(rho[check])) / np.abs(np.log(rho[check]))
    assert check.sum() > 0.1 * len(df)
    assert err.max() <= worst, err.max()
