"""Learning-rate schedules in the engine: the iterates follow eta_t = eta * s(t) with s
written out here from the library conventions (a plain-Python twin), on quadratics,
landscapes and linreg; the constant schedule gives the unscheduled sweep's bytes; the
spec's schedule tables are validated; the schedule column is categorical."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastdescent
from fastdescent.spec import SpecError, parse_spec

STEPS = 120


def _s(kind, t, steps=STEPS):
    """s(t) by the conventions of DESIGN 1.2, written out (not fastdescent.schedules)."""
    if kind == "step":  # StepLR(step_size=25, gamma=0.5)
        return 0.5 ** (t // 25)
    if kind == "exponential":  # ExponentialLR(gamma=0.97)
        return 0.97**t
    if kind == "cosine":  # optax cosine_decay_schedule(1, decay_steps=80): clamped at 80
        return 0.5 * (1 + math.cos(math.pi * min(t, 80) / 80))
    if kind == "warmup_cosine":  # warm-up 10 inside T = 80
        if t < 10:
            return t / 10
        return 0.5 * (1 + math.cos(math.pi * min(t - 10, 70) / 70))
    if kind == "cyclical":  # CyclicLR(base = 0.1 eta, max = eta, step_size_up = 15), tri2
        cycle = math.floor(1 + t / 30)
        x = abs(t / 15 - 2 * cycle + 1)
        return 0.1 + 0.9 * max(0.0, 1 - x) / 2 ** (cycle - 1)
    if kind == "exp_range":  # eta at t = 0, 100 eta at t = steps - 1
        return 100.0 ** (t / (steps - 1))
    return 1.0


TABLES = {
    "step": {"kind": "step", "every": 25, "gamma": 0.5},
    "exponential": {"kind": "exponential", "gamma": 0.97},
    "cosine": {"kind": "cosine", "T": 80},
    "warmup_cosine": {"kind": "warmup_cosine", "warmup": 10, "T": 80},
    "cyclical": {"kind": "cyclical", "half": 15, "mode": "triangular2"},
    "exp_range": {"kind": "exp_range", "end_factor": 100.0},
}


@pytest.fixture(scope="module")
def quadratic_sweep():
    spec = {
        "problem": "quadratic", "optimizer": "heavy_ball", "steps": STEPS,
        "problem_params": {"dim": 2}, "stop": {"tol": 1e-300},
        "schedules": TABLES,
        "axes": {
            "lr": {"values": [0.002, 0.3], "relative_to": "lambda_max"},
            "beta": {"values": [0.0, 0.6]}, "kappa": {"values": [10.0]},
            "schedule": {"values": ["constant", *TABLES]},
        },
    }  # fmt: skip
    spec = parse_spec(spec)
    return spec, fastdescent.run(spec)


def _twin_quadratic(eta, beta, lam, start, kind, steps):
    """Heavy ball on 0.5 sum lam w^2 with eta_t = eta s(t): the rows w_0 .. w_steps."""
    w = np.array(start, float)
    v = np.zeros_like(w)
    out = [w.copy()]
    for t in range(steps):
        e = eta * _s(kind, t)
        for i in range(len(w)):
            v[i] = beta * v[i] - e * (lam[i] * w[i])
            w[i] = w[i] + v[i]
        out.append(w.copy())
    return np.array(out)


def test_quadratic_iterates_follow_each_schedule(quadratic_sweep):
    spec, df = quadratic_sweep
    lam = np.array([1.0, 10.0])
    for row in df.itertuples():
        rows = fastdescent.replay(spec, row.traj)
        got = np.stack(rows["w"])
        want = _twin_quadratic(row.eta, row.beta, lam, [1.0, 1.0], row.schedule, row.steps)
        assert len(got) == row.steps + 1
        assert row.steps == STEPS or row.status == "diverged"
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300, err_msg=row.schedule)
        etas = rows["eta"].to_numpy()
        want_eta = [row.eta * _s(row.schedule, t) for t in range(row.steps)]
        np.testing.assert_allclose(etas[:-1], want_eta, rtol=1e-13)
        if row.steps == STEPS:
            assert math.isnan(etas[-1])  # no update leaves the final state


def test_schedule_column_and_rate(quadratic_sweep):
    _, df = quadratic_sweep
    assert isinstance(df["schedule"].dtype, __import__("pandas").CategoricalDtype)
    assert list(df["schedule"].cat.categories) == ["constant", *TABLES]
    assert df.loc[df.schedule != "constant", "rate"].isna().all()  # eta_t varies
    constant = df[df.schedule == "constant"]
    assert constant["rate"].notna().any()
    # the exp_range run climbs 100x: at lr = 0.3 its step size passes the limit 2(1+beta)
    hot = df[(df.schedule == "exp_range") & (df.lr == 0.3)]
    assert (hot["status"] == "diverged").all()


def _without_schedule(spec: dict) -> dict:
    plain = {k: v for k, v in spec.items() if k not in ("schedules", "schedule")}
    plain["axes"] = {k: v for k, v in spec["axes"].items() if k != "schedule"}
    return plain


SPECS = {
    "quadratic": {
        "problem": "quadratic", "optimizer": "nesterov", "steps": 300,
        "problem_params": {"dim": 3, "spectrum": "log"},
        "axes": {"lr": {"values": [0.1, 1.0, 2.2], "relative_to": "lambda_max"},
                 "beta": {"values": [0.0, 0.8]}, "kappa": {"values": [1.0, 100.0]}},
    },
    "landscape": {
        "problem": "himmelblau", "optimizer": "heavy_ball", "steps": 200,
        "axes": {"lr": {"values": [0.002, 0.01]}, "beta": {"values": [0.0, 0.7]},
                 "x0": {"start": -4, "stop": 4, "num": 3},
                 "y0": {"start": -4, "stop": 4, "num": 3}},
    },
    "linreg": {
        "problem": "linreg", "optimizer": "gd", "steps": 200,
        "problem_params": {"n": 32, "dim": 3, "sampling": "subset"},
        "axes": {"lr": {"values": [0.2, 1.0], "relative_to": "lambda_max"},
                 "batch_size": {"values": [4, 32]}, "seed": {"values": [0, 1]}},
    },
}  # fmt: skip


@pytest.mark.parametrize("family", SPECS)
def test_the_constant_schedule_is_the_unscheduled_sweep(family):
    plain = SPECS[family]
    spec = dict(plain, schedules={"cos": {"kind": "cosine"}})
    spec["axes"] = dict(plain["axes"], schedule={"values": ["cos", "constant"]})
    df = fastdescent.run(spec)
    ref = fastdescent.run(plain)
    got = df[df["schedule"] == "constant"].reset_index(drop=True)
    assert len(got) == len(ref)
    for col in ref.columns:
        if col == "traj":
            continue
        a, b = got[col].to_numpy(), ref[col].to_numpy()
        if a.dtype.kind == "f":
            assert np.array_equal(a, b, equal_nan=True), col
        else:
            assert (got[col].astype(str) == ref[col].astype(str)).all(), col
    # and a schedule that decays makes a difference somewhere
    cos = df[df["schedule"] == "cos"].reset_index(drop=True)
    assert not np.array_equal(cos["final_loss"], ref["final_loss"])


def test_landscape_iterates_follow_the_schedule():
    """GD on Rosenbrock with a step schedule against a plain-Python loop on the problem's
    own gradient (a slow twin of the lane kernel's update)."""
    from fastdescent.problems import get_problem

    module = get_problem("rosenbrock")
    spec = parse_spec({
        "problem": "rosenbrock", "optimizer": "gd", "steps": STEPS,
        "schedule": TABLES["step"],
        "axes": {"lr": {"values": [1e-3, 2e-3]}},
    })  # fmt: skip
    df = fastdescent.run(spec)
    c = module.pack(spec.problem_params)
    for row in df.itertuples():
        x, y = spec.problem_params["start"]
        xs = [(x, y)]
        for t in range(row.steps):
            gx, gy = module.grad(x, y, c)
            e = row.eta * _s("step", t)
            x, y = x - e * gx, y - e * gy
            xs.append((x, y))
        got = fastdescent.replay(spec, row.traj)
        np.testing.assert_allclose(got[["x", "y"]].to_numpy(), xs, rtol=1e-12)
        assert (got["x"].iloc[-1], got["y"].iloc[-1]) == (row.x_final, row.y_final)


def test_schedule_spec_errors():
    base = SPECS["quadratic"]

    def bad(**extra):
        spec = dict(base, **{k: v for k, v in extra.items() if k != "axes"})
        spec["axes"] = dict(base["axes"], **extra.get("axes", {}))
        with pytest.raises(SpecError) as info:
            parse_spec(spec)
        return str(info.value)

    axis = {"schedule": {"values": ["constant", "cos"]}}
    cos = {"cos": {"kind": "cosine"}}
    assert "not both" in bad(schedule={"kind": "cosine"}, schedules=cos, axes=axis)
    assert "need an axis" in bad(schedules=cos)
    assert "no such schedule" in bad(axes={"schedule": {"values": ["constant", "cosine"]}})
    assert "not in axes.schedule" in bad(
        schedules={**cos, "x": {"kind": "step", "every": 3}}, axes=axis
    )
    assert "built in" in bad(schedules={"constant": {"kind": "cosine"}}, axes=axis)
    assert "lists names" in bad(axes={"schedule": {"start": 0, "stop": 1, "num": 2}})
    assert "at most once" in bad(schedules=cos, axes={"schedule": {"values": ["cos", "cos"]}})
    assert "needs every" in bad(schedule={"kind": "step"})
    # no schedule: the normalised spec (and its hash) has no schedule keys
    assert not {"schedule", "schedules"} & set(parse_spec(base).to_dict())
    # the normalised spec round-trips (a results directory re-reads it)
    spec = parse_spec(dict(base, schedules=cos, axes=dict(base["axes"], **axis)))
    assert parse_spec(spec.to_dict()).hash == spec.hash


def test_scheduled_quadratics_on_the_lockstep_kernel_equal_the_reference(monkeypatch):
    """Noiseless rows whose step size varies run in lockstep (``sweep_loss_noisy``, one
    schedule at a time); the scalar reference path (``Engine.FAST_NOISE = False``) gives
    the same numbers, with and without noise."""
    from fastdescent.engine import Engine

    spec = parse_spec({
        "problem": "quadratic", "optimizer": "heavy_ball", "steps": 150,
        "problem_params": {"dim": 3, "spectrum": "linear"}, "schedules": TABLES,
        "axes": {"lr": {"values": [0.05, 0.9, 2.5], "relative_to": "lambda_max"},
                 "beta": {"values": [0.0, 0.6]}, "kappa": {"values": [1.0, 30.0]},
                 "sigma": {"values": [0.0, 0.05]},
                 "schedule": {"values": ["constant", *TABLES]}, "seed": {"values": [3, 4]}},
    })  # fmt: skip
    fast = Engine(spec).kernel(0, spec.size)
    monkeypatch.setattr(Engine, "FAST_NOISE", False)
    slow = Engine(spec).kernel(0, spec.size)
    for key, a in fast.items():
        assert np.array_equal(a, slow[key], equal_nan=True), key


def test_check_theory_checks_only_the_constant_rows(tmp_path, capsys):
    """Above the limit a cosine run decays below it before it blows up and converges,
    which constant-eta theory calls divergent: check_theory leaves such rows out, says
    so, and checks the constant ones (which diverge as theory says)."""
    import runpy
    from pathlib import Path

    spec = {
        "problem": "quadratic", "optimizer": "gd", "steps": 400,
        "schedules": {"cos": {"kind": "cosine", "T": 40}},
        "axes": {"lr": {"values": [0.5, 1.0, 2.1, 2.3], "relative_to": "lambda_max"},
                 "kappa": {"values": [1.0, 10.0]},
                 "schedule": {"values": ["constant", "cos"]}},
    }  # fmt: skip
    df = fastdescent.run(spec, out=tmp_path / "s", progress=False)
    df = fastdescent.load(tmp_path / "s")
    hot = df[(df.schedule == "cos") & (df.lr > 2)]
    assert (hot["status"] == "converged").any()  # what constant-eta theory calls divergent
    script = Path(__file__).resolve().parent.parent / "scripts" / "check_theory.py"
    main = runpy.run_path(str(script), run_name="fd_test")["main"]
    assert main([str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "schedules: 8 rows whose step size varies (cos) are not checked" in out
    assert "rows 8 of 8" in out and "missing" not in out and out.splitlines()[-1] == "PASS"


def test_no_factor_table_without_schedules_and_a_bound_with_them():
    """A sweep without schedules builds no factor table, however many steps (the kernels
    read 1.0); a schedule table beyond schedules.TABLE_BYTES is refused by the spec."""
    from fastdescent import schedules

    big = parse_spec(dict(SPECS["quadratic"], steps=2**31 - 2))
    _, table, varies = schedules.sweep_table(big)
    assert table.shape == (1, 0) and not varies.any()
    with pytest.raises(SpecError, match=r"factor table of 16\.0 GiB"):
        parse_spec(dict(SPECS["quadratic"], steps=2**31 - 2, schedule={"kind": "cosine"}))
