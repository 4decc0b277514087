"""The counter-based generator (fastdescent.rng): cost per normal draw, one thread.
In the ordinary test run the body runs once on 1/100 of the draws (a smoke test)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from fastdescent import rng


@numba.njit
def _sum_normals(n_blocks):
    s = 0.0
    for t in range(n_blocks):
        z0, z1, z2, z3 = rng.normals4(1, rng.STREAM_NOISE, t, 0)
        s += z0 + z1 + z2 + z3
    return s


@pytest.mark.benchmark(group="rng")
def test_normal_draws(benchmark, full_size):
    """4 * n_blocks normals (Philox-4x32-10 + Box-Muller) summed: ns per draw."""
    n_blocks = 2_500_000 if full_size else 25_000
    _sum_normals(10)
    s = benchmark.pedantic(_sum_normals, args=(n_blocks,), rounds=5 if full_size else 1)
    assert np.isfinite(s)
    benchmark.extra_info.update(draws=4 * n_blocks)


@pytest.mark.benchmark(group="rng")
def test_noise_table(benchmark, full_size):
    """A noise table (rng.noise_table, parallel): 8 seeds x 100,000 steps x 2 normals
    (1/100 of that in the smoke run); extra_info: ns per draw."""
    import time

    steps = 100_000 if full_size else 1_000
    seeds = np.arange(8, dtype=np.int64)
    out = np.empty((8, steps, 2))
    rng.noise_table(seeds, rng.STREAM_NOISE, 10, 2, out)
    times = []

    def build():
        t0 = time.perf_counter()
        rng.noise_table(seeds, rng.STREAM_NOISE, steps, 2, out)
        times.append(time.perf_counter() - t0)

    benchmark.pedantic(build, rounds=5 if full_size else 1)
    assert out[7, steps - 1, 1] == rng.normal(7, rng.STREAM_NOISE, steps - 1, 1)
    benchmark.extra_info.update(
        draws=out.size, ns_per_draw=float(np.median(times)) / out.size * 1e9
    )
