"""Shared set-up for the benchmarks (pytest-benchmark).

In the ordinary test run (``--benchmark-disable``, the default in pyproject.toml) every
benchmark body runs once on a smaller grid, as a smoke test. With ``--benchmark-enable``
they run the full canonical workloads of BENCHMARKS.md and the summary prints the ratios
measured in the same session.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # numpy_baseline


@pytest.fixture(scope="session")
def full_size(request) -> bool:
    """True when benchmarks are measured (--benchmark-enable), False in smoke runs."""
    config = request.config  # the same rule as pytest-benchmark's own
    return config.getoption("benchmark_enable") or not config.getoption("benchmark_disable")


def _median(config, name):
    """Median seconds of a benchmark of this session (scaled by extra_info's scale_to_w1)."""
    session = getattr(config, "_benchmarksession", None)
    for bench in getattr(session, "benchmarks", []) or []:
        if bench.name == name and bench.stats is not None:
            return bench.stats.median * bench.extra_info.get("scale_to_w1", 1.0)
    return None


def _extra(config, name, key):
    """extra_info[key] of a benchmark of this session, or None."""
    session = getattr(config, "_benchmarksession", None)
    for bench in getattr(session, "benchmarks", []) or []:
        if bench.name == name:
            return bench.extra_info.get(key)
    return None


def pytest_terminal_summary(terminalreporter, config):
    _w1_summary(terminalreporter, config)
    _dask_summary(terminalreporter, config)
    _adaptive_summary(terminalreporter, config)


def _adaptive_summary(tr, config):
    """benchmarks/test_adaptive.py: ns per trajectory-step of Adam and of heavy ball."""
    names = ("test_w1_adam", "test_w1_heavy_ball_simd", "test_w1_heavy_ball_lockstep",
             "test_w1_division_floor")  # fmt: skip
    per_step = {}
    for name in names:
        median, steps = _median(config, name), _extra(config, name, "trajectory_steps")
        if median and steps:
            per_step[name] = 1e9 * median / steps
    adam = per_step.get("test_w1_adam")
    if adam is None:
        return
    tr.write_sep("-", "adaptive|w1-adam (medians, this session)")
    for name, ns in per_step.items():
        tr.write_line(f"{name}: {ns:.3f} ns per trajectory-step ({1 / ns:.3g}e9 per second)")
    for name in names[1:]:
        if name in per_step:
            tr.write_line(f"Adam / {name[8:]}: {adam / per_step[name]:.2f}x per trajectory-step")
    for group, pair in (
        ("w4-adam", ("test_w4_adam", "test_w4_heavy_ball_noisy_block", "test_w4_heavy_ball")),
        ("w3-adam", ("test_w3_adam", "test_w3_heavy_ball")),
    ):
        ns = {}
        for name in pair:
            median, steps = _median(config, name), _extra(config, name, "trajectory_steps")
            if median and steps:
                ns[name] = 1e9 * median / steps
        if pair[0] not in ns:
            continue
        tr.write_sep("-", f"adaptive|{group} (medians, this session)")
        for name, value in ns.items():
            tr.write_line(f"{name}: {value:.3f} ns per trajectory-step")
        for name in pair[1:]:
            if name in ns:
                tr.write_line(f"Adam / {name[8:]}: {ns[pair[0]] / ns[name]:.2f}x")


def _dask_summary(tr, config):
    """benchmarks/test_dask.py: the Dask path's overhead on W1 and per task."""
    local = _median(config, "test_w1_local")
    dask = _median(config, "test_w1_dask")
    if local and dask:
        tr.write_sep("-", "Dask backend (medians, this session)")
        tr.write_line(
            f"W1 end to end, 2-worker LocalCluster / local: {dask / local:.2f}x "
            f"({dask:.3f} s / {local:.3f} s)"
        )
        client = _median(config, "test_w1_dask_client_writes")
        if client:
            tr.write_line(f"W1, the client writing the parts / local: {client / local:.2f}x")
    tiny_local = _median(config, "test_tiny_chunks_local")
    tiny_dask = _median(config, "test_tiny_chunks_dask")
    chunks = _extra(config, "test_tiny_chunks_dask", "chunks")
    if tiny_local and tiny_dask and chunks:
        tr.write_line(
            f"per chunk, {chunks} tiny chunks: local {1e3 * tiny_local / chunks:.2f} ms, "
            f"Dask {1e3 * tiny_dask / chunks:.2f} ms (overhead per task "
            f"{1e3 * (tiny_dask - tiny_local) / chunks:.2f} ms, 2 workers)"
        )


def _w1_summary(terminalreporter, config):
    engine = _median(config, "test_w1_end_to_end")
    kernel = _median(config, "test_w1_kernel")
    numpy = _median(config, "test_w1_numpy_baseline")
    python = _median(config, "test_w1_python_loop_sample")
    if engine is None or numpy is None:
        return
    tr = terminalreporter
    tr.write_sep("-", "W1 ratios (medians, this session)")
    tr.write_line(f"NumPy baseline / fastdescent end to end: {numpy / engine:.2f}x")
    if kernel:
        tr.write_line(f"NumPy baseline / fastdescent kernel:     {numpy / kernel:.2f}x")
    one = _median(config, "test_w1_kernel_one_thread")
    if kernel and one:
        tr.write_line(f"kernel, 1 thread / 2 threads:            {one / kernel:.2f}x")
    single = _median(config, "test_w1_kernel_float32")
    if kernel and single:
        tr.write_line(f"kernel, float64 / float32:               {kernel / single:.2f}x")
    with_sums = _median(config, "test_w1_write_and_verify[checksums]")
    without = _median(config, "test_w1_write_and_verify[no-checksums]")
    if with_sums and without:
        tr.write_line(
            f"Parquet write + read, page checksums on / off: {with_sums / without:.2f}x "
            f"({with_sums:.3f} s / {without:.3f} s)"
        )
    if kernel:
        tr.write_line(f"end to end / kernel:                     {engine / kernel:.2f}x")
    engine_one = _median(config, "test_w1_end_to_end_one_thread")
    if one and engine_one:
        ratio = engine_one / one
        tr.write_line(f"end to end / kernel, 1 thread (a core free to write): {ratio:.2f}x")
    if python:
        tr.write_line(f"pure-Python loop (extrapolated to W1) / end to end: {python / engine:.0f}x")
