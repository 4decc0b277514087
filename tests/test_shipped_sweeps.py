"""Every example sweep shipped in scripts/sweeps/ agrees with theory (check_theory).

Landscape sweeps also run in the ordinary suite, shrunk (start axes to at most 11
values, range lr axes to at most 17, steps kept) and checked end to end by
scripts/check_theory.py; the slow step runs every sweep at its shipped size.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

import fastdescent
from fastdescent.checks import check_sweep
from fastdescent.checks_adaptive import check_adaptive
from fastdescent.checks_landscape import check_landscape
from fastdescent.checks_sgd import check_linreg
from fastdescent.optimizers import ADAPTIVE
from fastdescent.problems import problem_names

ROOT = Path(__file__).resolve().parent.parent
SWEEPS = sorted((ROOT / "scripts" / "sweeps").rglob("*.toml"))  # and course/
LANDSCAPE_SWEEPS = [p for p in SWEEPS if fastdescent.parse_spec(p).problem != "quadratic"]


def _check(spec, df):
    if spec.optimizer in ADAPTIVE:
        return check_adaptive(df, spec)
    checks = {"quadratic": check_sweep, "linreg": check_linreg}
    return checks.get(spec.problem, check_landscape)(df, spec)


def test_there_are_sweeps_for_every_optimizer():
    optimizers = {fastdescent.parse_spec(p).optimizer for p in SWEEPS}
    assert optimizers == {"gd", "heavy_ball", "nesterov", "adam", "rmsprop"}


def test_there_is_a_sweep_for_every_landscape():
    problems = {fastdescent.parse_spec(p).problem for p in LANDSCAPE_SWEEPS}
    assert problems == set(problem_names()) - {"quadratic"}


def _small(spec) -> dict:
    small = spec.to_dict()
    for name, axis in small["axes"].items():
        if "num" in axis and name == "seed":  # integer seeds: keep the step, 8 of them
            step = (axis["stop"] - axis["start"]) // max(axis["num"] - 1, 1)
            axis["num"] = min(axis["num"], 8)
            axis["stop"] = axis["start"] + step * (axis["num"] - 1)
        elif "num" in axis:
            axis["num"] = min(axis["num"], 11 if name in ("x0", "y0") else 17)
    return small


@pytest.mark.parametrize("path", LANDSCAPE_SWEEPS, ids=[p.stem for p in LANDSCAPE_SWEEPS])
def test_small_landscape_sweep_passes_check_theory(path, tmp_path, capsys):
    spec = _small(fastdescent.parse_spec(path))
    assert fastdescent.parse_spec(spec).size <= 5000
    fastdescent.run(spec, out=tmp_path / "results", progress=False)
    main = runpy.run_path(str(ROOT / "scripts" / "check_theory.py"), run_name="fd_test")["main"]
    rc = main([str(tmp_path / "results")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert out.splitlines()[-1] == "PASS"


@pytest.mark.slow
@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_shipped_sweep_passes_check_theory(path):
    spec = fastdescent.parse_spec(path)
    report = _check(spec, fastdescent.run(spec))
    assert report.ok, report.format()


def test_course_script_draws_from_shipped_sweeps_and_scripts():
    """scripts/course.sh: every figure names a sweep spec and a script that exist, the
    sweep's name is its results directory, and the ids are unique."""
    import re

    text = (ROOT / "scripts" / "course.sh").read_text()
    calls = re.findall(r"^figure (\S+) .*?\n(?:.*\n)*?\s+(\S+) (\$[SC])/(\S+\.toml) (\S+) (\S+)",
                       text, flags=re.M)  # fmt: skip
    assert len(calls) >= 25
    ids = [c[0] for c in calls]
    assert len(set(ids)) == len(ids)
    folders = {"$S": ROOT / "scripts" / "sweeps", "$C": ROOT / "scripts" / "sweeps" / "course"}
    for _, name, folder, spec_file, script, _ in calls:
        spec = fastdescent.parse_spec(folders[folder] / spec_file)
        assert spec.name == name, spec_file
        assert (ROOT / "scripts" / f"{script}.py").exists(), script
