"""Additive gradient noise (axes.sigma) on quadratics: the stationary excess loss against
the exact discrete theory (fastdescent.theory.stationary_loss), reproducibility, and
noiseless bytes unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastdescent
from fastdescent import theory
from fastdescent.engine import Engine
from fastdescent.spec import SpecError

LAM = [1.0, 4.0]
SEEDS = 48
STEPS = 20_000


def noisy_spec(optimizer, lrs, beta=None, sigma=(0.1,), seeds=SEEDS, steps=STEPS, tail=0.5):
    axes = {
        "lr": {"values": list(lrs)},
        "sigma": {"values": list(sigma)},
        "seed": {"start": 0, "stop": seeds - 1, "num": seeds},
    }
    if beta is not None:
        axes["beta"] = {"values": [beta]}
    return fastdescent.parse_spec({
        "problem": "quadratic", "optimizer": optimizer, "steps": steps,
        "problem_params": {"lambdas": LAM, "start": [1.0, 1.0]},
        "metrics": {"tail": tail}, "axes": axes,
    })  # fmt: skip


# (optimizer, beta, eta values): eta * lam_max from moderate to within 5 % of the limit
CASES = [
    ("gd", None, [0.1, 0.3, 0.475]),  # limit 2 / 4 = 0.5
    ("heavy_ball", 0.5, [0.1, 0.5, 0.7125]),  # limit 2 (1 + b) / 4 = 0.75
    ("nesterov", 0.5, [0.1, 0.3, 0.3563]),  # limit 2 (1 + b) / ((1 + 2 b) 4) = 0.375
]


@pytest.mark.parametrize(("optimizer", "beta", "etas"), CASES)
def test_stationary_excess_loss_matches_exact_theory(optimizer, beta, etas):
    """Mean over 48 seeds of the tail (last 10,000 of 20,000 steps) excess loss, against
    the exact stationary loss of the discrete iteration: within 2 %, and 3 standard
    errors (from the spread over seeds) are below 2 % too, so the test can tell. The
    smallest eta lambda_min is 0.1: the slowest mode forgets in ~10 steps, so the 10,000
    tail steps are ~1,000 independent samples per seed, and the start's transient (from
    |w| = 1) is gone long before the tail begins."""
    spec = noisy_spec(optimizer, etas, beta)
    df = fastdescent.run(spec, progress=False)
    assert (df.status == "max_steps").all() and df.rate.isna().all()
    for eta, runs in df.groupby("lr"):
        want = float(theory.stationary_loss(optimizer, eta, beta, LAM, 0.1))
        got = runs.loss_tail_mean.mean()
        se = runs.loss_tail_mean.std(ddof=1) / math.sqrt(len(runs))
        assert 3 * se < 0.02 * want, (eta, se / want)
        assert abs(got / want - 1) < 0.02, (optimizer, eta, got, want)


def test_reproducible_across_threads_and_chunks():
    spec = noisy_spec("heavy_ball", [0.2, 0.5], 0.9, sigma=(0.0, 0.05), seeds=4, steps=3000)
    a = fastdescent.run(spec, progress=False, threads=1, chunk_size=spec.size)
    b = fastdescent.run(spec, progress=False, threads=2, chunk_size=3)
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(a, b)
    noisy = a[a.sigma > 0]
    assert noisy.groupby("lr").loss_tail_mean.nunique().eq(4).all()  # seeds differ


def test_sigma_zero_is_the_noiseless_run():
    """A sigma = 0 row equals the same sweep without a sigma axis, bit for bit (the
    SIMD path computes that one)."""
    noisy = noisy_spec("nesterov", [0.1, 0.3], 0.5, sigma=(0.0,), seeds=1, steps=500)
    raw = noisy.to_dict()
    del raw["axes"]["sigma"], raw["metrics"]
    plain = fastdescent.parse_spec(raw)
    a = Engine(noisy).kernel(0, noisy.size)
    b = Engine(plain).kernel(0, plain.size)
    for key in b:
        assert np.array_equal(a[key], b[key], equal_nan=True), key


def test_same_seed_same_noise_at_every_grid_point():
    """Common random numbers: one GD step on the 1-D quadratic from w_0 = 10 is
    w_1 = (1 - eta) w_0 - eta sigma xi_0; the xi_0 recovered from two etas with the same
    seed is the same, and equals rng.normal(seed, noise stream, 0, 0)."""
    from fastdescent import rng

    spec = fastdescent.parse_spec({
        "problem": "quadratic", "optimizer": "gd", "steps": 1,
        "problem_params": {"dim": 1, "start": [10.0]},
        "axes": {"lr": {"values": [0.1, 0.3]}, "sigma": {"values": [0.01]},
                 "seed": {"values": [5, 6]}},
    })  # fmt: skip
    df = fastdescent.run(spec, progress=False)
    w1 = np.sqrt(2 * df.final_loss.to_numpy())  # w_1 > 0 here
    xi = ((1 - df.lr.to_numpy()) * 10.0 - w1) / (df.lr.to_numpy() * 0.01)
    xi = xi.reshape(2, 2)  # rows: lr, columns: seed
    assert xi[0] == pytest.approx(xi[1], rel=1e-6)
    assert xi[0] == pytest.approx([rng.normal(s, rng.STREAM_NOISE, 0, 0) for s in (5, 6)], rel=1e-6)
    assert xi[0, 0] != pytest.approx(xi[0, 1])


def test_noise_settings_errors():
    with pytest.raises(SpecError, match="metrics"):
        fastdescent.parse_spec({
            "problem": "quadratic", "optimizer": "gd", "steps": 10, "metrics": {"tail": 0.5},
            "axes": {"lr": {"values": [0.1]}},
        })  # fmt: skip
    with pytest.raises(SpecError, match=r"metrics\.tail"):
        noisy_spec("gd", [0.1], tail=0.0)
    with pytest.raises(SpecError, match=r"axes\.sigma"):
        noisy_spec("gd", [0.1], sigma=(-1.0,))


def test_check_theory_checks_a_noisy_sweep_against_the_stationary_loss():
    """check_sweep: the sigma = 0 rows against the noiseless theory, the noisy ones per
    grid point against the stationary loss; a doctored tail loss (10 % high) fails."""
    from fastdescent.checks import check_sweep

    spec = noisy_spec("heavy_ball", [0.1, 0.45, 0.7125], 0.5, sigma=(0.0, 0.1), steps=6000)
    df = fastdescent.run(spec, progress=False)
    report = check_sweep(df, spec.to_dict())
    assert report.ok, report.format()
    stationary = report["stationary loss"]
    assert stationary.checked == 3 and stationary.errors.max() < 0.02
    assert "144 of them with gradient noise" in report.format()
    doctored = df.copy()
    noisy = doctored.sigma > 0
    doctored.loc[noisy, "loss_tail_mean"] *= 1.1
    bad = check_sweep(doctored, spec.to_dict())
    assert not bad.ok and bad["stationary loss"].failed == 3
