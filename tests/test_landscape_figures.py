"""Landscape figures: the tables of fastdescent.analysis_landscape against hand-made
ones, the plots' print sizes, and scripts/landscape.py and scripts/basins.py end to end
(a subprocess writing a real image; user errors exit 2 with one line)."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from helpers import quadratic_spec
from matplotlib.text import Text

import fastdescent
from fastdescent import _scripts, theory
from fastdescent import analysis_landscape as al

ROOT = Path(__file__).resolve().parents[1]
GRID9 = {"start": -5.0, "stop": 5.0, "num": 9}
SPECS = {
    "hb": {
        "problem": "himmelblau", "optimizer": "heavy_ball", "steps": 1000,
        "axes": {"lr": {"values": [0.005, 0.02, 0.03]}, "beta": {"values": [0.0, 0.5]},
                 "x0": GRID9, "y0": GRID9},
    },
    "quartic": {
        "problem": "quartic", "optimizer": "gd", "steps": 3000,
        "axes": {"lr": {"start": 0.001, "stop": 0.15, "num": 12, "scale": "log"}},
    },
    "saddle": {"problem": "saddle", "optimizer": "gd", "steps": 500,
               "axes": {"lr": {"values": [0.05, 0.2]}}},
    "donut": {
        "problem": "donut", "optimizer": "gd", "steps": 1000,
        "axes": {"lr": {"values": [0.1, 0.3]}, "x0": {"start": -2.0, "stop": 2.0, "num": 9},
                 "y0": {"start": -2.0, "stop": 2.0, "num": 9}},
    },
    "line": {
        "problem": "multimodal", "optimizer": "gd", "steps": 500,
        "axes": {"lr": {"values": [0.1]}, "x0": GRID9},
    },
    "quad": quadratic_spec("gd", axes={"lr": {"values": [0.1, 0.5]}}),
}  # fmt: skip


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """name -> results directory of each small sweep in SPECS."""
    base = tmp_path_factory.mktemp("landscape_sweeps")
    out = {}
    for name, spec in SPECS.items():
        out[name] = base / name
        fastdescent.run({**spec, "name": name}, out=out[name], progress=False)
    return out


def _open(directory):
    return _scripts.open_sweep(directory, "landscape")


# ---------------------------------------------------------------- tables, by hand


def test_outcome_codes():
    df = pd.DataFrame(
        {
            "status": ["converged", "converged", "max_steps", "diverged", "escaped"],
            "basin": [2, -1, -1, -1, -1],
        }
    )
    assert list(al.outcomes(df)) == [2, al.ELSEWHERE, al.MOVING, al.DIVERGED, al.ESCAPED]


def test_area_fractions_and_boundaries():
    code = np.array([[0, 0, 1], [0, 0, 1], [al.MOVING, 1, 1]])
    frac = al.area_fractions(code, 3)
    assert frac == {0: 4 / 9, 1: 4 / 9, 2: 0.0, al.MOVING: 1 / 9}
    edge = al.boundary_points(code)
    assert edge.tolist() == [
        [False, True, True],
        [True, True, True],
        [True, True, False],
    ]
    code[0, 0] = al.MISSING
    frac = al.area_fractions(code, 3)
    assert frac[0] == 3 / 8 and frac[al.MISSING] == 1 / 9
    assert sum(v for k, v in frac.items() if k != al.MISSING) == pytest.approx(1.0)


def test_limit_etas_straddle_each_limit():
    grid = np.linspace(0.010, 0.026, 65)
    picks = al.limit_etas(grid, theory.minima_limits("himmelblau", "gd"), 9)
    assert picks.tolist() == pytest.approx(
        [0.01, 0.01475, 0.015, 0.01875, 0.019, 0.02425, 0.0245, 0.02475, 0.025]
    )
    assert al.limit_etas([0.1, 0.2], [0.15], 9).tolist() == [0.1, 0.2]
    assert len(al.limit_etas(grid, [1.0], 5)) == 5  # no limit inside: evenly spaced


def test_contour_levels_log_for_rosenbrock():
    info = al.problem_info({"problem": "rosenbrock", "problem_params": {}})
    F = al.landscape_grid(info, info.region(), 50)[2]
    assert F.shape == (50, 50) and F[0, 0] == pytest.approx((1 + 2) ** 2 + 100 * (-1 - 4) ** 2)
    levels, log = al.contour_levels(info, F)
    assert log and np.allclose(levels, np.logspace(-0.5, 3.5, 17))
    info = al.problem_info({"problem": "multimodal", "problem_params": {}})
    levels, log = al.contour_levels(info, al.landscape_grid(info, info.region(), 50)[2])
    assert not log and np.allclose(np.diff(levels), np.diff(levels)[0])


def test_basin_maps_place_every_row(sweeps):
    spec, df = _open(sweeps["hb"])
    maps = al.basin_maps(df, spec)
    assert len(maps) == 6 and all(bm.code.shape == (9, 9) and bm.n == 81 for bm in maps)
    bm = next(m for m in maps if m.eta == 0.005 and m.beta == 0.5)
    rows = df[(df["eta"] == 0.005) & (df["beta"] == 0.5)]
    for _, r in rows.iterrows():
        i, j = np.searchsorted(bm.y, r["y0"]), np.searchsorted(bm.x, r["x0"])
        want = r["basin"] if r["status"] == "converged" and r["basin"] >= 0 else None
        if want is not None:
            assert bm.code[i, j] == want
    part = al.basin_maps(df.iloc[1:], spec, [(0.005, 0.0)])[0]
    assert part.code[0, 0] == al.MISSING and part.n == 80
    with pytest.raises(ValueError, match="x0 and y0"):
        al.basin_maps(*reversed(_open(sweeps["line"])))


# ---------------------------------------------------------------- figures, in process


def _figures(sweeps):
    figs = []
    for name, script, argv in [
        ("hb", "landscape", []),
        ("hb", "basins", []),
        ("quartic", "landscape", []),
        ("saddle", "landscape", []),
        ("donut", "basins", ["--lr", "0.3"]),
    ]:
        g = runpy.run_path(str(ROOT / "scripts" / f"{script}.py"), run_name="fd_test")
        p = _scripts.parser(script, "")
        g["add_arguments"](p)
        args = p.parse_args([str(sweeps[name]), *argv])
        spec, df = _open(sweeps[name])
        figs += [fig for fig, _ in g["make"](args, spec, df)]
    return figs


def test_figures_are_print_sized(sweeps, tmp_path, capsys):
    for i, fig in enumerate(_figures(sweeps)):
        fig.savefig(tmp_path / f"{i}.png", dpi=72)
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert texts
        small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 9]
        assert not small, small
        assert 5.5 <= fig.get_figwidth() <= 7.5
        assert fig.get_constrained_layout()
    capsys.readouterr()


# ---------------------------------------------------------------- scripts, end to end


def _run(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("script", "sweep"),
    [("landscape", "hb"), ("basins", "hb"), ("landscape", "quartic"), ("landscape", "saddle")],
)
def test_script_writes_png(sweeps, tmp_path, script, sweep):
    r = _run(ROOT / "scripts" / f"{script}.py", sweeps[sweep], "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no warnings either
    path = tmp_path / f"{script}.png"
    assert r.stdout.splitlines()[-1] == str(path)
    img = matplotlib.image.imread(path)
    assert img.shape[1] in (900, 1080) and img.shape[0] > 0.45 * img.shape[1]  # 150 dpi


def test_basins_prints_the_area_fractions(sweeps, tmp_path):
    r = _run(ROOT / "scripts" / "basins.py", sweeps["hb"], "--out", tmp_path, "--beta", "0.5")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "area fraction of the start grid per outcome (9 x 9 starts):"
    header, rows = lines[1].split(), lines[2:-1]
    assert header[:4] == ["eta", "beta", "runs", "basin"] and len(rows) == 3
    df = _open(sweeps["hb"])[1]
    for row in rows:
        values = row.split()
        eta, beta = float(values[0]), float(values[1])
        assert beta == 0.5
        shares = [float(v.rstrip("%")) for v in values[3:]]
        assert sum(shares) == pytest.approx(100.0, abs=0.1 * len(shares))
        sel = df[(df["eta"] == eta) & (df["beta"] == beta)]
        basin0 = ((sel["status"] == "converged") & (sel["basin"] == 0)).mean()
        assert shares[0] == pytest.approx(100 * basin0, abs=0.05)


def _main(script, argv):
    g = runpy.run_path(str(ROOT / "scripts" / f"{script}.py"), run_name="fd_test")
    kind = "landscape" if script in ("landscape", "basins") else "quadratic"
    argv = [str(a) for a in argv]
    return _scripts.main(script, g["__doc__"], g["add_arguments"], g["make"], argv, kind=kind)


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("basins", ["line"], "has only a x0 axis; a basin map needs a start grid"),
        ("basins", ["saddle"], "has no x0 / y0 axes"),
        ("landscape", ["quad"], "is on 'quadratic'; this figure needs a landscape"),
        ("basins", ["hb", "--lr", "1.0"], "lr = 1 is outside the sweep's grid"),
        ("landscape", ["donut", "--beta", "0.5"], "a gd sweep has no momentum"),
        ("landscape", ["hb", "--lr", "fast"], "expected numbers"),
        ("rate_heatmaps", ["hb"], "scripts/landscape.py or scripts/basins.py"),
        ("lr_sweep", ["donut"], "is on 'donut', a landscape"),
        ("divergence_boundary", ["quartic"], "scripts/landscape.py or scripts/basins.py"),
        ("rate_vs_kappa", ["saddle"], "scripts/landscape.py or scripts/basins.py"),
    ],
)
def test_user_errors_exit_2(sweeps, tmp_path, capsys, script, args, message):
    assert _main(script, [sweeps[args[0]], *args[1:], "--out", tmp_path]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith(f"{script}: error:"), err
    assert not list(tmp_path.glob("*.png"))


def test_user_error_in_a_real_process(sweeps):
    r = _run(ROOT / "scripts" / "rate_heatmaps.py", sweeps["hb"])
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert len(r.stderr.splitlines()) == 1
