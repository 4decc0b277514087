"""Schedules, ``schedules|w1-cosine`` and ``schedules|w4-cosine``: W1 and W4 (BENCHMARKS.md)
with a cosine learning-rate schedule (``[schedule] kind = "cosine"``, T = steps), against
the same workloads at constant eta in the same session, and the cost of recording.

- W1-cosine runs on the quadratic lockstep kernel (``lanes_loss.sweep_loss_noisy`` with a
  zero noise table, one schedule at a time); W1 at constant eta on the explicit-SIMD path.
- W4-cosine runs on the landscape kernel's scheduled block (``block_noisy`` reading a
  per-lane eta_t table); W4 at constant eta on ``block``.
- ``test_record_w1_trajectories``: ``replay.trajectories`` of 1,000 W1 trajectories, every
  step (what ``[record] max_trajectories = 1000`` adds per sweep).

Measure with::

    python -m pytest benchmarks/test_schedules.py --benchmark-enable -s

The summary prints ns per trajectory-step and the scheduled / constant ratios. In the
ordinary test run each body runs once on a small grid (a smoke test).
"""

from __future__ import annotations

import time
from pathlib import Path

import numba
import numpy as np
import pytest

import fastdescent
from fastdescent.engine import make_engine
from fastdescent.runner import _threads
from fastdescent.trajectory import trajectories

W1_TOML = Path(__file__).resolve().parent.parent / "scripts" / "sweeps" / "momentum.toml"
THREADS = min(2, numba.config.NUMBA_NUM_THREADS)
_FIGURES: dict[str, float] = {}


def _w1(full_size, schedule):
    raw = fastdescent.parse_spec(W1_TOML).to_dict()
    if not full_size:
        raw["axes"]["lr"]["num"] = 16
    if schedule:
        raw["schedule"] = {"kind": "cosine"}
    return fastdescent.parse_spec(raw)


def _w4(full_size, schedule):
    num = 256 if full_size else 16
    raw = {
        "name": "w4", "problem": "rosenbrock", "optimizer": "gd",
        "steps": 10_000 if full_size else 500,
        "axes": {"lr": {"values": [1e-4, 5e-4, 1e-3]},
                 "x0": {"start": -2.0, "stop": 2.0, "num": num},
                 "y0": {"start": -1.0, "stop": 3.0, "num": num}},
    }  # fmt: skip
    if schedule:
        raw["schedule"] = {"kind": "cosine"}
    return fastdescent.parse_spec(raw)


def _bench(benchmark, spec, full_size, key):
    engine = make_engine(spec)
    engine.warm_up()
    times = []

    def timed():
        t0 = time.perf_counter()
        out = engine.kernel(0, spec.size)
        times.append(time.perf_counter() - t0)
        return out

    with _threads(THREADS):
        out = benchmark.pedantic(
            timed, rounds=3 if full_size else 1, warmup_rounds=1 if full_size else 0
        )
    steps = int(out["steps"].sum(dtype=np.int64))
    times = times[1:] if full_size else times
    ns = float(np.median(times)) / steps * 1e9
    benchmark.extra_info.update(
        threads=THREADS, trajectories=spec.size, trajectory_steps=steps,
        ns_per_trajectory_step=ns,
    )  # fmt: skip
    _FIGURES[key] = ns
    return out


@pytest.mark.benchmark(group="schedules|w1-cosine")
def test_w1_cosine_kernel(benchmark, full_size):
    """W1 with a cosine schedule (the lockstep kernel), 2 threads."""
    out = _bench(benchmark, _w1(full_size, True), full_size, "w1_cosine")
    assert np.isnan(out["rate"]).all()


@pytest.mark.benchmark(group="schedules|w1-cosine")
def test_w1_constant_same_session(benchmark, full_size):
    """W1 at constant eta (the SIMD path), 2 threads, in the same session."""
    _bench(benchmark, _w1(full_size, False), full_size, "w1")


@pytest.mark.benchmark(group="schedules|w4-cosine")
def test_w4_cosine_kernel(benchmark, full_size):
    """W4 with a cosine schedule (the scheduled lane block), 2 threads."""
    _bench(benchmark, _w4(full_size, True), full_size, "w4_cosine")


@pytest.mark.benchmark(group="schedules|w4-cosine")
def test_w4_constant_same_session(benchmark, full_size):
    """W4 at constant eta, 2 threads, in the same session."""
    _bench(benchmark, _w4(full_size, False), full_size, "w4")


@pytest.mark.benchmark(group="schedules|record")
def test_record_w1_trajectories(benchmark, full_size):
    """1,000 (smoke: 20) W1 trajectories replayed every step, as [record] writes them."""
    spec = _w1(full_size, False)
    ids = np.linspace(0, spec.size - 1, 1000 if full_size else 20).astype(np.int64)
    engine = make_engine(spec)
    trajectories(spec, ids[:1], 1, engine)  # compile
    times = []

    def timed():
        t0 = time.perf_counter()
        out = trajectories(spec, ids, 1, engine)
        times.append(time.perf_counter() - t0)
        return out

    cols = benchmark.pedantic(timed, rounds=3 if full_size else 1)
    rows = len(cols["step"])
    seconds = float(np.median(times))
    benchmark.extra_info.update(rows=rows)
    _FIGURES["record_rows"] = rows
    _FIGURES["record_s"] = seconds


def test_schedules_summary():
    """Print this session's figures (run with -s)."""
    lines = []
    for key, name in (("w1", "W1"), ("w4", "W4")):
        sched, const = _FIGURES.get(f"{key}_cosine"), _FIGURES.get(key)
        if sched and const:
            lines.append(f"{name}: cosine {sched:.3f} ns / constant {const:.3f} ns per "
                         f"trajectory-step = {sched / const:.2f}x")  # fmt: skip
    if "record_rows" in _FIGURES:
        rows, s = _FIGURES["record_rows"], _FIGURES["record_s"]
        lines.append(f"record: {rows:,} rows in {s:.3f} s ({s / rows * 1e9:.0f} ns per row)")
    print("\n" + "\n".join(lines))
