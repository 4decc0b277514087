"""A fuzzer for ``fastdescent run``: valid and invalid specs through the command line.

Each example is a spec dict written to a TOML file (by the small writer below, inline or
in sections) or raw TOML-ish text, run in-process as ``main(["run", SPEC, "--out", OUT,
"--quiet", "--threads", "1", ...])``. The contract checked on every example:

- the return code is 0 or 2 (no exception escapes);
- on 2: stderr, apart from ``fastdescent: warning: `` lines, is exactly one line that
  starts ``fastdescent: error: ``, there is no traceback, and nothing was written (OUT does
  not exist, the example's folder holds only the spec); where the example was broken on
  purpose at a known key, the message names that key;
- on 0: OUT holds a complete sweep (the manifest says so) whose table has the product of
  the axis lengths as rows and equals the in-memory run of the same spec, bit for bit
  (``--dry-run``: nothing written, the row count printed).

Valid examples stay tiny (at most 64 trajectories, steps <= 2000). The number of examples
is FASTDESCENT_FUZZ_EXAMPLES (default 1000); the counts of outcomes are printed at the
end (``-s``), and as Hypothesis events (``--hypothesis-show-statistics``).
"""

from __future__ import annotations

import collections
import datetime
import itertools
import json
import math
import os
import re
import reprlib
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import Raw, assert_same_numbers, dumps
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import fastdescent
from fastdescent.cli import main
from fastdescent.problems import problem_names

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# When an example fails, Hypothesis's report imports a module that emits a
# DeprecationWarning (mypy_extensions.TypedDict); with the project's "error" filter that
# would replace the report with an INTERNALERROR.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

N_EXAMPLES = int(os.environ.get("FASTDESCENT_FUZZ_EXAMPLES", "1000"))
MAX_ROWS = 64
MAX_STEPS = 2000
HEALTH = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.function_scoped_fixture,
    HealthCheck.large_base_example,
]
SETTINGS = settings(max_examples=N_EXAMPLES, deadline=None, suppress_health_check=HEALTH)
OUTCOMES: collections.Counter = collections.Counter()
PY_WARNING = re.compile(r"\.py:\d+: \w*Warning: ")  # how Python prints a warning

OPTIMIZERS = ("gd", "heavy_ball", "nesterov", "adam", "rmsprop", "adagrad")
ADAPTIVE = ("adam", "rmsprop", "adagrad")  # float64 only; beta2, eps axes
WITH_BETA = ("heavy_ball", "nesterov", "adam", "rmsprop")  # the optimizers with a beta axis
SPECTRA = ("endpoints", "linear", "log")
TOP_KEYS = ("name", "problem", "optimizer", "steps", "dtype", "problem_params", "stop", "axes")
PARAM_KEYS = ("dim", "spectrum", "lambdas", "start")
AXIS_KEYS = ("values", "start", "stop", "num", "scale", "relative_to")
ALL_AXES = ("lr", "beta", "beta2", "eps", "kappa", "sigma", "batch_size", "schedule", "seed",
            "x0", "y0")  # fmt: skip
BIG = 1.7976931348623157e308


def _same(a, b) -> bool:
    """Equal as TOML values (NaN equals NaN, -0.0 is not 0.0)."""
    if isinstance(a, float) and isinstance(b, float):
        return repr(a) == repr(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------------------------------
# strategies: a valid tiny spec


_text_chars = st.characters(exclude_categories=("Cs",))
# names that are surely fine: letters, digits, '-' and '_' (a name also names a directory)
names_ok = st.text(st.sampled_from("abcxyzABCXYZ0129-_éλ中"), min_size=1, max_size=20)
lr_values = st.one_of(
    st.sampled_from([5e-324, 1e-300, 1e-8, 0.01, 0.5, 1.0, 1.9, 2.0, 3.9, 1e8, 1e300, BIG]),
    st.floats(1e-3, 10.0),
    st.integers(1, 10),
)
kappa_values = st.one_of(
    st.sampled_from([1.0, 1.0000000000000002, 2.0, 10.0, 1e4, 1e8, 1e300, BIG]),
    st.floats(1.0, 1e6),
    st.integers(1, 1000),
)
beta_values = st.one_of(
    st.sampled_from([-1e300, -1.5, -0.0, 0.0, 0.5, 0.9, 0.999999, 1.0, 1.5, 1e300]),
    st.floats(-2.0, 2.0),
    st.integers(-2, 2),
)
beta_range_values = st.floats(-2.0, 2.0) | st.sampled_from([0.0, 0.5, 0.99, 1e6, -1e6])
seed_values = st.integers(0, 2**63 - 1) | st.sampled_from([0, 1, 2**63 - 1])
start_values = st.one_of(
    st.sampled_from([-1e300, -1.0, -0.0, 0.0, 5e-324, 1.0, 1e300]),
    st.floats(-10.0, 10.0),
    st.integers(-5, 5),
)
tol_ok = st.sampled_from([0, 0.0, 5e-324, 1e-300, 1e-20, 1e-8, 0.5])
diverge_ok = st.sampled_from([1.5, 10, 1e10, 1e100, 1e300])
beta2_values = st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.999, 0.999999]) | st.floats(0.0, 0.999)
eps_values = st.sampled_from([0.0, 0, 5e-324, 1e-10, 1e-8, 1e-3, 1.0]) | st.floats(0.0, 1.0)
ELEMENTS = {"lr": lr_values, "kappa": kappa_values, "beta": beta_values, "seed": seed_values,
            "beta2": beta2_values, "eps": eps_values}  # fmt: skip
RANGE_BOUNDS = {"beta2": st.floats(0.0, 0.999), "eps": st.floats(0.0, 1.0)}


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 200
_REPR.maxdict = _REPR.maxlist = 20
_REPR.maxlevel = 8


@dataclass
class Example:
    spec: dict | None  # None for raw text
    kind: str  # valid | invalid | maybe | error | raw
    keys: set = field(default_factory=set)  # invalid / maybe: the message names one
    text: str | bytes | None = None  # raw text (otherwise written from spec)
    style: int = 0
    beta_warning: bool = False
    dry_run: bool = False
    chunk_size: int | None = None
    label: str = ""

    def __repr__(self) -> str:  # short, even for a spec holding megabytes
        fields = ", ".join(f"{k}={_REPR.repr(v)}" for k, v in vars(self).items())
        return f"Example({fields})"

    def _repr_pretty_(self, printer, cycle) -> None:  # Hypothesis's report uses this
        printer.text(repr(self))


def _axis(draw, name: str, n: int) -> dict:
    """A valid axis of ``n`` values."""
    if draw(st.booleans()) or (name == "seed" and n > 1 and draw(st.booleans())):
        if name == "seed":
            start = draw(st.integers(0, 2**40))
            step = draw(st.integers(0, 1000))
            stop = start + step * (n - 1)
            if draw(st.booleans()):
                start, stop = stop, start
            return {"start": start, "stop": stop, "num": n}
        scale = draw(st.sampled_from(["linear", "log", None]))
        if name == "beta":
            bounds = st.floats(0.01, 0.99) if scale == "log" else beta_range_values
        elif name in RANGE_BOUNDS:
            bounds = st.floats(0.01, 0.99) if scale == "log" else RANGE_BOUNDS[name]
        elif name == "lr":
            bounds = st.sampled_from([1e-300, 1e-8, 0.1, 1.0, 3.9, 1e8, 1e300]) | st.floats(
                1e-3, 10.0
            )
        else:
            bounds = kappa_values.filter(lambda x: x < 1e300)
        axis = {"start": draw(bounds), "stop": draw(bounds), "num": n}
        if scale is not None:
            axis["scale"] = scale
    else:
        axis = {"values": draw(st.lists(ELEMENTS[name], min_size=n, max_size=n))}
    if name == "lr" and draw(st.booleans()):
        axis["relative_to"] = "lambda_max"
    return axis


def _beta_outside(axis: dict) -> bool:
    if "values" in axis:
        points = axis["values"]
    else:
        points = [axis["start"], axis["stop"]][: axis["num"]]
    return any(not 0.0 <= v < 1.0 for v in points)


def _rows(spec: dict) -> int:
    axes = spec.get("axes", {})
    return math.prod(len(a["values"]) if "values" in a else a["num"] for a in axes.values())


def valid_spec(draw) -> tuple[dict, dict]:
    """A valid spec of at most MAX_ROWS trajectories and MAX_STEPS steps; and facts."""
    opt = draw(st.sampled_from(OPTIMIZERS))
    spec = {"problem": "quadratic", "optimizer": opt, "steps": draw(st.integers(1, MAX_STEPS))}
    if draw(st.booleans()):
        spec["name"] = draw(names_ok)
    if draw(st.booleans()):
        spec["dtype"] = draw(st.sampled_from(["float64"] if opt in ADAPTIVE else
                                             ["float64", "float32"]))  # fmt: skip
    kind = draw(st.sampled_from(["none", "dim", "lambdas"]))
    params, dim = {}, 2
    if kind == "dim":
        dim = draw(st.integers(1, 8))
        params["dim"] = dim
        if draw(st.booleans()):
            params["spectrum"] = draw(st.sampled_from(SPECTRA))
    elif kind == "lambdas":
        dim = draw(st.integers(1, 4))
        params["lambdas"] = draw(st.lists(lr_values | kappa_values, min_size=dim, max_size=dim))
        if draw(st.booleans()):
            params["dim"] = dim
    if draw(st.booleans()):
        params["start"] = draw(st.lists(start_values, min_size=dim, max_size=dim))
    if params or draw(st.booleans()):
        spec["problem_params"] = params
    uses_kappa = "lambdas" not in params and dim >= 2
    if draw(st.booleans()):
        stop = {}
        if draw(st.booleans()):
            stop["tol"] = draw(tol_ok)
        if draw(st.booleans()):
            stop["diverge"] = draw(diverge_ok)
        spec["stop"] = stop
    names = ["lr"]
    if opt in WITH_BETA and draw(st.booleans()):
        names.append("beta")
    if opt in ("adam", "rmsprop") and draw(st.booleans()):
        names.append("beta2")
    if opt in ADAPTIVE and draw(st.booleans()):
        names.append("eps")
    if uses_kappa and draw(st.booleans()):
        names.append("kappa")
    if draw(st.booleans()):
        names.append("seed")
    budget, axes = MAX_ROWS, {}
    for name in draw(st.permutations(names)):  # the order of keys in the file varies
        n = draw(st.integers(1, max(1, min(4, budget))))
        budget //= n
        axes[name] = _axis(draw, name, n)
    spec["axes"] = axes
    facts = {"dim": dim, "uses_kappa": uses_kappa, "optimizer": opt, "doubt": set()}
    # a start point whose loss 1/2 sum lambda_i w_i^2 may overflow (in float32, also a
    # lambda that does) may be refused, naming problem_params.start
    if "lambdas" in params:
        lam = max(params["lambdas"])
    elif uses_kappa and "kappa" in axes:
        kappa = axes["kappa"]
        lam = max(kappa["values"]) if "values" in kappa else max(kappa["start"], kappa["stop"])
    else:
        lam = 1.0
    w2 = max((float(w) * float(w) for w in params.get("start", [1.0])), default=1.0)
    limit = 1e36 if spec.get("dtype") == "float32" else 1e300
    if not max(w2, 1.0) * float(lam) * dim <= 2 * limit:  # NaN counts as doubt
        facts["doubt"].add("problem_params.start")
    return spec, facts


# ---------------------------------------------------------------------------------------
# mutations that break a spec at a known key (each returns the keys it broke)


def _table(spec, key):
    v = spec.get(key)
    return v if isinstance(v, dict) else None


def _any_axis(draw, spec, facts):
    axes = _table(spec, "axes")
    if not axes:
        return None, None
    name = draw(st.sampled_from(sorted(axes)))
    return axes, name


BAD_INT = st.sampled_from(
    [0, -1, -(10**30), 10**30, 2**31 - 1, 2**31, 2**63 - 1, 1.5, 100.0, "100", True, False]
) | st.sampled_from(
    [math.nan, math.inf, -math.inf, [], {}, [1], datetime.date(2024, 1, 1), Raw("1e400")]
)
BAD_NUMBER = st.sampled_from(
    [math.nan, math.inf, -math.inf, "1.0", True, [], {}, [0.5], 10**400, -(10**400)]
) | st.sampled_from([Raw("1e400"), Raw("-1e400"), datetime.time(7, 32), Raw("nan"), Raw("+inf")])


def m_steps(draw, spec, facts):
    if draw(st.booleans()):
        spec.pop("steps", None)
    else:
        spec["steps"] = draw(BAD_INT | st.integers(-(10**6), 0) | st.integers(2**31 - 1, 2**63 - 1))
    return {"steps"}


def m_top_choice(draw, spec, facts):
    key = draw(st.sampled_from(["problem", "optimizer", "dtype"]))
    bad = {
        "problem": ["rosenbrok", "Quadratic", "", "quadratic ", 1],
        "optimizer": ["lbfgs", "SGD", "heavy-ball", "heavy_bаll", "", 3, ["gd"]],
        "dtype": ["float16", "Float64", "", 64, "f8"],
    }[key]
    spec[key] = draw(st.sampled_from(bad) | st.text(_text_chars, max_size=30))
    valid = {"problem": problem_names(), "optimizer": OPTIMIZERS, "dtype": ("float64", "float32")}
    if isinstance(spec[key], str) and spec[key] in valid[key]:
        spec[key] = 0  # the random text happened to be a valid choice
    if key != "dtype" and draw(st.integers(0, 4)) == 4:
        spec.pop(key)  # a missing required key
    return {key}


def m_name(draw, spec, facts):
    spec["name"] = draw(st.sampled_from([123, True, "", [], {}, 1.5, ["a"]]))
    return {"name"}


def m_unknown_key(draw, spec, facts):
    where = draw(st.sampled_from(["", "stop", "problem_params", "axes.lr", "axes"]))
    allowed = {
        "": TOP_KEYS,
        "stop": ("tol", "diverge"),
        "problem_params": PARAM_KEYS,
        "axes.lr": AXIS_KEYS,
        "axes": ALL_AXES,
    }[where]
    key = draw(
        st.text(_text_chars, min_size=1, max_size=12) | st.sampled_from(["steps_max", "ключ", "λ"])
    )
    if key in allowed:
        key = key + "_x"
    value = draw(st.sampled_from([1, "x", 0.5, [1, 2], {}, {"a": {"b": 1}}, True]))
    if where == "":
        spec[key] = value
    elif where == "axes.lr":
        axes = spec.setdefault("axes", {})
        if not isinstance(axes, dict):
            return set()
        lr = axes.setdefault("lr", {"values": [0.5]})
        if not isinstance(lr, dict):
            return set()
        lr[key] = value
    else:
        table = spec.setdefault(where, {})
        if not isinstance(table, dict):
            return set()
        table[key] = value
    return {f"{where}.{key}" if where else key}


def m_table_type(draw, spec, facts):
    key = draw(st.sampled_from(["axes", "stop", "problem_params", "axes.lr"]))
    bad = draw(st.sampled_from([5, "x", [1, 2], 1.5, True, []]))
    if key == "axes.lr":
        axes = spec.setdefault("axes", {})
        if not isinstance(axes, dict):
            return set()
        axes["lr"] = bad
    else:
        spec[key] = bad
    return {key}


def m_axes_empty(draw, spec, facts):
    which = draw(st.sampled_from(["no-axes", "empty-axes", "empty-axis", "no-lr", "missing-num"]))
    if which == "no-axes":
        spec.pop("axes", None)
        return {"axes"}
    if which == "empty-axes":
        spec["axes"] = {}
        return {"axes.lr"}
    axes = _table(spec, "axes")
    if axes is None:
        return set()
    if which == "no-lr":
        axes.pop("lr", None)
        return {"axes.lr"}
    name = draw(st.sampled_from(sorted(axes))) if axes else "lr"
    if which == "empty-axis":
        axes[name] = {}
    else:
        axes[name] = {"start": 1, "stop": 2}
    return {f"axes.{name}"}


def m_axis_values(draw, spec, facts):
    axes, name = _any_axis(draw, spec, facts)
    if axes is None:
        return set()
    bad_element = {
        "lr": st.sampled_from([0, 0.0, -1.0, -(5e-324)]) | BAD_NUMBER,
        "kappa": st.sampled_from([0.5, 0, -3, 0.9999999999999999]) | BAD_NUMBER,
        "beta": BAD_NUMBER,
        "seed": st.sampled_from([-1, 2**63, 10**30, 1.5, 0.0, "1", True, math.nan]),
    }.get(name, BAD_NUMBER)
    which = draw(st.sampled_from(["empty", "not-a-list", "element"]))
    if which == "empty":
        axes[name] = {"values": []}
    elif which == "not-a-list":
        axes[name] = {"values": draw(st.sampled_from([1.0, "0.5", {"a": 1}, True]))}
    else:
        good = draw(st.lists(ELEMENTS.get(name, lr_values), max_size=3))
        i = draw(st.integers(0, len(good)))
        axes[name] = {"values": [*good[:i], draw(bad_element), *good[i:]]}
    return {f"axes.{name}.values"}


def m_axis_range(draw, spec, facts):
    axes, name = _any_axis(draw, spec, facts)
    if axes is None:
        return set()
    if name == "seed":
        axis = {"start": 0, "stop": 4, "num": 3}
    else:
        axis = {"start": 1.0, "stop": 2.0, "num": 2}
    axes[name] = axis
    key = draw(st.sampled_from(["start", "stop", "num", "scale", "relative_to", "both-forms"]))
    if key == "num":
        axis["num"] = draw(
            st.sampled_from([0, -1, -(10**12), 1.5, 2.0, "3", True, math.nan, [2], Raw("1e400")])
        )
    elif key == "scale":
        if name == "seed" and draw(st.booleans()):
            axis["scale"] = "log"
        else:
            axis["scale"] = draw(st.sampled_from(["cubic", "LOG", "", 1, ["log"]]))
    elif key == "relative_to":
        if name == "lr":
            axis["relative_to"] = draw(st.sampled_from(["lambda_min", "kappa", "", 1, True]))
        else:
            axis["relative_to"] = "lambda_max"
    elif key == "both-forms":
        axis["values"] = [1.0]
        return {f"axes.{name}"}
    else:
        bad = {
            "lr": st.sampled_from([0, 0.0, -1.0]) | BAD_NUMBER,
            "kappa": st.sampled_from([0.5, 0, -3]) | BAD_NUMBER,
            "seed": st.sampled_from([-1, 2**63, 1.5, "0", True]),
        }.get(name, BAD_NUMBER)
        if name not in ("lr", "kappa", "seed") and draw(st.booleans()):
            axis["scale"] = "log"  # a log axis needs bounds > 0
            bad = st.sampled_from([0.0, -1.0, 0, -(5e-324)])
        axis[key] = draw(bad)
    return {f"axes.{name}.{key}"}


def m_unused_axis(draw, spec, facts):
    axes = _table(spec, "axes")
    if axes is None:
        return set()
    choices = ["batch_size", "x0", "y0", "foo"]  # sigma: quadratics read it (noise)
    if facts["optimizer"] not in WITH_BETA:
        choices.append("beta")
    if facts["optimizer"] not in ADAPTIVE:
        choices.append("beta2")
    if not facts["uses_kappa"]:
        choices.append("kappa")
    name = draw(st.sampled_from(choices))
    axes[name] = {"values": [0.5, 1.5]}
    return {f"axes.{name}"}


def m_gd_with_beta(draw, spec, facts):
    axes = _table(spec, "axes")
    if axes is None:
        return set()
    axes.setdefault("beta", {"values": [0.5]})
    for name in ("beta2", "eps"):  # an adaptive base spec's: gd has neither
        axes.pop(name, None)
    spec["optimizer"] = "gd"
    return {"axes.beta"}


def m_stop(draw, spec, facts):
    stop = spec.get("stop")
    if not isinstance(stop, dict):
        stop = spec["stop"] = {}
    key = draw(st.sampled_from(["tol", "diverge"]))
    if key == "tol":
        stop["tol"] = draw(st.sampled_from([-1e-300, -1.0, -(5e-324)]) | BAD_NUMBER)
    else:
        stop["diverge"] = draw(st.sampled_from([0, 0.0, -0.0, -1.0, -(10**400)]) | BAD_NUMBER)
    return {f"stop.{key}"}


def m_params(draw, spec, facts):
    params = spec.get("problem_params")
    if not isinstance(params, dict):
        params = spec["problem_params"] = {}
    dim = facts["dim"]
    which = draw(st.sampled_from(["dim", "spectrum", "lambdas", "start", "start-length"]))
    if which == "dim":
        params["dim"] = draw(st.sampled_from([0, -1, 65537, 10**20, 2.0, "2", True, [2]]))
        return {"problem_params.dim"}
    if which == "spectrum":
        if "lambdas" in params:
            params["spectrum"] = "linear"  # not allowed with lambdas
        else:
            params["spectrum"] = draw(st.sampled_from(["cubic", "", 1, "Log", ["log"]]))
        return {"problem_params.spectrum"}
    if which == "lambdas":
        params.pop("spectrum", None)
        params.pop("dim", None)
        params.pop("start", None)
        params["lambdas"] = draw(
            st.sampled_from([[], [0.0], [-1.0, 2.0], "1,2", 3.0])
            | st.lists(BAD_NUMBER, min_size=1, max_size=2)
        )
        return {"problem_params.lambdas"}
    if which == "start":
        good = [1.0] * dim
        good[draw(st.integers(0, dim - 1))] = draw(BAD_NUMBER)
        params["start"] = good
        return {"problem_params.start"}
    n = draw(st.integers(0, 6).filter(lambda k: k != dim))
    params["start"] = [1.0] * n if n else draw(st.sampled_from([[], 1.0, "1,1"]))
    return {"problem_params.start"}


def m_datetime(draw, spec, facts):
    key = draw(st.sampled_from(["steps", "name", "optimizer"]))
    spec[key] = draw(
        st.sampled_from(
            [
                datetime.date(1979, 5, 27),
                datetime.datetime(1979, 5, 27, 7, 32),
                datetime.time(7, 32, 0),
            ]
        )
    )
    return {key}


INVALID_MUTATIONS = [
    m_steps,
    m_top_choice,
    m_name,
    m_unknown_key,
    m_table_type,
    m_axes_empty,
    m_axis_values,
    m_axis_range,
    m_unused_axis,
    m_gd_with_beta,
    m_stop,
    m_params,
    m_datetime,
]


# ---------------------------------------------------------------------------------------
# the other kinds of examples


def _long(draw) -> str:
    n = draw(st.integers(10_000, 3_000_000))
    unit = draw(st.sampled_from(["x", "é", "λ€", "ab\n", "🙂"]))
    return (unit * (n // len(unit) + 1))[:n]


def _maybe(draw, spec, facts) -> set:
    """A change that the contract neither allows nor forbids outright."""
    which = draw(st.sampled_from(["name", "long-name", "tol", "diverge"]))
    if which == "name":
        spec["name"] = draw(
            st.sampled_from(["a/b", "..", ".", " x", "x ", "a\nb", "\x00", "\u202e", "-x"])
            | st.text(_text_chars, min_size=1, max_size=30)
        )
        return {"name"}
    if which == "long-name":
        spec["name"] = _long(draw)
        return {"name"}
    stop = spec.setdefault("stop", {})
    if which == "tol":
        stop["tol"] = draw(st.sampled_from([1, 1.0, 5.0, 1e300, BIG]))
        return {"stop.tol"}
    stop["diverge"] = draw(st.sampled_from([5e-324, 1e-300, 0.5, 1, 1.0]))
    return {"stop.diverge"}


def _overflow(draw, spec, facts) -> set:
    """A grid above 1e9 trajectories (or above 2**63 - 1): refused without --yes."""
    axes = spec["axes"]
    big = draw(st.sampled_from([2 * 10**9, 10**12, 2**62, 2**63 - 1, 10**30]))
    axes["lr"] = {"start": 0.1, "stop": 1.0, "num": big}
    if facts["uses_kappa"] and draw(st.booleans()):
        axes["lr"]["num"] = 50_000
        axes["kappa"] = {"start": 1, "stop": 100, "num": 50_000}  # 2.5e9 in all
    elif facts["optimizer"] in WITH_BETA and draw(st.booleans()):
        axes["beta"] = {"start": 0.0, "stop": 0.9, "num": draw(st.sampled_from([4, 2**40]))}
    return {"axes", "trajectories", "--yes", "lr", "kappa", "beta", "grid"}


def _deep(draw, spec, facts) -> tuple[set, str]:
    depth = draw(st.integers(2, 60)) if draw(st.booleans()) else draw(st.integers(300, 5000))
    where = draw(st.sampled_from(["values", "start", "unknown", "unknown-table"]))
    if where == "values":
        spec["axes"]["lr"] = {"values": Raw("[" * depth + "0.5" + "]" * depth)}
        key = "axes.lr.values"
    elif where == "start":
        spec.setdefault("problem_params", {})["start"] = Raw("[" * depth + "1.0" + "]" * depth)
        key = "problem_params.start"
    elif where == "unknown":
        spec["deep"] = Raw("[" * depth + "1" + "]" * depth)
        key = "deep"
    else:
        spec["deep"] = Raw("{ a = " * depth + "1" + " }" * depth)
        key = "deep"
    return ({key} if depth <= 60 else set()), ("invalid" if depth <= 60 else "error")


def _raw(draw, spec, style) -> tuple[str | bytes, str]:
    text = dumps(spec, style)
    how = draw(
        st.sampled_from(
            ["truncate", "insert", "delete", "dup-line", "junk", "bytes", "bom", "nul", "comment"]
        )
    )
    i = draw(st.integers(0, len(text)))
    if how == "truncate":
        return text[:i], "raw"
    if how == "insert":
        # no digits: a digit added to a number could make the grid or the steps huge
        no_digits = st.characters(exclude_categories=("Cs", "Nd"))
        piece = draw(
            st.text(no_digits, min_size=1, max_size=5) | st.sampled_from(["=", "[", '"', "\n["])
        )
        return text[:i] + piece + text[i:], "raw"
    if how == "delete":
        j = draw(st.integers(i, min(len(text), i + 20)))
        return text[:i] + text[j:], "raw"
    if how == "dup-line":
        lines = text.splitlines(keepends=True)
        k = draw(st.integers(0, len(lines) - 1))
        return "".join([*lines[: k + 1], lines[k], *lines[k + 1 :]]), "raw"
    if how == "junk":
        return draw(st.text(_text_chars, max_size=300)), "raw"
    if how == "bytes":
        raw = text.encode()
        junk = draw(st.sampled_from([b"\xff", b"\x80", b"\xc3\x28", b"\xed\xa0\x80"]))
        return raw[:i] + junk + raw[i:], "error"
    if how == "bom":
        return "\ufeff" + text, "raw"
    if how == "nul":
        return text[:i] + "\x00" + text[i:], "raw"
    return text + "# " + _long(draw).replace("\n", " ") + "\n", "valid"  # see LARGE_FILE


@st.composite
def examples(draw) -> Example:
    spec, facts = valid_spec(draw)
    kind = draw(
        st.sampled_from(
            ["valid"] * 6 + ["invalid"] * 7 + ["maybe", "overflow", "deep", "long"] + ["raw"] * 2
        )
    )
    ex = Example(spec=spec, kind="valid", style=draw(st.integers(0, 2)), label=kind)
    if kind == "invalid":
        for _ in range(draw(st.integers(1, 3))):
            ex.keys |= draw(st.sampled_from(INVALID_MUTATIONS))(draw, spec, facts)
        if not ex.keys:
            spec["steps"] = 0
            ex.keys = {"steps"}
        ex.kind = "invalid"
    elif kind == "maybe":
        ex.keys, ex.kind = _maybe(draw, spec, facts), "maybe"
    elif kind == "overflow":
        ex.keys, ex.kind = _overflow(draw, spec, facts), "invalid"
    elif kind == "deep":
        ex.keys, ex.kind = _deep(draw, spec, facts)
    elif kind == "long":
        which = draw(st.sampled_from(["optimizer", "unknown-key", "unknown-value", "spectrum"]))
        text = _long(draw)
        if which == "optimizer":
            spec["optimizer"], key = text, "optimizer"
        elif which == "unknown-key":
            spec[text], key = 1, text
        elif which == "unknown-value":
            spec["comment"], key = text, "comment"
        else:
            params = spec.setdefault("problem_params", {})
            for k in ("lambdas", "start", "dim"):
                params.pop(k, None)
            params["spectrum"], key = text, "problem_params.spectrum"
        ex.keys, ex.kind = {key}, "invalid"
    elif kind == "raw":
        ex.text, ex.kind = _raw(draw, spec, ex.style)
        ex.label = f"raw-{ex.kind}"
    if facts["doubt"] and ex.kind in ("valid", "maybe", "invalid"):
        # the base spec itself may be refused at these keys
        ex.keys |= facts["doubt"]
        ex.kind = "maybe" if ex.kind == "valid" else ex.kind
    if ex.kind == "valid" and "beta" in spec["axes"]:
        ex.beta_warning = _beta_outside(spec["axes"]["beta"])
    # (Hypothesis favours small integers: compare with a number other than 0)
    ex.dry_run = kind != "overflow" and draw(st.integers(0, 9)) == 7
    big_text = (
        any(len(str(k)) + len(str(v)) > 10_000 for k, v in spec.items())
        or len(ex.text or "") > 10_000
    )
    if not big_text and draw(st.integers(0, 3)) == 3:
        ex.chunk_size = draw(st.integers(1, 70))
    return ex


# ---------------------------------------------------------------------------------------
# the test


def _forms(key: str) -> set[str]:
    """How a message may spell a key: as is or escaped (repr, ascii, JSON); a long key by
    its first characters."""
    forms = [
        key,
        repr(key)[1:-1],
        ascii(key)[1:-1],
        json.dumps(key)[1:-1],
        json.dumps(key, ensure_ascii=False)[1:-1],
    ]
    if len(key) > 30:
        forms += [repr(key[:20])[1:-1], ascii(key[:20])[1:-1], json.dumps(key[:20])[1:-1]]
        forms = [f[:20] for f in forms]
    return set(forms)


def _names_a_key(message: str, keys) -> bool:
    return any(form in message for key in keys for form in _forms(key))


def _in_memory(spec: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fastdescent.run(spec)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    yield tmp_path_factory.mktemp("fuzz")
    lines = [f"  {k}: {n}" for k, n in sorted(OUTCOMES.items())]
    print("\ntest_fuzz_cli: outcomes (kind -> exit status)\n" + "\n".join(lines))


_serial = itertools.count()


#: a spec file this large may be refused for its size (the message then says so)
LARGE_FILE = 1_000_000
SIZE_WORDS = {"MiB", "bytes", "larger", "too large", "too long"}


def _run_example(ex: Example, base: Path, capfd) -> None:
    folder = base / f"ex{next(_serial)}"
    folder.mkdir()
    spec_path, out = folder / "spec.toml", folder / "out"
    data = ex.text if ex.text is not None else dumps(ex.spec, ex.style)
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > LARGE_FILE and ex.kind != "raw":
        ex.kind = "maybe" if ex.kind == "valid" else ex.kind
        ex.keys = ex.keys | SIZE_WORDS if ex.keys or ex.kind == "maybe" else ex.keys
    if isinstance(data, bytes):
        spec_path.write_bytes(data)
    else:
        spec_path.write_text(data, encoding="utf-8")
    argv = ["run", str(spec_path), "--out", str(out), "--quiet", "--threads", "1"]
    if ex.chunk_size is not None:
        argv += ["--chunk-size", str(ex.chunk_size)]
    if ex.dry_run:
        argv.append("--dry-run")
    capfd.readouterr()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")  # as in a fresh process
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse; counted as escaping below
                pytest.fail(f"SystemExit({exc.code}) escaped from main")
        captured = capfd.readouterr()
        name = ex.label if ex.label == ex.kind else f"{ex.label} ({ex.kind})"
        OUTCOMES[f"{name}{' --dry-run' if ex.dry_run else ''} -> {rc}"] += 1
        event(f"{name} -> {rc}")
        _check(ex, rc, captured, folder, spec_path, out, data)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check(ex, rc, captured, folder, spec_path, out, data) -> None:
    err = captured.err
    assert rc in (0, 2), f"exit {rc}\n{err[-3000:]}"
    assert "Traceback" not in err, err[-3000:]
    assert not PY_WARNING.search(err), f"a Python-style warning:\n{err[-3000:]}"
    if rc == 2:
        lines = [x for x in err.splitlines() if not x.startswith("fastdescent: warning: ")]
        assert len(lines) == 1, f"expected one error line, got {len(lines)}:\n{err[-3000:]}"
        assert lines[0].startswith("fastdescent: error: "), lines[0][:3000]
        assert not out.exists(), "an error wrote the output directory"
        assert sorted(p.name for p in folder.iterdir()) == ["spec.toml"]
        assert ex.kind != "valid", f"a valid spec was refused: {lines[0][:3000]}"
        if ex.keys:
            assert _names_a_key(lines[0], ex.keys), (sorted(ex.keys)[:5], lines[0][:3000])
        return
    assert ex.kind in ("valid", "maybe", "raw"), f"exit 0 for an {ex.kind} spec:\n{err[-3000:]}"
    spec = ex.spec if ex.kind != "raw" else tomllib.loads(data.removeprefix("\ufeff"))
    rows = _rows(spec)
    if ex.beta_warning:
        assert any(
            x.startswith("fastdescent: warning: ") and "beta" in x for x in err.splitlines()
        ), err[-3000:]
    if ex.dry_run:
        assert not out.exists(), "--dry-run wrote the output directory"
        assert str(rows) in captured.out + err, captured.out
        return
    manifest = json.loads((out / "_sweep.json").read_text())
    assert manifest["complete"] is True
    got = fastdescent.load(out)
    assert len(got) == rows
    assert_same_numbers(got, _in_memory(spec))


@SETTINGS
@given(ex=examples())
def test_fuzz_run(ex, workdir, capfd):
    _run_example(ex, workdir, capfd)


# ---------------------------------------------------------------------------------------
# checks of the writer and of the command line's own options


@settings(max_examples=200, deadline=None, suppress_health_check=HEALTH)
@given(st.data())
def test_toml_writer_round_trip(data):
    """The writer (a part of this test file) writes what it is given."""
    spec, _ = valid_spec(data.draw)
    style = data.draw(st.integers(0, 2))
    assert _same(tomllib.loads(dumps(spec, style)), spec)
    odd = data.draw(st.text(_text_chars, max_size=50))
    assert tomllib.loads(dumps({odd: odd}))[odd] == odd


GOOD = {
    "problem": "quadratic",
    "optimizer": "heavy_ball",
    "steps": 50,
    "axes": {"lr": {"values": [0.1, 0.5]}, "beta": {"values": [0.0, 0.5]}},
}


@pytest.mark.parametrize(
    ("options", "key"),
    [
        (["--chunk-size", "0"], "chunk"),
        (["--chunk-size", "-5"], "chunk"),
        (["--chunk-size", "abc"], "chunk"),
        (["--threads", "0"], "threads"),
        (["--threads", "-1"], "threads"),
        (["--threads", "100000"], "threads"),
        (["--threads", "two"], "threads"),
        (["--frobnicate"], "frobnicate"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path, capfd, options, key):
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(dumps(GOOD))
    out = tmp_path / "out"
    capfd.readouterr()
    try:
        rc = main(["run", str(spec_path), "--out", str(out), "--quiet", *options])
    except SystemExit as exc:  # what `fastdescent` would exit with
        rc = exc.code
    err = capfd.readouterr().err
    assert rc == 2, err
    lines = [x for x in err.splitlines() if not x.startswith("fastdescent: warning: ")]
    assert len(lines) == 1 and lines[0].startswith("fastdescent: error: "), err
    assert key in lines[0] and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("case", ["missing", "directory", "out-is-a-file", "out-under-a-file"])
def test_bad_paths_exit_2_with_one_line(tmp_path, capfd, case):
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(dumps(GOOD))
    out = tmp_path / "out"
    if case == "missing":
        spec_path = tmp_path / "nowhere.toml"
    elif case == "directory":
        spec_path = tmp_path / "adir"
        spec_path.mkdir()
    elif case == "out-is-a-file":
        out.write_text("not a directory")
    else:
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out"
    before = sorted(p.name for p in tmp_path.iterdir())
    capfd.readouterr()
    rc = main(["run", str(spec_path), "--out", str(out), "--quiet", "--threads", "1"])
    err = capfd.readouterr().err
    assert rc == 2, err
    lines = [x for x in err.splitlines() if not x.startswith("fastdescent: warning: ")]
    assert len(lines) == 1 and lines[0].startswith("fastdescent: error: "), err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
