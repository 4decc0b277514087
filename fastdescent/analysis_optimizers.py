"""Comparing optimizers across sweeps on quadratics: the best steps to the tolerance per
kappa, theory's steps at the optimal tuning, and Adam's hyperparameter maps (on quadratics
and on landscapes, ``map_table``). Pure NumPy / pandas; ``fastdescent.plots_optimizers``
draws the tables and ``scripts/optimizers.py`` is the command line.

Input: the rows of one sweep each (``fastdescent.load``), with columns ``status``,
``steps``, ``loss0``, ``final_loss``, ``lambda_min``, ``lambda_max`` and the sweep's axes
(``lr``, ``beta``, ``beta2``, ``eps``, ``kappa``). A row's condition number is
kappa = lambda_max / lambda_min (the kappa axis, or an explicit ``lambdas`` list).

Theory (gd, heavy ball, Nesterov at ``theory.optimal``'s tuning). On f(w) = 1/2 sum_i
lam_i w_i^2 every method acts on each eigen-direction alone; with v_0 = 0 the error obeys

    x_1 = (1 - eta lam) x_0,   x_(t+1) = p x_t - q x_(t-1)        (t >= 1)

(``theory.characteristic``: gd p = 1 - eta lam, q = 0; heavy ball p = 1 + beta - eta lam,
q = beta; Nesterov p = (1 + beta)(1 - eta lam), q = beta (1 - eta lam)), and the loss
ratio is r_t = sum_i lam_i x_(i,t)^2 / sum_i lam_i x_(i,0)^2. The steps to the tolerance
are the first t with r_t <= tol, the engine's rule. At the optimal tuning:

- gd (eta* = 2 / (mu + L)): 1 - eta* mu = rho* and 1 - eta* L = -rho*, so every direction
  with lam in {mu, L} has |x_t| = rho*^t |x_0| and r_t = rho*^(2t) exactly (an endpoints
  spectrum; directions inside [mu, L] only make it smaller):
  t* = ceil(ln tol / (2 ln rho*)), rho* = (kappa - 1) / (kappa + 1).
- heavy ball (Polyak's eta*, beta* = rho*^2): both endpoints sit on a double root, z = rho*
  at mu and z = -rho* at L, and solving x_0, x_1 for x_t = (A + B t) z^t gives

      x_t = (1 + (1 - rho*) t) rho*^t x_0          (lam = mu)
      x_t = (1 + (1 + rho*) t) (-rho*)^t x_0       (lam = L)

  so r_t = rho*^(2t) (mu x_mu^2 (1 + (1 - rho*) t)^2 + L x_L^2 (1 + (1 + rho*) t)^2) /
  (mu x_mu^2 + L x_L^2): the polynomial factor (about 4 t^2 at large kappa) costs about
  ln(4 t^2) / (2 |ln rho*|) steps more than ln tol / (2 ln rho*), a third more at
  kappa = 1e3, tol = 1e-6.
- Nesterov (eta* = 4 / (3L + mu)): a double root rho* at mu with the same
  x_t = (1 + (1 - rho*) t) rho*^t x_0, two real roots at L (one of modulus rho*).

``optimal_steps`` computes r_t by the recurrence itself (exact up to rounding, for any
spectrum and start), and the tests check it against the two closed forms above.

Full-batch, noiseless ``linreg`` is the rotated quadratic 1/2 (w - w_hat)^T H (w - w_hat),
H = V diag(lam) V^T, and its stop rule is on that excess loss. The three methods are
rotation invariant: in H's eigenbasis, z = V^T (w - w_hat), each z_k follows the
recurrence above, so theory's steps are ``optimal_steps`` on the data set's lam and
z_0 = V^T (start - w_hat) (``linreg_spectrum``), exactly as on a diagonal quadratic.

theory.optimal's tuning minimises the worst-case rate, not the steps from a given start:
eta* balances the flattest and the steepest direction, and since the tolerance is relative
to f0 = 1/2 sum_i lam_i x_i^2, a slightly smaller eta (steep directions, most of f0, then
contract far faster) at a negligible cost to the flattest one (a share s of f0) needs only
about ln(tol / s) / (2 ln rho*) steps. So a fine grid beats t*, by much at large kappa:
gd at kappa = 1e3 on scripts/sweeps/optimizers/gd.toml (s = 4.8e-4: about 1,544 steps)
took 1,549 steps at eta lambda_max = 1.99 against t* = 3,400 at 1.998.
``best_per_kappa`` reports what the grid found, ``optimal_steps`` what theory's tuning
needs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import theory
from .problems.quadratic import eigenvalues

__all__ = [
    "HYPER",
    "THEORY_OPTIMIZERS",
    "best_per_kappa",
    "edge_ratio",
    "kappa_of",
    "linreg_spectrum",
    "loss_ratios",
    "map_table",
    "optimal_steps",
    "spectrum",
]

#: the hyperparameter columns reported with a best run (those a sweep has)
HYPER = ("lr", "eta", "beta", "beta2", "eps")
#: the optimizers with a closed-form optimal tuning
THEORY_OPTIMIZERS = theory.OPTIMIZERS


def kappa_of(df: pd.DataFrame) -> np.ndarray:
    """Condition number of each row, lambda_max / lambda_min: float64 (n,)."""
    return (df["lambda_max"] / df["lambda_min"]).to_numpy(np.float64)


def best_per_kappa(df: pd.DataFrame) -> pd.DataFrame:
    """The best run on the grid for each condition number, one row per kappa (ascending).

    Columns: kappa; n (runs), n_converged; metric "steps" when some run converged (the
    best is the fewest steps among rows with status == "converged") else "final_loss"
    (the best is the smallest final_loss / loss0 among the runs that did not diverge, at
    the sweep's fixed budget); steps (the best's steps, NaN for "final_loss"); loss_ratio
    (the best's final_loss / loss0); and the best row's hyperparameters (``HYPER``, those
    present). Ties in steps go to the smaller loss ratio. A kappa where every run
    diverged has metric "diverged" and NaN values.
    """
    d = df.assign(kappa=kappa_of(df), loss_ratio=df["final_loss"] / df["loss0"])
    hyper = [h for h in HYPER if h in d]
    rows = []
    for kappa, g in d.groupby("kappa", sort=True):
        conv = g[g["status"] == "converged"]
        row = {"kappa": float(kappa), "n": len(g), "n_converged": len(conv)}
        if len(conv):
            best = conv.sort_values(["steps", "loss_ratio"], kind="stable").iloc[0]
            row.update(metric="steps", steps=float(best["steps"]))
        else:
            alive = g[(g["status"] != "diverged") & np.isfinite(g["loss_ratio"])]
            if alive.empty:
                rows.append({**row, "metric": "diverged", "steps": np.nan, "loss_ratio": np.nan})
                continue
            best = alive.loc[alive["loss_ratio"].idxmin()]
            row.update(metric="final_loss", steps=np.nan)
        row["loss_ratio"] = float(best["loss_ratio"])
        row.update({h: best[h] for h in hyper})
        rows.append(row)
    return pd.DataFrame(rows)


def spectrum(params: dict, kappa) -> tuple[np.ndarray, np.ndarray]:
    """(lambdas, start) of a quadratic sweep's problem at each kappa: float64 (n, dim) and
    (dim,). ``params``: the normalised problem_params (start: all ones unless given)."""
    lam = eigenvalues(np.atleast_1d(np.asarray(kappa, np.float64)), params)
    start = np.asarray(params.get("start") or np.ones(lam.shape[1]), np.float64)
    return lam, start


def linreg_spectrum(params: dict, kappa) -> tuple[np.ndarray, np.ndarray]:
    """(lambdas, z0) of a full-batch ``linreg`` sweep's data set at each kappa: float64
    (n, dim) both, z0 = V^T (start - w_hat) the start in H's eigenbasis (the kernel's
    error coordinates; it depends on kappa where w_hat does, with label noise). For
    ``optimal_steps`` / ``loss_ratios``, which take a start per row. ``params``: the
    sweep's problem_params (normalised here)."""
    from .problems import linreg

    p = linreg.normalise_params(dict(params), "problem_params")
    lam, z0 = [], []
    for k in np.atleast_1d(np.asarray(kappa, np.float64)):
        ds = linreg.dataset(k, p)
        lam.append(ds.lambdas)
        z0.append(ds.V.T @ (np.asarray(p["start"], np.float64) - ds.w_hat))
    return np.array(lam), np.array(z0)


def loss_ratios(optimizer, eta, beta, lambdas, start, steps):
    """Exact loss ratios r_t = f(w_t) / f(w_0), t = 0 .. steps, of ``optimizer`` at
    (eta, beta) on each row of ``lambdas`` (float64 (n, dim)) from ``start`` ((dim,), or
    (n, dim): one start per row, as ``linreg_spectrum``'s z0),
    by the per-direction recurrence of the module docstring: float64 (n, steps + 1).
    ``eta``, ``beta``: scalars or (n,) arrays (beta None or 0 for gd)."""
    lam = np.asarray(lambdas, np.float64)
    eta = np.asarray(eta, np.float64).reshape(-1, 1)
    beta = np.asarray(0.0 if beta is None else beta, np.float64).reshape(-1, 1)
    p, q = theory.characteristic(optimizer, eta, None if optimizer == "gd" else beta, lam)
    x0 = np.broadcast_to(np.asarray(start, np.float64), lam.shape)
    f0 = (lam * x0 * x0).sum(axis=1)
    out = np.empty((lam.shape[0], steps + 1))
    prev, x = x0, (1.0 - eta * lam) * x0
    out[:, 0] = 1.0
    for t in range(1, steps + 1):
        out[:, t] = (lam * x * x).sum(axis=1) / f0
        prev, x = x, p * x - q * prev
    return out


def optimal_steps(optimizer, lambdas, start, tol, t_max=1_000_000):
    """Steps to the tolerance at theory's optimal tuning (``theory.optimal``): the first t
    with r_t <= tol (module docstring), per row of ``lambdas`` (float64 (n, dim)) from
    ``start`` ((dim,) or (n, dim), as in ``loss_ratios``): float64 (n,), inf beyond
    ``t_max``. Rows with a single eigenvalue converge in one step (gd
    and heavy ball: eta* = 1 / lam; Nesterov's 4 / (3L + mu) too)."""
    lam = np.atleast_2d(np.asarray(lambdas, np.float64))
    eta, beta, rho = (np.broadcast_to(a, len(lam)) for a in theory.optimal(
        optimizer, lam.min(axis=1), lam.max(axis=1)))  # fmt: skip
    with np.errstate(divide="ignore"):  # the law ln tol / (2 ln rho): rho = 0 takes 1 step
        law = np.where(rho > 0, np.log(tol) / (2 * np.log(np.where(rho > 0, rho, 0.5))), 1.0)
    # twice the law, + 64, covers the polynomial factor; rows not there yet go on, x 4
    n = int(min(t_max, 2 * np.ceil(np.max(law)) + 64))
    while True:
        r = loss_ratios(optimizer, eta, beta, lam, start, n)
        hit = r <= tol
        out = np.where(hit.any(axis=1), np.argmax(hit, axis=1), np.inf).astype(np.float64)
        if np.all(np.isfinite(out)) or n >= t_max:
            return out
        n = int(min(t_max, 4 * n))


def edge_ratio(df: pd.DataFrame, optimizer: str) -> np.ndarray:
    """precond_sharpness / theory.adaptive_edge(optimizer, eta, beta) per row: float64 (n,).
    About 1 (0.8 to 1.4 with momentum, the README's measured band) for a run that stalled
    at its stability edge; ``beta`` is beta1 for Adam, the momentum for RMSProp (0 if the
    sweep has no beta column)."""
    beta = df["beta"].to_numpy(np.float64) if "beta" in df else 0.0
    edge = theory.adaptive_edge(optimizer, df["eta"].to_numpy(np.float64), beta)
    return df["precond_sharpness"].to_numpy(np.float64) / edge


def map_table(df, x, y, value, kappa=None, optimizer=None, f_min=None) -> pd.DataFrame:
    """A hyperparameter map of one sweep: rows ``y`` values, columns ``x`` values
    (ascending). On a quadratic (rows with ``lambda_max``) at the condition number
    ``kappa`` (the grid value nearest in log; None: the sweep must have one); a landscape
    sweep has no kappa (``attrs["kappa"]`` NaN). ``value``: "log_loss" = log10(final_loss
    / loss0), or log10(final_loss - f_min) when ``f_min`` is given (a landscape's lowest
    listed minimum; -inf where the run reached it, +inf where it diverged, overflowed or
    left the radius: status diverged or escaped), "steps" (the steps of converged runs,
    NaN elsewhere) or "edge" (``edge_ratio`` of the runs that ran out of steps, status
    max_steps, NaN elsewhere; needs ``optimizer``). Every other axis (the start point
    x0, y0 too) must be single-valued; the table's ``attrs`` hold kappa and the row
    count."""
    if "lambda_max" in df:
        d = df.assign(kappa=kappa_of(df))
        kappas = np.unique(d["kappa"])
        if kappa is None and len(kappas) > 1:
            raise ValueError(f"the sweep has {len(kappas)} condition numbers: choose one")
        k = kappas[np.argmin(np.abs(np.log(kappas) - np.log(kappa or kappas[0])))]
        d = d[d["kappa"] == k]
    else:
        d, k = df, np.nan
    axes = (*HYPER, "x0", "y0")
    others = [a for a in axes if a in d and a not in (x, y, "eta") and d[a].nunique() > 1]
    if others:
        raise ValueError(f"{', '.join(others)} also vary: a map needs one value of each")
    left = d["status"].isin(("diverged", "escaped"))
    if value == "log_loss":
        with np.errstate(divide="ignore", invalid="ignore"):
            if f_min is None:
                v = np.log10(d["final_loss"] / d["loss0"])
            else:  # rounding may put a run a hair below the minimum's listed value
                v = np.log10(np.maximum(d["final_loss"] - f_min, 0.0))
        v = v.where(~left & np.isfinite(d["final_loss"]), np.inf)
    elif value == "steps":
        v = d["steps"].where(d["status"] == "converged").astype(np.float64)
    elif value == "edge":
        v = pd.Series(edge_ratio(d, optimizer), index=d.index).where(d["status"] == "max_steps")
    else:
        raise ValueError(f"value {value!r}: expected 'log_loss', 'steps' or 'edge'")
    d = d.assign(v=v).drop_duplicates([y, x])  # one run per cell (the first seed)
    table = d.pivot(index=y, columns=x, values="v")
    table = table.sort_index().sort_index(axis=1)
    table.attrs.update(kappa=float(k), n=len(d))
    return table
