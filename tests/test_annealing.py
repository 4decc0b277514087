"""Annealing on the wells (fastdescent.analysis_anneal, plots_anneal, scripts/annealing.py).

The analysis is checked on summary frames made by a slow twin: noisy gradient descent
with a learning-rate schedule on the wells, written out in NumPy from the formulas of
tests/naive_landscapes.py (the noise from NumPy's generator, not the engine's Philox:
the twin checks the physics and the analysis, not bits). Then, where the engine runs
schedules on landscapes, end to end on a small sweep.

The claims:
- without noise every run ends in the basin it started in: the sweep's basin map equals
  the map of the start points' basins under noiseless gradient flow, for every schedule;
- with noise (sigma = 3, T = 0.45 at eta = 0.1) a decaying schedule (cosine, step) ends
  in the deepest well more often than constant eta: a one-sided two-proportion z-test
  at 99.9 % confidence (p < 1e-3), and disjoint 95 % Wilson intervals.
"""

from __future__ import annotations

import math
import runpy
from argparse import Namespace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from naive_landscapes import DEFAULT_WELLS

from fastdescent import analysis_anneal as aa
from fastdescent import analysis_landscape as al
from fastdescent import analysis_landscape_noise as an
from fastdescent import schedules as sch

ROOT = Path(__file__).resolve().parent.parent
ETA = 0.1
X0 = [-3.0, -1.5, 0.0, 1.5, 3.0]
Y0 = [-2.4, -0.8, 0.8, 2.4]
SCHEDULES = {
    "constant": {"kind": "constant"},
    "step": {"kind": "step", "every": 1250, "gamma": 0.5},
    "cosine": {"kind": "cosine", "min_factor": 0.0},
    "cyclical": {"kind": "cyclical", "half": 625, "low": 0.0, "mode": "triangular"},
}


HOT_STARTS = [(-1.5, -0.8), (1.5, 0.8), (1.5, -0.8), (3.0, 0.0)]  # deep, shallow, shallow, rim


def spec_dict(
    steps=5000, sigmas=(0.0, 3.0), seeds=32, schedules=("constant", "cosine"), starts=None
):
    """A spec dict of the annealing sweep's form: start grid X0 x Y0 (``starts``: the
    same as value lists (xs, ys) instead)."""
    xs, ys = starts if starts is not None else (X0, Y0)
    return {
        "name": "annealing_test",
        "problem": "wells",
        "optimizer": "gd",
        "steps": steps,
        "schedules": {n: dict(SCHEDULES[n]) for n in schedules if n != "constant"},
        "axes": {
            "lr": {"values": [ETA]},
            "sigma": {"values": list(sigmas)},
            "schedule": {"values": list(schedules)},
            "seed": {"start": 0, "stop": seeds - 1, "num": seeds},
            "x0": {"values": list(xs)},
            "y0": {"values": list(ys)},
        },
    }


# ---- the slow twin: noisy GD with a schedule on the wells, vectorised over runs


def twin_grad(x, y, bowl=0.05, wells=DEFAULT_WELLS):
    """naive_landscapes.wells_grad on arrays."""
    gx, gy = 2 * bowl * x, 2 * bowl * y
    for well in wells:
        cx, cy = well["center"]
        w2 = well["width"] * well["width"]
        g = well["depth"] * np.exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * w2))
        gx = gx + g * (x - cx) / w2
        gy = gy + g * (y - cy) / w2
    return gx, gy


def twin_run(spec, settle=3000, grad_tol=1e-10, points=None):
    """The summary rows of ``spec`` (a dict as spec_dict's): every (sigma, schedule, seed,
    start), eta_t = eta s(t) from fastdescent.schedules' closed forms and the noise
    sigma xi_t, xi_t ~ N(0, I) drawn by NumPy per (sigma, step, seed): the same for every
    schedule and start point, as the engine's common random numbers. Then, with the noise
    off, plain GD at eta until |grad| <= grad_tol (at most ``settle`` steps), and the
    basin: the listed minimum within 1e-3, else -1. ``points``: start points (x, y)
    instead of the grid x0 x y0."""
    info = al.problem_info({"problem": "wells", "problem_params": {}})
    mins = np.array([m.location for m in info.minima])
    steps = spec["steps"]
    ax = spec["axes"]
    seeds = np.arange(ax["seed"]["start"], ax["seed"]["stop"] + 1)
    if points is None:
        points = [(x, y) for x in ax["x0"]["values"] for y in ax["y0"]["values"]]
    px, py = np.array(points, dtype=np.float64).T
    S = np.repeat(seeds, len(px))
    X, Y = np.tile(px, len(seeds)), np.tile(py, len(seeds))
    per = len(px)
    rows = []
    for sigma in ax["sigma"]["values"]:
        for name in ax["schedule"]["values"]:
            table = sch.normalise(dict(SCHEDULES[name]), name, steps)
            s = sch.factors(table, steps)
            x, y = X.copy(), Y.copy()
            rng = np.random.default_rng(round(sigma * 1000))
            for t in range(steps):
                gx, gy = twin_grad(x, y)
                if sigma:
                    xi = np.repeat(rng.standard_normal((2, len(seeds))), per, axis=1)
                    gx, gy = gx + sigma * xi[0], gy + sigma * xi[1]
                x, y = x - ETA * s[t] * gx, y - ETA * s[t] * gy
            for _ in range(settle):
                gx, gy = twin_grad(x, y)
                if np.all(np.hypot(gx, gy) <= grad_tol):
                    break
                x, y = x - ETA * gx, y - ETA * gy
            d = np.hypot(x[:, None] - mins[:, 0], y[:, None] - mins[:, 1])
            basin = np.where(d.min(axis=1) <= 1e-3, d.argmin(axis=1), -1)
            status = "converged" if sigma == 0 else "max_steps"
            rows.append(
                pd.DataFrame(
                    {
                        "lr": ETA,
                        "eta": ETA,
                        "sigma": sigma,
                        "schedule": name,
                        "seed": S,
                        "x0": X,
                        "y0": Y,
                        "status": status,
                        "basin": basin,
                    }
                )
            )
    df = pd.concat(rows, ignore_index=True)
    df["schedule"] = pd.Categorical(df["schedule"], categories=ax["schedule"]["values"])
    df.insert(0, "traj", np.arange(len(df), dtype=np.int64))
    return df


ALL = ("constant", "step", "cosine", "cyclical")


@pytest.fixture(scope="module")
def info():
    return al.problem_info({"problem": "wells", "problem_params": {}})


@pytest.fixture(scope="module")
def quiet():
    """No noise: the start grid X0 x Y0, one seed, every schedule."""
    spec = spec_dict(sigmas=(0.0,), seeds=1, schedules=ALL)
    return spec, twin_run(spec)


@pytest.fixture(scope="module")
def hot():
    """sigma = 3 (T = 0.45): four start points x 160 seeds, every schedule."""
    xs, ys = zip(*HOT_STARTS, strict=True)
    spec = spec_dict(sigmas=(3.0,), seeds=160, schedules=ALL, starts=(xs, ys))
    return spec, twin_run(spec, points=HOT_STARTS)


# ---- pure analysis


def test_wilson_is_the_shared_one():
    assert aa.wilson is an.wilson


def test_deepest_is_the_lowest_minimum(info):
    k = aa.deepest(info)
    assert info.minima[k].value == min(m.value for m in info.minima)
    assert np.allclose(info.minima[k].location, (-1.481463, -0.987642), atol=1e-6)


def test_temperature():
    assert aa.temperature(0.1, 0.0, 3.0) == pytest.approx(0.45)
    assert aa.temperature(0.1, 0.5, 3.0) == pytest.approx(0.9)


def test_deep_table_counts_and_intervals(info):
    spec = spec_dict(sigmas=(0.0, 1.0), schedules=("constant", "cosine"))
    basins = {
        ("constant", 0.0): [0, 0, 1, 2],
        ("constant", 1.0): [0, 1, -1, 0],
        ("cosine", 0.0): [0, 0, 1, 2],
        ("cosine", 1.0): [0, 0, 0, 0],
    }
    rows = []
    for (name, sigma), b in basins.items():
        for k, basin in enumerate(b):
            rows.append(
                {
                    "eta": ETA,
                    "lr": ETA,
                    "sigma": sigma,
                    "schedule": name,
                    "x0": X0[k],
                    "y0": -0.8,
                    "basin": basin,
                    "status": "max_steps",
                }
            )
    table = aa.deep_table(pd.DataFrame(rows), spec, info)
    assert list(table["schedule"]) == ["constant", "constant", "cosine", "cosine"]
    assert list(table["sigma"]) == [0.0, 1.0, 0.0, 1.0]
    assert list(table["deep"]) == [2, 2, 2, 4]
    assert list(table["runs"]) == [4] * 4
    lo, hi = an.wilson(np.array([2, 2, 2, 4]), 4)
    assert np.allclose(table["lo"], lo) and np.allclose(table["hi"], hi)
    assert table["other"].tolist() == [0.0, 0.25, 0.0, 0.0]
    assert table["T"].tolist() == pytest.approx([0.0, 0.05, 0.0, 0.05])
    starts = aa.start_basins(info, np.array(X0[:4]), np.full(4, -0.8))
    assert table["start_deep"].iloc[0] == pytest.approx(np.mean(starts == 0))


def test_z_test_against_the_normal_tail():
    z, p = aa.z_test(60, 100, 40, 100)
    pool = 0.5
    want = 0.2 / math.sqrt(pool * pool * 2 / 100)
    assert float(z) == pytest.approx(want)
    assert float(p) == pytest.approx(0.5 * math.erfc(want / math.sqrt(2)))
    assert float(aa.z_test(40, 100, 60, 100)[1]) > 0.99  # one-sided
    assert float(aa.z_test(0, 10, 0, 10)[1]) == 0.5  # no information


def test_schedule_factors_and_labels():
    spec = {
        **spec_dict(steps=100),
        "schedules": {"cosine": {"kind": "cosine", "T": 100, "min_factor": 0.0}},
    }
    f = aa.schedule_factors(spec)
    assert list(f) == ["constant", "cosine"]
    assert np.all(f["constant"] == 1.0)
    assert f["cosine"][0] == 1.0 and f["cosine"][-1] < 0.01
    assert aa.schedule_label("cosine", spec["schedules"]["cosine"], 100) == (
        "cosine: η → 0 over 100 steps"
    )
    one = {"steps": 10, "schedule": {"kind": "step", "every": 5, "gamma": 0.5}, "axes": {}}
    assert list(aa.schedule_factors(one)) == ["step"]
    assert aa.schedule_factors(one)["step"].tolist() == [1.0] * 5 + [0.5] * 5


# ---- the physics, on the twin


def test_no_noise_every_run_ends_in_its_start_basin(quiet, info):
    """Basin map equality at sigma = 0: the twin's final basins are the start points'
    basins under noiseless gradient flow, for every schedule."""
    spec, df = quiet
    quiet = df[df["sigma"] == 0]
    flow = aa.start_basins(info, quiet["x0"].to_numpy(), quiet["y0"].to_numpy())
    assert np.array_equal(quiet["basin"].to_numpy(), flow)
    table = aa.deep_table(df, spec, info)
    q = table[table["sigma"] == 0]
    assert (q["stayed"] == 1.0).all()
    assert np.allclose(q["p"], q["start_deep"])
    # and the map is the same for every schedule
    maps = aa.deep_maps(df, aa.deepest(info), sigmas=[0.0])
    ref = maps[("constant", 0.0)][2]
    for name in ("step", "cosine", "cyclical"):
        assert np.array_equal(maps[(name, 0.0)][2], ref)


def test_decaying_schedule_beats_constant_eta_with_noise(hot, info):
    """sigma = 3 (T = 0.45): constant eta keeps hopping; cosine and step decay freeze
    into the deep well. One-sided z-test on the effective runs (runs sharing a seed share
    their noise and count as fewer), 99.9 % confidence; Wilson intervals apart."""
    spec, df = hot
    table = aa.deep_table(df, spec, info)
    for name in ("cosine", "step"):
        cmp = aa.compare(table, name)
        row = cmp[cmp["sigma"] == 3.0].iloc[0]
        assert row["p_value"] < 1e-3, cmp
        assert row["diff"] > 0.15, cmp
        hot = table[table["sigma"] == 3.0].set_index("schedule")
        assert hot.loc[name, "lo"] > hot.loc["constant", "hi"]
    # constant eta at T = 0.45 ends spread as the Gibbs shares say (within 0.12: the
    # discrete iteration and the finite run differ from the small-step equilibrium)
    hot = table[(table["sigma"] == 3.0) & (table["schedule"] == "constant")].iloc[0]
    gibbs = float(aa.gibbs_deep(info, [hot["T"]], n=200)[0])
    assert abs(hot["p"] - gibbs) < 0.12, (hot["p"], gibbs)


# ---- the figure (drawn from the twin's rows)


def _script():
    return runpy.run_path(str(ROOT / "scripts" / "annealing.py"), run_name="fd_test")


def test_figure_from_the_twin(quiet, hot, capsys):
    spec, df = hot
    spec = {**spec, "axes": {**spec["axes"], "sigma": {"values": [0.0, 3.0]}}}
    df = pd.concat([quiet[1], hot[1]], ignore_index=True)
    spec = {
        **spec,
        "schedules": {
            n: sch.normalise(dict(SCHEDULES[n]), n, spec["steps"])
            for n in ("step", "cosine", "cyclical")
        },
    }
    args = Namespace(maps=None, no_gibbs=False)
    figures = _script()["make"](args, spec, df)
    out = capsys.readouterr().out
    assert "cosine vs constant eta" in out and "p_value" in out and "gibbs" in out
    assert [stem for _, stem in figures] == ["annealing", "annealing_maps"]
    fig = figures[0][0]
    share = fig.axes[1]
    assert share.get_xscale() == "log"
    assert "deep well" in share.get_ylabel() and "σ" in share.get_xlabel()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("cosine") for t in labels) and any("Gibbs" in t for t in labels)
    maps = figures[1][0]
    assert len([a for a in maps.axes if a.get_title() or a.get_ylabel()]) >= 4


def test_script_refuses_sweeps_without_noise(tmp_path, capsys):
    main = _script()["main"]
    assert main([str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("annealing.py: error:") and err.count("\n") == 1
    check = _script()["_check"]
    with pytest.raises(Exception, match="no gradient noise"):
        check({"name": "w", "problem": "wells", "axes": {"lr": {"values": [0.1]}}})
    with pytest.raises(Exception, match="needs a landscape"):
        check({"name": "q", "problem": "quadratic", "axes": {}})


def test_effective_runs():
    seed = np.repeat(np.arange(10), 5)
    together = np.repeat(np.arange(10) % 2 == 0, 5)  # each seed's runs all alike
    assert aa.effective_runs(together, seed) == 10.0
    rng = np.random.default_rng(1)
    apart = rng.random(50) < 0.5  # independent runs: about all 50
    assert 25.0 <= aa.effective_runs(apart, seed) <= 50.0
    assert aa.effective_runs(np.ones(50, bool), seed) == 10.0  # no information: seeds
    assert aa.effective_runs(apart, None) == 50.0
    assert aa.effective_runs(apart, np.arange(50)) == 50.0


# ---- end to end: the engine's schedules on the wells


def _engine_spec(sigmas, schedules, seeds, xs, ys, steps=5000):
    spec = spec_dict(steps=steps, sigmas=sigmas, seeds=seeds, schedules=schedules, starts=(xs, ys))
    spec["name"] = "annealing_e2e"
    return spec


def test_engine_no_noise_basin_map_is_the_start_basins(tmp_path, info, capsys):
    """sigma = 0 on the engine: every schedule's basin map equals the start points'
    basins under noiseless gradient flow; the script draws both figures."""
    import fastdescent

    spec = _engine_spec((0.0,), ALL, 1, X0, Y0)
    out = tmp_path / "quiet"
    fastdescent.run(spec, out=out, progress=False)
    df = fastdescent.load(out)
    flow = aa.start_basins(info, df["x0"].to_numpy(), df["y0"].to_numpy())
    assert np.array_equal(df["basin"].to_numpy(), flow)
    assert (df["status"].astype(str) == "converged").all()
    main = _script()["main"]
    assert main([str(out), "--out", str(tmp_path / "figs"), "--no-gibbs"]) == 2  # no noise
    assert "no gradient noise" in capsys.readouterr().err


def test_engine_cosine_beats_constant_eta(tmp_path, info, capsys):
    """sigma = 3 (T = 0.45) on the engine, 4 start points x 96 seeds: cosine decay ends
    in the deep well more often than constant eta (one-sided z-test on the effective
    runs, p < 1e-3); the script prints the comparison and writes its figure."""
    import fastdescent

    spec = _engine_spec((0.0, 3.0), ("constant", "cosine"), 96, (-1.5, 1.5), (-0.8, 0.8))
    out = tmp_path / "hot"
    fastdescent.run(spec, out=out, progress=False)
    df = fastdescent.load(out)
    spec_n = fastdescent.parse_spec(spec).to_dict()
    table = aa.deep_table(df, spec_n, info)
    quiet = table[table["sigma"] == 0]
    assert (quiet["stayed"] == 1.0).all() and np.allclose(quiet["p"], quiet["start_deep"])
    cmp = aa.compare(table, "cosine")
    row = cmp[cmp["sigma"] == 3.0].iloc[0]
    assert row["p_value"] < 1e-3, cmp
    main = _script()["main"]
    assert main([str(out), "--out", str(tmp_path / "figs"), "--no-gibbs"]) == 0
    printed = capsys.readouterr().out
    assert "cosine vs constant eta" in printed
    assert (tmp_path / "figs" / "annealing.png").stat().st_size > 10_000
