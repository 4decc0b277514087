"""Axis values are never materialised beyond what a chunk needs.

- ``SweepSpec.axis_take`` is bit-identical to NumPy's np.linspace / np.geomspace (and
  the exact integer seed ranges) indexed at the same points;
- ``Engine`` runs a long axis in windows (``Engine.MATERIALISE_MAX``): the results do not
  depend on it, bit for bit, and a grid of 2**40 trajectories runs chunks at its start,
  middle and end with bounded memory, equal to a direct evaluation of the same
  trajectories on a small spec that lists just their axis values.
"""

from __future__ import annotations

import math
import tracemalloc
import warnings

import numpy as np
import pytest
from helpers import assert_same_numbers, quadratic_spec
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fastdescent
from fastdescent.engine import Engine
from fastdescent.spec import SpecWarning, parse_spec

SLOTS = ("lr", "beta", "kappa", "seed")


def same_bits(x, y):
    """Equal arrays, bit for bit (so NaN == NaN and 0.0 != -0.0)."""
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == y.shape and x.dtype == y.dtype, (x.shape, y.shape, x.dtype, y.dtype)
    if x.dtype.kind == "f":
        return np.array_equal(x.view(np.int64), y.view(np.int64))
    return np.array_equal(x, y)


def hb_spec(**axes):
    """A heavy-ball spec with the given axes (lr defaults to one value)."""
    axes.setdefault("lr", {"values": [0.1]})
    raw = {"problem": "quadratic", "optimizer": "heavy_ball", "steps": 10, "axes": axes}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)  # beta outside [0, 1)
        return parse_spec(raw)


def sample_indices(num, rng, k=4000):
    """All indices of a short axis; else both ends, their neighbours and k random ones."""
    if num <= k:
        return np.arange(num, dtype=np.int64)
    ends = np.array([0, 1, 2, num // 2, num - 3, num - 2, num - 1], dtype=np.int64)
    return np.concatenate([ends, rng.integers(0, num, k, dtype=np.int64)])


# ---------------------------------------------------------------- axis_take == NumPy

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
positive = st.floats(min_value=5e-324, max_value=1.7976931348623157e308)
nums = st.one_of(st.sampled_from([1, 2, 3]), st.integers(1, 3000))


@settings(max_examples=400, deadline=None)
@given(start=finite, stop=finite, num=nums, seed=st.integers(0, 2**32 - 1))
@example(start=0.0, stop=1.0, num=1, seed=0)
@example(start=-1e308, stop=1e308, num=5, seed=0)  # stop - start overflows: NaN, infs
@example(start=5e-324, stop=1.5e-323, num=7, seed=0)  # subnormal steps
@example(start=1e-320, stop=1e-320, num=3, seed=0)  # step 0
@example(start=1e300, stop=-1e300, num=4, seed=0)
@example(start=-0.0, stop=-0.0, num=2, seed=0)
@example(start=2.0, stop=-3.0, num=1, seed=0)
def test_linear_take_is_linspace(start, stop, num, seed):
    spec = hb_spec(beta={"start": start, "stop": stop, "num": num})
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        full = np.linspace(start + 0.0, stop + 0.0, num)  # specs store -0.0 as 0.0
    idx = sample_indices(num, rng)
    assert same_bits(spec.axis_take("beta", idx), full[idx])
    rng.shuffle(idx)
    assert same_bits(spec.axis_take("beta", idx), full[idx])


@settings(max_examples=400, deadline=None)
@given(start=positive, stop=positive, num=nums, seed=st.integers(0, 2**32 - 1))
@example(start=1.0, stop=1e4, num=64, seed=0)
@example(start=1e4, stop=1.0, num=3, seed=0)
@example(start=5e-324, stop=1.7976931348623157e308, num=1000, seed=0)
@example(start=3.0, stop=3.0, num=5, seed=0)
@example(start=0.5, stop=2.0, num=1, seed=0)
def test_log_take_is_geomspace(start, stop, num, seed):
    spec = hb_spec(lr={"start": start, "stop": stop, "num": num, "scale": "log"})
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        full = np.geomspace(start, stop, num)
    idx = sample_indices(num, rng)
    assert same_bits(spec.axis_take("lr", idx), full[idx])
    rng.shuffle(idx)
    assert same_bits(spec.axis_take("lr", idx), full[idx])


@pytest.mark.parametrize("num", [2**20 + 1, 1_000_003])
@pytest.mark.parametrize(
    "start, stop",
    [(0.01, 4.0), (4.0, 0.01), (1.0, 1e4), (1e-300, 1e300), (3.0, 3.0), (1e-8, 1.000001e-8)],
)
def test_take_on_large_axes(start, stop, num):
    rng = np.random.default_rng(num)
    idx = sample_indices(num, rng, k=20_000)
    lin = hb_spec(beta={"start": -start, "stop": stop, "num": num})
    assert same_bits(lin.axis_take("beta", idx), np.linspace(-start, stop, num)[idx])
    log = hb_spec(lr={"start": start, "stop": stop, "num": num, "scale": "log"})
    assert same_bits(log.axis_take("lr", idx), np.geomspace(start, stop, num)[idx])
    kappa = parse_spec(
        {
            "problem": "quadratic",
            "optimizer": "gd",
            "steps": 5,
            "axes": {
                "lr": {"values": [0.1]},
                "kappa": {"start": 1 + start, "stop": 1 + stop, "num": num, "scale": "log"},
            },
        }
    )
    expected = np.geomspace(1 + start, 1 + stop, num)[idx]
    assert same_bits(kappa.axis_take("kappa", idx), expected)


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(0, 2**62),
    step=st.integers(0, 2**40),
    num=st.one_of(st.sampled_from([1, 2, 3]), st.integers(1, 10**15)),
    seed=st.integers(0, 2**32 - 1),
)
def test_seed_take_is_exact(start, step, num, seed):
    step = 0 if num == 1 else min(step, (2**63 - 1 - start) // (num - 1))
    stop = start + step * (num - 1)
    spec = hb_spec(seed={"start": start, "stop": stop, "num": num})
    rng = np.random.default_rng(seed)
    idx = sample_indices(num, rng, k=500)
    got = spec.axis_take("seed", idx)
    assert got.dtype == np.int64
    assert got.tolist() == [start + int(i) * step for i in idx]  # exact integers


def test_take_of_values_axes_and_index_rules():
    spec = hb_spec(
        beta={"values": [0.5, 0.0, 0.25]},
        seed={"values": [7, 3]},
        kappa={"start": 1.0, "stop": 2.0, "num": 5},
    )
    idx = np.array([2, 0, 0, 1], dtype=np.int64)
    assert same_bits(spec.axis_take("beta", idx), np.array([0.25, 0.5, 0.5, 0.0]))
    assert same_bits(spec.axis_take("seed", np.array([1, 0])), np.array([3, 7], dtype=np.int64))
    # the shape of idx is kept; negative indices count from the end, as in NumPy
    two_d = np.array([[0, 4], [-1, -5]])
    assert same_bits(spec.axis_take("kappa", two_d), np.linspace(1.0, 2.0, 5)[two_d])
    assert spec.axis_take("kappa", np.array([], dtype=np.int64)).shape == (0,)
    with pytest.raises(IndexError):
        spec.axis_take("kappa", np.array([5]))
    with pytest.raises(IndexError):
        spec.axis_take("kappa", np.array([-6]))
    with pytest.raises(KeyError):
        spec.axis_take("sigma", np.array([0]))
    with pytest.raises(TypeError):
        spec.axis_take("kappa", np.array([0.5]))


def test_coordinates_of_a_huge_axis_are_computed_per_chunk():
    """An axis of 10**12 values: SweepSpec.coordinates needs memory O(hi - lo)."""
    num = 10**12
    h = 2.0**-40  # start + i * h is exact: linspace's step is exactly h
    spec = hb_spec(
        lr={"start": 2.0**-20, "stop": 2.0**-20 + (num - 1) * h, "num": num},
        beta={"values": [0.0, 0.5]},
    )
    assert spec.shape == (num, 2, 1, 1)
    for lo in (0, spec.size // 2 - 3, spec.size - 1000):
        cols = spec.coordinates(lo, lo + 1000)
        traj = np.arange(lo, lo + 1000, dtype=np.int64)
        assert same_bits(cols["traj"], traj)
        i_lr, i_beta, _, _ = np.unravel_index(traj, spec.shape)
        assert same_bits(cols["lr"], 2.0**-20 + i_lr * h)
        assert same_bits(cols["beta"], np.array([0.0, 0.5])[i_beta])
    assert spec.coordinates(spec.size - 1, spec.size)["lr"][0] == 2.0**-20 + (num - 1) * h


# ---------------------------------------------------------------- Engine windows


def _patched(monkeypatch, limit):
    monkeypatch.setattr(Engine, "MATERIALISE_MAX", limit)


SHAPES = {
    # name: (optimizer, dtype, problem params, axes, MATERIALISE_MAX)
    "long fastest": ("heavy_ball", "float64", {"dim": 2}, {
        "lr": {"values": [0.3, 1.1, 1.9], "relative_to": "lambda_max"},
        "beta": {"values": [0.0, 0.7]},
        "kappa": {"start": 1.0, "stop": 50.0, "num": 6, "scale": "log"},
    }, 4),
    "kappa windows of 2 (MATERIALISE_MAX // 3)": ("heavy_ball", "float64", {"dim": 2}, {
        "lr": {"values": [0.3, 1.1, 1.9], "relative_to": "lambda_max"},
        "beta": {"values": [0.0, 0.7]},
        "kappa": {"start": 1.0, "stop": 50.0, "num": 7, "scale": "log"},
    }, 7),
    "long slowest": ("heavy_ball", "float64", {"dim": 2}, {
        "lr": {"start": 0.05, "stop": 3.5, "num": 9, "relative_to": "lambda_max"},
        "beta": {"values": [0.0, 0.5, 0.9]},
        "kappa": {"values": [1.0, 30.0]},
    }, 4),
    "long middle, seeds": ("nesterov", "float64", {"dim": 2, "start": [0.3, -1.2]}, {
        "lr": {"values": [0.4, 1.5], "relative_to": "lambda_max"},
        "beta": {"start": 0.0, "stop": 0.95, "num": 7},
        "kappa": {"values": [2.0, 40.0]},
        "seed": {"start": 0, "stop": 4, "num": 3},
    }, 4),
    "all long, d = 5 log, float32": ("heavy_ball", "float32", {"dim": 5, "spectrum": "log"}, {
        "lr": {"start": 0.1, "stop": 3.0, "num": 5, "relative_to": "lambda_max"},
        "beta": {"values": [0.0, 0.3, 0.6, 0.9]},
        "kappa": {"start": 1.0, "stop": 1e3, "num": 3, "scale": "log"},
        "seed": {"values": [1, 2]},
    }, 1),
    "gd, d = 5 linear": ("gd", "float64", {"dim": 5, "spectrum": "linear"}, {
        "lr": {"start": 0.2, "stop": 2.5, "num": 7, "relative_to": "lambda_max"},
        "kappa": {"start": 1.0, "stop": 90.0, "num": 4},
    }, 3),
    "gd, float32, absolute lr": ("gd", "float32", {"dim": 2}, {
        "lr": {"start": 0.001, "stop": 0.2, "num": 11, "scale": "log"},
        "kappa": {"values": [1.0, 3.0, 10.0]},
    }, 3),
    "d = 1": ("nesterov", "float64", {"dim": 1, "start": [2.0]}, {
        "lr": {"start": 0.1, "stop": 2.9, "num": 9},
        "beta": {"values": [0.0, 0.4, 0.8, 0.99]},
    }, 3),
    "lambdas, float32": ("heavy_ball", "float32", {"lambdas": [1.0, 4.0, 25.0]}, {
        "lr": {"start": 0.01, "stop": 0.2, "num": 8},
        "beta": {"values": [0.0, 0.5, 0.8, 0.9, 0.95]},
    }, 3),
}  # fmt: skip


def _spec(case):
    optimizer, dtype, params, axes, _ = SHAPES[case]
    raw = quadratic_spec(optimizer, steps=120, axes=axes, dtype=dtype)
    raw["problem_params"] = dict(params)
    return raw


@pytest.mark.parametrize("case", list(SHAPES))
def test_windowed_runs_equal_materialised_runs(case, monkeypatch):
    raw = _spec(case)
    limit = SHAPES[case][-1]
    reference = fastdescent.run(raw, progress=False)  # every axis materialised, one call
    spec = parse_spec(raw)
    assert len(reference) == spec.size
    _patched(monkeypatch, limit)
    engine = Engine(spec)
    assert engine.long, "the case must have a long axis"
    for chunk_size in (1, 7, 13, 37, spec.size):
        df = fastdescent.run(raw, chunk_size=chunk_size, progress=False)
        assert list(df.columns) == list(reference.columns)
        assert_same_numbers(df, reference)


@settings(max_examples=150, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9), st.integers(1, 5)),
    limit=st.integers(1, 12),
    dim=st.sampled_from([1, 2, 3]),
    data=st.data(),
)
def test_pieces_decode_like_numpy(shape, limit, dim, data):
    """Each piece of a chunk: the kernel's view (shape, first id, windows of the axes'
    values) decodes every id of the piece to the grid point np.unravel_index gives."""
    axes = {
        "lr": {"start": 0.1, "stop": 2.0, "num": shape[0], "relative_to": "lambda_max"},
        "beta": {"start": 0.0, "stop": 0.9, "num": shape[1]},
        "seed": {"start": 0, "stop": shape[3] - 1, "num": shape[3]},
    }
    if dim >= 2:
        axes["kappa"] = {"start": 1.0, "stop": 100.0, "num": shape[2], "scale": "log"}
    else:
        shape = (shape[0], shape[1], 1, shape[3])
    raw = quadratic_spec("heavy_ball", steps=10, axes=axes, dim=dim)
    spec = parse_spec(raw)
    lr = np.linspace(0.1, 2.0, shape[0])
    beta = np.linspace(0.0, 0.9, shape[1])
    kappa = np.geomspace(1.0, 100.0, shape[2]) if dim >= 2 else np.ones(1)
    lam_max = np.maximum(1.0, kappa) if dim >= 2 else np.ones(1)
    old = Engine.MATERIALISE_MAX
    try:
        Engine.MATERIALISE_MAX = limit
        engine = Engine(spec)
    finally:
        Engine.MATERIALISE_MAX = old
    size = math.prod(shape)
    lo = data.draw(st.integers(0, size - 1))
    hi = data.draw(st.integers(lo, size))
    covered = lo
    for piece in engine._pieces(lo, hi):
        assert piece.a == covered < piece.b <= hi
        covered = piece.b
        local = piece.lo + np.arange(piece.b - piece.a)
        got = np.unravel_index(local, tuple(piece.shape))
        want = np.unravel_index(np.arange(piece.a, piece.b), shape)
        for s in range(4):
            assert np.array_equal(got[s] + piece.offsets[s], want[s]), s
        assert same_bits(piece.lr[got[0]], lr[want[0]])
        assert same_bits(piece.beta[got[1]], beta[want[1]])
        assert same_bits(piece.lam_max[got[2]], lam_max[want[2]])
        # the endpoints spectrum: lambda_i = 1 for i < dim // 2, else kappa; d = 1 runs as
        # d = 2 with a second eigenvalue 0
        lam = np.array([[1.0, 0.0]]) if dim == 1 else np.ones((shape[2], dim))
        if dim >= 2:
            lam[:, dim // 2 :] = kappa[:, None]
        assert same_bits(piece.lam[got[2]], lam[want[2]])
        # no table bigger than MATERIALISE_MAX entries (or one row of eigenvalues)
        assert piece.lr.size <= limit or piece.lr.size == 1
        assert piece.beta.size <= limit or piece.beta.size == 1
        assert piece.lam.size + piece.lam_max.size <= max(limit, max(dim, 2) + 1)
    assert covered == hi


# ---------------------------------------------------------------- 2**40 trajectories


def _exact_linear(start, h, n):
    """An axis start + i * h for i < n whose values are exact (dyadic start and step):
    np.linspace(start, start + (n - 1) * h, n) has step exactly h."""
    return {"start": start, "stop": start + (n - 1) * h, "num": n}, lambda i: start + i * h


def _from_numpy(values):
    return lambda i: values[i]


BIG = {
    # name: (optimizer, problem params, {axis: (spec axis, index -> its value)})
    "gd, kappa long and fastest": ("gd", {"dim": 2}, {
        "lr": _exact_linear(2.0**-4, 2.0**-15, 2**16),
        "kappa": _exact_linear(1.0, 2.0**-14, 2**24),
    }),
    "nesterov, lr long and slowest": ("nesterov", {"dim": 2}, {
        "lr": _exact_linear(2.0**-4, 2.0**-23, 2**24),
        "beta": ({"values": [0.0, 0.3, 0.6, 0.9]}, _from_numpy(np.array([0.0, 0.3, 0.6, 0.9]))),
        "kappa": ({"start": 1.0, "stop": 1e4, "num": 2**14, "scale": "log"},
                  _from_numpy(np.geomspace(1.0, 1e4, 2**14))),
    }),
    "heavy ball, beta long in the middle": ("heavy_ball", {"dim": 2, "start": [1.0, -0.5]}, {
        "lr": ({"start": 0.05, "stop": 3.0, "num": 2**8},
               _from_numpy(np.linspace(0.05, 3.0, 2**8))),
        "beta": _exact_linear(0.0, 2.0**-25, 2**24),
        "kappa": ({"start": 1.0, "stop": 1e3, "num": 2**8, "scale": "log"},
                  _from_numpy(np.geomspace(1.0, 1e3, 2**8))),
    }),
    "gd, d = 3, lr and kappa long": ("gd", {"dim": 3, "spectrum": "linear"}, {
        "lr": _exact_linear(2.0**-4, 2.0**-20, 2**21),
        "kappa": _exact_linear(1.0, 2.0**-9, 2**19),
    }),
    "heavy ball, seeds long": ("heavy_ball", {"dim": 2}, {
        "lr": ({"values": [0.5, 1.0, 1.5, 2.0]},
               _from_numpy(np.array([0.5, 1.0, 1.5, 2.0]))),
        "seed": ({"start": 0, "stop": 2**38 - 1, "num": 2**38}, lambda i: i),
    }),
    "gd, one axis of 2**40": ("gd", {"lambdas": [1.0, 3.0]}, {
        "lr": _exact_linear(2.0**-20, 2.0**-41, 2**40),
    }),
}  # fmt: skip

CHUNK = 4096


def _big_spec(case):
    optimizer, params, axes = BIG[case]
    raw = quadratic_spec(optimizer, steps=64, axes={a: ax[0] for a, ax in axes.items()})
    raw["problem_params"] = dict(params)
    if "lr" in axes and "lambdas" not in params:
        raw["axes"]["lr"] = dict(raw["axes"]["lr"], relative_to="lambda_max")
    return raw


def _positions(spec):
    """Chunk starts: the grid's start, middle and end, and across the points where each
    axis but the fastest steps to its next value (where the faster axes wrap)."""
    size = spec.size
    starts = {0, size // 3, size // 2 - CHUNK // 2, size - CHUNK}
    stride = 1
    for n in reversed(spec.shape):
        if stride > 1:
            for t in (stride, stride * max(1, n // 2)):
                if CHUNK // 2 <= t <= size - CHUNK // 2:
                    starts.add(t - CHUNK // 2)
        stride *= n
    return sorted(starts)


@pytest.mark.parametrize("case", list(BIG))
def test_grid_of_2_pow_40(case):
    raw = _big_spec(case)
    spec = parse_spec(raw)
    assert spec.size == 2**40
    axes = BIG[case][2]
    # compile (or load) the kernel before memory is measured
    Engine(parse_spec(quadratic_spec("gd", steps=64))).warm_up()

    tracemalloc.start()
    try:
        engine = Engine(spec)
        chunks = {}
        for lo in _positions(spec):
            out = engine.kernel(lo, CHUNK)
            out.update(engine.coordinates(lo, lo + CHUNK))
            chunks[lo] = out
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"

    for lo, out in chunks.items():
        traj = np.arange(lo, lo + CHUNK, dtype=np.int64)
        assert same_bits(out["traj"], traj)
        index = dict(zip(spec.axis_names, np.unravel_index(traj, spec.shape), strict=True))
        # the axis values, computed here: exact formulas or NumPy's full arrays
        for name, (_, value_of) in axes.items():
            expected = np.asarray(value_of(index[name]))
            assert same_bits(out[name], expected.astype(out[name].dtype)), name
        # a direct evaluation: a small spec whose axes list just these values
        small_raw = _big_spec(case)
        small_index = {}
        for name, (_, value_of) in axes.items():
            used = np.unique(index[name])
            values = np.asarray(value_of(used))
            small_raw["axes"][name] = {
                "values": values.tolist(),
                **(
                    {"relative_to": "lambda_max"}
                    if name == "lr" and spec.axes["lr"].get("relative_to")
                    else {}
                ),
            }
            small_index[name] = np.searchsorted(used, index[name])
        small = parse_spec(small_raw)
        small_engine = Engine(small)
        assert not small_engine.long
        ref = small_engine.kernel(0, small.size)
        ref.update(small_engine.coordinates(0, small.size))
        rows = np.ravel_multi_index(
            tuple(small_index.get(a, np.zeros(CHUNK, np.int64)) for a in small.axis_names),
            small.shape,
        )
        for key, column in out.items():
            if key == "traj":
                continue
            assert same_bits(column, ref[key][rows]), key
