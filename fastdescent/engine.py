"""From a parsed spec to kernel arguments and result columns, one chunk at a time.

``Engine(spec).compute(lo, hi)`` runs trajectories lo .. hi-1 and returns a dict of
NumPy columns (the Parquet schema's names). It holds the small per-sweep tables the
kernels read (axis values, eigenvalues per kappa, start point); nothing here is bigger
than one chunk.
"""

from __future__ import annotations

import json

import numpy as np

from . import __version__, kernels
from .metrics import block_length
from .optimizers import CODES, ORDER
from .problems import get_problem
from .spec import SweepSpec

DERIVED = ("eta", "lambda_min", "lambda_max")


class Engine:
    """Kernel arguments for one sweep (quadratic problem)."""

    def __init__(self, spec: SweepSpec):
        if spec.problem != "quadratic":
            raise NotImplementedError(f"problem {spec.problem!r} has no kernel yet")
        self.spec = spec
        quadratic = get_problem("quadratic")
        params = spec.problem_params
        axes = spec.axes
        self.relative_lr = axes["lr"].get("relative_to") == "lambda_max"
        self.lr = np.ascontiguousarray(spec.axis_values("lr"), dtype=np.float64)
        self.beta = self._values("beta", 0.0)
        kappa = self._values("kappa", 1.0) if "kappa" in axes else None
        lam = quadratic.eigenvalues(kappa, params)
        lam_min, lam_max = quadratic.lambda_range(kappa, params)
        self.lam_min = np.ascontiguousarray(lam_min, dtype=np.float64)
        self.lam_max = np.ascontiguousarray(lam_max, dtype=np.float64)
        start = np.asarray(params["start"], dtype=np.float64)
        n_seed = len(spec.axis_values("seed")) if "seed" in axes else 1
        self.shape = np.array([len(self.lr), len(self.beta), len(lam), n_seed], dtype=np.int64)
        self.d = lam.shape[1]
        if self.d < 2:
            # d = 1 runs as d = 2 (the kernel's register path) with a second coordinate of
            # eigenvalue 0 starting at 0: it adds exact zeros to the loss and never enters
            # the rate fit
            lam = np.pad(lam, ((0, 0), (0, 1)))
            start = np.pad(start, (0, 1))
        self._kernel = kernels.sweep_quadratic
        self.lam = np.ascontiguousarray(lam)
        self.start = np.ascontiguousarray(start)
        self.optimizer = CODES[spec.optimizer]
        self.order = ORDER[spec.optimizer]
        self.block = block_length(spec.steps)
        self.spec_json = json.dumps(spec.to_dict(), sort_keys=True)

    def _values(self, name, default):
        if name in self.spec.axes:
            return np.ascontiguousarray(self.spec.axis_values(name), dtype=np.float64)
        return np.array([default])

    @property
    def columns(self) -> tuple[str, ...]:
        return ("traj", *self.spec.axis_names, *DERIVED)

    def schema(self):
        from . import store

        return store.schema(
            self.spec.axis_names, DERIVED, self.spec_json, self.spec.hash, __version__
        )

    def kernel(self, lo: int, n: int) -> dict[str, np.ndarray]:
        """Run the kernel on ids lo .. lo+n-1; the metric columns, each of shape (n,)."""
        out = {
            "status": np.empty(n, np.int8),
            "steps": np.empty(n, np.int32),
            "diverge_step": np.empty(n, np.int32),
            "loss0": np.empty(n),
            "final_loss": np.empty(n),
            "rate": np.empty(n),
        }
        stop = self.spec.stop
        self._kernel(
            np.int64(lo),
            self.shape,
            self.lr,
            self.beta,
            self.lam,
            self.lam_max,
            self.start,
            self.relative_lr,
            self.optimizer,
            self.order,
            self.spec.steps,
            float(stop["tol"]),
            float(stop["diverge"]),
            self.block,
            out["status"],
            out["steps"],
            out["diverge_step"],
            out["loss0"],
            out["final_loss"],
            out["rate"],
            np.zeros(1, self.spec.dtype),
        )
        return out

    def coordinates(self, lo: int, hi: int) -> dict[str, np.ndarray]:
        """traj, axis values, eta, lambda_min, lambda_max for ids lo .. hi-1."""
        cols = self.spec.coordinates(lo, hi)
        idx = np.unravel_index(cols["traj"], tuple(self.shape))
        i_kappa = idx[2]
        lr = self.lr[idx[0]]
        lam_max = self.lam_max[i_kappa]
        cols["eta"] = lr / lam_max if self.relative_lr else lr
        cols["lambda_min"] = self.lam_min[i_kappa]
        cols["lambda_max"] = lam_max
        return cols

    def warm_up(self) -> None:
        """Compile (or load from the cache) the kernel this sweep uses, on one trajectory."""
        self.kernel(0, 1)
