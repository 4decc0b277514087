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
