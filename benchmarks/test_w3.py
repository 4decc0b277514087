"""W3, ``sgd|w3`` (BENCHMARKS.md): mini-batch heavy ball on least squares. linreg with
n = 1024 samples, d = 16 features, kappa = 100 (spectrum "log"), 2,000 steps; axes
batch_size {1, 4, 16, 64, 256, 1024}, 64 learning rates (log-spaced, 1e-3 .. 4 relative
to lambda_max), beta {0, 0.9}, 8 seeds: 6,144 trajectories. In the ordinary test run each
body runs once on a smaller grid (a smoke test).

Figures (``extra_info``): trajectory-steps/s, and GFLOP/s of the floating-point work the
kernel executes (counted from its loops: per trajectory-step 2 d^2 for the lane product
(A_S z - b_S) and 10 d for the update and the excess loss; per tile and step
2 B d^2 + 2 B d for the batch sums when B < n) next to a practical peak measured in the
same session: NumPy's BLAS on a 2048 x 2048 float64 matrix product, 2 threads. The NumPy
baseline is the straightforward batched implementation: every trajectory sharing a batch
(same seed and B) in one matrix, the residual-form gradient (2/B) X_S^T (X_S W - y_S) by
BLAS, finished trajectories dropped.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from bench_helpers import time_kernel

import fastdescent
from fastdescent.linreg_engine import LinregEngine
from fastdescent.problems import linreg

THREADS = min(2, numba.config.NUMBA_NUM_THREADS)
BATCHES = [1, 4, 16, 64, 256, 1024]


def w3_spec(full_size=True):
    return fastdescent.parse_spec({
        "name": "w3", "problem": "linreg", "optimizer": "heavy_ball",
        "steps": 2000 if full_size else 200,
        "problem_params": {"n": 1024, "dim": 16, "spectrum": "log"},
        "axes": {
            "lr": {"start": 1e-3, "stop": 4.0, "num": 64 if full_size else 8, "scale": "log",
                   "relative_to": "lambda_max"},
            "beta": {"values": [0.0, 0.9]},
            "kappa": {"values": [100.0]},
            "batch_size": {"values": BATCHES},
            "seed": {"start": 0, "stop": 7 if full_size else 1, "num": 8 if full_size else 2},
        },
    })  # fmt: skip


def executed_flops(engine, out) -> float:
    """Floating-point operations the kernel executed for the results ``out``."""
    spec = engine.spec
    d, n = spec.problem_params["dim"], spec.problem_params["n"]
    lane = float(out["steps"].sum(dtype=np.int64)) * (2 * d * d + 10 * d)
    cols = spec.coordinates(0, spec.size)
    tiles, order, _, _ = engine._groups(cols, spec.size, np.zeros(spec.size, np.int64))
    sums = 0.0
    for _k, B, _seed, lo, hi, _schedule in tiles.T:
        if B < n:  # a tile runs as long as its longest trajectory
            sums += float(out["steps"][order[lo:hi]].max()) * (2 * B * d * d + 2 * B * d)
    return lane + sums


@pytest.fixture(scope="module")
def w3(full_size):
    spec = w3_spec(full_size)
    LinregEngine(spec).warm_up()
    return spec


@pytest.mark.benchmark(group="sgd|w3")
def test_w3_kernel(benchmark, w3, full_size):
    """The mini-batch kernel on W3, 2 threads."""
    engine = LinregEngine(w3)
    out = time_kernel(benchmark, engine, full_size, 5, THREADS)
    steps = benchmark.extra_info["trajectory_steps"]
    flops = executed_flops(engine, out)
    seconds = benchmark.stats.stats.median if benchmark.stats else math.nan
    benchmark.extra_info.update(
        flops=flops, steps_per_s=steps / seconds, gflops=flops / seconds / 1e9
    )


@pytest.mark.benchmark(group="sgd|w3")
def test_w3_blas_peak(benchmark, full_size):
    """A practical double-precision peak: NumPy's BLAS, 2048 x 2048 @ 2048 x 2048."""
    from threadpoolctl import threadpool_limits

    m = 2048 if full_size else 256
    rng = np.random.default_rng(0)
    a, b = rng.random((m, m)), rng.random((m, m))
    with threadpool_limits(THREADS):
        benchmark.pedantic(np.dot, args=(a, b), rounds=5 if full_size else 1, warmup_rounds=1)
    seconds = benchmark.stats.stats.median if benchmark.stats else math.nan
    benchmark.extra_info.update(threads=THREADS, gflops=2 * m**3 / seconds / 1e9)


def numpy_w3(spec):
    """W3 in batched NumPy: per (seed, B), every trajectory in one (d, T) matrix, the
    residual-form mini-batch gradient by BLAS, the kernel's batches (the sampler of
    ``kernels.batches``, drawn here step by step), the same stop rule; finished
    trajectories dropped. Returns the steps of each trajectory."""
    from fastdescent.kernels import batches as kb

    p = spec.problem_params
    n, d = p["n"], p["dim"]
    ds = linreg.dataset(100.0, p)
    X, y, w_hat, M = ds.X, ds.y, ds.w_hat, ds.X.T @ ds.X / n
    cols = spec.coordinates(0, spec.size)
    eta_all = cols["lr"] / ds.lambdas.max()
    steps_out = np.zeros(spec.size, np.int64)
    tol, diverge = spec.stop["tol"], spec.stop["diverge"]
    perm, pool = np.empty(n, np.int64), np.arange(n)
    for B in BATCHES:
        for seed in np.unique(cols["seed"]):
            members = np.flatnonzero((cols["batch_size"] == B) & (cols["seed"] == seed))
            eta, beta = eta_all[members], cols["beta"][members]
            W = np.zeros((d, len(members)))
            V = np.zeros_like(W)
            E = W - w_hat[:, None]
            gap0 = np.einsum("it,ij,jt->t", E, M, E)
            live = np.arange(len(members))
            idx, swaps = np.empty(B, np.int64), np.empty(B, np.int64)
            code = kb.FULL if B == n else kb.EPOCH
            for t in range(spec.steps):
                if code != kb.FULL:
                    kb.batch(code, seed, t, B, perm, pool, swaps, idx)
                    Xb, yb = X[idx], y[idx]
                else:
                    Xb, yb = X, y
                R = Xb @ W - yb[:, None]
                G = (2.0 / B) * (Xb.T @ R)
                V = beta * V - eta * G
                W = W + V
                E = W - w_hat[:, None]
                gap = np.einsum("it,ij,jt->t", E, M, E)
                with np.errstate(invalid="ignore"):
                    stop = ~(gap <= diverge * gap0[live]) | (gap <= tol * gap0[live])
                if t + 1 == spec.steps:
                    stop[:] = True
                if stop.any():
                    steps_out[members[live[stop]]] = t + 1
                    keep = ~stop
                    live, W, V, eta, beta = (
                        live[keep],
                        W[:, keep],
                        V[:, keep],
                        eta[keep],
                        beta[keep],
                    )
                    if len(live) == 0:
                        break
    return steps_out


@pytest.mark.benchmark(group="sgd|w3")
def test_w3_numpy_baseline(benchmark, w3, full_size):
    """The batched NumPy baseline, 2 BLAS threads; its trajectories stop within a step of
    the kernel's (different rounding: the residual form against the kernel's sums)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(THREADS):
        steps = benchmark.pedantic(numpy_w3, args=(w3,), rounds=1)
    out = LinregEngine(w3).kernel(0, w3.size)
    agree = float(np.mean(np.abs(steps - out["steps"]) <= 1))
    benchmark.extra_info.update(trajectory_steps=int(steps.sum()), agree=agree)
    assert agree > 0.99
