"""Same spec, same numbers: whatever the thread count, chunk size or resume history."""

from __future__ import annotations

import numba
import pytest
from helpers import assert_same_numbers, quadratic_spec

import fastdescent
from fastdescent import store

# 80 x 32 x 40 = 102,400 trajectories: more than one chunk of 65,536
AXES = {
    "lr": {"start": 0.05, "stop": 3.5, "num": 80, "relative_to": "lambda_max"},
    "beta": {"start": 0.0, "stop": 0.95, "num": 32},
    "kappa": {"start": 1, "stop": 1e3, "num": 40, "scale": "log"},
}


@pytest.fixture(scope="module")
def spec():
    return quadratic_spec("heavy_ball", steps=150, axes=AXES)


@pytest.fixture(scope="module")
def reference(spec):
    return fastdescent.run(spec, threads=1, chunk_size=1000)


def test_threads_and_chunk_sizes(spec, reference):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 threads")
    other = fastdescent.run(spec, threads=2, chunk_size=65536)
    assert_same_numbers(reference, other)


def test_lanes_kernel_threads_and_chunks():
    """d > 2 (``dynamics_burst_d``: the coordinates' state in memory) too."""
    axes = {
        "lr": {"start": 0.1, "stop": 3.0, "num": 50, "relative_to": "lambda_max"},
        "beta": {"values": [0.0, 0.5, 0.9]},
        "kappa": {"values": [2.0, 30.0, 500.0]},
    }
    spec = quadratic_spec("nesterov", steps=300, dim=5, spectrum="log", axes=axes)
    a = fastdescent.run(spec, threads=1, chunk_size=7)
    b = fastdescent.run(spec, threads=2, chunk_size=450)
    assert_same_numbers(a, b)


def test_interrupted_then_resumed(spec, reference, tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    real_write = store.write_part
    calls = []

    def flaky_write(directory, index, table):
        if len(calls) == 40:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the sweep
        calls.append(index)
        return real_write(directory, index, table)

    monkeypatch.setattr(store, "write_part", flaky_write)
    with pytest.raises(KeyboardInterrupt):
        fastdescent.run(spec, out=out, chunk_size=1000, progress=False)
    manifest = store.read_manifest(out)
    assert manifest["chunks_done"] == list(range(40)) and not manifest["complete"]
    assert len(list(out.glob("part-*.parquet"))) == 40
    monkeypatch.setattr(store, "write_part", real_write)

    fastdescent.run(spec, out=out, progress=False)  # resumes with the stored chunk plan
    manifest = store.read_manifest(out)
    assert manifest["complete"] and manifest["chunks_done"] == list(range(manifest["n_chunks"]))
    assert [r["chunks"] for r in manifest["runs"]] == [40, manifest["n_chunks"] - 40]
    assert_same_numbers(reference, fastdescent.load(out))
