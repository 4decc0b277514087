"""W1, ``momentum|w1`` (BENCHMARKS.md): 1,048,576 heavy-ball trajectories on 2-D quadratics.

Measure with::

    python -m pytest benchmarks/ --benchmark-enable --benchmark-json results/benchmarks/w1.json

and compare runs with ``--benchmark-compare``. Every benchmark records its figures in
``extra_info`` (trajectory-steps/s, kernel and write seconds, peak RSS). In the ordinary
test run each body runs once on a 1/16-size grid (a smoke test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numba
import numpy as np
import pytest
from bench_helpers import peak_rss_mb
from numpy_baseline import run_numpy

import fastdescent
from fastdescent.engine import Engine
from fastdescent.runner import _threads

ROOT = Path(__file__).resolve().parent.parent
W1_TOML = ROOT / "scripts" / "sweeps" / "momentum.toml"
THREADS = min(2, numba.config.NUMBA_NUM_THREADS)
PYTHON_SAMPLE = 2000  # trajectories of the pure-Python loop, extrapolated to W1


@pytest.fixture(scope="module")
def w1(full_size):
    """The W1 spec (full size) or the same sweep with 16 learning rates (smoke)."""
    spec = fastdescent.parse_spec(W1_TOML).to_dict()
    if not full_size:
        spec["axes"]["lr"]["num"] = 16
    spec = fastdescent.parse_spec(spec)
    Engine(spec).warm_up()  # compile (or load) before anything is timed
    return spec


def _axes(spec):
    return [spec.axis_values(name) for name in ("lr", "beta", "kappa")]


def _bench_end_to_end(benchmark, w1, tmp_path_factory, full_size, threads):
    """Time ``fastdescent.run`` of W1 into a fresh directory; record the manifest's figures."""

    def setup():
        return (w1,), {
            "out": tmp_path_factory.mktemp("w1") / "r",
            "threads": threads,
            "progress": False,
        }

    out = benchmark.pedantic(
        fastdescent.run,
        setup=setup,
        rounds=5 if full_size else 1,
        warmup_rounds=1 if full_size else 0,
    )
    m = json.loads((out / "_sweep.json").read_text())
    assert m["complete"] and m["n_trajectories"] == w1.size
    benchmark.extra_info.update(
        threads=threads,
        trajectories=w1.size,
        trajectory_steps=m["trajectory_steps"],
        kernel_seconds=m["kernel_seconds"],
        write_seconds=m["write_seconds"],
        total_seconds=m["total_seconds"],
        kernel_steps_per_second=m["trajectory_steps"] / m["kernel_seconds"],
    )


@pytest.mark.benchmark(group="momentum|w1")
def test_w1_end_to_end(benchmark, w1, tmp_path_factory, full_size):
    """fastdescent.run with Parquet written, 2 threads: the figure users see."""
    _bench_end_to_end(benchmark, w1, tmp_path_factory, full_size, THREADS)


@pytest.mark.benchmark(group="momentum|w1")
def test_w1_end_to_end_one_thread(benchmark, w1, tmp_path_factory, full_size):
    """The same on 1 kernel thread, so a core is free for the writer thread: how much of
    the writing the pipeline hides (compare with test_w1_kernel_one_thread)."""
    _bench_end_to_end(benchmark, w1, tmp_path_factory, full_size, 1)


def _bench_kernel(benchmark, spec, full_size, threads, rounds):
    """Time ``Engine(spec).kernel`` on the whole sweep (compiled beforehand, warm-up round
    excluded); returns the trajectory-steps it ran and records them in extra_info."""
    engine = Engine(spec)
    engine.warm_up()
    with _threads(threads):
        out = benchmark.pedantic(
            engine.kernel,
            args=(0, spec.size),
            rounds=rounds if full_size else 1,
            warmup_rounds=1 if full_size else 0,
        )
    steps = int(out["steps"].sum(dtype=np.int64))
    benchmark.extra_info.update(threads=threads, trajectory_steps=steps)
    return steps


@pytest.mark.benchmark(group="momentum|w1")
def test_w1_kernel(benchmark, w1, full_size):
    """The kernel alone (no Parquet, no coordinate columns), 2 threads."""
    steps = _bench_kernel(benchmark, w1, full_size, THREADS, rounds=5)
    if full_size:
        assert steps == 508_490_825  # BENCHMARKS.md: about 508 million trajectory-steps


@pytest.mark.benchmark(group="momentum|w1")
def test_w1_kernel_float32(benchmark, w1, full_size):
    """W1 with dtype = "float32" (32 lanes per burst), kernel alone, 2 threads."""
    spec = fastdescent.parse_spec(dict(w1.to_dict(), dtype="float32"))
    _bench_kernel(benchmark, spec, full_size, THREADS, rounds=5)


@pytest.mark.benchmark(group="momentum|w1")
def test_w1_kernel_one_thread(benchmark, w1, full_size):
    """The kernel alone on 1 thread: the summary prints the 2-thread speed-up."""
    _bench_kernel(benchmark, w1, full_size, 1, rounds=3)


@pytest.fixture(scope="module")
def w1_tables(w1):
    """W1's rows as the Arrow tables of its parts (131,072 rows each), computed once."""
    from fastdescent import store
    from fastdescent.runner import DEFAULT_CHUNK_SIZE, ChunkPlan

    engine = Engine(w1)
    plan = ChunkPlan(w1.size, DEFAULT_CHUNK_SIZE)
    tables = []
    with _threads(THREADS):
        for i in range(plan.n_chunks):
            lo, hi = plan.bounds(i)
            cols = engine.kernel(lo, hi - lo)
            cols.update(engine.coordinates(lo, hi))
            tables.append(store.to_table(engine.schema(), cols))
    return tables


@pytest.mark.benchmark(group="momentum|w1-parquet")
@pytest.mark.parametrize("checksums", [True, False], ids=["checksums", "no-checksums"])
def test_w1_write_and_verify(benchmark, w1, w1_tables, tmp_path_factory, full_size, checksums):
    """Write W1's parts as the store does (``store.parquet_options``), then read them back,
    with Parquet page checksums written and verified or not: the checksums' cost."""
    import pyarrow.parquet as pq

    from fastdescent import store

    def write_and_read():
        out = tmp_path_factory.mktemp("parts")
        paths = []
        for i, table in enumerate(w1_tables):
            path = out / f"part-{i:05d}.parquet"
            pq.write_table(table, path, **store.parquet_options(table, checksums))
            paths.append(str(path))
        return pq.read_table(paths, page_checksum_verification=checksums).num_rows

    rows = benchmark.pedantic(write_and_read, rounds=5 if full_size else 1)
    assert rows == w1.size


@pytest.mark.benchmark(group="momentum|w1")
def test_w1_numpy_baseline(benchmark, w1, full_size):
    """The NumPy-vectorised baseline of the same workload (same outputs, bit for bit)."""
    lr, beta, kappa = _axes(w1)
    out = benchmark.pedantic(run_numpy, args=(lr, beta, kappa), rounds=3 if full_size else 1)
    engine = Engine(w1).kernel(0, min(w1.size, 4096))
    for key in ("steps", "rate"):
        assert np.array_equal(out[key][:4096], engine[key], equal_nan=True)


@pytest.mark.benchmark(group="momentum|w1")
def test_w1_python_loop_sample(benchmark, w1):
    """The course-notebook pure-Python loop on 2,000 W1 trajectories, scaled to all of W1.

    The time is for the 2,000-trajectory sample; the summary scales it by size / 2,000
    (``extra_info["scale_to_w1"]``) to compare it with the engine on all of W1.
    """
    sys.path.insert(0, str(ROOT / "tests"))
    from naive import simulate

    rng = np.random.default_rng(0)
    ids = np.sort(rng.choice(w1.size, PYTHON_SAMPLE, replace=False))
    coords = w1.decode(ids)
    lr, beta, kappa = _axes(w1)

    def loop():
        for a, b, c in zip(coords["lr"], coords["beta"], coords["kappa"], strict=True):
            k = kappa[c]
            simulate("heavy_ball", lr[a] / k, beta[b], [1.0, k], [1.0, 1.0], 1000)

    benchmark.pedantic(loop, rounds=1)
    benchmark.extra_info.update(sample=PYTHON_SAMPLE, scale_to_w1=w1.size / PYTHON_SAMPLE)


@pytest.mark.benchmark(group="momentum|w1-memory")
def test_w1_peak_rss(benchmark, w1, tmp_path):
    """Peak RSS of a fresh process running W1, and a 16x larger grid, to Parquet.

    Memory is bounded by the chunk, not the grid: the 16x grid may not add more than
    100 MB. Each child reports its own VmHWM (the high-water mark of its resident set).
    """
    spec = w1.to_dict()
    big = json.loads(json.dumps(spec))
    big["axes"]["kappa"]["num"] *= 16
    results = {}

    def measure():
        results["w1"] = peak_rss_mb(spec, tmp_path, "w1")
        results["w1x16"] = peak_rss_mb(big, tmp_path, "w1x16")

    benchmark.pedantic(measure, rounds=1)
    benchmark.extra_info.update(peak_rss_mb=results, trajectories=w1.size)
    assert results["w1"] < 1024
    assert results["w1x16"] < results["w1"] + 100


@pytest.mark.benchmark(group="startup")
def test_compile_cold_and_cached(benchmark, tmp_path):
    """Kernel compile time in a fresh process: cold (empty cache), then from the cache."""
    code = textwrap.dedent(
        f"""
        import time, fastdescent
        from fastdescent.engine import Engine
        spec = fastdescent.parse_spec({str(W1_TOML)!r})
        t = time.perf_counter()
        Engine(spec).warm_up()
        print(time.perf_counter() - t)
    """
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    seconds = {}

    def measure():
        for key in ("cold", "cached"):
            proc = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env
            )
            assert proc.returncode == 0, proc.stderr
            seconds[key] = float(proc.stdout.strip())

    benchmark.pedantic(measure, rounds=1)
    benchmark.extra_info.update(compile_seconds=seconds)
    assert seconds["cached"] < seconds["cold"]


@pytest.mark.benchmark(group="startup")
def test_cached_startup_tiny_sweep(benchmark, tmp_path):
    """``fastdescent run`` of a tiny sweep in a fresh process, with a warm compile cache."""
    spec = tmp_path / "tiny.toml"
    spec.write_text(
        W1_TOML.read_text().replace("num = 256", "num = 2").replace("num = 64", "num = 4")
    )
    args = [sys.executable, "-m", "fastdescent", "run", str(spec), "--quiet"]

    def run_once():
        out = tmp_path / f"r{time.perf_counter_ns()}"
        proc = subprocess.run([*args, "--out", str(out)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr

    run_once()  # make sure the cache is warm
    benchmark.pedantic(run_once, rounds=3)
