"""The Dask backend's cost (issue: scale out): W1 end to end locally and on a 2-worker
LocalCluster on the same machine (group ``dask|w1``), and the per-task overhead on a
sweep of many tiny chunks (group ``dask|tasks``).

Measure with::

    python -m pytest benchmarks/test_dask.py --benchmark-enable -p no:randomly

The cluster (2 worker processes, one task thread and one Numba thread each, so 2 cores
in all, as the local runs' 2 threads) is started and warmed before anything is timed,
as a user's running cluster would be; its start-up is reported separately
(``extra_info["cluster_start_seconds"]``). The summary prints the ratios.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numba
import pytest

import fastdescent
from fastdescent.engine import make_engine

pytest.importorskip("distributed")

from fastdescent import cluster

ROOT = Path(__file__).resolve().parent.parent
W1_TOML = ROOT / "scripts" / "sweeps" / "momentum.toml"
THREADS = min(2, numba.config.NUMBA_NUM_THREADS)
TINY_CHUNKS = 256  # the task-overhead sweep: this many chunks of 16 trajectories


@pytest.fixture(scope="module")
def client():
    t0 = time.perf_counter()
    with cluster.connect("local:2", threads=max(1, THREADS // 2)) as c:
        c.extra_start_seconds = time.perf_counter() - t0
        yield c


@pytest.fixture(scope="module")
def w1(full_size):
    spec = fastdescent.parse_spec(W1_TOML).to_dict()
    if not full_size:
        spec["axes"]["lr"]["num"] = 16
    spec = fastdescent.parse_spec(spec)
    make_engine(spec).warm_up()
    return spec


@pytest.fixture(scope="module")
def tiny():
    """TINY_CHUNKS chunks of 16 two-step trajectories: almost nothing but per-task costs."""
    spec = {
        "name": "tiny", "problem": "quadratic", "optimizer": "gd", "steps": 2,
        "problem_params": {"lambdas": [1.0, 2.0]},
        "axes": {"lr": {"start": 0.1, "stop": 0.9, "num": 16 * TINY_CHUNKS}},
    }  # fmt: skip
    spec = fastdescent.parse_spec(spec)
    make_engine(spec).warm_up()
    return spec


def _bench(benchmark, spec, tmp_path_factory, full_size, rounds, chunk_size=None, **kw):
    """Time fastdescent.run into a fresh directory; record the manifest's figures."""

    def setup():
        return (spec,), {
            "out": tmp_path_factory.mktemp("d") / "r",
            "progress": False,
            "chunk_size": chunk_size,
            **kw,
        }

    out = benchmark.pedantic(
        fastdescent.run, setup=setup, rounds=rounds if full_size else 1,
        warmup_rounds=1 if full_size else 0,
    )  # fmt: skip
    m = json.loads((out / "_sweep.json").read_text())
    assert m["complete"] and m["n_trajectories"] == spec.size
    benchmark.extra_info.update(
        chunks=m["n_chunks"],
        kernel_seconds=m["kernel_seconds"],
        write_seconds=m["write_seconds"],
        total_seconds=m["total_seconds"],
    )
    return m


@pytest.mark.benchmark(group="dask|w1")
def test_w1_local(benchmark, w1, tmp_path_factory, full_size):
    """W1 end to end on this machine's 2 threads (the reference of the ratio)."""
    _bench(benchmark, w1, tmp_path_factory, full_size, 5, threads=THREADS)


@pytest.mark.benchmark(group="dask|w1")
def test_w1_dask(benchmark, w1, client, tmp_path_factory, full_size):
    """W1 end to end on the 2-worker LocalCluster, the workers writing the parts."""
    m = _bench(benchmark, w1, tmp_path_factory, full_size, 5, client=client)
    benchmark.extra_info["cluster_start_seconds"] = client.extra_start_seconds
    assert m["runs"][-1]["backend"] == "dask"


@pytest.mark.benchmark(group="dask|w1")
def test_w1_dask_client_writes(benchmark, w1, client, tmp_path_factory, full_size):
    """The same with the tables sent to the client, which writes the parts."""
    _bench(benchmark, w1, tmp_path_factory, full_size, 5, client=client, dask_writes="client")


@pytest.mark.benchmark(group="dask|tasks")
def test_tiny_chunks_local(benchmark, tiny, tmp_path_factory, full_size):
    """TINY_CHUNKS parts written locally: the local cost per chunk."""
    _bench(benchmark, tiny, tmp_path_factory, full_size, 5, chunk_size=16, threads=THREADS)


@pytest.mark.benchmark(group="dask|tasks")
def test_tiny_chunks_dask(benchmark, tiny, client, tmp_path_factory, full_size):
    """The same chunks as tasks: (this - local) / TINY_CHUNKS is the overhead per task
    (submit, schedule, run, report, the client's footer check), with 2 workers."""
    _bench(benchmark, tiny, tmp_path_factory, full_size, 5, chunk_size=16, client=client)
