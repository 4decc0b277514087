"""The stochastic-gradient figures: analysis_sgd's tables against hand-computed values, and
scripts/sgd_noise.py / scripts/batch_size.py end to end on small sweeps (real image files;
wrong sweeps refused with one line and exit status 2)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

import fastdescent
from fastdescent import analysis_sgd, theory
from fastdescent.store import read_manifest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = {"start": 0, "stop": 7, "num": 8}


def _quadratic(name, optimizer, axes, steps=1500):
    spec = {
        "name": name,
        "problem": "quadratic",
        "optimizer": optimizer,
        "steps": steps,
        "problem_params": {"lambdas": [2.0, 6.0], "start": [2.0, -1.0]},
        "axes": axes,
    }
    if "sigma" in axes:
        spec["metrics"] = {"tail": 0.5}
    return spec


def _linreg(name, sampling, n, batch_sizes, steps=3000, dim=3, optimizer="gd", extra=None):
    axes = {
        "lr": {"values": [0.1, 0.2, 0.4, 1.9], "relative_to": "lambda_max"},
        "kappa": {"values": [4.0]},
        "batch_size": {"values": batch_sizes},
        "seed": SEEDS,
    }
    axes.update(extra or {})
    return {
        "name": name,
        "problem": "linreg",
        "optimizer": optimizer,
        "steps": steps,
        "problem_params": {"n": n, "dim": dim, "noise": 0.5, "sampling": sampling},
        "metrics": {"tail": 0.5},
        "axes": axes,
    }


SPECS = {
    "noisy_gd": _quadratic(
        "noisy_gd",
        "gd",
        {
            "lr": {"values": [0.01, 0.05, 0.2, 0.33, 0.4]},
            "sigma": {"values": [0.1, 1.0]},
            "seed": SEEDS,
        },
    ),
    "noisy_hb": _quadratic(
        "noisy_hb",
        "heavy_ball",
        {
            "lr": {"values": [0.1, 1.0, 2.5, 3.5], "relative_to": "lambda_max"},
            "beta": {"values": [0.0, 0.5]},
            "sigma": {"values": [0.5]},
            "seed": SEEDS,
        },
    ),
    "plain": _quadratic("plain", "gd", {"lr": {"values": [0.1, 0.2]}}, steps=50),
    "subset": _linreg("subset", "subset", 64, [1, 4, 16, 64]),
    "epoch": _linreg("epoch", "epoch", 64, [4, 64], steps=1500),
    "one_batch": _linreg("one_batch", "subset", 64, [4], steps=100),
}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    base = tmp_path_factory.mktemp("sgd_sweeps")
    out = {}
    for name, spec in SPECS.items():
        out[name] = base / name
        fastdescent.run(spec, out=out[name], progress=False)
    return out


def _script(name, *args):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _load(directory):
    return read_manifest(directory)["spec"], fastdescent.load(directory)


# ------------------------------------------------------------------ tables, by hand


def test_noise_cells_by_hand(sweeps):
    spec, df = _load(sweeps["noisy_gd"])
    c = analysis_sgd.noise_cells(df, spec)
    assert len(c) == 5 * 2 and (c["seeds"] == 8).all()
    row = c[(c["lr"] == 0.05) & (c["sigma"] == 1.0)].iloc[0]
    tails = df[(df["lr"] == 0.05) & (df["sigma"] == 1.0)]["loss_tail_mean"].to_numpy()
    assert row["measured"] == pytest.approx(tails.mean(), rel=1e-12)
    assert row["se"] == pytest.approx(tails.std(ddof=1) / math.sqrt(8), rel=1e-12)
    # gd: sum_i eta sigma^2 / (2 (2 - eta lam_i)); small step: eta sigma^2 d / 4
    exact = sum(0.05 / (2 * (2 - 0.05 * lam)) for lam in (2.0, 6.0))
    assert row["exact"] == pytest.approx(exact, rel=1e-12)
    assert row["small"] == pytest.approx(0.05 * 2 / 4, rel=1e-12)
    assert row["h"] == pytest.approx(0.3) and row["limit_h"] == pytest.approx(2.0)
    assert row["usable"] and abs(row["ratio"] - 1) < 0.05
    # 0.33 is within 2 % of the edge 1/3; 0.4 is beyond it (diverged, inf theory)
    assert not c[c["lr"] == 0.33]["usable"].any() and c[c["lr"] == 0.33]["near_edge"].all()
    beyond = c[c["lr"] == 0.4]
    assert np.isinf(beyond["exact"]).all() and (beyond["diverged"] == 8).all()
    assert beyond["measured"].isna().all()
    # lr = 0.01: rho = 0.98, rho^750 = 2.7e-7 <= 1e-6, so the transient is gone
    assert not c[c["lr"] == 0.01]["transient"].any()


def test_an_all_noisy_quadratic_sweep_passes_check_theory(sweeps):
    """Every row has sigma > 0: only the stationary-loss check applies (no noiseless best
    rate to compare), and it passes."""
    from fastdescent.checks import check_sweep

    spec, df = _load(sweeps["noisy_gd"])
    report = check_sweep(df, spec)
    assert report.ok, report.format()
    assert [r.name for r in report.results] == ["divergence", "rate", "stationary loss"]
    assert report["stationary loss"].checked == 2 * 3  # lr 0.01, 0.05, 0.2 x 2 sigma


def test_small_step_is_the_small_eta_limit_of_the_exact_loss():
    lam = np.array([2.0, 6.0])
    for opt, beta in (("gd", None), ("heavy_ball", 0.5), ("nesterov", 0.9)):
        eta = 1e-6
        exact = theory.stationary_loss(opt, eta, beta, lam, 0.3)
        small = analysis_sgd.small_step_noise(opt, eta, beta, 0.3, 2)
        assert small == pytest.approx(exact, rel=1e-4), opt
    curves = analysis_sgd.noise_curves("heavy_ball", lam, 0.5, 1.0, 0.01)
    assert curves["h"].max() < 3.0 < curves["h"].max() * 1.01  # up to the edge 2(1 + beta)
    assert np.isfinite(curves["exact"]).all() and (np.diff(curves["exact"]) > 0).all()


def test_batch_laws_by_hand(sweeps):
    spec, _df = _load(sweeps["subset"])
    ds = analysis_sgd.linreg_dataset(spec, 4.0)
    n = 64
    # iso-noise: eta(B) proportional to B (n - 1) / (n - B) without sigma
    eta = analysis_sgd.iso_noise_eta(ds, [1, 4, 16, 64], "subset", 1e-3)
    assert eta[1] / eta[0] == pytest.approx(4 * (n - 1) / (n - 4), rel=1e-10)
    assert eta[2] / eta[0] == pytest.approx(16 * (n - 1) / (n - 16), rel=1e-10)
    assert np.isinf(eta[3])
    small = analysis_sgd.small_step_loss(ds, eta[1], 4, "subset")
    assert small == pytest.approx(1e-3, rel=1e-12)
    # critical batch: log-interpolated crossing of the two curves
    assert analysis_sgd.critical_batch([1, 4], [1.0, 4.0], [2.0, 2.0]) == pytest.approx(2.0)
    assert math.isnan(analysis_sgd.critical_batch([1, 4], [1.0, 1.0], [2.0, 2.0]))
    assert list(analysis_sgd.full_batch("subset", np.array([4, 64]), 64)) == [False, True]
    assert not analysis_sgd.full_batch("replacement", 64, 64)
    assert analysis_sgd.epoch_enumerable(8, 2) and not analysis_sgd.epoch_enumerable(64, 4)
    # the mean-square edge: stable just below, unstable just above; <= the full-batch limit
    edge, used = analysis_sgd.ms_edge(ds, 4, "gd", "subset")
    assert used == "subset" and edge < 2.0 / ds.lambdas.max()
    assert theory.ms_stable(ds.X, ds.y, edge * 0.99, 0.0, 4, "gd", "subset")
    assert not theory.ms_stable(ds.X, ds.y, edge * 1.01, 0.0, 4, "gd", "subset")
    assert analysis_sgd.ms_edge(ds, 64, "gd", "subset")[0] == pytest.approx(2.0 / 4.0)
    assert analysis_sgd.ms_edge(ds, 4, "gd", "epoch")[1] == "subset"  # n = 64: no enumeration


def test_batch_cells_by_hand(sweeps):
    spec, df = _load(sweeps["subset"])
    c = analysis_sgd.batch_cells(df, spec)
    assert len(c) == 4 * 4 and (c["seeds"] == 8).all()
    full = c[c["batch_size"] == 64]
    assert full["full"].all() and not full["stochastic"].any()
    row = c[(c["batch_size"] == 4) & (c["lr"] == 0.2)].iloc[0]
    g = df[(df["batch_size"] == 4) & (df["lr"] == 0.2)]
    assert row["measured"] == pytest.approx(g["loss_tail_mean"].mean(), rel=1e-12)
    ds = analysis_sgd.linreg_dataset(spec, 4.0)
    exact = theory.stationary_excess_loss_minibatch(ds.X, ds.y, 0.05, 0.0, 4, "gd", "subset")
    assert row["exact"] == pytest.approx(exact, rel=1e-12)
    assert row["usable"] and abs(row["ratio"] - 1) < 0.1


def test_sampled_gradient_noise_matches_the_exact_law(sweeps):
    spec, _ = _load(sweeps["subset"])
    ds = analysis_sgd.linreg_dataset(spec, 4.0)
    t = analysis_sgd.noise_variance_table(
        ds, [1, 8, 63, 64], "subset", {"w0": np.zeros(3)}, draws=4000
    )
    assert list(t["batch_size"]) == [1, 8, 63]  # 64 = n: no noise, left out
    assert np.all(np.abs(t["measured"] / t["exact"] - 1) < 4 * t["se"] / t["exact"] + 0.02)
    assert t["plain"].iloc[2] / t["exact"].iloc[2] == pytest.approx(63.0, rel=1e-9)  # 1/fpc


# ------------------------------------------------------------------------ the scripts


def _image(path):
    img = matplotlib.image.imread(path)
    assert img.shape[0] > 400 and img.shape[1] > 400
    return img


@pytest.mark.parametrize("name", ["noisy_gd", "noisy_hb"])
def test_sgd_noise_writes_its_figures(sweeps, tmp_path, name):
    rc, out, err = _script("sgd_noise.py", sweeps[name], "--out", tmp_path)
    assert rc == 0, err
    paths = out.split()
    assert [Path(p).name for p in paths] == ["stationary_loss.png", "stationary_ratio.png"]
    for p in paths:
        _image(p)


@pytest.mark.parametrize("name", ["subset", "epoch"])
def test_batch_size_writes_its_figures(sweeps, tmp_path, name):
    rc, out, err = _script("batch_size.py", sweeps[name], "--out", tmp_path, "--draws", "300")
    assert rc == 0, err
    names = [Path(p).name for p in out.split()]
    assert names == ["batch_heatmap.png", "gradient_noise.png", "loss_vs_batch.png"]
    for p in out.split():
        _image(p)


def test_scripts_refuse_wrong_sweeps_with_one_line(sweeps, tmp_path):
    cases = [
        ("sgd_noise.py", sweeps["plain"], "no gradient noise"),
        ("sgd_noise.py", sweeps["subset"], "draw a linreg sweep with batch_size.py"),
        ("batch_size.py", sweeps["noisy_gd"], "needs a 'linreg' sweep"),
        ("batch_size.py", sweeps["one_batch"], "fewer than 2 batch_size values"),
        ("batch_size.py", tmp_path / "missing", "no such directory"),
        ("sgd_noise.py", tmp_path, "not a fastdescent results directory"),
        ("sgd_noise.py", sweeps["noisy_gd"], "--beta: a gd sweep has no momentum", "--beta", "0"),
        ("batch_size.py", sweeps["subset"], "--draws: need at least 10", "--draws", "1"),
    ]
    for script, target, words, *extra in cases:
        rc, out, err = _script(script, target, "--out", tmp_path / "figs", *extra)
        assert rc == 2, (script, target, out, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert words in err, err
    assert not (tmp_path / "figs").exists()
