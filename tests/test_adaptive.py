"""Adam, RMSProp and Adagrad on quadratics (issue #13, first part): the engine against
the slow twin (tests/naive_adaptive.py) on random grids, Adam's first steps by hand,
the frozen-preconditioner stability edges by brute force, threads and chunking, spec."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_same_numbers
from naive_adaptive import noise_table, simulate_adaptive

import fastdescent
from fastdescent.spec import SpecError
from fastdescent.theory import adaptive_edge, frozen_iteration

OPTIMIZERS = ("adam", "rmsprop", "adagrad")
STEPS = 300


def _spec(optimizer, axes, lambdas, start, steps=STEPS, **extra):
    return {
        "name": "adaptive",
        "problem": "quadratic",
        "optimizer": optimizer,
        "steps": steps,
        "problem_params": {"lambdas": lambdas, "start": start},
        "axes": axes,
        "stop": {"tol": 1e-20, "diverge": 1e10},
        **extra,
    }  # fmt: skip (extra may replace stop)


TWIN_STOP = {"tol": 1e-4, "diverge": 1e3}  # some runs converge, some diverge, some neither


def _random_axes(rng, optimizer):
    lrs = [*np.round(10 ** rng.uniform(-3, 0.5, 3), 6), 300.0]  # 300: diverges
    axes = {"lr": {"values": sorted({float(x) for x in lrs})}}
    if optimizer != "adagrad":
        axes["beta"] = {"values": [0.0, float(np.round(rng.uniform(0.5, 0.95), 3))]}
        axes["beta2"] = {"values": [float(np.round(rng.uniform(0.9, 0.999), 4))]}
    axes["eps"] = {"values": [1e-8, float(10 ** rng.uniform(-6, -2))]}
    return axes


@pytest.mark.parametrize("noisy", [False, True], ids=["noiseless", "noisy"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("case", range(3))
def test_engine_equals_the_twin(optimizer, noisy, case):
    rng = np.random.default_rng(100 * case + OPTIMIZERS.index(optimizer) + 7 * noisy)
    d = (1, 2, 3)[case]
    lambdas = [float(x) for x in np.round(10 ** rng.uniform(-1, 2, d), 3)]
    start = [float(x) for x in np.round(rng.uniform(-2, 2, d), 3)]
    axes = _random_axes(rng, optimizer)
    extra = {}
    if noisy:
        axes["sigma"] = {"values": [0.0, 0.3]}
        axes["seed"] = {"values": [3, 11]}
        extra["metrics"] = {"tail": 0.25}
    spec = _spec(optimizer, axes, lambdas, start, **extra, stop=TWIN_STOP)
    got = fastdescent.run(spec, chunk_size=5)
    tail_steps = math.ceil(0.25 * STEPS) if noisy else 0
    rows = []
    for r in got.itertuples():
        noise = noise_table(int(r.seed), STEPS, d) if noisy and r.sigma else None
        rows.append(simulate_adaptive(
            optimizer, r.eta, getattr(r, "beta", 0.0), getattr(r, "beta2", 0.0), r.eps,
            lambdas, start, STEPS, **TWIN_STOP, sigma=getattr(r, "sigma", 0.0), noise=noise,
            tail_steps=tail_steps,
        ))  # fmt: skip
    assert list(got["status"]) == [r["status"] for r in rows]
    for key in ("steps", "diverge_step"):
        assert list(got[key]) == [r[key] for r in rows], key
    keys = ["loss0", "final_loss", "rate", "precond_sharpness"]
    if noisy:
        keys += ["loss_tail_mean", "loss_tail_std"]
    for key in keys:
        want = np.array([r[key] for r in rows])
        assert np.array_equal(got[key].to_numpy(), want, equal_nan=True), key  # bit for bit
    assert got["rate"].isna().all()
    assert set(got["status"]) - {"max_steps"}, "the grid should stop some runs early"


def test_adam_first_steps_by_hand():
    """f = lam w^2 / 2 in 1-D: Adam's first three iterates from the bias-corrected rule
    m_hat = m / (1 - beta1^t), s_hat = s / (1 - beta2^t), w -= eta m_hat / (sqrt(s_hat) +
    eps), written out; the sweep's final loss after k steps is lam w_k^2 / 2."""
    lam, w0, eta, b1, b2, eps = 3.0, 1.5, 0.1, 0.9, 0.999, 1e-8
    w, m, s, ws = w0, 0.0, 0.0, []
    for t in (1, 2, 3):
        g = lam * w
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g * g
        w = w - eta * (m / (1 - b1**t)) / (math.sqrt(s / (1 - b2**t)) + eps)
        ws.append(w)
    # the first step moves by eta g / (|g| + eps): about eta, whatever lam and w0
    assert ws[0] == pytest.approx(w0 - eta * lam * w0 / (lam * w0 + eps), rel=1e-15)
    for k, wk in enumerate(ws, start=1):
        spec = _spec("adam", {"lr": {"values": [eta]}}, [lam], [w0], steps=k,
                     stop={"tol": 0.0, "diverge": 1e10})  # fmt: skip
        row = fastdescent.run(spec).iloc[0]
        assert row["steps"] == k and row["status"] == "max_steps"
        assert row["final_loss"] == pytest.approx(0.5 * lam * wk * wk, rel=1e-12)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
def test_frozen_edges_by_brute_force(optimizer, beta):
    """The spectral radius of the frozen iteration (written from the update rules)
    crosses 1 at the edge formula, found by bisection on a = lam d for several eta."""
    if optimizer == "adagrad" and beta:
        pytest.skip("adagrad has no beta")
    for eta in (1e-3, 0.1, 2.0):

        def radius(a, eta=eta):
            return max(abs(np.linalg.eigvals(frozen_iteration(optimizer, eta, beta, a))))

        lo, hi = 1e-9, 1.0
        while radius(hi) < 1.0:
            hi *= 2.0
        for _ in range(200):  # the first a where the radius exceeds 1
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if radius(mid) < 1.0 - 1e-13 else (lo, mid)
        assert hi == pytest.approx(float(adaptive_edge(optimizer, eta, beta)), rel=1e-9)
    assert float(adaptive_edge("adam", 1.0, 0.9)) == pytest.approx(38.0)


def test_same_bytes_across_threads_and_chunks():
    rng = np.random.default_rng(5)
    axes = _random_axes(rng, "adam")
    axes["sigma"] = {"values": [0.0, 0.2]}
    axes["seed"] = {"values": [0, 1, 2]}
    spec = _spec("adam", axes, [1.0, 4.0, 30.0], [1.0, -1.0, 0.5])
    a = fastdescent.run(spec, chunk_size=7, threads=1)
    b = fastdescent.run(spec, chunk_size=1000, threads=2)
    assert_same_numbers(a, b)


def test_spec_defaults_and_errors():
    spec = fastdescent.parse_spec(_spec("adam", {"lr": {"values": [0.1]}}, [1.0], [1.0]))
    assert spec.axes["beta"] == {"values": [0.9]} and spec.axes["beta2"] == {"values": [0.999]}
    assert spec.axes["eps"] == {"values": [1e-8]}
    spec = fastdescent.parse_spec(_spec("rmsprop", {"lr": {"values": [0.1]}}, [1.0], [1.0]))
    assert spec.axes["beta"] == {"values": [0.0]} and spec.axes["beta2"] == {"values": [0.99]}
    spec = fastdescent.parse_spec(_spec("adagrad", {"lr": {"values": [0.1]}}, [1.0], [1.0]))
    assert spec.axes["eps"] == {"values": [1e-10]} and "beta" not in spec.axes
    with pytest.raises(SpecError, match=r"axes\.beta2"):
        fastdescent.parse_spec(_spec("adam", {"lr": {"values": [0.1]}, "beta2": {"values": [1.0]}},
                                     [1.0], [1.0]))  # fmt: skip
    with pytest.raises(SpecError, match=r"axes\.beta"):
        axes = {"lr": {"values": [0.1]}, "beta": {"values": [0.5]}}
        fastdescent.parse_spec(_spec("adagrad", axes, [1.0], [1.0]))
    with pytest.raises(SpecError, match="float64 only"):
        fastdescent.parse_spec(_spec("adam", {"lr": {"values": [0.1]}}, [1.0], [1.0],
                                     dtype="float32"))  # fmt: skip
    with pytest.raises(SpecError, match=r"axes\.beta2"):  # not an axis of heavy ball
        fastdescent.parse_spec(
            _spec("heavy_ball", {"lr": {"values": [0.1]}, "beta2": {"values": [0.9]}}, [1.0], [1.0])
        )


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_runs_that_do_not_converge_settle_at_the_edge(optimizer):
    """At a constant eta the second-moment sums shrink with the gradient, so the
    preconditioned sharpness grows until it reaches the frozen iteration's edge; runs
    that do not converge (max_steps, tol = 0) end there. Without momentum the orbit at
    the edge is a flip, w_{t+1} = -w_t along the sharpest direction: g^2 is then
    constant, so s (an average of g^2) equals g^2 exactly, d = 1 / (|g| + eps) (Adam:
    sqrt(s_hat) = |g| once the bias correction is gone) and the flip needs eta lam d = 2:
    precond_sharpness = 2 / eta to rounding (asserted to 1e-9). With momentum the orbit
    is not a flip and the final value is a snapshot of an oscillation around the edge:
    on this grid it ends within 0.8 to 1.4 times the edge (measured, not derived)."""
    axes = {
        "lr": {"values": [0.001, 0.003, 0.01, 0.03, 0.1]},
        "beta": {"values": [0.0, 0.5, 0.9]},
        "beta2": {"values": [0.9, 0.99]},
    }
    spec = _spec(optimizer, axes, [1.0, 100.0], [1.0, 1.0], steps=30000,
                 stop={"tol": 0.0, "diverge": 1e10})  # fmt: skip
    df = fastdescent.run(spec)
    settled = df[df.status == "max_steps"]
    ratio = settled.precond_sharpness / adaptive_edge(optimizer, settled.eta, settled.beta)
    plain = settled.beta == 0.0
    assert plain.sum() >= 5 and (~plain).sum() >= 15
    assert np.allclose(ratio[plain], 1.0, rtol=0, atol=1e-9)
    assert ratio[~plain].between(0.8, 1.4).all()
    # the runs that converged did so before the edge (loss underflowed to 0)
    assert (df[df.status == "converged"].final_loss == 0.0).all()


def test_replay_and_record_equal_the_sweep(tmp_path):
    """[record] and replay on adaptive sweeps: the recorded rows are the sweep's run, bit
    for bit (its final state and loss), noisy or not, with a schedule."""
    axes = {"lr": {"values": [0.01, 0.3]}, "beta": {"values": [0.0, 0.9]},
            "sigma": {"values": [0.0, 0.5]}, "seed": {"values": [4]}}  # fmt: skip
    for optimizer in OPTIMIZERS:
        ax = dict(axes)
        if optimizer == "adagrad":
            ax.pop("beta")
        spec = _spec(optimizer, ax, [1.0, 20.0, 3.0], [1.0, -0.5, 2.0], steps=400,
                     schedule={"kind": "cosine"}, record={"every": 7})  # fmt: skip
        out = fastdescent.run(spec, out=tmp_path / optimizer, progress=False, chunk_size=3)
        summary = fastdescent.load(out)
        recorded = fastdescent.load_trajectories(out)
        for t in summary.traj:
            row = summary[summary.traj == t].iloc[0]
            rec = recorded[recorded.traj == t]
            last = rec.iloc[-1]
            assert last.step == row.steps and last.loss == row.final_loss
            full = fastdescent.replay(out, int(t))
            assert full.iloc[-1].loss == row.final_loss and len(full) == row.steps + 1
            assert np.array_equal(full[full.step.isin(rec.step)].loss.to_numpy(),
                                  rec.loss.to_numpy())  # fmt: skip


def test_check_theory_checks_the_edge(tmp_path, capsys):
    """check_theory.py on an adaptive sweep: PASS, with the rows at the edge counted; a
    doctored precond_sharpness 10 % above the edge without momentum fails."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import check_theory

    from fastdescent.checks_adaptive import check_adaptive

    axes = {"lr": {"values": [0.003, 0.03, 0.1]}, "beta": {"values": [0.0, 0.9]},
            "beta2": {"values": [0.9]}}  # fmt: skip
    spec = _spec("adam", axes, [1.0, 100.0], [1.0, 1.0], steps=20000,
                 stop={"tol": 0.0, "diverge": 1e10})  # fmt: skip
    out = fastdescent.run(spec, out=tmp_path / "adam", progress=False)
    assert check_theory.main([str(out)]) == 0
    text = capsys.readouterr().out
    assert "edge of stability" in text and "PASS" in text
    df = fastdescent.load(out)
    report = check_adaptive(df, fastdescent.store.open_manifest(out)["spec"])
    edge = report["edge"]
    assert report.ok and edge.checked == 3  # the beta1 = 0 runs that ran out of steps
    assert any("with momentum (not checked" in note for note in edge.notes)
    doctored = df.copy()
    plain = (doctored.beta == 0.0) & (doctored.status == "max_steps")
    assert plain.any()
    doctored.loc[plain, "precond_sharpness"] *= 1.1
    assert not check_adaptive(doctored, fastdescent.store.open_manifest(out)["spec"]).ok


def test_flip_orbit_stability_decides_which_momentum_runs_settle():
    """theory.flip_orbit_radius: without momentum the flip orbit at the edge attracts,
    with radius beta2; with momentum it repels above flip_orbit_beta_limit. On a diagonal quadratic
    (30,000 steps, tol 0): every max_steps run above the limit ends away from the edge (no
    settled value), and at beta2 = 0.9 every run below it ends at the edge to 1e-9."""
    from fastdescent.theory import flip_orbit_beta_limit, flip_orbit_radius

    for opt in ("adam", "rmsprop"):
        for b2 in (0.5, 0.9, 0.99):
            assert flip_orbit_radius(opt, 0.0, b2) == pytest.approx(b2, rel=1e-12)
        limit = flip_orbit_beta_limit(opt, 0.9)
        assert flip_orbit_radius(opt, limit, 0.9) == pytest.approx(1.0, abs=1e-9)
        assert (
            flip_orbit_radius(opt, limit + 0.01, 0.9)
            > 1.0
            > flip_orbit_radius(opt, limit - 0.01, 0.9)
        )
        axes = {"lr": {"values": [0.001, 0.01, 0.1]},
                "beta": {"values": [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5]},
                "beta2": {"values": [0.9, 0.99]}}  # fmt: skip
        spec = _spec(opt, axes, [1.0, 100.0], [1.0, 1.0], steps=30000,
                     stop={"tol": 0.0, "diverge": 1e10})  # fmt: skip
        df = fastdescent.run(spec, progress=False)
        df = df[df.status == "max_steps"]
        ratio = df.precond_sharpness / adaptive_edge(opt, df.eta, df.beta)
        limits = np.array([flip_orbit_beta_limit(opt, b2) for b2 in df.beta2])
        above = df.beta.to_numpy() > limits
        assert above.sum() >= 10 and (np.abs(ratio[above] - 1.0) > 1e-3).all(), ratio[above]
        settled = ~above & (df.beta2 == 0.9).to_numpy()
        assert settled.sum() >= 10
        assert np.allclose(ratio[settled], 1.0, rtol=0, atol=1e-9), ratio[settled]
