"""From a parsed spec to kernel arguments and result columns, one chunk at a time.

``Engine(spec).kernel(lo, n)`` runs trajectories lo .. lo+n-1 and returns the metric
columns; ``Engine(spec).coordinates(lo, hi)`` gives their ids, axis values and derived
columns (the Parquet schema's names). Nothing here is bigger than one chunk, whatever the
axis lengths.

The quadratic kernel (``kernels.sweep_quadratic``, the explicit-SIMD path) decodes ids
over four slots (lr, beta, kappa, seed; C order, seed fastest) and reads one table per
slot: lr values (shape[0],), beta values (shape[1],), eigenvalues (shape[2], d) and
lambda_max (shape[2],) per kappa (seeds are not read). A slot whose table has at most
``Engine.MATERIALISE_MAX`` entries (length x row width; the kappa slot's rows hold
max(d, 2) eigenvalues and lambda_max) is materialised once, as the kernel's whole table.
A longer one ("long") is computed per chunk, only over the index window the chunk needs,
so no table the engine holds or builds has more than about MATERIALISE_MAX entries,
whatever the axis lengths and d:

- the chunk's id range is split where the fastest long slot q wraps (at multiples of
  stride_q * len_q, stride_q = the product of the lengths of the slots after q), and so
  that a piece spans at most MATERIALISE_MAX // (row width) indices of slot q;
- within one such piece every slot before q is constant, slot q runs through a
  contiguous window [w0, w1) of its indices, and the slots after q (all short) take
  every value;
- so the unchanged kernel runs the piece with shape (1, ..., 1, w1 - w0, len_{q+1}, ...),
  the tables of the constant slots cut to their one row, slot q's computed for the
  window only (``SweepSpec.axis_take``; eigenvalues of those kappas only), and the
  piece's first id re-encoded as (first id) mod stride_q; it writes into slices of the
  chunk's output arrays.

Each trajectory is computed on its own from its (lr, beta, eigenvalues, lambda_max, start),
and the windowed tables hold the same numbers as the whole ones (``axis_take`` is
bit-identical to ``axis_values``; eigenvalues are computed row by row), so the results do
not depend on MATERIALISE_MAX, bit for bit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from . import __version__, kernels, schedules
from .metrics import block_length
from .optimizers import ADAPTIVE, CODES, ORDER
from .problems import get_problem
from .spec import SweepSpec, is_stochastic

DERIVED = ("eta", "lambda_min", "lambda_max")
OUTPUTS = ("status", "steps", "diverge_step", "loss0", "final_loss", "rate")  # kernel order
TAIL_FIELDS = ("loss_tail_mean", "loss_tail_std")  # noisy sweeps
PRECOND_FIELD = "precond_sharpness"  # adaptive optimizers
SLOTS = ("lr", "beta", "kappa", "seed")  # the kernel's slots, C order
MATERIALISE_MAX = 1 << 20  # table entries materialised per slot (8 MiB of float64)


def _readonly(a) -> np.ndarray:
    """float64, C-contiguous and read-only: every table the kernel gets has the same Numba
    type (``readonly array(float64, ..., C)``), so it is compiled once."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class Piece:
    """One kernel call: ids a .. b-1 of the grid, run as ids lo .. lo + b - a - 1 of a grid
    of shape ``shape`` whose slot s starts at grid index ``offsets[s]``.

    lr (shape[0],), beta (shape[1],), lam (shape[2], max(d, 2)), lam_max (shape[2],): the
    slots' tables over their windows, float64, C-contiguous, read-only.
    """

    a: int
    b: int
    lo: int
    shape: np.ndarray
    offsets: tuple[int, int, int, int]
    lr: np.ndarray
    beta: np.ndarray
    lam: np.ndarray
    lam_max: np.ndarray


def _empty_outputs(n: int) -> dict[str, np.ndarray]:
    """The quadratic kernels' output columns for n trajectories, uninitialised."""
    types = (np.int8, np.int32, np.int32, np.float64, np.float64, np.float64)
    return {key: np.empty(n, dtype) for key, dtype in zip(OUTPUTS, types, strict=True)}


class Engine:
    """Kernel arguments for one sweep (quadratic problem).

    shape: int64 (4,), the grid's length in each kernel slot (1 for an axis the sweep
    lacks). long: the slots (0 lr, 1 beta, 2 kappa) computed per chunk, see the module
    docstring. lr, beta, lam, lam_max: the materialised tables, None for a long slot.
    """

    MATERIALISE_MAX = MATERIALISE_MAX

    PATHS = ("simd", "lanes")

    def __init__(self, spec: SweepSpec, path: str | None = None):
        if spec.problem != "quadratic":
            raise NotImplementedError(f"problem {spec.problem!r} has no kernel yet")
        self.noisy = "sigma" in spec.axes
        self.scheduled = spec.schedules is not None
        self.adaptive = spec.optimizer in ADAPTIVE
        if path is None:  # the SIMD path where it applies: constant eta, no gradient noise
            path = "lanes" if self.noisy or self.scheduled or self.adaptive else "simd"
        if path not in self.PATHS:
            raise ValueError(f"path must be one of {self.PATHS}, got {path!r}")
        if path == "simd" and (self.noisy or self.scheduled or self.adaptive):
            raise ValueError(
                "the SIMD path has no gradient noise (axes.sigma), no schedules and no adaptive "
                "optimizers: use the lanes"
            )
        if path == "lanes" and spec.dtype != "float64":
            raise ValueError("the lane path runs quadratics in float64 only")
        self.spec = spec
        self.path = path
        self._problem = get_problem("quadratic")
        params = spec.problem_params
        axes = spec.axes
        self.relative_lr = axes["lr"].get("relative_to") == "lambda_max"
        lengths = dict(zip(spec.axis_names, spec.shape, strict=True))
        self.shape = np.array([lengths.get(name, 1) for name in SLOTS], dtype=np.int64)
        self.d = params["dim"]
        # entries per index of each slot's table: eigenvalues (padded to d >= 2) and
        # lambda_max per kappa
        self._width = (1, 1, max(self.d, 2) + 1)
        self._limit = limit = self.MATERIALISE_MAX  # as it was when the engine was built
        self.long = tuple(
            s
            for s in range(3)
            if SLOTS[s] in axes
            and self.shape[s] > 1
            and int(self.shape[s]) * self._width[s] > limit
        )
        self._full = [
            None if s in self.long else self._tables(s, 0, int(self.shape[s])) for s in range(3)
        ]
        self.lr = None if self._full[0] is None else self._full[0][0]
        self.beta = None if self._full[1] is None else self._full[1][0]
        self.lam, self.lam_max = self._full[2] if self._full[2] is not None else (None, None)
        start = np.asarray(params["start"], dtype=np.float64)
        if self.d < 2:
            # d = 1 runs as d = 2 (the kernel's register path) with a second coordinate of
            # eigenvalue 0 starting at 0: it adds exact zeros to the loss and never enters
            # the rate fit
            start = np.pad(start, (0, 1))
        self._kernel = kernels.sweep_quadratic
        self.start = np.ascontiguousarray(start)
        self.optimizer = CODES[spec.optimizer]
        self.order = ORDER[spec.optimizer]
        self.block = block_length(spec.steps)
        self.spec_json = json.dumps(spec.to_dict(), sort_keys=True)
        self.schedule_table = schedules.sweep_table(spec)

    def _tables(self, slot: int, i0: int, i1: int) -> tuple[np.ndarray, ...]:
        """Slot ``slot``'s kernel tables over its grid indices i0 .. i1-1.

        lr: (values,); beta: (values,) (0.0 if the sweep has no beta axis); kappa:
        (eigenvalues (i1 - i0, max(d, 2)), lambda_max (i1 - i0,)), of one row when the
        sweep has no kappa axis. float64, C-contiguous, read-only.
        """
        name = SLOTS[slot]
        spec = self.spec
        if slot < 2:
            if name not in spec.axes:
                return (_readonly(np.zeros(1)),)
            if slot in self.long:
                values = spec.axis_take(name, np.arange(i0, i1, dtype=np.int64))
            else:
                values = spec.axis_values(name)[i0:i1]
            return (_readonly(values),)
        params = self.spec.problem_params
        kappa = None
        if "kappa" in spec.axes:
            if slot in self.long:
                kappa = spec.axis_take("kappa", np.arange(i0, i1, dtype=np.int64))
            else:
                kappa = spec.axis_values("kappa")[i0:i1]
        lam = self._problem.eigenvalues(kappa, params)
        _, lam_max = self._problem.lambda_range(kappa, params)
        if lam.shape[1] < 2:
            lam = np.pad(lam, ((0, 0), (0, 1)))  # d = 1 as d = 2, see __init__
        return _readonly(lam), _readonly(lam_max)

    def _window(self, slot: int, i0: int, i1: int) -> tuple[np.ndarray, ...]:
        """The tables of ``slot`` over indices i0 .. i1-1: cut from the materialised ones,
        or computed for the window when the slot is long."""
        full = self._full[slot]
        if full is None:
            return self._tables(slot, i0, i1)
        if i0 == 0 and i1 == int(self.shape[slot]):
            return full
        return tuple(_readonly(table[i0:i1]) for table in full)

    def _pieces(self, lo: int, hi: int):
        """The kernel calls that run ids lo .. hi-1: Pieces covering them in order."""
        shape = [int(n) for n in self.shape]
        if not self.long:
            if hi > lo:
                (lr,), (beta,), (lam, lam_max) = self._full
                yield Piece(lo, hi, lo, self.shape, (0, 0, 0, 0), lr, beta, lam, lam_max)
            return
        q = max(self.long)  # the fastest long slot
        stride = math.prod(shape[q + 1 :])
        period = stride * shape[q]
        cap = max(1, self._limit // self._width[q])  # indices of q per piece
        a = lo
        while a < hi:
            # up to the next wrap of slot q, and at most cap indices of it
            b = min(hi, (a // period + 1) * period, (a // stride + cap) * stride)
            w0 = (a // stride) % shape[q]
            w1 = ((b - 1) // stride) % shape[q] + 1
            offsets = [0, 0, 0, 0]
            local = list(shape)
            for s in range(q):
                offsets[s] = (a // math.prod(shape[s + 1 :])) % shape[s]
                local[s] = 1
            offsets[q], local[q] = w0, w1 - w0
            tables = [self._window(s, offsets[s], offsets[s] + local[s]) for s in range(3)]
            (lr,), (beta,), (lam, lam_max) = tables
            yield Piece(
                a,
                b,
                a % stride,
                np.array(local, dtype=np.int64),
                tuple(offsets),
                lr,
                beta,
                lam,
                lam_max,
            )
            a = b

    @property
    def columns(self) -> tuple[str, ...]:
        return ("traj", *self.spec.axis_names, *DERIVED)

    def schema(self):
        return schema_for(self.spec, __version__)

    def kernel(self, lo: int, n: int) -> dict[str, np.ndarray]:
        """Run the kernel on ids lo .. lo+n-1; the metric columns, each of shape (n,).

        status int8, steps int32, diverge_step int32, loss0, final_loss, rate float64.
        One kernel call per Piece (one in all unless an axis is long).
        """
        lo, n = int(lo), int(n)
        if self.path == "lanes":
            return self._kernel_lanes(lo, n)
        out = _empty_outputs(n)
        stop = self.spec.stop
        proto = np.zeros(1, self.spec.dtype)
        for piece in self._pieces(lo, lo + n):
            rows = slice(piece.a - lo, piece.b - lo)
            self._kernel(
                (piece.shape, piece.lr, piece.beta, piece.lam, piece.lam_max, self.start),
                np.array(
                    [piece.lo, self.relative_lr, self.optimizer, self.order, self.spec.steps,
                     self.block],
                    dtype=np.int64,
                ),
                np.array([stop["tol"], stop["diverge"]], dtype=np.float64),
                tuple(out[key][rows] for key in OUTPUTS),
                proto,
            )  # fmt: skip
        return out

    #: noisy rows on the fast lockstep kernel (``lanes_loss.sweep_loss_noisy``), one seed
    #: at a time; False: on ``sweep_loss`` with the rest (the same bits, slower)
    FAST_NOISE = True

    def _kernel_lanes(self, lo: int, n: int) -> dict[str, np.ndarray]:
        """``kernel`` on the general lane path (``kernels.lanes_loss``): the chunk's rows
        as per-trajectory eta and beta, and its kappas' eigenvalues as a table.

        With noise, the rows with sigma != 0 run on ``sweep_loss_noisy``, one seed (and
        schedule) at a time, with that seed's noise table (``rng.build_table``: steps x d
        normals, shared by all its rows; drawn per tile and block when it would exceed
        rng.TABLE_BYTES). So do noiseless rows whose schedule varies (one schedule at a
        time, with a table of zeros: they have neither rate nor floor). The others run on
        ``sweep_loss``. Each row is computed on its own, so the split changes no bit
        (``FAST_NOISE = False``: all on ``sweep_loss``, the reference)."""
        from .kernels.lanes_loss import NLN, NLN_ADAPTIVE, sweep_loss, sweep_loss_noisy
        from .rng import build_table

        spec, params = self.spec, self.spec.problem_params
        cols = spec.coordinates(lo, lo + n)
        lr = cols["lr"]
        kappa = cols.get("kappa")
        if kappa is None:
            lam_table = self._problem.eigenvalues(None, params)
            lam_index = np.zeros(n, np.int64)
            _, lam_max = self._problem.lambda_range(None, params)
            lam_max_rows = np.full(n, lam_max[0])
        else:
            if 2 not in self.long:  # the axis's values, sorted: no sort of the chunk's
                values = np.unique(spec.axis_values("kappa"))
                lam_index = np.searchsorted(values, kappa)
            else:
                values, lam_index = np.unique(kappa, return_inverse=True)
            lam_table = self._problem.eigenvalues(values, params)
            _, lam_max = self._problem.lambda_range(values, params)
            lam_max_rows = lam_max[lam_index]
        lam_index = np.ascontiguousarray(lam_index, dtype=np.int64)
        lam_table = np.ascontiguousarray(lam_table, dtype=np.float64)
        rows = np.empty((5, n))
        rows[0] = lr / lam_max_rows if self.relative_lr else lr
        rows[1] = cols["beta"] if "beta" in cols else 0.0
        rows[2] = cols["sigma"] if "sigma" in cols else 0.0
        rows[3] = cols["beta2"] if "beta2" in cols else 0.0
        rows[4] = cols["eps"] if "eps" in cols else 0.0
        seeds = np.ascontiguousarray(cols["seed"], dtype=np.int64)
        out = _empty_outputs(n)
        tail = np.empty((2, n))
        tail_steps = 0
        if self.noisy:
            tail_steps = math.ceil(spec.metrics["tail"] * spec.steps)
        stop = spec.stop
        start = np.asarray(params["start"], dtype=np.float64)
        floats = np.array([stop["tol"], stop["diverge"]], dtype=np.float64)

        ints = np.array([self.optimizer, self.order, spec.steps, tail_steps], np.int64)
        _, s_table, s_varies = self.schedule_table
        s_index = schedules.row_index(spec, lo, lo + n)
        noisy = rows[2] != 0.0
        psharp = np.full(n, math.nan)
        # lockstep rows: noisy ones (by seed and schedule), and noiseless ones whose step
        # size varies (by schedule; a table of zero noise: no floor, rate NaN anyway);
        # every row of an adaptive optimizer (only the lockstep kernel has them)
        lockstep = noisy | s_varies[s_index] if self.FAST_NOISE else np.zeros(n, np.bool_)
        if self.adaptive:
            lockstep = np.ones(n, np.bool_)
        if n and not lockstep.all():  # the rest on sweep_loss, scattered back
            idx = np.flatnonzero(~lockstep)
            sub, sub_tail = _empty_outputs(len(idx)), np.empty((2, len(idx)))
            sweep_loss(np.ascontiguousarray(rows[:, idx]), seeds[idx], lam_index[idx],
                       lam_table, start, floats, ints, *(sub[k] for k in OUTPUTS),
                       sub_tail, s_table, s_index[idx], s_varies)  # fmt: skip
            for k in OUTPUTS:
                out[k][idx] = sub[k]
            tail[:, idx] = sub_tail
        if n and lockstep.any():
            groups = self._lockstep_groups(np.flatnonzero(lockstep & noisy), seeds, s_index)
            quiet = np.flatnonzero(lockstep & ~noisy)
            quiet_groups = [quiet[s_index[quiet] == k] for k in range(len(s_table))]
            quiet_groups = [g for g in quiet_groups if len(g)]
            d = lam_table.shape[1]
            fast_ints = np.append(ints, NLN_ADAPTIVE if self.adaptive else NLN)
            # every seed's table at once (one call), or one at a time, or none (on the fly)
            tables = build_table(np.array([seeds[g[0]] for g in groups]), spec.steps, d)
            zeros = np.zeros((spec.steps, d)) if quiet_groups else None
            for k, group in enumerate(groups + quiet_groups):
                seed = seeds[group[0]]
                if k >= len(groups):
                    table = zeros
                elif len(tables):
                    table = tables[k]
                else:
                    table = build_table(np.array([seed]), spec.steps, d)
                    table = table[0] if len(table) else np.zeros((0, d))
                sweep_loss_noisy(group, rows, lam_index, lam_table, start, floats, fast_ints,
                                 table, np.int64(seed), *(out[k] for k in OUTPUTS),
                                 tail, s_table[s_index[group[0]]], psharp)  # fmt: skip
        if self.noisy:
            out["loss_tail_mean"], out["loss_tail_std"] = tail[0], tail[1]
        if self.adaptive:
            out[PRECOND_FIELD] = psharp
        return out

    def _lockstep_groups(self, order, seeds, s_index):
        """Rows ``order`` grouped by seed and schedule, in grid order within a group: a
        mask per seed value when there are few (one pass each), else a stable sort."""
        values = np.unique(self.spec.axis_values("seed"))
        if len(values) <= 16:
            noisy_seeds = seeds[order]
            groups = [order[noisy_seeds == v] for v in values]
        else:
            order = order[np.argsort(seeds[order], kind="stable")]
            cuts = np.flatnonzero(np.diff(seeds[order])) + 1
            groups = np.split(order, cuts) if len(order) else []
        k_max = int(s_index.max()) + 1 if len(s_index) else 1
        if k_max > 1:
            groups = [g[s_index[g] == k] for g in groups for k in range(k_max)]
        return [g for g in groups if len(g)]

    def coordinates(self, lo: int, hi: int) -> dict[str, np.ndarray]:
        """traj, axis values, eta, lambda_min, lambda_max for ids lo .. hi-1, each of
        shape (hi - lo,); memory O(hi - lo).

        eta = lr / lambda_max when lr is relative_to lambda_max, else lr.
        """
        cols = self.spec.coordinates(lo, hi)
        n = len(cols["traj"])
        params = self.spec.problem_params
        if "kappa" in cols:
            lam_min, lam_max = self._problem.lambda_range(cols["kappa"], params)
        else:
            lam_min, lam_max = self._problem.lambda_range(None, params)
            lam_min, lam_max = np.full(n, lam_min[0]), np.full(n, lam_max[0])
        lr = cols["lr"]
        cols["eta"] = lr / lam_max if self.relative_lr else lr.copy()
        cols["lambda_min"] = np.asarray(lam_min, dtype=np.float64)
        cols["lambda_max"] = np.asarray(lam_max, dtype=np.float64)
        return cols

    def warm_up(self) -> None:
        """Compile (or load from the cache) the kernel this sweep uses, on one trajectory."""
        self.kernel(0, 1)


def is_landscape(spec: SweepSpec) -> bool:
    """True for problems that stop by the gradient rule and run on the lane kernel."""
    return getattr(get_problem(spec.problem), "STOP_RULE", "loss") == "grad"


def make_engine(spec: SweepSpec):
    """The engine of a sweep: ``Engine`` (the quadratic explicit-SIMD path) for quadratics,
    ``LaneEngine`` (the general lane kernel) for landscapes."""
    if is_landscape(spec):
        from .lane_engine import LaneEngine

        return LaneEngine(spec)
    if spec.problem == "linreg":
        from .linreg_engine import LinregEngine

        return LinregEngine(spec)
    return Engine(spec)


def schema_for(spec: SweepSpec, version: str):
    """The Arrow schema of every part of ``spec``'s sweep, written by package ``version``."""
    import pyarrow as pa

    from . import store

    spec_json = json.dumps(spec.to_dict(), sort_keys=True)
    categories = {"schedule": spec.axes["schedule"]["values"]} if "schedule" in spec.axes else {}
    if is_landscape(spec):
        from .lane_engine import LANDSCAPE_FIELDS

        module = get_problem(spec.problem)
        extra = [(name, pa.float64()) for name in LANDSCAPE_FIELDS[module.DIM]]
        extra.append(("basin", pa.int32()))
        if is_stochastic(spec.axes):
            extra += [(name, pa.float64()) for name in TAIL_FIELDS]
        if spec.optimizer in ADAPTIVE:
            extra.append((PRECOND_FIELD, pa.float64()))
        params = spec.problem_params
        points = {
            "minima": [m.to_dict() for m in module.minima(params)],
            "others": [p.to_dict() for p in module.saddles(params)],
        }
        meta = {store.CRITICAL_KEY: json.dumps(points, sort_keys=True)}
        return store.schema(
            spec.axis_names, ("eta",), spec_json, spec.hash, version, extra, meta, categories
        )
    extra = [(name, pa.float64()) for name in TAIL_FIELDS] if is_stochastic(spec.axes) else []
    if spec.optimizer in ADAPTIVE:
        extra.append((PRECOND_FIELD, pa.float64()))
    derived = (*DERIVED, "loss_min") if spec.problem == "linreg" else DERIVED
    return store.schema(
        spec.axis_names, derived, spec_json, spec.hash, version, extra, categories=categories
    )
