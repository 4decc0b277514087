"""Helpers shared by the tests: small specs, bit-for-bit comparison of result tables."""

from __future__ import annotations

import datetime
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


class Raw(str):
    """Text written into the TOML file as is (deep nesting, 1e400, ...)."""


_ESCAPES = {i: f"\\u{i:04X}" for i in [*range(0x20), 0x7F]}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\"})


def toml_str(s: str) -> str:
    return '"' + s.translate(_ESCAPES) + '"'


def toml_value(v) -> str:
    if isinstance(v, Raw):
        return str(v)
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
        return toml_str(v)
    if isinstance(v, (datetime.date, datetime.time)):  # datetime is a date
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = ", ".join(f"{toml_str(k)} = {toml_value(x)}" for k, x in v.items())
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"no TOML for {type(v).__name__}")


def dumps(doc: dict, style: int = 0) -> str:
    """TOML text of ``doc``. style 0: every value inline; 1: top-level tables as
    [sections]; 2: also their sub-tables as [a.b] sections."""
    lines, tables = [], []
    for k, v in doc.items():
        if style >= 1 and isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{toml_str(k)} = {toml_value(v)}")
    for k, v in tables:
        subtables = []
        lines.append(f"[{toml_str(k)}]")
        for k2, v2 in v.items():
            if style >= 2 and isinstance(v2, dict):
                subtables.append((k2, v2))
            else:
                lines.append(f"{toml_str(k2)} = {toml_value(v2)}")
        for k2, v2 in subtables:
            lines.append(f"[{toml_str(k)}.{toml_str(k2)}]")
            lines += [f"{toml_str(k3)} = {toml_value(v3)}" for k3, v3 in v2.items()]
    return "\n".join(lines) + "\n"


def spec_toml(spec: dict) -> str:
    """TOML text of a simple spec dict (every value inline)."""
    return dumps(spec)


def cli_run_args(spec_path, out, chunk_size, *extra) -> list[str]:
    """``fastdescent run`` arguments: one thread, quiet, the given chunk size."""
    return [
        "run", str(spec_path), "--out", str(out), "--chunk-size", str(chunk_size),
        "--threads", "1", "--quiet", *extra,
    ]  # fmt: skip


def assert_recorded_runs_end_at_the_sweep(out, pairs=()):
    """A [record] sweep in ``out``: every trajectory's recorded rows end at its summary row
    (step = steps, loss = final_loss, bit for bit, and each (recorded, summary) column
    pair in ``pairs``), and ``replay`` gives steps + 1 rows ending there too."""
    import fastdescent

    summary = fastdescent.load(out)
    recorded = fastdescent.load_trajectories(out)
    for t in summary.traj:
        row = summary[summary.traj == t].iloc[0]
        last = recorded[recorded.traj == t].iloc[-1]
        assert last.step == row.steps and last.loss == row.final_loss, (t, last, row)
        for rec, col in pairs:
            assert last[rec] == row[col], (t, rec, last[rec], row[col])
        full = fastdescent.replay(out, int(t))
        assert len(full) == row.steps + 1 and full.iloc[-1].loss == row.final_loss, t
