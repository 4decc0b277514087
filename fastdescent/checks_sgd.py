"""A ``linreg`` sweep's results against the exact theory of mini-batch SGD
(``fastdescent.theory.minibatch``) and the full-batch stability limits.

    import fastdescent
    from fastdescent.checks_sgd import check_linreg
    from fastdescent.store import read_manifest

    report = check_linreg(fastdescent.load(DIR), read_manifest(DIR)["spec"])
    report.ok, report["stationary"].failed, print(report.format())

Pure functions like ``fastdescent.checks`` (whose report classes are reused);
``scripts/check_theory.py`` dispatches on the problem. Two checks:

1. ``stationary``: stochastic grid points (a mini-batch smaller than the data set, or
   sampling "replacement", or sigma > 0), seeds pooled: the mean over seeds of
   loss_tail_mean against the exact stationary excess loss,
   ``theory.stationary_excess_loss_minibatch`` ("subset", "replacement"; "epoch" by
   enumeration of the epoch's orderings when there are at most 20,000 of them, i.e. only
   for tiny n: otherwise the point is skipped, "no exact theory at this n"; a full batch
   with sigma > 0 is the noisy quadratic's ``theory.stationary_loss``). error =
   |measured / exact - 1|, allowed max(``tolerance`` = 3 %, 3 standard errors over seeds).
   Checked where the comparison means something:
   - >= 8 seeds, none diverged or converged (every run went all its steps);
   - eta below (1 - ``edge_band``) = 0.9 times the mean-square stability edge eta_max(B)
     (``analysis_sgd.ms_edge``). Near that edge the multiplicative batch noise gives the
     stationary law power-law tails (the loss's variance diverges before its mean does),
     so a finite tail's mean is dominated by rare excursions and its standard error is
     itself unreliable: measured 0.73 +- 0.17 of theory at 2 % below the edge (B = 4 in
     scripts/sweeps/batch_size.toml), within 1 % everywhere below 0.9 of it;
   - the run covers the relaxation time: with r the per-step mean-square radius
     (``theory.ms_radius``; per epoch ** (1/m) for "epoch"), the transient left when the
     tail begins, r^before (excess0 + exact), is at most 1e-3 of exact (``before`` = steps
     - ceil(tail steps), excess0 the start's excess loss). This is the continuous-time
     criterion steps * eta * lambda_min (1 - beta)^-1 >~ log(excess0 / exact) / (1 - tail)
     made exact for the discrete iteration, including the slowing near the edge.
   The rest are counted as skipped, by reason.
2. ``full batch``: deterministic rows (full batch -- no batch_size axis, or B = n with
   "epoch" / "subset" -- and sigma = 0) against the full-batch stability limit
   (``theory.stable``, ``theory.rate`` with the spectrum of H in [lambda_min, lambda_max]):
   outside +-``band`` around the limit, a stable point must not be ``diverged``, and
   must be ``converged`` when rho^(2 steps) <= stop.tol / ``margin`` (it reaches the
   tolerance within its steps with a margin); an unstable point must be ``diverged``
   when rho^(2 steps) > stop.diverge * ``margin``. Other points are counted, not checked.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import analysis_sgd, theory
from .checks import CheckError, CheckReport, CheckResult, checked_traj, constant_eta_rows

__all__ = ["SGD_CHECKS", "check_linreg"]

SGD_CHECKS = {
    "stationary": "SGD tail loss vs theory",
    "full batch": "full batch vs limit",
}


@dataclass
class SGDCheckResult(CheckResult):
    """A CheckResult whose title comes from SGD_CHECKS."""

    @property
    def title(self) -> str:
        return SGD_CHECKS[self.name]


def _parse(spec):
    from .spec import SpecError, parse_spec

    problem = spec.get("problem") if isinstance(spec, dict) else getattr(spec, "problem", None)
    if problem != "linreg":
        raise CheckError(f"problem {problem!r}: these checks cover 'linreg' sweeps")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = parse_spec(spec)
    except SpecError as exc:
        raise CheckError(f"invalid spec: {exc}") from None
    return parsed


def _point_axes(parsed):
    return [a for a in ("lr", "beta", "kappa", "sigma", "batch_size") if a in parsed.axes]


def _check_stationary(cells, spec, parsed, tolerance, edge_band, worst):
    opt = parsed.optimizer
    sampling = parsed.problem_params["sampling"]
    stoch = cells[cells["stochastic"]].copy()
    reasons = {
        "a seed diverged or converged": (stoch["diverged"] > 0) | (stoch["converged"] > 0),
        "fewer than 8 seeds": stoch["ok"] < analysis_sgd.MIN_SEEDS,
        "no exact theory at this n (epoch)": stoch["exact"].isna(),
        "beyond the mean-square edge": np.isinf(stoch["exact"]),
    }
    left = ~np.logical_or.reduce([r.to_numpy() for r in reasons.values()]) if len(stoch) else []
    near = np.zeros(len(stoch), dtype=bool)
    edges = {}
    for i, row in enumerate(stoch.itertuples(index=False)):
        if not left[i]:
            continue
        key = (row.kappa, row.beta, row.batch_size)
        if key not in edges:
            ds = analysis_sgd.linreg_dataset(spec, None if np.isnan(row.kappa) else row.kappa)
            beta = None if opt == "gd" else row.beta
            edges[key] = analysis_sgd.ms_edge(ds, row.batch_size, opt, sampling, beta)[0]
        near[i] = not row.eta < (1.0 - edge_band) * edges[key]
    stoch["edge_eta"] = [
        edges.get((r.kappa, r.beta, r.batch_size), np.nan) for r in stoch.itertuples()
    ]
    reasons[f"within {edge_band:g} of the mean-square edge (heavy tails)"] = pd.Series(
        near, index=stoch.index
    )
    reasons["transient left at the tail (run shorter than the relaxation time)"] = ~stoch["relaxed"]
    check = np.ones(len(stoch), dtype=bool)
    notes_skip = []
    for why, mask in reasons.items():
        m = mask.to_numpy(dtype=bool) & check
        if m.any():
            notes_skip.append(f"{int(m.sum()):,} {why}")
        check &= ~m
    rows = stoch[check]
    err = np.abs(rows["ratio"].to_numpy() - 1.0)
    allowed = np.maximum(tolerance, 3.0 * rows["ratio_se"].to_numpy())
    bad = err > allowed
    axes = [a for a in _point_axes(parsed) if a in ("lr", "beta", "kappa", "sigma", "batch_size")]
    shown = rows[[*axes, "eta", "ok", "measured", "exact", "ratio"]].rename(columns={"ok": "seeds"})
    shown = shown.assign(**{"3se": 3.0 * rows["ratio_se"].to_numpy(), "error": err})
    order = np.lexsort((-err, ~bad))[:worst]
    shown = shown.iloc[order]
    law = {
        "subset": "stationary_excess_loss_minibatch (subset)",
        "replacement": "stationary_excess_loss_minibatch (replacement)",
        "epoch": "stationary_excess_loss_epoch (enumerated orderings)",
    }[sampling]
    notes = [
        f"per grid point: the mean over seeds of loss_tail_mean vs theory.{law}; error = "
        f"|measured / exact - 1|, allowed max({tolerance:g}, 3 standard errors over seeds)",
        "skipped: " + ("; ".join(notes_skip) if notes_skip else "none"),
    ]
    if len(shown):
        notes.append(
            "failed points first, then the largest errors:" if bad.any() else "worst points:"
        )
    n, failed = int(check.sum()), int(bad.sum())
    return SGDCheckResult(
        "stationary",
        n,
        n - failed,
        failed,
        len(stoch) - n,
        err,
        shown.reset_index(drop=True),
        notes,
    )


def _check_full_batch(df, parsed, band, margin, worst):
    opt, params = parsed.optimizer, parsed.problem_params
    n, sampling = params["n"], params["sampling"]
    B = df["batch_size"].to_numpy() if "batch_size" in df else np.full(len(df), n)
    sigma = df["sigma"].to_numpy() if "sigma" in df else np.zeros(len(df))
    det = analysis_sgd.full_batch(sampling, B, n) & (sigma == 0)
    rows = df[det]
    total = len(rows)
    if not total:
        notes = ["no deterministic rows (full batch and sigma = 0) in this sweep"]
        return SGDCheckResult("full batch", 0, 0, 0, 0, np.zeros(0), pd.DataFrame(), notes)
    eta = rows["eta"].to_numpy()
    beta = rows["beta"].to_numpy() if "beta" in rows else np.zeros(total)
    ob = None if opt == "gd" else beta
    lmin, lmax = rows["lambda_min"].to_numpy(), rows["lambda_max"].to_numpy()
    stable = theory.stable(opt, eta, ob, lmin, lmax)
    shaken = [theory.stable(opt, eta * (1 + s), ob, lmin, lmax) for s in (-band, band)]
    away = (shaken[0] == stable) & (shaken[1] == stable)
    rho = np.asarray(theory.rate(opt, eta, ob, lmin, lmax), dtype=np.float64)
    steps, stop = parsed.steps, parsed.stop
    with np.errstate(divide="ignore", over="ignore"):
        growth = 2 * steps * np.log(rho)
    status = rows["status"].astype(str).to_numpy()
    with np.errstate(divide="ignore"):  # tol = 0 (allowed): log 0 = -inf, none must
        must_converge = stable & away & (growth <= np.log(stop["tol"] / margin))
    must_not_diverge = stable & away
    must_diverge = ~stable & away & (growth > math.log(stop["diverge"] * margin))
    bad = (
        (must_not_diverge & (status == "diverged"))
        | (must_converge & (status != "converged"))
        | (must_diverge & (status != "diverged"))
    )
    checked = must_not_diverge | must_diverge
    limit = theory.stability_limit(opt, np.where((beta >= 0) & (beta < 1), beta, 0.0), lmax)
    ratio = eta / limit
    axes = [a for a in ("lr", "beta", "kappa") if a in rows]
    table = rows[["traj", *axes]].assign(
        eta=eta, status=status, expected=np.where(stable, "stable", "unstable"),
        **{"eta/limit": ratio, "rho": rho},
    )  # fmt: skip
    table = table[bad].iloc[:worst].reset_index(drop=True)
    notes = [
        f"theory stable ({int(must_not_diverge.sum()):,} outside the band): "
        f"{int((must_not_diverge & (status == 'diverged')).sum()):,} diverged (must be 0); "
        f"{int(must_converge.sum()):,} must converge within {steps} steps (rho^{2 * steps} <= "
        f"tol / {margin:g}), {int((must_converge & (status != 'converged')).sum()):,} did not",
        f"theory unstable, rho^{2 * steps} > diverge x {margin:g}: {int(must_diverge.sum()):,} "
        f"checked, {int((must_diverge & (status != 'diverged')).sum()):,} not diverged (must be 0)",
        f"skipped: {int((~away).sum()):,} within +-{band:g} of the limit; "
        f"{int((~stable & away & ~must_diverge).sum()):,} unstable but not decidable in "
        f"{steps} steps",
    ]
    if len(table):
        notes.append("failed rows:")
    c, f = int(checked.sum()), int(bad.sum())
    return SGDCheckResult("full batch", c, c - f, f, total - c, np.zeros(0), table, notes)


def check_linreg(
    df: pd.DataFrame,
    spec,
    *,
    tolerance: float = 0.03,
    band: float = 0.02,
    edge_band: float = 0.1,
    margin: float = 1e3,
    worst: int = 5,
    tolerance_rate: float | None = None,
) -> CheckReport:
    """Check a linreg results table (``fastdescent.load``) against theory; see the module
    docstring. ``df`` needs traj, lr, eta, lambda_min, lambda_max, status, loss0, loss_min
    and loss_tail_mean (for stochastic sweeps) and the axis columns. ``spec``: a normalised
    spec dict, a raw one or a SweepSpec. ``tolerance_rate`` is accepted for the command
    line's sake and unused (linreg has no rate check). Raises CheckError for a spec that is
    not linreg or rows that do not belong to it."""
    del tolerance_rate
    parsed = _parse(spec)
    df, schedule_note = constant_eta_rows(df, parsed.to_dict())
    need = ["traj", "status", "eta", "lambda_min", "lambda_max", "loss0", "loss_min"]
    stochastic = "sigma" in parsed.axes or "batch_size" in parsed.axes
    if stochastic:
        need.append("loss_tail_mean")
    missing = [c for c in need + _point_axes(parsed) if c not in df]
    if missing:
        raise CheckError(f"results lack the column(s) {', '.join(missing)}")
    checked_traj(df, parsed)
    norm = parsed.to_dict()
    results = []
    if stochastic:
        cells = analysis_sgd.batch_cells(df, norm)
        results.append(_check_stationary(cells, norm, parsed, tolerance, edge_band, worst))
    results.append(_check_full_batch(df, parsed, band, margin, worst))
    pp = parsed.problem_params
    dims = " x ".join(f"{k} {a}" for a, k in zip(parsed.axis_names, parsed.shape, strict=True))
    header = [
        f"sweep {parsed.name}: {parsed.optimizer} on linreg (n {pp['n']}, dim {pp['dim']}, "
        f"{pp['spectrum']} spectrum, noise {pp['noise']:g}, sampling {pp['sampling']}), "
        f"grid {dims}, {parsed.steps} steps",
        f"rows {len(df):,} of {parsed.size:,}",
        f"tolerances: stationary loss max({tolerance:g}, 3 s.e.) below {1 - edge_band:g} x the "
        f"mean-square edge; full batch: band +-{band:g} around the limit, margin {margin:g}",
    ]
    if schedule_note:
        header.insert(1, schedule_note)
    return CheckReport(header, results)
