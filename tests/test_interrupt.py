"""Real interruptions of ``fastdescent run`` in a child process: SIGINT (Ctrl-C) and
SIGKILL. Finished chunks are kept, the next run computes only the rest, and the result
is the same as an uninterrupted run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from helpers import assert_same_numbers, quadratic_spec, spec_toml

import fastdescent
from fastdescent import store

AXES = {
    "lr": {"start": 0.05, "stop": 3.5, "num": 64, "relative_to": "lambda_max"},
    "beta": {"start": 0.0, "stop": 0.99, "num": 32},
    "kappa": {"start": 1, "stop": 1e4, "num": 32, "scale": "log"},
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_process_resumes(tmp_path, sig):
    spec = quadratic_spec("heavy_ball", steps=2000, axes=AXES)
    spec.pop("name")
    path = tmp_path / "sweep.toml"
    path.write_text(spec_toml(spec))
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "fastdescent",
        "run",
        str(path),
        "--out",
        str(out),
        "--chunk-size",
        "2048",
        "--threads",
        "1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list(out.glob("part-*.parquet"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    n_chunks = 32  # 65,536 trajectories / 2,048
    done = set(store.part_files(out))
    assert 3 <= len(done) < n_chunks, "the run finished before it could be interrupted"
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert "Run the same command again" in err and "Traceback" not in err
    resumed = subprocess.run(cmd, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    manifest = store.read_manifest(out)
    assert manifest["complete"]
    assert manifest["runs"][-1]["chunks"] == n_chunks - len(done)
    assert_same_numbers(fastdescent.load(out), fastdescent.run(spec))
