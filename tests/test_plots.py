"""Figures: the analysis tables against hand-computed values, the plots' print sizes, and
every script end to end (a subprocess writing a real image; user errors exit 2)."""

from __future__ import annotations

import argparse
import io
import math
import runpy
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.text import Text

import fastdescent
from fastdescent import _scripts, analysis, plots, theory

ROOT = Path(__file__).resolve().parents[1]


def _spec(name, optimizer, axes, steps=300):
    return {
        "name": name,
        "problem": "quadratic",
        "optimizer": optimizer,
        "steps": steps,
        "problem_params": {"dim": 2},
        "axes": axes,
    }


LR = {"start": 0.02, "stop": 4.2, "num": 24, "relative_to": "lambda_max"}
KAPPA = {"values": [1.0, 10.0, 100.0]}
SPECS = {
    "hb": _spec(
        "hb",
        "heavy_ball",
        {"lr": LR, "beta": {"start": 0.0, "stop": 0.95, "num": 12}, "kappa": KAPPA},
    ),
    "nag": _spec(
        "nag", "nesterov", {"lr": LR, "beta": {"values": [0.0, 0.5, 0.9]}, "kappa": KAPPA}
    ),
    "gd": _spec("gd", "gd", {"lr": LR, "kappa": KAPPA}),
    # the theory's limit sits exactly on a grid point: gd at 2, heavy ball (beta 0.5) at 3;
    # powers of two keep eta * lambda_max exact
    "edge_gd": _spec(
        "edge_gd",
        "gd",
        {
            "lr": {"values": [1.5, 2.0, 2.5], "relative_to": "lambda_max"},
            "kappa": {"values": [1.0, 4.0, 16.0]},
        },
    ),
    "edge_hb": _spec(
        "edge_hb",
        "heavy_ball",
        {
            "lr": {"values": [2.5, 3.0, 3.5], "relative_to": "lambda_max"},
            "beta": {"values": [0.5]},
            "kappa": {"values": [1.0, 4.0]},
        },
    ),
    "seeds": _spec(
        "seeds",
        "heavy_ball",
        {"lr": LR, "beta": {"values": [0.0, 0.5]}, "kappa": KAPPA, "seed": {"values": [0, 1]}},
    ),
    "nokappa": _spec("nokappa", "heavy_ball", {"lr": LR, "beta": {"values": [0.0, 0.5]}}),
    # the course's x^2 + 3y^2: a fixed spectrum (one kappa, no kappa column), absolute lr
    "course_hb": {
        **_spec(
            "course_hb",
            "heavy_ball",
            {
                "lr": {"start": 0.01, "stop": 0.6, "num": 20},
                "beta": {"start": 0.0, "stop": 0.9, "num": 10},
            },
        ),
        "problem_params": {"lambdas": [2.0, 6.0], "start": [2.0, -1.0]},
    },
    "course_gd": {
        **_spec("course_gd", "gd", {"lr": {"start": 0.01, "stop": 0.4, "num": 20}}),
        "problem_params": {"lambdas": [2.0, 6.0], "start": [2.0, -1.0]},
    },
    "one_beta": _spec(
        "one_beta", "heavy_ball", {"lr": LR, "beta": {"values": [0.5]}, "kappa": KAPPA}
    ),
}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """name -> results directory of each small sweep in SPECS."""
    base = tmp_path_factory.mktemp("sweeps")
    out = {}
    for name, spec in SPECS.items():
        out[name] = base / name
        fastdescent.run(spec, out=out[name], progress=False)
    return out


def _open(directory):
    spec, df = _scripts.open_sweep(directory)
    return spec, df, analysis.cells(df, spec)


# ---------------------------------------------------------------- analysis, by hand


def test_cells_one_row_per_grid_point(sweeps):
    spec, df, c = _open(sweeps["hb"])
    assert len(c) == 24 * 12 * 3 == len(df)
    assert c["diverged"].sum() == (df["status"] == "diverged").sum()
    assert spec["axes"]["lr"]["relative_to"] == "lambda_max"
    assert np.array_equal(np.unique(c["h"]), np.unique(df["lr"]))  # so h = lr exactly
    assert c.loc[c["diverged"], "rate"].isna().all()
    assert np.isinf(c.loc[c["diverged"], "loss_ratio"]).all()


def test_cells_pool_seeds(sweeps):
    _, df, c = _open(sweeps["seeds"])
    assert len(df) == 2 * len(c) == 2 * 24 * 2 * 3
    one = df[df["seed"] == 0].sort_values(["kappa", "beta", "lr"])
    assert np.array_equal(
        c["rate"].to_numpy(),
        np.where(one["status"] == "diverged", np.nan, one["rate"]),
        equal_nan=True,
    )


def test_decades_and_ticks():
    d = analysis.decades([0.0, 0.9, 0.99, 0.999, 1.0, 1.5, np.nan])
    assert np.allclose(d[:4], [0, 1, 2, 3]) and np.isnan(d[4:]).all()
    pos, labels = analysis.decade_ticks(3.0)
    assert labels == ["0", "0.5", "0.9", "0.99", "0.999"]
    assert np.allclose(analysis.decades([float(lab) for lab in labels]), pos)
    six = ["0", "0.9", "0.99", "0.999", "$1 - 10^{-4}$", "$1 - 10^{-6}$"]
    assert analysis.decade_ticks(6.0)[1] == six
    pos, labels = analysis.iso_rates(2.5)
    assert labels == ["0.5", "0.9", "0.99"] and np.allclose(pos, [np.log10(2), 1, 2])


def test_rate_map_matches_rows(sweeps):
    spec, df, c = _open(sweeps["hb"])
    m = analysis.rate_map(c, spec, 10.0)
    assert m.h.shape == m.rate.shape == m.diverged.shape == (12, 24)
    assert m.y.shape == (12,) and m.y_edges.shape == (13,) and m.h_edges.shape == (12, 25)
    rows = df[df["kappa"] == 10.0].sort_values(["beta", "lr"])
    div = (rows["status"] == "diverged").to_numpy().reshape(12, 24)
    assert np.array_equal(m.diverged, div)
    rate = rows["rate"].to_numpy().reshape(12, 24)
    ok = ~div & (rate < 1)
    assert np.allclose(m.decades[ok], -np.log10(1 - rate[ok]))
    assert np.isnan(m.decades[~ok]).all() and not m.missing.any()
    assert np.allclose(m.h[0], np.linspace(0.02, 4.2, 24))


def test_boundary_on_a_grid_point_gd(sweeps):
    spec, _, c = _open(sweeps["edge_gd"])
    t = analysis.boundary(c, spec)
    assert len(t) == 3  # one per kappa
    # at eta*L = 2 exactly the top mode flips sign forever: rate 1, bounded, not diverged
    assert (t["h_unstable"] == 2.0).all() and (t["residual_unstable"] == 0.0).all()
    assert (t["h_div"] == 2.5).all() and (t["h_ok"] == 2.0).all() and (t["residual"] == 1.0).all()
    assert (t["h_theory"] == 2.0).all() and (t["step"] == 0.5).all()
    p = analysis.pool_boundary(t, "kappa")
    assert list(p["kappa"]) == [1.0, 4.0, 16.0] and p["agree"].all()


def test_boundary_on_a_grid_point_heavy_ball(sweeps):
    spec, _, c = _open(sweeps["edge_hb"])
    t = analysis.boundary(c, spec)
    assert (t["h_theory"] == 3.0).all()  # 2 (1 + beta)
    assert (t["h_ok"] == 3.0).all() and (t["h_div"] == 3.5).all() and (t["residual"] == 1.0).all()
    p = analysis.pool_boundary(t)
    assert len(p) == 1 and p["n"].iat[0] == 2 and p["agree"].all()


def test_boundary_dense_grid_within_one_step(sweeps):
    spec, _, c = _open(sweeps["hb"])
    t = analysis.boundary(c, spec)
    assert len(t) == 12 * 3
    assert ((t["residual_unstable"] >= 0) & (t["residual_unstable"] < 1)).all()
    p = analysis.pool_boundary(t)
    assert p["agree"].all()  # in units of eta*lambda_max the boundary does not depend on kappa
    assert np.allclose(p["h_theory"], 2 * (1 + p["beta"]))


def test_finite_limit_gd_closed_form():
    # gd past the limit: rho = h - 1, so the loss grows by 1e10 in 300 steps at
    # h = 1 + 1e10 ** (1 / 600)
    h = analysis.finite_limit("gd", 0.0, 300, 1e10)
    assert h == pytest.approx(1 + 1e10 ** (1 / 600), rel=1e-12)
    assert np.isnan(analysis.limit_curve("heavy_ball", [1.2, -0.1])).all()


@pytest.mark.parametrize("name", ["hb", "nag", "gd"])
def test_best_rate_is_min_over_rows(sweeps, name):
    spec, df, c = _open(sweeps[name])
    best = analysis.best_rate(c, spec["optimizer"]).set_index("kappa")
    direct = df[df["status"] != "diverged"].groupby("kappa")["rate"].min()
    assert np.array_equal(best["rate"].to_numpy(), direct.to_numpy())
    opt = spec["optimizer"]
    beta = df["beta"] if "beta" in df else None
    th = theory.rate(opt, df["eta"], beta, df["lambda_min"], df["lambda_max"])
    grid = df.assign(th=th).groupby("kappa")["th"].min()
    assert np.allclose(best["grid_rate"].to_numpy(), grid.to_numpy(), rtol=1e-12)
    rho = theory.optimal(opt, 1.0, best.index.to_numpy())[2]
    assert np.allclose(best["rho_opt"], rho)
    assert (best["grid_rate"] >= best["rho_opt"] - 1e-12).all()  # the grid can't beat theory
    assert np.allclose(best["rate"], best["grid_rate"], atol=2e-3)  # measured = theory


def test_rate_laws_and_overlay(sweeps):
    laws = analysis.rate_laws([1.0, 9.0, 25.0])
    assert np.allclose(laws["gd"], [0, 0.8, 24 / 26])
    assert np.allclose(laws["heavy_ball"], [0, 0.5, 4 / 6])
    assert np.allclose(laws["nesterov"], [0, 1 - 2 / np.sqrt(28), 1 - 2 / np.sqrt(76)])
    spec, _, c = _open(sweeps["gd"])
    ov = analysis.heatmap_overlay("gd", analysis.rate_map(c, spec))
    assert np.allclose(ov["opt_h"], 2 * ov["opt_y"] / (1 + ov["opt_y"]))
    assert (ov["limit_h"] == 2.0).all()
    spec, _, c = _open(sweeps["hb"])
    ov = analysis.heatmap_overlay("heavy_ball", analysis.rate_map(c, spec, 100.0))
    assert ov["opt_h"] == pytest.approx(4 * 100 / 11**2) and ov["opt_rho"] == pytest.approx(9 / 11)


def test_loss_curves_select_and_clip(sweeps):
    _, _, c = _open(sweeps["hb"])
    cur = analysis.loss_curves(c, [0.0, 0.5], [10.0], tol=1e-20)
    assert set(cur["beta"]) == {0.0} and len(cur) == 24  # 0.5 is not a grid value
    assert (cur["shown"] >= 1e-20).all() and np.isinf(cur.loc[cur["diverged"], "shown"]).all()


def test_grid_value_selection():
    grid = [1.0, 10.0, 100.0, 1000.0]
    assert list(_scripts.nearest(grid, [9.0, 11.0, 1000.0], log=True)) == [10.0, 1000.0]
    with pytest.raises(_scripts.UserError, match="outside the sweep's grid"):
        _scripts.nearest(grid, [1e5], log=True, name="kappa")
    assert list(_scripts.representative(grid, [1, 100], 4, log=True)) == grid
    many = np.geomspace(1, 1e4, 64)
    picks = _scripts.representative(many, [1, 10, 100, 1e3, 1e4], 6, log=True)
    assert len(picks) == 5 and picks[0] == 1 and picks[-1] == 1e4


# ---------------------------------------------------------------- figures, in process


def _all_figures(sweeps):
    figs = []
    for name in ["hb", "nag", "gd"]:
        spec, _, c = _open(sweeps[name])
        opt = spec["optimizer"]
        maps = (
            [analysis.rate_map(c, spec)]
            if opt == "gd"
            else [analysis.rate_map(c, spec, k) for k in (1.0, 10.0, 100.0)]
        )
        vmax = analysis.colour_top(maps)
        ovs = [analysis.heatmap_overlay(opt, m, regions=True) for m in maps]
        ticks = analysis.decade_ticks(vmax)
        figs.append(plots.rate_heatmaps(maps, ovs, spec, vmax, analysis.iso_rates(vmax), ticks))
        by = "kappa" if opt == "gd" else "beta"
        pooled = analysis.pool_boundary(analysis.boundary(c, spec), by)
        dense = analysis.limit_line(opt, pooled[by], by)
        figs.append(plots.divergence_boundary(pooled, dense, spec))
        best = analysis.best_rate(c, opt)
        figs.append(
            plots.rate_vs_kappa(best, analysis.rate_laws(analysis.kappa_line([1, 100])), spec)
        )
        betas = np.unique(c["beta"])[:2]
        cur = analysis.loss_curves(c, betas, [1.0, 100.0], spec["stop"]["tol"])
        limits = dict(zip(betas, analysis.limit_curve(opt, betas), strict=True))
        figs.append(plots.loss_vs_lr(cur, limits, spec))
    return figs


def test_figures_are_print_sized(sweeps, tmp_path):
    for i, fig in enumerate(_all_figures(sweeps)):
        fig.savefig(tmp_path / f"{i}.png", dpi=72)  # draws: lays out and creates the ticks
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert texts
        small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 9]
        assert not small, small
        assert 5.5 <= fig.get_figwidth() <= 7.5
        assert fig.get_constrained_layout()


# ---------------------------------------------------------------- scripts, end to end


def _run(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("script", "width"),
    [
        ("rate_heatmaps", 1080),
        ("divergence_boundary", 900),
        ("rate_vs_kappa", 900),
        ("lr_sweep", 1080),
    ],
)
def test_script_writes_png(sweeps, tmp_path, script, width):
    r = _run(ROOT / "scripts" / f"{script}.py", sweeps["hb"], "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no warnings either
    path = tmp_path / f"{script}.png"
    extra = [str(tmp_path / "lr_sweep_steps.png")] if script == "lr_sweep" else []
    assert r.stdout.splitlines() == [str(path), *extra]
    assert path.stat().st_size > 5000
    img = matplotlib.image.imread(path)
    assert img.shape[1] == width and img.shape[0] > 0.45 * width  # 150 dpi


def test_script_default_dir_and_other_formats(sweeps, tmp_path):
    r = _run(ROOT / "scripts" / "rate_heatmaps.py", sweeps["gd"], "--format", "svg", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    path = tmp_path / "results" / "figures" / "gd" / "rate_heatmaps.svg"
    assert r.stdout.strip() == str(Path("results/figures/gd/rate_heatmaps.svg"))
    assert path.stat().st_size > 5000 and path.read_text().lstrip().startswith("<?xml")


def _main(script, argv):
    g = runpy.run_path(str(ROOT / "scripts" / f"{script}.py"), run_name="fd_test")
    return _scripts.main(
        script,
        g["__doc__"],
        g["add_arguments"],
        g["make"],
        [str(a) for a in argv],
        opener=g.get("open_rates"),  # rate_heatmaps reads its rows itself
    )


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("rate_vs_kappa", ["nokappa"], "has only kappa = 1; this figure needs a kappa axis"),
        ("rate_heatmaps", ["gd", "--kappa", "10"], "one map over kappa"),
        ("rate_heatmaps", ["hb", "--kappa", "1e6"], "outside the sweep's grid"),
        ("rate_heatmaps", ["hb", "--kappa", "ten"], "expected numbers"),
        ("lr_sweep", ["gd", "--beta", "0.5"], "no momentum"),
        ("lr_sweep", ["hb", "--beta", "2"], "beta = 2 is outside"),
        ("divergence_boundary", ["nowhere"], "no such directory"),
        ("rate_heatmaps", ["."], "no _sweep.json"),
    ],
)
def test_user_errors_exit_2(sweeps, tmp_path, capsys, script, args, message):
    d = sweeps.get(args[0], tmp_path / args[0])  # "." is tmp_path: a directory, no sweep
    assert _main(script, [d, *args[1:], "--out", tmp_path]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith(f"{script}: error:")
    assert not list(tmp_path.glob("*.png"))


def test_user_error_in_a_real_process(tmp_path):
    r = _run(ROOT / "scripts" / "lr_sweep.py", tmp_path)  # a directory, but no _sweep.json
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [
        f"lr_sweep.py: error: {tmp_path}: not a fastdescent results directory (no _sweep.json)"
    ]


def test_bad_option_exits_2(sweeps, capsys):
    with pytest.raises(SystemExit) as exc:
        _main("lr_sweep", [sweeps["hb"], "--format", "gif"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'gif'" in err


def test_iso_rate_labels_are_upright_and_inside_their_panel(sweeps):
    """Contour labels are horizontal (never upside down along a near-vertical contour)
    and lie at least 7 % of the panel inside its frame (never clipped)."""
    n_labels = 0
    for fig in _all_figures(sweeps)[::4]:  # the rate heatmaps of hb, nag, gd
        fig.canvas.draw()
        for ax in fig.axes:
            box = ax.get_window_extent()
            for t in ax.texts:
                if not t.get_text().replace(".", "").isdigit():
                    continue
                n_labels += 1
                assert t.get_rotation() == 0.0
                x, y = ax.transData.transform(t.get_position())
                fx, fy = (x - box.x0) / box.width, (y - box.y0) / box.height
                assert 0.06 <= fx <= 0.94 and 0.06 <= fy <= 0.94, (t.get_text(), fx, fy)
        plt.close(fig)
    assert n_labels >= 3


def test_steps_curves_theory_by_hand():
    """GD on lambda in [2, 6]: at eta = 0.25, rho = 0.5, so reaching 1e-20 of the start's
    gap takes ln(1e-20) / (2 ln 0.5) = 33.2 steps; at eta = 1/3, rho = 1: never (inf);
    only converged cells keep their steps."""
    import pandas as pd

    c = pd.DataFrame({
        "beta": 0.0, "kappa": 3.0, "h": [1.5, 2.0, 0.6], "lambda_min": 2.0, "lambda_max": 6.0,
        "steps": [34.0, np.nan, 90.0], "diverged": [False, True, False],
    })  # fmt: skip
    out = analysis.steps_curves(c, [0.0], [3.0], "gd", 1e-20)
    assert list(out["h"]) == [0.6, 1.5, 2.0]
    np.testing.assert_allclose(out["eta"], [0.1, 0.25, 1 / 3])
    assert out["theory"].iloc[1] == pytest.approx(math.log(1e-20) / (2 * math.log(0.5)))
    rho = 1 - 0.1 * 2  # eta = 0.1: the slow direction
    assert out["theory"].iloc[0] == pytest.approx(math.log(1e-20) / (2 * math.log(rho)))
    assert math.isinf(out["theory"].iloc[2])


# ---------------------------------------------------------------- rate heatmaps (#11 item 6)


def _heatmap(sweeps, name, edit=None, kappas=None):
    """(figure, maps) of rate_heatmaps for sweep ``name``, its rows changed by ``edit(df)``."""
    spec, df = _scripts.open_sweep(sweeps[name])
    if edit is not None:
        df = edit(df.copy())
    g = analysis.grid(df, spec)
    if spec["optimizer"] == "gd" or len(g.beta) == 1:
        maps = [analysis.rate_map(g, spec)]
    else:
        maps = [analysis.rate_map(g, spec, k) for k in (g.kappa if kappas is None else kappas)]
    vmax = analysis.colour_top(maps)
    ovs = [analysis.heatmap_overlay(spec["optimizer"], m) for m in maps]
    fig = plots.rate_heatmaps(
        maps, ovs, spec, vmax, analysis.iso_rates(vmax), analysis.decade_ticks(vmax)
    )
    fig.savefig(io.BytesIO(), format="png", dpi=50)  # lays out, makes the ticks
    return fig, maps


def _legend_entries(fig):
    leg = (
        fig.legends[0] if fig.legends else next(a.get_legend() for a in fig.axes if a.get_legend())
    )
    return {t.get_text(): h for t, h in zip(leg.get_texts(), leg.legend_handles, strict=True)}


def _colourbar_labels(fig):
    (cbar,) = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    return [t.get_text() for t in cbar.get_yticklabels() if t.get_text()]


@pytest.mark.parametrize("vmax", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 11.0, 16.0, 17.0])
def test_decade_ticks_are_few_and_distinct(vmax):
    pos, labels = analysis.decade_ticks(vmax)
    assert 2 <= len(pos) == len(labels) <= 6
    assert len(set(labels)) == len(labels)
    assert np.all(np.diff(pos) > 0) and pos[0] == 0 and pos[-1] <= vmax
    assert all(len(lab) <= 16 for lab in labels)  # no 0.9999999999999999


def test_colourbar_of_rates_next_to_one(sweeps):
    """Rates within 1e-16 of 1 stretch the colour scale to 16 decades: the colour bar
    still has at most 6 ticks, each label distinct, in units of rho."""

    def near_one(df):
        ok = df["status"] != "diverged"
        u = np.linspace(0.0, 1.0, ok.sum())
        df.loc[ok, "rate"] = 1.0 - 10.0 ** (-16.0 * u)
        return df

    fig, maps = _heatmap(sweeps, "hb", near_one)
    assert analysis.colour_top(maps) >= 15
    labels = _colourbar_labels(fig)
    assert 3 <= len(labels) <= 6 and len(set(labels)) == len(labels), labels
    assert labels[0] == "0" and "$1 - 10^{-" in labels[-1]


def test_legend_explains_no_rate_cells(sweeps):
    """Cells run, not diverged, without a rate (NaN) are hatched and in the legend;
    without such cells there is no such entry."""
    fig, maps = _heatmap(sweeps, "hb")
    assert not any(m.no_rate.any() for m in maps)
    assert not any("no rate" in t for t in _legend_entries(fig))
    plt.close(fig)

    def no_rate(df):
        df.loc[(df["beta"] < 0.3) & (df["lr"] < 1.0) & (df["status"] != "diverged"), "rate"] = (
            np.nan
        )
        return df

    fig, maps = _heatmap(sweeps, "hb", no_rate)
    assert all(m.no_rate.any() for m in maps)
    entries = _legend_entries(fig)
    (label,) = [t for t in entries if "no rate" in t]
    assert entries[label].get_hatch()
    assert entries["diverged"].get_facecolor() != entries[label].get_facecolor()
    for ax, m in zip(fig.axes, maps, strict=False):  # drawn: one hatched rectangle per run
        hatched = [c for c in ax.collections if c.get_hatch()]
        assert len(hatched) == 1 and len(hatched[0].get_paths()) == m.no_rate.any(axis=1).sum()


@pytest.mark.parametrize("name", ["gd", "hb"])
def test_optimum_and_iso_rates_look_different(sweeps, name):
    """The theory optimum (gd: a line; momentum: a star) and the measured iso-rate
    contours are both in the legend and differ in colour and line style or marker."""
    fig, _ = _heatmap(sweeps, name, kappas=[10.0, 100.0])
    entries = _legend_entries(fig)
    (opt,) = [h for t, h in entries.items() if t.startswith("theory optimum")]
    (iso,) = [h for t, h in entries.items() if "iso-rate" in t]
    assert to_hex(opt.get_color()) != to_hex(iso.get_color())
    assert to_hex(opt.get_markerfacecolor()) != to_hex(iso.get_color())
    if name == "gd":
        assert opt.get_linewidth() >= 2 * iso.get_linewidth()
        (drawn,) = [
            ln for ln in fig.axes[0].lines if to_hex(ln.get_color()) == to_hex(opt.get_color())
        ]
        assert len(drawn.get_xdata()) > 10  # h*(kappa) over the kappa range
    else:
        assert opt.get_marker() == "*" and iso.get_marker() in ("None", None, "")


def test_grid_matches_a_pandas_groupby(sweeps):
    """analysis.grid pools seeds as a plain pandas groupby does: the median of the
    non-diverged rates (NaN if all diverged), diverged if any seed did; 3 seeds with
    different rates and some diverged seeds."""
    spec, df = _scripts.open_sweep(sweeps["hb"])
    rng = np.random.default_rng(0)
    parts = []
    for seed in range(3):
        d = df.copy()
        d["seed"] = seed
        d["rate"] = d["rate"] * (1 + 0.01 * rng.standard_normal(len(d)))
        flip = rng.random(len(d)) < 0.2
        d["status"] = d["status"].astype(object).where(~flip, "diverged")
        parts.append(d)
    rows = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=1)  # any order
    g = analysis.grid(rows, spec)
    div = rows["status"] == "diverged"
    ref = (
        rows.assign(rate=rows["rate"].where(~div), diverged=div)
        .groupby(["kappa", "beta", "lr"])
        .agg(rate=("rate", "median"), diverged=("diverged", "any"), n=("rate", "size"))
    )
    k, b, l = (np.searchsorted(v, ref.index.get_level_values(i)) for i, v in
               enumerate([g.kappa, g.beta, g.lr]))  # fmt: skip
    assert len(ref) == g.rate.size == 3 * 12 * 24
    np.testing.assert_array_equal(g.rate[k, b, l], ref["rate"].to_numpy())
    np.testing.assert_array_equal(g.diverged[k, b, l], ref["diverged"].to_numpy())
    assert (g.count == 3).all() and ref["rate"].isna().any()  # some cells: every seed diverged
    # and the one-seed sweep: cells() and grid() agree cell by cell
    c = analysis.cells(df, spec)
    g1 = analysis.grid(df, spec)
    k, b, l = (np.searchsorted(v, c[n]) for v, n in
               [(g1.kappa, "kappa"), (g1.beta, "beta"), (g1.lr, "lr")])  # fmt: skip
    np.testing.assert_array_equal(g1.rate[k, b, l], c["rate"].to_numpy())
    np.testing.assert_array_equal(g1.h[k, b, l], c["h"].to_numpy())


def test_rate_heatmaps_one_kappa_beta_sweep(sweeps, tmp_path):
    """The course's x^2 + 3y^2 with momentum: one kappa (no kappa column), one panel,
    with eta itself on a top axis."""
    r = _run(ROOT / "scripts" / "rate_heatmaps.py", sweeps["course_hb"], "--out", tmp_path)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    path = tmp_path / "rate_heatmaps.png"
    assert r.stdout.splitlines() == [str(path)] and path.stat().st_size > 5000
    fig, maps = _heatmap(sweeps, "course_hb")
    assert len(maps) == 1 and maps[0].kappa == pytest.approx(3.0)
    tops = [a for a in fig.axes[0].child_axes if "η" in a.get_xlabel()]
    assert len(tops) == 1


def test_rate_heatmaps_one_beta_is_a_kappa_map(sweeps, tmp_path):
    assert _main("rate_heatmaps", [sweeps["one_beta"], "--out", tmp_path]) == 0
    assert (tmp_path / "rate_heatmaps.png").exists()
    fig, maps = _heatmap(sweeps, "one_beta")
    assert maps[0].y_name == "kappa" and maps[0].beta == 0.5
    assert fig.axes[0].get_title() == "β = 0.5"
    ov = analysis.heatmap_overlay("heavy_ball", maps[0])
    assert np.allclose(ov["limit_h"], 3.0) and np.size(ov["opt_h"]) == 0


def test_rate_heatmaps_refuses_one_kappa_gd(sweeps, tmp_path, capsys):
    assert _main("rate_heatmaps", [sweeps["course_gd"], "--out", tmp_path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs two axes" in err and "lr_sweep.py" in err
    assert not list(tmp_path.glob("*.png"))


# ---------------------------------------------------------------- learning-rate sweeps


def test_lr_sweep_no_empty_panel_and_nested_curves(sweeps):
    """3 betas in 2 columns: the fourth slot holds the legend, not an empty panel; the
    kappa curves of a panel have decreasing widths (coinciding curves stay visible, and
    the legend says so)."""
    g = runpy.run_path(str(ROOT / "scripts" / "lr_sweep.py"), run_name="fd_test")
    spec, df = _scripts.open_sweep(sweeps["nag"])
    args = argparse.Namespace(beta=None, kappa=None)
    for fig, stem in g["make"](args, spec, df):
        fig.savefig(io.BytesIO(), format="png", dpi=50)
        panels = [a for a in fig.axes if a.axison]
        assert len(panels) == 3, stem  # one per beta
        spare = [a for a in fig.axes if not a.axison]
        assert len(spare) == 1 and spare[0].get_legend() is not None
        assert not spare[0].lines and not spare[0].collections
        texts = [t.get_text() for t in spare[0].get_legend().get_texts()]
        assert any("nested" in t for t in texts), texts
        for ax in panels:
            kap = [ln for ln in ax.lines if ln.get_label().startswith("κ =")]
            assert len(kap) == 3  # kappa 1, 10, 100
            size = [ln.get_linewidth() if stem == "lr_sweep" else ln.get_markersize() for ln in kap]
            assert np.all(np.diff(size) < 0), (stem, size)
            if stem == "lr_sweep_steps":
                assert len({ln.get_marker() for ln in kap}) == 3
        plt.close(fig)
