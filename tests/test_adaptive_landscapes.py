"""Adam, RMSProp and Adagrad on the landscapes (issue #13; the general lane kernel's
``block.block_adaptive``): the engine against the slow twin
(``naive_adaptive.simulate_adaptive_landscape``, PyTorch's rules in a notebook's loop) on
random grids of every problem, noisy and not, with a schedule; same bytes across
threads and chunks; [record] and replay; 1-D problems with eps = 0; packed vector code;
the preconditioned sharpness at the frozen iteration's edge near a minimum."""

from __future__ import annotations

import math
import re
import zlib

import numba
import numpy as np
import pytest
from helpers import assert_recorded_runs_end_at_the_sweep, assert_same_numbers
from naive_adaptive import simulate_adaptive_landscape
from test_lanes import LANDSCAPES, Fns, _start_axes
from test_noise_landscapes import xi_python

import fastdescent
from fastdescent import schedules
from fastdescent.kernels import block
from fastdescent.lane_engine import f_min
from fastdescent.optimizers import ADAM
from fastdescent.problems import get_problem
from fastdescent.theory import adaptive_edge

OPTIMIZERS = ("adam", "rmsprop", "adagrad")
TRANSCENDENTAL = ("wells", "multimodal")  # exp / sin / cos: Python's may differ in a last bit


class CompiledFns(Fns):
    """Fns with the problem's compiled functions: on the problems with exp / sin / cos
    Python's math may differ from LLVM's in a last bit, and the runs that end oscillating
    at the edge of stability (most max_steps runs here) amplify that to 1e-2 and more in
    200 steps. What the twin checks is the optimizer's update and the run's rules, so it
    evaluates f there with the kernel's own machine code (tests/test_landscape_problems.py
    checks the functions themselves)."""

    def value(self, x, y):
        return self.m.value(x, y, self.c)

    def grad(self, x, y):
        return self.m.grad(x, y, self.c)

    def hessian(self, x, y):
        return self.m.hessian(x, y, self.c)

    def project_minimum(self, x, y):
        return self.m.project_minimum(x, y, self.c)


def _spec(problem, optimizer, axes, steps=200, **extra):
    spec = {"problem": problem, "optimizer": optimizer, "steps": steps, "axes": axes, **extra}
    return fastdescent.parse_spec(spec)


def _axes(gen, name, optimizer, noisy):
    axes = _start_axes(name, gen, 2)
    axes["lr"] = {"values": sorted({float(np.round(10 ** gen.uniform(-3, -0.5), 5)), 0.3})}
    if optimizer != "adagrad":
        axes["beta"] = {"values": [0.0, float(np.round(gen.uniform(0.5, 0.95), 3))]}
        axes["beta2"] = {"values": [float(np.round(gen.uniform(0.9, 0.999), 4))]}
    axes["eps"] = {"values": [1e-8, float(10 ** gen.uniform(-4, -1))]}
    if noisy:
        axes["sigma"] = {"values": [0.0, 0.5]}
        axes["seed"] = {"values": [int(gen.integers(1000))]}
    return axes


def _compare(df, spec, name, optimizer):
    module = get_problem(spec.problem)
    params = spec.problem_params
    fns = (CompiledFns if name in TRANSCENDENTAL else Fns)(name, params)
    noisy = "sigma" in spec.axes
    tail_from = spec.steps - math.ceil(spec.metrics["tail"] * spec.steps) + 1 if noisy else None
    fmin = f_min(module, params) if noisy else 0.0
    _, s_table, _ = schedules.sweep_table(spec)
    index = schedules.row_index(spec, 0, spec.size)
    start = params["start"]
    rtol = 1e-12
    stop = spec.stop
    for row in df.itertuples():
        seed = getattr(row, "seed", 0)
        ref = simulate_adaptive_landscape(
            fns, optimizer, row.lr, getattr(row, "beta", 0.0), getattr(row, "beta2", 0.0),
            row.eps, (getattr(row, "x0", start[0]), getattr(row, "y0", 0.0)), spec.steps,
            dim=module.DIM, sigma=getattr(row, "sigma", 0.0),
            normals=lambda t, seed=seed: xi_python(seed, t), factors=s_table[index[row.traj]],
            tail_from=tail_from, fmin=fmin, grad_tol=stop["grad_tol"], radius=stop["radius"],
        )  # fmt: skip
        got = row._asdict()
        for key in ("status", "steps", "diverge_step", "basin"):
            assert got[key] == ref[key], (key, got, ref)
        assert math.isnan(got["rate"])
        keys = ["loss0", "final_loss", "x_final", "precond_sharpness"]
        keys += ["y_final"] if module.DIM == 2 else []
        keys += ["loss_tail_mean", "loss_tail_std"] if noisy else []
        for key in keys:
            tiny = 1e-13 * (1 + abs(fmin)) if key.startswith("loss_tail") else 1e-300
            if not (math.isnan(got[key]) and math.isnan(ref[key])):
                assert got[key] == pytest.approx(ref[key], rel=rtol, abs=tiny), (key, got, ref)


@pytest.mark.parametrize("noisy", [False, True], ids=["noiseless", "noisy"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("name", LANDSCAPES)
def test_engine_equals_the_twin(name, optimizer, noisy):
    """Random small grids (starts, lr with 0.3 that often leaves, beta 0 and not, eps),
    with noise or not: status, steps, diverge_step, basin exactly; rate NaN; the floats
    to 1e-12 (``CompiledFns`` on the problems with exp / sin / cos)."""
    gen = np.random.default_rng(zlib.crc32(f"adaptive-{name}-{optimizer}-{noisy}".encode()))
    axes = _axes(gen, name, optimizer, noisy)
    spec = _spec(name, optimizer, axes, **({"metrics": {"tail": 0.3}} if noisy else {}))
    df = fastdescent.run(spec, progress=False, chunk_size=5)
    assert set(df.status) & {"converged", "max_steps"}
    _compare(df, spec, name, optimizer)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_schedules_equal_the_twin(optimizer):
    """A cosine schedule, noisy and not, on Rosenbrock and the 1-D quartic."""
    for name in ("rosenbrock", "quartic"):
        gen = np.random.default_rng(zlib.crc32(f"sched-{name}-{optimizer}".encode()))
        axes = _axes(gen, name, optimizer, True)
        spec = _spec(name, optimizer, axes, steps=150, schedule={"kind": "cosine"})
        _compare(fastdescent.run(spec, progress=False, chunk_size=3), spec, name, optimizer)


def test_same_bytes_across_threads_and_chunks():
    gen = np.random.default_rng(3)
    axes = _axes(gen, "himmelblau", "adam", True)
    axes["x0"] = {"values": [-4.0, -1.0, 0.5, 3.0]}
    spec = _spec("himmelblau", "adam", axes, steps=300)
    a = fastdescent.run(spec, progress=False, chunk_size=3, threads=1)
    b = fastdescent.run(spec, progress=False, chunk_size=1000, threads=2)
    assert_same_numbers(a, b)


def test_one_dimensional_problems_leave_y_out():
    """The quartic is 1-D: y has no gradient, so with eps = 0 PyTorch's rule would divide
    0 by 0 there; y is not a coordinate of the run and stays 0, and the runs converge."""
    axes = {"lr": {"values": [0.01, 0.05]}, "eps": {"values": [0.0]}, "x0": {"values": [1.5]}}
    for optimizer in OPTIMIZERS:
        df = fastdescent.run(_spec("quartic", optimizer, axes, steps=3000), progress=False)
        assert np.isfinite(df.x_final).all() and "y_final" not in df
        assert (df.status != "diverged").all(), df


def test_replay_and_record_equal_the_sweep(tmp_path):
    """[record] and replay on an adaptive landscape sweep, noisy, with a schedule: the
    recorded rows end at the sweep's final state, bit for bit."""
    axes = {"lr": {"values": [0.003, 0.03]}, "x0": {"values": [-1.5, 0.3]},
            "sigma": {"values": [0.0, 0.5]}, "seed": {"values": [4]}}  # fmt: skip
    for optimizer in OPTIMIZERS:
        spec = _spec("rosenbrock", optimizer, axes, steps=300, schedule={"kind": "cosine"},
                     record={"every": 7})  # fmt: skip
        out = fastdescent.run(spec, out=tmp_path / optimizer, progress=False, chunk_size=3)
        assert_recorded_runs_end_at_the_sweep(out, [("x", "x_final"), ("y", "y_final")])


@numba.njit(error_model="numpy")  # the project's kernels' model (fastdescent._jit)
def _adam_lanes(nl, U, go, ets):
    block._adaptive_lanes(ADAM, nl, U, go, ets, True)


def test_adaptive_update_is_packed_vector_code():
    """The update's lane loops compile to packed square roots and divisions."""
    if not numba.config.ENABLE_AVX:
        pytest.skip("no AVX on this machine")
    nl = 64
    U = tuple(np.full(nl, 0.5) for _ in range(15))
    _adam_lanes(nl, U, np.ones(nl, np.bool_), np.ones(nl))
    asm = next(iter(_adam_lanes.inspect_asm().values()))
    packed = [ln for ln in asm.splitlines() if re.match(r"\s+v(sqrt|div)pd\s", ln)]
    assert len(packed) >= 3, len(packed)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_runs_near_a_minimum_settle_at_the_edge(optimizer):
    """Near a minimum a landscape is its quadratic model, so runs without momentum that
    do not converge (grad_tol 0) settle where the preconditioned sharpness (the largest
    eigenvalue of D^-1/2 H D^-1/2 at the final point) is at the frozen iteration's edge,
    2 / eta, as on quadratics: the flip orbit along the sharpest preconditioned direction.
    Rosenbrock's Hessian at (1, 1) is not diagonal, so this tests the eigenvalue form.
    The orbit is not exactly a flip here: measured 1.001, 1.003 and 1.010 at eta = 0.001,
    0.003, 0.01 (and 0.990 once), the gap growing with the orbit's amplitude (the cubic
    terms of f); asserted within 2 %."""
    axes = {"lr": {"values": [0.001, 0.003, 0.01]}, "beta": {"values": [0.0]},
            "beta2": {"values": [0.9, 0.99]}, "x0": {"values": [0.9]},
            "y0": {"values": [0.8]}}  # fmt: skip
    spec = _spec("rosenbrock", optimizer, axes, steps=20000, stop={"grad_tol": 0.0})
    df = fastdescent.run(spec, progress=False)
    assert (df.status == "max_steps").all()
    ratio = df.precond_sharpness / adaptive_edge(optimizer, df.lr, df.beta)
    assert np.allclose(ratio, 1.0, rtol=0, atol=0.02), ratio.tolist()
    assert (np.hypot(df.x_final - 1, df.y_final - 1) < 0.05).all()


def test_check_adaptive_on_a_landscape_reports_the_rows_near_a_minimum():
    """check_adaptive on a landscape checks nothing (H is not diagonal: the edge holds in
    a settled orbit only) and reports the max_steps rows without momentum: those that end
    within NEAR of a listed minimum with their range against the edge, the others apart.
    On a quadratic the same row 10 % above the edge fails (tests/test_adaptive.py)."""
    import pandas as pd

    from fastdescent.checks_adaptive import NEAR, check_adaptive

    spec = _spec("rosenbrock", "adam", {"lr": {"values": [0.01]}, "beta": {"values": [0.0]}})
    edge = adaptive_edge("adam", 0.01, 0.0)

    def table(x, ratio):
        return pd.DataFrame({"traj": [0], "lr": [0.01], "beta": [0.0], "eta": [0.01],
                             "status": ["max_steps"], "x_final": [x], "y_final": [1.0],
                             "precond_sharpness": [ratio * edge]})  # fmt: skip

    near = check_adaptive(table(1.0 + NEAR / 2, 1.1), spec).results[0]
    far = check_adaptive(table(1.0 + 2 * NEAR, 1.1), spec).results[0]
    assert near.checked == near.failed == 0 and far.checked == far.failed == 0
    assert any("on rosenbrock" in n and "1 max_steps rows, 0 of them at the edge" in n
               and "from 1.1 to 1.1" in n for n in near.notes), near.notes  # fmt: skip
    assert any("farther than" in note for note in far.notes)
    assert any("0 max_steps rows" in n for n in far.notes if "on rosenbrock" in n)
