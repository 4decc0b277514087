"""Helpers shared by the tests: small specs, bit-for-bit comparison of result tables."""

from __future__ import annotations

import json
import math

import numpy as np


def quadratic_spec(optimizer="heavy_ball", steps=300, dim=2, axes=None, dtype="float64", **params):
    """A small quadratic sweep spec (dict) for tests."""
    axes = axes or {"lr": {"values": [0.1, 0.5, 1.0, 1.9]}}
    spec = {
        "name": "test",
        "problem": "quadratic",
        "optimizer": optimizer,
        "steps": steps,
        "problem_params": {"dim": dim, **params},
        "axes": axes,
    }
    if dtype != "float64":
        spec["dtype"] = dtype
    if "lambdas" in params:
        spec["problem_params"].pop("dim")
    return spec


def assert_same_numbers(a, b, columns=None):
    """Every numeric column equal, bit for bit (NaN == NaN)."""
    columns = columns or [c for c in a.columns if c != "status"]
    for c in columns:
        x, y = np.asarray(a[c]), np.asarray(b[c])
        assert x.dtype == y.dtype, c
        if x.dtype.kind == "f":
            assert np.array_equal(x.view(np.int64), y.view(np.int64)), c
        else:
            assert np.array_equal(x, y), c
    assert (np.asarray(a["status"]) == np.asarray(b["status"])).all()


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML for {type(v).__name__}")


def spec_toml(spec: dict) -> str:
    """TOML text of a simple spec dict (every value inline)."""
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in spec.items())
