"""Results you can trust: one test per defect of issue #8, each written to fail on the
store of version 0.2.0 (commit 2fe123d) and to pass now.

Every check of a table compares it with the in-memory run of the same spec
(``fastdescent.run(spec)``, no files involved), column by column, bit for bit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from helpers import assert_same_numbers, quadratic_spec, spec_toml

import fastdescent
from fastdescent import _scripts, runner, store
from fastdescent.cli import main

AXES = {
    "lr": {"start": 0.1, "stop": 2.5, "num": 30, "relative_to": "lambda_max"},
    "beta": {"values": [0.0, 0.6]},
    "kappa": {"values": [1.0, 10.0, 100.0]},
}
N = 180  # trajectories
CHUNK = 50  # 4 parts: 50, 50, 50, 30 rows


@pytest.fixture(scope="module")
def spec():
    return quadratic_spec("heavy_ball", steps=200, axes=AXES)


@pytest.fixture(scope="module")
def expected(spec):
    return fastdescent.run(spec)


@pytest.fixture(scope="module")
def pristine(spec, tmp_path_factory):
    out = tmp_path_factory.mktemp("pristine") / "sweep"
    fastdescent.run(spec, out=out, chunk_size=CHUNK, progress=False)
    return out


@pytest.fixture
def written(pristine, tmp_path):
    """A fresh copy of a finished 4-part sweep."""
    out = tmp_path / "sweep"
    shutil.copytree(pristine, out)
    return out


@pytest.fixture(scope="module")
def other_part(tmp_path_factory):
    """part-00001.parquet of another sweep (steps 201) with the same chunk plan."""
    other = quadratic_spec("heavy_ball", steps=201, axes=AXES)
    out = tmp_path_factory.mktemp("other") / "sweep"
    fastdescent.run(other, out=out, chunk_size=CHUNK, progress=False)
    return out / "part-00001.parquet"


def _spec_file(tmp_path, spec, name="spec.toml"):
    path = tmp_path / name
    path.write_text(spec_toml(spec))
    return path


def _resume(spec, out, **kw):
    fastdescent.run(spec, out=out, progress=False, **kw)
    return store.read_manifest(out)


# --- 1. one run per directory; temporary names unique per process -------------------


def test_a_locked_directory_is_refused_naming_the_holder(spec, written, tmp_path, capsys):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from fastdescent import store; "
            "store.Lock(sys.argv[1]); print('locked', flush=True); time.sleep(60)",
            str(written),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        message = rf"in use by another run \(pid {holder.pid}\)"
        with pytest.raises(store.DirectoryInUseError, match=message):
            fastdescent.run(spec, out=written, progress=False)
        other = quadratic_spec("heavy_ball", steps=201, axes=AXES)
        assert main(["run", str(_spec_file(tmp_path, other)), "--out", str(written)]) == 2
        err = capsys.readouterr().err
        assert f"in use by another run (pid {holder.pid})" in err
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # the holder died: its lock went with it, and the table was never touched
    m = _resume(spec, written)
    assert m["runs"][-1]["chunks"] == 0


def test_temporary_names_are_unique_and_exclusive(tmp_path):
    final = tmp_path / "part-00000.parquet"
    fd1, t1 = store._new_temp(final)
    fd2, t2 = store._new_temp(final)
    os.close(fd1)
    os.close(fd2)
    assert t1 != t2 and str(os.getpid()) in t1.name
    assert store._TEMP.match(t1.name)


# --- 2. a part of another sweep is never merged ---------------------------------------


def test_foreign_part_is_rejected_on_resume(spec, expected, written, other_part, capsys):
    (written / "part-00002.parquet").unlink()
    shutil.copy(other_part, written / "part-00002.parquet")
    m = _resume(spec, written)
    assert "part-00002.parquet belongs to another sweep" in capsys.readouterr().err
    assert m["complete"] and m["runs"][-1]["chunks"] == 1
    assert_same_numbers(fastdescent.load(written), expected)
    assert len(list((written / store.REJECTED).iterdir())) == 1  # kept, not deleted


def test_foreign_part_is_refused_by_load_and_info(written, other_part, capsys):
    shutil.copy(other_part, written / "part-00001.parquet")
    with pytest.raises(store.SweepDirError, match=r"part-00001\.parquet: belongs to another sweep"):
        fastdescent.load(written)
    assert main(["info", str(written)]) == 2
    assert "belongs to another sweep" in capsys.readouterr().err


def test_renamed_part_with_wrong_rows_is_rejected(spec, expected, written, capsys):
    shutil.copy(written / "part-00003.parquet", written / "part-00002.parquet")  # 30 rows
    with pytest.raises(store.SweepDirError, match="has 30 rows, expected 50"):
        fastdescent.load(written)
    m = _resume(spec, written)
    assert m["runs"][-1]["chunks"] == 1
    assert_same_numbers(fastdescent.load(written), expected)


def test_part_with_the_right_rows_but_other_trajectories_is_rejected(spec, expected, written):
    shutil.copy(written / "part-00000.parquet", written / "part-00001.parquet")
    with pytest.raises(store.SweepDirError, match=r"holds traj 0\.\.49, expected 50\.\.99"):
        fastdescent.load(written)
    _resume(spec, written)
    assert_same_numbers(fastdescent.load(written), expected)


# --- 3. the manifest is the source of truth -------------------------------------------


def test_load_reads_only_the_parts_the_manifest_lists(expected, written, capsys):
    shutil.copy(written / "part-00000.parquet", written / "part-backup.parquet")
    df = fastdescent.load(written)
    assert len(df) == N
    assert_same_numbers(df, expected)
    assert main(["info", str(written)]) == 0
    out = capsys.readouterr().out
    assert "rows       180 of 180" in out and "part-backup.parquet (not parts of this sweep)" in out


# --- 4. an edited chunk plan is validated, not trusted --------------------------------


@pytest.mark.parametrize(
    "edit",
    [
        {"chunk_size": 16},
        {"chunk_size": 60, "n_chunks": 3},
        {"n_chunks": 7},
        {"chunks_done": [0, 1, 2, 3, 9]},
        {"chunks_done": [0, 0, 1, 2]},
        {"n_trajectories": 1000, "n_chunks": 20},
    ],
)
def test_edited_chunk_plan_is_rebuilt_from_the_parts(spec, expected, written, edit, capsys):
    path = written / store.MANIFEST
    m = json.loads(path.read_text())
    m.update(edit)
    path.write_text(json.dumps(m))
    with pytest.raises(store.SweepDirError, match="damaged manifest"):
        fastdescent.load(written)
    m = _resume(spec, written)
    assert "damaged manifest" in capsys.readouterr().err
    assert (m["chunk_size"], m["n_chunks"], m["chunks_done"]) == (CHUNK, 4, [0, 1, 2, 3])
    assert m["runs"][-1]["chunks"] == 0  # every part verified: nothing recomputed
    df = fastdescent.load(written)
    assert len(df) == N
    assert_same_numbers(df, expected)


# --- 5. an unfinished sweep is not loaded silently ------------------------------------


def _unfinish(written):
    """Make the sweep look interrupted after chunk 1."""
    path = written / store.MANIFEST
    m = json.loads(path.read_text())
    m["chunks_done"], m["complete"] = [0, 1], False
    path.write_text(json.dumps(m))
    for i in (2, 3):
        store.part_path(written, i).unlink()


def test_load_refuses_an_unfinished_sweep(spec, expected, written, capsys):
    _unfinish(written)
    with pytest.raises(store.SweepIncompleteError, match=r"100 of 180 rows \(2 of 4 chunks\)"):
        fastdescent.load(written)
    with pytest.warns(store.PartialSweepWarning, match="100 of 180 rows"):
        df = fastdescent.load(written, allow_partial=True)
    assert_same_numbers(df.reset_index(drop=True), expected.iloc[:100].reset_index(drop=True))
    assert main(["info", str(written)]) == 0
    assert "incomplete: 2 of 4 chunks" in capsys.readouterr().out
    _resume(spec, written)
    assert_same_numbers(fastdescent.load(written), expected)


def test_figure_scripts_refuse_an_unfinished_sweep(written, capsys):
    _unfinish(written)
    with pytest.raises(_scripts.UserError, match="incomplete"):
        _scripts.open_sweep(written)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    try:
        import check_theory
    finally:
        sys.path.pop(0)
    assert check_theory.main([str(written)]) == 2
    assert "incomplete" in capsys.readouterr().err


# --- 6. bit rot is detected (page checksums) ------------------------------------------


def _flip_a_data_byte(path: Path) -> None:
    """Flip one byte inside the first data page (past the magic, before the footer)."""
    import pyarrow.parquet as pq

    column = pq.read_metadata(path).row_group(0).column(len(AXES) + 6)  # final_loss
    offset = column.data_page_offset + 64
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x10
    path.write_bytes(bytes(data))


def test_bit_rot_is_detected_and_repaired(spec, expected, written, capsys):
    _flip_a_data_byte(written / "part-00001.parquet")
    with pytest.raises(store.SweepDirError, match=r"part-00001\.parquet: damaged"):
        fastdescent.load(written)
    m = _resume(spec, written)
    assert "part-00001.parquet damaged" in capsys.readouterr().err
    assert m["runs"][-1]["chunks"] == 1
    assert_same_numbers(fastdescent.load(written), expected)


# --- damage that is repaired ----------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "zero bytes"])
@pytest.mark.parametrize("resume", [True, False])
def test_truncated_part_is_recomputed(spec, expected, written, damage, resume):
    path = written / "part-00002.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    m = _resume(spec, written, resume=resume)
    assert m["runs"][-1]["chunks"] == (1 if resume else m["n_chunks"])
    assert_same_numbers(fastdescent.load(written), expected)


@pytest.mark.parametrize(
    "damage", ["deleted", "invalid JSON", "empty", "[]", "spec x", "chunks_done null", "str size"]
)
def test_damaged_manifest_is_rebuilt_from_the_parts(spec, expected, written, damage, capsys):
    path = written / store.MANIFEST
    m = json.loads(path.read_text())
    text = {
        "invalid JSON": path.read_text()[:-40],
        "empty": "",
        "[]": "[]",
        "spec x": json.dumps({**m, "spec": "x"}),
        "chunks_done null": json.dumps({**m, "chunks_done": None}),
        "str size": json.dumps({**m, "chunk_size": "50"}),
    }
    if damage == "deleted":
        path.unlink()
    else:
        path.write_text(text[damage])
    assert main(["info", str(written)]) == 2  # one line, no traceback
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    with pytest.raises(store.SweepDirError):
        fastdescent.load(written)
    m = _resume(spec, written)
    assert m["complete"] and m["runs"][-1]["chunks"] == 0 and m["chunk_size"] == CHUNK
    assert_same_numbers(fastdescent.load(written), expected)


def test_rebuild_without_a_manifest_keeps_an_explicit_chunk_size(spec, expected, written):
    (written / store.MANIFEST).unlink()
    m = _resume(spec, written, chunk_size=64)  # the parts were written with 50
    assert m["chunk_size"] == 64 and m["runs"][-1]["chunks"] == 3
    assert_same_numbers(fastdescent.load(written), expected)


@pytest.mark.parametrize("resume", [True, False])
def test_directory_with_only_a_stale_temporary_manifest(spec, expected, tmp_path, resume):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "._sweep.json.tmp").write_text('{"format": 1, "sp')  # killed in the first write
    _resume(spec, out, resume=resume)
    assert not (out / "._sweep.json.tmp").exists()
    assert_same_numbers(fastdescent.load(out), expected)


def test_planted_symlink_is_never_written_through(spec, expected, written, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for name in ("._sweep.json.tmp", ".part-00001.parquet.tmp"):
        (written / name).symlink_to(victim)
    (written / "part-00001.parquet").unlink()
    _resume(spec, written)
    _resume(spec, written, resume=False)
    assert victim.read_text() == "precious"
    assert_same_numbers(fastdescent.load(written), expected)


def test_no_resume_moves_foreign_parts_aside_instead_of_deleting(
    spec, expected, written, other_part
):
    shutil.copy(other_part, written / "part-00003.parquet")
    _resume(spec, written, resume=False)
    assert_same_numbers(fastdescent.load(written), expected)
    (kept,) = (written / store.REJECTED).iterdir()
    assert kept.read_bytes() == other_part.read_bytes()


def test_parts_of_another_sweep_without_a_manifest_are_refused(tmp_path, other_part, spec):
    out = tmp_path / "sweep"
    out.mkdir()
    shutil.copy(other_part, out / "part-00001.parquet")
    with pytest.raises(store.SweepDirError, match="parts of another sweep"):
        fastdescent.run(spec, out=out, progress=False)
    assert sorted(p.name for p in out.iterdir()) == [".fastdescent.lock", "part-00001.parquet"]


# --- bad and hostile input: one line, exit 2, nothing written --------------------------


def test_size_guard_refuses_huge_grids_before_any_work(tmp_path, capsys):
    huge = quadratic_spec(
        "heavy_ball",
        steps=1000,
        axes={
            "lr": {"start": 0.1, "stop": 1.9, "num": 10**7},
            "beta": {"start": 0.0, "stop": 0.9, "num": 10**6},
        },
    )
    path = _spec_file(tmp_path, huge)
    out = tmp_path / "huge"
    t0 = time.perf_counter()
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert time.perf_counter() - t0 < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "10,000,000,000,000 trajectories" in err[0] and "--yes" in err[0]
    assert not out.exists()
    assert main(["run", str(path), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "10,000,000,000,000 trajectories" in text and "needs      --yes" in text
    assert "days" in text and "TB" in text
    assert not out.exists()


def test_size_guard_is_lifted_by_force(spec, expected, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "MAX_TRAJECTORIES", 100)
    with pytest.raises(runner.SweepTooLargeError, match="180 trajectories"):
        fastdescent.run(spec, out=tmp_path / "a", progress=False)
    assert not (tmp_path / "a").exists()
    fastdescent.run(spec, out=tmp_path / "a", progress=False, force=True)
    assert_same_numbers(fastdescent.load(tmp_path / "a"), expected)


def test_huge_grid_runs_a_few_chunks_in_bounded_memory(tmp_path):
    """2**40 trajectories: the dry run estimates it; a real run (--yes) computes chunks
    with the memory of a chunk, and bookkeeping that does not grow with the grid."""
    psutil = pytest.importorskip("psutil")
    text = (
        'problem = "quadratic"\noptimizer = "heavy_ball"\nsteps = 50\n[axes]\n'
        'lr = { start = 0.1, stop = 1.9, num = 1048576, relative_to = "lambda_max" }\n'
        "beta = { start = 0.0, stop = 0.9, num = 1024 }\n"
        'kappa = { start = 1, stop = 100, num = 1024, scale = "log" }\n'
    )
    path = tmp_path / "huge.toml"
    path.write_text(text)
    out = tmp_path / "huge"
    dry = subprocess.run(
        [sys.executable, "-m", "fastdescent", "run", str(path), "--out", str(out), "--dry-run"],
        capture_output=True,
        text=True,
    )
    assert dry.returncode == 0 and "1,099,511,627,776 trajectories" in dry.stdout
    assert not out.exists()
    cmd = [sys.executable, "-m", "fastdescent", "run", str(path), "--out", str(out), "--yes"]
    proc = subprocess.Popen(
        [*cmd, "--chunk-size", "65536", "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    rss = []
    while len(store.part_files(out) if out.is_dir() else ()) < 4 and time.monotonic() < deadline:
        rss.append(psutil.Process(proc.pid).memory_info().rss)
        time.sleep(0.05)
    rss.append(psutil.Process(proc.pid).memory_info().rss)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Run the same command again" in err and "Traceback" not in err
    assert max(rss) < 600 * 2**20
    m = store.read_manifest(out)
    assert m["n_trajectories"] == 2**40 and m["n_chunks"] == 2**24 and not m["complete"]
    assert 4 <= len(m["chunks_done"]) < 100


@pytest.mark.parametrize("where", ["/proc/fastdescent-x", "file/sub", "/dev/null/x"])
def test_unusable_output_directories(spec, tmp_path, capsys, where):
    (tmp_path / "file").write_text("a file")
    out = where if where.startswith("/") else str(tmp_path / where)
    assert main(["run", str(_spec_file(tmp_path, spec)), "--out", out, "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fastdescent: error: ")


def test_full_disk_ends_with_one_line_and_resumes(spec, expected, tmp_path, capsys, monkeypatch):
    out = tmp_path / "sweep"
    real = store.write_part
    calls = []

    def full_on_third(directory, index, table):
        calls.append(index)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(directory, index, table)

    monkeypatch.setattr(store, "write_part", full_on_third)
    args = ["run", str(_spec_file(tmp_path, spec)), "--out", str(out), "--quiet"]
    assert main([*args, "--chunk-size", str(CHUNK)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no space left on device while writing chunk 2" in err[0]
    assert "the 2 finished part(s) are intact" in err[0] and "run the same command" in err[0]
    monkeypatch.setattr(store, "write_part", real)
    assert main(args) == 0
    assert store.read_manifest(out)["runs"][-1]["chunks"] == 2
    assert_same_numbers(fastdescent.load(out), expected)


def test_broken_pipe_is_quiet(written):
    proc = subprocess.run(
        f"{sys.executable} -m fastdescent info {written} | head -1",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert proc.stdout.startswith("sweep ")
    assert proc.stderr == ""


def test_beta_warning_is_one_plain_line(tmp_path, capsys):
    spec = quadratic_spec("heavy_ball", steps=50, axes={**AXES, "beta": {"values": [1.2]}})
    path = _spec_file(tmp_path, spec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["run", str(path), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if "beta" in x and "outside" in x]
    assert line.startswith("fastdescent: warning: axes.beta") and ".py:" not in err


def test_sigterm_keeps_finished_chunks(spec, tmp_path):
    path = _spec_file(tmp_path, quadratic_spec("heavy_ball", steps=3000, axes={
        "lr": {"start": 0.05, "stop": 1.9, "num": 64, "relative_to": "lambda_max"},
        "beta": {"start": 0.0, "stop": 0.99, "num": 32},
        "kappa": {"start": 1, "stop": 1e4, "num": 32, "scale": "log"},
    }))  # fmt: skip
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fastdescent", "run", str(path), "--out", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--chunk-size", "2048", "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while len(store.part_files(out) if out.is_dir() else ()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Run the same command again" in err
    assert "Traceback" not in err
    m = store.read_manifest(out)
    assert 2 <= len(m["chunks_done"]) < m["n_chunks"]
