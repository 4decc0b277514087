"""Results directories: parts, manifest, metadata, load, refusals."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers import assert_same_numbers, quadratic_spec

import fastdescent
from fastdescent import store

AXES = {
    "lr": {"start": 0.1, "stop": 2.5, "num": 30, "relative_to": "lambda_max"},
    "beta": {"values": [0.0, 0.6]},
    "kappa": {"values": [1.0, 10.0, 100.0]},
}


@pytest.fixture
def spec():
    return quadratic_spec("heavy_ball", steps=200, axes=AXES)


@pytest.fixture
def written(spec, tmp_path):
    out = tmp_path / "sweep"
    assert fastdescent.run(spec, out=out, chunk_size=50, progress=False) == out
    return out


def test_directory_layout_and_manifest(spec, written):
    parsed = fastdescent.parse_spec(spec)
    parts = sorted(p.name for p in written.iterdir())
    assert parts == [".fastdescent.lock", "_sweep.json"] + [
        f"part-{i:05d}.parquet" for i in range(4)
    ]
    m = json.loads((written / "_sweep.json").read_text())
    assert m["spec"] == parsed.to_dict() and m["spec_hash"] == parsed.hash
    assert m["version"] == fastdescent.__version__
    assert (m["n_trajectories"], m["chunk_size"], m["n_chunks"]) == (180, 50, 4)
    assert m["chunks_done"] == [0, 1, 2, 3] and m["complete"]
    for key in ("kernel_seconds", "write_seconds", "total_seconds"):
        assert m[key] > 0
    assert m["trajectory_steps"] == int(fastdescent.load(written)["steps"].sum())


def test_parts_carry_the_spec_and_one_schema(spec, written):
    schemas = [pq.read_schema(p) for p in sorted(written.glob("part-*.parquet"))]
    assert all(s.equals(schemas[0], check_metadata=True) for s in schemas)
    for p in written.glob("part-*.parquet"):
        assert store.read_spec_metadata(p) == fastdescent.parse_spec(spec).to_dict()
        assert pq.ParquetFile(p).metadata.num_row_groups == 1


def test_statistics_on_coordinate_columns_only(written):
    """traj, axis and derived columns carry min/max (resume checks traj's; filters skip
    parts by the axes); metric columns, which vary over every part, carry none."""
    first = pq.ParquetFile(written / "part-00000.parquet").metadata.row_group(0)
    stats = {first.column(i).path_in_schema: first.column(i).statistics for i in range(14)}
    assert (stats["traj"].min, stats["traj"].max) == (0, 49)
    assert (stats["beta"].min, stats["beta"].max) == (0.0, 0.6)
    assert stats["kappa"].has_min_max and stats["eta"].has_min_max
    for name, _ in store.METRIC_FIELDS:
        assert stats[name] is None or not stats[name].has_min_max, name


def test_load_pandas_and_in_memory_agree(spec, written):
    df = fastdescent.load(written)
    assert list(df["traj"]) == list(range(180))
    assert isinstance(df["status"].dtype, pd.CategoricalDtype)
    assert list(df["status"].cat.categories) == ["converged", "diverged", "max_steps", "escaped"]
    plain = pd.read_parquet(written)
    assert_same_numbers(df, plain)
    assert_same_numbers(df, fastdescent.run(spec))
    assert list(df.columns) == [
        "traj",
        "lr",
        "beta",
        "kappa",
        "seed",
        "eta",
        "lambda_min",
        "lambda_max",
        "status",
        "steps",
        "diverge_step",
        "loss0",
        "final_loss",
        "rate",
    ]
    assert str(df["steps"].dtype) == "int32" and str(df["seed"].dtype) == "int64"


def test_load_columns_and_filters(written):
    full = fastdescent.load(written)
    df = fastdescent.load(written, columns=["traj", "rate"], filters=[("status", "==", "diverged")])
    assert list(df.columns) == ["traj", "rate"]
    assert list(df["traj"]) == list(full.loc[full.status == "diverged", "traj"])
    assert len(df) > 0


def test_rerun_of_a_finished_sweep_computes_nothing(spec, written):
    before = {p.name: p.stat().st_mtime_ns for p in written.glob("part-*.parquet")}
    fastdescent.run(spec, out=written, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in written.glob("part-*.parquet")}
    assert before == after
    assert store.read_manifest(written)["runs"][-1]["chunks"] == 0


def test_no_resume_starts_over(spec, written):
    fastdescent.run(spec, out=written, chunk_size=100, resume=False, progress=False)
    m = store.read_manifest(written)
    assert m["chunk_size"] == 100 and m["n_chunks"] == 2 and len(m["runs"]) == 1
    assert len(list(written.glob("part-*.parquet"))) == 2


def test_leftover_temporary_part_is_discarded(spec, written):
    (written / "part-00002.parquet").rename(written / ".part-00002.parquet.tmp")
    fastdescent.run(spec, out=written, progress=False)
    assert not list(written.glob(".*.tmp"))
    assert len(fastdescent.load(written)) == 180


def test_another_spec_is_refused(spec, written):
    other = quadratic_spec("heavy_ball", steps=201, axes=AXES)
    with pytest.raises(store.SweepDirError, match="holds another sweep"):
        fastdescent.run(other, out=written, progress=False)
    with pytest.raises(store.SweepDirError, match="holds another sweep"):
        fastdescent.run(other, out=written, resume=False, progress=False)
    assert len(fastdescent.load(written)) == 180  # nothing lost


def test_sweep_of_another_version_is_not_resumed(spec, written):
    """Rows of another engine version may differ: resuming would mix them in one sweep."""
    path = written / store.MANIFEST
    manifest = json.loads(path.read_text())
    manifest["version"] = "0.0.1"
    path.write_text(json.dumps(manifest))
    with pytest.raises(store.SweepDirError, match=r"written by fastdescent 0\.0\.1"):
        fastdescent.run(spec, out=written, progress=False)
    assert len(fastdescent.load(written)) == 180  # nothing lost
    fastdescent.run(spec, out=written, resume=False, progress=False)
    assert store.read_manifest(written)["version"] == fastdescent.__version__


def test_foreign_directory_is_refused(spec, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(store.SweepDirError, match="not a fastdescent results directory"):
        fastdescent.run(spec, out=tmp_path, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_changed_chunk_size_on_resume_is_refused(spec, written):
    with pytest.raises(store.SweepDirError, match="chunk_size = 50"):
        fastdescent.run(spec, out=written, chunk_size=64, progress=False)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_chunk_size(spec, bad):
    with pytest.raises(ValueError, match="chunk_size"):
        fastdescent.run(spec, chunk_size=bad)


@pytest.mark.parametrize("bad", [0, 10_000, 1.5])
def test_bad_threads(spec, bad):
    with pytest.raises(ValueError, match="threads"):
        fastdescent.run(spec, threads=bad)
