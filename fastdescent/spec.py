"""Sweep specs: parse, validate, normalise and hash; axis values; trajectory ids <-> grid.

A spec is a TOML file or the same dict (see DESIGN.md 1.2). ``parse_spec`` checks every
value before any work starts and raises one SpecError naming the key path, the value
and what is allowed.

The grid is the Cartesian product of the spec's axes in canonical order (AXIS_ORDER,
restricted to the axes the sweep has). It is never materialised: trajectory id ``traj``
is the C-order (last axis fastest) mixed-radix index over it, so for axes a, b, c with
lengths A, B, C: traj = (i_a * B + i_b) * C + i_c.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from . import problems
from ._validate import (
    SpecError,
    SpecWarning,
    as_choice,
    as_float,
    as_int,
    as_list,
    as_str,
    check_keys,
    check_table,
    fail,
    require,
    show,
)
from .optimizers import AXES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "AXIS_DEFAULTS",
    "AXIS_ORDER",
    "OPTIMIZER_AXES",
    "SpecError",
    "SpecWarning",
    "SweepSpec",
    "load_toml",
    "parse_spec",
]

AXIS_ORDER = ("lr", "beta", "kappa", "sigma", "batch_size", "seed", "x0", "y0")
AXIS_DEFAULTS = {"beta": 0.0, "kappa": 1.0, "seed": 0}
OPTIMIZER_AXES = AXES  # the axes each optimizer reads (fastdescent.optimizers)
DTYPES = ("float64", "float32")
STOP_DEFAULTS = {"tol": 1e-20, "diverge": 1e10}
MAX_STEPS = 2**31 - 1  # exclusive: steps are stored as int32
SEED_END = 2**63  # exclusive: seeds are int64
MAX_TRAJECTORIES = 2**63 - 1  # traj ids are int64

_TOP_KEYS = ("name", "problem", "optimizer", "steps", "dtype", "problem_params", "stop", "axes")
_RANGE_KEYS = ("start", "stop", "num", "scale")
_AXIS_FORMS = "an axis is {start, stop, num, scale = 'linear' | 'log'} or {values = [...]}"
# checks on the values of float axes (as_float bounds); other axes: any finite number
_AXIS_BOUNDS = {"lr": {"gt": 0}, "kappa": {"ge": 1}}


def load_toml(path: str | os.PathLike) -> dict:
    """Read a TOML file into a dict; SpecError (with file, and line for syntax errors)."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SpecError(f"spec file not found: {os.fspath(path)!r}") from None
    except OSError as exc:
        raise SpecError(f"cannot read spec file {os.fspath(path)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line N, column M)"
        raise SpecError(f"{os.fspath(path)}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{os.fspath(path)}: not UTF-8 text: {exc}") from None


def parse_spec(source, name: str | None = None) -> SweepSpec:
    """A validated, normalised SweepSpec from a dict, a TOML path or a SweepSpec.

    ``name``, when given, replaces the spec's name (default: the ``name`` key, else the
    TOML file's stem, else "sweep"). A SweepSpec is returned as is (renamed if ``name``).
    Raises SpecError for an invalid spec; warns SpecWarning for beta outside [0, 1).
    """
    if isinstance(source, SweepSpec):
        if name is None or name == source.name:
            return source
        return replace(source, name=as_str(name, "name"))
    if isinstance(source, (str, os.PathLike)):
        raw = load_toml(source)
        try:
            spec, notes = _normalise(raw, Path(source).stem, name)
        except SpecError as exc:
            raise SpecError(f"{os.fspath(source)}: {exc}") from None
    elif isinstance(source, Mapping):
        spec, notes = _normalise(source, "sweep", name)
    else:
        raise TypeError(
            f"a spec is a dict, a path to a TOML file or a SweepSpec, got {type(source).__name__}"
        )
    for note in notes:
        warnings.warn(note, SpecWarning, stacklevel=2)
    return spec


@dataclass(frozen=True)
class SweepSpec:
    """A validated, normalised sweep spec; build it with ``parse_spec``. Treat as read-only.

    problem_params: the problem's normalised params (see its module).
    stop: {"tol": float, "diverge": float}.
    axes: axis name -> {"start", "stop", "num", "scale"} or {"values": [...]}, plus
      "relative_to" ("lambda_max" or None) on lr; in AXIS_ORDER order; the axes the
      problem and optimizer use, plus seed (absent ones filled with their defaults).
    """

    name: str
    problem: str
    optimizer: str
    steps: int
    dtype: str
    problem_params: dict
    stop: dict
    axes: dict

    def __post_init__(self):
        object.__setattr__(self, "_values", {})

    def __hash__(self):
        return hash((self.name, self.hash))

    def to_dict(self) -> dict:
        """The normalised spec as a JSON-serialisable dict with every key (a deep copy)."""
        return {
            "name": self.name,
            "problem": self.problem,
            "optimizer": self.optimizer,
            "steps": self.steps,
            "dtype": self.dtype,
            "problem_params": copy.deepcopy(self.problem_params),
            "stop": dict(self.stop),
            "axes": {name: copy.deepcopy(self.axes[name]) for name in self.axis_names},
        }

    @cached_property
    def hash(self) -> str:
        """sha256 hex digest of the canonical JSON of to_dict() without "name"."""
        body = self.to_dict()
        del body["name"]
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def axis_names(self) -> tuple[str, ...]:
        """The grid's axes in canonical order (AXIS_ORDER)."""
        return tuple(name for name in AXIS_ORDER if name in self.axes)

    @cached_property
    def shape(self) -> tuple[int, ...]:
        """The grid's shape: one length per axis in axis_names."""
        return tuple(_axis_len(self.axes[name]) for name in self.axis_names)

    @property
    def size(self) -> int:
        """The number of trajectories: the product of shape."""
        return math.prod(self.shape)

    def axis_values(self, name: str) -> np.ndarray:
        """Values of axis ``name`` as specified, shape (num,): float64 (int64 for seed).

        Read-only and cached. linear: np.linspace(start, stop, num); log:
        np.geomspace(start, stop, num) (both with exact endpoints); seed ranges are exact
        integers start + i * (stop - start) // (num - 1).
        """
        if name not in self.axes:
            raise KeyError(f"{name!r} is not an axis of this sweep (axes: {self.axis_names})")
        values = self._values.get(name)
        if values is None:
            values = _axis_array(name, self.axes[name])
            values.flags.writeable = False
            self._values[name] = values
        return values

    def decode(self, traj) -> dict[str, np.ndarray]:
        """Grid indices of trajectory ids: {axis: int64 index array, same shape as traj}.

        ``traj``: integer array of ids in [0, size); C order over axis_names, i.e.
        np.unravel_index(traj, shape).
        """
        idx = np.unravel_index(np.asarray(traj, dtype=np.int64), self.shape)
        pairs = zip(self.axis_names, idx, strict=True)
        return {name: i.astype(np.int64, copy=False) for name, i in pairs}

    def coordinates(self, lo: int, hi: int) -> dict[str, np.ndarray]:
        """Ids lo .. hi-1 and their axis values, each array of shape (hi - lo,).

        {"traj": int64 ids, <axis>: its values (float64; int64 for seed)}. Memory is
        O(hi - lo): the grid is never materialised.
        """
        lo, hi = int(lo), int(hi)
        if not 0 <= lo <= hi <= self.size:
            raise ValueError(f"need 0 <= lo <= hi <= size = {self.size}, got lo={lo}, hi={hi}")
        traj = np.arange(lo, hi, dtype=np.int64)
        out = {"traj": traj}
        for name, idx in self.decode(traj).items():
            out[name] = self.axis_values(name)[idx]
        return out


def _axis_len(axis: dict) -> int:
    return len(axis["values"]) if "values" in axis else axis["num"]


def _axis_array(name: str, axis: dict) -> np.ndarray:
    """Values of a normalised axis: float64 (int64 for seed), shape (num,)."""
    if "values" in axis:
        return np.array(axis["values"], dtype=np.int64 if name == "seed" else np.float64)
    start, stop, num = axis["start"], axis["stop"], axis["num"]
    if name == "seed":
        step = 0 if num == 1 else (stop - start) // (num - 1)
        return start + step * np.arange(num, dtype=np.int64)
    if axis["scale"] == "log":
        return np.geomspace(start, stop, num)
    return np.linspace(start, stop, num)


def _normalise(raw, default_name: str, name: str | None) -> tuple[SweepSpec, list[str]]:
    """Validate a raw spec dict -> (SweepSpec, warning messages)."""
    table = check_table(raw, "")
    check_keys(table, _TOP_KEYS, "")
    name = as_str(name if name is not None else table.get("name", default_name), "name")
    problem_names = problems.problem_names()
    what = f"one of {' | '.join(problem_names)}"
    problem = as_choice(require(table, "problem", "", what), "problem", problem_names)
    what = f"one of {' | '.join(OPTIMIZER_AXES)}"
    optimizer = as_choice(require(table, "optimizer", "", what), "optimizer", OPTIMIZER_AXES)
    what = "max steps per trajectory, an integer >= 1"
    steps = as_int(require(table, "steps", "", what), "steps", ge=1, lt=MAX_STEPS)
    dtype = as_choice(table.get("dtype", "float64"), "dtype", DTYPES)

    module = problems.get_problem(problem)
    params = check_table(table.get("problem_params", {}), "problem_params")
    params = module.normalise_params(params, "problem_params")

    stop = check_table(table.get("stop", {}), "stop")
    check_keys(stop, STOP_DEFAULTS, "stop")
    stop = {
        "tol": as_float(stop.get("tol", STOP_DEFAULTS["tol"]), "stop.tol", ge=0),
        "diverge": as_float(stop.get("diverge", STOP_DEFAULTS["diverge"]), "stop.diverge", gt=0),
    }

    what = "a table of grid axes; lr is required"
    axes_raw = check_table(require(table, "axes", "", what), "axes")
    axes, notes = _parse_axes(axes_raw, optimizer, problem, module, params)
    spec = SweepSpec(name, problem, optimizer, steps, dtype, params, stop, axes)
    if spec.size > MAX_TRAJECTORIES:
        dims = " x ".join(f"{n} {a}" for a, n in zip(spec.axis_names, spec.shape, strict=True))
        raise SpecError(f"axes: the grid has {spec.size} trajectories ({dims}); at most 2**63 - 1")
    return spec, notes


def _parse_axes(table: dict, optimizer: str, problem: str, module, params: dict):
    """Validate the axes table -> (normalised axes in AXIS_ORDER order, warnings)."""
    check_keys(table, AXIS_ORDER, "axes")
    opt_axes = OPTIMIZER_AXES[optimizer]
    used = set(opt_axes) | set(module.axes_used(params)) | {"seed"}
    for name in table:
        if name in used:
            continue
        if any(name in axes for axes in OPTIMIZER_AXES.values()):
            uses = ", ".join(a for a in AXIS_ORDER if a in opt_axes or a == "seed")
            raise SpecError(
                f"axes.{name}: optimizer {optimizer!r} does not use this axis (it uses: {uses})"
            )
        uses = ", ".join(a for a in AXIS_ORDER if a in used)
        raise SpecError(
            f"axes.{name}: problem {problem!r} with problem_params {show(params)} does not use "
            f"this axis (this sweep's axes: {uses})"
        )
    axes = {}
    for name in AXIS_ORDER:
        if name not in used:
            continue
        if name in table:
            axes[name] = _parse_axis(name, table[name], f"axes.{name}", module)
        elif name in AXIS_DEFAULTS:
            axes[name] = {"values": [AXIS_DEFAULTS[name]]}
        else:
            require(table, name, "axes", _AXIS_FORMS)
        if name == "lr":
            axes[name].setdefault("relative_to", None)
    notes = _beta_notes(axes["beta"]) if "beta" in table else []
    return axes, notes


def _parse_axis(name: str, raw, where: str, module) -> dict:
    """Validate one axis table -> its normalised dict."""
    table = check_table(raw, where)
    if "relative_to" in table and name != "lr":
        fail(f"{where}.relative_to", table["relative_to"], "only axes.lr accepts relative_to")
    check_keys(table, ("values", *_RANGE_KEYS, "relative_to"), where)
    if "values" in table:
        extra = [key for key in _RANGE_KEYS if key in table]
        if extra:
            raise SpecError(
                f"{where}: give either values or start/stop/num/scale, not both "
                f"(found values with {', '.join(extra)})"
            )
        axis = {"values": _parse_values(name, table["values"], f"{where}.values")}
    else:
        missing = [key for key in ("start", "stop", "num") if key not in table]
        if missing:
            raise SpecError(f"{where}: missing {', '.join(missing)}; {_AXIS_FORMS}")
        axis = _parse_range(name, table, where)
    if "relative_to" in table and table["relative_to"] is not None:
        as_choice(table["relative_to"], f"{where}.relative_to", ("lambda_max",))
        if not hasattr(module, "lambda_range"):
            fail(f"{where}.relative_to", "lambda_max", "this problem has no lambda_max")
        axis["relative_to"] = "lambda_max"
    return axis


def _parse_values(name: str, raw, where: str) -> list:
    items = as_list(raw, where)
    if name == "seed":
        return [as_int(v, f"{where}[{i}]", ge=0, lt=SEED_END) for i, v in enumerate(items)]
    bounds = _AXIS_BOUNDS.get(name, {})
    return [as_float(v, f"{where}[{i}]", **bounds) for i, v in enumerate(items)]


def _parse_range(name: str, table: dict, where: str) -> dict:
    scale = as_choice(table.get("scale", "linear"), f"{where}.scale", ("linear", "log"))
    num = as_int(table["num"], f"{where}.num", ge=1)
    if name == "seed":
        if scale == "log":
            fail(f"{where}.scale", scale, "a seed axis must be linear (seeds are integers)")
        start = as_int(table["start"], f"{where}.start", ge=0, lt=SEED_END)
        stop = as_int(table["stop"], f"{where}.stop", ge=0, lt=SEED_END)
        if num > 1 and (stop - start) % (num - 1):
            raise SpecError(
                f"{where}: start = {start}, stop = {stop}, num = {num} gives non-integer "
                "seeds; stop - start must be a multiple of num - 1 (or use values = [...])"
            )
        return {"start": start, "stop": stop, "num": num, "scale": "linear"}
    bounds = _AXIS_BOUNDS.get(name, {})
    start = as_float(table["start"], f"{where}.start", **bounds)
    stop = as_float(table["stop"], f"{where}.stop", **bounds)
    if scale == "log":
        for key, value in (("start", start), ("stop", stop)):
            if value <= 0:
                fail(f"{where}.{key}", value, "a log-scale axis needs bounds > 0")
    return {"start": start, "stop": stop, "num": num, "scale": scale}


def _beta_notes(axis: dict) -> list[str]:
    """A warning message when beta leaves [0, 1) (both range ends suffice: ranges are monotone)."""
    if "values" in axis:
        points = [(f"values[{i}]", v) for i, v in enumerate(axis["values"])]
    else:
        points = [("start", axis["start"]), ("stop", axis["stop"])][: axis["num"]]
    bad = [f"axes.beta.{key} = {v!r}" for key, v in points if not 0.0 <= v < 1.0]
    if not bad:
        return []
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return [
        f"{bad[0]}{more} is outside [0, 1): theory covers it, but such runs diverge or oscillate"
    ]
