"""The kernels against the slow twin (tests/naive.py): the textbook update rule, one
trajectory at a time in plain Python. Status and integers exactly; floats to 1e-12
relative (in practice bit for bit)."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from helpers import quadratic_spec
from naive import simulate

import fastdescent
from fastdescent.problems import quadratic

OPTIMIZERS = ["gd", "heavy_ball", "nesterov"]


def _compare(df, spec, rows):
    params = fastdescent.parse_spec(spec).problem_params
    for _, row in df.iloc[rows].iterrows():
        kappa = np.array([row["kappa"]]) if "kappa" in row else None
        lam = quadratic.eigenvalues(kappa, params)[0]
        beta = row["beta"] if "beta" in row else 0.0
        stop = spec.get("stop", {})
        ref = simulate(
            spec["optimizer"],
            row["eta"],
            beta,
            list(lam),
            params["start"],
            spec["steps"],
            stop.get("tol", 1e-20),
            stop.get("diverge", 1e10),
            spec.get("dtype", "float64"),
        )
        where = f"traj {row['traj']}: {dict(row)}\nref {ref}"
        assert row["status"] == ref["status"], where
        assert row["steps"] == ref["steps"], where
        assert row["diverge_step"] == ref["diverge_step"], where
        for key in ("loss0", "final_loss", "rate"):
            a, b = row[key], ref[key]
            if math.isnan(b) or math.isinf(b):
                assert (math.isnan(a) and math.isnan(b)) or a == b, (key, where)
            else:
                assert a == pytest.approx(b, rel=1e-12, abs=0.0), (key, where)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize(
    ("dim", "spectrum"), [(1, "endpoints"), (2, "endpoints"), (3, "linear"), (5, "log")]
)
def test_random_grid_matches_twin(optimizer, dim, spectrum):
    rng = np.random.default_rng(zlib.crc32(f"{optimizer}{dim}{spectrum}".encode()))
    axes = {
        "lr": {"values": sorted(rng.uniform(0.02, 4.5, 7).tolist()), "relative_to": "lambda_max"}
    }
    if optimizer != "gd":
        axes["beta"] = {"values": sorted(rng.uniform(0.0, 0.98, 5).tolist())}
    params = {"spectrum": spectrum, "start": rng.uniform(-2, 2, dim).round(3).tolist()}
    if dim > 1:
        axes["kappa"] = {"values": sorted(rng.uniform(1, 300, 3).tolist())}
    spec = quadratic_spec(optimizer, steps=int(rng.integers(40, 400)), dim=dim, axes=axes, **params)
    df = fastdescent.run(spec)
    assert len(df) == fastdescent.parse_spec(spec).size
    assert set(df["status"]) >= {"diverged"}  # the grid crosses the stability boundary
    _compare(df, spec, slice(None))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_explicit_lambdas_and_stop_settings_match_twin(optimizer, dtype):
    axes = {"lr": {"start": 0.05, "stop": 0.6, "num": 9}}
    if optimizer != "gd":
        axes["beta"] = {"values": [0.0, 0.5, 0.9]}
    spec = quadratic_spec(
        optimizer,
        steps=2000,
        axes=axes,
        dtype=dtype,
        lambdas=[0.5, 2.0, 3.0],
        start=[1.0, -1.0, 0.25],
    )
    spec["stop"] = {"tol": 0.0, "diverge": 1e3}  # run until the loss underflows to 0
    df = fastdescent.run(spec)
    _compare(df, spec, slice(None))


def test_degenerate_starts_match_twin():
    """Start at the minimum (converged at step 0, no rate) and with a zero coordinate."""
    for start in ([0.0, 0.0], [0.0, 1.0], [1e-200, 1.0]):
        spec = quadratic_spec(
            "heavy_ball",
            steps=200,
            start=start,
            axes={
                "lr": {"values": [0.3, 1.5]},
                "beta": {"values": [0.5]},
                "kappa": {"values": [4.0]},
            },
        )
        df = fastdescent.run(spec)
        _compare(df, spec, slice(None))
    assert df["rate"].notna().all()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("steps", [1, 2, 31, 32, 33, 64, 97])
def test_block_boundaries_match_twin(optimizer, steps, dtype):
    """d = 2 runs in bursts of one rate block (fastdescent.kernels.simd.blocks): trajectories
    that stop on every side of a block boundary, and at steps that are and are not multiples
    of B."""
    axes = {"lr": {"start": 0.02, "stop": 4.2, "num": 23, "relative_to": "lambda_max"}}
    if optimizer != "gd":
        axes["beta"] = {"values": [0.0, 0.3, 0.9]}
    axes["kappa"] = {"values": [1.0, 3.0, 40.0]}
    spec = quadratic_spec(optimizer, steps=steps, axes=axes, start=[0.7, -1.3])
    spec["stop"] = {"tol": 1e-8, "diverge": 1e4}
    spec["dtype"] = dtype
    df = fastdescent.run(spec)
    if steps >= 31:
        assert set(df["status"]) == {"converged", "diverged", "max_steps"}
    _compare(df, spec, slice(None))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_underflow_and_overflow_match_twin(optimizer, dtype):
    """d = 2: a coordinate that reaches the underflow floor (its rate window freezes while
    the other runs on), and runs whose loss overflows to inf (the last step enters no
    window)."""
    axes = {"lr": {"values": [0.3, 0.9, 1.0, 1.7, 2.5, 3.5], "relative_to": "lambda_max"}}
    if optimizer != "gd":
        axes["beta"] = {"values": [0.0, 0.2, 0.6]}
    axes["kappa"] = {"values": [2.0, 50.0]}
    # huge: the loss at the start is finite (a start whose loss overflows is refused), and
    # the runs that diverge overflow within 500 steps
    tiny, huge = (1e-100, 1e150) if dtype == "float64" else (1e-12, 1e17)
    spec = quadratic_spec(optimizer, steps=3000, axes=axes, start=[1.0, tiny], dtype=dtype)
    spec["stop"] = {"tol": 0.0, "diverge": 1e300}  # to underflow, or to overflow
    df = fastdescent.run(spec)
    _compare(df, spec, slice(None))
    big = quadratic_spec(optimizer, steps=500, axes=axes, start=[huge, -3 * huge], dtype=dtype)
    big["stop"] = {"tol": 1e-300, "diverge": 1e300}
    df = fastdescent.run(big)
    assert (df["final_loss"] == math.inf).any()
    _compare(df, big, slice(None))


def test_seed_axis_and_odd_chunks_match_twin():
    """Tiles walk the grid like an odometer (seed fastest): with a seed axis and chunks
    that start anywhere in it, every row is still its own trajectory."""
    axes = {
        "lr": {"values": [0.2, 0.9, 1.7, 2.3], "relative_to": "lambda_max"},
        "beta": {"values": [0.0, 0.6, 0.95]},
        "kappa": {"values": [1.0, 7.0, 90.0]},
        "seed": {"values": [0, 1, 5]},
    }
    spec = quadratic_spec("heavy_ball", steps=150, axes=axes, start=[0.4, 1.1])
    df = fastdescent.run(spec, chunk_size=7, progress=False)
    assert sorted(set(df["seed"])) == [0, 1, 5]
    _compare(df, spec, slice(None))
