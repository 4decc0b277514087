"""From a parsed ``linreg`` spec to the mini-batch kernel's arguments and result columns.

``LinregEngine(spec)`` has the interface of ``fastdescent.engine.Engine`` (``kernel``,
``coordinates``, ``schema``, ``warm_up``). A chunk's trajectories are grouped by
(data set, batch size, seed) -- they draw the same batches and noise (common random
numbers) -- and each group is cut into tiles of at most ``kernels.minibatch.NT``
trajectories, run in lockstep by ``kernels.minibatch.sweep_minibatch``. A trajectory's
numbers do not depend on its tile, so results are the same bytes whatever the chunking
or the thread count. Data sets come from ``problems.linreg.dataset`` (built once per
kappa and cached).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from . import __version__
from .engine import _empty_outputs
from .optimizers import CODES
from .problems import get_problem
from .spec import SweepSpec, is_stochastic

#: the derived columns of a linreg sweep
DERIVED = ("eta", "lambda_min", "lambda_max", "loss_min")


class LinregEngine:
    """Kernel arguments for one ``linreg`` sweep (see the module docstring)."""

    def __init__(self, spec: SweepSpec):
        from .kernels.batches import CODES as SAMPLING
        from .kernels.batches import FULL

        self.spec = spec
        self.problem = get_problem("linreg")
        params = spec.problem_params
        self.n = params["n"]
        self.relative_lr = spec.axes["lr"].get("relative_to") == "lambda_max"
        self.sampling = SAMPLING[params["sampling"]] if "batch_size" in spec.axes else FULL
        self.stochastic = is_stochastic(spec.axes)
        self.tail_steps = math.ceil(spec.metrics["tail"] * spec.steps) if self.stochastic else 0
        self.start = np.asarray(params["start"], dtype=np.float64)
        stop = spec.stop
        self.floats = np.array([stop["tol"], stop["diverge"]], dtype=np.float64)

    def dataset(self, kappa):
        return self.problem.dataset(kappa, self.spec.problem_params)

    def _tables(self, kappa_values):
        """The data sets of ``kappa_values`` stacked, and their start losses."""
        from .kernels.minibatch import start_losses

        sets = [self.dataset(k) for k in kappa_values]
        Xs = np.stack([s.X for s in sets])
        ys = np.stack([s.y for s in sets])
        w_hats = np.stack([s.w_hat for s in sets])
        Ls = np.stack([s.L for s in sets])
        grams = np.stack([s.gram for s in sets])
        xtys = np.stack([s.xty for s in sets])
        losses = [start_losses(s.X, s.y, s.w_hat, s.L, self.start) for s in sets]
        loss0s = np.array([v[0] for v in losses])
        gap0s = np.array([v[1] for v in losses])
        lam_max = np.array([s.lambdas.max() for s in sets])
        return (Xs, ys, w_hats, Ls, grams, xtys, gap0s, loss0s), lam_max

    def _groups(self, cols, n):
        """tiles (5, T) and order (n,) for the kernel; kappa values and row -> set index."""
        from .kernels.minibatch import NT

        kappa = cols.get("kappa")
        if kappa is None:
            kappa_values, kidx = [None], np.zeros(n, np.int64)
        else:
            kappa_values, kidx = np.unique(kappa, return_inverse=True)
        B = cols["batch_size"] if "batch_size" in cols else np.full(n, self.n, np.int64)
        seed = cols["seed"]
        order = np.lexsort((seed, B, kidx)).astype(np.int64)  # stable: traj order in a group
        keys = np.stack([kidx[order], B[order], seed[order]])
        starts = np.flatnonzero(np.any(keys[:, 1:] != keys[:, :-1], axis=0)) + 1
        bounds = np.concatenate([[0], starts, [n]])
        tiles = []
        for a, b in itertools.pairwise(bounds):
            for lo in range(a, b, NT):
                r = order[a]
                tiles.append((kidx[r], B[r], seed[r], lo, min(lo + NT, b)))
        return np.array(tiles, dtype=np.int64).T.copy(), order, kappa_values, kidx

    def kernel(self, lo: int, n: int) -> dict[str, np.ndarray]:
        """Run ids lo .. lo+n-1; the metric columns, each of shape (n,): status int8,
        steps, diverge_step int32; loss0, final_loss, rate float64; with a sigma or
        batch_size axis also loss_tail_mean, loss_tail_std."""
        from .kernels.minibatch import sweep_minibatch

        lo, n = int(lo), int(n)
        spec = self.spec
        out = _empty_outputs(n)
        tail = np.empty((2, n))
        if n:
            cols = spec.coordinates(lo, lo + n)
            tiles, order, kappa_values, kidx = self._groups(cols, n)
            data, lam_max = self._tables(kappa_values)
            rows = np.empty((3, n))
            rows[0] = cols["lr"] / lam_max[kidx] if self.relative_lr else cols["lr"]
            rows[1] = cols["beta"] if "beta" in cols else 0.0
            rows[2] = cols["sigma"] if "sigma" in cols else 0.0
            ints = np.array([CODES[spec.optimizer], spec.steps, self.tail_steps, self.sampling],
                            dtype=np.int64)  # fmt: skip
            sweep_minibatch(
                rows, tiles, order, *data, self.start, ints, self.floats, out["status"],
                out["steps"], out["diverge_step"], out["loss0"], out["final_loss"],
                out["rate"], tail,
            )  # fmt: skip
        if self.stochastic:
            out["loss_tail_mean"], out["loss_tail_std"] = tail[0], tail[1]
        return out

    def coordinates(self, lo: int, hi: int) -> dict[str, np.ndarray]:
        """traj, the axis values, eta, lambda_min, lambda_max and loss_min of ids lo .. hi-1."""
        cols = self.spec.coordinates(lo, hi)
        n = len(cols["traj"])
        params = self.spec.problem_params
        kappa = cols.get("kappa")
        lam_min, lam_max = self.problem.lambda_range(kappa, params)
        if kappa is None:
            lam_min, lam_max = np.full(n, lam_min[0]), np.full(n, lam_max[0])
            loss_min = np.full(n, self.dataset(None).loss_min)
        else:
            values, inverse = np.unique(kappa, return_inverse=True)
            loss_min = np.array([self.dataset(k).loss_min for k in values])[inverse]
        lr = cols["lr"]
        cols["eta"] = lr / lam_max if self.relative_lr else lr.copy()
        cols["lambda_min"] = np.asarray(lam_min, dtype=np.float64)
        cols["lambda_max"] = np.asarray(lam_max, dtype=np.float64)
        cols["loss_min"] = np.asarray(loss_min, dtype=np.float64)
        return cols

    def schema(self):
        from .engine import schema_for

        return schema_for(self.spec, __version__)

    def warm_up(self) -> None:
        """Compile (or load from the cache) the kernel, on one trajectory."""
        self.kernel(0, 1)
