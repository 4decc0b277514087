"""Two paths, one semantics: the general lane path on quadratics
(``fastdescent.kernels.lanes_loss``) gives the same bytes as the explicit-SIMD path."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import quadratic_spec
from hypothesis import given, settings
from hypothesis import strategies as st

from fastdescent import parse_spec
from fastdescent.engine import Engine

CASES = {
    # name: (optimizer, steps, problem params, axes)
    "hb d=2": ("heavy_ball", 300, {"dim": 2}, {
        "lr": {"start": 0.02, "stop": 4.2, "num": 23, "relative_to": "lambda_max"},
        "beta": {"values": [0.0, 0.5, 0.9, 0.99]},
        "kappa": {"start": 1.0, "stop": 1e4, "num": 5, "scale": "log"},
    }),
    "gd d=2 floor": ("gd", 2000, {"dim": 2}, {
        "lr": {"start": 0.1, "stop": 2.5, "num": 31, "relative_to": "lambda_max"},
        "kappa": {"values": [1.0, 3.0, 50.0]},
    }),
    "nesterov d=5 log": ("nesterov", 400, {"dim": 5, "spectrum": "log"}, {
        "lr": {"start": 0.05, "stop": 3.0, "num": 17, "relative_to": "lambda_max"},
        "beta": {"values": [0.3, 0.8]},
        "kappa": {"values": [1.0, 100.0]},
    }),
    "hb d=1": ("heavy_ball", 200, {"dim": 1}, {
        "lr": {"start": 0.1, "stop": 4.5, "num": 19},
        "beta": {"values": [0.0, 0.7]},
    }),
    "gd lambdas, tol 0": ("gd", 3000, {"lambdas": [1.0, 3.0, 1e-3]}, {
        "lr": {"values": [0.01, 0.3, 0.66, 0.7]},
    }),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_lane_path_gives_the_simd_paths_bytes(name):
    optimizer, steps, params, axes = CASES[name]
    raw = quadratic_spec(optimizer, steps=steps, axes=axes, **params)
    if "tol 0" in name:  # runs to the floor: coordinates freeze at block ends
        raw["stop"] = {"tol": 0.0, "diverge": 1e10}
    spec = parse_spec(raw)
    simd = Engine(spec).kernel(0, spec.size)
    lanes = Engine(spec, path="lanes").kernel(0, spec.size)
    for key, a in simd.items():
        b = lanes[key]
        assert a.dtype == b.dtype, key
        same = (a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else a == b
        assert same.all(), (key, np.flatnonzero(~same)[:5], a[~same][:5], b[~same][:5])


def test_lane_path_refuses_float32():
    spec = parse_spec(quadratic_spec("gd", steps=10, dtype="float32"))
    with pytest.raises(ValueError, match="float64"):
        Engine(spec, path="lanes")


@settings(max_examples=40, deadline=None)
@given(
    optimizer=st.sampled_from(["gd", "heavy_ball", "nesterov"]),
    dim=st.integers(1, 4),
    steps=st.integers(1, 150),
    lrs=st.lists(st.floats(0.01, 4.5), min_size=1, max_size=6, unique=True),
    betas=st.lists(st.floats(-0.5, 1.2), min_size=1, max_size=3, unique=True),
    kappas=st.lists(st.floats(1.0, 1e5), min_size=1, max_size=3, unique=True),
    tol=st.sampled_from([0.0, 1e-20, 1e-6]),
)
def test_random_grids_same_bytes(optimizer, dim, steps, lrs, betas, kappas, tol):
    axes = {"lr": {"values": lrs, "relative_to": "lambda_max"}}
    if optimizer != "gd":
        axes["beta"] = {"values": betas}
    if dim > 1:
        axes["kappa"] = {"values": kappas}
    raw = quadratic_spec(optimizer, steps=steps, dim=dim, axes=axes)
    raw["stop"] = {"tol": tol, "diverge": 1e10}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # beta outside [0, 1)
        spec = parse_spec(raw)
    simd = Engine(spec).kernel(0, spec.size)
    lanes = Engine(spec, path="lanes").kernel(0, spec.size)
    for key, a in simd.items():
        b = lanes[key]
        same = (a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else a == b
        assert same.all(), key


def _noisy_engines(spec):
    """The lane path's two ways with noisy rows: the fast lockstep kernel (one seed at a
    time, sweep_loss_noisy) and the scalar one (sweep_loss)."""
    fast = Engine(spec, path="lanes")
    slow = Engine(spec, path="lanes")
    slow.FAST_NOISE = False
    return fast, slow


def _same_bytes(a, b):
    for key, x in a.items():
        y = b[key]
        assert x.dtype == y.dtype, key
        same = x.view(np.int64) == y.view(np.int64) if x.dtype.kind == "f" else x == y
        assert same.all(), (key, np.flatnonzero(~same)[:5], x[~same][:5], y[~same][:5])


@settings(max_examples=25, deadline=None)
@given(
    optimizer=st.sampled_from(["gd", "heavy_ball", "nesterov"]),
    dim=st.integers(1, 4),
    steps=st.integers(1, 130),
    lrs=st.lists(st.floats(0.01, 4.5), min_size=1, max_size=4, unique=True),
    betas=st.lists(st.floats(-0.5, 1.2), min_size=1, max_size=2, unique=True),
    kappas=st.lists(st.floats(1.0, 1e5), min_size=1, max_size=2, unique=True),
    sigmas=st.lists(
        st.sampled_from([0.0, 1e-8, 0.01, 1.0, 100.0]), min_size=1, max_size=3, unique=True
    ),
    seeds=st.lists(st.integers(0, 2**33), min_size=1, max_size=3, unique=True),
    tol=st.sampled_from([0.0, 1e-20, 1e-3]),
    tail=st.sampled_from([0.01, 0.5, 1.0]),
    table=st.booleans(),
)
def test_fast_noisy_kernel_gives_the_scalar_kernels_bytes(optimizer, dim, steps, lrs, betas,
                                                          kappas, sigmas, seeds, tol, tail,
                                                          table):  # fmt: skip
    """Noisy rows on sweep_loss_noisy (lockstep lanes, one seed's noise table shared, or
    drawn per tile and block when the table is refused) equal sweep_loss's, bit for bit:
    every status (diverged at once or later, converged by the loss tolerance, max_steps),
    sigma = 0 rows mixed in, d = 1 .. 4 (d = 2 has its own fused loop)."""
    from fastdescent import rng

    axes = {"lr": {"values": lrs, "relative_to": "lambda_max"}, "sigma": {"values": sigmas},
            "seed": {"values": seeds}}  # fmt: skip
    if optimizer != "gd":
        axes["beta"] = {"values": betas}
    if dim > 1:
        axes["kappa"] = {"values": kappas}
    raw = quadratic_spec(optimizer, steps=steps, dim=dim, axes=axes)
    raw["stop"] = {"tol": tol, "diverge": 1e10}
    raw["metrics"] = {"tail": tail}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # beta outside [0, 1)
        spec = parse_spec(raw)
    fast, slow = _noisy_engines(spec)
    want = slow.kernel(0, spec.size)
    saved = rng.TABLE_BYTES
    try:
        rng.TABLE_BYTES = saved if table else 0
        got = fast.kernel(0, spec.size)
    finally:
        rng.TABLE_BYTES = saved
    _same_bytes(want, got)


def test_fast_noisy_kernel_w1_like_grid():
    """A W1-like grid with noise (heavy ball, d = 2, 8 seeds, early divergence and
    max_steps mixed, chunks cut anywhere): the same bytes on both kernels."""
    axes = {
        "lr": {"start": 0.01, "stop": 4.0, "num": 13, "relative_to": "lambda_max"},
        "beta": {"start": 0.0, "stop": 0.99, "num": 7},
        "kappa": {"start": 1.0, "stop": 1e4, "num": 5, "scale": "log"},
        "sigma": {"values": [0.01]},
        "seed": {"start": 0, "stop": 7, "num": 8},
    }
    spec = parse_spec(
        {**quadratic_spec("heavy_ball", steps=400, axes=axes), "metrics": {"tail": 0.5}}
    )
    fast, slow = _noisy_engines(spec)
    want = slow.kernel(0, spec.size)
    _same_bytes(want, fast.kernel(0, spec.size))
    parts = [fast.kernel(lo, min(333, spec.size - lo)) for lo in range(0, spec.size, 333)]
    _same_bytes(want, {k: np.concatenate([p[k] for p in parts]) for k in want})
    statuses = set(np.unique(want["status"]).tolist())
    assert len(statuses) >= 2, statuses
