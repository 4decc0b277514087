"""The command line: user errors exit 2 with one message and no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

import fastdescent
from fastdescent.cli import main

GOOD = """
problem = "quadratic"
optimizer = "heavy_ball"
steps = 100
[axes]
lr = { start = 0.1, stop = 2.0, num = 8, relative_to = "lambda_max" }
beta = { values = [0.0, 0.5] }
kappa = { values = [10.0] }
"""


def _write(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_run_and_info(tmp_path, capsys):
    spec = _write(tmp_path, GOOD)
    out = tmp_path / "res"
    assert main(["run", str(spec), "--out", str(out), "--threads", "1", "--chunk-size", "5"]) == 0
    captured = capsys.readouterr()
    assert f"results: {out}" in captured.out
    assert "chunk 4/4" in captured.err  # plain progress lines when not a terminal
    assert len(fastdescent.load(out)) == 16
    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "rows       16 of 16\nstate      complete (4/4 chunks)" in info
    assert "optimizer  heavy_ball, steps 100, float64, stop" in info


def test_default_out_is_results_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _write(tmp_path, GOOD, "ravine.toml")
    assert main(["run", str(spec), "--quiet"]) == 0
    assert (tmp_path / "results" / "ravine" / "_sweep.json").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("steps = 100", "steps = 0"), "steps = 0"),
        (GOOD.replace("steps = 100", "steps = 100\nsteps_max = 3"), "unknown key 'steps_max'"),
        (GOOD.replace("num = 8", "num = 8,,"), "line 6"),
        (GOOD.replace('optimizer = "heavy_ball"', 'optimizer = "gd"'), "axes.beta"),
    ],
)
def test_user_errors_exit_2(tmp_path, capsys, text, message):
    spec = _write(tmp_path, text)
    assert main(["run", str(spec), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastdescent: error: ") and message in err
    assert "Traceback" not in err


def test_refused_directory_and_missing_inputs(tmp_path, capsys):
    spec = _write(tmp_path, GOOD)
    out = tmp_path / "res"
    assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    other = _write(tmp_path, GOOD.replace("steps = 100", "steps = 99"), "other.toml")
    assert main(["run", str(other), "--out", str(out)]) == 2
    assert "holds another sweep" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "nowhere")]) == 2
    assert main(["run", str(spec), "--out", str(out), "--threads", "0"]) == 2
    assert "threads" in capsys.readouterr().err


def test_no_traceback_from_a_real_process(tmp_path):
    spec = _write(
        tmp_path, GOOD.replace("kappa = { values = [10.0] }", "kappa = { values = [0.5] }")
    )
    proc = subprocess.run(
        [sys.executable, "-m", "fastdescent", "run", str(spec)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "kappa" in proc.stderr


def test_progress_bar_on_a_terminal(tmp_path, capsys, monkeypatch):
    """On a terminal: a tqdm bar counting trajectories (rate and ETA included)."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    spec = _write(tmp_path, GOOD)
    assert main(["run", str(spec), "--out", str(tmp_path / "r"), "--chunk-size", "4"]) == 0
    err = capsys.readouterr().err
    assert "100%" in err and "16.0/16.0" in err and "traj/s" in err and "chunk 1/4" not in err
