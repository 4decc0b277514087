"""scripts/check_theory.py and fastdescent.checks: pass on real sweeps, fail on doctored ones.

Real sweeps (lr 40 x beta 10 x kappa 4 up to 1e4, 2000 steps) of all three optimizers are
written with ``fastdescent.run(out=tmp)``; the script must exit 0 on each. Copies of the
results table are then doctored (rates x 1.05, divergence flags flipped, the best point
removed or degraded) and checked with ``check_sweep(df, spec)`` and, end to end, with the
script on a doctored results directory: the directory's ``_sweep.json`` plus one Parquet
part rewritten with pyarrow under the original schema (spec metadata included).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import quadratic_spec

import fastdescent
from fastdescent.checks import CheckError, check_sweep, theory_grid
from fastdescent.store import read_manifest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_theory.py"
OPTIMIZERS = ("gd", "heavy_ball", "nesterov")
TITLES = {
    "divergence": "1 divergence verdict: FAIL",
    "rate": "2 rate vs theory: FAIL",
    "best": "3 best on grid vs rho*: FAIL",
}
CHECK_NAMES = {"divergence": "divergence verdict", "rate": "rate vs theory", "best": "best on grid"}


def _axes(optimizer):
    axes = {
        "lr": {"start": 0.02, "stop": 4.2, "num": 40, "relative_to": "lambda_max"},
        "kappa": {"start": 1, "stop": 1e4, "num": 4, "scale": "log"},
    }
    if optimizer != "gd":
        axes["beta"] = {"start": 0.0, "stop": 0.97, "num": 10}
    return axes


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """optimizer -> (results dir, normalised spec dict, results DataFrame)."""
    out = {}
    for optimizer in OPTIMIZERS:
        directory = tmp_path_factory.mktemp(optimizer) / "results"
        spec = quadratic_spec(optimizer, steps=2000, axes=_axes(optimizer))
        fastdescent.run(spec, out=directory, progress=False)
        out[optimizer] = (directory, read_manifest(directory)["spec"], fastdescent.load(directory))
    return out


def _script(*args):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False
    )
    return proc.returncode, proc.stdout, proc.stderr


def _write_doctored(src: Path, dst: Path, df) -> Path:
    """A results directory holding ``df`` under src's manifest and Parquet schema."""
    dst.mkdir()
    shutil.copy(src / "_sweep.json", dst / "_sweep.json")
    schema = pq.read_schema(sorted(src.glob("part-*.parquet"))[0])
    table = pa.Table.from_pandas(df.reset_index(drop=True), schema=schema, preserve_index=False)
    pq.write_table(table, dst / "part-00000.parquet")
    return dst


def _grid(spec):
    return theory_grid(spec).set_index("traj")


def _assert_fails(report, name):
    assert not report.ok
    assert report[name].failed > 0
    text = report.format()
    assert TITLES[name] in text
    assert text.splitlines()[-1].startswith("FAIL:")


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_real_sweep_passes(sweeps, optimizer):
    directory, spec, df = sweeps[optimizer]
    rc, out, err = _script(directory)
    assert rc == 0, out + err
    assert out.splitlines()[-1] == "PASS"
    for title in ("1 divergence verdict: PASS", "2 rate vs theory: PASS", "3 best on grid"):
        assert title in out
    report = check_sweep(df, spec)
    assert report.ok
    table = report.table()
    assert (table["checked"] > 0).all() and (table["failed"] == 0).all()
    assert table.loc["divergence", "checked"] > 0.8 * len(df)
    assert table.loc["rate", "checked"] > 0.3 * len(df)
    assert table.loc["rate", "max_error"] < 1e-3
    assert table.loc["best", "checked"] == 4
    assert (table["checked"] + table["skipped"] == [len(df), len(df), 4]).all()


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_rates_times_1_05_fail(sweeps, optimizer):
    _, spec, df = sweeps[optimizer]
    bad = df.copy()
    bad["rate"] *= 1.05
    report = check_sweep(bad, spec)
    _assert_fails(report, "rate")
    assert report["divergence"].ok
    assert report["rate"].max_error > 0.1


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_stable_points_flagged_diverged_fail(sweeps, optimizer):
    _, spec, df = sweeps[optimizer]
    grid = _grid(spec).loc[df["traj"]]
    pick = np.flatnonzero((grid["stable"] & grid["away"]).to_numpy())[::50]
    bad = df.copy()
    bad.loc[bad.index[pick], "status"] = "diverged"
    report = check_sweep(bad, spec)
    _assert_fails(report, "divergence")
    assert report["divergence"].failed == len(pick)
    assert set(report["divergence"].worst["traj"]) <= set(df["traj"].to_numpy()[pick])


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_unstable_points_not_flagged_diverged_fail(sweeps, optimizer):
    _, spec, df = sweeps[optimizer]
    grid = _grid(spec).loc[df["traj"]]
    pick = np.flatnonzero((~grid["stable"] & grid["away"]).to_numpy())[::20]
    bad = df.copy()
    bad.loc[bad.index[pick], "status"] = "max_steps"
    report = check_sweep(bad, spec)
    _assert_fails(report, "divergence")
    assert report["divergence"].failed == len(pick)
    assert report["rate"].ok and report["best"].ok


def _best_row(spec, df, tol=0.02):
    """traj of a grid-best point whose removal theory says is detectable (next best > tol)."""
    grid = _grid(spec)
    for _, g in grid.groupby("group"):
        rho = np.sort(g["rho"].to_numpy())
        if 0.01 <= rho[0] and np.log(rho[1]) - np.log(rho[0]) > 2 * tol * abs(np.log(rho[0])):
            return g["rho"].idxmin()
    pytest.fail("no kappa with a clear best grid point")


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_best_point_removed_fails(sweeps, optimizer):
    _, spec, df = sweeps[optimizer]
    best = _best_row(spec, df)
    report = check_sweep(df[df["traj"] != best], spec)
    _assert_fails(report, "best")
    assert report["divergence"].ok and report["rate"].ok
    assert "off grid best" in report.format()


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_best_point_degraded_fails(sweeps, optimizer):
    _, spec, df = sweeps[optimizer]
    best = _best_row(spec, df)
    bad = df.copy()
    bad.loc[bad["traj"] == best, "status"] = "diverged"
    report = check_sweep(bad, spec)
    _assert_fails(report, "best")
    _assert_fails(report, "divergence")


def test_kappa_with_every_row_diverged_fails(sweeps):
    _, spec, df = sweeps["gd"]
    bad = df.copy()
    bad.loc[bad["kappa"] == bad["kappa"].max(), "status"] = "diverged"
    report = check_sweep(bad, spec)
    _assert_fails(report, "best")
    assert "no non-diverged row" in report.format()
    assert report["best"].max_error == np.inf


def test_best_that_beats_rho_star_fails(sweeps):
    _, spec, df = sweeps["heavy_ball"]
    bad = df.copy()
    at = bad["kappa"] == bad["kappa"].max()
    bad.loc[at, "rate"] *= 0.98  # |log rho*| ~ 0.02 at kappa 1e4: far better than rho*
    report = check_sweep(bad, spec)
    _assert_fails(report, "best")
    assert "beats rho*" in report.format()


@pytest.mark.parametrize(
    ("doctor", "name"),
    [("rates", "rate"), ("flags", "divergence"), ("best", "best")],
)
def test_script_fails_on_a_doctored_directory(sweeps, tmp_path, doctor, name):
    directory, spec, df = sweeps["nesterov"]
    bad = df.copy()
    if doctor == "rates":
        bad["rate"] *= 1.05
    elif doctor == "flags":
        grid = _grid(spec).loc[df["traj"]]
        bad.loc[(grid["stable"] & grid["away"]).to_numpy(), "status"] = "diverged"
    else:  # the best row reported diverged (a row removed would fail verification)
        bad.loc[bad["traj"] == _best_row(spec, df), "status"] = "diverged"
    rc, out, err = _script(_write_doctored(directory, tmp_path / "bad", bad), "--worst", 3)
    assert rc == 1, out + err
    assert TITLES[name] in out
    assert out.splitlines()[-1].startswith("FAIL:") and CHECK_NAMES[name] in out.splitlines()[-1]


def test_script_options_change_the_verdict(sweeps):
    directory = sweeps["heavy_ball"][0]
    rc, out, _ = _script(directory, "--tolerance-rate", "1e-12", "--worst", 2)
    assert rc == 1 and "2 rate vs theory: FAIL" in out
    rc, out, _ = _script(directory, "--band", "0.2", "--worst", 0)
    assert rc == 0 and "worst points" not in out


def test_user_errors_exit_2_with_one_line(tmp_path, sweeps):
    fake = tmp_path / "fake"
    fake.mkdir()
    shutil.copy(sweeps["gd"][0] / "_sweep.json", fake / "_sweep.json")
    manifest = json.loads((fake / "_sweep.json").read_text())
    manifest["spec"]["problem"] = "logreg"  # a problem without theory (not even registered)
    (fake / "_sweep.json").write_text(json.dumps(manifest))
    for target, words in [
        (tmp_path / "missing", "no such results directory"),
        (tmp_path, "not a fastdescent results directory"),
        (fake, "theory covers 'quadratic' and the landscapes"),
    ]:
        rc, out, err = _script(target)
        assert rc == 2, (target, out, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert words in err


def test_check_sweep_rejects_rows_of_another_spec(sweeps):
    _, spec, df = sweeps["gd"]
    other = quadratic_spec("gd", steps=2000, axes={"lr": {"values": [0.5]}})
    with pytest.raises(CheckError, match="not of this spec"):
        check_sweep(df, other)
    with pytest.raises(CheckError, match="only 'quadratic'"):
        check_sweep(df, {**spec, "problem": "quadratic_x"})


@pytest.mark.parametrize("optimizer", ["gd", "heavy_ball"])
def test_start_off_an_eigendirection_uses_the_excited_spectrum(optimizer):
    """start = (1, 0): the kappa direction is never excited, so eta * kappa > 2 still converges."""
    axes = _axes(optimizer)
    axes["kappa"] = {"values": [3.0, 100.0]}
    spec = quadratic_spec(optimizer, steps=2000, axes=axes, start=[1.0, 0.0])
    df = fastdescent.run(spec)
    report = check_sweep(df, spec)
    assert report.ok, report.format()
    assert not (df["status"] == "diverged").any()
