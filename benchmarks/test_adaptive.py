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
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest

import fastdescent
from fastdescent.engine import Engine
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


def _bench(benchmark, spec, full_size, name):
    engine = Engine(spec)
    engine.kernel(0, 4096)  # compiled (or loaded) before anything is timed
    with _threads(THREADS):
        out = benchmark.pedantic(
            engine.kernel, args=(0, spec.size), rounds=5 if full_size else 1,
            warmup_rounds=1 if full_size else 0,
        )  # fmt: skip
    steps = int(out["steps"].sum(dtype=np.int64))
    _STEPS[name] = steps
    benchmark.extra_info.update(threads=THREADS, trajectory_steps=steps)
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
