"""W2, ``momentum|w2`` (BENCHMARKS.md): 16,384 heavy-ball trajectories on 64-dimensional
quadratics with a log-spaced spectrum, 2,000 steps (``vector_ir.dynamics_burst_d``: the
coordinates' state in memory, the lanes' in registers). In the ordinary test run the
body runs once on a 1/16 grid."""

from __future__ import annotations

import json

import numba
import numpy as np
import pytest
from bench_helpers import peak_rss_mb

import fastdescent
from fastdescent.engine import Engine
from fastdescent.runner import _threads

THREADS = min(2, numba.config.NUMBA_NUM_THREADS)


@pytest.fixture(scope="module")
def w2(full_size):
    spec = fastdescent.parse_spec({
        "name": "w2", "problem": "quadratic", "optimizer": "heavy_ball", "steps": 2000,
        "problem_params": {"dim": 64, "spectrum": "log"},
        "axes": {
            "lr": {"start": 0.05, "stop": 4.0, "num": 64 if full_size else 4,
                   "relative_to": "lambda_max"},
            "beta": {"start": 0.0, "stop": 0.99, "num": 16},
            "kappa": {"start": 1, "stop": 1e4, "num": 16, "scale": "log"},
        },
    })  # fmt: skip
    Engine(spec).warm_up()
    return spec


@pytest.mark.benchmark(group="momentum|w2")
def test_w2_kernel(benchmark, w2, full_size):
    engine = Engine(w2)
    with _threads(THREADS):
        out = benchmark.pedantic(
            engine.kernel,
            args=(0, w2.size),
            rounds=3 if full_size else 1,
            warmup_rounds=1 if full_size else 0,
        )
    steps = int(out["steps"].sum(dtype=np.int64))
    benchmark.extra_info.update(
        threads=THREADS, trajectories=w2.size, trajectory_steps=steps, coordinate_steps=steps * 64
    )


@pytest.mark.benchmark(group="momentum|w2")
def test_w2_end_to_end(benchmark, w2, tmp_path_factory, full_size):
    def setup():
        return (w2,), {
            "out": tmp_path_factory.mktemp("w2") / "r",
            "threads": THREADS,
            "progress": False,
        }

    out = benchmark.pedantic(fastdescent.run, setup=setup, rounds=3 if full_size else 1)
    m = json.loads((out / "_sweep.json").read_text())
    assert m["complete"]
    benchmark.extra_info.update(
        kernel_seconds=m["kernel_seconds"],
        write_seconds=m["write_seconds"],
        trajectory_steps=m["trajectory_steps"],
        peak_rss_mb=peak_rss_mb(w2.to_dict(), tmp_path_factory.mktemp("w2rss"), "w2"),
    )
