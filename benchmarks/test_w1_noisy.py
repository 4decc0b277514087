"""W1-noisy, ``momentum|w1-noisy`` (BENCHMARKS.md): W1 with gradient noise, sigma = 0.01 and
8 seeds, 8,388,608 heavy-ball trajectories on 2-D quadratics (most run all 1000 steps).

Measure with::

    python -m pytest benchmarks/test_w1_noisy.py --benchmark-enable

The group holds the noisy kernel (``Engine.kernel``: the lane path, noisy rows on
``lanes_loss.sweep_loss_noisy``, one seed at a time, with that seed's noise table) and, in
the same run, noiseless W1's kernel (the explicit-SIMD path), so that the ratio of their
costs per trajectory-step is taken under the same conditions. ``test_w1_noisy_generator``
times the generator: building the noise tables (``rng.build_table``, the draws W1-noisy
needs: 8 seeds x 1000 steps x 2) and drawing on the fly (``rng.normals4`` per block of
four normals, one thread). The summary prints ns per trajectory-step, the ratio to W1 and
ns per normal draw. In the ordinary test run each body runs once on a 1/16-size grid (a
smoke test).
"""

from __future__ import annotations

import time
from pathlib import Path

import numba
import numpy as np
import pytest

import fastdescent
from fastdescent import rng
from fastdescent.engine import Engine
from fastdescent.metrics import MAX_STEPS
from fastdescent.runner import _threads

W1_TOML = Path(__file__).resolve().parent.parent / "scripts" / "sweeps" / "momentum.toml"
THREADS = min(2, numba.config.NUMBA_NUM_THREADS)
SEEDS = 8
SIGMA = 0.01
_FIGURES: dict[str, float] = {}


def _spec(full_size, noisy):
    raw = fastdescent.parse_spec(W1_TOML).to_dict()
    if not full_size:
        raw["axes"]["lr"]["num"] = 16
    if noisy:
        raw["axes"]["sigma"] = {"values": [SIGMA]}
        raw["axes"]["seed"] = {"start": 0, "stop": SEEDS - 1, "num": SEEDS}
    return fastdescent.parse_spec(raw)


@pytest.fixture(scope="module")
def w1_noisy(full_size):
    spec = _spec(full_size, noisy=True)
    Engine(spec).warm_up()
    Engine(spec).kernel(0, 4096)  # every seed: the noisy kernel compiled (or loaded)
    return spec


@pytest.fixture(scope="module")
def w1_plain(full_size):
    spec = _spec(full_size, noisy=False)
    Engine(spec).warm_up()
    return spec


def _timing(fn, times, cpu=None):
    """fn, recording the seconds of each call in ``times`` (pytest-benchmark keeps no
    statistics when disabled, in the smoke run), and the process's CPU seconds (all
    threads) in ``cpu``: a cost that other processes on the machine inflate less."""

    def timed(*args):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
        return out

    return timed


def _bench(benchmark, spec, full_size, key):
    engine = Engine(spec)
    times, cpu = [], []
    with _threads(THREADS):
        out = benchmark.pedantic(
            _timing(engine.kernel, times, cpu),
            args=(0, spec.size),
            rounds=3 if full_size else 1,
            warmup_rounds=1 if full_size else 0,
        )
    steps = int(out["steps"].sum(dtype=np.int64))
    times = times[1:] if full_size else times  # the warm-up round
    cpu = cpu[1:] if full_size else cpu
    seconds = float(np.median(times))
    cpu_ns = float(np.median(cpu)) / steps * 1e9
    ns = seconds / steps * 1e9
    benchmark.extra_info.update(
        threads=THREADS,
        trajectories=spec.size,
        trajectory_steps=steps,
        trajectory_steps_per_second=steps / seconds,
        ns_per_trajectory_step=ns,
        cpu_ns_per_trajectory_step=cpu_ns,
    )
    _FIGURES[key] = ns
    _FIGURES[key + "_cpu"] = cpu_ns
    return out, steps


@pytest.mark.benchmark(group="momentum|w1-noisy")
def test_w1_noisy_kernel(benchmark, w1_noisy, full_size):
    """The noisy kernel on W1-noisy, 2 threads (Engine.kernel: coordinates, the noise
    tables and the kernel, no Parquet)."""
    out, steps = _bench(benchmark, w1_noisy, full_size, "noisy")
    assert np.isfinite(out["loss_tail_mean"][out["status"] == MAX_STEPS]).all()
    if full_size:
        assert w1_noisy.size == 8_388_608
        print(f"W1-noisy: {steps:,} trajectory-steps")


@pytest.mark.benchmark(group="momentum|w1-noisy")
def test_w1_kernel_same_session(benchmark, w1_plain, full_size):
    """Noiseless W1's kernel (the SIMD path), 2 threads, in the same session."""
    _bench(benchmark, w1_plain, full_size, "plain")


@pytest.mark.benchmark(group="momentum|w1-noisy")
def test_w1_noisy_generator(benchmark, full_size):
    """The generator: W1-noisy's noise tables (8 seeds x 1000 steps x 2 normals, built as
    the engine builds them, ``rng.build_table``), and normals drawn on the fly (normals4,
    one thread)."""
    seeds = np.arange(SEEDS, dtype=np.int64)
    steps = 1000
    out = rng.build_table(seeds, steps, 2)  # compile; as the engine builds it (one thread
    times = []  # below rng.SERIAL_DRAWS draws: W1-noisy's 16,000)
    with _threads(THREADS):
        out = benchmark.pedantic(
            _timing(rng.build_table, times),
            args=(seeds, steps, 2),
            rounds=20 if full_size else 1,
        )
    table_ns = float(np.median(times)) / out.size * 1e9
    assert np.array_equal(out[3, 17], [rng.normal(3, 0, 17, 0), rng.normal(3, 0, 17, 1)])

    @numba.njit
    def draws(n):
        s = 0.0
        for t in range(n):
            z0, z1, z2, z3 = rng.normals4(1, rng.STREAM_NOISE, t, 0)
            s += z0 + z1 + z2 + z3
        return s

    n = 2_000_000 if full_size else 20_000
    draws(10)
    best = min(_timed(draws, n) for _ in range(3))
    fly_ns = best / (4 * n) * 1e9
    benchmark.extra_info.update(
        table_draws=int(out.size), table_ns_per_draw=table_ns, on_the_fly_ns_per_draw=fly_ns
    )
    _FIGURES["table"] = table_ns
    _FIGURES["fly"] = fly_ns


def _timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def test_w1_noisy_summary():
    """Print this session's figures (run with -s to see them); the ratio's target is 3x."""
    lines = []
    noisy, plain = _FIGURES.get("noisy"), _FIGURES.get("plain")
    if noisy:
        rate = 1 / noisy
        lines.append(f"W1-noisy kernel: {noisy:.3f} ns per trajectory-step ({rate:.2f}e9 /s)")
    if noisy and plain:
        ratio = noisy / plain
        lines.append(f"noiseless W1 kernel: {plain:.3f} ns; noisy / noiseless {ratio:.2f}x")
        cpu = _FIGURES["noisy_cpu"] / _FIGURES["plain_cpu"]
        lines.append(f"by CPU time (both threads): {_FIGURES['noisy_cpu']:.3f} ns / "
                     f"{_FIGURES['plain_cpu']:.3f} ns = {cpu:.2f}x")  # fmt: skip
    if "table" in _FIGURES:
        table, fly = _FIGURES["table"], _FIGURES["fly"]
        lines.append(f"generator: {table:.2f} ns per normal (rng.build_table), "
                     f"{fly:.2f} ns on the fly (1 thread)")  # fmt: skip
    print("\n" + "\n".join(lines))
