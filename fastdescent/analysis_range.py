"""The learning-rate range test (Smith 2017) on recorded trajectories: the libraries'
smoothers, stop rules and suggestion rules, and the divergence cliff against theory's
stability limit. Pure NumPy / pandas; ``fastdescent.plots_range`` draws the tables and
``scripts/lr_range_test.py`` is the command line.

A range test is one trajectory whose step size grows geometrically, the ``exp_range``
schedule eta_t = eta * end_factor ** (t / (steps - 1)); the curve is the loss f(w_t)
against eta_t, the step size of the update that leaves w_t (the libraries pair the loss of
a batch with the learning rate of the step taken on it: the same pairing). Input: the
per-step frame of ``fastdescent.load_trajectories`` (columns ``traj``, ``step``, ``loss``,
``eta``), one row per recorded step, every ``every``-th step.

Smoothers (``loss`` float64 (n, m): n trajectories, m rows, one row per recorded step,
``every`` steps apart; the recursion below is per row with weights raised to ``every``,
so that the window is the libraries' in iterations; every = 1 is their formula exactly):

    ema (pytorch-lr-finder, smooth_f = 0.05):
        s_0 = l_0,  s_i = a l_i + (1 - a) s_(i-1),  a = 1 - (1 - smooth_f) ** every
    debiased_ema (fastai's AvgSmoothLoss, beta = 0.98):
        v_(-1) = 0,  v_i = b v_(i-1) + (1 - b) l_i,  s_i = v_i / (1 - b ** (i + 1)),
        b = beta ** every

Stop rule (both libraries end the test there; the curve they suggest from ends there,
that row included): the first row i with s_i > diverge_th * min(s_0 .. s_i), or s_i not
finite. pytorch-lr-finder: diverge_th = 5 on its ema; fastai: 4 on its debiased ema.
The **cliff** is eta at that row: the first eta at which the smoothed loss exceeds
diverge_th times its best so far.

Suggestion rules, each on its library's smoothed curve truncated at its stop row, over the
rows of steps t < num_it (the schedule's length; the final row at t = num_it has no update):

    steepest (pytorch-lr-finder ``LRFinder.plot(suggest_lr=True)``, skip_start = 10,
        skip_end = 5 iterations): keep the rows skip_start <= t <= t_end - skip_end (t_end:
        the last row's step), g = numpy.gradient(s) over those rows (central differences
        in the row index; with the exp_range schedule the rows are evenly spaced in
        log eta, so this is the slope in log eta up to a constant), eta at argmin g.
    minimum, steep, valley (fastai ``lr_find(suggest_funcs=...)``, which keeps
        recorder.lrs[num_it // 10 : -5]: the rows num_it // 10 <= t <= t_end - 5):
        minimum: eta at argmin s, divided by 10;
        steep: eta_i at argmin_i (s_(i+1) - s_i) / (log eta_(i+1) - log eta_i);
        valley: L_i = length of the longest strictly decreasing subsequence of s ending
            at row i (fastai's O(n^2) double loop; here patience sorting, the same L),
            e = the first argmax of L, b = e - L_e, k = (e - b) / 3,
            row b + int(k) + int(k / 2) (about halfway along that longest valley; a
            negative row, which fastai would read from the end, is taken as row 0).

Over seeds: every group of trajectories that differ only in ``seed`` gives a median and a
spread (the quantiles ``SPREAD`` = (0, 1): the smallest to the largest seed) of each
suggestion, of the cliff and of the smoothed curve row by row (the seeds share eta_t).

Theory: ``theory.stability_limit``: eta_max = 2 / lambda_max (gd), 2 (1 + beta) /
lambda_max (heavy ball), 2 (1 + beta) / ((1 + 2 beta) lambda_max) (Nesterov), with the
summary's ``lambda_max`` (quadratic and linreg: the Hessian's largest eigenvalue; mini-
batches lower the mean-square limit below it, which is not drawn).

Why the cliff lags or leads the limit (the script's docstring has the full story). Let
r = ln(end_factor) / (steps - 1), the growth of ln eta per step. Past the limit the
unstable direction grows by |q| ~ 1 + 2 (eta / eta_max - 1) per step, so its loss grows
by exp(2 r s^2) after s steps: the loss needs s ~ sqrt(ln R / (2 r)) steps, an overshoot
eta / eta_max - 1 ~ sqrt(r ln R / 2), to climb the factor R from where the unstable
direction stood at the crossing to diverge_th times the best loss. Noiseless, that
direction was crushed (exactly to ~0 where eta lambda_max = 1), so R is astronomically
large and the cliff lags far behind the limit; additive gradient noise (or mini-batches)
re-seeds it every step, R is moderate and the cliff comes within a few per cent once r is
small. But noise also sets a floor that rises with eta (about eta sigma^2 d / 4 for gd,
divided by 1 - beta with momentum): when every direction has reached that floor long
before the limit (a well-conditioned quadratic, kappa r small: ``slow_efolds`` large),
the floor's own rise trips the rule early and the cliff reads the temperature, not the
limit. A floor that does not rise with eta does not: least squares' residual loss_min
(linreg) holds the best loss up, and there the cliff reads the limit at every kappa as
long as the noise's excess stays below (diverge_th - 1) loss_min up to the limit.

Put together, on a quadratic with minimum 0 a cliff within 5 % needs both r <~ 3e-4
(overshoot) and N = 4 (1 + beta) / ((1 - beta) kappa r) <~ 20 (the slow direction still
falling), i.e. kappa >~ 1e3 for gd and ~10x more for beta = 0.9 (tests/test_lr_range.py
checks 1e4 .. 1e6 at r = 9.2e-5: 5e4 steps over a factor 100). The libraries' own
defaults are far coarser: fastai's 100 iterations over 1e-7 .. 10 give r = 0.18, an
overshoot of tens of per cent; their suggestions are heuristics, not limits.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import pandas as pd

from . import theory

__all__ = [
    "FASTAI",
    "LR_FINDER",
    "RULES",
    "SPREAD",
    "cliff_table",
    "curves",
    "debiased_ema",
    "ema",
    "limits",
    "minimum",
    "slow_efolds",
    "smooth",
    "steep",
    "steepest",
    "stop_index",
    "suggestions",
    "summarise",
    "table",
    "valley",
    "valley_index",
]

#: pytorch-lr-finder's defaults (``range_test``, ``plot``)
LR_FINDER = {"smooth_f": 0.05, "diverge_th": 5.0, "skip_start": 10, "skip_end": 5}
#: fastai's defaults (``AvgSmoothLoss``, ``LRFinder``, ``lr_find``: lrs[num_it // 10 : -5])
FASTAI = {"beta": 0.98, "diverge_th": 4.0, "skip_start_div": 10, "skip_end": 5}
#: the suggestion rules: name -> the library whose smoother and stop rule they use
RULES = {"steepest": "lr_finder", "minimum": "fastai", "steep": "fastai", "valley": "fastai"}
#: the quantiles of the seeds' spread (0, 1: smallest to largest)
SPREAD = (0.0, 1.0)


# ------------------------------------------------------------------------ smoothers


def ema(loss, smooth_f=LR_FINDER["smooth_f"], every=1):
    """pytorch-lr-finder's smoothing along the last axis: s_0 = l_0, s_i = a l_i + (1 - a)
    s_(i-1), a = 1 - (1 - smooth_f) ** every (smooth_f in [0, 1); 0: no smoothing).
    ``loss`` float64 (..., m) -> float64 (..., m). inf stays inf; NaN (no data) stays NaN."""
    if not 0.0 <= smooth_f < 1.0:
        raise ValueError(f"smooth_f must be in [0, 1), got {smooth_f}")
    loss = np.asarray(loss, dtype=np.float64)
    a = 1.0 - (1.0 - smooth_f) ** every if smooth_f > 0 else 1.0
    out = np.empty_like(loss)
    out[..., 0] = loss[..., 0]
    with np.errstate(invalid="ignore", over="ignore"):
        for i in range(1, loss.shape[-1]):
            prev = out[..., i - 1]
            out[..., i] = np.where(np.isinf(prev), prev, a * loss[..., i] + (1.0 - a) * prev)
    return out


def debiased_ema(loss, beta=FASTAI["beta"], every=1):
    """fastai's AvgSmoothLoss along the last axis: v_i = b v_(i-1) + (1 - b) l_i from
    v_(-1) = 0, s_i = v_i / (1 - b ** (i + 1)), b = beta ** every (beta in [0, 1)).
    ``loss`` float64 (..., m) -> float64 (..., m)."""
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    loss = np.asarray(loss, dtype=np.float64)
    b = beta**every
    out = np.empty_like(loss)
    v = np.zeros(loss.shape[:-1])
    with np.errstate(invalid="ignore", over="ignore"):
        for i in range(loss.shape[-1]):
            v = np.where(np.isinf(v), v, b * v + (1.0 - b) * loss[..., i])
            out[..., i] = v / (1.0 - b ** (i + 1))
    return out


def smooth(loss, convention, every=1, **params):
    """The smoothed curve of ``convention`` "lr_finder" (``ema``) or "fastai"
    (``debiased_ema``), with that library's default parameter unless given."""
    if convention == "lr_finder":
        return ema(loss, params.get("smooth_f", LR_FINDER["smooth_f"]), every)
    if convention == "fastai":
        return debiased_ema(loss, params.get("beta", FASTAI["beta"]), every)
    raise ValueError(f"convention must be 'lr_finder' or 'fastai', got {convention!r}")


def stop_index(smoothed, diverge_th):
    """First row where the smoothed loss exceeds ``diverge_th`` times its running minimum
    (or is +inf), -1 where none: int64 of shape smoothed.shape[:-1]. NaN rows (no data)
    never stop the test. ``smoothed`` float64 (..., m)."""
    s = np.asarray(smoothed, dtype=np.float64)
    best = np.fmin.accumulate(s, axis=-1)
    with np.errstate(invalid="ignore"):
        over = (s > diverge_th * best) | (s == np.inf)
    return np.where(over.any(axis=-1), over.argmax(axis=-1), -1)


# ---------------------------------------------------------------- suggestion rules


def _window(step, last, skip_start, skip_end):
    """Rows skip_start <= step <= step[last] - skip_end of the rows 0 .. last."""
    rows = np.arange(last + 1)
    keep = (step[: last + 1] >= skip_start) & (step[: last + 1] <= step[last] - skip_end)
    return rows[keep]


def _last_row(s, stop):
    """The last row the library keeps: the stop row, else the last row with data."""
    if stop >= 0:
        return int(stop)
    ok = np.flatnonzero(~np.isnan(s))
    return int(ok[-1]) if len(ok) else -1


def steepest(eta, s, step, stop, skip_start=LR_FINDER["skip_start"],
             skip_end=LR_FINDER["skip_end"]):  # fmt: skip
    """pytorch-lr-finder's suggestion: eta at argmin numpy.gradient(s) over the rows
    skip_start <= t <= t_end - skip_end of the curve truncated at ``stop`` (the stop row,
    or -1). ``eta``, ``s``, ``step`` (m,); NaN when fewer than 2 rows remain."""
    rows = _window(step, _last_row(s, stop), skip_start, skip_end)
    if len(rows) < 2 or not np.all(np.isfinite(s[rows])):
        return math.nan
    return float(eta[rows[np.argmin(np.gradient(s[rows]))]])


def _fastai_rows(s, step, stop, skip_start, skip_end):
    rows = _window(step, _last_row(s, stop), skip_start, skip_end)
    return rows[np.isfinite(s[rows])] if len(rows) else rows


def minimum(eta, s, step, stop, skip_start, skip_end=FASTAI["skip_end"]):
    """fastai's ``minimum``: eta at the smallest smoothed loss, divided by 10, over the
    rows skip_start <= t <= t_end - skip_end of the curve truncated at ``stop`` (fastai:
    skip_start = num_it // 10, skip_end = 5). ``eta``, ``s``, ``step`` (m,)."""
    rows = _fastai_rows(s, step, stop, skip_start, skip_end)
    return float(eta[rows[np.argmin(s[rows])]]) / 10.0 if len(rows) else math.nan


def steep(eta, s, step, stop, skip_start, skip_end=FASTAI["skip_end"]):
    """fastai's ``steep``: eta_i at the most negative forward slope (s_(i+1) - s_i) /
    (log eta_(i+1) - log eta_i) (rows as ``minimum``)."""
    rows = _fastai_rows(s, step, stop, skip_start, skip_end)
    if len(rows) < 2:
        return math.nan
    slope = np.diff(s[rows]) / np.diff(np.log(eta[rows]))
    return float(eta[rows[np.argmin(slope)]])


def valley_index(s):
    """fastai's ``valley`` index into ``s`` (m,): L_i the longest strictly decreasing
    subsequence ending at i, e = first argmax L, b = e - L_e, k = (e - b) / 3, index
    b + int(k) + int(k / 2), at least 0."""
    tails: list[float] = []  # tails[j]: smallest end (of -s) of an increasing run of j + 1
    lengths = np.empty(len(s), dtype=np.int64)
    for i, x in enumerate(-np.asarray(s, dtype=np.float64)):
        j = bisect.bisect_left(tails, x)
        if j == len(tails):
            tails.append(x)
        else:
            tails[j] = x
        lengths[i] = j + 1
    end = int(np.argmax(lengths))
    start = end - int(lengths[end])
    k = (end - start) / 3
    return max(0, start + int(k) + int(k / 2))


def valley(eta, s, step, stop, skip_start, skip_end=FASTAI["skip_end"]):
    """fastai's ``valley`` suggestion (``valley_index``; rows as ``minimum``)."""
    rows = _fastai_rows(s, step, stop, skip_start, skip_end)
    return float(eta[rows[valley_index(s[rows])]]) if len(rows) else math.nan


# --------------------------------------------------------------------- tables


def table(frame, num_it, every=None):
    """Pivot a trajectories frame to arrays, rows of steps t < ``num_it`` on the regular
    grid t = 0, every, 2 every, ... (``every``: the ``[record]`` table's, by default the
    most common step between a trajectory's consecutive rows; a trajectory's final row
    off that grid, where it stopped, is left out).
    Returns (traj int64 (n,), step int64 (m,), eta float64 (n, m), loss float64 (n, m),
    every); a non-finite recorded loss becomes +inf, a row after a trajectory's last one
    is NaN (no data), and ``eta`` continues the schedule geometrically there."""
    f = frame[frame["step"] < num_it]
    f = f.sort_values(["traj", "step"], kind="stable")
    if every is None:
        gaps = np.diff(f["step"].to_numpy())[np.diff(f["traj"].to_numpy()) == 0]
        values, counts = np.unique(gaps[gaps > 0], return_counts=True)
        every = int(values[np.argmax(counts)]) if len(values) else 1
    step = np.arange(0, num_it, every, dtype=np.int64)
    f = f[f["step"] % every == 0]
    traj, t_idx = np.unique(f["traj"].to_numpy(), return_inverse=True)
    col = (f["step"].to_numpy() // every).astype(np.int64)
    loss = np.full((len(traj), len(step)), np.nan)
    eta = np.full((len(traj), len(step)), np.nan)
    raw = f["loss"].to_numpy(dtype=np.float64)
    loss[t_idx, col] = np.where(np.isfinite(raw), raw, np.inf)
    eta[t_idx, col] = f["eta"].to_numpy(dtype=np.float64)
    for i in range(len(traj)):  # extend eta past the last row: the geometric schedule
        ok = np.flatnonzero(~np.isnan(eta[i]))
        if len(ok) >= 2:
            slope = np.log(eta[i, ok[-1]] / eta[i, ok[0]]) / (ok[-1] - ok[0])
            eta[i] = eta[i, ok[0]] * np.exp(slope * (np.arange(len(step)) - ok[0]))
    return traj, step, eta, loss, every


def suggestions(traj, step, eta, loss, every, num_it, params=None):
    """One row per trajectory: ``traj``, the cliffs ``cliff_lr_finder`` and
    ``cliff_fastai`` (eta at each library's stop row, NaN if it never stops) and the four
    rules ``steepest``, ``minimum``, ``steep``, ``valley``. ``params`` overrides the
    libraries' defaults: {"lr_finder": {...}, "fastai": {...}} with the keys of
    ``LR_FINDER`` and ``FASTAI``. Inputs as ``table`` returns them."""
    params = params or {}
    lf = {**LR_FINDER, **params.get("lr_finder", {})}
    fa = {**FASTAI, **params.get("fastai", {})}
    s_lf = ema(loss, lf["smooth_f"], every)
    s_fa = debiased_ema(loss, fa["beta"], every)
    stop_lf = stop_index(s_lf, lf["diverge_th"])
    stop_fa = stop_index(s_fa, fa["diverge_th"])
    start_fa = num_it // fa["skip_start_div"]
    rows = []
    for i in range(len(traj)):
        e = eta[i]
        rows.append({
            "traj": int(traj[i]),
            "cliff_lr_finder": float(e[stop_lf[i]]) if stop_lf[i] >= 0 else math.nan,
            "cliff_fastai": float(e[stop_fa[i]]) if stop_fa[i] >= 0 else math.nan,
            "steepest": steepest(e, s_lf[i], step, stop_lf[i], lf["skip_start"], lf["skip_end"]),
            "minimum": minimum(e, s_fa[i], step, stop_fa[i], start_fa, fa["skip_end"]),
            "steep": steep(e, s_fa[i], step, stop_fa[i], start_fa, fa["skip_end"]),
            "valley": valley(e, s_fa[i], step, stop_fa[i], start_fa, fa["skip_end"]),
        })  # fmt: skip
    return pd.DataFrame(rows)


def limits(optimizer, beta, lambda_max):
    """theory.stability_limit broadcast over arrays (beta ignored for gd)."""
    beta = np.zeros_like(np.asarray(lambda_max, float)) if optimizer == "gd" else beta
    return np.asarray(theory.stability_limit(optimizer, beta, lambda_max), dtype=np.float64)


def slow_efolds(optimizer, beta, lambda_min, eta0, eta_max, r):
    """How many e-folds of loss the slowest direction has lost, deterministically and in
    the small-step limit, when the schedule reaches the limit: N = 2 lambda_min
    sum_(t < t_c) eta_t / (1 - beta) = 2 lambda_min (eta_max - eta0) / ((1 - beta)
    (exp(r) - 1)), r = ln(end_factor) / (steps - 1) (heavy ball's and Nesterov's small
    steps act as eta / (1 - beta)). Large N: the whole loss sits on its noise floor long
    before the limit, and the floor's rise with eta can trip the stop rule early."""
    b = 0.0 if optimizer == "gd" else np.asarray(beta, float)
    return 2.0 * np.asarray(lambda_min) * (eta_max - eta0) / ((1.0 - b) * np.expm1(r))


def _groups(summary, by):
    keys = [c for c in by if c in summary]
    if not keys:
        return [((), summary)]
    return [(k if isinstance(k, tuple) else (k,), g) for k, g in summary.groupby(keys, sort=True)]


def _column_quantile(block, q):
    """Per column of ``block`` (n, m), the q-quantile of its non-NaN values by the
    inverted CDF (an observed value: the smallest x with ECDF(x) >= q), NaN where a
    column has none: float64 (m,). np.nanquantile(..., method="inverted_cdf"), fast."""
    ordered = np.sort(block, axis=0)  # NaN last
    n = np.sum(~np.isnan(block), axis=0)
    k = np.clip(np.ceil(q * n).astype(np.int64) - 1, 0, np.maximum(n - 1, 0))
    out = np.take_along_axis(ordered, k[None, :], axis=0)[0]
    return np.where(n > 0, out, np.nan)


def _q(values, q):
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    return float(np.quantile(v, q, method="inverted_cdf")) if len(v) else math.nan


def summarise(per_traj, summary, optimizer, by, spread=SPREAD):
    """Per group of ``summary`` rows sharing the ``by`` columns (the axes but seed): the
    theory limit, each cliff and rule as median and spread (``<col>``, ``<col>_lo``,
    ``<col>_hi``) over the seeds, the cliffs' ratio to the limit (``ratio_lr_finder``,
    ``ratio_fastai``, same three columns) and ``seeds`` (trajectories in the group).
    ``per_traj``: ``suggestions``' frame; ``summary``: the sweep's rows (``traj``, axes,
    ``lambda_max``, and ``beta`` for momentum) of the recorded trajectories."""
    df = summary.merge(per_traj, on="traj", how="inner")
    beta = df["beta"].to_numpy(float) if "beta" in df else np.zeros(len(df))
    df["limit"] = limits(optimizer, beta, df["lambda_max"].to_numpy(float))
    for lib in ("lr_finder", "fastai"):
        df[f"ratio_{lib}"] = df[f"cliff_{lib}"] / df["limit"]
    cols = ["cliff_lr_finder", "cliff_fastai", "ratio_lr_finder", "ratio_fastai", *RULES]
    keys = [c for c in by if c in df]
    rows = []
    for key, g in _groups(df, keys):
        row = dict(zip(keys, key, strict=True))
        row["limit"] = float(g["limit"].iloc[0])
        row["lambda_max"] = float(g["lambda_max"].iloc[0])
        if "lambda_min" in g:
            row["lambda_min"] = float(g["lambda_min"].iloc[0])
        row["seeds"] = len(g)
        for c in cols:
            row[c] = _q(g[c], 0.5)
            row[f"{c}_lo"], row[f"{c}_hi"] = _q(g[c], spread[0]), _q(g[c], spread[1])
        rows.append(row)
    return pd.DataFrame(rows)


def curves(traj, eta, loss, every, summary, by, convention="fastai", spread=SPREAD, **params):
    """The smoothed range-test curves per group (as ``summarise``): a list of dicts with
    the group's ``key`` (dict of the ``by`` columns), ``eta`` (m,) (the seeds share the
    schedule), ``median``, ``lo``, ``hi`` (m,) over the seeds (+inf once a seed's loss
    diverged, NaN where no seed has data), ``raw`` (m,) (the first seed's unsmoothed
    loss) and ``seeds``. ``traj``, ``eta``, ``loss`` as ``table`` returns them."""
    s = smooth(loss, convention, every, **params)
    index = {int(t): i for i, t in enumerate(traj)}
    keys = [c for c in by if c in summary]
    out = []
    for key, g in _groups(summary[summary["traj"].isin(index)], keys):
        rows = [index[int(t)] for t in g["traj"]]
        block = s[rows]
        qs = [_column_quantile(block, q) for q in (0.5, *spread)]
        out.append({
            "key": dict(zip(keys, key, strict=True)), "eta": eta[rows[0]],
            "median": qs[0], "lo": qs[1], "hi": qs[2], "raw": loss[rows[0]],
            "seeds": len(rows),
        })  # fmt: skip
    return out


def cliff_table(summarised, keys):
    """A text table of the cliffs against theory, one line per group: the ``keys``
    columns, eta_max, each library's cliff / eta_max as median [lo, hi] over the seeds."""
    head = [*keys, "eta_max", "lr_finder cliff/eta_max", "fastai cliff/eta_max", "seeds"]
    lines = []
    for _, r in summarised.iterrows():
        cells = [f"{r[k]:g}" for k in keys] + [f"{r['limit']:.4g}"]
        for lib in ("lr_finder", "fastai"):
            c = f"ratio_{lib}"
            cells.append(f"{r[c]:.3f} [{r[c + '_lo']:.3f}, {r[c + '_hi']:.3f}]")
        cells.append(str(int(r["seeds"])))
        lines.append(cells)
    width = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:>{w}}}" for w in width)
    return "\n".join([fmt.format(*head)] + [fmt.format(*c) for c in lines])
