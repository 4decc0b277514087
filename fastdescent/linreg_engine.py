"""From a parsed ``linreg`` spec to the mini-batch kernel's arguments and result columns.

``LinregEngine(spec)`` has the interface of ``fastdescent.engine.Engine`` (``kernel``,
``coordinates``, ``schema``, ``warm_up``). A chunk's trajectories are grouped by
(data set, batch size, seed) -- they draw the same batches and noise (common random
numbers) -- and each group is cut into tiles of at most ``kernels.minibatch.NT``
trajectories, run in lockstep by ``kernels.minibatch.sweep_minibatch``. A trajectory's
numbers do not depend on its tile, so results are the same bytes whatever the chunking
or the thread count. Data sets come from ``problems.linreg.dataset`` (built once per
kappa and cached). With a schedule axis the groups are also split by schedule (a tile's
lanes share eta_t / eta).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from . import __version__, schedules
from .engine import PRECOND_FIELD, _empty_outputs
from .optimizers import ADAPTIVE, CODES
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
        self._tables_cache: dict = {}
        self.schedule_table = schedules.sweep_table(spec)
        self.adaptive = spec.optimizer in ADAPTIVE

    def dataset(self, kappa):
        return self.problem.dataset(kappa, self.spec.problem_params)

    def kernel_tables(self, kappa):
        """The kernel's tables of the data set at ``kappa`` (``kernels.minibatch.kernel_data``:
        Xr, XrT, r, h, V, gram, xtr, z0, gap0, loss0), computed once per engine and kappa."""
        from .kernels.minibatch import kernel_data

        key = None if kappa is None else float(kappa)
        if key not in self._tables_cache:
            ds = self.dataset(kappa)
            Xr, XrT, r, h, gram, xtr, z0, gap0, loss0 = kernel_data(
                ds.X, ds.y, ds.V, ds.w_hat, ds.lambdas, self.start
            )
            self._tables_cache[key] = (Xr, XrT, r, h, ds.V, gram, xtr, z0, gap0, loss0)
        return self._tables_cache[key]

    def _tables(self, kappa_values):
        """The tables of ``kappa_values`` stacked (the kernel's data arguments), and
        lambda_max per data set."""
        per = [self.kernel_tables(k) for k in kappa_values]
        data = tuple(np.ascontiguousarray(np.stack([p[q] for p in per])) for q in range(10))
        lam_max = np.array([self.dataset(k).lambdas.max() for k in kappa_values])
        return data, lam_max

    def _groups(self, cols, n, sched):
        """tiles (6, T) and order (n,) for the kernel; kappa values and row -> set index.
        sched: each row's schedule (row of the schedule table)."""
        from .kernels.minibatch import NT

        kappa = cols.get("kappa")
        if kappa is None:
            kappa_values, kidx = [None], np.zeros(n, np.int64)
        else:
            kappa_values, kidx = np.unique(kappa, return_inverse=True)
        B = cols["batch_size"] if "batch_size" in cols else np.full(n, self.n, np.int64)
        seed = cols["seed"]
        order = np.lexsort((sched, seed, B, kidx)).astype(np.int64)  # stable: traj order
        keys = np.stack([kidx[order], B[order], seed[order], sched[order]])
        starts = np.flatnonzero(np.any(keys[:, 1:] != keys[:, :-1], axis=0)) + 1
        bounds = np.concatenate([[0], starts, [n]])
        tiles = []
        for a, b in itertools.pairwise(bounds):
            for lo in range(a, b, NT):
                r = order[a]
                tiles.append((kidx[r], B[r], seed[r], lo, min(lo + NT, b), sched[r]))
        return np.array(tiles, dtype=np.int64).T.copy(), order, kappa_values, kidx

    def kernel(self, lo: int, n: int) -> dict[str, np.ndarray]:
        """Run ids lo .. lo+n-1; the metric columns, each of shape (n,): status int8,
        steps, diverge_step int32; loss0, final_loss, rate float64; with a sigma or
        batch_size axis also loss_tail_mean, loss_tail_std; adaptive optimizers:
        precond_sharpness (``precond_sharpness``)."""
        from .kernels.minibatch import sweep_minibatch

        lo, n = int(lo), int(n)
        spec = self.spec
        out = _empty_outputs(n)
        tail = np.empty((2, n))
        dens = np.full((len(self.start), n), np.nan)
        kidx = np.zeros(n, np.int64)
        kappa_values = [None]
        if n:
            cols = spec.coordinates(lo, lo + n)
            sched = schedules.row_index(spec, lo, lo + n)
            tiles, order, kappa_values, kidx = self._groups(cols, n, sched)
            data, lam_max = self._tables(kappa_values)
            rows = np.empty((5, n))
            rows[0] = cols["lr"] / lam_max[kidx] if self.relative_lr else cols["lr"]
            for q, axis in enumerate(("beta", "sigma", "beta2", "eps"), start=1):
                rows[q] = cols[axis] if axis in cols else 0.0
            ints = np.array([CODES[spec.optimizer], spec.steps, self.tail_steps, self.sampling],
                            dtype=np.int64)  # fmt: skip
            sweep_minibatch(
                rows, tiles, order, *data, ints, self.floats, out["status"],
                out["steps"], out["diverge_step"], out["loss0"], out["final_loss"],
                out["rate"], tail, self.schedule_table[1], dens,
            )  # fmt: skip
        if self.stochastic:
            out["loss_tail_mean"], out["loss_tail_std"] = tail[0], tail[1]
        if self.adaptive:
            out[PRECOND_FIELD] = self.precond_sharpness(dens, kidx, kappa_values)
        return out

    def precond_sharpness(self, dens, kidx, kappa_values) -> np.ndarray:
        """The largest eigenvalue of D^-1/2 H D^-1/2 per trajectory: H = V diag(lambda) V^T
        the Hessian of the loss in w's coordinates, D = diag(dens[:, j]) the update's
        denominators at the run's last step (NaN columns: NaN). On a diagonal H, max_i
        lambda_i / d_i as on quadratics; these are the eigenvalues of the frozen
        preconditioned step D^-1 H."""
        out = np.full(dens.shape[1], np.nan)
        for k, kappa in enumerate(kappa_values):
            ds = self.dataset(kappa)
            H = (ds.V * ds.lambdas) @ ds.V.T
            ok = np.isfinite(dens).all(axis=0)
            out[(kidx == k) & ok & (dens == 0.0).any(axis=0)] = np.inf  # lambda / 0
            cols = np.flatnonzero((kidx == k) & ok & (dens > 0.0).all(axis=0))
            if not len(cols):
                continue
            r = 1.0 / np.sqrt(dens[:, cols].T)  # (m, d)
            M = H[None, :, :] * r[:, :, None] * r[:, None, :]
            out[cols] = np.linalg.eigvalsh(M)[:, -1]
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
