"""W4, ``landscape|w4`` (BENCHMARKS.md): a Rosenbrock basin map on the general lane
kernel: GD from a 256 x 256 grid of start points over [-2, 2] x [-1, 3], three learning
rates, 10,000 steps (196,608 trajectories). In the ordinary test run each body runs
once on a 16 x 16 grid with 500 steps (a smoke test).

Also ``multimodal`` (sin/cos in every gradient) on the same start grid and a NumPy
baseline of W4: every trajectory in one array, masked once finished.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from bench_helpers import time_kernel

import fastdescent
from fastdescent.lane_engine import LaneEngine

THREADS = min(2, numba.config.NUMBA_NUM_THREADS)


def _spec(problem, full_size, region):
    xmin, xmax, ymin, ymax = region
    num = 256 if full_size else 16
    return fastdescent.parse_spec({
        "name": f"w4-{problem}", "problem": problem, "optimizer": "gd",
        "steps": 10_000 if full_size else 500,
        "axes": {
            "lr": {"values": [1e-4, 5e-4, 1e-3]},
            "x0": {"start": xmin, "stop": xmax, "num": num},
            "y0": {"start": ymin, "stop": ymax, "num": num},
        },
    })  # fmt: skip


@pytest.fixture(scope="module")
def w4(full_size):
    spec = _spec("rosenbrock", full_size, (-2.0, 2.0, -1.0, 3.0))
    LaneEngine(spec).warm_up()
    return spec


def _bench(benchmark, spec, full_size):
    return time_kernel(benchmark, LaneEngine(spec), full_size, 3, THREADS)


@pytest.mark.benchmark(group="landscape|w4")
def test_w4_kernel(benchmark, w4, full_size):
    """The lane kernel on W4, 2 threads."""
    _bench(benchmark, w4, full_size)


@pytest.mark.benchmark(group="landscape|w4")
def test_w4_multimodal_kernel(benchmark, full_size):
    """W4's grid on sin(x) cos(y) + 0.1 (x^2 + y^2): transcendental calls every step."""
    _bench(benchmark, _spec("multimodal", full_size, (-2.0, 2.0, -1.0, 3.0)), full_size)


def numpy_w4(spec):
    """W4 in NumPy: all trajectories in arrays, one vectorised GD step at a time, the
    same stop rules (|grad| <= grad_tol, |w - w_0| > radius) applied as masks. Returns
    (status codes as the kernel's for converged / diverged / max_steps, steps)."""
    cols = spec.coordinates(0, spec.size)
    eta, x, y = cols["lr"], cols["x0"].copy(), cols["y0"].copy()
    x0, y0 = x.copy(), y.copy()
    a, b = spec.problem_params["a"], spec.problem_params["b"]
    gtol2, r2 = spec.stop["grad_tol"] ** 2, spec.stop["radius"] ** 2
    live = np.ones(spec.size, bool)
    status = np.full(spec.size, 2, np.int8)
    steps = np.full(spec.size, spec.steps, np.int32)
    with np.errstate(all="ignore"):
        for t in range(spec.steps + 1):
            r = y - x * x
            gx = -2.0 * (a - x) - 4.0 * b * x * r
            gy = 2.0 * b * r
            g2 = gx * gx + gy * gy
            left = live & ~(((x - x0) ** 2 + (y - y0) ** 2 <= r2) & (g2 <= np.finfo(float).max))
            conv = live & ~left & (g2 <= gtol2)
            status[left], status[conv] = 1, 0
            steps[left | conv] = t
            live &= ~(left | conv)
            if t == spec.steps or not live.any():
                break
            x = np.where(live, x - eta * gx, x)
            y = np.where(live, y - eta * gy, y)
    return status, steps


@pytest.mark.benchmark(group="landscape|w4")
def test_w4_numpy_baseline(benchmark, w4, full_size):
    """The NumPy baseline; its statuses and steps agree with the kernel's."""
    status, steps = benchmark.pedantic(numpy_w4, args=(w4,), rounds=1)
    out = LaneEngine(w4).kernel(0, w4.size)
    agree = np.mean((status == out["status"]) & (steps == out["steps"]))
    benchmark.extra_info.update(trajectory_steps=int(steps.sum(dtype=np.int64)), agree=agree)
    assert agree > 0.99
