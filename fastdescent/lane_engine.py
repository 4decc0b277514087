"""From a parsed landscape spec to the general lane kernel's arguments and result columns.

``LaneEngine(spec)`` has the interface of ``fastdescent.engine.Engine`` (``kernel``,
``coordinates``, ``schema``, ``warm_up``). A chunk's axis values are computed row by row
(``SweepSpec.coordinates``: memory O(chunk), bit-identical to the full axes) and handed to
``kernels.lanes.sweep_lanes`` as one (4, n) table of eta, beta, x0, y0; the kernel
returns the metric columns. Landscapes have no global lambda_max: ``eta`` is ``lr``.

With a sigma axis (gradient noise) the table gains sigma, and ``sweep_lanes_noisy`` gets
each row's seed and a noise table of the chunk's seeds (``rng.build_table``: steps x 2
normals per seed, shared by every trajectory of that seed; drawn on the fly when it
would exceed ``rng.TABLE_BYTES``), and returns the tail columns too. Learning-rate
schedules (``[schedule]`` or a schedule axis) run there too, with or without noise: each
row's factors s(t) come from ``schedules.sweep_table``.
"""

from __future__ import annotations

import json
import math

import numpy as np

from . import __version__, schedules
from .engine import PRECOND_FIELD
from .optimizers import ADAPTIVE, CODES, ORDER
from .problems import get_problem
from .spec import SweepSpec, is_stochastic

#: per-trajectory columns the lane kernel adds to the quadratic ones, by problem dimension
LANDSCAPE_FIELDS = {1: ("x_final",), 2: ("x_final", "y_final")}
TAIL_FIELDS = ("loss_tail_mean", "loss_tail_std")  # stochastic sweeps (spec.is_stochastic)


def f_min(module, params: dict) -> float:
    """The lowest value among the problem's listed minima; 0.0 when it lists none (the
    saddle, unbounded below: its tail columns are of f itself)."""
    values = [m.value for m in module.minima(params)]
    return float(min(values)) if values else 0.0


class LaneEngine:
    """Kernel arguments for one landscape sweep (see the module docstring)."""

    def __init__(self, spec: SweepSpec):
        self.spec = spec
        self.module = module = get_problem(spec.problem)
        self.dim = module.DIM
        from .kernels.dispatch import MODULES
        from .kernels.lanes import NL, NL_ADAPTIVE
        from .kernels.run_block import BLOCK_CODES

        if MODULES.get(module.CODE) is not module or module.CODE not in BLOCK_CODES:
            raise NotImplementedError(
                f"problem {spec.problem!r} (code {module.CODE}) has no branch in "
                "fastdescent.kernels.dispatch or kernels.run_block: run python -m "
                "fastdescent.kernels.generate"
            )
        params = spec.problem_params
        self.start = tuple(float(v) for v in params["start"]) + (0.0,) * (2 - self.dim)
        self.c = np.ascontiguousarray(module.pack(params), dtype=np.float64)
        self.adaptive = spec.optimizer in ADAPTIVE
        order = 0 if self.adaptive else ORDER[spec.optimizer]  # 0: no rate fit
        lanes = NL_ADAPTIVE if self.adaptive else NL
        self.ints = np.array(
            [module.CODE, CODES[spec.optimizer], order, spec.steps, lanes], dtype=np.int64
        )
        stop = spec.stop
        with np.errstate(over="ignore"):
            self.floats = np.array([stop["grad_tol"], stop["radius"]], dtype=np.float64) ** 2
        self.spec_json = json.dumps(spec.to_dict(), sort_keys=True)
        self.noisy = "sigma" in spec.axes
        self.scheduled = spec.schedules is not None
        self.general = self.noisy or self.scheduled or self.adaptive
        if self.general:  # sweep_lanes_noisy (a schedule or an adaptive optimizer without
            # noise: sigma 0 everywhere, and no tail: it starts after the last step)
            tail_steps = math.ceil(spec.metrics["tail"] * spec.steps) if self.noisy else 0
            self.ints = np.append(self.ints, spec.steps - tail_steps + 1)
            self.floats = np.append(self.floats, f_min(module, params))
        self.schedule_table = schedules.sweep_table(spec)

    def _rows(self, lo: int, hi: int, cols=None) -> np.ndarray:
        """The kernel's (4, hi - lo) table: eta, beta, x0, y0 of ids lo .. hi-1 (and sigma,
        a fifth row, for ``sweep_lanes_noisy``; beta2 and eps after it for an adaptive
        optimizer)."""
        if cols is None:
            cols = self.spec.coordinates(lo, hi)
        rows = np.empty((7 if self.adaptive else 5 if self.general else 4, hi - lo))
        rows[0] = cols["lr"]
        rows[1] = cols["beta"] if "beta" in cols else 0.0
        rows[2] = cols["x0"] if "x0" in cols else self.start[0]
        rows[3] = cols["y0"] if "y0" in cols else self.start[1]
        if len(rows) >= 5:
            rows[4] = cols["sigma"] if self.noisy else 0.0
        if self.adaptive:
            rows[5] = cols["beta2"] if "beta2" in cols else 0.0  # defaults: in the spec's
            rows[6] = cols["eps"] if "eps" in cols else 0.0  # normalised axes
        return rows

    def kernel(self, lo: int, n: int) -> dict[str, np.ndarray]:
        """Run ids lo .. lo+n-1; the metric columns, each of shape (n,): status int8,
        steps, diverge_step, basin int32; loss0, final_loss, rate, x_final (, y_final)
        float64 (noisy sweeps: loss_tail_mean, loss_tail_std too; adaptive optimizers:
        precond_sharpness)."""
        from .kernels.lanes import sweep_lanes, sweep_lanes_noisy

        lo, n = int(lo), int(n)
        status = np.empty(n, np.int8)
        iout = np.empty((3, n), np.int32)
        fout = np.empty((5, n), np.float64)
        tail = np.full((2, n), np.nan)
        psharp = np.full(n, np.nan) if self.adaptive else None
        if n and not self.general:
            sweep_lanes(self._rows(lo, lo + n), self.c, self.ints, self.floats, status, iout, fout)
        elif n:
            cols = self.spec.coordinates(lo, lo + n)
            seeds = np.ascontiguousarray(cols["seed"], dtype=np.int64)
            values, index = np.unique(seeds, return_inverse=True)
            if self.noisy:
                table = self.noise_table(values)
            else:
                table = np.zeros((0, 0, self.dim))
            _, s_table, s_varies = self.schedule_table
            sweep_lanes_noisy(
                self._rows(lo, lo + n, cols), self.c, self.ints, self.floats, status, iout,
                fout, seeds, np.ascontiguousarray(index, dtype=np.int64), table, tail,
                s_table, schedules.row_index(self.spec, lo, lo + n), s_varies, psharp,
            )  # fmt: skip
        out = {
            "status": status,
            "steps": iout[0],
            "diverge_step": iout[1],
            "loss0": fout[0],
            "final_loss": fout[1],
            "rate": fout[2],
            "x_final": fout[3],
            "basin": iout[2],
        }
        if self.dim == 2:
            out["y_final"] = fout[4]
        if is_stochastic(self.spec.axes):
            out["loss_tail_mean"], out["loss_tail_std"] = tail[0], tail[1]
        if self.adaptive:
            out[PRECOND_FIELD] = psharp
        return out

    def noise_table(self, seeds: np.ndarray) -> np.ndarray:
        """(len(seeds), steps, d) normals of these seed values (d = the problem's
        dimension), or (0, 0, d) (drawn on the fly)."""
        from .rng import build_table

        return build_table(seeds, self.spec.steps, self.dim)

    def coordinates(self, lo: int, hi: int) -> dict[str, np.ndarray]:
        """traj, the axis values and eta (= lr) of ids lo .. hi-1, each of shape (hi - lo,)."""
        cols = self.spec.coordinates(lo, hi)
        cols["eta"] = cols["lr"].copy()
        return cols

    def schema(self):
        from .engine import schema_for

        return schema_for(self.spec, __version__)

    def warm_up(self) -> None:
        """Compile (or load from the cache) the lane kernel, on one trajectory."""
        self.kernel(0, 1)
