"""The general lane kernel (fastdescent.kernels.lanes) against its slow twin
(naive.simulate_landscape), and the landscape runs the course describes."""

from __future__ import annotations

import math
import re
import zlib

import numba
import numpy as np
import pytest
from helpers import assert_same_numbers
from naive import simulate_landscape

import fastdescent
from fastdescent import theory
from fastdescent.kernels import block, dispatch, generate, run_block
from fastdescent.problems import get_problem
from fastdescent.spec import SpecError

LANDSCAPES = sorted(m.__name__.rsplit(".", 1)[1] for m in dispatch.MODULES.values())
OPTIMIZERS = ("gd", "heavy_ball", "nesterov")
STATUS = ("converged", "diverged", "max_steps", "escaped")
RATE_RTOL = {"wells": 1e-8, "multimodal": 1e-8}  # transcendental functions: see below


class Fns:
    """The problem's own scalar functions, run as plain Python (``py_func``), with its
    constants bound: the twin then follows the same floating-point path as the kernel."""

    def __init__(self, name, params):
        self.m = get_problem(name)
        self.c = self.m.pack(params)

    def value(self, x, y):
        return self.m.value.py_func(x, y, self.c)

    def grad(self, x, y):
        return self.m.grad.py_func(x, y, self.c)

    def hessian(self, x, y):
        return self.m.hessian.py_func(x, y, self.c)

    def project_minimum(self, x, y):
        return self.m.project_minimum.py_func(x, y, self.c)


def landscape_spec(problem, optimizer="gd", steps=400, axes=None, **params):
    spec = {"problem": problem, "optimizer": optimizer, "steps": steps, "axes": axes or {}}
    if params:
        spec["problem_params"] = params
    spec["axes"].setdefault("lr", {"values": [0.01]})
    return fastdescent.parse_spec(spec)


def _start_axes(name, rng, k):
    """A few random start points inside the problem's region."""
    module = get_problem(name)
    params = module.normalise_params({}, "problem_params")
    xmin, xmax, ymin, ymax = module.region(params)
    axes = {"x0": {"values": sorted(rng.uniform(xmin, xmax, k).tolist())}}
    if module.DIM == 2:
        axes["y0"] = {"values": sorted(rng.uniform(ymin, ymax, k).tolist())}
    return axes


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("name", LANDSCAPES)
def test_kernel_matches_twin(name, optimizer):
    """Random small grids: status, steps, basin exactly; floats to 1e-12, the rate to
    1e-12 (problems with exp, sin, cos: 1e-8; the same scalar functions run as Python
    use NumPy's, which may differ from the compiled ones in the last bit, and the rate
    fit magnifies such differences)."""
    rng = np.random.default_rng(zlib.crc32(f"{name}-{optimizer}".encode()))
    axes = _start_axes(name, rng, 4)
    axes["lr"] = {"values": [1e-3, 1e-2, 0.05]}
    if optimizer != "gd":
        axes["beta"] = {"values": [0.0, 0.6, 0.9]}
    spec = landscape_spec(name, optimizer, steps=300, axes=axes)
    df = fastdescent.run(spec, progress=False, chunk_size=37)
    fns = Fns(name, spec.problem_params)
    start = spec.problem_params["start"]
    for row in df.itertuples():
        x0 = getattr(row, "x0", start[0])
        y0 = getattr(row, "y0", start[1] if len(start) > 1 else 0.0)
        beta = getattr(row, "beta", 0.0)
        ref = simulate_landscape(fns, optimizer, row.lr, beta, (x0, y0), spec.steps)
        got = row._asdict()
        for key in ("status", "steps", "diverge_step", "basin"):
            assert got[key] == ref[key], (key, got, ref)
        for key in ("loss0", "final_loss", "x_final") + (("y_final",) if "y0" in axes else ()):
            if not (math.isnan(got[key]) and math.isnan(ref[key])):
                assert got[key] == pytest.approx(ref[key], rel=1e-12, abs=1e-300), key
        if math.isnan(ref["rate"]):
            assert math.isnan(got["rate"])
        else:
            assert got["rate"] == pytest.approx(ref["rate"], rel=RATE_RTOL.get(name, 1e-12))


def test_same_rows_whatever_threads_and_chunks(tmp_path):
    spec = landscape_spec(
        "rosenbrock",
        "heavy_ball",
        steps=2000,
        axes={
            "lr": {"values": [1e-3, 2e-3]},
            "beta": {"values": [0.5, 0.9]},
            "x0": {"start": -2.0, "stop": 2.0, "num": 9},
            "y0": {"start": -1.0, "stop": 3.0, "num": 7},
        },
    )
    a = fastdescent.run(spec, progress=False, threads=1, chunk_size=spec.size)
    b = fastdescent.run(spec, progress=False, threads=2, chunk_size=29)
    c = fastdescent.load(fastdescent.run(spec, out=tmp_path / "r", progress=False, chunk_size=50))
    assert_same_numbers(a, b)
    assert_same_numbers(a, c)


def test_saddle_escapes_along_y_at_one_plus_two_eta():
    """GD from (0.01, 0.01) on x^2 - y^2: y grows by exactly (1 + 2 eta) per step, x
    shrinks by (1 - 2 eta); it leaves the radius downhill: escaped."""
    eta = 0.1
    spec = landscape_spec(
        "saddle", "gd", steps=1000, axes={"lr": {"values": [eta]}}, start=[0.01, 0.01]
    )
    row = fastdescent.run(spec, progress=False).iloc[0]
    assert row.status == "escaped" and row.basin == -1
    t = row.steps
    assert row.diverge_step == t
    assert abs(row.y_final) > 1e6 - 1 and row.y_final == pytest.approx(0.01 * (1 + 2 * eta) ** t)
    assert row.x_final == pytest.approx(0.01 * (1 - 2 * eta) ** t, rel=1e-12)
    # the first t with |w_t - w_0| > 1e6
    assert (1 + 2 * eta) ** (t - 1) * 0.01 < 1e6 < (1 + 2 * eta) ** t * 0.01 + 0.02


@pytest.mark.parametrize("eta", [0.05, 0.3, 0.7])
def test_saddle_on_its_stable_line_converges_to_the_saddle(eta):
    """Started exactly on y = 0, GD converges to the saddle point at |1 - 2 eta| per step;
    the saddle is not a minimum, so basin = -1."""
    axes = {"lr": {"values": [eta]}}
    spec = landscape_spec("saddle", "gd", steps=5000, axes=axes, start=[1.0, 0.0])
    row = fastdescent.run(spec, progress=False).iloc[0]
    assert row.status == "converged" and row.basin == -1
    assert row.y_final == 0.0
    assert row.rate == pytest.approx(abs(1 - 2 * eta), rel=1e-6)


def _steps_to(spec_kwargs, grad_tol):
    spec = landscape_spec("rosenbrock", **spec_kwargs)
    raw = spec.to_dict()
    raw["stop"] = {"grad_tol": grad_tol, "radius": 1e6}
    return fastdescent.run(raw, progress=False).iloc[0]


def test_rosenbrock_milestone_matches_the_twin_and_momentum_is_faster():
    """The course milestone: GD from (-1, 1), eta = 0.001, 10,000 steps. End point and
    loss equal the twin's (to 1e-12); heavy ball (beta = 0.9) follows the valley to a
    gradient norm of 1e-6 in fewer steps than GD."""
    milestone = dict(optimizer="gd", steps=10_000, axes={"lr": {"values": [0.001]}})
    row = _steps_to(milestone, 1e-10)
    fns = Fns("rosenbrock", {"a": 1.0, "b": 100.0})
    ref = simulate_landscape(fns, "gd", 0.001, 0.0, (-1.0, 1.0), 10_000)
    assert row.status == "max_steps" and row.steps == 10_000
    assert row.x_final == pytest.approx(ref["x_final"], rel=1e-12)
    assert row.y_final == pytest.approx(ref["y_final"], rel=1e-12)
    assert row.final_loss == pytest.approx(ref["final_loss"], rel=1e-12)
    assert 0.0 < row.final_loss < row.loss0 == 4.0  # f(-1, 1) = 4: still on its way

    gd = _steps_to(dict(optimizer="gd", steps=200_000, axes={"lr": {"values": [0.001]}}), 1e-6)
    hb = _steps_to(
        dict(
            optimizer="heavy_ball",
            steps=200_000,
            axes={"lr": {"values": [0.001]}, "beta": {"values": [0.9]}},
        ),
        1e-6,
    )
    assert gd.status == hb.status == "converged" and gd.basin == hb.basin == 0
    assert hb.steps < gd.steps / 3
    print(f"steps to |grad| <= 1e-6 from (-1, 1), eta = 0.001: gd {gd.steps}, hb(0.9) {hb.steps}")


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_local_rate_matches_the_linearised_iteration(optimizer):
    """Runs converging to Rosenbrock's minimum: the measured rate equals the spectral
    radius of the iteration linearised there (theory.rate_direction at the Hessian's
    eigenvalues), within 1e-3 of |log rate|. The error grows as the rate nears 1: the
    window ends where |w - w*| ~ grad_tol / lambda_min, where rounding of w_t (~1e-16)
    is ~1e-6 of the error, and log rate is ~(1 - rate) small."""
    betas = [0.0] if optimizer == "gd" else [0.3, 0.8, 0.9]
    axes = {
        "lr": {"values": [1e-4, 5e-4, 1e-3, 1.9e-3]},
        "x0": {"values": [0.7, 1.2]},
        "y0": {"values": [0.6, 1.3]},
    }
    if optimizer != "gd":
        axes["beta"] = {"values": betas}
    spec = landscape_spec("rosenbrock", optimizer, steps=200_000, axes=axes)
    df = fastdescent.run(spec, progress=False)
    lam = np.linalg.eigvalsh([[802.0, -400.0], [-400.0, 200.0]])
    conv = df[df.status == "converged"]
    assert len(conv) >= len(df) // 2
    beta = conv["beta"] if optimizer != "gd" else 0.0
    want = np.maximum(
        theory.rate_direction(optimizer, conv.lr, beta, lam[0]),
        theory.rate_direction(optimizer, conv.lr, beta, lam[1]),
    )
    err = np.abs(np.log(conv.rate) - np.log(want)) / np.abs(np.log(want))
    print(f"{optimizer}: worst local-rate error {err.max():.2e} of |log rate|")
    assert err.max() < 1e-3, conv.assign(want=want, err=err).sort_values("err").tail()


def test_landscape_spec_errors():
    with pytest.raises(SpecError, match=r"stop\.tol: problem 'rosenbrock' stops by the gradient"):
        fastdescent.parse_spec(
            {"problem": "rosenbrock", "optimizer": "gd", "steps": 10, "stop": {"tol": 1e-5},
             "axes": {"lr": {"values": [0.1]}}}
        )  # fmt: skip
    with pytest.raises(SpecError, match=r"stop\.grad_tol: problem 'quadratic' stops by the loss"):
        fastdescent.parse_spec(
            {"problem": "quadratic", "optimizer": "gd", "steps": 10, "stop": {"grad_tol": 1e-5},
             "axes": {"lr": {"values": [0.1]}}}
        )  # fmt: skip
    with pytest.raises(SpecError, match=r"stop\.radius"):
        fastdescent.parse_spec(
            {"problem": "saddle", "optimizer": "gd", "steps": 10, "stop": {"radius": -1.0},
             "axes": {"lr": {"values": [0.1]}}}
        )  # fmt: skip
    with pytest.raises(SpecError, match="dtype"):
        fastdescent.parse_spec(
            {"problem": "saddle", "optimizer": "gd", "steps": 10, "dtype": "float32",
             "axes": {"lr": {"values": [0.1]}}}
        )  # fmt: skip
    with pytest.raises(SpecError, match="relative_to"):
        fastdescent.parse_spec(
            {"problem": "saddle", "optimizer": "gd", "steps": 10,
             "axes": {"lr": {"values": [0.1], "relative_to": "lambda_max"}}}
        )  # fmt: skip


@numba.njit
def _rosenbrock_gd_block(nl, L, ts, live, c):
    block.block(3, 0, nl, L, ts, live, c, 10**9, 0.0, 1e12)


def test_block_is_packed_vector_code():
    """The lane loop compiles to packed SIMD arithmetic (what makes W4 fast): the block
    for Rosenbrock and GD, as run_block inlines it."""
    if not numba.config.ENABLE_AVX:
        pytest.skip("no AVX on this machine")
    nl = 32
    lanes_state = tuple(np.zeros(nl) for _ in range(9))
    args = (nl, lanes_state, np.zeros(nl, np.int64))
    _rosenbrock_gd_block(*args, np.ones(nl, np.bool_), np.array([1.0, 100.0]))
    asm = next(iter(_rosenbrock_gd_block.inspect_asm().values()))
    packed = [ln for ln in asm.splitlines() if re.match(r"\s+v(mul|add|sub)pd\s+.*\b[yz]mm\d", ln)]
    assert len(packed) >= 15, len(packed)  # 20 on the development machine (AVX-512)


@pytest.fixture(scope="module")
def himmelblau_dir(tmp_path_factory):
    """GD on Himmelblau from a 6 x 6 start grid, written to a results directory."""
    spec = landscape_spec(
        "himmelblau",
        "gd",
        steps=2000,
        axes={
            "lr": {"values": [0.005]},
            "x0": {"start": -4.5, "stop": 4.5, "num": 6},
            "y0": {"start": -4.5, "stop": 4.5, "num": 6},
        },
    )
    out = tmp_path_factory.mktemp("himmelblau") / "r"
    return spec, fastdescent.run(spec, out=out, progress=False)


def test_parts_list_the_minima_that_basin_indexes(himmelblau_dir):
    spec, out = himmelblau_dir
    from fastdescent import store

    points = store.read_critical_points(out / "part-00000.parquet")
    module = get_problem("himmelblau")
    assert points["minima"] == [m.to_dict() for m in module.minima(spec.problem_params)]
    assert len(points["minima"]) == 4 and len(points["others"]) == 5
    df = fastdescent.load(out)
    conv = df[df.basin >= 0]
    assert set(conv.basin) == {0, 1, 2, 3}  # all four reached from this grid
    for row in conv.itertuples():
        mx, my = points["minima"][row.basin]["location"]
        assert math.hypot(row.x_final - mx, row.y_final - my) < 1e-9


def test_every_landscape_is_wired_into_the_kernel():
    """A landscape in the registry has a dispatch branch and a run_block branch (without
    the latter its lanes would never step), under its own unique code; the generated
    modules are current."""
    from fastdescent.problems import problem_names

    codes = {}
    for name in problem_names():
        module = get_problem(name)
        if getattr(module, "STOP_RULE", "loss") == "grad":
            assert module.CODE not in codes, (name, codes)
            codes[module.CODE] = module
    assert {c: m for c, m in dispatch.MODULES.items()} == codes
    assert set(run_block.BLOCK_CODES) == set(codes)
    stale = generate.stale()
    assert not stale, f"stale {stale}: run python -m fastdescent.kernels.generate"


def test_info_counts_the_runs_per_basin(himmelblau_dir, capsys):
    from fastdescent.cli import main

    _, out = himmelblau_dir
    assert main(["info", str(out)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("basins"))
    counts = fastdescent.load(out)["basin"].value_counts()
    cells = line.removeprefix("basins").strip().split("; ")
    assert cells[2].startswith("2 (3, 2) ")  # the exact minimum, as listed
    shown = [int(cell.rsplit(" ", 1)[1].replace(",", "")) for cell in cells]
    assert shown == [int(counts.get(k, 0)) for k in (0, 1, 2, 3, -1)]
