"""Sweep spec limits: the name, the stop settings, the start loss, size and depth caps,
long strings in messages, and TOML files with a byte-order mark.

Every expected message is written out here from the rules; nothing is captured from the
code under test.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastdescent.spec import SpecError, SweepSpec, load_toml, parse_spec

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20


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


def message(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text and "\r" not in text, text  # always one line
    return text


GOOD_TOML = """\
problem = "quadratic"
optimizer = "heavy_ball"
steps = 100

[axes]
lr = { start = 0.1, stop = 1.0, num = 4 }
beta = { values = [0.0, 0.5] }
kappa = { start = 1.0, stop = 100.0, num = 3, scale = "log" }
"""


# ---------------------------------------------------------------- 1. name


NAME_RULE = "a plain file name: letters, digits, '-', '_' and '.'"

BAD_NAMES = [
    "../../x",
    "..",
    ".",
    "/abs",
    "/tmp/x",
    "a/b",
    "a\\b",
    "C:\\x",
    ".hidden",
    "a b",
    "tab\there",
    "new\nline",
    "nul\x00",
    "x:y",
    "*",
    "a" * 129,
    "\u00e9" * 128 + "x",  # 129 characters
    "e\u0301",  # a combining accent is not alphanumeric
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_name_refused(name):
    with pytest.raises(SpecError) as exc_info:
        parse_spec(base(name=name))
    text = message(exc_info)
    assert text.startswith("name = "), text
    assert NAME_RULE in text, text


def test_empty_name_refused():
    with pytest.raises(SpecError, match="^" + re.escape("name = '': expected a non-empty string")):
        parse_spec(base(name=""))


def test_name_longer_than_255_utf8_bytes_refused():
    name = "\u6570" * 100  # 100 characters, 300 bytes: more than a file name may hold
    with pytest.raises(SpecError, match="255 bytes"):
        parse_spec(base(name=name))


GOOD_NAMES = ["momentum", "course_gd", "W1-v2.0", "a", "x.y.z", "a" * 128, "\u00fcber", "数据"]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_name_accepted(name):
    assert parse_spec(base(name=name)).name == name


def test_name_argument_and_rename_are_checked():
    with pytest.raises(SpecError, match=re.escape("name = '../x'")):
        parse_spec(base(), name="../x")
    spec = parse_spec(base())
    with pytest.raises(SpecError, match=re.escape("name = '/etc'")):
        parse_spec(spec, name="/etc")
    assert parse_spec(spec, name="fine").name == "fine"


def test_name_from_file_stem_is_checked(tmp_path):
    path = tmp_path / "my sweep.toml"
    path.write_text(GOOD_TOML)
    with pytest.raises(SpecError) as exc_info:
        parse_spec(path)
    text = message(exc_info)
    assert "name = 'my sweep'" in text
    assert "from the file name" in text
    assert 'set name = "..." in the spec' in text
    # an explicit name (in the file, or as an argument) is used instead of the stem
    path.write_text('name = "mine"\n' + GOOD_TOML)
    assert parse_spec(path).name == "mine"
    path.write_text(GOOD_TOML)
    assert parse_spec(path, name="other").name == "other"
    hidden = tmp_path / ".hidden.toml"
    hidden.write_text(GOOD_TOML)
    with pytest.raises(SpecError, match="from the file name"):
        parse_spec(hidden)


def test_shipped_sweeps_parse():
    paths = sorted((ROOT / "scripts" / "sweeps").glob("*.toml"))
    assert paths
    for path in paths:
        spec = parse_spec(path)
        assert isinstance(spec, SweepSpec)


# ---------------------------------------------------------------- 2. stop settings

BAD_STOP = [
    ({"tol": 2}, "stop.tol = 2: expected a finite number >= 0 and < 1"),
    ({"tol": 1}, "stop.tol = 1: expected a finite number >= 0 and < 1"),
    ({"tol": 1.0, "diverge": 2.0}, "stop.tol = 1.0: expected a finite number >= 0 and < 1"),
    ({"diverge": 0.5}, "stop.diverge = 0.5: expected a finite number > 1"),
    ({"diverge": 1}, "stop.diverge = 1: expected a finite number > 1"),
    ({"tol": 5.0, "diverge": 3.0}, "stop.tol = 5.0: expected a finite number >= 0 and < 1"),
    ({"tol": 0.5, "diverge": 0.25}, "stop.diverge = 0.25: expected a finite number > 1"),
]


@pytest.mark.parametrize("stop, expected", BAD_STOP)
def test_bad_stop_refused(stop, expected):
    with pytest.raises(SpecError, match="^" + re.escape(expected)):
        parse_spec(base(stop=stop))


def test_stop_edges_accepted():
    assert parse_spec(base(stop={"tol": 0})).stop == {"tol": 0.0, "diverge": 1e10}
    spec = parse_spec(base(stop={"tol": 0.999, "diverge": 1.001}))
    assert spec.stop == {"tol": 0.999, "diverge": 1.001}


# ---------------------------------------------------------------- 3. loss at the start


def _loss_overflows(start, lam, dtype):
    """Reference: 1/2 sum_i lam_i w_i^2, summed in order in ``dtype``, not finite."""
    t = np.dtype(dtype).type
    with np.errstate(over="ignore", invalid="ignore"):
        s = t(0.0)
        for w, la in zip(start, lam, strict=True):
            x = t(w)
            s = t(s + t(t(la) * t(x * x)))
        return not np.isfinite(t(0.5) * s)


OVERFLOW = [
    # (problem_params, axes changes, dtype, the largest lambdas on the grid, text)
    ({"start": [1e300, 1e300]}, {}, "float64", [1.0, 100.0], "kappa = 100.0"),
    ({"start": [1.0, 1e152]}, {"kappa": {"start": 1.0, "stop": 1e5, "num": 3, "scale": "log"}},
     "float64", [1.0, 1e5], "kappa = 100000.0"),
    ({"start": [1.0, 1e152]}, {"kappa": {"start": 1e5, "stop": 2.0, "num": 7}},
     "float64", [1.0, 1e5], "kappa = 100000.0"),
    ({"start": [1.0, 1e152]}, {"kappa": {"values": [3.0, 1e5, 2.0]}},
     "float64", [1.0, 1e5], "kappa = 100000.0"),
    ({"start": [1e20, 1.0]}, {}, "float32", [1.0, 100.0], "float32"),
    ({"start": [1.0, 1e19]}, {}, "float32", [1.0, 100.0], "kappa = 100.0"),
    ({"start": [1e154] * 3, "lambdas": [1.0, 1.0, 1.0]}, {"kappa": None},
     "float64", [1.0] * 3, "problem_params.start"),  # every term finite, the sum is not
    ({"start": [1.0, 1e150], "lambdas": [1.0, 1e10]}, {"kappa": None},
     "float64", [1.0, 1e10], "problem_params.start"),
    ({"start": [1e200], "dim": 1}, {"kappa": None}, "float64", [1.0], "problem_params.start"),
    ({"start": [1.0] * 4 + [1e152], "dim": 5, "spectrum": "log"},
     {"kappa": {"start": 1.0, "stop": 1e5, "num": 10**12, "scale": "log"}},
     "float64", [1.0, 1e5 ** 0.25, 1e5 ** 0.5, 1e5 ** 0.75, 1e5], "kappa = 100000.0"),
]  # fmt: skip


@pytest.mark.parametrize("params, axes, dtype, lam, text", OVERFLOW)
def test_start_whose_loss_overflows_is_refused(params, axes, dtype, lam, text):
    assert _loss_overflows(params["start"], lam, dtype)  # the case is what it claims
    raw = base(problem_params=params, dtype=dtype)
    for name, axis in axes.items():
        if axis is None:
            raw["axes"].pop(name)
        else:
            raw["axes"][name] = axis
    t0 = time.perf_counter()
    with pytest.raises(SpecError) as exc_info:
        parse_spec(raw)
    assert time.perf_counter() - t0 < 5  # kappa axes are never materialised
    text_ = message(exc_info)
    assert text_.startswith("problem_params.start = "), text_
    assert "the loss at the start" in text_ and "overflows" in text_, text_
    assert text in text_, text_
    assert dtype in text_, text_


FINITE = [
    ({"start": [1e150, 1e150]}, {}, "float64", [1.0, 100.0]),
    ({"start": [1.0, 1e152]}, {"kappa": {"start": 1.0, "stop": 1e4, "num": 3}}, "float64",
     [1.0, 1e4]),
    ({"start": [1e20, 1.0]}, {}, "float64", [1.0, 100.0]),
    ({"start": [1e18, 1.0]}, {}, "float32", [1.0, 100.0]),
    ({"start": [1e153] * 3, "lambdas": [1.0, 1.0, 1.0]}, {"kappa": None}, "float64", [1.0] * 3),
]  # fmt: skip


@pytest.mark.parametrize("params, axes, dtype, lam", FINITE)
def test_start_with_finite_loss_is_accepted(params, axes, dtype, lam):
    assert not _loss_overflows(params["start"], lam, dtype)
    raw = base(problem_params=params, dtype=dtype)
    for name, axis in axes.items():
        if axis is None:
            raw["axes"].pop(name)
        else:
            raw["axes"][name] = axis
    assert parse_spec(raw).problem_params["start"] == [float(x) for x in params["start"]]


def test_problem_modules_may_check_the_start():
    from fastdescent.problems import quadratic

    assert callable(quadratic.check_start)
    axes = {"kappa": {"values": [1.0, 10.0]}}
    params = {"dim": 2, "spectrum": "endpoints", "start": [1.0, 1e153]}  # 10 * 1e306
    quadratic.check_start(params, axes, "float64", "problem_params")
    with pytest.raises(SpecError, match=re.escape("pp.start = [1.0, 1e+153]: the loss")):
        quadratic.check_start(params, {"kappa": {"values": [1e3]}}, "float64", "pp")


# ---------------------------------------------------------------- 4. size and depth caps


def test_toml_file_over_1_mib_refused_before_parsing(tmp_path):
    path = tmp_path / "big.toml"
    # valid TOML, made large by a comment: refused for its size alone
    path.write_text(GOOD_TOML + "# " + "x" * MIB + "\n")
    with pytest.raises(SpecError) as exc_info:
        parse_spec(path)
    text = message(exc_info)
    assert "big.toml" in text and "1 MiB" in text and str(MIB) in text, text
    with pytest.raises(SpecError, match="1 MiB"):
        load_toml(path)
    # just under the limit: fine
    path.write_text(GOOD_TOML + "# " + "x" * (MIB - len(GOOD_TOML) - 3) + "\n")
    assert path.stat().st_size == MIB
    assert parse_spec(path).steps == 100


def _nested_list(depth):
    value = 1.0
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [40, 5000, 200_000])
def test_deeply_nested_dict_refused(depth):
    raw = base()
    raw["axes"]["lr"] = {"values": _nested_list(depth)}
    with pytest.raises(SpecError) as exc_info:
        parse_spec(raw)
    text = message(exc_info)
    assert "nested more than 32 levels" in text, text
    assert "axes.lr.values" in text, text
    assert len(text) < 400


def test_nesting_at_the_limit_is_not_a_depth_error():
    # top table (1) > axes (2) > lr (3) > values (4) > 28 more lists = 32 levels
    raw = base()
    raw["axes"]["lr"] = {"values": _nested_list(29)}
    with pytest.raises(SpecError) as exc_info:
        parse_spec(raw)
    assert "nested" not in str(exc_info.value)
    assert "axes.lr.values[0] = " in str(exc_info.value)  # a list where a number belongs


def test_nested_tables_refused():
    raw = base()
    deep = raw["axes"]
    for _ in range(40):
        deep["x"] = {}
        deep = deep["x"]
    with pytest.raises(SpecError, match="nested more than 32 levels"):
        parse_spec(raw)


def test_cyclic_dict_refused():
    raw = base()
    loop = [1.0]
    loop.append(loop)
    raw["axes"]["beta"] = {"values": loop}
    with pytest.raises(SpecError, match="nested more than 32 levels"):
        parse_spec(raw)
    raw = base()
    raw["problem_params"] = raw  # a table that contains itself
    with pytest.raises(SpecError, match="nested more than 32 levels"):
        parse_spec(raw)


def test_shared_sublists_are_walked_once():
    """A list that holds the same list twice, 31 times over: 2**31 paths, 33 levels."""
    raw = base()
    shared = [0.5]
    for _ in range(31):
        shared = [shared, shared]
    raw["axes"]["beta"] = {"values": shared}
    t0 = time.perf_counter()
    with pytest.raises(SpecError, match="nested more than 32 levels"):
        parse_spec(raw)
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("depth", [40, 400, 3000])
def test_deeply_nested_toml_refused(tmp_path, depth):
    path = tmp_path / "deep.toml"
    values = "[" * depth + "1.0" + "]" * depth
    path.write_text(GOOD_TOML.replace("values = [0.0, 0.5]", f"values = {values}"))
    with pytest.raises(SpecError) as exc_info:
        parse_spec(path)
    text = message(exc_info)
    assert "deep.toml" in text and "nested" in text and "32" in text, text


def test_recursion_error_while_parsing_becomes_spec_error(monkeypatch):
    from fastdescent import spec as spec_module

    def explode(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(spec_module, "_parse_axes", explode)
    with pytest.raises(SpecError, match="nested"):
        parse_spec(base())


def test_canonical_json_over_1_mib_refused():
    rng = np.random.default_rng(0)
    values = rng.uniform(0.1, 1.0, 60_000).tolist()  # about 19 bytes each: 1.1 MB
    assert len(json.dumps(values, separators=(",", ":"))) > MIB
    raw = base()
    raw["axes"]["lr"] = {"values": values}
    with pytest.raises(SpecError) as exc_info:
        parse_spec(raw)
    text = message(exc_info)
    assert text.startswith("axes.lr.values:"), text
    assert "1 MiB" in text and str(MIB) in text, text
    # the same values in a smaller list are fine
    raw["axes"]["lr"] = {"values": values[:40_000]}
    spec = parse_spec(raw)
    size = len(json.dumps(spec.to_dict(), sort_keys=True, separators=(",", ":")))
    assert 700_000 < size <= MIB


def test_canonical_json_cap_names_problem_params():
    rng = np.random.default_rng(1)
    start = rng.uniform(-1.0, 1.0, 60_000).tolist()
    raw = base(problem_params={"dim": 60_000, "start": start})
    with pytest.raises(SpecError, match=r"^problem_params\.start: .*1 MiB"):
        parse_spec(raw)


def test_huge_values_list_refused_without_reading_it():
    class Endless(list):
        """A list that claims 10**9 items; reading them would take minutes."""

        def __len__(self):
            return 10**9

        def __iter__(self):  # pragma: no cover - must not be called
            raise AssertionError("the list was read")

    raw = base()
    raw["axes"]["lr"] = {"values": Endless([0.1])}
    with pytest.raises(SpecError, match=r"axes\.lr\.values: expected at most \d+ items"):
        parse_spec(raw)


LONG = 2_000_000  # characters


@pytest.mark.parametrize(
    "where",
    ["top key", "axis key", "problem_params key", "name", "problem", "steps", "value",
     "spectrum", "relative_to", "optimizer"],
)  # fmt: skip
def test_long_strings_never_appear_in_full(where):
    long = "k" * LONG
    raw = base()
    if where == "top key":
        raw[long] = 1
    elif where == "axis key":
        raw["axes"]["lr"][long] = 1
    elif where == "problem_params key":
        raw["problem_params"] = {long + "\n": 1}
    elif where == "value":
        raw["axes"]["beta"] = {"values": [0.5, long]}
    elif where == "spectrum":
        raw["problem_params"] = {"spectrum": long}
    elif where == "relative_to":
        raw["axes"]["lr"]["relative_to"] = long
    else:
        raw[where] = long
    t0 = time.perf_counter()
    with pytest.raises(SpecError) as exc_info:
        parse_spec(raw)
    assert time.perf_counter() - t0 < 5
    text = message(exc_info)
    assert len(text) < 600, len(text)
    assert "k" * 200 not in text


def test_long_key_in_toml_file(tmp_path):
    path = tmp_path / "longkey.toml"
    path.write_text(f'"{"q" * 500_000}" = 1\n' + GOOD_TOML)
    with pytest.raises(SpecError) as exc_info:
        parse_spec(path)
    text = message(exc_info)
    assert "unknown key 'qqqq" in text and len(text) < 600, text


def test_huge_integer_in_message():
    with pytest.raises(SpecError) as exc_info:
        parse_spec(base(steps=10**5000))
    text = message(exc_info)
    assert text.startswith("steps = ") and len(text) < 300, text


def test_newline_in_path_gives_one_line(tmp_path):
    if sys.platform == "win32":  # pragma: no cover
        pytest.skip("no newlines in Windows file names")
    path = tmp_path / "two\nlines.toml"
    path.write_text('name = "ok"\n' + GOOD_TOML.replace("steps = 100", "steps = -1"))
    with pytest.raises(SpecError) as exc_info:
        parse_spec(path)
    text = message(exc_info)
    assert "two\\nlines.toml" in text and "steps = -1" in text, text
    path.write_text("steps = = 1\n")
    with pytest.raises(SpecError) as exc_info:
        parse_spec(path)
    assert "line 1" in message(exc_info)
    with pytest.raises(SpecError) as exc_info:
        parse_spec(tmp_path / "no\nsuch.toml")
    assert "not found" in message(exc_info)


def test_newline_in_key_gives_one_line():
    raw = base()
    raw["axes"]["lr"]["a\nb"] = 1
    with pytest.raises(SpecError) as exc_info:
        parse_spec(raw)
    assert "'axes.lr.a\\nb'" in message(exc_info)


# ---------------------------------------------------------------- 5. byte-order mark


def test_toml_with_utf8_bom_parses(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_TOML.encode())
    spec = parse_spec(path)
    assert spec.name == "bom" and spec.steps == 100
    assert load_toml(path)["steps"] == 100


def test_toml_with_bom_keeps_syntax_error_line(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'problem = "quadratic"\nsteps = = 3\n')
    with pytest.raises(SpecError, match=r"bom\.toml: invalid TOML: .*line 2"):
        parse_spec(path)


def test_non_utf8_toml_is_a_clear_error(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(GOOD_TOML.encode() + b"# caf\xe9\n")
    with pytest.raises(SpecError, match=r"latin\.toml: not UTF-8 text"):
        parse_spec(path)
    path.write_bytes("\ufeff".encode("utf-16") + GOOD_TOML.encode("utf-16-le"))
    with pytest.raises(SpecError, match=r"latin\.toml: not UTF-8 text"):
        parse_spec(path)


# ---------------------------------------------------------------- show: bounded repr

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False)
    | st.text(st.characters(blacklist_characters="'\"\\"), max_size=120)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=8)
        | st.tuples(inner)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(st.characters(blacklist_characters="'\"\\"), max_size=5), inner)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_show_is_repr_cut_to_80_characters(value):
    from fastdescent._validate import show

    text = repr(value)
    assert show(value) == (text if len(text) <= 80 else text[:77] + "...")
