"""Paths over contours and loss curves of chosen trajectories (fastdescent.analysis_paths,
plots_paths, scripts/paths.py, scripts/loss_curves.py).

The per-step frames come from a slow twin first: the course notebook's own loops (GD and
heavy ball on x² + 3y² from (2, −1)) written out in plain Python, in the format of
``fastdescent.load_trajectories`` (traj, step, loss, grad_norm, eta, w). Where the engine
records trajectories, the same figures end to end, and the recorded rows against the
twin.
"""

from __future__ import annotations

import math
import runpy
from argparse import Namespace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fastdescent
from fastdescent import analysis_paths as ap
from fastdescent import plots_paths as pp

ROOT = Path(__file__).resolve().parent.parent
LRS = [0.01, 0.05, 0.1, 0.2, 0.5]
BETAS = [0.0, 0.9]
STEPS = 50
SPEC = {
    "name": "course_paths_test",
    "problem": "quadratic",
    "optimizer": "heavy_ball",
    "steps": STEPS,
    "problem_params": {"lambdas": [2.0, 6.0], "start": [2.0, -1.0]},
    "axes": {"lr": {"values": LRS}, "beta": {"values": BETAS}},
}


def course_run(lr, beta, steps=STEPS, x=2.0, y=-1.0):
    """The notebook's gradient_descent_momentum on x² + 3y² (beta = 0: plain GD), with
    the loss, gradient norm and step size of every state; stops once the loss exceeds
    1e10 times the start's or falls below 1e-20 times it (the engine's stop rules)."""

    def f(x, y):
        return x * x + 3 * y * y

    rows, vx, vy, f0 = [], 0.0, 0.0, f(x, y)
    for t in range(steps + 1):
        gx, gy = 2 * x, 6 * y
        rows.append((t, f(x, y), math.hypot(gx, gy), lr, [x, y]))
        if t == steps or f(x, y) > 1e10 * f0 or f(x, y) <= 1e-20 * f0:
            break
        vx, vy = beta * vx - lr * gx, beta * vy - lr * gy
        x, y = x + vx, y + vy
    return pd.DataFrame(rows, columns=["step", "loss", "grad_norm", "eta", "w"])


@pytest.fixture(scope="module")
def twin():
    """(summary, {traj: frame}) in the grid order of SPEC (lr slowest, then beta)."""
    rows, frames = [], {}
    for i, lr in enumerate(LRS):
        for j, beta in enumerate(BETAS):
            t = i * len(BETAS) + j
            fr = course_run(lr, beta)
            fr.insert(0, "traj", t)
            frames[t] = fr
            last, first = fr["loss"].iloc[-1], fr["loss"].iloc[0]
            status = "diverged" if last > 1e10 * first else "max_steps"
            status = "converged" if last <= 1e-20 * first else status
            rows.append(
                {
                    "traj": t,
                    "lr": lr,
                    "beta": beta,
                    "eta": lr,
                    "status": status,
                    "steps": int(fr["step"].iloc[-1]),
                }
            )
    return pd.DataFrame(rows), frames


# ---- choosing and labelling


def test_parse_where_and_traj():
    assert ap.parse_where(["beta=0,0.9", "lr=0.1"]) == {"beta": [0.0, 0.9], "lr": [0.1]}
    assert ap.parse_where(["schedule=cosine,constant"]) == {"schedule": ["cosine", "constant"]}
    assert ap.parse_where(None) == {}
    for bad in ("beta", "gamma=1", "beta=", "beta=zero"):
        with pytest.raises(ValueError, match="--where"):
            ap.parse_where([bad])
    assert ap.parse_traj(["3,7", "12", "3"]) == [3, 7, 12]
    with pytest.raises(ValueError, match="--traj"):
        ap.parse_traj(["-1"])


def test_select(twin):
    summary, _ = twin
    ids, note = ap.select(summary, {"lr": [0.1]}, None, cap=8)
    assert ids.tolist() == [4, 5] and note is None
    ids, _ = ap.select(summary, {"beta": [0.0]}, None, cap=8)
    assert summary.set_index("traj").loc[ids, "beta"].eq(0.0).all() and len(ids) == 5
    ids, _ = ap.select(summary, {"lr": [0.098]}, None, cap=8)  # the nearest grid value
    assert ids.tolist() == [4, 5]
    ids, _ = ap.select(summary, {"beta": [0.9]}, [3, 4, 5], cap=8)  # both: the overlap
    assert ids.tolist() == [3, 5]
    ids, _ = ap.select(summary, None, None, cap=8, recorded=[1, 2])  # default: recorded
    assert ids.tolist() == [1, 2]
    ids, note = ap.select(summary, None, None, cap=4)  # none recorded: every row, capped
    assert ids.tolist() == [0, 3, 6, 9] and "4 of 10" in note
    with pytest.raises(ValueError, match="no kappa axis"):
        ap.select(summary, {"kappa": [1.0]}, None)
    with pytest.raises(ValueError, match="not on the sweep's grid"):
        ap.select(summary, {"lr": [3.0]}, None)
    with pytest.raises(ValueError, match="no such trajectory"):
        ap.select(summary, None, [10])


def test_labels(twin):
    summary, _ = twin
    rows = summary[summary["lr"] == 0.1]
    assert ap.varying(rows) == ["beta"]
    assert [ap.label(r, ["beta"], SPEC) for _, r in rows.iterrows()] == ["β = 0", "β = 0.9"]
    row = summary[(summary["lr"] == 0.5) & (summary["beta"] == 0.0)].iloc[0]
    assert ap.label(row, ["lr"], SPEC) == "η = 0.5 (diverged)"
    rel = {**SPEC, "axes": {"lr": {"values": [1.0], "relative_to": "lambda_max"}}}
    assert ap.value_text("lr", 1.0, rel) == "η·λmax = 1"


def test_surface_coordinates_and_floor(twin):
    _, frames = twin
    s = ap.surface(SPEC)
    assert s.text == "x² + 3y²" and s.info is None and not s.log
    assert s.f(np.array(2.0), np.array(-1.0)) == 7.0
    x, y = ap.coordinates(frames[4])
    assert (x[0], y[0]) == (2.0, -1.0) and len(x) == STEPS + 1
    assert ap.loss_floor(SPEC, None) == (0.0, "f(w_t) − f(w*) = f(w_t)")
    rosen = ap.surface({"problem": "rosenbrock", "problem_params": {}})
    assert rosen.log and rosen.minima == ((1.0, 1.0, 0.0),)
    wells = {"problem": "wells", "problem_params": {}}
    floor, text = ap.loss_floor(wells, {"basin": 1})
    assert floor == pytest.approx(-0.422924, abs=1e-6) and "where it ends" in text
    floor, text = ap.loss_floor(wells, {"basin": -1})
    assert floor == pytest.approx(-1.839507, abs=1e-6) and "lowest" in text
    assert ap.loss_floor({"problem": "linreg"}, {"loss_min": 0.01})[0] == 0.01
    kappa = {"problem": "quadratic", "problem_params": {"dim": 2}, "axes": {}}
    assert ap.surface(kappa, {"kappa": 10.0}).text == "½(x² + 10y²)"
    with pytest.raises(ValueError, match="dim = 3"):
        ap.surface({"problem": "quadratic", "problem_params": {"dim": 3}, "axes": {}})
    with pytest.raises(ValueError, match="1-D"):
        ap.surface({"problem": "quartic", "problem_params": {}})


def test_path_box_frames_the_paths_and_drops_divergence(twin):
    _, frames = twin
    s = ap.surface(SPEC)
    paths = [ap.coordinates(frames[t]) for t in (4, 5, 8)]  # 8: GD at eta = 0.5 diverges
    box = ap.path_box(paths, s, SPEC)
    assert box[0] < -1.0 and box[1] > 2.0 and box[2] < -1.0  # momentum overshoots x = 0
    assert max(abs(v) for v in box) < 20  # the diverging path is not framed
    assert np.abs(paths[2][1]).max() > 1e4


# ---- the figures, from the twin


def _panels(summary, frames, where):
    ids, _ = ap.select(summary, where, None, cap=8)
    rows = summary.set_index("traj", drop=False).loc[ids]
    named = ap.varying(rows)
    paths = []
    for _, row in rows.iterrows():
        x, y = ap.coordinates(frames[int(row["traj"])])
        paths.append({"x": x, "y": y, "label": ap.label(row, named, SPEC)})
    return [{"title": None, "paths": paths}]


def test_paths_figure_marks_start_and_end(twin):
    summary, frames = twin
    panels = _panels(summary, frames, {"lr": [0.1]})
    s = ap.surface(SPEC)
    box = ap.path_box([(p["x"], p["y"]) for p in panels[0]["paths"]], s, SPEC)
    fig = pp.paths(panels, s, box, SPEC)
    ax = fig.axes[0]
    starts = [ln for ln in ax.lines if ln.get_marker() == "o" and len(ln.get_xdata()) == 1]
    ends = [ln for ln in ax.lines if ln.get_marker() == "*" and ln.get_markerfacecolor() != "white"]
    assert len(starts) == 1 and starts[0].get_xdata()[0] == 2.0  # shared: one, white
    assert starts[0].get_markerfacecolor() == "white"
    assert len(ends) == 2  # (the minimum's star is white)
    last = [ap.coordinates(frames[t])[0][-1] for t in (4, 5)]
    assert sorted(ln.get_xdata()[0] for ln in ends) == sorted(last)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]  # one panel: one legend
    assert texts[:4] == ["β = 0", "β = 0.9", "start", "end"]
    assert "x² + 3y²" in fig._suptitle.get_text()
    assert ax.get_xlabel() and ax.get_ylabel()


def test_paths_figure_of_the_lr_sweep_says_which_leave_the_frame(twin):
    summary, frames = twin
    panels = _panels(summary, frames, {"beta": [0.0]})
    s = ap.surface(SPEC)
    box = ap.path_box([(p["x"], p["y"]) for p in panels[0]["paths"]], s, SPEC)
    fig = pp.paths(panels, s, box, SPEC)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts[4] == "η = 0.5 (diverged) — leaves the frame"
    assert texts[0] == "η = 0.01"


def test_loss_curves_figure(twin):
    summary, frames = twin
    curves = []
    for t in (0, 4, 8):
        fr = frames[t]
        row = summary.iloc[t]
        curves.append(
            {
                "step": fr["step"],
                "loss": fr["loss"],
                "grad_norm": fr["grad_norm"],
                "eta": fr["eta"],
                "label": ap.label(row, ["lr"], SPEC),
            }
        )
    fig = pp.loss_curves(curves, SPEC, "f(w_t)")
    assert len(fig.axes) == 2  # no schedule: no eta_t panel
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    assert [len(ax.lines) for ax in fig.axes] == [3, 3]
    # GD at eta = 0.1 contracts f by (1 - 0.2)^2 per step along x
    y = fig.axes[0].lines[1].get_ydata()
    assert y[30] / y[29] == pytest.approx(0.64, rel=1e-3)
    curves[0]["eta"] = np.linspace(0.01, 0.001, len(curves[0]["step"]))
    curves[0]["eta"][-1] = np.nan  # the final state: no update
    assert len(pp.loss_curves(curves, SPEC, "f(w_t)").axes) == 3


# ---- the scripts (frames from the twin, then the engine)


def _script(name):
    return runpy.run_path(str(ROOT / "scripts" / f"{name}.py"), run_name="fd_test")


def _args(**kw):
    base = {
        "dir": "unused",
        "where": None,
        "traj": None,
        "max": 12,
        "panel_by": None,
        "stem": "paths",
        "raw": False,
        "three_d": False,
    }
    return Namespace(**{**base, **kw})


def test_scripts_draw_the_twin(twin, monkeypatch):
    summary, frames = twin
    monkeypatch.setattr(ap, "recorded_ids", lambda d: np.arange(10))
    monkeypatch.setattr(ap, "frames", lambda d, ids, rec=(): {int(i): frames[int(i)] for i in ids})
    figs = _script("paths")["make"](_args(), SPEC, summary)
    fig = figs[0][0]
    assert [a.get_title() for a in fig.axes] == ["β = 0", "β = 0.9"]  # panel by beta
    assert len(fig.axes[0].get_legend().get_texts()) == 5  # all 10 (at most 12)
    figs = _script("paths")["make"](_args(max=4), SPEC, summary)
    assert "4 of 10 trajectories shown" in figs[0][0]._suptitle.get_text()
    figs = _script("loss_curves")["make"](_args(where=["lr=0.1"], stem="lc"), SPEC, summary)
    assert figs[0][1] == "lc"
    assert [t.get_text() for t in figs[0][0].legends[0].get_texts()] == ["β = 0", "β = 0.9"]
    with pytest.raises(Exception, match="not on the sweep's grid"):
        _script("paths")["make"](_args(where=["lr=9"]), SPEC, summary)


def test_scripts_refuse_bad_choices(tmp_path, capsys):
    for name in ("paths", "loss_curves"):
        main = _script(name)["main"]
        assert main([str(tmp_path / "missing")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"{name}.py: error:") and err.count("\n") == 1


needs_recording = pytest.mark.skipif(
    not hasattr(fastdescent, "load_trajectories"), reason="trajectory recording not built yet"
)


@needs_recording
def test_engine_records_the_course_paths(twin, tmp_path):
    """The engine's recorded rows against the notebook's loops, then both scripts."""
    _, frames = twin
    out = tmp_path / "course"
    fastdescent.run({**SPEC, "record": {"every": 1}}, out=out, progress=False)
    rec = fastdescent.load_trajectories(out)
    assert sorted(rec["traj"].unique()) == list(range(10))
    for t, fr in frames.items():
        got = rec[rec["traj"] == t].sort_values("step")
        assert got["step"].tolist() == fr["step"].tolist()
        x, y = ap.coordinates(got)
        tx, ty = ap.coordinates(fr)
        assert np.allclose(x, tx, rtol=1e-12, atol=1e-300)
        assert np.allclose(y, ty, rtol=1e-12, atol=1e-300)
        assert np.allclose(got["loss"], fr["loss"], rtol=1e-12)
    figs = tmp_path / "figs"
    for name, extra in (("paths", ["--where", "lr=0.1"]), ("loss_curves", ["--traj", "4,5"])):
        assert _script(name)["main"]([str(out), "--out", str(figs), *extra]) == 0
    assert (figs / "paths.png").stat().st_size > 10_000
    assert (figs / "loss_curves.png").stat().st_size > 10_000


@needs_recording
def test_engine_replays_what_was_not_recorded(tmp_path):
    out = tmp_path / "course"
    spec = {**SPEC, "record": {"every": 1, "where": {"beta": [0.9]}}}
    fastdescent.run(spec, out=out, progress=False)
    recorded = ap.recorded_ids(out)
    assert len(recorded) == 5
    data = ap.frames(out, [0, 1], recorded)  # 0: beta = 0, replayed; 1: recorded
    ref = course_run(0.01, 0.0)
    assert np.allclose(ap.coordinates(data[0])[0], ap.coordinates(ref)[0], rtol=1e-12)
    assert len(data[1]) == STEPS + 1


def test_titles_formulas_and_the_zoom_on_clustered_ends():
    rosen = {
        "name": "r",
        "problem": "rosenbrock",
        "optimizer": "gd",
        "steps": 100,
        "problem_params": {},
        "axes": {"lr": {"values": [0.001, 0.002]}},
    }
    s = ap.surface(rosen)
    assert s.text == "(1 − x)² + 100(y − x²)²"
    rows = pd.DataFrame({"traj": [0, 1], "lr": [0.001, 0.002]})
    assert ap.fixed_text(rows.iloc[:1], rosen) == "η = 0.001"
    assert ap.fixed_text(rows, rosen) == ""
    t = np.linspace(0, 1, 200)
    paths = [
        {"x": -1 + (2 - e) * t, "y": (-1 + (2 - e) * t) ** 2, "label": f"e = {e}"}
        for e in (0.0, 0.01, 0.03)
    ]
    box = ap.path_box([(p["x"], p["y"]) for p in paths], s, rosen)
    assert box == s.info.region()  # the course's frame
    fig = pp.paths([{"title": None, "paths": paths}], s, box, rosen)
    assert len(fig.axes[0].child_axes) == 1  # the ends lie within 6 % of the frame
    far = [{**p, "x": p["x"] * (1 - k * 0.3)} for k, p in enumerate(paths)]
    assert not pp.paths([{"title": None, "paths": far}], s, box, rosen).axes[0].child_axes


@needs_recording
def test_engine_kappa_sweep_gets_a_panel_per_kappa(tmp_path):
    """A quadratic sweep over kappa: one panel per kappa, each with its own contours."""
    spec = {
        "name": "kappa_paths",
        "problem": "quadratic",
        "optimizer": "gd",
        "steps": 40,
        "problem_params": {"dim": 2, "start": [2.0, -1.0]},
        "record": {"every": 1},
        "axes": {
            "lr": {"values": [0.5, 1.0], "relative_to": "lambda_max"},
            "kappa": {"values": [3.0, 30.0]},
        },
    }
    out = tmp_path / "kappa"
    fastdescent.run(spec, out=out, progress=False)
    summary = fastdescent.load(out)
    figs = _script("paths")["make"](
        _args(dir=str(out)), fastdescent.parse_spec(spec).to_dict(), summary
    )
    fig = figs[0][0]
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles == ["κ = 3:  f = ½(x² + 3y²)", "κ = 30:  f = ½(x² + 30y²)"]
    assert "½(x² + κy²)" in fig._suptitle.get_text()
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts[:2] == ["η·λmax = 0.5", "η·λmax = 1"]


def test_three_d_surface_lifts_the_paths_onto_f(twin, monkeypatch):
    """--3d (the notebook's 3-D exercise): one panel; each path drawn at (x, y, f(x, y));
    runs that would need several panels are refused with the axis to choose."""
    summary, frames = twin
    monkeypatch.setattr(ap, "recorded_ids", lambda d: np.arange(10))
    monkeypatch.setattr(ap, "frames", lambda d, ids, rec=(): {int(i): frames[int(i)] for i in ids})
    make = _script("paths")["make"]
    fig, stem = make(_args(where=["lr=0.1"], three_d=True, stem="s3d"), SPEC, summary)[0]
    assert stem == "s3d"
    ax = fig.axes[0]
    assert ax.name == "3d"
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 1]
    assert len(lines) == 2  # beta 0 and 0.9 at eta = 0.1
    for ln in lines:
        x, y = np.asarray(ln.get_xdata()), np.asarray(ln.get_ydata())
        z = np.asarray(ln.get_data_3d()[2])
        np.testing.assert_allclose(z, x**2 + 3 * y**2, rtol=1e-12)  # on the surface
    with pytest.raises(Exception, match="--where beta=V"):
        make(_args(three_d=True, panel_by="beta"), SPEC, summary)
