"""The Dask backend (fastdescent.cluster) on a LocalCluster of 2 worker processes: the
same bytes as the local backend, for every kind of sweep; a worker killed mid-sweep
costs nothing; resume across backends in both directions; the usual readers read it.

One cluster serves the module (starting one costs seconds); the kernels are compiled
here first (the local reference runs), so the workers load them from the cache.
"""

from __future__ import annotations

import contextlib
import filecmp
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fault_driver import driver_cmd, read_log
from helpers import assert_same_numbers, cli_run_args, quadratic_spec, spec_toml
from hypothesis import given
from hypothesis import strategies as st

import fastdescent
from fastdescent import cluster, store
from fastdescent.runner import add_to_ranges

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent
SWEEPS = ROOT / "scripts" / "sweeps"


@pytest.fixture(scope="module")
def client():
    before = {k: v for k, v in os.environ.items() if k.startswith("NUMBA")}
    with cluster.connect("local:2", threads=1) as c:
        # the workers' settings never reach this process (Numba re-reads os.environ)
        assert {k: v for k, v in os.environ.items() if k.startswith("NUMBA")} == before
        yield c


def _small(name: str, **axes) -> dict:
    """A shipped sweep with a few values per axis (and the given axes replaced)."""
    spec = fastdescent.parse_spec(SWEEPS / f"{name}.toml").to_dict()
    spec["axes"].update(axes)
    return spec


def _parts(directory: Path) -> list[str]:
    return sorted(p.name for p in Path(directory).glob("part-*.parquet"))


def _same_parts(a: Path, b: Path) -> None:
    """The same part files, byte for byte (trajectory parts too)."""
    assert _parts(a) == _parts(b) and _parts(a)
    for name in _parts(a):
        assert filecmp.cmp(a / name, b / name, shallow=False), name
    if (a / store.TRAJECTORIES).is_dir():
        _same_parts(a / store.TRAJECTORIES, b / store.TRAJECTORIES)


def _exactly_once(directory: Path, n: int) -> None:
    """Every chunk recorded once, every trajectory once, no temporary file left."""
    m = store.open_manifest(directory)
    assert m["complete"] and m["chunks_done"] == list(range(m["n_chunks"]))
    traj = fastdescent.load(directory, columns=["traj"])["traj"].to_numpy()
    assert np.array_equal(traj, np.arange(n))
    assert not [p for p in directory.rglob("*.tmp")]


SPECS = {
    "quadratic": quadratic_spec(
        axes={"lr": {"start": 0.05, "stop": 1.95, "num": 24}, "beta": {"values": [0.0, 0.5, 0.9]}},
        lambdas=[1.0, 10.0],
    ),
    "noisy quadratic": _small(
        "noisy_heavy_ball",
        lr={"values": [0.1, 1.0, 3.0], "relative_to": "lambda_max"},
        sigma={"values": [0.1, 1.0]},
        seed={"start": 0, "stop": 3, "num": 4},
    ),
    "noisy landscape": _small(
        "multimodal_noise", sigma={"values": [0.5, 3.0]}, seed={"start": 0, "stop": 5, "num": 6}
    ),
    "linreg mini-batches": _small(
        "batch_size",
        lr={"values": [0.2, 1.5], "relative_to": "lambda_max"},
        batch_size={"values": [4, 1024]},
        seed={"values": [0, 1, 2]},
    ),
    "schedules and recording": _small("annealing_paths"),
}
for _spec in SPECS.values():
    _spec["steps"] = min(_spec["steps"], 2000)


@pytest.mark.parametrize("writes", ["workers", "client"])
@pytest.mark.parametrize("kind", list(SPECS))
def test_same_bytes_as_local(client, tmp_path, kind, writes):
    spec = SPECS[kind]
    chunk = max(1, fastdescent.parse_spec(spec).size // 5)  # several tasks per worker
    local = fastdescent.run(spec, out=tmp_path / "local", chunk_size=chunk, progress=False)
    dask = fastdescent.run(
        spec, out=tmp_path / "dask", chunk_size=chunk, progress=False, client=client,
        dask_writes=writes,
    )  # fmt: skip
    _same_parts(local, dask)
    assert_same_numbers(fastdescent.load(local), fastdescent.load(dask))
    m = store.open_manifest(dask)
    (run,) = m["runs"]
    assert run["backend"] == "dask" and run["dask_writes"] == writes and run["workers"] == 2
    assert run["worker_threads"] == [1]  # NUMBA_NUM_THREADS, set in each worker by its nanny
    assert run["chunk_ranges"] == [[0, m["n_chunks"] - 1]] and m["complete"]
    assert m["trajectory_steps"] == store.open_manifest(local)["trajectory_steps"]


def test_dataframe_from_the_cluster(client):
    """out=None: the tasks return their tables; the same frame as a local run."""
    spec = SPECS["noisy quadratic"]
    want = fastdescent.run(spec, chunk_size=7)
    got = fastdescent.run(spec, chunk_size=7, client=client)
    pd.testing.assert_frame_equal(got, want)


def test_readers(client, tmp_path):
    """pandas, dask.dataframe and fastdescent.load read a directory the workers wrote,
    [record]'s trajectories/ included."""
    dd = pytest.importorskip("dask.dataframe")
    spec = SPECS["schedules and recording"]
    out = fastdescent.run(spec, out=tmp_path / "r", chunk_size=3, progress=False, client=client)
    want = fastdescent.load(out)
    plain = pd.read_parquet(out)
    lazy = dd.read_parquet(str(out)).compute()
    for frame in (plain, lazy):
        frame = frame.sort_values("traj").reset_index(drop=True)
        assert_same_numbers(frame, want, columns=["traj", "lr", "steps", "final_loss"])
    recorded = fastdescent.load_trajectories(out)
    assert len(recorded) > 0 and set(recorded["traj"]) <= set(want["traj"])


def test_directory_the_workers_cannot_see(client, tmp_path, monkeypatch):
    """Workers that cannot read the probe file written into DIR: refused before any
    task, naming --dask-writes client; a part that does not show up here after its
    task: the same advice."""
    spec = SPECS["quadratic"]
    real = store._new_temp

    def unseen(final):  # the probe is written, but not where the workers look
        fd, path = real(final)
        os.unlink(path)
        return fd, path

    monkeypatch.setattr(store, "_new_temp", unseen)
    with pytest.raises(cluster.BackendError, match="--dask-writes client"):
        fastdescent.run(spec, out=tmp_path / "a", progress=False, client=client)
    monkeypatch.undo()
    assert not _parts(tmp_path / "a")
    monkeypatch.setattr(store, "check_part", lambda *a: "is missing")
    with pytest.raises(cluster.BackendError, match="filesystem the workers share"):
        fastdescent.run(spec, out=tmp_path / "b", progress=False, client=client)
    monkeypatch.undo()
    fastdescent.run(spec, out=tmp_path / "b", progress=False, client=client)  # resumes
    assert store.open_manifest(tmp_path / "b")["complete"]


def _interrupt_after(monkeypatch, n):
    """Make the Dask loop see Ctrl-C once n chunks have completed."""
    real = cluster.completions

    def interrupted(*args, **kwargs):
        inner = real(*args, **kwargs)
        try:
            for k, item in enumerate(inner):
                if k == n:
                    raise KeyboardInterrupt
                yield item
        finally:
            inner.close()

    monkeypatch.setattr(cluster, "completions", interrupted)


def _quiet(client):
    """Wait until no task runs on the cluster (cancelled ones run to their end)."""
    for _ in range(200):
        if not any(client.processing().values()):
            return
        time.sleep(0.05)


def test_resume_dask_then_local(client, tmp_path, monkeypatch):
    """Ctrl-C on the client after 2 chunks, then the same call without a cluster: the
    local run computes what is missing; each chunk is computed by exactly one run (or
    found on disk, finished by a task after the interruption)."""
    spec = SPECS["noisy landscape"]
    want = fastdescent.run(spec, out=tmp_path / "want", chunk_size=1, progress=False)
    out = tmp_path / "r"
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        fastdescent.run(spec, out=out, chunk_size=1, progress=False, client=client)
    monkeypatch.undo()
    m = store.open_manifest(out)
    assert 2 <= len(m["chunks_done"]) < m["n_chunks"] and not m["complete"]
    _quiet(client)
    fastdescent.run(spec, out=out, chunk_size=1, progress=False)  # locally
    _same_parts(want, out)
    _exactly_once(out, fastdescent.parse_spec(spec).size)
    runs = store.open_manifest(out)["runs"]
    assert [r["backend"] for r in runs] == ["dask", "local"] and runs[1]["chunks"] >= 1
    each = [
        i
        for r in runs
        for key in ("chunk_ranges", "adopted_ranges")
        for lo, hi in r.get(key, [])
        for i in range(lo, hi + 1)
    ]
    assert sorted(each) == list(range(m["n_chunks"]))
    info = subprocess.run(
        [sys.executable, "-m", "fastdescent", "info", str(out)], capture_output=True, text=True
    )
    assert info.returncode == 0, info.stderr
    assert "computed   run 1: dask" in info.stdout and "run 2: local" in info.stdout


def test_resume_local_then_dask(client, tmp_path):
    """A local run SIGKILLed after its second part, finished on the cluster."""
    spec = quadratic_spec(axes={"lr": {"start": 0.05, "stop": 1.95, "num": 40}}, lambdas=[1, 4])
    path = tmp_path / "s.toml"
    path.write_text(spec_toml(spec))
    want = fastdescent.run(spec, out=tmp_path / "want", chunk_size=4, progress=False)
    out = tmp_path / "r"
    log = tmp_path / "log"
    proc = subprocess.run(
        driver_cmd("after-publish-part", 2, cli_run_args(path, out, 4)),
        env={**os.environ, "FAULT_DRIVER_LOG": str(log)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, read_log(log), proc.stderr)
    assert len(_parts(out)) == 2
    fastdescent.run(spec, out=out, chunk_size=4, progress=False, client=client)
    _same_parts(want, out)
    _exactly_once(out, fastdescent.parse_spec(spec).size)
    runs = store.open_manifest(out)["runs"]
    assert [r["backend"] for r in runs] == ["local", "dask"]
    assert runs[1]["chunk_ranges"] == [[2, 9]]


def _long_spec(n_lr: int) -> dict:
    """Noisy runs that take all their 50,000 steps (about 0.2 s per 1,000 on a thread):
    every chunk keeps a worker busy long enough to be killed mid-task."""
    axes = {
        "lr": {"start": 0.001, "stop": 0.002, "num": n_lr},
        "sigma": {"values": [0.1]},
        "seed": {"start": 0, "stop": 63, "num": 64},
    }
    return quadratic_spec(steps=50000, axes=axes, lambdas=[1e-6, 1e-5])


def test_worker_killed_mid_sweep(client, tmp_path):
    """SIGKILL a worker while it runs a chunk: Dask reruns the chunk on a worker that
    lives, and every chunk is recorded exactly once, with the local run's bytes."""
    spec = _long_spec(256)
    chunk = 2048
    want = fastdescent.run(spec, out=tmp_path / "want", chunk_size=chunk, progress=False)
    out = tmp_path / "r"
    pids = client.run(os.getpid)
    done = {}

    def run():
        try:
            fastdescent.run(spec, out=out, chunk_size=chunk, progress=False, client=client)
        except BaseException as exc:  # reported by the test body
            done["error"] = exc
        done["finished"] = True

    thread = threading.Thread(target=run)
    thread.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and "finished" not in done:
        processing = client.processing()
        busy = [w for w, keys in processing.items() if any("-chunk-" in k for k in keys)]
        if busy and len(_parts(out)) >= 1:
            victim = busy[0]
        else:
            time.sleep(0.01)
    assert victim is not None, "no chunk was running to kill"
    os.kill(pids[victim], signal.SIGKILL)
    thread.join(timeout=300)
    assert done.get("finished") and "error" not in done, done
    _exactly_once(out, fastdescent.parse_spec(spec).size)
    _same_parts(want, out)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it


# ---------------------------------------------------------------------------------------
# without a cluster


@given(st.lists(st.integers(0, 60), max_size=60))
def test_chunk_ranges(indices):
    ranges = []
    for i in indices:
        add_to_ranges(ranges, i)
    expanded = [i for lo, hi in ranges for i in range(lo, hi + 1)]
    assert expanded == sorted(set(indices))
    assert all(b[0] > a[1] + 1 for a, b in itertools.pairwise(ranges))


def test_parse_address():
    assert cluster.parse_address("local") == ("local", None)
    assert cluster.parse_address("local:3") == ("local", 3)
    assert cluster.parse_address("tcp://h:8786") == ("address", "tcp://h:8786")
    for bad in ("local:0", "local:x", ""):
        with pytest.raises(ValueError, match="--dask"):
            cluster.parse_address(bad)


def _info(**kw):
    info = {
        "host": "node1", "pid": 1, "cores": 64, "task_threads": 1, "numba_threads": 64,
        "layer": "workqueue", "versions": cluster.versions(),
    }  # fmt: skip
    info.update(kw)
    return info


def test_problems_with_workers():
    local = cluster.versions()
    assert cluster.problems({"tcp://a:1": _info()}, local) == []
    assert cluster.problems({"tcp://a:1": _info(task_threads=4, layer="tbb")}, local) == []
    (msg,) = cluster.problems({"tcp://a:1": _info(task_threads=4)}, local)
    assert "numba#9288" in msg and "--nthreads 1" in msg and "tbb" in msg
    other = {**local, "numba": "0.1.0"}
    (msg,) = cluster.problems({"tcp://a:1": _info(versions=other)}, local)
    assert "numba 0.1.0" in msg and "same versions" in msg
    assert "no workers" in cluster.problems({}, local)[0]


def test_oversubscribed_hosts():
    two = {"tcp://a:1": _info(numba_threads=32), "tcp://a:2": _info(numba_threads=32)}
    assert cluster.oversubscribed(two) == []
    (msg,) = cluster.oversubscribed({**two, "tcp://a:3": _info(numba_threads=64)})
    assert "128 Numba threads on 64 cores" in msg and "NUMBA_NUM_THREADS = 21" in msg
    other = {"tcp://b:1": _info(host="node2", numba_threads=64)}
    assert cluster.oversubscribed({**two, **other}) == []


def test_cli_without_dask(tmp_path):
    """--dask without distributed installed: how to install it, exit 2, nothing written."""
    path = tmp_path / "s.toml"
    path.write_text(spec_toml(quadratic_spec()))
    code = (
        "import sys; sys.modules['distributed'] = None\n"
        "from fastdescent.cli import main\n"
        f"sys.exit(main(['run', {str(path)!r}, '--out', {str(tmp_path / 'o')!r}, "
        "'--dask', 'local:2']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert 'pip install "fastdescent[dask]"' in proc.stderr
    assert not (tmp_path / "o").exists()


def test_cli_dask_local(tmp_path):
    """fastdescent run --dask local:2: the same parts as a local run; info says so."""
    spec = quadratic_spec(axes={"lr": {"start": 0.05, "stop": 1.95, "num": 12}}, lambdas=[1, 4])
    path = tmp_path / "s.toml"
    path.write_text(spec_toml(spec))
    want = fastdescent.run(spec, out=tmp_path / "want", chunk_size=5, progress=False)
    out = tmp_path / "r"
    args = ["run", str(path), "--out", str(out), "--chunk-size", "5", "--dask", "local:2"]
    proc = subprocess.run(
        [sys.executable, "-m", "fastdescent", *args, "--threads", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "on Dask (2 workers" in proc.stderr and "computed   run 1: dask" in proc.stdout
    _same_parts(want, out)
    bad = subprocess.run(
        [sys.executable, "-m", "fastdescent", *args[:4], "--dask-writes", "client"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2 and "--dask-writes needs --dask" in bad.stderr


def test_refuses_workqueue_with_several_threads(tmp_path):
    """A worker with 2 task threads on the workqueue layer would abort (numba#9288):
    refused before any task, with the fix."""

    env = {"NUMBA_THREADING_LAYER": "workqueue", "NUMBA_NUM_THREADS": "2"}
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, dashboard_address=":0", env=env
        ) as lc,
        distributed.Client(lc) as c,
    ):
        with pytest.raises(cluster.BackendError, match="numba#9288"):
            fastdescent.run(quadratic_spec(), out=tmp_path / "r", client=c)
    assert not _parts(tmp_path / "r")


@pytest.mark.slow
def test_chunk_given_up_then_resumed(tmp_path):
    """allowed-failures = 0: the first worker death running a chunk makes Dask give up
    on it; the run stops with WorkerLostError saying so, and the same call resumes."""
    import dask

    spec = _long_spec(64)
    want = fastdescent.run(spec, out=tmp_path / "want", chunk_size=1024, progress=False)
    out = tmp_path / "r"
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        cluster.connect("local:2", threads=1) as c,
    ):
        pids = c.run(os.getpid)
        errors = []

        def run():
            try:
                fastdescent.run(spec, out=out, chunk_size=1024, progress=False, client=c)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        victim = None
        while victim is None and thread.is_alive():
            busy = [w for w, keys in c.processing().items() if any("-chunk-" in k for k in keys)]
            victim = busy[0] if busy else time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pids[victim], signal.SIGKILL)
        thread.join(timeout=300)
        (error,) = errors
        assert isinstance(error, cluster.WorkerLostError)
        assert "allowed-failures = 0" in str(error) and "resume" in str(error)
        _quiet(c)
        c.wait_for_workers(2, timeout=60)
        fastdescent.run(spec, out=out, chunk_size=1024, progress=False, client=c)
    _same_parts(want, out)
    _exactly_once(out, fastdescent.parse_spec(spec).size)
    assert json.loads((out / store.MANIFEST).read_text())["complete"]
