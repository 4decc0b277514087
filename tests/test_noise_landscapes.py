"""Gradient noise on the landscapes (axes.sigma on the general lane kernel,
fastdescent.kernels.lanes): the kernel against a per-trajectory Python twin that draws
its normals from a plain-Python Philox (tests/test_rng.py), reproducibility, sigma = 0
rows equal to the noiseless sweep's bytes, common random numbers, and the saddle's
noise-driven escape time against the linear-instability law."""

from __future__ import annotations

import itertools
import math
import re
import zlib

import numba
import numpy as np
import pytest
from helpers import assert_same_numbers
from naive import BASIN_DISTANCE as NAIVE_BASIN_DISTANCE
from naive import MAX_FLOAT, listed_basin, simulate_landscape
from naive_rng import MASK, philox_python
from test_lanes import LANDSCAPES, OPTIMIZERS, RATE_RTOL, Fns, _start_axes

import fastdescent
from fastdescent import rng
from fastdescent.kernels import block, lanes
from fastdescent.lane_engine import f_min
from fastdescent.problems import get_problem
from fastdescent.spec import SpecError

SETTLE = 1000  # as lanes.SETTLE


def xi_python(seed, t):
    """(xi_{t,0}, xi_{t,1}): rng.normal(seed, STREAM_NOISE, t, 0 / 1) from the paper's
    Philox in Python integers and Box-Muller as rng documents it."""
    w = philox_python([t, 0, rng.STREAM_NOISE, 0], [seed & MASK, seed >> 32])
    u1 = float(w[0] + 1) * 2.0**-32
    u2 = float(w[1]) * 2.0**-32
    r = math.sqrt(-2.0 * math.log(u1))
    a = 2.0 * math.pi * u2
    return r * math.cos(a), r * math.sin(a)


def simulate_noisy(fns, optimizer, eta, beta, start, steps, sigma, seed, tail_from, fmin,
                   dim=2, grad_tol=1e-10, radius=1e6):  # fmt: skip
    """One trajectory with gradient noise, a course notebook's loop: at every t, the
    tail's excess loss of w_t (t >= tail_from, finite), the stop rules (left; converged
    only without noise; max_steps), then the update with g + sigma xi_t (Nesterov: at
    the look-ahead point). A noisy run that reaches max_steps gets the basin of where
    it settles without noise (at most SETTLE noiseless steps, then Newton's polish)."""
    x, y = float(start[0]), float(start[1])
    x0, y0 = x, y
    vx = vy = 0.0
    f0 = fns.value(x, y)
    n = mean = m2 = 0.0
    status, t_stop = "max_steps", steps
    for t in range(steps + 1):
        gx, gy = fns.grad(x, y)
        g2 = gx * gx + gy * gy
        e = fns.value(x, y) - fmin
        if t >= tail_from and abs(e) <= MAX_FLOAT:
            n += 1.0
            delta = e - mean
            mean += delta / n
            m2 += delta * (e - mean)
        dx, dy = x - x0, y - y0
        if not (dx * dx + dy * dy <= radius * radius) or not (g2 <= MAX_FLOAT):
            status, t_stop = "left", t
            break
        if sigma == 0.0 and g2 <= grad_tol * grad_tol:
            status, t_stop = "converged", t
            break
        if t == steps:
            break
        if sigma != 0.0:
            zx, zy = xi_python(seed, t)
            gx = gx + sigma * zx
            gy = gy + sigma * (zy if dim == 2 else 0.0)
        if optimizer == "gd":
            x, y = x - eta * gx, y - eta * gy
            continue
        if optimizer == "nesterov":
            gx, gy = fns.grad(x + beta * vx, y + beta * vy)
            if sigma != 0.0:
                gx = gx + sigma * zx
                gy = gy + sigma * (zy if dim == 2 else 0.0)
        vx = beta * vx - eta * gx
        vy = beta * vy - eta * gy
        x, y = x + vx, y + vy
    f = fns.value(x, y)
    out = {
        "status": status, "steps": t_stop, "diverge_step": -1, "loss0": f0, "final_loss": f,
        "x_final": x, "y_final": y, "basin": -1, "rate": math.nan,
        "loss_tail_mean": mean if n > 0 else math.nan,
        "loss_tail_std": math.sqrt(m2 / n) if n > 0 else math.nan,
    }  # fmt: skip
    if status == "left":
        out["status"] = "escaped" if f < f0 else "diverged"
        out["diverge_step"] = t_stop
    elif status == "converged" or sigma != 0.0:  # converged: the settling loop stops at once
        out["basin"] = _settled_basin(fns, optimizer, eta, beta, x, y, vx, vy, x0, y0,
                                      grad_tol, radius)  # fmt: skip
    return out


def _settled_basin(fns, optimizer, eta, beta, x, y, vx, vy, x0, y0, grad_tol, radius):
    """Without noise from (w, v): the noiseless stop rules (left: -1; converged; at most
    SETTLE steps), then Newton's polish and the listed minimum within BASIN_DISTANCE."""
    for k in range(SETTLE + 1):
        gx, gy = fns.grad(x, y)
        g2 = gx * gx + gy * gy
        dx, dy = x - x0, y - y0
        if not (dx * dx + dy * dy <= radius * radius) or not (g2 <= MAX_FLOAT):
            return -1
        if g2 <= grad_tol * grad_tol or k == SETTLE:
            break
        if optimizer == "gd":
            x, y = x - eta * gx, y - eta * gy
            continue
        if optimizer == "nesterov":
            gx, gy = fns.grad(x + beta * vx, y + beta * vy)
        vx = beta * vx - eta * gx
        vy = beta * vy - eta * gy
        x, y = x + vx, y + vy
    return listed_basin(fns, x, y)[0]


def noisy_spec(problem, optimizer="gd", steps=300, axes=None, tail=0.5, stop=None, **params):
    spec = {"problem": problem, "optimizer": optimizer, "steps": steps, "axes": axes or {},
            "metrics": {"tail": tail}}  # fmt: skip
    if params:
        spec["problem_params"] = params
    if stop:
        spec["stop"] = stop
    spec["axes"].setdefault("lr", {"values": [0.01]})
    spec["axes"].setdefault("sigma", {"values": [0.1]})
    return fastdescent.parse_spec(spec)


def test_constants_agree_with_the_kernel():
    assert lanes.SETTLE == SETTLE and lanes.BASIN_DISTANCE == NAIVE_BASIN_DISTANCE


def test_python_normals_are_rngs():
    for seed in (0, 1, 7, 2**33 + 5):
        for t in (0, 1, 999, 2**20):
            want = (
                rng.normal(seed, rng.STREAM_NOISE, t, 0),
                rng.normal(seed, rng.STREAM_NOISE, t, 1),
            )
            assert xi_python(seed, t) == pytest.approx(want, rel=1e-14, abs=1e-300)
            assert rng.normal_pair(seed, rng.STREAM_NOISE, t) == want


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("name", LANDSCAPES)
def test_kernel_matches_noisy_twin(name, optimizer):
    """Random small grids with sigma in {0, small, large}: status, steps, diverge_step,
    basin exactly; floats and the tail columns to 1e-12 (the tail also to 1e-13 (1 + |f_min|)
    absolute: f - f_min cancels near a minimum), (wells, multimodal: 1e-9, their
    exp / sin / cos in Python may differ from the compiled ones in the last bit, and a
    noisy path carries such differences along); sigma = 0 rows' rate as the noiseless
    twin's, NaN with noise."""
    gen = np.random.default_rng(zlib.crc32(f"noisy-{name}-{optimizer}".encode()))
    axes = _start_axes(name, gen, 3)
    axes["lr"] = {"values": [2e-3, 2e-2]}
    axes["sigma"] = {"values": [0.0, 0.05, 1.0]}
    axes["seed"] = {"values": sorted(int(s) for s in gen.choice(1000, 2, replace=False))}
    if optimizer != "gd":
        axes["beta"] = {"values": [0.0, 0.8]}
    spec = noisy_spec(name, optimizer, steps=240, axes=axes, tail=0.3)
    df = fastdescent.run(spec, progress=False, chunk_size=41)
    module = get_problem(name)
    params = spec.problem_params
    fns = Fns(name, params)
    fmin = f_min(module, params)
    tail_from = spec.steps - math.ceil(0.3 * spec.steps) + 1
    start = params["start"]
    rtol = 1e-9 if name in ("wells", "multimodal") else 1e-12
    for row in df.itertuples():
        x0 = getattr(row, "x0", start[0])
        y0 = getattr(row, "y0", start[1] if len(start) > 1 else 0.0)
        beta = getattr(row, "beta", 0.0)
        ref = simulate_noisy(fns, optimizer, row.lr, beta, (x0, y0), spec.steps, row.sigma,
                             row.seed, tail_from, fmin, dim=module.DIM)  # fmt: skip
        got = row._asdict()
        for key in ("status", "steps", "diverge_step", "basin"):
            assert got[key] == ref[key], (key, got, ref)
        floats = ["loss0", "final_loss", "x_final", "loss_tail_mean", "loss_tail_std"]
        floats += ["y_final"] if module.DIM == 2 else []
        for key in floats:
            # the excess loss f - f_min cancels near a minimum: its rounding is ~1e-16 |f_min|
            tiny = 1e-13 * (1 + abs(fmin)) if key.startswith("loss_tail") else 1e-300
            if not (math.isnan(got[key]) and math.isnan(ref[key])):
                assert got[key] == pytest.approx(ref[key], rel=rtol, abs=tiny), (key, got, ref)
        if row.sigma != 0.0:
            assert math.isnan(got["rate"]) and got["status"] != "converged"
        else:
            plain = simulate_landscape(fns, optimizer, row.lr, beta, (x0, y0), spec.steps)
            assert got["basin"] == plain["basin"]
            if math.isnan(plain["rate"]):
                assert math.isnan(got["rate"])
            else:
                assert got["rate"] == pytest.approx(plain["rate"], rel=RATE_RTOL.get(name, 1e-12))


def _wells_grid():
    return noisy_spec(
        "wells", "heavy_ball", steps=700, tail=0.5,
        axes={"lr": {"values": [0.05, 0.2]}, "beta": {"values": [0.0, 0.7]},
              "sigma": {"values": [0.0, 0.3, 2.0]}, "seed": {"values": [0, 1, 2]},
              "x0": {"start": -3.0, "stop": 3.0, "num": 5},
              "y0": {"start": -3.0, "stop": 3.0, "num": 4}},
    )  # fmt: skip


def test_same_bytes_whatever_threads_chunks_and_table(monkeypatch):
    """Threads 1 / 2, chunk sizes, and the noise table against drawing on the fly
    (TABLE_BYTES = 0): the same bytes."""
    spec = _wells_grid()
    a = fastdescent.run(spec, progress=False, threads=1, chunk_size=spec.size)
    b = fastdescent.run(spec, progress=False, threads=2, chunk_size=53)
    assert_same_numbers(a, b)
    monkeypatch.setattr(rng, "TABLE_BYTES", 0)
    assert rng.build_table(np.array([0, 1]), spec.steps, 2).shape == (0, 0, 2)
    c = fastdescent.run(spec, progress=False, threads=2, chunk_size=97)
    assert_same_numbers(a, c)
    noisy = a[a.sigma > 0]
    assert (noisy.status != "converged").all() and noisy.rate.isna().all()
    assert noisy.loss_tail_mean.notna().all()
    # seeds differ: at every other grid point, the three seeds end in three places
    ends = noisy.groupby(["lr", "beta", "sigma", "x0", "y0"]).x_final.nunique()
    assert (ends == 3).all()


def test_sigma_zero_rows_are_the_noiseless_sweeps_bytes():
    noisy = _wells_grid()
    raw = noisy.to_dict()
    del raw["axes"]["sigma"], raw["metrics"]
    plain = fastdescent.parse_spec(raw)
    a = fastdescent.run(noisy, progress=False)
    b = fastdescent.run(plain, progress=False)
    assert "loss_tail_mean" in a and "loss_tail_mean" not in b
    zero = a[a.sigma == 0.0].reset_index(drop=True)
    assert_same_numbers(zero, b, [c for c in b.columns if c not in ("traj", "status")])
    assert set(b.status) >= {"converged"}


def test_same_seed_same_noise_at_every_grid_point():
    """One GD step on the saddle from (x0, y0): w_1 = w_0 - eta (grad f(w_0) + sigma xi_0),
    so xi_0 = ((1 - 2 eta) x0 - x_1) / (eta sigma) (and (1 + 2 eta) y0 - y_1 for y): the same
    at every (lr, sigma, x0, y0) of one seed, equal to rng.normal's, different across seeds."""
    spec = noisy_spec(
        "saddle", "gd", steps=1,
        axes={"lr": {"values": [0.1, 0.3]}, "sigma": {"values": [0.01, 0.5]},
              "seed": {"values": [3, 4]}, "x0": {"values": [-1.0, 2.0]},
              "y0": {"values": [0.5]}},
    )  # fmt: skip
    df = fastdescent.run(spec, progress=False)
    eta, sig = df.lr.to_numpy(), df.sigma.to_numpy()
    xi_x = ((1 - 2 * eta) * df.x0.to_numpy() - df.x_final.to_numpy()) / (eta * sig)
    xi_y = ((1 + 2 * eta) * df.y0.to_numpy() - df.y_final.to_numpy()) / (eta * sig)
    for seed in (3, 4):
        mask = (df.seed == seed).to_numpy()
        want = rng.normal_pair(seed, rng.STREAM_NOISE, 0)
        assert xi_x[mask] == pytest.approx(np.full(mask.sum(), want[0]), rel=1e-9)
        assert xi_y[mask] == pytest.approx(np.full(mask.sum(), want[1]), rel=1e-9)
    assert rng.normal_pair(3, 0, 0) != pytest.approx(rng.normal_pair(4, 0, 0))


def test_noise_floor_at_a_minimum_is_max_steps_in_its_basin():
    """Started exactly at Himmelblau's minimum (3, 2): without noise converged at t = 0;
    with noise max_steps, never converged, rate NaN, basin that minimum's (the run settles
    back there), and the tail's excess loss small and positive."""
    spec = noisy_spec(
        "himmelblau", "gd", steps=2000,
        axes={"lr": {"values": [0.005]}, "sigma": {"values": [0.0, 0.1]},
              "seed": {"values": [0, 1, 2, 3]}, "x0": {"values": [3.0]}, "y0": {"values": [2.0]}},
    )  # fmt: skip
    df = fastdescent.run(spec, progress=False)
    index = next(m.index for m in get_problem("himmelblau").minima({}) if m.location == (3, 2))
    plain, noisy = df[df.sigma == 0], df[df.sigma > 0]
    assert (plain.status == "converged").all() and (plain.steps == 0).all()
    assert (plain.basin == index).all()
    assert (noisy.status == "max_steps").all() and noisy.rate.isna().all()
    assert (noisy.basin == index).all()
    assert (noisy.loss_tail_mean > 0).all() and (noisy.loss_tail_mean < 1e-2).all()


def test_landscape_schema_has_the_tail_columns():
    from fastdescent.engine import schema_for

    spec = noisy_spec("rosenbrock")
    names = schema_for(spec, "x").names
    assert {"loss_tail_mean", "loss_tail_std", "basin", "x_final"} <= set(names)
    raw = spec.to_dict()
    del raw["axes"]["sigma"], raw["metrics"]
    assert "loss_tail_mean" not in schema_for(fastdescent.parse_spec(raw), "x").names
    with pytest.raises(SpecError, match="dtype"):
        fastdescent.parse_spec({**spec.to_dict(), "dtype": "float32"})


# ---- the saddle: noise-driven escape from the stable manifold

ETA = 0.1
RADIUS = 1.0
SIGMAS = (1e-9, 1e-6, 1e-3)
SEEDS = 200


def predicted_escape_steps(sigma, eta=ETA, radius=RADIUS, samples=1_000_000):
    """Mean and standard deviation of the escape step of GD on x^2 - y^2 from (0, 0).

    y_{t+1} = (1 + 2 eta) y_t - eta sigma xi_t (the gradient in y is -2y), y_0 = 0, so
    y_t = a^t A_t with a = 1 + 2 eta and A_t = -eta sigma sum_{s<t} a^(-1-s) xi_s, which
    converges to a Gaussian A with variance eta^2 sigma^2 / (a^2 - 1) (geometric sum);
    A_t differs from A by a^-t of its size, and x_t stays of order sigma sqrt(eta) << R.
    The run leaves the radius R at the first t with a^t |A| > R:
    T = floor(log(R / |A|) / log a) + 1. Its distribution, from the exact law of |A|
    (a fixed-seed Monte Carlo of Z ~ N(0, 1), 1e6 samples: its own error is ~0.01 step).
    """
    a = 1 + 2 * eta
    amp = eta * sigma / math.sqrt(a * a - 1)
    z = np.abs(np.random.default_rng(0).standard_normal(samples))
    t = np.floor(np.log(radius / (amp * z)) / math.log(a)) + 1
    return float(t.mean()), float(t.std())


@pytest.fixture(scope="module")
def saddle_runs():
    spec = noisy_spec(
        "saddle", "gd", steps=1000, stop={"grad_tol": 1e-10, "radius": RADIUS},
        axes={"lr": {"values": [ETA]}, "sigma": {"values": [0.0, *SIGMAS]},
              "seed": {"start": 0, "stop": SEEDS - 1, "num": SEEDS},
              "x0": {"values": [0.0, 0.5]}, "y0": {"values": [0.0]}},
    )  # fmt: skip
    return fastdescent.run(spec, progress=False)


def test_saddle_noiseless_runs_never_escape(saddle_runs):
    plain = saddle_runs[saddle_runs.sigma == 0]
    assert (plain.status == "converged").all() and (plain.y_final == 0.0).all()
    noisy = saddle_runs[saddle_runs.sigma > 0]
    assert (noisy.status == "escaped").all()
    assert (noisy.diverge_step == noisy.steps).all()


def test_saddle_escape_time_follows_the_linear_instability_law(saddle_runs):
    """From (0, 0) the mean escape step over 200 seeds equals the law's within 4 of its
    standard errors (the law's spread over seeds, ~1.1 / log(1 + 2 eta) = 6 steps, over
    sqrt(200)): ~1.7 steps, while the three noise levels are log(1000) / log(1.2) = 38
    steps apart. With common random numbers the escape is exactly linear in sigma (the
    saddle is linear): each seed's escape step moves by log(1000) / log(1 + 2 eta) steps
    per factor 1000 in sigma, to within one step (the rounding up to a whole step)."""
    runs = saddle_runs[(saddle_runs.sigma > 0) & (saddle_runs.x0 == 0.0)]
    per = {}
    for sigma in SIGMAS:
        steps = runs[runs.sigma == sigma].sort_values("seed").steps.to_numpy()
        assert len(steps) == SEEDS
        mean, sd = predicted_escape_steps(sigma)
        se = sd / math.sqrt(SEEDS)
        print(f"sigma {sigma:g}: mean escape step {steps.mean():.2f}, law {mean:.2f} "
              f"+- {se:.2f} (sd {steps.std():.2f}, law {sd:.2f})")  # fmt: skip
        assert abs(steps.mean() - mean) < 4 * se, (sigma, steps.mean(), mean, se)
        assert steps.std() == pytest.approx(sd, rel=0.25)
        per[sigma] = steps
    shift = math.log(1000) / math.log(1 + 2 * ETA)
    for lo, hi in itertools.pairwise(SIGMAS):
        assert np.all(np.abs(per[lo] - per[hi] - shift) <= 1.0), (lo, hi)


@numba.njit
def _rosenbrock_gd_noisy_block(nl, L, ts, live, c, nz):
    block.block_noisy(3, 0, nl, L, ts, live, c, 10**9, 0.0, 1e12, nz, (10, 0.0))


def test_noisy_block_is_packed_vector_code():
    """The noisy block (noise loads, sigma masks, the tail's Welford update) still
    compiles to packed SIMD arithmetic."""
    if not numba.config.ENABLE_AVX:
        pytest.skip("no AVX on this machine")
    nl = 32
    state = tuple(np.zeros(nl) for _ in range(24))
    nz = (np.zeros((block.B, nl)), np.zeros((block.B, nl)), np.zeros((block.B, nl)))
    args = (nl, state, np.zeros(nl, np.int64), np.ones(nl, np.bool_), np.array([1.0, 100.0]))
    _rosenbrock_gd_noisy_block(*args, nz)
    asm = next(iter(_rosenbrock_gd_noisy_block.inspect_asm().values()))
    packed = [
        ln for ln in asm.splitlines() if re.match(r"\s+v(mul|add|sub|div)pd\s+.*\b[yz]mm\d", ln)
    ]
    print(f"{len(packed)} packed float64 instructions")
    assert len(packed) >= 15, len(packed)


def test_check_landscape_checks_the_noiseless_rows_of_a_noisy_sweep():
    """check_theory's landscape checks take the sigma = 0 rows (local theory is
    noiseless) and say how many noisy rows they left out; the noisy rows' basins (set on
    max_steps runs) are not failures."""
    from fastdescent.checks_landscape import check_landscape

    spec = noisy_spec(
        "himmelblau", "gd", steps=600,
        axes={"lr": {"values": [0.005]}, "sigma": {"values": [0.0, 0.5]},
              "seed": {"values": [0, 1]}, "x0": {"start": -4.0, "stop": 4.0, "num": 4},
              "y0": {"start": -4.0, "stop": 4.0, "num": 4}},
    )  # fmt: skip
    df = fastdescent.run(spec, progress=False)
    noisy = df[df.sigma > 0]
    assert (noisy.status == "max_steps").all() and (noisy.basin >= 0).all()
    report = check_landscape(df, spec.to_dict())
    assert report.ok, report.format()
    assert "32 rows with gradient noise (sigma > 0) not checked" in report.format()


@pytest.mark.parametrize("d", [1, 2, 3, 5, 8])
def test_noise_tables_hold_rngs_normals(d):
    """rng.noise_table (parallel), noise_table_serial and build_table: entry [k, t, i] is
    rng.normal(seed_k, STREAM_NOISE, t, i), bit for bit (d = 2 takes one Box-Muller per
    step, the others normals4); build_table refuses what exceeds TABLE_BYTES."""
    seeds = np.array([0, 3, 2**33 + 1], dtype=np.int64)
    steps = 40
    want = np.array([[[rng.normal(s, rng.STREAM_NOISE, t, i) for i in range(d)]
                      for t in range(steps)] for s in seeds])  # fmt: skip
    par, ser = np.empty((3, steps, d)), np.empty((3, steps, d))
    rng.noise_table(seeds, rng.STREAM_NOISE, steps, d, par)
    rng.noise_table_serial(seeds, rng.STREAM_NOISE, steps, d, ser)
    for got in (par, ser, rng.build_table(seeds, steps, d)):
        assert np.array_equal(got.view(np.int64), want.view(np.int64))
    assert rng.table_fits(3, steps, d) and not rng.table_fits(rng.TABLE_BYTES // 8, 2, d)
