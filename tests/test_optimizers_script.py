"""Comparing optimizers (``fastdescent.analysis_optimizers``, ``scripts/optimizers.py``).

Theory's steps at the optimal tuning against the closed forms derived in the module's
docstring (gd: rho*^(2t); heavy ball and Nesterov's double roots: (1 + (1 -+ rho*) t)
rho*^t) and against a slow loop of the update rules; the engine's run at exactly theory's
tuning takes exactly those steps; the best-per-kappa and map tables against hand-built
frames; Adam's scale-free step (its steps do not depend on kappa from equal starts); the
command line end to end on tiny sweeps (quadratics; full-batch linreg, the rotated
quadratic, drawn apart, its theory from the data set's spectrum and z0 = V^T (start -
w_hat); and Adam / RMSProp maps on Rosenbrock: the stalled-at-the-edge marks against
precond_sharpness / adaptive_edge) and its error messages.
"""

from __future__ import annotations

import json
import math
import runpy
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

import fastdescent
from fastdescent import analysis_optimizers as ao
from fastdescent import theory

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "optimizers.py"
TOL = 1e-6


def _endpoints(kappas):
    k = np.asarray(kappas, np.float64)
    return np.stack([np.ones_like(k), k], axis=1)


def _run(tmp_path, name, optimizer, axes, steps=400, params=None, tol=TOL, chunk_size=None):
    spec = {
        "name": name, "problem": "quadratic", "optimizer": optimizer, "steps": steps,
        "problem_params": params or {"dim": 2, "spectrum": "endpoints", "start": [1.0, 0.6]},
        "stop": {"tol": tol}, "axes": axes,
    }  # fmt: skip
    out = tmp_path / name
    fastdescent.run(spec, out=out, progress=False, chunk_size=chunk_size)
    return out


# ------------------------------------------------------------------------------ theory


@pytest.mark.parametrize("kappa", [2.0, 10.0, 100.0, 1000.0])
def test_gd_optimal_steps_is_the_closed_form(kappa):
    """At eta* both endpoint directions contract by exactly rho*: t* = ceil(ln tol / (2
    ln rho*)), whatever the start."""
    rho = (kappa - 1) / (kappa + 1)
    want = math.ceil(math.log(TOL) / (2 * math.log(rho)))
    for start in ([1.0, 1.0], [0.3, 2.0]):
        got = ao.optimal_steps("gd", _endpoints([kappa]), start, TOL)[0]
        assert got in (want, want + 1)  # + 1: rho^(2t) == tol to rounding
    assert ao.optimal_steps("gd", _endpoints([kappa]), [1.0, 1.0], TOL)[0] == want


@pytest.mark.parametrize("kappa", [4.0, 50.0, 1000.0])
def test_heavy_ball_optimal_steps_is_the_double_root_closed_form(kappa):
    """r_t = rho^(2t) (mu a^2 (1 + (1 - rho) t)^2 + L b^2 (1 + (1 + rho) t)^2) / (mu a^2 +
    L b^2), first t <= tol; a third more steps than ln tol / (2 ln rho) at kappa = 1e3."""
    a, b = 0.7, 1.3
    rho = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    t = np.arange(100_000)
    r = rho ** (2 * t) * ((1 + (1 - rho) * t) ** 2 + kappa * b * b / (a * a) *
                          (1 + (1 + rho) * t) ** 2) / (1 + kappa * b * b / (a * a))  # fmt: skip
    want = int(np.argmax(r <= TOL))
    assert ao.optimal_steps("heavy_ball", _endpoints([kappa]), [a, b], TOL)[0] == want
    law = math.log(TOL) / (2 * math.log(rho))
    if kappa == 1000.0:
        assert want > 1.3 * law


def test_nesterov_slow_direction_is_a_double_root():
    """At Nesterov's optimum the lambda = mu direction follows (1 + (1 - rho) t) rho^t."""
    kappa = 300.0
    eta, beta, rho = theory.optimal("nesterov", 1.0, kappa)
    r = ao.loss_ratios("nesterov", eta, beta, [[1.0]], [1.0], 400)[0]
    t = np.arange(401)
    np.testing.assert_allclose(r, ((1 + (1 - rho) * t) * rho**t) ** 2, rtol=1e-9)


@pytest.mark.parametrize("optimizer", ["gd", "heavy_ball", "nesterov"])
def test_loss_ratios_match_a_slow_loop_of_the_updates(optimizer):
    lam = np.array([[1.0, 3.0, 40.0]])
    start = np.array([1.0, -0.5, 0.25])
    eta, beta = 0.03, (0.0 if optimizer == "gd" else 0.6)
    w, v = start.copy(), np.zeros(3)
    want = []
    for _ in range(61):
        want.append((lam[0] * w * w).sum() / (lam[0] * start * start).sum())
        look = w + beta * v if optimizer == "nesterov" else w
        v = beta * v - eta * lam[0] * look
        w = w + v
    got = ao.loss_ratios(optimizer, eta, None if optimizer == "gd" else beta, lam, start, 60)
    np.testing.assert_allclose(got[0], want, rtol=1e-12)


def test_engine_at_theory_tuning_takes_theory_steps(tmp_path):
    """The engine at exactly eta* (gd) and (eta*, beta*) (heavy ball) takes optimal_steps
    steps, and the best point of a grid holding that tuning takes no more."""
    kappas = [3.0, 30.0, 300.0]
    lam = _endpoints(kappas)
    start = [1.0, 0.6]
    for opt in ("gd", "heavy_ball"):
        eta, beta, _ = theory.optimal(opt, lam[:, 0], lam[:, 1])
        axes = {"lr": {"values": list(eta * lam[:, 1]), "relative_to": "lambda_max"},
                "kappa": {"values": kappas}}  # fmt: skip
        if opt == "heavy_ball":
            axes["beta"] = {"values": list(beta)}
        df = fastdescent.load(_run(tmp_path, opt, opt, axes, steps=3000))
        want = ao.optimal_steps(opt, lam, start, TOL)
        best = ao.best_per_kappa(df)
        for i, k in enumerate(kappas):
            at = (df["kappa"] == k) & np.isclose(df["eta"], eta[i], rtol=1e-14)
            if opt == "heavy_ball":
                at &= np.isclose(df["beta"], beta[i], rtol=1e-14)
            row = df[at]
            assert len(row) == 1 and row["status"].iloc[0] == "converged"
            assert abs(int(row["steps"].iloc[0]) - want[i]) <= 1, (opt, k)
            assert best["steps"].iloc[i] <= row["steps"].iloc[0]


# ------------------------------------------------------------------------------ tables


def _frame(rows):
    cols = ["kappa", "lr", "status", "steps", "final_loss"]
    df = pd.DataFrame(rows, columns=cols)
    return df.assign(lambda_min=1.0, lambda_max=df["kappa"], loss0=2.0, eta=df["lr"])


def test_best_per_kappa_by_hand():
    df = _frame([
        (10.0, 0.1, "converged", 50, 1e-7), (10.0, 0.2, "converged", 30, 1.5e-6),
        (10.0, 0.3, "converged", 30, 1e-6), (10.0, 0.4, "diverged", 3, np.inf),
        (100.0, 0.1, "max_steps", 400, 0.02), (100.0, 0.2, "max_steps", 400, 0.004),
        (100.0, 0.3, "diverged", 5, np.inf),
        (1000.0, 0.1, "diverged", 4, np.inf), (1000.0, 0.2, "diverged", 2, np.inf),
    ])  # fmt: skip
    best = ao.best_per_kappa(df)
    assert best["kappa"].tolist() == [10.0, 100.0, 1000.0]
    assert best["metric"].tolist() == ["steps", "final_loss", "diverged"]
    assert best["steps"].iloc[0] == 30 and best["lr"].iloc[0] == 0.3  # the tie: lower loss
    assert best["loss_ratio"].iloc[0] == pytest.approx(0.5e-6)
    assert np.isnan(best["steps"].iloc[1]) and best["lr"].iloc[1] == 0.2
    assert best["loss_ratio"].iloc[1] == pytest.approx(0.002)
    assert best["n_converged"].tolist() == [3, 0, 0] and best["n"].tolist() == [4, 3, 2]


def test_map_table_and_edge_ratio_by_hand():
    rows = []
    for lr in (0.01, 0.1):
        for b in (0.0, 0.9):
            rows.append({"lr": lr, "eta": lr, "beta": b, "kappa": 100.0, "lambda_min": 2.0,
                         "lambda_max": 200.0, "loss0": 4.0, "status": "max_steps",
                         "steps": 500, "final_loss": 4e-3, "precond_sharpness": 1.0})  # fmt: skip
    df = pd.DataFrame(rows)
    df.loc[0, ["status", "steps", "final_loss"]] = ["converged", 123, 4e-7]
    df.loc[3, ["status", "final_loss"]] = ["diverged", np.inf]
    loss = ao.map_table(df, "lr", "beta", "log_loss")
    assert loss.shape == (2, 2) and loss.attrs["kappa"] == 100.0
    assert loss.loc[0.0, 0.01] == pytest.approx(-7) and loss.loc[0.9, 0.01] == pytest.approx(-3)
    assert np.isposinf(loss.loc[0.9, 0.1])
    steps = ao.map_table(df, "lr", "beta", "steps")
    assert steps.loc[0.0, 0.01] == 123 and steps.isna().sum().sum() == 3
    edge = ao.map_table(df, "lr", "beta", "edge", optimizer="adam")
    # a* = 2 (1 + beta) / ((1 - beta) eta): 200 at (0.01, 0), 38 / 0.01 = 3800 at beta 0.9
    assert edge.loc[0.9, 0.01] == pytest.approx(1 / 3800) and edge.loc[0.0, 0.1] == 0.05
    assert np.isnan(edge.loc[0.0, 0.01]) and np.isnan(edge.loc[0.9, 0.1])
    with pytest.raises(ValueError, match="beta2 also vary"):
        ao.map_table(pd.concat([df, df.assign(beta2=0.9)]).fillna({"beta2": 0.99}), "lr",
                     "beta", "steps")  # fmt: skip


def test_map_table_on_a_landscape_by_hand():
    """No kappa on a landscape; log_loss is log10(f - f_min); diverged and escaped (left
    the radius) are +inf; a run a hair below f_min (rounding) is -inf, not NaN; a varying
    start point refuses the map."""
    rows = [{"lr": lr, "eta": lr, "beta": b, "loss0": 4.0, "status": "max_steps",
             "steps": 50, "final_loss": -1.0 + 10.0**-lr_i, "precond_sharpness": 2.0}
            for lr_i, lr in enumerate((0.1, 1.0)) for b in (0.0, 0.5)]  # fmt: skip
    df = pd.DataFrame(rows)
    df.loc[1, ["status", "steps"]] = ["converged", 20]
    df.loc[2, ["status", "final_loss"]] = ["escaped", -0.5]
    df.loc[3, ["status", "final_loss"]] = ["max_steps", -1.0 - 1e-15]
    loss = ao.map_table(df, "lr", "beta", "log_loss", f_min=-1.0)
    assert np.isnan(loss.attrs["kappa"]) and loss.attrs["n"] == 4
    assert loss.loc[0.0, 0.1] == pytest.approx(0.0) and loss.loc[0.5, 0.1] == pytest.approx(0.0)
    assert np.isposinf(loss.loc[0.0, 1.0]) and np.isneginf(loss.loc[0.5, 1.0])
    steps = ao.map_table(df, "lr", "beta", "steps")
    assert steps.loc[0.5, 0.1] == 20 and steps.isna().sum().sum() == 3
    edge = ao.map_table(df, "lr", "beta", "edge", optimizer="rmsprop")
    # RMSProp's edge 2 (1 + mu) / eta: 20 at (0.1, 0), 3 at (1.0, 0.5); escaped: NaN
    assert edge.loc[0.0, 0.1] == pytest.approx(0.1) and edge.loc[0.5, 1.0] == pytest.approx(2 / 3)
    assert np.isnan(edge.loc[0.0, 1.0]) and np.isnan(edge.loc[0.5, 0.1])
    with pytest.raises(ValueError, match="x0 also vary"):
        ao.map_table(pd.concat([df.assign(x0=0.0), df.assign(x0=1.0)]), "lr", "beta", "steps")


def test_hyper_maps_loss_scale_spans_the_runs_that_did_not_converge():
    """The left panel's colour scale is that of the runs that ran out of steps (integer
    bounds), not pinned at the tolerance by the converged ones, which are one flat colour."""
    from fastdescent import plots_optimizers as po

    lr, beta = [0.01, 0.1, 1.0], [0.0, 0.5, 0.9]
    loss = pd.DataFrame(-6.5, index=beta, columns=lr)
    loss.loc[0.0, 1.0], loss.loc[0.5, 1.0], loss.loc[0.9, 0.01] = -3.2, 0.4, np.inf
    steps = pd.DataFrame(40.0, index=beta, columns=lr)
    steps.loc[0.0, 1.0] = steps.loc[0.5, 1.0] = steps.loc[0.9, 0.01] = np.nan
    edge = pd.DataFrame(np.nan, index=beta, columns=lr)
    edge.loc[0.0, 1.0] = 1.1
    fig = po.hyper_maps(loss, steps, edge, "beta", "t", TOL)
    left = fig.axes[0]
    mesh = left.collections[0]
    assert (mesh.norm.vmin, mesh.norm.vmax) == (-4.0, 1.0)
    assert int((~np.ma.getmaskarray(mesh.get_array())).sum()) == 2  # the two ran out
    dots = [line for line in left.lines if line.get_marker() == "."]
    assert len(dots) == 1 and list(dots[0].get_xdata()) == [1.0]


def test_adam_steps_do_not_depend_on_kappa_from_equal_starts(tmp_path):
    """Adam's step is scale-free per coordinate: from w0 = (1, 1) on diag(1, kappa) both
    coordinates follow one path whatever kappa, so f / f0 = w(t)^2 and the status and steps
    of every (lr, beta1) are the same at every kappa (eps = 1e-8 aside), while gd's grow."""
    axes = {"lr": {"start": 0.01, "stop": 1.0, "num": 8, "scale": "log"},
            "beta": {"values": [0.0, 0.9]}, "kappa": {"values": [1.0, 30.0, 1000.0]}}  # fmt: skip
    params = {"dim": 2, "spectrum": "endpoints"}
    df = fastdescent.load(_run(tmp_path, "adam", "adam", axes, steps=600, params=params))
    wide = df.pivot_table(index=["lr", "beta"], columns="kappa", values="steps")
    assert (wide.nunique(axis=1) == 1).mean() >= 0.9, wide
    best = ao.best_per_kappa(df)
    assert (best["metric"] == "steps").all() and best["steps"].nunique() == 1
    assert (best["lr"] == best["lr"].iloc[0]).all()
    gd = ao.optimal_steps("gd", _endpoints([1.0, 30.0, 1000.0]), [1.0, 1.0], TOL)
    assert gd[2] > 50 * best["steps"].iloc[2] and gd[0] == 1


# ------------------------------------------------------------------------ command line


def _main(*args):
    main = runpy.run_path(str(SCRIPT), run_name="fd_test")["main"]
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("optimizers")
    kappa = {"kappa": {"values": [1.0, 10.0, 100.0]}}
    lr = {"start": 0.5, "stop": 2.2, "num": 12, "relative_to": "lambda_max"}
    log_lr = {"start": 1e-3, "stop": 1.0, "num": 6, "scale": "log"}
    hb = {"lr": dict(lr, stop=4.0), "beta": {"start": 0.0, "stop": 0.9, "num": 6}, **kappa}
    ravine = {"lr": log_lr, "beta": {"start": 0.0, "stop": 0.9, "num": 4}}
    ravine_params = {"lambdas": [2.0, 200.0], "start": [2.0, -1.0]}
    return {
        "gd": _run(tmp, "gd", "gd", {"lr": lr, **kappa}, steps=800),
        "hb": _run(tmp, "hb", "heavy_ball", hb),
        "rmsprop": _run(tmp, "rmsprop", "rmsprop", {"lr": log_lr, **kappa}),
        "ravine": _run(tmp, "ravine", "adam", ravine, steps=300, params=ravine_params),
    }


def test_cli_draws_both_figures_and_prints_the_summary(sweeps, tmp_path, capsys):
    figs = tmp_path / "figs"
    assert _main(*sweeps.values(), "--out", figs) == 0
    out = capsys.readouterr().out
    for stem in ("steps_vs_kappa", "maps_ravine"):
        image = matplotlib.image.imread(figs / f"{stem}.png")
        assert image.shape[0] > 300 and image.shape[1] > 600
    assert "theory t*" in out and "ravine" in out and "rmsprop" in out
    gd = [line.split() for line in out.splitlines() if line.split()[:1] == ["gd"]]
    assert [g[1] for g in gd] == ["1", "10", "100"]
    lam = _endpoints([1.0, 10.0, 100.0])
    theory_steps = ao.optimal_steps("gd", lam, [1.0, 0.6], TOL)
    assert [int(g[4]) for g in gd] == theory_steps.astype(int).tolist()


def _error(capsys, *args):
    assert _main(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith("optimizers.py: error: ") and len(err.splitlines()) == 1
    return err


def test_cli_errors(sweeps, tmp_path, capsys):
    assert "no such directory" in _error(capsys, tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    assert "not a fastdescent results directory" in _error(capsys, tmp_path / "empty")
    # an unfinished sweep: its manifest lists one chunk of two as done
    axes = {"lr": {"start": 0.5, "stop": 2.0, "num": 8, "relative_to": "lambda_max"},
            "kappa": {"values": [1.0, 10.0]}}  # fmt: skip
    part = _run(tmp_path, "part", "gd", axes, chunk_size=8)
    manifest = json.loads((part / "_sweep.json").read_text())
    assert manifest["n_chunks"] == 2
    manifest.update(chunks_done=[0], complete=False)
    (part / "_sweep.json").write_text(json.dumps(manifest))
    err = _error(capsys, part)
    assert "part" in err and "incomplete" in err.lower()
    land = tmp_path / "rosen"
    fastdescent.run({"name": "rosen", "problem": "rosenbrock", "optimizer": "gd", "steps": 10,
                     "axes": {"lr": {"values": [1e-3]}}}, out=land, progress=False)  # fmt: skip
    err = _error(capsys, land)
    assert "'rosenbrock'" in err and "needs sweeps on 'quadratic'" in err
    assert "only the maps of adam / rmsprop sweeps" in err
    other = _run(tmp_path, "loose", "gd", {"lr": {"values": [1.0], "relative_to": "lambda_max"},
                 "kappa": {"values": [1.0, 10.0]}}, tol=1e-3)  # fmt: skip
    err = _error(capsys, sweeps["gd"], other)
    assert "different tolerances" in err and "loose: 0.001" in err and "gd: 1e-06" in err
    # a gd sweep on the ravine alone: one kappa, no map
    single = _run(tmp_path, "single", "gd", {"lr": {"values": [0.5, 1.0],
                  "relative_to": "lambda_max"}}, params={"lambdas": [2.0, 200.0]})  # fmt: skip
    assert "nothing to draw" in _error(capsys, single)


# ----------------------------------------------------------- linreg: the rotated quadratic

LINREG_KAPPAS = [1.0, 10.0, 100.0]
#: 4 directions, lambda = kappa^(i/3); label noise 0.1 (the default): w_hat, hence
#: z0 = V^T (start - w_hat), changes with kappa; start 0 (the default)
LINREG_PARAMS = {"n": 32, "dim": 4, "spectrum": "log"}


def _linreg(tmp_path, name, optimizer, axes, steps=600, params=None, tol=TOL):
    spec = {"name": name, "problem": "linreg", "optimizer": optimizer, "steps": steps,
            "problem_params": params or LINREG_PARAMS, "stop": {"tol": tol},
            "axes": axes}  # fmt: skip
    out = tmp_path / name
    fastdescent.run(spec, out=out, progress=False)
    return out


def _gd_optimal_lrs(kappas):
    """gd's eta* lambda_max = 2 kappa / (kappa + 1) at each kappa: lr values on the grid."""
    return [2 * k / (k + 1) for k in kappas]


@pytest.fixture(scope="module")
def linreg_sweeps(tmp_path_factory):
    """Full-batch linreg: gd on a grid holding eta* at each kappa, Adam over (lr, beta1)."""
    tmp = tmp_path_factory.mktemp("linreg")
    kappa = {"kappa": {"values": LINREG_KAPPAS}}
    lrs = sorted({0.8, 1.5, *_gd_optimal_lrs(LINREG_KAPPAS)})
    return {
        "gd": _linreg(tmp, "lr_gd", "gd", {"lr": {"values": lrs, "relative_to": "lambda_max"},
                                           **kappa}),
        "adam": _linreg(tmp, "lr_adam", "adam", {
            "lr": {"start": 0.01, "stop": 1.0, "num": 6, "scale": "log"},
            "beta": {"values": [0.0, 0.9]}, **kappa}),
    }  # fmt: skip


def _section(out, heading):
    """The printed summary's rows under ``heading`` (split into words)."""
    block = next(b for b in out.split("\n\n") if b.startswith(heading + ":"))
    return [line.split() for line in block.splitlines()[2:]]


def _z0(kappa, params):
    """The data set's eigenvalues and z0 = V^T (start - w_hat), from its own arrays."""
    from fastdescent.problems import linreg

    p = linreg.normalise_params(params, "problem_params")
    ds = linreg.dataset(kappa, p)
    return ds.lambdas, ds.V.T @ (np.asarray(p["start"]) - ds.w_hat)


def test_linreg_theory_is_optimal_steps_on_the_data_set(linreg_sweeps, tmp_path, capsys):
    """The linreg summary's theory t* for gd is optimal_steps on the data set's lambdas and
    z0 (which moves with kappa here: label noise); the engine's run at exactly eta* takes
    those steps (+- 1); the best on the grid takes no more; the figure is its own."""
    figs = tmp_path / "figs"
    assert _main(*linreg_sweeps.values(), "--out", figs) == 0
    out = capsys.readouterr().out
    assert (figs / "steps_vs_kappa_linreg.png").exists()
    assert not (figs / "steps_vs_kappa.png").exists()
    assert "Diagonal quadratic:" not in out
    rows = [r for r in _section(out, "Rotated quadratic (linreg, full batch)") if r[0] == "lr_gd"]
    assert [float(r[1]) for r in rows] == LINREG_KAPPAS
    z0s = [_z0(k, LINREG_PARAMS)[1] for k in LINREG_KAPPAS]
    assert not np.allclose(z0s[1], z0s[2])  # the noise moves w_hat with the spectrum
    df = fastdescent.load(linreg_sweeps["gd"])
    best = ao.best_per_kappa(df)
    for i, (k, row) in enumerate(zip(LINREG_KAPPAS, rows, strict=True)):
        lam, z0 = _z0(k, LINREG_PARAMS)
        want = ao.optimal_steps("gd", lam[None], z0, TOL)[0]
        assert int(row[4]) == want, (k, row)
        at = (df["kappa"] == k) & np.isclose(df["lr"], _gd_optimal_lrs([k])[0], rtol=1e-14)
        run = df[at]
        assert len(run) == 1 and run["status"].iloc[0] == "converged"
        assert abs(int(run["steps"].iloc[0]) - want) <= 1, (k, int(run["steps"].iloc[0]), want)
        assert best["steps"].iloc[i] <= run["steps"].iloc[0]
        assert int(row[2]) == best["steps"].iloc[i]


def test_linreg_and_quadratic_sweeps_are_drawn_apart(sweeps, linreg_sweeps, tmp_path):
    """One figure per problem, each with only its own sweeps' curves and title; the
    summary in two sections."""
    import argparse

    make = runpy.run_path(str(SCRIPT), run_name="fd_test")["make"]
    opened = runpy.run_path(str(SCRIPT), run_name="fd_test")["open_sweep"]
    dirs = [sweeps["gd"], linreg_sweeps["gd"], sweeps["rmsprop"], linreg_sweeps["adam"]]
    figures, text = make(argparse.Namespace(kappa=None),
                         [(d, *opened(d)) for d in dirs])  # fmt: skip
    figs = dict((stem, fig) for fig, stem in figures)
    assert set(figs) == {"steps_vs_kappa", "steps_vs_kappa_linreg"}
    for stem, heading, want in (("steps_vs_kappa", "Diagonal quadratic", {"GD", "RMSProp"}),
                                ("steps_vs_kappa_linreg", "Rotated quadratic (linreg, full "
                                 "batch)", {"GD", "Adam"})):  # fmt: skip
        fig = figs[stem]
        assert fig._suptitle.get_text().startswith(heading)
        labels = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
        assert {x for x in labels if not x.startswith(("theory", "no run"))} == want
    diag = _section(text, "Diagonal quadratic")
    rot = _section(text, "Rotated quadratic (linreg, full batch)")
    assert {r[0] for r in diag} == {"gd", "rmsprop"} and {r[0] for r in rot} == {"lr_gd", "lr_adam"}


def test_linreg_excess_loss_ratio(linreg_sweeps):
    """On linreg the tables' f0 and final loss are the excess f - f(w_hat): every converged
    run's ratio is <= tol (the stop rule's), which the mean squared error's is not."""
    opened = runpy.run_path(str(SCRIPT), run_name="fd_test")["open_sweep"]
    _, df = opened(linreg_sweeps["gd"])
    raw = fastdescent.load(linreg_sweeps["gd"])
    conv = (df["status"] == "converged").to_numpy()
    assert conv.sum() > 3
    assert (df["final_loss"][conv] / df["loss0"][conv] <= TOL).all()
    assert (raw["final_loss"][conv] / raw["loss0"][conv] > 10 * TOL).all()  # f(w_hat) > 0


def test_linreg_errors(sweeps, linreg_sweeps, tmp_path, capsys):
    axes = {"lr": {"values": [0.5, 1.0], "relative_to": "lambda_max"},
            "kappa": {"values": [1.0, 10.0]}}  # fmt: skip
    mini = _linreg(tmp_path, "mini", "gd", {**axes, "batch_size": {"values": [4, 8]}}, steps=20)
    err = _error(capsys, linreg_sweeps["gd"], mini)
    assert "'mini' is mini-batch linreg" in err and "batch_size" in err
    noisy = _linreg(tmp_path, "noisy", "gd", {**axes, "sigma": {"values": [0.0, 0.1]}}, steps=20)
    err = _error(capsys, noisy)
    assert "'noisy' has gradient noise" in err
    loose = _linreg(tmp_path, "loose", "gd", axes, steps=20, tol=1e-3)
    err = _error(capsys, sweeps["gd"], loose)
    assert "different tolerances" in err and "loose: 0.001" in err


def _landscape(tmp_path, name, optimizer, axes, steps=400, stop=None):
    spec = {"name": name, "problem": "rosenbrock", "optimizer": optimizer, "steps": steps,
            "stop": stop or {"grad_tol": 1e-6, "radius": 10.0}, "axes": axes}  # fmt: skip
    out = tmp_path / name
    fastdescent.run(spec, out=out, progress=False)
    return out


@pytest.fixture(scope="module")
def rosenbrock(tmp_path_factory):
    """Adam over (lr, beta1) and RMSProp over (lr, alpha = beta2) on Rosenbrock from
    (-1, 1): a few values each, spanning converged, stalled and diverged runs."""
    tmp = tmp_path_factory.mktemp("rosenbrock")
    lr = {"values": [1e-3, 0.01, 0.1, 0.75, 3.0, 10.0]}
    return {
        "adam": _landscape(tmp, "rosen_adam", "adam",
                           {"lr": lr, "beta": {"values": [0.0, 0.5, 0.93, 0.96]}}, steps=1200),
        "rmsprop": _landscape(tmp, "rosen_rms", "rmsprop",
                              {"lr": lr, "beta2": {"values": [0.5, 0.9, 0.99, 0.999]}}),
    }  # fmt: skip


def _map_rows(out):
    """{map name: its row of the printed map summary}."""
    lines = next(b for b in out.split("\n\n") if b.split()[:2] == ["map", "cells"]).splitlines()
    rows = [line.split() for line in lines[1:]]
    return {r[0]: [int(v) for v in r[1:6]] for r in rows if len(r) > 5 and r[1].isdigit()}


def test_cli_draws_landscape_maps_and_marks_the_stalled_runs(rosenbrock, tmp_path, capsys):
    """Maps only (no quadratic sweep: no steps_vs_kappa); the printed counts and the dots
    are the runs with status max_steps whose precond_sharpness / adaptive_edge lies in
    the band, recomputed here from the rows."""
    from fastdescent import plots_optimizers as po

    figs = tmp_path / "figs"
    assert _main(*rosenbrock.values(), "--out", figs) == 0
    out = capsys.readouterr().out
    assert not (figs / "steps_vs_kappa.png").exists() and "theory t*" not in out
    rows = _map_rows(out)
    for opt, name in (("adam", "rosen_adam"), ("rmsprop", "rosen_rms")):
        image = matplotlib.image.imread(figs / f"maps_{name}.png")
        assert image.shape[0] > 300 and image.shape[1] > 600
        df = fastdescent.load(rosenbrock[opt])
        beta = df["beta"].to_numpy() if "beta" in df else 0.0
        ratio = df["precond_sharpness"] / theory.adaptive_edge(opt, df["eta"], beta)
        lo, hi = po.EDGE_BAND
        stalled = (df["status"] == "max_steps") & (ratio >= lo) & (ratio <= hi)
        counts = df["status"].value_counts()
        left = counts.get("diverged", 0) + counts.get("escaped", 0)
        assert rows[name] == [len(df), counts.get("converged", 0), int(stalled.sum()),
                              counts.get("max_steps", 0) - int(stalled.sum()), left]  # fmt: skip
        edge = ao.map_table(df, "lr", "beta" if opt == "adam" else "beta2", "edge",
                            optimizer=opt)  # fmt: skip
        assert int(((edge >= lo) & (edge <= hi)).sum().sum()) == stalled.sum()
    adam = rows["rosen_adam"]
    # the grid spans all three outcomes, and some runs ran out of steps at the edge
    assert adam[1] > 0 and adam[2] > 0 and adam[4] > 0, adam


def test_cli_mixes_quadratic_and_landscape_sweeps(sweeps, rosenbrock, tmp_path, capsys):
    """The tolerance check is among the quadratic sweeps only; both kinds of figure."""
    figs = tmp_path / "figs"
    assert _main(sweeps["gd"], sweeps["ravine"], rosenbrock["adam"], "--out", figs) == 0
    out = capsys.readouterr().out
    for stem in ("steps_vs_kappa", "maps_ravine", "maps_rosen_adam"):
        assert (figs / f"{stem}.png").exists(), stem
    assert "theory t*" in out and set(_map_rows(out)) == {"ravine", "rosen_adam"}


def test_cli_landscape_errors(rosenbrock, tmp_path, capsys):
    start = _landscape(tmp_path, "starts", "adam", {
        "lr": {"values": [1e-3, 1e-2]}, "beta": {"values": [0.0, 0.3, 0.6, 0.9]},
        "x0": {"values": [-1.0, 0.0]}}, steps=10)  # fmt: skip
    err = _error(capsys, start)
    assert "'starts'" in err and "x0 also vary" in err
    heavy = _landscape(tmp_path, "hb", "heavy_ball", {"lr": {"values": [1e-3]}}, steps=10)
    err = _error(capsys, rosenbrock["adam"], heavy)
    assert "'hb' is heavy_ball on 'rosenbrock'" in err and "adam / rmsprop" in err
