"""``adaptive|w1-adam`` (issue #13): W1's grid (1,048,576 trajectories: 256 eta x 64
beta1 x 64 kappa, 1000 steps) with ``optimizer = "adam"``, against heavy ball's W1 in
the same run: the cost per trajectory-step of Adam's square root and division per
coordinate and step.

Measure with::

    python -m pytest benchmarks/test_adaptive.py --benchmark-enable -p no:randomly

Adam runs on the quadratic lockstep kernel (``lanes_loss.sweep_loss_noisy`` with a table
of zero noise); heavy ball on the explicit-SIMD path (its fastest) and, for a like-for-
like ratio, on the same lockstep kernel (with a cosine schedule, which routes it there:
other trajectories, the same operations per step plus the schedule table's read). The
summary prints ns per trajectory-step and their ratios.
In the ordinary test run each body runs once on a 1/16-size grid (a smoke test).

``adaptive|w4-adam``: W4's Rosenbrock start grid (256 x 256 starts, lr {1e-4, 5e-4, 1e-3},
10,000 steps, grad_tol 0 so every run takes every step) with Adam (``block_adaptive``)
against heavy ball (beta 0.9) on the same grid: on the noisy block with a cosine schedule
(the path Adam's rules and tail share) and on the noiseless block (W4's path).
``adaptive|w3-adam``: W3 (linreg, d = 16, mini-batches) with Adam against heavy ball: the
two rotations an adaptive step adds (2 d^2 per trajectory-step).

``test_w1_division_floor`` (in ``adaptive|w1-adam``): the floor under Adam's W1 step on
this machine, a vectorised loop doing only what PyTorch's operations make unavoidable
per trajectory-step of a 2-D quadratic -- 5 divisions (step size eta / (1 - beta1^t);
per coordinate sqrt(s) / sqrt(1 - beta2^t) and the step's m / denom) and 3 square roots
(sqrt(1 - beta2^t); sqrt(s) per coordinate) -- on the same 2 threads, per element.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest
from bench_helpers import time_kernel

import fastdescent
from fastdescent.engine import Engine, make_engine
from fastdescent.runner import _threads

W1_TOML = Path(__file__).resolve().parent.parent / "scripts" / "sweeps" / "momentum.toml"
THREADS = min(2, numba.config.NUMBA_NUM_THREADS)
_STEPS: dict[str, int] = {}


def _spec(full_size, optimizer, lockstep=False):
    raw = fastdescent.parse_spec(W1_TOML).to_dict()
    if not full_size:
        raw["axes"]["lr"]["num"] = 16
    raw["optimizer"] = optimizer
    if lockstep:  # a varying step size: the lockstep kernel
        raw["schedule"] = {"kind": "cosine"}
    return fastdescent.parse_spec(raw)


def _bench(benchmark, spec, full_size, name, rounds=5):
    engine = Engine(spec) if spec.problem == "quadratic" else make_engine(spec)
    out = time_kernel(benchmark, engine, full_size, rounds, THREADS)
    _STEPS[name] = benchmark.extra_info["trajectory_steps"]
    return out


@pytest.mark.benchmark(group="adaptive|w1-adam")
def test_w1_adam(benchmark, full_size):
    """Adam on W1's grid (beta1 on W1's beta axis, beta2 = 0.999, eps = 1e-8)."""
    out = _bench(benchmark, _spec(full_size, "adam"), full_size, "adam")
    assert np.isfinite(out["precond_sharpness"][out["status"] != 1]).all()


@pytest.mark.benchmark(group="adaptive|w1-adam")
def test_w1_heavy_ball_simd(benchmark, full_size):
    """Heavy ball's W1 on its explicit-SIMD path (the project's fastest kernel)."""
    _bench(benchmark, _spec(full_size, "heavy_ball"), full_size, "heavy_ball_simd")


@pytest.mark.benchmark(group="adaptive|w1-adam")
def test_w1_heavy_ball_lockstep(benchmark, full_size):
    """Heavy ball's W1 on the lockstep kernel Adam runs on (a constant-1 schedule)."""
    _bench(
        benchmark, _spec(full_size, "heavy_ball", lockstep=True), full_size, "heavy_ball_lockstep"
    )


def _w4(full_size, optimizer, schedule=False):
    num = 256 if full_size else 16
    raw = {
        "name": f"w4-{optimizer}", "problem": "rosenbrock", "optimizer": optimizer,
        "steps": 10_000 if full_size else 500, "stop": {"grad_tol": 0.0},
        "axes": {
            "lr": {"values": [1e-4, 5e-4, 1e-3]},
            "x0": {"start": -2.0, "stop": 2.0, "num": num},
            "y0": {"start": -1.0, "stop": 3.0, "num": num},
        },
    }  # fmt: skip
    if optimizer == "heavy_ball":
        raw["axes"]["beta"] = {"values": [0.9]}
    if schedule:
        raw["schedule"] = {"kind": "cosine"}
    return fastdescent.parse_spec(raw)


@pytest.mark.benchmark(group="adaptive|w4-adam")
def test_w4_adam(benchmark, full_size):
    """Adam (beta1 0.9, beta2 0.999, eps 1e-8) on W4's Rosenbrock grid."""
    out = _bench(benchmark, _w4(full_size, "adam"), full_size, "w4_adam", rounds=3)
    assert np.isfinite(out["precond_sharpness"]).any()


@pytest.mark.benchmark(group="adaptive|w4-adam")
def test_w4_heavy_ball_noisy_block(benchmark, full_size):
    """Heavy ball on the same grid, on the noisy block (a cosine schedule routes it)."""
    _bench(benchmark, _w4(full_size, "heavy_ball", True), full_size, "w4_hb_noisy", rounds=3)


@pytest.mark.benchmark(group="adaptive|w4-adam")
def test_w4_heavy_ball(benchmark, full_size):
    """Heavy ball on the same grid, on the noiseless block (W4's path)."""
    _bench(benchmark, _w4(full_size, "heavy_ball"), full_size, "w4_hb", rounds=3)


def _w3(full_size, optimizer):
    from test_w3 import w3_spec

    raw = w3_spec(full_size).to_dict()
    raw["optimizer"] = optimizer
    raw["axes"]["lr"].pop("relative_to")  # absolute: Adam's step is a distance in w
    raw["axes"]["lr"].update(start=1e-4, stop=0.1)
    return fastdescent.parse_spec(raw)


@pytest.mark.benchmark(group="adaptive|w3-adam")
def test_w3_adam(benchmark, full_size):
    """Adam (beta1 on W3's beta axis {0, 0.9}) on W3's mini-batch grid."""
    _bench(benchmark, _w3(full_size, "adam"), full_size, "w3_adam", rounds=3)


@pytest.mark.benchmark(group="adaptive|w3-adam")
def test_w3_heavy_ball(benchmark, full_size):
    """Heavy ball on the same grid (absolute learning rates)."""
    _bench(benchmark, _w3(full_size, "heavy_ball"), full_size, "w3_hb", rounds=3)


@numba.njit(parallel=True, error_model="numpy")
def _divisions_and_roots(a, b, c, out, reps):
    """reps passes over the arrays in 64 slices; per element 5 divisions and 3 square
    roots (and the few multiplications and additions that feed them)."""
    n = a.shape[0]
    for k in numba.prange(64):
        lo, hi = k * n // 64, (k + 1) * n // 64
        aa, bb, cc, oo = a[lo:hi], b[lo:hi], c[lo:hi], out[lo:hi]  # views: loops from 0
        for _ in range(reps):
            for i in range(hi - lo):
                x, y, z = aa[i], bb[i], cc[i]
                h = 0.1 / (1.0 - x)
                bc = np.sqrt(1.0 - y)
                d1 = np.sqrt(z) / bc + 1e-8
                d2 = np.sqrt(z + 1.0) / bc + 1e-8
                oo[i] = (h * x) / d1 + (h * y) / d2
                aa[i], bb[i], cc[i] = x * 0.5 + 0.25, y * 0.5 + 0.25, z * 0.5 + 0.25


@pytest.mark.benchmark(group="adaptive|w1-adam")
def test_w1_division_floor(benchmark, full_size):
    """5 divisions and 3 square roots per element, vectorised, 2 threads: the least an
    exact Adam step on W1 can cost here (its ``trajectory_steps`` are the elements)."""
    n, reps = 65_536, 1000 if full_size else 10
    a, b, c, out = np.full(n, 0.5), np.full(n, 0.5), np.full(n, 0.5), np.zeros(n)
    _divisions_and_roots(a, b, c, out, 1)
    with _threads(THREADS):
        benchmark.pedantic(_divisions_and_roots, args=(a, b, c, out, reps),
                           rounds=5 if full_size else 1)  # fmt: skip
    benchmark.extra_info.update(threads=THREADS, trajectory_steps=n * reps)
    assert np.isfinite(out).all()
