"""Tables for the stochastic-gradient figures (``scripts/sgd_noise.py``,
``scripts/batch_size.py``) and checks: pure pandas / NumPy on top of
``fastdescent.theory`` (plus ``sampled_gradient_noise``, which draws the kernel's own
batches with the Numba sampler). ``fastdescent.plots_sgd`` draws these tables.

Noisy quadratics (axis ``sigma``: every step uses grad f(w) + sigma xi_t, xi ~ N(0, I_d)),
f = 1/2 sum_i lam_i w_i^2. Per grid point (lr, beta, sigma[, kappa]) over the seeds:

    measured = mean over seeds of loss_tail_mean,  se = std(ddof=1) / sqrt(seeds),
    exact    = theory.stationary_loss = sum_i eta sigma^2 (1 + q_i) / (2 (1 - q_i) D_i)
               (q, D per method: ``fastdescent.theory.noise``),
    small    = eta sigma^2 d / (4 (1 - beta))   (the small-step / SDE limit: the exact
               per-direction loss at eta lam_i -> 0 is eta sigma^2 / (4 (1 - beta)) for gd,
               heavy ball and Nesterov, independent of lam_i),
    ratio    = measured / exact.

Mini-batch least squares (``linreg``; X n x d, H = (2/n) X^T X, w_hat, r = y - X w_hat):

    gradient-noise variance  V(w, B) = E|g_S(w) - grad f(w)|^2 = tr(S_pop(w)) / B * fpc,
        S_pop(w) = (1/n) sum_i (g_i - gbar)(g_i - gbar)^T,  g_i = 2 x_i (x_i^T w - y_i),
        fpc = (n - B) / (n - 1) without replacement ("subset", "epoch"), 1 with;
    small-step stationary excess loss  L(eta, B) = eta / (4 (1 - beta)) (V(w_hat, B)
        + sigma^2 d), so a fixed L (iso-noise, the linear scaling rule) needs
        eta(B) = 4 (1 - beta) L / (V(w_hat, B) + sigma^2 d), proportional to
        B (n - 1) / (n - B) when sigma = 0;
    exact stationary excess loss: theory.stationary_excess_loss_minibatch (i.i.d.
        batches: "subset", "replacement"; "epoch" by enumeration for small n only);
    mean-square stability edge eta_max(B): the largest eta whose second moments converge
        (``theory.ms_stable``), found by bisection in log eta between 0 and the full-batch
        limit (E[M_S] is the full-batch iteration, so eta_max(B) <= 2/lambda_max for gd).

Stationarity: a grid point's tail is compared with a stationary value only when the
start's transient is gone before the tail begins (``before`` = steps - ceil(tail steps)
steps): quadratics, rho^before <= 1e-6 with rho = theory.rate (as ``checks``); linreg,
r^before (loss0 - loss_min + exact) <= 1e-3 exact with r the per-step mean-square radius
(``theory.ms_radius``: the contraction of the second moments, slower than the mean's
rho^2 near the edge), i.e. at most 0.1 % of the stationary loss left at the tail's start.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import theory
from ._jit import jit
from .kernels import batches

__all__ = [
    "MIN_SEEDS",
    "batch_cells",
    "critical_batch",
    "dense_batches",
    "epoch_enumerable",
    "full_batch",
    "iso_noise_eta",
    "linreg_dataset",
    "loss_vs_batch",
    "ms_edge",
    "ms_edges",
    "noise_cells",
    "noise_curves",
    "noise_variance_law",
    "noise_variance_table",
    "quadratic_lambdas",
    "sampled_gradient_noise",
    "small_step_loss",
    "small_step_noise",
    "stationary_loss_subset",
    "transient_gone",
]

BAND = 0.02  # points within 2 % of the stability edge are not compared (as checks)
MIN_SEEDS = 8  # a grid point needs this many seeds (none diverged) for a standard error
TRANSIENT_QUADRATIC = 1e-6  # rho^before: as checks._check_stationary
TRANSIENT_LINREG = 1e-3  # share of the stationary loss the transient may leave
EPOCH_ORDERINGS = 20_000  # "epoch" exact theory enumerates at most this many orderings


# ------------------------------------------------------------------------ noisy quadratics


def small_step_noise(optimizer, eta, beta, sigma, d):
    """Small-step (SDE) stationary loss eta sigma^2 d / (4 (1 - beta)) (beta 0 for gd)."""
    b = 0.0 if optimizer == "gd" or beta is None else np.asarray(beta, dtype=np.float64)
    return np.asarray(eta) * np.asarray(sigma) ** 2 * d / (4.0 * (1.0 - b))


def quadratic_lambdas(spec, kappa):
    """Eigenvalues of a quadratic sweep at kappa (the explicit lambdas, if given)."""
    from .problems import get_problem

    params = spec["problem_params"]
    problem = get_problem("quadratic")
    has_kappa = "kappa" in spec["axes"] and "lambdas" not in params
    return problem.eigenvalues(np.array([kappa]) if has_kappa else None, params)[0]


def noise_cells(df, spec):
    """One row per noisy grid point (sigma > 0) of a quadratic sweep, seeds pooled.

    df: rows with lr, eta, status, loss_tail_mean, sigma (and beta, kappa, seed where the
    sweep has them). Columns: kappa (1 without a kappa axis), beta (0 without), sigma, lr,
    eta, h = eta * lambda_max, lambda_min, lambda_max, d, seeds (rows), diverged (rows
    diverged), measured (mean of loss_tail_mean over the non-diverged rows), se (its
    standard error, NaN for one seed), exact (theory.stationary_loss; inf when unstable),
    small (small_step_noise), limit_h (stability limit of eta * lambda_max), ratio =
    measured / exact, ratio_se = se / exact, transient (the start's transient not gone
    before the tail: rho^before > 1e-6), near_edge (h within BAND = 2 % below the limit, or
    above it), usable (>= MIN_SEEDS seeds, none diverged, exact finite, no transient, not
    near the edge: the points ``checks`` compares). Sorted by (kappa, beta, sigma, h).
    """
    opt = spec["optimizer"]
    d = pd.DataFrame(
        {
            "kappa": df["kappa"] if "kappa" in df else 1.0,
            "beta": df["beta"] if "beta" in df else 0.0,
            "sigma": df["sigma"],
            "lr": df["lr"],
            "eta": df["eta"],
            "diverged": df["status"] == "diverged",
            "tail": np.where(df["status"] == "diverged", np.nan, df["loss_tail_mean"]),
        }
    )
    d = d[d["sigma"] > 0]
    g = d.groupby(["kappa", "beta", "sigma", "lr"], sort=True)
    c = g.agg(
        eta=("eta", "first"),
        seeds=("tail", "size"),
        diverged=("diverged", "sum"),
        measured=("tail", "mean"),
        sd=("tail", "std"),
        ok=("tail", "count"),
    ).reset_index()
    c["se"] = c["sd"] / np.sqrt(c["ok"])
    before = spec["steps"] - math.ceil(spec.get("metrics", {}).get("tail", 0.5) * spec["steps"])
    out = []
    for kappa, part in c.groupby("kappa", sort=True):
        lam = quadratic_lambdas(spec, kappa)
        part = part.copy()
        beta = None if opt == "gd" else part["beta"].to_numpy()
        eta = part["eta"].to_numpy()
        part["lambda_min"], part["lambda_max"], part["d"] = lam.min(), lam.max(), len(lam)
        part["h"] = eta * lam.max()
        part["exact"] = theory.stationary_loss(opt, eta, beta, lam, part["sigma"].to_numpy())
        part["small"] = small_step_noise(opt, eta, beta, part["sigma"].to_numpy(), len(lam))
        b = part["beta"].to_numpy()
        inside = (b >= 0) & (b < 1)
        lim = theory.stability_limit(opt, np.where(inside, b, 0.0), lam.max()) * lam.max()
        part["limit_h"] = np.where(inside, lim, np.nan)
        rho = theory.rate(opt, eta, beta, lam.min(), lam.max())
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            part["transient"] = ~(np.asarray(rho) ** before <= TRANSIENT_QUADRATIC)
        out.append(part)
    c = pd.concat(out, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        c["ratio"] = c["measured"] / c["exact"]
        c["ratio_se"] = c["se"] / c["exact"]
    c["near_edge"] = ~(c["h"] < (1.0 - BAND) * c["limit_h"]) & c["limit_h"].notna()
    c["usable"] = (
        (c["ok"] >= MIN_SEEDS)
        & (c["diverged"] == 0)
        & np.isfinite(c["exact"])
        & ~c["transient"]
        & ~c["near_edge"]
    )
    cols = ["kappa", "beta", "sigma", "lr", "eta", "h", "lambda_min", "lambda_max", "d"]
    cols += ["seeds", "diverged", "measured", "se", "exact", "small", "limit_h", "ratio"]
    cols += ["ratio_se", "transient", "near_edge", "usable"]
    return c[cols].sort_values(["kappa", "beta", "sigma", "h"], ignore_index=True)


def noise_curves(optimizer, lam, beta, sigma, h_lo, n=240):
    """Theory over a dense range of h = eta * lambda_max from ``h_lo`` up to the stability
    limit (log-spaced, denser near the edge, where the exact loss blows up like
    1 / (limit - h)): DataFrame h, eta, exact (theory.stationary_loss), small
    (small_step_noise). ``beta`` a scalar (None or 0 for gd)."""
    lam = np.asarray(lam, dtype=np.float64)
    lmax = lam.max()
    b = 0.0 if beta is None else float(beta)
    limit = float(theory.stability_limit(optimizer, b, lmax)) * lmax
    lo = min(h_lo, 0.5 * limit)
    h = np.unique(
        np.concatenate(
            [
                np.geomspace(lo, 0.9 * limit, n),
                limit * (1.0 - np.geomspace(0.1, 1e-3, n // 3)),
            ]
        )
    )
    eta = h / lmax
    ob = None if optimizer == "gd" else b
    return pd.DataFrame(
        {
            "h": h,
            "eta": eta,
            "exact": theory.stationary_loss(optimizer, eta, ob, lam, sigma),
            "small": small_step_noise(optimizer, eta, ob, sigma, len(lam)),
        }
    )


# ---------------------------------------------------------------- mini-batch least squares


def linreg_dataset(spec, kappa=None):
    """The sweep's data set at ``kappa`` (``linreg.dataset`` of the normalised params)."""
    from .problems import linreg

    params = linreg.normalise_params(spec["problem_params"], "problem_params")
    return linreg.dataset(kappa, params)


def full_batch(sampling, B, n):
    """True where batch size B is full-batch GD (B = n with "epoch" or "subset")."""
    return (np.asarray(B) >= n) & (sampling != "replacement")


def epoch_enumerable(n, B, limit=EPOCH_ORDERINGS):
    """Whether "epoch" theory (enumeration of n! / ((B!)^m (n - mB)!) orderings, m =
    floor(n/B)) is affordable at (n, B)."""
    if n > 20:
        return False
    m = n // B
    count = math.factorial(n) // (math.factorial(B) ** m * math.factorial(n - m * B))
    return count <= limit


def _exact_loss(ds, eta, beta, B, optimizer, sampling, sigma):
    """Exact stationary excess loss, or NaN where no exact theory applies at this n."""
    n = ds.X.shape[0]
    b = 0.0 if beta is None else beta
    if sampling == "epoch" and full_batch(sampling, B, n):
        sampling = "subset"  # B = n: every step the whole data set, as "subset"
    if sampling == "epoch":
        if not epoch_enumerable(n, int(B)):
            return math.nan
        return theory.stationary_excess_loss_epoch(ds.X, ds.y, eta, b, int(B), optimizer, sigma)
    return theory.stationary_excess_loss_minibatch(
        ds.X, ds.y, eta, b, int(B), optimizer, sampling, sigma=sigma
    )


def stationary_loss_subset(ds, eta, beta, B, optimizer, sigma=0.0):
    """Exact stationary excess loss with i.i.d. "subset" batches (what "epoch" is compared
    with at large n, where its own exact theory cannot be enumerated)."""
    return _exact_loss(ds, eta, beta, B, optimizer, "subset", sigma)


def _ms_radius_per_step(ds, eta, beta, B, optimizer, sampling):
    """Per-step mean-square radius (the "epoch" radius is per epoch: its 1/m-th power)."""
    b = 0.0 if beta is None else beta
    r = theory.ms_radius(ds.X, ds.y, eta, b, int(B), optimizer, sampling)
    if sampling == "epoch":
        r = r ** (1.0 / (ds.X.shape[0] // int(B)))
    return r


def transient_gone(ds, eta, beta, B, optimizer, sampling, before, excess0, exact):
    """The linreg stationarity criterion (module docstring): r^before (excess0 + exact)
    <= 1e-3 exact, r the per-step mean-square radius. False when r >= 1."""
    r = _ms_radius_per_step(ds, eta, beta, B, optimizer, sampling)
    if not r < 1.0:
        return False
    return r**before * (excess0 + exact) <= TRANSIENT_LINREG * exact


def batch_cells(df, spec, exact=True, stationarity=True):
    """One row per grid point of a linreg sweep, seeds pooled.

    df: rows with lr, eta, batch_size, status, loss0, loss_min, loss_tail_mean (and
    kappa, beta, sigma, seed where the sweep has them). Columns: kappa (NaN without a
    kappa axis), beta (0 without), sigma (0 without), batch_size, lr, eta, h = eta *
    lambda_max, seeds, diverged / converged (rows), measured (mean of loss_tail_mean
    over the non-diverged rows; 0 where every row converged), se (standard error over
    seeds), excess0 (mean loss0 - loss_min), full (full batch), stochastic (not full
    batch, or sigma > 0), and with ``exact``: exact (theory, NaN where none: "epoch" at
    large n; inf beyond the mean-square edge), small (the small-step law), ratio, ratio_se,
    and with ``stationarity``: relaxed (``transient_gone``; computed only where the point
    has >= MIN_SEEDS seeds, none diverged, and a finite exact value) and usable.
    """
    opt, params = spec["optimizer"], spec["problem_params"]
    n, sampling = params["n"], params.get("sampling", "epoch")
    axes = spec["axes"]
    d = pd.DataFrame(
        {
            "kappa": df["kappa"].astype(float) if "kappa" in df else np.nan,
            "beta": df["beta"] if "beta" in df else 0.0,
            "sigma": df["sigma"] if "sigma" in df else 0.0,
            "batch_size": df["batch_size"] if "batch_size" in df else n,
            "lr": df["lr"],
            "eta": df["eta"],
            "h": df["eta"] * df["lambda_max"],
            "diverged": df["status"] == "diverged",
            "converged": df["status"] == "converged",
            "tail": np.where(
                df["status"] == "diverged",
                np.nan,
                np.where(df["status"] == "converged", 0.0, df["loss_tail_mean"]),
            ),
            "excess0": df["loss0"] - df["loss_min"],
        }
    )
    if axes["lr"].get("relative_to") == "lambda_max":
        d["h"] = d["lr"]
    keys = ["kappa", "beta", "sigma", "batch_size", "lr"]
    g = d.groupby(keys, sort=True, dropna=False)
    c = g.agg(
        eta=("eta", "first"),
        h=("h", "first"),
        seeds=("tail", "size"),
        diverged=("diverged", "sum"),
        converged=("converged", "sum"),
        measured=("tail", "mean"),
        sd=("tail", "std"),
        ok=("tail", "count"),
        excess0=("excess0", "mean"),
    ).reset_index()
    c["se"] = c["sd"] / np.sqrt(c["ok"])
    c = c.drop(columns="sd")
    c["full"] = full_batch(sampling, c["batch_size"].to_numpy(), n)
    c["stochastic"] = ~c["full"] | (c["sigma"] > 0)
    if not exact:
        return c
    before = spec["steps"] - math.ceil(spec.get("metrics", {}).get("tail", 0.5) * spec["steps"])
    ex, small, relaxed = [], [], []
    for row in c.itertuples(index=False):
        ds = linreg_dataset(spec, None if np.isnan(row.kappa) else row.kappa)
        beta = None if opt == "gd" else row.beta
        if not row.stochastic:
            ex.append(0.0)
            small.append(0.0)
            relaxed.append(False)
            continue
        e = _exact_loss(ds, row.eta, beta, row.batch_size, opt, sampling, row.sigma)
        ex.append(e)
        small.append(_small(ds, row.eta, beta, row.batch_size, opt, sampling, row.sigma))
        enough = row.ok >= MIN_SEEDS and row.diverged == 0 and math.isfinite(e) and e > 0
        if stationarity and enough:
            args = (row.eta, beta, row.batch_size, opt, sampling, before, row.excess0, e)
            relaxed.append(transient_gone(ds, *args))
        else:
            relaxed.append(False)
    c["exact"], c["small"] = np.array(ex, dtype=float), np.array(small, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        c["ratio"] = c["measured"] / c["exact"]
        c["ratio_se"] = c["se"] / c["exact"]
    if stationarity:
        c["relaxed"] = relaxed
        c["usable"] = c["stochastic"] & c["relaxed"]
    return c


def _small(ds, eta, beta, B, optimizer, sampling, sigma):
    """theory.small_step_excess_loss (NaN where it does not apply, e.g. beta outside [0, 1))."""
    try:
        return theory.small_step_excess_loss(
            ds.X, ds.y, eta, int(B), sampling, sigma=sigma, optimizer=optimizer, beta=beta
        )
    except ValueError:
        return math.nan


def ms_edge(ds, B, optimizer, sampling, beta=None, rel=2e-3):
    """Mean-square stability edge eta_max(B) of mini-batch SGD, by bisection in log eta.

    Stability at eta is decided by whether the exact stationary second moment exists (the
    positive-definite solve behind ``theory.ms_stable`` / ``stationary_excess_loss_minibatch``:
    finite iff the mean-square radius is < 1; several times cheaper than the radius's
    eigenvalues). Bracket: the full-batch limit (mean-square stability implies stability of
    the mean, the full-batch iteration) halved until stable. "epoch" uses its exact
    epoch theory when ``epoch_enumerable``, else the "subset" edge (the one-step law of an
    epoch's batch); the returned ``sampling`` says which. Returns (eta_max, sampling_used);
    the relative bracket width at the end is below ``rel``.
    """
    n = ds.X.shape[0]
    used = sampling
    if sampling == "epoch" and not epoch_enumerable(n, int(B)):
        used = "subset"
    b = 0.0 if beta is None else float(beta)
    limit = float(theory.stability_limit(optimizer, b, ds.lambdas.max()))
    if full_batch(used, B, n):
        return limit, used

    def stable(eta):
        return math.isfinite(_exact_loss(ds, eta, b, B, optimizer, used, 1.0))

    hi, lo = limit, limit / 2
    while not stable(lo):
        hi, lo = lo, lo / 2
        if lo < limit * 1e-8:
            return 0.0, used
    while hi / lo > 1.0 + rel:
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if stable(mid) else (lo, mid)
    return math.sqrt(lo * hi), used


def ms_edges(ds, Bs, optimizer, sampling, beta=None, rel=2e-3):
    """DataFrame batch_size, eta_max, h_max (= eta_max * lambda_max), sampling_used."""
    rows = [(int(B), *ms_edge(ds, int(B), optimizer, sampling, beta, rel)) for B in Bs]
    t = pd.DataFrame(rows, columns=["batch_size", "eta_max", "sampling_used"])
    t["h_max"] = t["eta_max"] * ds.lambdas.max()
    return t[["batch_size", "eta_max", "h_max", "sampling_used"]]


def dense_batches(n, num=40, sampling="subset"):
    """Integer batch sizes from 1 to n, about ``num`` of them log-spaced (n included)."""
    b = np.unique(np.round(np.geomspace(1, n, num)).astype(np.int64))
    return b


def iso_noise_eta(ds, Bs, sampling, loss, optimizer="gd", beta=None, sigma=0.0):
    """Step size eta(B) at which the small-step law gives stationary excess loss ``loss``:
    4 (1 - beta) loss / (V(w_hat, B) + sigma^2 d) (module docstring); inf where the
    batch has no noise (full batch, sigma = 0). ``sampling`` "epoch" uses the marginal
    one-step law of a batch ("subset")."""
    law = "subset" if sampling == "epoch" else sampling
    b = 0.0 if optimizer == "gd" or beta is None else float(beta)
    d = ds.X.shape[1]
    out = []
    for B in Bs:
        v = theory.gradient_noise_var(ds.X, ds.y, ds.w_hat, int(B), law) + sigma**2 * d
        out.append(4.0 * (1.0 - b) * loss / v if v > 0 else math.inf)
    return np.array(out)


def small_step_loss(ds, eta, B, sampling, optimizer="gd", beta=None, sigma=0.0):
    """The small-step law eta / (4 (1 - beta)) (V(w_hat, B) + sigma^2 d) that
    ``iso_noise_eta`` inverts ("epoch": the one-step marginal law, that of "subset")."""
    law = "subset" if sampling == "epoch" else sampling
    b = 0.0 if optimizer == "gd" or beta is None else float(beta)
    v = theory.gradient_noise_var(ds.X, ds.y, ds.w_hat, int(B), law) + sigma**2 * ds.X.shape[1]
    return eta * v / (4.0 * (1.0 - b))


def critical_batch(Bs, iso, edge):
    """Where the iso-noise line first reaches the stability edge: the batch size
    (log-interpolated between grid batch sizes) above which the linear scaling rule
    eta ∝ B would cross eta_max(B). NaN if it never does on ``Bs``."""
    Bs, iso, edge = (np.asarray(a, dtype=np.float64) for a in (Bs, iso, edge))
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.log(iso) - np.log(edge)
    above = np.flatnonzero(gap >= 0)
    if not above.size:
        return math.nan
    i = above[0]
    if i == 0:
        return float(Bs[0])
    g0, g1 = gap[i - 1], gap[i]
    if not np.isfinite(g1):
        return float(Bs[i])
    t = g0 / (g0 - g1)
    return float(np.exp(np.log(Bs[i - 1]) + t * (np.log(Bs[i]) - np.log(Bs[i - 1]))))


@jit
def _draw_gradients(X, y, w, B, sampling, draws, seed, out):
    """out[t] = the mini-batch gradient g_S(w) of step t's batch (the kernel's sampler)."""
    n, d = X.shape
    perm, pool = np.empty(n, np.int64), np.arange(n)
    swaps, idx = np.empty(B, np.int64), np.empty(B, np.int64)
    for t in range(draws):
        batches.batch(sampling, seed, t, B, perm, pool, swaps, idx)
        for i in range(d):
            out[t, i] = 0.0
        for k in range(B):
            p = idx[k]
            res = 0.0
            for c in range(d):
                res += X[p, c] * w[c]
            res -= y[p]
            for i in range(d):
                out[t, i] += X[p, i] * res
        for i in range(d):
            out[t, i] *= 2.0 / B


def sampled_gradient_noise(ds, w, B, sampling, draws=2000, seed=0):
    """(mean, standard error) of |g_S(w) - grad f(w)|^2 over ``draws`` consecutive steps of
    the kernel's own batch sampler (``kernels.batches.batch``, keyed by ``seed``).
    Batches of one epoch ("epoch") are dependent: the standard error is then that of the
    epoch means (whole epochs are drawn: draws rounded up to a multiple of n // B)."""
    from .kernels import batches

    X, y = np.ascontiguousarray(ds.X), np.ascontiguousarray(ds.y)
    w = np.ascontiguousarray(w, dtype=np.float64)
    n = X.shape[0]
    per = n // int(B) if sampling == "epoch" else 1
    draws = per * max(2, -(-draws // per))
    out = np.empty((draws, X.shape[1]))
    _draw_gradients(X, y, w, int(B), batches.CODES[sampling], draws, seed, out)
    full = (2.0 / n) * X.T @ (X @ w - y)
    dev = ((out - full) ** 2).sum(axis=1)
    if per > 1:
        dev = dev.reshape(-1, per).mean(axis=1)
    return float(dev.mean()), float(dev.std(ddof=1) / math.sqrt(len(dev)))


def noise_variance_table(ds, Bs, sampling, points, draws=2000, seed=0):
    """Gradient-noise variance vs batch size at each named point ``points`` (dict name ->
    w): DataFrame point, batch_size, measured, se (``sampled_gradient_noise``), exact
    (theory.gradient_noise_var: tr(S_pop) / B * fpc; "epoch": the one-step marginal law,
    that of "subset"), plain (tr(S_pop) / B, no finite-population factor), fpc.
    Full-batch sizes (exactly 0 noise) are left out."""
    n = ds.X.shape[0]
    law = "subset" if sampling == "epoch" else sampling
    rows = []
    for name, w in points.items():
        pop = theory.gradient_noise_var(ds.X, ds.y, w, 1, "replacement")  # tr(S_pop)
        for B in Bs:
            B = int(B)
            if full_batch(sampling, B, n):
                continue
            m, se = sampled_gradient_noise(ds, w, B, sampling, draws, seed)
            exact = theory.gradient_noise_var(ds.X, ds.y, w, B, law)
            fpc = (n - B) / (n - 1) if law == "subset" else 1.0
            rows.append((name, B, m, se, exact, pop / B, fpc))
    cols = ["point", "batch_size", "measured", "se", "exact", "plain", "fpc"]
    return pd.DataFrame(rows, columns=cols)


def noise_variance_law(ds, Bs, sampling, points):
    """The laws of ``noise_variance_table`` without measurement, e.g. on dense B: DataFrame
    point, batch_size, exact, plain (full-batch sizes left out)."""
    n = ds.X.shape[0]
    law = "subset" if sampling == "epoch" else sampling
    rows = []
    for name, w in points.items():
        pop = theory.gradient_noise_var(ds.X, ds.y, w, 1, "replacement")
        for B in Bs:
            if not full_batch(sampling, int(B), n):
                rows.append(
                    (
                        name,
                        int(B),
                        theory.gradient_noise_var(ds.X, ds.y, w, int(B), law),
                        pop / int(B),
                    )
                )
    return pd.DataFrame(rows, columns=["point", "batch_size", "exact", "plain"])


def loss_vs_batch(ds, etas, Bs, optimizer, sampling, beta=None, sigma=0.0):
    """Dense theory curves of the stationary excess loss vs batch size per step size:
    DataFrame eta, batch_size, exact (NaN where no exact theory: "epoch" at large n), small
    (the small-step law; "epoch": ``theory.small_step_excess_loss_epoch``), subset (for
    "epoch": the i.i.d. "subset" value, drawn for comparison). Full-batch sizes left out."""
    n = ds.X.shape[0]
    rows = []
    for eta in etas:
        for B in Bs:
            B = int(B)
            if full_batch(sampling, B, n) and sigma == 0:
                continue
            e = _exact_loss(ds, eta, beta, B, optimizer, sampling, sigma)
            s = _small(ds, eta, beta, B, optimizer, sampling, sigma)
            sub = math.nan
            if sampling == "epoch" and B < n:
                sub = _exact_loss(ds, eta, beta, B, optimizer, "subset", sigma)
            rows.append((eta, B, e, s, sub))
    return pd.DataFrame(rows, columns=["eta", "batch_size", "exact", "small", "subset"])
