"""The ``linreg`` problem: the course's least squares on synthetic data, full- or mini-batch.

Loss (the course's mean squared error, no 1/2)::

    f(w) = (1/n) ||y - X w||^2,     grad f(w) = -(2/n) X^T (y - X w),
    H = (2/n) X^T X  (constant),    excess(w) = (w - w_hat)^T (X^T X / n) (w - w_hat)
                                              = 1/2 (w - w_hat)^T H (w - w_hat),

w_hat the least-squares solution, loss_min = f(w_hat) the residual's mean square. The
mini-batch gradient on a batch S of B indices (with multiplicity for "replacement") is
g_S(w) = -(2/B) X_S^T (y_S - X_S w).

Data (built once per (kappa, problem_params), cached; the ``seed`` axis drives batches and
gradient noise, never the data)::

    X = U diag(s) V^T,  s_k = sqrt(n lambda_k / 2)  =>  H = V diag(lambda) V^T exactly
    y = X w_true + noise * eps

U (n x d, orthonormal columns) and V (d x d, orthogonal) are Gram-Schmidt (modified,
twice) of Gaussian matrices; lambda_k fill [1, kappa] by ``spectrum`` as for the quadratic
(``quadratic.eigenvalues``); w_true and eps are standard normal. Every Gaussian is drawn
by ``fastdescent.rng.normal(data_seed, STREAM_DATA, purpose, component)`` (purpose 0: U's
matrix, entry r * d + k; 1: V's matrix; 2: w_true; 3: eps), and every product is an
explicit loop in a fixed order (no BLAS), so the data are the same bytes on every machine.
w_hat = V diag(1/s) U^T y; the excess loss is computed as sum_k (L (w - w_hat))_k^2 with
L = diag(s / sqrt(n)) V^T, without the cancellation of f(w) - loss_min.

``problem_params`` (all optional):
- ``n`` (samples, int >= dim, default 1024), ``dim`` (d, int >= 1, default 16);
- ``spectrum`` = "endpoints" | "linear" | "log" (default "endpoints"): the eigenvalues of H in
  [1, kappa], as for the quadratic (dim = 1: the single eigenvalue 1, no kappa axis);
- ``noise`` (std of the label noise, >= 0, default 0.1), ``data_seed`` (int >= 0,
  default 0);
- ``start`` (list of dim numbers, default zeros);
- ``sampling`` = "epoch" (default) | "subset" | "replacement" (see
  ``fastdescent.kernels.batches``). Full batch -- no ``batch_size`` axis, or B = n with
  "epoch" or "subset" -- is plain GD on all n samples in index order.

Axes: kappa (dim >= 2), sigma (additive gradient noise), batch_size (1 .. n).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from .._validate import SpecError, as_choice, as_float, as_int, as_list, check_keys, fail
from ..rng import normal
from . import quadratic

SPECTRA = quadratic.SPECTRA
SAMPLINGS = ("epoch", "subset", "replacement")
DEFAULTS = {"n": 1024, "dim": 16, "spectrum": "endpoints", "noise": 0.1, "data_seed": 0}
MAX_N = 1 << 22
MAX_DIM = 1024
MAX_DATA = 1 << 24  # n * dim entries of X (128 MiB of float64)
STREAM_DATA = 2  # rng streams: 0 gradient noise, 1 batches, 2 the data
_KEYS = ("n", "dim", "spectrum", "noise", "data_seed", "start", "sampling")


def normalise_params(params: dict, where: str) -> dict:
    """Validate ``problem_params`` and fill defaults -> {"n", "dim", "spectrum", "noise",
    "data_seed", "start", "sampling"}. Raises SpecError naming ``where.<key>``."""
    check_keys(params, _KEYS, where)
    dim = as_int(params.get("dim", DEFAULTS["dim"]), f"{where}.dim", ge=1, le=MAX_DIM)
    n = as_int(params.get("n", DEFAULTS["n"]), f"{where}.n", ge=1, le=MAX_N)
    if n < dim:
        fail(f"{where}.n", n, f"needs n >= dim = {dim} samples (X must have full rank)")
    if n * dim > MAX_DATA:
        fail(f"{where}.n", n, f"n * dim = {n * dim} exceeds {MAX_DATA} entries of X")
    spectrum = as_choice(params.get("spectrum", DEFAULTS["spectrum"]), f"{where}.spectrum", SPECTRA)
    noise = as_float(params.get("noise", DEFAULTS["noise"]), f"{where}.noise", ge=0)
    seed = as_int(params.get("data_seed", DEFAULTS["data_seed"]), f"{where}.data_seed", ge=0,
                  lt=1 << 64)  # fmt: skip
    start = [0.0] * dim
    if "start" in params:
        raw = as_list(params["start"], f"{where}.start", max_len=MAX_DIM)
        if len(raw) != dim:
            fail(f"{where}.start", raw, f"expected a list of {dim} numbers (dim = {dim})")
        start = [as_float(v, f"{where}.start[{i}]") for i, v in enumerate(raw)]
    sampling = as_choice(params.get("sampling", "epoch"), f"{where}.sampling", SAMPLINGS)
    return {
        "n": n, "dim": dim, "spectrum": spectrum, "noise": noise, "data_seed": seed,
        "start": start, "sampling": sampling,
    }  # fmt: skip


def axes_used(params: dict) -> tuple[str, ...]:
    """kappa (dim >= 2), sigma and batch_size."""
    return (("kappa",) if params["dim"] >= 2 else ()) + ("sigma", "batch_size")


def check_start(params: dict, axes: dict, dtype: str, where: str) -> None:
    """float64 only; every batch size within 1 .. n; the loss at the start finite."""
    if dtype != "float64":
        raise SpecError(f"dtype: problem 'linreg' runs in float64 only, got {dtype!r}")
    axis = axes.get("batch_size")
    if axis is not None:
        top = max(axis["values"]) if "values" in axis else max(axis["start"], axis["stop"])
        if top > params["n"]:
            key = "values" if "values" in axis else "stop"
            if "values" not in axis and axis["start"] > axis["stop"]:
                key = "start"
            fail(f"axes.batch_size.{key}", top, f"a batch holds at most n = {params['n']} samples")
    kappa = None
    if params["dim"] >= 2:
        ax = axes.get("kappa", {"values": [1.0]})
        kappa = max(ax["values"]) if "values" in ax else max(ax["start"], ax["stop"])
    # loss0 <= 2 (|y|^2 / n + lambda_max |w_0|^2 / 2): a generous bound on the start's loss
    w2 = math.fsum(v * v for v in params["start"])
    if not math.isfinite(w2 * (1.0 if kappa is None else kappa) * 1e6):
        fail(f"{where}.start", params["start"], "the loss at the start overflows float64")


def eigenvalues(kappa, params: dict) -> np.ndarray:
    """Eigenvalues of H per kappa value, float64 (len(kappa), dim): as the quadratic's."""
    return quadratic.eigenvalues(kappa, _spectrum_params(params))


def lambda_range(kappa, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """(lambda_min, lambda_max) of H per kappa value: 1 and kappa (dim = 1: 1 and 1)."""
    return quadratic.lambda_range(kappa, _spectrum_params(params))


def _spectrum_params(params: dict) -> dict:
    return {"dim": params["dim"], "spectrum": params["spectrum"]}


@dataclass(frozen=True)
class Dataset:
    """One synthetic data set (float64, C-contiguous, read-only arrays).

    X (n, d), y (n,); lambdas (d,) the eigenvalues of H = (2/n) X^T X, V (d, d) its
    eigenvectors (columns); w_hat (d,); loss_min = f(w_hat); L (d, d) with
    excess(w) = ||L (w - w_hat)||^2. (The kernel's own tables, in H's eigenbasis, are
    ``kernels.minibatch.kernel_data``.)
    """

    X: np.ndarray
    y: np.ndarray
    lambdas: np.ndarray
    V: np.ndarray
    w_hat: np.ndarray
    loss_min: float
    L: np.ndarray


@jit
def _orthonormalise(A):
    """Columns of A (m, k), m >= k, made orthonormal in place: modified Gram-Schmidt,
    applied twice (a second pass removes what rounding left of the projections)."""
    m, k = A.shape
    for _ in range(2):
        for j in range(k):
            for i in range(j):
                dot = 0.0
                for r in range(m):
                    dot += A[r, i] * A[r, j]
                for r in range(m):
                    A[r, j] -= dot * A[r, i]
            norm = 0.0
            for r in range(m):
                norm += A[r, j] * A[r, j]
            norm = math.sqrt(norm)
            for r in range(m):
                A[r, j] /= norm


@jit
def _gaussians(seed, purpose, m, k):
    out = np.empty((m, k))
    for r in range(m):
        for c in range(k):
            out[r, c] = normal(seed, STREAM_DATA, purpose, r * k + c)
    return out


@jit
def _build(n, d, lambdas, noise, seed):
    """X, y, V, w_hat, L, loss_min as in ``Dataset`` (loops in a fixed order)."""
    U = _gaussians(seed, 0, n, d)
    _orthonormalise(U)
    V = _gaussians(seed, 1, d, d)
    _orthonormalise(V)
    w_true = _gaussians(seed, 2, d, 1)[:, 0]
    eps = _gaussians(seed, 3, n, 1)[:, 0]
    s = np.sqrt(n * lambdas / 2.0)
    X = np.empty((n, d))
    for r in range(n):
        for c in range(d):
            acc = 0.0
            for k in range(d):
                acc += U[r, k] * s[k] * V[c, k]
            X[r, c] = acc
    y = np.empty(n)
    for r in range(n):
        acc = 0.0
        for c in range(d):
            acc += X[r, c] * w_true[c]
        y[r] = acc + noise * eps[r]
    uty = np.zeros(d)  # U^T y, then w_hat = V diag(1/s) U^T y
    for r in range(n):
        for k in range(d):
            uty[k] += U[r, k] * y[r]
    w_hat = np.zeros(d)
    for c in range(d):
        acc = 0.0
        for k in range(d):
            acc += V[c, k] * (uty[k] / s[k])
        w_hat[c] = acc
    loss_min = 0.0
    for r in range(n):
        acc = y[r]
        for c in range(d):
            acc -= X[r, c] * w_hat[c]
        loss_min += acc * acc
    loss_min /= n
    L = np.empty((d, d))
    for k in range(d):
        for c in range(d):
            L[k, c] = s[k] / math.sqrt(n) * V[c, k]
    return X, y, V, w_hat, L, loss_min


def _readonly(a) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.flags.writeable = False
    return a


@functools.lru_cache(maxsize=16)
def _dataset(kappa: float | None, n: int, d: int, spectrum: str, noise: float, seed: int):
    params = {"dim": d, "spectrum": spectrum}
    lambdas = quadratic.eigenvalues(None if kappa is None else [kappa], params)[0]
    X, y, V, w_hat, L, loss_min = _build(n, d, lambdas, noise, np.uint64(seed))
    return Dataset(
        _readonly(X), _readonly(y), _readonly(lambdas), _readonly(V), _readonly(w_hat),
        float(loss_min), _readonly(L),
    )  # fmt: skip


def dataset(kappa, params: dict) -> Dataset:
    """The data set of ``params`` (normalised) at ``kappa`` (None when dim = 1), built once
    per process and cached (the last 16)."""
    k = None if params["dim"] == 1 or kappa is None else float(kappa)
    return _dataset(k, params["n"], params["dim"], params["spectrum"], float(params["noise"]),
                    int(params["data_seed"]))  # fmt: skip


def loss(ds: Dataset, w) -> np.ndarray:
    """f(w) = (1/n) ||y - X w||^2 for w of shape (..., d) (NumPy; for analysis and tests)."""
    r = ds.y - np.asarray(w) @ ds.X.T
    return np.mean(r * r, axis=-1)


def excess(ds: Dataset, w) -> np.ndarray:
    """(w - w_hat)^T (X^T X / n) (w - w_hat) for w of shape (..., d), as ||L (w - w_hat)||^2."""
    z = (np.asarray(w) - ds.w_hat) @ ds.L.T
    return np.sum(z * z, axis=-1)
