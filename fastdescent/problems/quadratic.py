"""The quadratic problem: f(w) = 1/2 * sum_i lambda_i * w_i**2, minimum 0 at w = 0.

Rotation does not change GD or momentum dynamics, so the diagonal form is general.

``problem_params`` (all optional):
- ``dim`` (int >= 1, default 2, or len(lambdas) when lambdas is given);
- ``spectrum`` = "endpoints" | "linear" | "log" (default "endpoints"): how the d = dim
  eigenvalues fill [1, kappa], for i = 0 .. d-1 and t = i / (d - 1):
    endpoints: lambda_i = 1 if i < d // 2 else kappa
               (d = 2: (1, kappa); d = 3: (1, kappa, kappa); d = 4: (1, 1, kappa, kappa))
    linear:    lambda_i = 1 + (kappa - 1) * t, computed as (1 - t) + t * kappa so that
               the ends are 1 and kappa exactly
    log:       lambda_i = kappa ** t
  With d = 1 the single eigenvalue is 1 and the problem does not use the kappa axis.
- ``lambdas`` (non-empty list of finite numbers > 0): the eigenvalues themselves; not
  allowed with ``spectrum``; the problem then has no kappa axis.
- ``start`` (list of dim finite numbers, default all ones): the start point w_0. The
  loss there, 1/2 sum_i lambda_i w_i^2, must be finite in the sweep's dtype for the
  largest eigenvalues on the grid (``check_start``).
"""

from __future__ import annotations

import numpy as np

from .._validate import SpecError, as_choice, as_float, as_int, as_list, check_keys, fail, show

SPECTRA = ("endpoints", "linear", "log")
DEFAULT_DIM = 2
MAX_DIM = 65536  # the start point travels in every result file's metadata
_KEYS = ("dim", "spectrum", "lambdas", "start")


def normalise_params(params: dict, where: str) -> dict:
    """Validate ``problem_params`` and fill defaults.

    Returns {"dim": int, "spectrum": str, "start": [float] * dim}, or with ``lambdas``
    given {"dim": int, "lambdas": [float] * dim, "start": [float] * dim}.
    Raises SpecError naming ``where.<key>``.
    """
    check_keys(params, _KEYS, where)
    lambdas = None
    if "lambdas" in params:
        if "spectrum" in params:
            fail(
                f"{where}.spectrum",
                params["spectrum"],
                f"not allowed together with {where}.lambdas (the eigenvalues are given); "
                "remove one of them",
            )
        raw = as_list(params["lambdas"], f"{where}.lambdas", max_len=MAX_DIM)
        lambdas = [as_float(v, f"{where}.lambdas[{i}]", gt=0) for i, v in enumerate(raw)]

    dim = len(lambdas) if lambdas is not None else DEFAULT_DIM
    if "dim" in params:
        dim = as_int(params["dim"], f"{where}.dim", ge=1, le=MAX_DIM)
        if lambdas is not None and dim != len(lambdas):
            fail(f"{where}.dim", dim, f"does not match len({where}.lambdas) = {len(lambdas)}")

    start = [1.0] * dim
    if "start" in params:
        raw = as_list(params["start"], f"{where}.start", max_len=MAX_DIM)
        if len(raw) != dim:
            fail(f"{where}.start", raw, f"expected a list of {dim} numbers (dim = {dim})")
        start = [as_float(v, f"{where}.start[{i}]") for i, v in enumerate(raw)]

    if lambdas is not None:
        return {"dim": dim, "lambdas": lambdas, "start": start}
    spectrum = as_choice(params.get("spectrum", "endpoints"), f"{where}.spectrum", SPECTRA)
    return {"dim": dim, "spectrum": spectrum, "start": start}


def check_start(params: dict, axes: dict, dtype: str, where: str) -> None:
    """Refuse a start point whose loss overflows: SpecError naming ``where.start``.

    loss0 = 1/2 sum_i lambda_i w_i^2 is computed as the kernel computes it (w_i and
    lambda_i rounded to ``dtype``, the products summed in order in ``dtype``) for the
    largest eigenvalues on the grid: every lambda_i of a spectrum grows with kappa, so
    those of the largest kappa on the kappa axis (the largest value listed, or
    max(start, stop) of a range: the axis is not materialised); with ``lambdas`` the
    given list; with dim = 1 lambda = 1. ``axes``: the normalised axes.
    """
    kappa = None
    if "lambdas" not in params and params["dim"] >= 2:
        axis = axes.get("kappa", {"values": [1.0]})
        kappa = max(axis["values"]) if "values" in axis else max(axis["start"], axis["stop"])
    lam = eigenvalues(None if kappa is None else [kappa], params)[0]
    if np.isfinite(start_loss(lam, params["start"], dtype)):
        return
    if kappa is not None:
        at = f"at kappa = {kappa!r}, the largest kappa on the grid"
    elif "lambdas" in params:
        at = f"with lambdas = {show(params['lambdas'])}"
    else:
        at = "with lambda = 1.0 (dim = 1)"
    fail(
        f"{where}.start",
        params["start"],
        f"the loss at the start, 1/2 sum_i lambda_i w_i^2, overflows {dtype} {at}; "
        "choose a smaller start",
    )


def start_loss(lam, start, dtype: str) -> float:
    """loss0 = 1/2 sum_i lam_i w_i^2 in ``dtype``, as the kernel computes it at t = 0:
    w_i and lam_i rounded to dtype, each product and the running sum rounded to dtype
    (np.add.accumulate sums in order). inf if it overflows. float32 arithmetic equals the
    kernel's float64 operations rounded to float32 (53 >= 2 * 24 + 2 bits)."""
    t = np.dtype(dtype).type
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.asarray(start, dtype=np.float64).astype(t)
        terms = np.asarray(lam, dtype=np.float64).astype(t) * (w * w)
        total = np.add.accumulate(terms, dtype=t)[-1]
        return float(t(0.5) * total)


def axes_used(params: dict) -> tuple[str, ...]:
    """("kappa",) when the eigenvalues depend on kappa (no lambdas and dim >= 2), and
    "sigma" (additive gradient noise, optional)."""
    return (("kappa",) if "lambdas" not in params and params["dim"] >= 2 else ()) + ("sigma",)


def _kappa(kappa) -> np.ndarray | None:
    if kappa is None:
        return None
    kappa = np.atleast_1d(np.asarray(kappa, dtype=np.float64))
    if kappa.ndim != 1:
        raise ValueError(f"kappa must be 1-D, got shape {kappa.shape}")
    return kappa


def eigenvalues(kappa, params: dict) -> np.ndarray:
    """Eigenvalues per kappa value, float64 of shape (n, dim).

    ``kappa``: float64 array of shape (n,) (a scalar counts as n = 1), or None when the
    problem has no kappa axis (then n = 1). ``params``: normalised problem_params.
    With ``lambdas`` every row is the given list; with dim = 1 every row is (1.0,).
    """
    kappa = _kappa(kappa)
    n = 1 if kappa is None else len(kappa)
    d = params["dim"]
    if "lambdas" in params:
        return np.broadcast_to(np.asarray(params["lambdas"], dtype=np.float64), (n, d)).copy()
    if d == 1:
        return np.ones((n, 1))
    if kappa is None:
        raise ValueError("this spectrum needs kappa values")
    k = kappa[:, None]
    i = np.arange(d)
    t = i / (d - 1)
    spectrum = params["spectrum"]
    if spectrum == "endpoints":
        return np.where(i < d // 2, 1.0, k)
    if spectrum == "linear":
        return (1.0 - t) + t * k
    if spectrum == "log":
        return k**t
    raise SpecError(f"problem_params.spectrum = {spectrum!r}: expected one of {SPECTRA}")


def lambda_range(kappa, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """(lambda_min, lambda_max), each float64 of shape (n,), for ``kappa`` as in eigenvalues.

    Spectra: min(1, kappa) and max(1, kappa) exactly (1 and kappa for valid kappa >= 1);
    dim = 1: 1 and 1; lambdas: min and max of the list.
    """
    kappa = _kappa(kappa)
    n = 1 if kappa is None else len(kappa)
    if "lambdas" in params:
        lam = params["lambdas"]
        return np.full(n, min(lam)), np.full(n, max(lam))
    if params["dim"] == 1:
        return np.ones(n), np.ones(n)
    if kappa is None:
        raise ValueError("this spectrum needs kappa values")
    return np.minimum(1.0, kappa), np.maximum(1.0, kappa)
