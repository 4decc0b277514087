"""Crashes and signals at every moment of ``fastdescent run``, each followed by a re-run.

The contract: whatever kills a run (SIGKILL at any I/O point or at a random moment,
SIGINT, SIGTERM), running the same command again (or with ``--no-resume``) exits 0 and
leaves a table equal, bit for bit, to the in-memory run ``fastdescent.run(spec)``. In
between, ``_sweep.json`` is never half-written, and ``fastdescent.load`` refuses the
unfinished sweep unless ``allow_partial=True``, which returns exactly the chunks the
manifest lists, with the right numbers.

The I/O points come from tests/fault_driver.py, which SIGKILLs the run at the K-th
``store._publish`` of a part or a manifest or in the middle of the K-th manifest
``store._write_bytes``. Kills that land mid-run are counted and printed (``-s``).

SIGINT and SIGTERM are also sent every 10 ms of the first 0.25 s (start-up): a traceback
is accepted only where the package cannot prevent it (an interruption in Python's own
start-up, before any of its code runs), and counted.

The bulk is ``slow``; an unmarked subset (3 I/O points, 3 random kills, one SIGINT and
one SIGTERM) runs in the default step.
"""

from __future__ import annotations

import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
from fault_driver import (
    COUNTER,
    MODES,
    PART_MODES,
    driver_cmd,
    final_counts,
    read_log,
)
from helpers import assert_same_numbers, cli_run_args, spec_toml

import fastdescent

CHUNK = 512
N_TRAJ = 16 * 16 * 16
N_CHUNKS = N_TRAJ // CHUNK  # 8 parts
#: the manifest is written once before any part and once per part (a few more allowed)
MANIFEST_K_MAX = N_CHUNKS + 3
TIMEOUT = 300  # a subprocess that has to compile the kernels on a busy machine

# two specs of 4,096 heavy-ball trajectories on a 2-D quadratic: FAST (a run is mostly
# start-up) for the I/O points, LONG (about 1.5 s of kernel) for timed kills
FAST = {
    "name": "faults",
    "problem": "quadratic",
    "optimizer": "heavy_ball",
    "steps": 2000,
    "axes": {
        "lr": {"start": 0.05, "stop": 3.5, "num": 16, "relative_to": "lambda_max"},
        "beta": {"start": 0.0, "stop": 0.99, "num": 16},
        "kappa": {"start": 1.0, "stop": 1e4, "num": 16, "scale": "log"},
    },
}
LONG = {
    **FAST,
    "name": "faults_long",
    "steps": 400_000,
    "axes": {
        "lr": {"start": 0.05, "stop": 3.5, "num": 16, "relative_to": "lambda_max"},
        "beta": {"start": 0.0, "stop": 0.999, "num": 16},
        "kappa": {"start": 1e3, "stop": 1e7, "num": 16, "scale": "log"},
    },
}

#: outcome counts over the whole module, printed at its end (pytest -s)
STATS: collections.Counter = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    lines = [f"  {key}: {n}" for key, n in sorted(STATS.items())]
    print("\ntest_faults: outcomes\n" + ("\n".join(lines) or "  (none)"))


@pytest.fixture(scope="module")
def expected():
    """The in-memory runs, the reference every directory is compared with."""
    return {"fast": fastdescent.run(FAST), "long": fastdescent.run(LONG)}


# ---------------------------------------------------------------------------------------
# helpers


def _spec_file(tmp_path: Path, spec: dict) -> Path:
    path = tmp_path / f"{spec['name']}.toml"
    path.write_text(spec_toml(spec))
    return path


def _run_args(spec_path, out, *extra) -> list[str]:
    return cli_run_args(spec_path, out, CHUNK, *extra)


def _cli(args) -> list[str]:
    return [sys.executable, "-m", "fastdescent", *map(str, args)]


def _env(log: Path) -> dict:
    return dict(os.environ, FAULT_DRIVER_LOG=str(log))


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, **kw)


def _manifest(out: Path):
    """The manifest as JSON, or None; it must never be half-written."""
    path = out / "_sweep.json"
    if not path.exists():
        return None
    text = path.read_text()
    try:
        return json.loads(text)
    except ValueError:
        pytest.fail(f"{path} is not valid JSON after a kill (a half-written manifest):\n{text}")


def _where(out: Path) -> str:
    """Where a run was when it was stopped, from what it left on disk."""
    if not out.exists():
        return "before the directory existed"
    m = _manifest(out)
    if m is None:
        return "directory but no manifest yet"
    return "after the last chunk" if m.get("complete") else "mid-run (manifest incomplete)"


def _assert_right_table(out: Path, want: pd.DataFrame) -> None:
    m = _manifest(out)
    assert m is not None and m["complete"] is True, m
    got = fastdescent.load(out)
    assert len(got) == len(want)
    assert_same_numbers(got, want)
    # pandas on its own reads the directory too (temporary and lock files are hidden)
    assert_same_numbers(pd.read_parquet(out), want)


def _assert_finished(proc: subprocess.CompletedProcess, out: Path, want) -> None:
    assert proc.returncode == 0, f"rc {proc.returncode}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    _assert_right_table(out, want)


def _check_damage(out: Path, want: pd.DataFrame) -> None:
    """What an interrupted run left: a valid manifest (if any); ``load`` refuses an
    unfinished sweep, and allow_partial returns the chunks it lists, right to the bit."""
    m = _manifest(out)
    if m is None:
        return
    if m["complete"]:
        _assert_right_table(out, want)
        return
    with pytest.raises(Exception) as info:  # the contract names no type
        fastdescent.load(out)
    text = str(info.value)
    assert f"{N_TRAJ:,}" in text or str(N_TRAJ) in text, f"no rows total in: {text}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        partial = fastdescent.load(out, allow_partial=True)
    size = m["chunk_size"]
    listed = sorted(t for i in m["chunks_done"] for t in range(i * size, (i + 1) * size))
    assert list(partial["traj"]) == listed, "allow_partial must return the listed chunks"
    if listed:
        ref = want.iloc[listed].reset_index(drop=True)
        assert_same_numbers(partial.reset_index(drop=True), ref)


def _rerun_both_ways(spec_path, out: Path, want, tmp_path: Path, no_resume=True) -> None:
    """Re-run the same command (and, on a copy of the damaged DIR, with --no-resume):
    both exit 0 with the right table."""
    if no_resume and out.exists():
        copy = tmp_path / "copy"
        shutil.copytree(out, copy, symlinks=True)
        proc = _run(_cli(_run_args(spec_path, copy, "--no-resume")))
        _assert_finished(proc, copy, want)
        STATS["re-runs with --no-resume"] += 1
    proc = _run(_cli(_run_args(spec_path, out)))
    _assert_finished(proc, out, want)
    STATS["plain re-runs"] += 1


# ---------------------------------------------------------------------------------------
# (a) SIGKILL at every I/O point


@pytest.mark.slow
def test_io_points_of_a_normal_run(tmp_path, expected):
    """The driver without a kill: the first manifest is published before any part, one
    publish per part, every manifest write is published, and the table is right."""
    spec_path = _spec_file(tmp_path, FAST)
    out, log = tmp_path / "out", tmp_path / "log"
    proc = _run(driver_cmd("count", 0, _run_args(spec_path, out)), env=_env(log))
    _assert_finished(proc, out, expected["fast"])
    lines = read_log(log)
    counts = final_counts(lines)
    assert counts is not None, lines
    publishes = [line.split()[0] for line in lines if line.startswith("publish-")]
    assert publishes and publishes[0] == "publish-manifest", lines
    assert counts["publish-part"] == N_CHUNKS, counts
    assert 1 + N_CHUNKS <= counts["publish-manifest"] <= MANIFEST_K_MAX, counts
    assert counts["write-manifest"] == counts["publish-manifest"], counts


QUICK_IO = {("before-publish-manifest", 1), ("after-publish-part", 4), ("mid-manifest-write", 5)}
IO_CASES = [
    pytest.param(mode, k, marks=() if (mode, k) in QUICK_IO else pytest.mark.slow, id=f"{mode}-{k}")
    for mode in MODES
    for k in range(1, (N_CHUNKS if mode in PART_MODES else MANIFEST_K_MAX) + 1)
]


@pytest.mark.parametrize(("mode", "k"), IO_CASES)
def test_sigkill_at_io_point(tmp_path, expected, mode, k):
    want = expected["fast"]
    spec_path = _spec_file(tmp_path, FAST)
    out, log = tmp_path / "out", tmp_path / "log"
    proc = _run(driver_cmd(mode, k, _run_args(spec_path, out)), env=_env(log))
    lines = read_log(log)
    if proc.returncode != -signal.SIGKILL:
        # the K-th occurrence never came: the run must have finished normally
        counts = final_counts(lines)
        assert proc.returncode == 0 and counts is not None, f"rc {proc.returncode}\n{proc.stderr}"
        assert counts[COUNTER[mode]] < k, (counts, proc.stderr)
        _assert_finished(proc, out, want)
        STATS["I/O points that never came (not kills)"] += 1
        pytest.skip(f"{mode} {k}: only {counts[COUNTER[mode]]} such I/O points in a run")
    assert any(line.startswith(f"kill {mode} {k} ") for line in lines), lines
    STATS[f"I/O kills: {_where(out)}"] += 1
    parts = sorted(p.name for p in out.glob("part-*.parquet"))
    if mode == "before-publish-manifest" and k == 1:
        assert parts == [], "a part was published before the first manifest"
    if mode == "after-publish-manifest" and k == 1:
        assert _manifest(out)["chunks_done"] == []
    if mode == "before-publish-part":
        assert f"part-{k - 1:05d}.parquet" not in parts, parts
    if mode == "after-publish-part":
        assert f"part-{k - 1:05d}.parquet" in parts, parts
    _check_damage(out, want)
    # the quick subset re-runs only the plain way (--no-resume: in the slow step)
    _rerun_both_ways(spec_path, out, want, tmp_path, no_resume=(mode, k) not in QUICK_IO)


# ---------------------------------------------------------------------------------------
# (b) SIGKILL at random moments


N_SPREAD = 20  # moments stratified over the whole run, start-up included
N_ACTIVE = 10  # moments in the part of the run that writes (after the first manifest)
QUICK_RANDOM = {10, 20, 21}


def _watch(proc: subprocess.Popen, out: Path, t0: float) -> dict:
    """Times (from t0) at which DIR and its manifest appeared, and the exit."""
    seen = {}
    while proc.poll() is None:
        now = time.perf_counter() - t0
        if "dir" not in seen and out.exists():
            seen["dir"] = now
        if "manifest" not in seen and (out / "_sweep.json").exists():
            seen["manifest"] = now
        time.sleep(0.002)
    seen["end"] = time.perf_counter() - t0
    seen.setdefault("dir", seen["end"])
    seen.setdefault("manifest", seen["end"])
    return seen


@pytest.fixture(scope="module")
def long_run(tmp_path_factory, expected):
    """One uninterrupted run of LONG: its timings, from which the moments of the timed
    kills are drawn (``expected`` ran first, so the kernels come from Numba's cache)."""
    tmp = tmp_path_factory.mktemp("calibrate")
    spec_path = _spec_file(tmp, LONG)
    out = tmp / "out"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        _cli(_run_args(spec_path, out)), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    times = _watch(proc, out, t0)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err.decode()
    _assert_right_table(out, expected["long"])
    print(
        f"\ntest_faults: LONG run: directory at {times['dir']:.2f} s, manifest at "
        f"{times['manifest']:.2f} s, exit at {times['end']:.2f} s"
    )
    rng = random.Random(20261128)
    end = times["end"]
    spread = [end * (i + rng.random()) / N_SPREAD for i in range(N_SPREAD)]
    active = [rng.uniform(times["manifest"], end) for _ in range(N_ACTIVE)]
    return {**times, "moments": spread + active}


def _start(spec_path, out):
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        _cli(_run_args(spec_path, out)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return proc, t0


RANDOM_CASES = [
    pytest.param(i, marks=() if i in QUICK_RANDOM else pytest.mark.slow, id=f"kill{i}")
    for i in range(N_SPREAD + N_ACTIVE)
]


@pytest.mark.parametrize("index", RANDOM_CASES)
def test_sigkill_at_random_moment(tmp_path, expected, long_run, index):
    want = expected["long"]
    moment = long_run["moments"][index]
    spec_path = _spec_file(tmp_path, LONG)
    out = tmp_path / "out"
    proc, t0 = _start(spec_path, out)
    time.sleep(max(0.0, moment - (time.perf_counter() - t0)))
    if proc.poll() is None:
        proc.kill()
        _, err = proc.communicate(timeout=TIMEOUT)
        if proc.returncode == -signal.SIGKILL:
            where = _where(out)
            STATS[f"random kills: {where}"] += 1
            print(f"\nkill {index} at {moment:.3f} s: {where}")
        else:  # it exited in the instant between poll and kill
            assert proc.returncode == 0, err
            STATS["random kills: finished first (not a kill)"] += 1
    else:
        _, err = proc.communicate()
        assert proc.returncode == 0, err
        STATS["random kills: finished first (not a kill)"] += 1
    _check_damage(out, want)
    no_resume = index % 3 == 0 and index not in QUICK_RANDOM
    _rerun_both_ways(spec_path, out, want, tmp_path, no_resume=no_resume)


# ---------------------------------------------------------------------------------------
# (c) SIGINT and SIGTERM


EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
# a moment: seconds after the start, or ("manifest" | number of parts) to wait for
MOMENTS = {
    "at-0.05s": 0.05,
    "at-0.3s": 0.3,
    "at-0.5s": 0.5,
    "first-manifest": "manifest",
    "first-part": 1,
    "half-the-parts": N_CHUNKS // 2,
    "last-but-one-part": N_CHUNKS - 1,
    "at-the-end": "end",
}
QUICK_SIGNALS = {(signal.SIGINT, "half-the-parts"), (signal.SIGTERM, "first-part")}
SIGNAL_CASES = [
    pytest.param(
        sig,
        name,
        marks=() if (sig, name) in QUICK_SIGNALS else pytest.mark.slow,
        id=f"{sig.name}-{name}",
    )
    for sig in (signal.SIGINT, signal.SIGTERM)
    for name in MOMENTS
]


def _signal_exit(sig, rc: int, err: str) -> str:
    """What an exit status after a signal means: "handled" (130 / 143, no traceback),
    "finished" (0), two cases outside the package's reach, or "bad"."""
    if rc == EXIT[sig] and "Traceback" not in err:
        return "handled"
    if rc == 0 and "Traceback" not in err:
        return "finished"
    if rc == -sig and err.strip() == "":
        return "killed before Python handled it"
    if sig == signal.SIGINT and rc in (1, -sig) and not PACKAGE_FRAME.search(err):
        # a KeyboardInterrupt in Python's own start-up, before any code of the package
        # ran: in the site module (CPython: "Fatal Python error: init_import_site", exit
        # 1) or in runpy looking for the package
        return "interrupted in Python's own start-up"
    return "bad"


# a traceback line in one of the package's files (not the editable-install finder)
PACKAGE_FRAME = re.compile(r'File "[^"]*[/\\]fastdescent[/\\][^"]*"')


def _wait_for(proc, out: Path, what, t0: float, long_run) -> None:
    if isinstance(what, float):
        time.sleep(max(0.0, what - (time.perf_counter() - t0)))
        return
    if what == "end":
        time.sleep(max(0.0, long_run["end"] - (time.perf_counter() - t0)))
        return
    deadline = time.monotonic() + TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline:
        if what == "manifest" and (out / "_sweep.json").exists():
            return
        if isinstance(what, int) and len(list(out.glob("part-*.parquet"))) >= what:
            return
        time.sleep(0.002)


@pytest.mark.parametrize(("sig", "moment"), SIGNAL_CASES)
def test_signal(tmp_path, expected, long_run, sig, moment):
    want = expected["long"]
    spec_path = _spec_file(tmp_path, LONG)
    out = tmp_path / "out"
    proc, t0 = _start(spec_path, out)
    _wait_for(proc, out, MOMENTS[moment], t0, long_run)
    sent = proc.poll() is None
    if sent:
        proc.send_signal(sig)
    t_sent = time.perf_counter()
    _, err = proc.communicate(timeout=TIMEOUT)
    rc = proc.returncode
    what = _signal_exit(sig, rc, err)
    if what == "finished" and sent and time.perf_counter() - t_sent > 0.6 * long_run["end"]:
        what = "bad"  # it went on for most of a run after the signal: the signal was lost
        err = f"(exit 0 long after the signal: it was ignored)\n{err}"
    if what == "bad":
        pytest.fail(f"{sig.name} at {moment}: exit {rc}, expected {EXIT[sig]} or 0\n{err}")
    if what == "handled":
        where = _where(out)
        STATS[f"{sig.name} -> {rc}: {where}"] += 1
        if (out / "_sweep.json").exists():
            assert "Run the same command again" in err, err
        # the message is the last thing printed
        assert err.strip() and err.strip().splitlines()[-1].startswith("fastdescent: "), err
    else:
        STATS[f"{sig.name}: {what} ({rc})"] += 1
    if what == "finished":
        _assert_right_table(out, want)
    _check_damage(out, want)
    _rerun_both_ways(spec_path, out, want, tmp_path, no_resume=(sig, moment) not in QUICK_SIGNALS)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_start_up(tmp_path, sig):
    """The signal every 10 ms of the first 0.25 s, while Python starts and imports the
    command: exit 130 / 143 (or the signal's own status before Python handles it), and
    never a traceback. A KeyboardInterrupt in an import would show one."""
    spec_path = _spec_file(tmp_path, LONG)
    seen, bad = collections.Counter(), []
    for i in range(25):
        out = tmp_path / f"out{i}"
        proc, t0 = _start(spec_path, out)
        time.sleep(max(0.0, 0.01 * i - (time.perf_counter() - t0)))
        sent = proc.poll() is None
        if sent:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=TIMEOUT)
        what = _signal_exit(sig, proc.returncode, err)
        if what == "finished" and sent:  # a whole run cannot fit in 0.25 s
            what = "bad"
            err = f"(exit 0: the signal was ignored and the run went on)\n{err}"
        seen[what] += 1
        if what == "bad":
            bad.append(f"at {0.01 * i:.2f} s: exit {proc.returncode}\n{err}")
    STATS.update({f"{sig.name} in start-up: {what}": n for what, n in seen.items()})
    print(f"\n{sig.name} in start-up: {dict(seen)}")
    assert not bad, f"{len(bad)} of 25 failed:\n" + "\n".join(bad)


def test_some_kills_landed_mid_run():
    """A check of this file rather than of fastdescent (it runs last): of the kills above,
    some must have landed mid-run, or they would test nothing."""
    if not any(k.startswith(("I/O kills", "random kills", "SIGINT", "SIGTERM")) for k in STATS):
        pytest.skip("no fault case ran in this session")
    landed = sum(n for key, n in STATS.items() if "mid-run" in key)
    assert landed > 0, dict(STATS)
