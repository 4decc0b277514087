"""Two ``fastdescent run`` processes into one new DIR at the same instant, and ``info``
beside a run.

The contract: a DIR is owned by one run at a time (a lock inside DIR). Whatever the
interleaving, at most one of two runs started together computes; the other exits 2 with
"is in use by another run (pid N)", N the owner's pid (or, with the same spec, finds the
sweep finished and exits 0), and the table equals the in-memory run of the spec that owns
DIR. A run into a DIR that another run holds gets one line on stderr. ``fastdescent info
DIR`` while a run is going breaks neither.

The children are tests/fault_driver.py in its ``count`` mode: it logs every part and
manifest the child publishes (so the test sees which child wrote what) and waits at a
barrier file before calling the command, so both start their run within a millisecond.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_driver import driver_cmd, read_log
from helpers import assert_same_numbers, cli_run_args, spec_toml

import fastdescent

CHUNK = 512
TIMEOUT = 300
BASE = {
    "problem": "quadratic",
    "optimizer": "heavy_ball",
    "axes": {
        "lr": {"start": 0.05, "stop": 3.5, "num": 16, "relative_to": "lambda_max"},
        "beta": {"start": 0.0, "stop": 0.99, "num": 16},
        "kappa": {"start": 1.0, "stop": 1e4, "num": 16, "scale": "log"},
    },
}
SPECS = {300: {"name": "race", "steps": 300, **BASE}, 301: {"name": "race", "steps": 301, **BASE}}
IN_USE = re.compile(r"is in use by another run \(pid (\d+)\)")
# (offset in seconds of the second child's start, which child goes first)
REPEATS = [(0.0, 0), (0.0, 1), (0.001, 0), (0.005, 1), (0.03, 0)]


@pytest.fixture(scope="module")
def expected():
    want = {steps: fastdescent.run(spec) for steps, spec in SPECS.items()}
    # the two specs must give different tables, or the test could not tell who won
    assert not want[300]["steps"].equals(want[301]["steps"])
    return want


def _run_args(spec_path, out, *extra) -> list[str]:
    return cli_run_args(spec_path, out, CHUNK, *extra)


def _spec_file(tmp_path: Path, steps: int) -> Path:
    path = tmp_path / f"race{steps}.toml"
    path.write_text(spec_toml(SPECS[steps]))
    return path


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.startswith("fastdescent: warning: ")]


def _race(tmp_path: Path, steps: tuple[int, int], offset: float, first: int):
    """Start two children at a barrier; open it for ``first`` and, ``offset`` seconds
    later, for the other. Returns [(proc, stdout, stderr, log lines, steps)] per child."""
    out = tmp_path / "out"
    children = []
    for i, s in enumerate(steps):
        env = dict(
            os.environ,
            FAULT_DRIVER_LOG=str(tmp_path / f"log{i}"),
            FAULT_DRIVER_BARRIER=str(tmp_path / f"go{i}"),
        )
        cmd = driver_cmd("count", 0, _run_args(_spec_file(tmp_path, s), out))
        children.append(
            subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    deadline = time.monotonic() + TIMEOUT
    while not all(list(tmp_path.glob(f"go{i}.ready.*")) for i in range(2)):
        dead = [p for p in children if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            for p in children:
                p.kill()
            msgs = [p.communicate()[1] for p in children]
            pytest.fail(f"a child never reached the barrier: {msgs}")
        time.sleep(0.005)
    assert not out.exists()
    (tmp_path / f"go{first}").touch()
    if offset:
        time.sleep(offset)
    (tmp_path / f"go{1 - first}").touch()
    results = []
    for i, p in enumerate(children):
        o, e = p.communicate(timeout=TIMEOUT)
        results.append((p, o, e, read_log(tmp_path / f"log{i}"), steps[i]))
    return out, results


def _check_race(out: Path, results, expected, same_spec: bool) -> None:
    for p, _, err, _, _ in results:
        assert "Traceback" not in err, err
        assert p.returncode in (0, 2), f"rc {p.returncode}\n{err}"
    winners = [r for r in results if r[0].returncode == 0]
    losers = [r for r in results if r[0].returncode == 2]
    assert winners, "neither run owns DIR: " + " | ".join(r[2] for r in results)
    if not same_spec:
        assert len(winners) == 1, "two different specs both finished into one DIR"
    # at most one child wrote parts; a loser wrote nothing at all
    writers = [r for r in results if any(x.startswith("publish-part") for x in r[3])]
    assert len(writers) <= 1, [r[3] for r in results]
    owner = writers[0] if writers else winners[0]
    for _, _, err, log, _ in losers:
        published = [x for x in log if x.startswith(("publish-", "write-"))]
        assert published == [], f"the run that exited 2 wrote {published}"
        errors = [x for x in err.splitlines() if x.startswith("fastdescent: error: ")]
        assert len(errors) == 1, err
        if "in use by another run" in errors[0]:
            m = IN_USE.search(errors[0])
            assert m, f"the message does not name the owner's pid: {errors[0]}"
            assert int(m.group(1)) == owner[0].pid, (errors[0], owner[0].pid)
        else:
            # a different spec may only be refused as another sweep once the owner is done
            assert not same_spec and "holds another sweep" in errors[0], errors[0]
    manifest = json.loads((out / "_sweep.json").read_text())
    assert manifest["complete"] is True
    assert manifest["spec"]["steps"] == owner[4]
    assert_same_numbers(fastdescent.load(out), expected[owner[4]])


@pytest.mark.parametrize(("offset", "first"), REPEATS)
def test_same_spec_at_once(tmp_path, expected, offset, first):
    out, results = _race(tmp_path, (300, 300), offset, first)
    _check_race(out, results, expected, same_spec=True)


@pytest.mark.parametrize(("offset", "first"), REPEATS)
def test_different_specs_at_once(tmp_path, expected, offset, first):
    out, results = _race(tmp_path, (300, 301), offset, first)
    _check_race(out, results, expected, same_spec=False)


def _slow_run(tmp_path: Path, out: Path, name: str) -> subprocess.Popen:
    """A run of the 300-step spec, slowed down by 0.15 s before each publish (about 2.5 s
    in all), started and waited for until its first manifest is in DIR."""
    env = dict(os.environ, FAULT_DRIVER_LOG=str(tmp_path / name), FAULT_DRIVER_DELAY="0.15")
    cmd = driver_cmd("count", 0, _run_args(_spec_file(tmp_path, 300), out))
    run = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + TIMEOUT
    while not (out / "_sweep.json").exists():
        assert run.poll() is None, run.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.005)
    return run


@pytest.mark.parametrize("steps", [300, 301])
def test_second_run_into_a_busy_dir(tmp_path, expected, steps):
    """A run into a DIR another run holds: exit 2, one line on stderr naming the owner's
    pid, nothing written; the owner is not disturbed."""
    out = tmp_path / "out"
    owner = _slow_run(tmp_path, out, "owner.log")
    env = dict(os.environ, FAULT_DRIVER_LOG=str(tmp_path / "second.log"))
    cmd = driver_cmd("count", 0, _run_args(_spec_file(tmp_path, steps), out))
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert owner.poll() is None, "the owner finished before the second run: too fast a machine?"
    assert second.returncode == 2, second.stderr
    lines = _error_lines(second.stderr)
    assert "Traceback" not in second.stderr
    assert [x for x in read_log(tmp_path / "second.log") if not x.startswith("exit ")] == []
    m = IN_USE.search(second.stderr)
    assert m and int(m.group(1)) == owner.pid, second.stderr
    _, err = owner.communicate(timeout=TIMEOUT)
    assert owner.returncode == 0, err
    assert_same_numbers(fastdescent.load(out), expected[300])
    # the letter of the contract: the error is the only line on stderr
    assert len(lines) == 1 and lines[0].startswith("fastdescent: error: "), second.stderr


def test_info_while_a_run_is_going(tmp_path, expected):
    """``fastdescent info DIR`` (and ``--json``) during a run: each exits 0 and describes
    the sweep; the run finishes with the right table. The run is slowed down (0.15 s
    before each publish) so that several info calls fall inside it."""
    out = tmp_path / "out"
    run = _slow_run(tmp_path, out, "log")
    during = 0
    calls = 0
    while run.poll() is None or calls < 2:
        as_json = calls % 2 == 1
        args = ["info", str(out), *(["--json"] if as_json else [])]
        info = subprocess.run(
            [sys.executable, "-m", "fastdescent", *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        calls += 1
        still_running = run.poll() is None
        assert info.returncode == 0, f"info rc {info.returncode}\n{info.stderr}"
        assert "Traceback" not in info.stderr, info.stderr
        if as_json:
            assert json.loads(info.stdout)["spec"]["steps"] == 300
        else:
            assert "rows" in info.stdout, info.stdout
        during += still_running
    _, err = run.communicate(timeout=TIMEOUT)
    assert run.returncode == 0, err
    assert during >= 1, "no info call fell inside the run (is the machine very slow?)"
    assert_same_numbers(fastdescent.load(out), expected[300])
    print(f"\ninfo during the run: {during} of {calls} calls")
