"""Sweep spec: validation messages, defaults, hashing, axis values, id <-> grid decoding."""

import hashlib
import itertools
import json
import math
import pickle
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastdescent.problems import get_problem, problem_names
from fastdescent.problems.quadratic import eigenvalues, lambda_range
from fastdescent.spec import (
    AXIS_ORDER,
    SpecError,
    SpecWarning,
    SweepSpec,
    load_toml,
    parse_spec,
)

GOOD_TOML = """\
name = "momentum-quadratic"
problem = "quadratic"
optimizer = "heavy_ball"
steps = 1000
dtype = "float64"

[problem_params]
dim = 2
spectrum = "endpoints"
start = [1.0, 1.0]

[stop]
tol = 1e-20
diverge = 1e10

[axes]
lr    = { start = 0.01, stop = 4.0, num = 256, relative_to = "lambda_max" }
beta  = { start = 0.0, stop = 0.99, num = 64 }
kappa = { start = 1, stop = 1e4, num = 64, scale = "log" }
seed  = { values = [0] }
"""


def base(**changes):
    """A small valid heavy-ball spec dict; keyword arguments replace top-level keys."""
    spec = {
        "problem": "quadratic",
        "optimizer": "heavy_ball",
        "steps": 100,
        "axes": {
            "lr": {"start": 0.1, "stop": 1.0, "num": 4},
            "beta": {"values": [0.0, 0.5]},
            "kappa": {"start": 1.0, "stop": 100.0, "num": 3, "scale": "log"},
        },
    }
    spec.update(changes)
    return spec


def with_axes(**axes):
    """base() with the given axes replaced (None removes one)."""
    spec = base()
    for name, axis in axes.items():
        if axis is None:
            spec["axes"].pop(name)
        else:
            spec["axes"][name] = axis
    return spec


def raises(pattern):
    """pytest.raises(SpecError) matching ``pattern`` literally."""
    return pytest.raises(SpecError, match=re.escape(pattern))


# ---------------------------------------------------------------- bad input, one per class

BAD = {
    "unknown top-level key": (base(stepz=10), "unknown key 'stepz'; did you mean 'steps'?"),
    "unknown key, no suggestion": (base(colour=1), "unknown key 'colour'; allowed: name, "),
    "unknown axis": (
        with_axes(betta={"values": [0.5]}),
        "unknown key 'axes.betta'; did you mean 'beta'? allowed: lr, beta",
    ),
    "unknown axis key": (
        with_axes(lr={"start": 0.1, "stop": 1, "nun": 3}),
        "unknown key 'axes.lr.nun'; did you mean 'num'?",
    ),
    "unknown stop key": (base(stop={"tolerance": 1e-9}), "unknown key 'stop.tolerance'"),
    "unknown problem param": (
        base(problem_params={"dims": 3}),
        "unknown key 'problem_params.dims'; did you mean 'dim'?",
    ),
    "steps is a string": (base(steps="100"), "steps = '100': expected an integer, got str"),
    "steps is a float": (base(steps=100.0), "steps = 100.0: expected an integer, got float"),
    "steps is a bool": (base(steps=True), "steps = True: expected an integer, got bool"),
    "steps < 1": (base(steps=0), "steps = 0: expected an integer >= 1"),
    "steps too large": (base(steps=2**31 - 1), "steps = 2147483647: expected an integer"),
    "missing steps": (
        {k: v for k, v in base().items() if k != "steps"},
        "missing required key 'steps'",
    ),
    "missing lr": (with_axes(lr=None), "missing required key 'axes.lr'"),
    "unknown problem": (base(problem="quadratc"), "problem = 'quadratc': expected one of"),
    "unknown optimizer": (base(optimizer="lbfgs"), "optimizer = 'lbfgs': expected one of gd"),
    "unknown dtype": (base(dtype="float16"), "dtype = 'float16': expected one of"),
    "name not a string": (base(name=3), "name = 3: expected a string, got int"),
    "table is a number": (base(stop=1.0), "stop = 1.0: expected a table"),
    "axis is a number": (with_axes(lr=0.1), "axes.lr = 0.1: expected a table"),
    "lr start <= 0": (
        with_axes(lr={"start": 0.0, "stop": 1, "num": 3}),
        "axes.lr.start = 0.0: expected a finite number > 0",
    ),
    "lr stop <= 0": (
        with_axes(lr={"start": 1, "stop": -2, "num": 3}),
        "axes.lr.stop = -2: expected a finite number > 0",
    ),
    "lr value <= 0": (
        with_axes(lr={"values": [0.1, -0.5]}),
        "axes.lr.values[1] = -0.5: expected a finite number > 0",
    ),
    "kappa < 1": (
        with_axes(kappa={"values": [0.5]}),
        "axes.kappa.values[0] = 0.5: expected a finite number >= 1",
    ),
    "num < 1": (
        with_axes(lr={"start": 0.1, "stop": 1, "num": 0}),
        "axes.lr.num = 0: expected an integer >= 1",
    ),
    "log scale, bound <= 0": (
        with_axes(beta={"start": 0.0, "stop": 0.9, "num": 3, "scale": "log"}),
        "axes.beta.start = 0.0: a log-scale axis needs bounds > 0",
    ),
    "unknown scale": (
        with_axes(lr={"start": 0.1, "stop": 1, "num": 3, "scale": "exp"}),
        "axes.lr.scale = 'exp': expected one of linear | log",
    ),
    "nan": (with_axes(lr={"values": [math.nan]}), "axes.lr.values[0] = nan: expected a finite"),
    "inf": (
        with_axes(lr={"start": 0.1, "stop": math.inf, "num": 3}),
        "axes.lr.stop = inf: expected a finite",
    ),
    "beta inf": (with_axes(beta={"values": [-math.inf]}), "axes.beta.values[0] = -inf"),
    "bool is not a number": (
        with_axes(beta={"values": [True]}),
        "axes.beta.values[0] = True: expected a number, got bool",
    ),
    "tol nan": (base(stop={"tol": math.nan}), "stop.tol = nan: expected a finite number >= 0"),
    "tol < 0": (base(stop={"tol": -1.0}), "stop.tol = -1.0: expected a finite number >= 0"),
    "diverge <= 0": (base(stop={"diverge": 0}), "stop.diverge = 0: expected a finite number > 1"),
    "diverge inf": (base(stop={"diverge": math.inf}), "stop.diverge = inf"),
    "axis the optimizer does not use": (
        base(optimizer="gd"),
        "axes.beta: optimizer 'gd' does not use this axis (it uses: lr, seed)",
    ),
    "kappa with lambdas": (
        base(problem_params={"lambdas": [1.0, 10.0]}),
        "axes.kappa: problem 'quadratic' with problem_params",
    ),
    "kappa with dim 1": (base(problem_params={"dim": 1}), "axes.kappa: problem 'quadratic'"),
    "axis nobody uses": (with_axes(batch_size={"values": [4]}), "axes.batch_size:"),
    "start length != dim": (
        base(problem_params={"dim": 3, "start": [1.0, 2.0]}),
        "problem_params.start = [1.0, 2.0]: expected a list of 3 numbers (dim = 3)",
    ),
    "start not finite": (
        base(problem_params={"start": [1.0, math.nan]}),
        "problem_params.start[1] = nan",
    ),
    "lambdas <= 0": (
        base(problem_params={"lambdas": [1.0, 0.0]}),
        "problem_params.lambdas[1] = 0.0: expected a finite number > 0",
    ),
    "lambdas empty": (
        base(problem_params={"lambdas": []}),
        "problem_params.lambdas = []: expected a non-empty list",
    ),
    "lambdas and dim disagree": (
        base(problem_params={"lambdas": [1.0, 2.0], "dim": 3}),
        "problem_params.dim = 3: does not match len(problem_params.lambdas) = 2",
    ),
    "lambdas with spectrum": (
        base(problem_params={"lambdas": [1.0, 2.0], "spectrum": "log"}),
        "problem_params.spectrum = 'log': not allowed together with problem_params.lambdas",
    ),
    "unknown spectrum": (
        base(problem_params={"spectrum": "cubic"}),
        "problem_params.spectrum = 'cubic': expected one of endpoints | linear | log",
    ),
    "dim < 1": (base(problem_params={"dim": 0}), "problem_params.dim = 0: expected an integer"),
    "values mixed with a range": (
        with_axes(beta={"values": [0.1], "num": 3}),
        "axes.beta: give either values or start/stop/num/scale, not both",
    ),
    "values empty": (with_axes(beta={"values": []}), "axes.beta.values = []: expected a non-empty"),
    "missing stop of a range": (
        with_axes(lr={"start": 0.1, "num": 3}),
        "axes.lr: missing stop; an axis is",
    ),
    "relative_to on another axis": (
        with_axes(kappa={"values": [2.0], "relative_to": "lambda_max"}),
        "axes.kappa.relative_to = 'lambda_max': only axes.lr accepts relative_to",
    ),
    "relative_to another value": (
        with_axes(lr={"values": [1.0], "relative_to": "lambda_min"}),
        "axes.lr.relative_to = 'lambda_min': expected one of lambda_max",
    ),
    "seed not an integer": (
        with_axes(seed={"values": [0, 1.5]}),
        "axes.seed.values[1] = 1.5: expected an integer, got float",
    ),
    "seed negative": (with_axes(seed={"values": [-1]}), "axes.seed.values[0] = -1: expected"),
    "seed >= 2**63": (with_axes(seed={"values": [2**63]}), f"axes.seed.values[0] = {2**63}"),
    "seed range with non-integer steps": (
        with_axes(seed={"start": 0, "stop": 10, "num": 4}),
        "axes.seed: start = 0, stop = 10, num = 4 gives non-integer seeds",
    ),
    "seed log scale": (
        with_axes(seed={"start": 1, "stop": 100, "num": 3, "scale": "log"}),
        "axes.seed.scale = 'log': a seed axis must be linear",
    ),
    "grid too large": (
        with_axes(lr={"start": 0.1, "stop": 1, "num": 2**62}),
        "axes: the grid has",
    ),
}


@pytest.mark.parametrize("spec, message", BAD.values(), ids=BAD.keys())
def test_bad_spec_names_key_and_value(spec, message):
    with raises(message):
        parse_spec(spec)


def test_spec_must_be_a_dict_path_or_spec():
    with pytest.raises(TypeError, match="a spec is a dict"):
        parse_spec(42)


def test_beta_outside_unit_interval_warns():
    with pytest.warns(SpecWarning, match=re.escape("axes.beta.values[1] = 1.2 is outside [0, 1)")):
        spec = parse_spec(with_axes(beta={"values": [0.5, 1.2]}))
    assert spec.axes["beta"] == {"values": [0.5, 1.2]}
    with pytest.warns(SpecWarning, match=re.escape("axes.beta.start = -0.5")):
        parse_spec(with_axes(beta={"start": -0.5, "stop": 0.5, "num": 3}))


# ---------------------------------------------------------------- TOML files


def test_toml_file_parses_with_stem_as_default_name(tmp_path):
    path = tmp_path / "my-sweep.toml"
    path.write_text(GOOD_TOML.replace('name = "momentum-quadratic"\n', ""))
    spec = parse_spec(path)
    assert spec.name == "my-sweep"
    assert spec.shape == (256, 64, 64, 1)
    assert parse_spec(str(path), name="other").name == "other"
    assert load_toml(path)["axes"]["lr"]["relative_to"] == "lambda_max"


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('problem = "quadratic"\noptimizer = "gd"\nsteps = = 10\n')
    with pytest.raises(SpecError, match=r"broken\.toml.*line 3"):
        parse_spec(path)


def test_toml_validation_error_names_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD_TOML.replace("steps = 1000", "steps = -5"))
    with pytest.raises(SpecError, match=r"bad\.toml: steps = -5: expected an integer >= 1"):
        parse_spec(path)


def test_toml_nan_literal_rejected(tmp_path):
    path = tmp_path / "nan.toml"
    path.write_text(GOOD_TOML.replace("tol = 1e-20", "tol = nan"))
    with raises("stop.tol = nan"):
        parse_spec(path)


def test_missing_file_is_a_spec_error(tmp_path):
    with raises("spec file not found"):
        parse_spec(tmp_path / "nope.toml")


# ---------------------------------------------------------------- defaults, hash, round trip


def test_defaults_filled():
    spec = parse_spec(
        {"problem": "quadratic", "optimizer": "gd", "steps": 5, "axes": {"lr": {"values": [1]}}}
    )
    assert spec.name == "sweep"
    assert spec.dtype == "float64"
    assert spec.problem_params == {"dim": 2, "spectrum": "endpoints", "start": [1.0, 1.0]}
    assert spec.stop == {"tol": 1e-20, "diverge": 1e10}
    assert spec.axes == {
        "lr": {"values": [1.0], "relative_to": None},
        "kappa": {"values": [1.0]},
        "seed": {"values": [0]},
    }
    assert spec.axis_names == ("lr", "kappa", "seed")
    assert spec.shape == (1, 1, 1)
    hb = parse_spec(base(problem_params={"lambdas": [1, 4, 9]}, axes={"lr": {"values": [1]}}))
    assert hb.axis_names == ("lr", "beta", "seed")
    assert hb.axes["beta"] == {"values": [0.0]}
    assert hb.problem_params == {"dim": 3, "lambdas": [1.0, 4.0, 9.0], "start": [1.0] * 3}


def test_hash_ignores_name_and_key_order():
    spec = parse_spec(base())
    reordered = {key: base()[key] for key in reversed(list(base()))}
    reordered["axes"] = {
        key: dict(reversed(v.items())) for key, v in reversed(base()["axes"].items())
    }
    other = parse_spec(reordered, name="renamed")
    assert other.name == "renamed"
    assert other.hash == spec.hash
    assert other.axis_names == spec.axis_names == ("lr", "beta", "kappa", "seed")
    # explicit defaults and ints-for-floats normalise away
    explicit = base(dtype="float64", stop={"tol": 1e-20, "diverge": 1e10}, steps=100)
    explicit["axes"]["seed"] = {"values": [0]}
    explicit["axes"]["kappa"]["start"] = 1
    assert parse_spec(explicit).hash == spec.hash
    assert parse_spec(base(steps=101)).hash != spec.hash
    assert len(spec.hash) == 64


def test_hash_is_pinned():
    """The canonical form must not change silently: result directories compare hashes.

    The expected normalised spec is written out here from the contract (DESIGN 1.2 and
    its defaults), and hashed independently of fastdescent.
    """
    expected = {
        "problem": "quadratic",
        "optimizer": "heavy_ball",
        "steps": 100,
        "dtype": "float64",
        "problem_params": {"dim": 2, "spectrum": "endpoints", "start": [1.0, 1.0]},
        "stop": {"tol": 1e-20, "diverge": 1e10},
        "axes": {
            "lr": {"start": 0.1, "stop": 1.0, "num": 4, "scale": "linear", "relative_to": None},
            "beta": {"values": [0.0, 0.5]},
            "kappa": {"start": 1.0, "stop": 100.0, "num": 3, "scale": "log"},
            "seed": {"values": [0]},
        },
    }
    text = json.dumps(expected, sort_keys=True, separators=(",", ":"))
    assert parse_spec(base()).hash == hashlib.sha256(text.encode()).hexdigest()


def test_round_trip_and_json():
    spec = parse_spec(base(name="x", problem_params={"dim": 3, "spectrum": "log"}))
    data = spec.to_dict()
    assert json.loads(json.dumps(data)) == data
    again = parse_spec(data)
    assert again == spec
    assert again.hash == spec.hash
    assert parse_spec(spec) is spec
    assert pickle.loads(pickle.dumps(spec)) == spec
    data["axes"]["lr"]["num"] = 99  # to_dict is a copy
    assert spec.axes["lr"]["num"] == 4


# ---------------------------------------------------------------- axis values and decoding


def test_axis_values():
    spec = parse_spec(
        with_axes(
            lr={"start": 0.5, "stop": 2.0, "num": 4, "relative_to": "lambda_max"},
            beta={"values": [0.9, 0.0]},
            kappa={"start": 1.0, "stop": 1e4, "num": 5, "scale": "log"},
            seed={"start": 10, "stop": 16, "num": 4},
        )
    )
    lr = spec.axis_values("lr")
    assert lr.dtype == np.float64 and lr.shape == (4,)
    np.testing.assert_array_equal(lr, [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_array_equal(spec.axis_values("beta"), [0.9, 0.0])
    kappa = spec.axis_values("kappa")
    assert kappa[0] == 1.0 and kappa[-1] == 1e4  # exact endpoints
    np.testing.assert_allclose(kappa, [1, 10, 100, 1000, 1e4], rtol=1e-14)
    seed = spec.axis_values("seed")
    assert seed.dtype == np.int64
    np.testing.assert_array_equal(seed, [10, 12, 14, 16])
    assert spec.axes["lr"]["relative_to"] == "lambda_max"
    # relative lr: eta = lr / lambda_max, lambda_max = kappa for the endpoints spectrum
    _, lambda_max = lambda_range(kappa, spec.problem_params)
    np.testing.assert_array_equal(lambda_max, kappa)
    assert not lr.flags.writeable
    with pytest.raises(KeyError):
        spec.axis_values("sigma")


def test_ids_are_c_order_over_canonical_axes():
    spec = parse_spec(
        with_axes(
            seed={"values": [3, 7]},
            kappa={"values": [1.0, 2.0, 5.0]},
            beta={"values": [0.0, 0.5]},
            lr={"start": 0.1, "stop": 0.3, "num": 3},
        )
    )
    assert spec.axis_names == ("lr", "beta", "kappa", "seed")
    assert spec.shape == (3, 2, 3, 2) and spec.size == 36
    coords = spec.coordinates(0, spec.size)
    grid = list(itertools.product(*(spec.axis_values(a) for a in spec.axis_names)))
    for k, name in enumerate(spec.axis_names):
        np.testing.assert_array_equal(coords[name], [point[k] for point in grid])
    np.testing.assert_array_equal(coords["traj"], np.arange(36))
    assert coords["seed"].dtype == np.int64 and coords["lr"].dtype == np.float64

    traj = np.array([0, 5, 17, 35], dtype=np.int64)
    expected = np.unravel_index(traj, spec.shape)
    decoded = spec.decode(traj)
    for name, idx in zip(spec.axis_names, expected, strict=True):
        np.testing.assert_array_equal(decoded[name], idx)
        assert decoded[name].dtype == np.int64

    part = spec.coordinates(10, 14)
    for key in part:
        np.testing.assert_array_equal(part[key], coords[key][10:14])
    with pytest.raises(ValueError):
        spec.coordinates(0, 37)


# ---------------------------------------------------------------- problems


def test_problem_registry():
    assert "quadratic" in problem_names()
    assert hasattr(get_problem("quadratic"), "normalise_params")
    with pytest.raises(KeyError):
        get_problem("nope")


@pytest.mark.parametrize(
    "spectrum, dim, expected",
    [
        ("endpoints", 2, [[1, 1], [1, 9]]),
        ("endpoints", 3, [[1, 1, 1], [1, 9, 9]]),
        ("endpoints", 4, [[1, 1, 1, 1], [1, 1, 9, 9]]),
        ("linear", 3, [[1, 1, 1], [1, 5, 9]]),
        ("log", 3, [[1, 1, 1], [1, 3, 9]]),
        ("log", 1, [[1], [1]]),
    ],
)
def test_eigenvalues(spectrum, dim, expected):
    params = {"dim": dim, "spectrum": spectrum, "start": [1.0] * dim}
    kappa = np.array([1.0, 9.0])
    lam = eigenvalues(kappa, params)
    assert lam.shape == (2, dim) and lam.dtype == np.float64
    np.testing.assert_allclose(lam, expected, rtol=1e-15)
    lo, hi = lambda_range(kappa, params)
    np.testing.assert_array_equal(lo, lam.min(axis=1))
    np.testing.assert_array_equal(hi, lam.max(axis=1))


def test_eigenvalue_ends_are_exact():
    kappa = np.geomspace(1.0, 1e4, 17) * 1.1
    for spectrum in ("endpoints", "linear", "log"):
        lam = eigenvalues(kappa, {"dim": 7, "spectrum": spectrum})
        np.testing.assert_array_equal(lam[:, 0], 1.0)
        np.testing.assert_array_equal(lam[:, -1], kappa)


def test_eigenvalues_given_lambdas():
    params = {"dim": 3, "lambdas": [2.0, 0.5, 8.0], "start": [1.0] * 3}
    np.testing.assert_array_equal(eigenvalues(None, params), [[2.0, 0.5, 8.0]])
    assert eigenvalues(np.ones(4), params).shape == (4, 3)
    lo, hi = lambda_range(None, params)
    np.testing.assert_array_equal(lo, [0.5])
    np.testing.assert_array_equal(hi, [8.0])


# ---------------------------------------------------------------- property-based

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
positive = st.floats(min_value=1e-300, max_value=1e300)


def axis_strategy(values, scales=("linear",)):
    ranges = st.fixed_dictionaries(
        {"start": values, "stop": values, "num": st.integers(1, 50)},
        optional={"scale": st.sampled_from(scales)},
    )
    return st.one_of(st.fixed_dictionaries({"values": st.lists(values, min_size=1)}), ranges)


@st.composite
def valid_specs(draw):
    optimizer = draw(st.sampled_from(["gd", "heavy_ball", "nesterov"]))
    dim = draw(st.integers(1, 5))
    params = draw(
        st.one_of(
            st.just({"dim": dim}),
            st.fixed_dictionaries(
                {"lambdas": st.lists(positive, min_size=dim, max_size=dim)},
                # |w| <= 1e3 and lambda <= 1e300: the loss at the start stays finite
                optional={"start": st.lists(st.floats(-1e3, 1e3), min_size=dim, max_size=dim)},
            ),
            st.fixed_dictionaries(
                {"dim": st.just(dim), "spectrum": st.sampled_from(["endpoints", "linear", "log"])}
            ),
        )
    )
    lr = draw(axis_strategy(positive, ("linear", "log")))
    if draw(st.booleans()):
        lr["relative_to"] = "lambda_max"
    axes = {"lr": lr}
    if optimizer != "gd" and draw(st.booleans()):
        axes["beta"] = draw(axis_strategy(st.floats(0.0, 0.999)))
    if "lambdas" not in params and dim >= 2 and draw(st.booleans()):
        axes["kappa"] = draw(axis_strategy(st.floats(1.0, 1e12), ("linear", "log")))
    if draw(st.booleans()):
        axes["seed"] = {"values": draw(st.lists(st.integers(0, 2**63 - 1), min_size=1))}
    stop = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "tol": st.floats(0, 1, exclude_max=True),
                "diverge": st.floats(1, 1e300, exclude_min=True),
            },
        )
    )
    return {
        "problem": "quadratic",
        "optimizer": optimizer,
        "steps": draw(st.integers(1, 2**31 - 2)),
        "problem_params": params,
        "stop": stop,
        "axes": axes,
    }


@settings(max_examples=100, deadline=None)
@given(valid_specs())
def test_random_valid_specs_round_trip(raw):
    spec = parse_spec(raw)
    again = parse_spec(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.hash == spec.hash
    assert spec.axis_names == tuple(a for a in AXIS_ORDER if a in spec.axes)
    assert spec.size == math.prod(len(spec.axis_values(a)) for a in spec.axis_names)
    hi = min(spec.size, 7)
    coords = spec.coordinates(0, hi)
    assert all(len(v) == hi for v in coords.values())


# (where in base(), a value that must be rejected)
BAD_NUMBERS = st.one_of(
    st.tuples(st.just(("steps",)), st.integers(max_value=0) | st.floats() | st.booleans()),
    st.tuples(st.just(("axes", "lr", "start")), st.floats(max_value=0.0) | st.just(math.nan)),
    st.tuples(st.just(("axes", "lr", "num")), st.integers(max_value=0)),
    st.tuples(st.just(("axes", "kappa", "stop")), st.floats(max_value=0.999) | st.just(math.inf)),
    st.tuples(st.just(("axes", "beta", "values")), st.lists(st.just(math.nan), min_size=1)),
    st.tuples(st.just(("stop", "tol")), st.floats(max_value=-1e-300) | st.just(math.inf)),
    st.tuples(st.just(("stop", "diverge")), st.floats(max_value=0.0) | st.just(-math.inf)),
)


@settings(max_examples=100, deadline=None)
@given(BAD_NUMBERS)
def test_random_invalid_numbers_rejected(case):
    path, value = case
    raw = base(stop={"tol": 1e-20, "diverge": 1e10})
    table = raw
    for key in path[:-1]:
        table = table[key]
    table[path[-1]] = value
    with pytest.raises(SpecError, match=re.escape(".".join(path))):
        parse_spec(raw)


def test_sweep_spec_is_hashable():
    spec = parse_spec(base())
    assert {spec: 1}[parse_spec(base())] == 1
    assert isinstance(spec, SweepSpec)
