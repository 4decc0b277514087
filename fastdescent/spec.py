"""Sweep specs: parse, validate, normalise and hash; axis values; trajectory ids <-> grid.

A spec is a TOML file or the same dict (see DESIGN.md 1.2). ``parse_spec`` checks every
value before any work starts and raises one SpecError naming the key path, the value
and what is allowed.

The grid is the Cartesian product of the spec's axes in canonical order (AXIS_ORDER,
restricted to the axes the sweep has). It is never materialised: trajectory id ``traj``
is the C-order (last axis fastest) mixed-radix index over it, so for axes a, b, c with
lengths A, B, C: traj = (i_a * B + i_b) * C + i_c. Nor are the axes: ``axis_take`` gives
the values at any indices, bit-identical to the full np.linspace / np.geomspace arrays.

Limits (each a SpecError naming the key): ``name`` is a plain file-name component (it
names the output directory results/<name>); 0 <= stop.tol < 1 < stop.diverge; the loss at
the start is finite (the problem module's ``check_start``); a TOML file is at most
MAX_SPEC_BYTES (1 MiB), tables and lists nest at most MAX_DEPTH (32) levels, and the
normalised spec's canonical JSON, which travels in every result file, is at most 1 MiB.
"""

from __future__ import annotations

import codecs
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
    MAX_DEPTH,
    SpecError,
    SpecWarning,
    as_choice,
    as_float,
    as_int,
    as_list,
    as_str,
    check_depth,
    check_keys,
    check_table,
    fail,
    join,
    require,
    show,
)
from .optimizers import ADAPTIVE, AXES
from .optimizers import AXIS_DEFAULTS as OPTIMIZER_DEFAULTS

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

AXIS_ORDER = (
    "lr", "beta", "beta2", "eps", "kappa", "sigma", "batch_size", "schedule", "seed", "x0",
    "y0",
)  # fmt: skip
AXIS_DEFAULTS = {"beta": 0.0, "kappa": 1.0, "seed": 0}
INT_AXES = ("batch_size", "seed")  # integer axes: int64 values and columns
OPTIMIZER_AXES = AXES  # the axes each optimizer reads (fastdescent.optimizers)
DTYPES = ("float64", "float32")
STOP_DEFAULTS = {"tol": 1e-20, "diverge": 1e10}
GRAD_STOP_DEFAULTS = {"grad_tol": 1e-10, "radius": 1e6}  # landscapes (STOP_RULE "grad")
START_AXES = ("x0", "y0")  # optional: without them every run starts at problem_params.start
# absent: no such axis (no noise; full batch; one schedule for every run)
OPTIONAL_AXES = (*START_AXES, "sigma", "batch_size", "schedule")
MAX_STEPS = 2**31 - 1  # exclusive: steps are stored as int32
SEED_END = 2**63  # exclusive: seeds are int64
MAX_TRAJECTORIES = 2**63 - 1  # traj ids are int64
MAX_SPEC_BYTES = 1 << 20  # a TOML file, and the normalised spec's canonical JSON
MAX_VALUES = MAX_SPEC_BYTES // 2  # an axis's values: each takes >= 2 bytes of the JSON
NAME_MAX = 128  # characters of a sweep name
NAME_MAX_BYTES = 255  # ... and UTF-8 bytes: the most a file name may hold on most systems
NAME_PUNCTUATION = "-_."

_TOP_KEYS = (
    "name", "problem", "optimizer", "steps", "dtype", "problem_params", "stop", "metrics",
    "axes", "schedule", "schedules", "record",
)  # fmt: skip
METRICS_DEFAULTS = {"tail": 0.5}  # noisy sweeps: the tail the loss_tail_* columns cover
_RANGE_KEYS = ("start", "stop", "num", "scale")
_AXIS_FORMS = "an axis is {start, stop, num, scale = 'linear' | 'log'} or {values = [...]}"
# checks on the values of float axes (as_float bounds); other axes: any finite number
_AXIS_BOUNDS = {
    "lr": {"gt": 0}, "kappa": {"ge": 1}, "sigma": {"ge": 0}, "beta2": {"ge": 0, "lt": 1},
    "eps": {"ge": 0},
}  # fmt: skip


def _show_path(path) -> str:
    """A file path for a message: as is when printable, else its repr (one line); cut
    to 200 characters."""
    text = os.fsdecode(os.fspath(path))
    if len(text) > 200:
        return repr(text[:200]) + "..."
    return text if text.isprintable() else repr(text)


def load_toml(path: str | os.PathLike) -> dict:
    """Read a TOML file into a dict; SpecError (with file, and line for syntax errors).

    The file is read as bytes: at most MAX_SPEC_BYTES (1 MiB, checked before parsing); a
    leading UTF-8 byte-order mark is dropped; the rest must be UTF-8.
    """
    shown = _show_path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        text = os.fsdecode(os.fspath(path))
        shown = repr(text[:200]) + ("..." if len(text) > 200 else "")
        raise SpecError(f"spec file not found: {shown}") from None
    except OSError as exc:
        raise SpecError(f"cannot read spec file {shown}: {exc.strerror}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(
            f"{shown}: the file is larger than {MAX_SPEC_BYTES} bytes (1 MiB), the limit for "
            "a spec file"
        )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{shown}: not UTF-8 text: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line N, column M)"
        raise SpecError(f"{shown}: invalid TOML: {exc}") from None
    except RecursionError:
        raise SpecError(f"{shown}: {_TOO_DEEP}") from None


def parse_spec(source, name: str | None = None) -> SweepSpec:
    """A validated, normalised SweepSpec from a dict, a TOML path or a SweepSpec.

    ``name``, when given, replaces the spec's name (default: the ``name`` key, else the
    TOML file's stem, else "sweep"). A SweepSpec is returned as is (renamed if ``name``).
    Raises SpecError for an invalid spec; warns SpecWarning for beta outside [0, 1).
    """
    if isinstance(source, SweepSpec):
        if name is None or name == source.name:
            return source
        return replace(source, name=_check_name(name, "name"))
    if isinstance(source, (str, os.PathLike)):
        raw = load_toml(source)
        try:
            spec, notes = _normalise_guarded(raw, Path(os.fsdecode(source)).stem, name, True)
        except SpecError as exc:
            raise SpecError(f"{_show_path(source)}: {exc}") from None
    elif isinstance(source, Mapping):
        spec, notes = _normalise_guarded(source, "sweep", name, False)
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
    metrics: dict | None = None  # noisy sweeps (a sigma axis): {"tail": float}
    #: the schedules by name (``schedules.normalise``'d tables): {"": table} for a
    #: ``[schedule]`` table (every run), or the ``[schedules.NAME]`` tables that the
    #: ``schedule`` axis names; None: constant eta (the spec and its hash as before)
    schedules: dict | None = None
    record: dict | None = None  # [record]: {"every", "where", "max_trajectories"}

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
            **({"metrics": dict(self.metrics)} if self.metrics is not None else {}),
            **_schedule_keys(self.schedules),
            **({"record": copy.deepcopy(self.record)} if self.record is not None else {}),
        }

    @cached_property
    def hash(self) -> str:
        """sha256 hex digest of the canonical JSON of to_dict() without "name"."""
        body = self.to_dict()
        del body["name"]
        return hashlib.sha256(_canonical_json(body).encode()).hexdigest()

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
        integers start + i * (stop - start) // (num - 1). This materialises the whole
        axis (8 bytes per value): for long axes use ``axis_take``.
        """
        if name not in self.axes:
            raise KeyError(f"{name!r} is not an axis of this sweep (axes: {self.axis_names})")
        values = self._values.get(name)
        if values is None:
            values = _axis_array(name, self.axes[name])
            values.flags.writeable = False
            self._values[name] = values
        return values

    def axis_take(self, name: str, idx) -> np.ndarray:
        """Values of axis ``name`` at grid indices ``idx``: axis_values(name)[idx], bit for
        bit, in memory O(idx.size) whatever the axis length.

        ``idx``: an integer array (any shape, kept); negative indices count from the end
        as in NumPy; IndexError outside [-num, num). float64 (int64 for seed). Range axes
        repeat np.linspace's and np.geomspace's arithmetic elementwise (``_linspace_take``,
        ``_geomspace_take``); values axes and axes already cached index axis_values.
        """
        if name not in self.axes:
            raise KeyError(f"{name!r} is not an axis of this sweep (axes: {self.axis_names})")
        idx = np.asarray(idx)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"axis indices must be integers, got dtype {idx.dtype}")
        idx = idx.astype(np.int64, copy=False)
        axis = self.axes[name]
        num = _axis_len(axis)
        if idx.size and (idx.min() < -num or idx.max() >= num):
            raise IndexError(f"an index of axis {name!r} is outside [-{num}, {num})")
        if "values" in axis or name in self._values:
            return self.axis_values(name)[idx]
        flat = np.where(idx < 0, idx + num, idx).ravel()
        return _axis_take(name, axis, flat).reshape(idx.shape)

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
            out[name] = self.axis_take(name, idx)
        return out


def _axis_len(axis: dict) -> int:
    return len(axis["values"]) if "values" in axis else axis["num"]


def _axis_array(name: str, axis: dict) -> np.ndarray:
    """Values of a normalised axis: float64 (int64 for seed), shape (num,)."""
    if name == "schedule":
        return np.array(axis["values"], dtype=np.str_)
    if "values" in axis:
        return np.array(axis["values"], dtype=np.int64 if name in INT_AXES else np.float64)
    start, stop, num = axis["start"], axis["stop"], axis["num"]
    if name in INT_AXES:
        step = 0 if num == 1 else (stop - start) // (num - 1)
        return start + step * np.arange(num, dtype=np.int64)
    if axis["scale"] == "log":
        return np.geomspace(start, stop, num)
    return np.linspace(start, stop, num)


def _axis_take(name: str, axis: dict, idx: np.ndarray) -> np.ndarray:
    """Values of a normalised range axis at indices ``idx`` (int64, in [0, num), 1-D)."""
    start, stop, num = axis["start"], axis["stop"], axis["num"]
    if name in INT_AXES:
        step = 0 if num == 1 else (stop - start) // (num - 1)
        return start + step * idx
    if axis["scale"] == "log":
        return _geomspace_take(start, stop, num, idx)
    return _linspace_take(start, stop, num, idx)


def _linspace_take(start, stop, num: int, idx: np.ndarray) -> np.ndarray:
    """np.linspace(start, stop, num)[idx] without the other values, bit for bit.

    The float64 operations of numpy/_core/function_base.py (NumPy 2.4; the tests check
    them against the installed NumPy), elementwise: y_i = float(i) (np.arange);
    div = num - 1; step = (stop - start) / div; y_i * step if step != 0, else
    (y_i / div) * (stop - start) (subnormal steps); for num = 1, y_i * (stop - start);
    then + start; and the last value is stop exactly.
    """
    start = np.asarray(start, dtype=np.float64)
    stop = np.asarray(stop, dtype=np.float64)
    div = num - 1
    with np.errstate(all="ignore"):  # as np.linspace: overflow gives inf and NaN silently
        delta = np.subtract(stop, start, dtype=np.float64)
        y = idx.astype(np.float64)
        if div > 0:
            step = delta / div
            if step == 0:
                y = (y / div) * delta
            else:
                y = y * step
        else:
            y = y * delta
        y = y + start
    if num > 1:
        y[idx == num - 1] = stop
    return y


def _geomspace_take(start, stop, num: int, idx: np.ndarray) -> np.ndarray:
    """np.geomspace(start, stop, num)[idx] without the other values, bit for bit.

    As numpy/_core/function_base.py: with sign = sign(start), 10.0 ** y_i where y is
    np.linspace(log10(start / sign), log10(stop / sign), num) (``_linspace_take``), then
    the first value is start and the last stop exactly, all times sign.
    """
    start = np.asarray(start, dtype=np.float64)
    stop = np.asarray(stop, dtype=np.float64)
    sign = np.sign(start)
    start = start / sign
    stop = stop / sign
    y = _linspace_take(np.log10(start), np.log10(stop), num, idx)
    with np.errstate(all="ignore"):
        result = np.power(10.0, y)
    result[idx == 0] = start
    if num > 1:
        result[idx == num - 1] = stop
    return result * sign


_TOO_DEEP = f"tables and lists are nested too deeply to parse; at most {MAX_DEPTH} levels"


def _normalise_guarded(raw, default_name: str, name: str | None, from_file: bool):
    """_normalise, with the nesting depth checked first and RecursionError as SpecError."""
    try:
        check_depth(raw)
        return _normalise(raw, default_name, name, from_file)
    except RecursionError:
        raise SpecError(f"the spec: {_TOO_DEEP}") from None


def _check_name(value, where: str, from_file: bool = False) -> str:
    """A sweep name: a plain file-name component, as it names results/<name>.

    Unicode letters and digits (str.isalnum), '-', '_' and '.'; not empty, not starting
    with '.' (so not '.' or '..'), no path separators; at most NAME_MAX characters and
    NAME_MAX_BYTES bytes in UTF-8. ``from_file``: the name is the TOML file's stem.
    """
    name = as_str(value, where)
    rule = (
        f"a plain file name: letters, digits, '-', '_' and '.', not starting with '.', at "
        f"most {NAME_MAX} characters"
    )
    if from_file:
        hint = 'set name = "..." in the spec'
        rule = f"this default, taken from the file name, is not {rule}; {hint}"
    else:
        rule = f"expected {rule} (it names the output directory results/<name>)"
    ok_chars = all(c.isalnum() or c in NAME_PUNCTUATION for c in name[: NAME_MAX + 1])
    if not ok_chars or name.startswith(".") or len(name) > NAME_MAX:
        fail(where, name, rule)
    if len(name.encode("utf-8", "surrogatepass")) > NAME_MAX_BYTES:
        fail(where, name, f"{rule}; this one has more than {NAME_MAX_BYTES} bytes in UTF-8")
    return name


def _largest_key(data: dict, where: str = "") -> tuple[str, int]:
    """(key path, bytes) of the largest part of ``data``'s canonical JSON: the largest
    value of each table, down to the first value that is not a table."""
    sizes = {key: len(_canonical_json(value)) for key, value in data.items()}
    key = max(sizes, key=sizes.__getitem__)
    value = data[key]
    if isinstance(value, dict) and value:
        return _largest_key(value, join(where, key))
    return join(where, key), sizes[key]


def _canonical_json(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _normalise(
    raw, default_name: str, name: str | None, from_file: bool = False
) -> tuple[SweepSpec, list[str]]:
    """Validate a raw spec dict -> (SweepSpec, warning messages)."""
    table = check_table(raw, "")
    check_keys(table, _TOP_KEYS, "")
    if name is not None:
        name = _check_name(name, "name")
    elif "name" in table:
        name = _check_name(table["name"], "name")
    else:
        name = _check_name(default_name, "name", from_file=from_file)
    problem_names = problems.problem_names()
    what = f"one of {' | '.join(problem_names)}"
    problem = as_choice(require(table, "problem", "", what), "problem", problem_names)
    what = f"one of {' | '.join(OPTIMIZER_AXES)}"
    optimizer = as_choice(require(table, "optimizer", "", what), "optimizer", OPTIMIZER_AXES)
    what = "max steps per trajectory, an integer >= 1"
    steps = as_int(require(table, "steps", "", what), "steps", ge=1, lt=MAX_STEPS)
    dtype = as_choice(table.get("dtype", "float64"), "dtype", DTYPES)

    if optimizer in ADAPTIVE and dtype != "float64":
        fail("dtype", dtype, f"optimizer {optimizer!r} runs in float64 only")
    module = problems.get_problem(problem)
    params = check_table(table.get("problem_params", {}), "problem_params")
    params = module.normalise_params(params, "problem_params")

    stop = _parse_stop(check_table(table.get("stop", {}), "stop"), problem, module)
    if getattr(module, "STOP_RULE", "loss") == "grad" and dtype != "float64":
        fail("dtype", dtype, f"problem {problem!r} runs in float64 only (for now)")

    what = "a table of grid axes; lr is required"
    axes_raw = check_table(require(table, "axes", "", what), "axes")
    axes, notes = _parse_axes(axes_raw, optimizer, problem, module, params)
    check_start = getattr(module, "check_start", None)
    if check_start is not None:
        check_start(params, axes, dtype, "problem_params")
    metrics = _parse_metrics(table.get("metrics"), axes)
    if "sigma" in axes and dtype != "float64":
        fail("dtype", dtype, "gradient noise (axes.sigma) runs in float64 only (for now)")
    scheds = _parse_schedules(table, axes, steps)
    if scheds is not None:
        from .schedules import TABLE_BYTES

        size = len(scheds) * steps * 8  # the kernels' factor table (schedules.sweep_table)
        if size > TABLE_BYTES:
            raise SpecError(
                f"steps: {len(scheds)} schedule(s) x {steps:,} steps need a factor table of "
                f"{size / 2**30:.1f} GiB, more than the {TABLE_BYTES / 2**30:.0f} GiB allowed; "
                "fewer steps or fewer schedules"
            )
    if scheds is not None and dtype != "float64":
        fail("dtype", dtype, "learning-rate schedules run in float64 only (for now)")
    spec = SweepSpec(name, problem, optimizer, steps, dtype, params, stop, axes, metrics, scheds)
    if "record" in table:
        from .recording import parse_record

        spec = replace(spec, record=parse_record(table["record"], spec))
    if spec.size > MAX_TRAJECTORIES:
        dims = " x ".join(f"{n} {a}" for a, n in zip(spec.axis_names, spec.shape, strict=True))
        raise SpecError(f"axes: the grid has {spec.size} trajectories ({dims}); at most 2**63 - 1")
    data = spec.to_dict()
    size = len(_canonical_json(data))
    if size > MAX_SPEC_BYTES:
        key, key_size = _largest_key(data)
        raise SpecError(
            f"{key}: the spec's canonical JSON (it travels in every result file) would be "
            f"{size} bytes, more than {MAX_SPEC_BYTES} (1 MiB); this key holds {key_size} "
            "bytes of it"
        )
    return spec, notes


def is_stochastic(axes: dict) -> bool:
    """True for a sweep with gradient noise (a sigma axis) or mini-batches (a batch_size
    axis): its rows have the tail columns and its spec the [metrics] table."""
    return "sigma" in axes or "batch_size" in axes


def _parse_metrics(raw, axes: dict) -> dict | None:
    """The [metrics] table: tail in (0, 1] (default 0.5), for stochastic sweeps only (a
    sigma or batch_size axis); None for the others, so that their normalised spec and hash
    are unchanged."""
    if not is_stochastic(axes):
        if raw is not None:
            fail(
                "metrics", raw,
                "only a stochastic sweep (axes.sigma or axes.batch_size) reads it",
            )  # fmt: skip
        return None
    table = check_table(raw if raw is not None else {}, "metrics")
    check_keys(table, METRICS_DEFAULTS, "metrics")
    tail = as_float(table.get("tail", METRICS_DEFAULTS["tail"]), "metrics.tail", gt=0, le=1)
    return {"tail": tail}


def _schedule_keys(schedules: dict | None) -> dict:
    """The spec dict's schedule keys: {"schedule": table} for one schedule, {"schedules":
    {name: table}} for a schedule axis, {} for constant eta."""
    if schedules is None:
        return {}
    if "" in schedules:
        return {"schedule": dict(schedules[""])}
    return {"schedules": {name: dict(t) for name, t in schedules.items()}}


def _parse_schedules(table: dict, axes: dict, steps: int) -> dict | None:
    """[schedule] (every run) or [schedules.NAME] tables with an axis naming them ->
    {name: normalised table} ({"": table} for [schedule]); None without either."""
    from .schedules import BUILTIN, normalise

    one, named = table.get("schedule"), table.get("schedules")
    axis = axes.get("schedule")
    if one is not None and (named is not None or axis is not None):
        raise SpecError(
            "schedule: give one [schedule] table (every run), or [schedules.NAME] tables "
            "with an axis schedule = { values = [...] } naming them, not both"
        )
    if one is not None:
        return {"": normalise(one, "schedule", steps)}
    if named is None and axis is None:
        return None
    named = check_table(named if named is not None else {}, "schedules")
    out = {}
    for key, sub in named.items():
        out[key] = normalise(sub, f"schedules.{key}", steps)
        if key in BUILTIN and out[key] != BUILTIN[key]:
            fail(f"schedules.{key}", sub, f"{key!r} is built in (constant eta); pick another name")
    if axis is None:
        raise SpecError(
            "schedules: named schedules need an axis naming the ones to run: "
            f"axes.schedule = {{ values = {['constant', *out]!r} }}".replace("'", '"')
        )
    for i, key in enumerate(axis["values"]):
        if key not in out and key not in BUILTIN:
            known = ", ".join(repr(k) for k in (*BUILTIN, *out))
            fail(f"axes.schedule.values[{i}]", key, f"no such schedule (defined: {known})")
    unused = [key for key in out if key not in axis["values"] and key not in BUILTIN]
    if unused:
        fail(f"schedules.{unused[0]}", named[unused[0]], "defined but not in axes.schedule")
    for key in axis["values"]:
        if key not in out:
            out[key] = dict(BUILTIN[key])
    return {key: out[key] for key in axis["values"]}


def _parse_stop(stop: dict, problem: str, module) -> dict:
    """The stop table, by the problem's rule (its STOP_RULE, "loss" when it has none).

    loss: converged gap <= tol * gap0, diverged gap > diverge * gap0, so 0 <= tol < 1 <
    diverge. grad (landscapes): converged |grad f| <= grad_tol, left |w - w_0| > radius,
    so grad_tol >= 0 and radius > 0, both finite.
    """
    if getattr(module, "STOP_RULE", "loss") == "grad":
        for key in stop:
            if key in STOP_DEFAULTS:
                raise SpecError(
                    f"stop.{key}: problem {problem!r} stops by the gradient rule; its keys "
                    "are grad_tol and radius"
                )
        check_keys(stop, GRAD_STOP_DEFAULTS, "stop")
        grad_tol = stop.get("grad_tol", GRAD_STOP_DEFAULTS["grad_tol"])
        radius = stop.get("radius", GRAD_STOP_DEFAULTS["radius"])
        return {
            "grad_tol": as_float(grad_tol, "stop.grad_tol", ge=0),
            "radius": as_float(radius, "stop.radius", gt=0),
        }
    for key in stop:
        if key in GRAD_STOP_DEFAULTS:
            raise SpecError(
                f"stop.{key}: problem {problem!r} stops by the loss rule; its keys are tol "
                "and diverge"
            )
    check_keys(stop, STOP_DEFAULTS, "stop")
    return {
        "tol": as_float(stop.get("tol", STOP_DEFAULTS["tol"]), "stop.tol", ge=0, lt=1),
        "diverge": as_float(stop.get("diverge", STOP_DEFAULTS["diverge"]), "stop.diverge", gt=1),
    }


def _parse_axes(table: dict, optimizer: str, problem: str, module, params: dict):
    """Validate the axes table -> (normalised axes in AXIS_ORDER order, warnings)."""
    check_keys(table, AXIS_ORDER, "axes")
    opt_axes = OPTIMIZER_AXES[optimizer]
    used = set(opt_axes) | set(module.axes_used(params)) | {"seed", "schedule"}
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
        elif name in OPTIMIZER_DEFAULTS.get(optimizer, {}):
            axes[name] = {"values": [OPTIMIZER_DEFAULTS[optimizer][name]]}
        elif name in AXIS_DEFAULTS:
            axes[name] = {"values": [AXIS_DEFAULTS[name]]}
        elif name in OPTIONAL_AXES:
            continue  # the start point is problem_params.start; no sigma: no noise
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
    elif name == "schedule":
        raise SpecError(
            f'{where}: a schedule axis lists names: {{ values = ["constant", "NAME", ...] }}'
        )
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
    items = as_list(raw, where, max_len=MAX_VALUES)
    if name == "schedule":
        names = [as_str(v, f"{where}[{i}]") for i, v in enumerate(items)]
        if len(set(names)) != len(names):
            fail(where, names, "each schedule at most once")
        return names
    if name == "seed":
        return [as_int(v, f"{where}[{i}]", ge=0, lt=SEED_END) for i, v in enumerate(items)]
    if name == "batch_size":
        return [as_int(v, f"{where}[{i}]", ge=1) for i, v in enumerate(items)]
    bounds = _AXIS_BOUNDS.get(name, {})
    return [as_float(v, f"{where}[{i}]", **bounds) for i, v in enumerate(items)]


def _parse_range(name: str, table: dict, where: str) -> dict:
    scale = as_choice(table.get("scale", "linear"), f"{where}.scale", ("linear", "log"))
    num = as_int(table["num"], f"{where}.num", ge=1)
    if name in INT_AXES:
        what = "seeds" if name == "seed" else "batch sizes"
        if scale == "log":
            fail(
                f"{where}.scale", scale,
                f"a {name} axis must be linear ({what} are integers; or use values = [...])",
            )  # fmt: skip
        low, high = (0, SEED_END) if name == "seed" else (1, None)
        start = as_int(table["start"], f"{where}.start", ge=low, lt=high)
        stop = as_int(table["stop"], f"{where}.stop", ge=low, lt=high)
        if num > 1 and (stop - start) % (num - 1):
            raise SpecError(
                f"{where}: start = {start}, stop = {stop}, num = {num} gives non-integer "
                f"{what}; stop - start must be a multiple of num - 1 (or use values = [...])"
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
