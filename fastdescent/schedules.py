"""Learning-rate schedules: eta_t = eta * s(t), closed forms of the step t.

Convention: the update from w_t to w_{t+1} uses eta_t, t = 0, 1, ..., steps - 1 (as
PyTorch, whose scheduler's ``last_epoch`` is t while the optimizer takes its step t,
and as optax, whose schedule is called with the update count t before it increments).
``T`` and the other lengths count updates. Kinds, parameters (defaults) and factors:

constant
    s(t) = 1.
step (every, gamma = 0.1)
    s(t) = gamma ** floor(t / every): PyTorch ``StepLR(step_size=every, gamma)`` (its
    closed form; the chained form multiplies, and may differ in the last bit).
exponential (gamma)
    s(t) = gamma ** t: PyTorch ``ExponentialLR(gamma)``.
cosine (T = steps, min_factor = 0)
    s(t) = min_factor + (1 - min_factor) (1 + cos(pi min(t, T) / T)) / 2: optax
    ``cosine_decay_schedule(1, decay_steps=T, alpha=min_factor)``. It reaches its floor at
    t = T and stays there (optax clamps the count); PyTorch's ``CosineAnnealingLR``
    (``eta_min = min_factor * eta``) gives the same values for t <= T but climbs back
    after T_max (it is periodic), which a sweep of more than T steps would show.
warmup_cosine (warmup, T = steps, start_factor = 0, min_factor = 0)
    t < warmup: s(t) = start_factor + (1 - start_factor) t / warmup (linear warm-up);
    t >= warmup: the cosine above at count t - warmup over T - warmup steps, so the
    warm-up is counted inside T: optax ``warmup_cosine_decay_schedule(init_value =
    start_factor, peak_value = 1, warmup_steps = warmup, decay_steps = T, end_value =
    min_factor)``; the floor is reached at t = T.
cyclical (half, low = 0.1, mode = "triangular")
    PyTorch ``CyclicLR(base_lr = low * eta, max_lr = eta, step_size_up = half,
    mode)``: cycle = floor(1 + t / (2 half)), x = |t / half - 2 cycle + 1|,
    s(t) = low + (1 - low) max(0, 1 - x) * scale, scale = 1 ("triangular") or
    1 / 2 ** (cycle - 1) ("triangular2"). s(0) = low, s(half) = 1, period 2 half.
exp_range (end_factor)
    s(t) = end_factor ** (t / (steps - 1)) (1 for steps = 1): geometric from eta at t = 0
    to eta * end_factor at the last update t = steps - 1, the learning-rate range test's
    sweep. (Not PyTorch CyclicLR's mode "exp_range", a decaying cyclical schedule.)

``normalise(table, where, steps)`` validates a ``[schedule]`` table and fills defaults;
``pack(schedule, steps)`` gives the (code, params) pair that the jitted ``factor(code,
params, t)`` reads; ``factors(schedule, steps)`` is s(0 .. steps-1) as an array.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit
from ._validate import as_choice, as_float, as_int, check_keys, fail

CONSTANT, STEP, EXPONENTIAL, COSINE, WARMUP_COSINE, CYCLICAL, EXP_RANGE = range(7)
CODES = {
    "constant": CONSTANT, "step": STEP, "exponential": EXPONENTIAL, "cosine": COSINE,
    "warmup_cosine": WARMUP_COSINE, "cyclical": CYCLICAL, "exp_range": EXP_RANGE,
}  # fmt: skip
KINDS = tuple(CODES)
MODES = ("triangular", "triangular2")
#: each kind's parameters, in the order ``pack`` stores them, with their defaults
#: (None: required; "steps": the sweep's steps)
PARAMS = {
    "constant": {},
    "step": {"every": None, "gamma": 0.1},
    "exponential": {"gamma": None},
    "cosine": {"T": "steps", "min_factor": 0.0},
    "warmup_cosine": {"warmup": None, "T": "steps", "start_factor": 0.0, "min_factor": 0.0},
    "cyclical": {"half": None, "low": 0.1, "mode": "triangular"},
    "exp_range": {"end_factor": None},
}
N_PARAMS = 4
#: schedules every sweep knows by name (a schedule axis may list them without a table)
BUILTIN = {"constant": {"kind": "constant"}}
#: the most a sweep's factor table (schedules x steps float64) may take
TABLE_BYTES = 1 << 30


def normalise(table, where: str, steps: int) -> dict:
    """Validate a schedule table ({"kind": ..., parameters}) -> {"kind", parameters with
    defaults filled in}; SpecError naming ``where.<key>``. ``steps``: the sweep's steps
    (the default T, and the bound on warm-up and cycle lengths)."""
    if not isinstance(table, dict):
        fail(where, table, 'expected a table such as { kind = "cosine" }')
    kind = as_choice(table.get("kind", "constant"), f"{where}.kind", KINDS)
    known = PARAMS[kind]
    check_keys(table, ("kind", *known), where)
    out: dict = {"kind": kind}
    for key, default in known.items():
        path = f"{where}.{key}"
        if key not in table and default is None:
            fail(where, table, f"schedule {kind!r} needs {key}")
        raw = table.get(key, steps if default == "steps" else default)
        if key in ("every", "T", "half"):
            out[key] = as_int(raw, path, ge=1)
        elif key == "warmup":
            out[key] = as_int(raw, path, ge=0)
        elif key == "mode":
            out[key] = as_choice(raw, path, MODES)
        elif key in ("min_factor", "low"):
            out[key] = as_float(raw, path, ge=0, le=1)
        elif key == "start_factor":
            out[key] = as_float(raw, path, ge=0)
        else:  # gamma, end_factor
            out[key] = as_float(raw, path, gt=0)
    if kind == "warmup_cosine" and out["warmup"] >= out["T"]:
        fail(f"{where}.warmup", out["warmup"], f"must be below T = {out['T']} (the warm-up is "
             "counted inside T)")  # fmt: skip
    return out


def pack(schedule: dict, steps: int) -> tuple[int, np.ndarray]:
    """(code, params float64 (N_PARAMS,)) of a normalised schedule, as ``factor`` reads
    them (mode as 0 / 1; exp_range's exponent step 1 / (steps - 1))."""
    kind = schedule["kind"]
    p = np.zeros(N_PARAMS)
    if kind == "cyclical":
        p[:3] = schedule["half"], schedule["low"], MODES.index(schedule["mode"])
    elif kind == "exp_range":
        p[:2] = schedule["end_factor"], 0.0 if steps <= 1 else 1.0 / (steps - 1)
    else:
        for i, key in enumerate(PARAMS[kind]):
            p[i] = schedule[key]
    return CODES[kind], p


@jit
def _cosine(count, T, floor):
    c = min(count, T)
    return floor + (1.0 - floor) * (0.5 * (1.0 + math.cos(math.pi * c / T)))


@jit
def factor(code, p, t):
    """s(t) of the schedule (code, p) from ``pack``, t = 0, 1, ... (the module docstring)."""
    if code == STEP:
        return p[1] ** (t // int(p[0]))
    if code == EXPONENTIAL:
        return p[0] ** t
    if code == COSINE:
        return _cosine(t, p[0], p[1])
    if code == WARMUP_COSINE:
        warmup, T, start, floor = p[0], p[1], p[2], p[3]
        if t < warmup:
            return start + (1.0 - start) * (t / warmup)
        return _cosine(t - warmup, T - warmup, floor)
    if code == CYCLICAL:
        half, low = p[0], p[1]
        cycle = math.floor(1.0 + t / (2.0 * half))
        x = abs(t / half - 2.0 * cycle + 1.0)
        scale = 1.0 if p[2] == 0.0 else 1.0 / 2.0 ** (cycle - 1.0)
        return low + (1.0 - low) * max(0.0, 1.0 - x) * scale
    if code == EXP_RANGE:
        return p[0] ** (t * p[1])
    return 1.0


@jit
def at(row, t):
    """s(t) from a row of ``sweep_table``'s table; 1.0 from an empty row (constant eta:
    no table is built, whatever the steps)."""
    if row.shape[0] == 0:
        return 1.0
    return row[t]


@jit
def _factors(code, p, steps, out):
    for t in range(steps):
        out[t] = factor(code, p, t)


def factors(schedule: dict, steps: int) -> np.ndarray:
    """s(0), ..., s(steps - 1) of a normalised schedule: float64 (steps,)."""
    code, p = pack(schedule, steps)
    out = np.empty(steps)
    _factors(code, p, steps, out)
    return out


def sweep_table(spec) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """The schedules of a sweep as the kernels read them (through ``at``): (names,
    table, varies).

    names: the schedule axis's values in order (("",) for one [schedule] table or for
    constant eta); table float64 (K, steps): s(t) of each, row k for names[k]; for a
    sweep without schedules (1, 0): no table, ``at`` reads 1.0 (eta * 1.0 is eta, bit
    for bit); varies bool (K,): s is not identically 1 (the kernels report rate NaN for
    those runs: the iteration changes with t, so it has no fixed contraction factor).
    The spec bounds the table's size (``TABLE_BYTES``)."""
    if not spec.schedules:
        return ("",), np.ones((1, 0)), np.zeros(1, np.bool_)
    names = tuple(spec.schedules)
    table = np.empty((len(names), spec.steps))
    for k, name in enumerate(names):
        table[k] = factors(spec.schedules[name], spec.steps)
    varies = ~np.all(table == 1.0, axis=1)
    return names, table, varies


def row_index(spec, lo: int, hi: int) -> np.ndarray:
    """Row of ``sweep_table``'s table for each trajectory lo .. hi-1: int64 (hi - lo,)."""
    if "schedule" not in spec.axes:
        return np.zeros(hi - lo, np.int64)
    return spec.decode(np.arange(lo, hi, dtype=np.int64))["schedule"]
