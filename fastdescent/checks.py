"""Every grid point of a quadratic sweep against the closed forms of ``fastdescent.theory``.

    import fastdescent
    from fastdescent.checks import check_sweep
    from fastdescent.store import read_manifest

    df = fastdescent.load(DIR)
    report = check_sweep(df, read_manifest(DIR)["spec"])   # or any DataFrame + spec dict
    report.ok, report["rate"].failed, report.table(), print(report.format())

Pure functions: nothing is read or written here (``scripts/check_theory.py`` does that).
The criteria are those of ``tests/test_engine_theory.py``, with rho = theory.rate(...):

1. ``divergence``: outside a band of +-``band`` around the stability limit (in
   eta / eta_max, i.e. in eta * lambda_max), a point theory calls stable must not be
   ``diverged``; a point theory calls unstable must be ``diverged`` when the predicted loss
   growth rho^(2 steps) exceeds stop.diverge * ``margin``, otherwise it is only counted
   (not decidable in ``steps``). For beta outside [0, 1) the band is where
   ``theory.stable`` changes between eta * (1 - band) and eta * (1 + band).
2. ``rate``: |log rate - log rho| / |log rho| <= ``tolerance_rate`` wherever rho is in
   [rho_min, rho_max], the point is outside the band and ran >= ``min_steps`` steps; a
   NaN rate there is a failure (error inf).
3. ``best``: per kappa (one group per lambda range), the best measured rate over the
   non-diverged rows vs (a) the best theoretical rate on the sweep's own grid (every grid
   point of the spec, so a missing row counts), within ``tolerance_rate`` in |log|, and
   (b) rho* of ``theory.optimal``, which the measured best must not beat by more than
   ``tolerance_rate`` of |log rho*|. best_grid / rho* is the gap the grid spacing
   explains. Groups whose grid best is outside [rho_min, rho_max] are skipped.

Theory uses the spectrum the run excites: an eigen-direction whose start coordinate is 0
stays exactly 0, so it is left out of (lambda_min, lambda_max); with the default start
(all ones) this is the results' lambda_min, lambda_max.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import theory

__all__ = ["CHECKS", "CheckError", "CheckReport", "CheckResult", "check_sweep", "theory_grid"]

CHECKS = {
    "divergence": "divergence verdict",
    "rate": "rate vs theory",
    "best": "best on grid vs rho*",
    "stationary loss": "noisy: tail loss vs stationary theory",
    "edge": "adaptive: edge of stability",
}


MIN_SEEDS = 8  # noisy grid points need this many seeds for a standard error to mean much


class CheckError(ValueError):
    """Data that cannot be checked (not a quadratic sweep, rows not of this spec): a user error."""


@dataclass
class CheckResult:
    """One check: counts, the errors of the checked items, the worst items."""

    name: str
    checked: int
    passed: int
    failed: int
    skipped: int
    errors: np.ndarray  # relative |log| error per checked item (inf: no estimate); may be empty
    worst: pd.DataFrame  # the failed items first, then the largest errors
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return CHECKS[self.name]

    @property
    def ok(self) -> bool:
        return self.failed == 0

    @property
    def max_error(self) -> float:
        return float(self.errors.max()) if self.errors.size else float("nan")

    @property
    def p99_error(self) -> float:
        if not self.errors.size:
            return float("nan")
        return float(np.percentile(self.errors, 99, method="higher"))


@dataclass
class CheckReport:
    """All checks of one sweep; ``ok`` when none failed."""

    header: list[str]
    results: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def __getitem__(self, name: str) -> CheckResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def table(self) -> pd.DataFrame:
        """One row per check: checked, passed, failed, skipped, max_error, p99_error, ok."""
        cols = ("checked", "passed", "failed", "skipped", "max_error", "p99_error", "ok")
        rows = {r.name: [getattr(r, c) for c in cols] for r in self.results}
        return pd.DataFrame.from_dict(rows, orient="index", columns=list(cols))

    def format(self) -> str:
        """The readable report: header, summary table, each check's notes and worst points."""
        out = [*self.header, ""]
        out.append(
            f"{'check':<26}{'checked':>11}{'passed':>11}{'failed':>9}{'skipped':>11}"
            f"{'max err':>10}{'p99 err':>10}  verdict"
        )
        for i, r in enumerate(self.results, 1):
            out.append(
                f"{f'{i} {r.title}':<26}{r.checked:>11,}{r.passed:>11,}{r.failed:>9,}"
                f"{r.skipped:>11,}{_num(r.max_error):>10}{_num(r.p99_error):>10}  "
                f"{'PASS' if r.ok else 'FAIL'}"
            )
        for i, r in enumerate(self.results, 1):
            out += ["", f"{i} {r.title}: {'PASS' if r.ok else 'FAIL'}"]
            out += [f"  {n}" for n in r.notes]
            if len(r.worst):
                text = r.worst.to_string(index=False, formatters=_formatters(r.worst))
                out += ["  " + line for line in text.splitlines()]
        failed = [r.title for r in self.results if not r.ok]
        out += ["", "PASS" if self.ok else f"FAIL: {', '.join(failed)}"]
        return "\n".join(out)


def _num(x) -> str:
    if isinstance(x, str):
        return x
    return "-" if np.isnan(x) else "inf" if np.isinf(x) else f"{x:.2e}"


# columns shown with 6 significant digits (the rest of the float columns as 1.23e-04)
_PLAIN = ("measured", "theory", "rho*", "gap", "eta/limit")
_PLAIN += ("eta", "x0", "y0", "x_final", "y_final", "limit", "first", "last", "gone")
_PLAIN += ("checked_to", "allowed", "near_last")


def _formatters(df: pd.DataFrame) -> dict:
    fmt = {"traj": str, "lr": "{:.5g}".format, "beta": "{:.4g}".format, "kappa": "{:.5g}".format}
    for c in df.columns:
        if c not in fmt and df[c].dtype.kind == "f":
            fmt[c] = "{:.6g}".format if c in _PLAIN else _num
    return fmt


def _parse(spec):
    from .spec import SpecError, parse_spec

    problem = spec.get("problem") if isinstance(spec, dict) else getattr(spec, "problem", None)
    if problem != "quadratic":
        raise CheckError(f"problem {problem!r}: theory covers only 'quadratic' sweeps")
    try:
        with warnings.catch_warnings():  # beta outside [0, 1) warns; theory covers it
            warnings.simplefilter("ignore")
            spec = parse_spec(spec)
    except SpecError as exc:
        raise CheckError(f"invalid spec: {exc}") from None
    return spec


def theory_grid(spec, band: float = 0.02) -> pd.DataFrame:
    """Theory at every grid point of ``spec``, one row per traj (in traj order).

    Columns: traj, the axes, group (kappa index), eta, lambda_min, lambda_max (excited
    spectrum), rho, stable, limit_ratio (eta / stability limit; NaN for beta outside
    [0, 1)), away (outside the +-band around the stability limit).
    """
    from .problems import get_problem

    spec = _parse(spec)
    quadratic, params = get_problem("quadratic"), spec.problem_params
    kappa = spec.axis_values("kappa") if "kappa" in spec.axes else None
    excited = np.asarray(params["start"], dtype=np.float64) != 0
    if not excited.any():
        raise CheckError("problem_params.start is the minimum (all zeros): nothing to check")
    lam = quadratic.eigenvalues(kappa, params)[:, excited]
    nominal_max = quadratic.lambda_range(kappa, params)[1]
    cols = spec.coordinates(0, spec.size)
    group = spec.decode(cols["traj"])["kappa"] if kappa is not None else np.zeros_like(cols["traj"])
    lr = cols["lr"]
    eta = lr / nominal_max[group] if spec.axes["lr"].get("relative_to") else lr
    beta = cols.get("beta", np.zeros_like(lr))
    opt, ob = spec.optimizer, (None if spec.optimizer == "gd" else beta)
    lmin, lmax = lam.min(axis=1)[group], lam.max(axis=1)[group]
    stable = theory.stable(opt, eta, ob, lmin, lmax)
    inside = (beta >= 0) & (beta < 1)
    limit = theory.stability_limit(opt, np.where(inside, beta, 0.0), lmax)
    ratio = np.where(inside, eta / limit, np.nan)
    shaken = [theory.stable(opt, eta * (1 + s), ob, lmin, lmax) for s in (-band, band)]
    away_out = (shaken[0] == stable) & (shaken[1] == stable)
    away = np.where(inside, np.abs(ratio - 1.0) >= band, away_out)
    out = pd.DataFrame(cols)
    out["group"] = group
    out["eta"], out["lambda_min"], out["lambda_max"] = eta, lmin, lmax
    out["rho"] = theory.rate(opt, eta, ob, lmin, lmax)
    out["stable"], out["limit_ratio"], out["away"] = stable, ratio, away
    return out


def _log_error(measured, expected):
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(np.log(measured) - np.log(expected)) / np.abs(np.log(expected))
    return np.where(np.isnan(err), np.inf, err)


def _points(rows: pd.DataFrame, axes, sel, measured, theory_, extra=None) -> pd.DataFrame:
    cols = {"traj": rows["traj"].to_numpy()[sel]}
    cols.update({a: rows[a].to_numpy()[sel] for a in axes})
    cols["measured"], cols["theory"] = measured, theory_
    return pd.DataFrame({**cols, **(extra or {})})


def _check_divergence(rows, axes, steps, diverge, margin, worst) -> CheckResult:
    diverged = (rows["status"] == "diverged").to_numpy()
    stable, away, rho = (rows[c].to_numpy() for c in ("stable", "away", "rho"))
    with np.errstate(divide="ignore", over="ignore"):
        decidable = 2 * steps * np.log(rho) > np.log(diverge * margin)
    must_not, must = stable & away, ~stable & away & decidable
    undecidable = ~stable & away & ~decidable
    bad = (must_not & diverged) | (must & ~diverged)
    checked, failed = int(must_not.sum() + must.sum()), int(bad.sum())
    dist = np.abs(rows["limit_ratio"].to_numpy() - 1.0)
    order = np.flatnonzero(bad)[np.argsort(-np.nan_to_num(dist[bad], nan=np.inf), kind="stable")]
    order = order[:worst]
    status = rows["status"].astype(str).to_numpy()[order]
    expected = np.where(stable[order], "stable", "unstable")
    extra = {"expected": expected, "eta/limit": rows["limit_ratio"].to_numpy()[order]}
    notes = [
        f"theory stable: {int(must_not.sum()):,} checked, "
        f"{int((must_not & diverged).sum()):,} diverged (must be 0)",
        f"theory unstable, growth rho^{2 * steps} > {diverge * margin:.0e}: "
        f"{int(must.sum()):,} checked, {int((must & ~diverged).sum()):,} not diverged (must be 0)",
        f"skipped: {int((~away).sum()):,} within the band; {int(undecidable.sum()):,} unstable "
        f"but not decidable in {steps} steps ({int((undecidable & diverged).sum()):,} diverged)",
    ]
    if failed:
        notes.append("failed points (farthest from the stability limit first):")
    worst_df = _points(rows, axes, order, status, rho[order], extra)
    return CheckResult(
        "divergence", checked, checked - failed, failed, len(rows) - checked, np.array([]),
        worst_df, notes,
    )  # fmt: skip


def _check_rate(rows, axes, s) -> CheckResult:
    rho, away = rows["rho"].to_numpy(), rows["away"].to_numpy()
    in_range = (rho >= s["rho_min"]) & (rho <= s["rho_max"])
    enough = rows["steps"].to_numpy() >= s["min_steps"]
    check = away & in_range & enough
    rate = rows["rate"].to_numpy()
    err = _log_error(rate[check], rho[check])
    bad = err > s["tolerance_rate"]
    idx = np.flatnonzero(check)
    order = np.argsort(-err, kind="stable")[: s["worst"]]
    worst_df = _points(rows, axes, idx[order], rate[idx[order]], rho[idx[order]])
    worst_df["error"] = err[order]
    notes = [
        f"error = |log rate - log rho| / |log rho|, tolerance {s['tolerance_rate']:g}; "
        f"{int(np.isnan(rate[check]).sum()):,} checked points without a rate (error inf)",
        f"skipped: {int((~away).sum()):,} within the band; {int((away & ~in_range).sum()):,} with "
        f"rho outside [{s['rho_min']:g}, {s['rho_max']:g}]; "
        f"{int((away & in_range & ~enough).sum()):,} with steps < {s['min_steps']}",
    ]
    if len(worst_df):
        notes.append("worst points:")
    n, failed = int(check.sum()), int(bad.sum())
    return CheckResult("rate", n, n - failed, failed, len(rows) - n, err, worst_df, notes)


def _check_stationary(noisy, parsed, band, tol, worst) -> CheckResult:
    """Noisy rows: the tail excess loss, averaged over the seeds of each grid point,
    against theory.stationary_loss (the exact discrete stationary loss)."""
    from .problems import get_problem

    problem, params = get_problem("quadratic"), parsed.problem_params
    keys = [a for a in ("lr", "beta", "kappa", "sigma") if a in parsed.axes]
    rel = parsed.axes["lr"].get("relative_to") == "lambda_max"
    tail = parsed.metrics["tail"]
    rows = []
    for key, g in noisy.groupby(keys, sort=True):
        point = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        kappa = np.array([point.get("kappa", 1.0)])
        lam = problem.eigenvalues(kappa if "kappa" in parsed.axes else None, params)[0]
        lam_min, lam_max = lam.min(), lam.max()
        eta = point["lr"] / lam_max if rel else point["lr"]
        beta = point.get("beta", 0.0) if parsed.optimizer != "gd" else None
        want = float(theory.stationary_loss(parsed.optimizer, eta, beta, lam, point["sigma"]))
        b = 0.0 if beta is None else beta
        limit = float(theory.stability_limit(parsed.optimizer, b, lam_max))
        rho = float(theory.rate(parsed.optimizer, eta, beta, lam_min, lam_max))
        before_tail = parsed.steps - math.ceil(tail * parsed.steps)
        n = len(g)
        measured = g["loss_tail_mean"].mean()
        se = g["loss_tail_mean"].std(ddof=1) / math.sqrt(n) if n > 1 else math.inf
        ok_point = (
            math.isfinite(want) and want > 0 and eta < (1 - band) * limit
            and (g["status"] == "max_steps").all() and n >= MIN_SEEDS
            and rho**before_tail <= 1e-6  # the start's transient is gone before the tail
        )  # fmt: skip
        rows.append({
            **point, "eta": eta, "seeds": n, "measured": measured, "theory": want,
            "ratio": measured / want if want else math.nan, "3se": 3 * se / want if want else
            math.inf, "check": ok_point,
        })  # fmt: skip
    table = pd.DataFrame(rows)
    check = table["check"].to_numpy(dtype=bool) if len(table) else np.zeros(0, bool)
    err = np.abs(table["ratio"].to_numpy()[check] - 1.0) if len(table) else np.zeros(0)
    allowed = np.maximum(tol, table["3se"].to_numpy()[check]) if len(table) else np.zeros(0)
    bad = err > allowed
    shown = table[check].assign(error=err).drop(columns="check")
    shown = shown.iloc[np.argsort(-err, kind="stable")[:worst]]
    notes = [
        f"per grid point: the mean over seeds of loss_tail_mean vs the exact stationary loss; "
        f"error = |measured / theory - 1|, allowed max({tol:g}, 3 standard errors over seeds)",
        f"skipped: {int((~check).sum()):,} points (unstable or within {band:g} of the limit, "
        f"a run that did not go all its steps, fewer than {MIN_SEEDS} seeds, or a transient "
        "left at the tail)",
    ]
    if len(shown):
        notes.append("worst points:")
    n, failed = int(check.sum()), int(bad.sum())
    return CheckResult("stationary loss", n, n - failed, failed, len(table) - n, err, shown, notes)


def _check_best(rows, grid, axes, optimizer, s) -> CheckResult:
    tol = s["tolerance_rate"]
    gbest = grid.loc[grid.groupby("group")["rho"].idxmin()].set_index("group")
    # groups with no row at all (left out, e.g. rows whose schedule varies eta) are not
    # checked; a group whose rows all diverged is, and fails
    gbest = gbest[gbest.index.isin(rows["group"].unique())]
    ok_rows = rows[(rows["status"] != "diverged").to_numpy() & np.isfinite(rows["rate"])]
    mbest = ok_rows.loc[ok_rows.groupby("group")["rate"].idxmin()].set_index("group")
    mbest = mbest.reindex(gbest.index)
    grid_rho = gbest["rho"].to_numpy()
    rho_star = theory.optimal(optimizer, gbest["lambda_min"], gbest["lambda_max"])[2]
    rho_star = np.asarray(rho_star, dtype=np.float64)
    measured = mbest["rate"].to_numpy()
    check = (grid_rho >= s["rho_min"]) & (grid_rho <= s["rho_max"])
    err_grid = _log_error(measured, grid_rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        beat = (np.log(rho_star) - np.log(measured)) / np.abs(np.log(rho_star))
    beat = np.where(rho_star > 0, np.nan_to_num(beat, nan=0.0), 0.0)
    err = np.maximum(err_grid, beat)[check]
    bad = err > tol
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = grid_rho / rho_star
        slow = np.where(rho_star > 0, np.log(rho_star) / np.log(grid_rho), 1.0)
    cols = {"traj": mbest["traj"].to_numpy()}
    cols.update({a: mbest[a].to_numpy() for a in axes if a != "kappa"})
    cols["kappa"] = gbest["kappa"].to_numpy() if "kappa" in gbest else np.ones(len(gbest))
    cols.update(measured=measured, theory=grid_rho, **{"rho*": rho_star, "gap": gap})
    table = pd.DataFrame(cols)[check]
    table["traj"] = table["traj"].astype("Int64")
    table["error"] = err
    why = np.where(
        np.isnan(table["measured"]), "no non-diverged row",
        np.where(beat[check] > tol, "beats rho*", np.where(bad, "off grid best", "")),
    )  # fmt: skip
    if bad.any():
        table["why"] = why
    worst_df = table.iloc[np.argsort(-err, kind="stable")[: s["worst"]]]
    real = check & (rho_star > 0)  # rho* = 0 (kappa = 1): no finite gap
    notes = [
        f"per kappa: best measured rate of the non-diverged rows vs theory's best on the grid "
        f"(|log| within {tol:g}) and vs rho* (may not beat it by more than {tol:g} of |log rho*|)",
        f"skipped: {int((~check).sum()):,} kappa values whose grid best is outside "
        f"[{s['rho_min']:g}, {s['rho_max']:g}]",
    ]
    if real.any():
        i = int(np.argmax(np.where(real, gap, -np.inf)))
        notes.append(
            f"gap best_grid / rho* (the grid spacing's cost, rho* > 0): median "
            f"{np.median(gap[real]):.4g}, max {gap[i]:.4g} at kappa {cols['kappa'][i]:.5g}; "
            f"steps needed vs rho*'s (log rho* / log best_grid): max {np.max(slow[real]):.4g}"
        )
    if len(worst_df):
        notes.append("worst kappa values (traj, lr, beta: the measured best point):")
    n, failed = int(check.sum()), int(bad.sum())
    return CheckResult("best", n, n - failed, failed, int((~check).sum()), err, worst_df, notes)


def checked_traj(df, parsed) -> np.ndarray:
    """The results' traj ids (int64); CheckError if one lies outside the spec's grid or
    repeats (the rows are then not of this spec, or were merged twice)."""
    traj = df["traj"].to_numpy()
    if traj.size and (traj.min() < 0 or traj.max() >= parsed.size):
        raise CheckError(f"traj outside [0, {parsed.size}): the rows are not of this spec")
    if pd.Series(traj).duplicated().any():
        raise CheckError("duplicate traj ids in the results")
    return traj


def check_sweep(
    df: pd.DataFrame,
    spec,
    *,
    tolerance_rate: float = 0.02,
    band: float = 0.02,
    margin: float = 1e6,
    rho_min: float = 0.01,
    rho_max: float = 0.9999,
    min_steps: int = 4,
    worst: int = 5,
) -> CheckReport:
    """Check a results table (``fastdescent.load``) against theory; see the module docstring.

    ``df`` needs the columns traj, status, steps and rate (the axis and eta columns are
    taken from ``spec``; an eta column, when present, must match it). ``spec``: the
    normalised spec dict (``read_manifest(DIR)["spec"]``), a raw spec dict or a SweepSpec.
    Raises CheckError for a non-quadratic spec or rows that do not belong to it.
    """
    parsed = _parse(spec)
    df, schedule_note = constant_eta_rows(df, parsed.to_dict())
    missing = [c for c in ("traj", "status", "steps", "rate") if c not in df]
    if missing:
        raise CheckError(f"results lack the column(s) {', '.join(missing)}")
    n_noisy, noisy_rows = 0, None
    if "sigma" in parsed.axes and "sigma" in df:
        # rates and divergence boundaries are noiseless theory: checked on the sigma = 0
        # rows; the noisy ones against the stationary loss
        noisy = df["sigma"].to_numpy() > 0
        n_noisy = int(noisy.sum())
        noisy_rows = df[noisy]
        df = df[~noisy]
    traj = checked_traj(df, parsed)
    grid = theory_grid(parsed, band)
    rows = grid.iloc[traj].reset_index(drop=True)
    if "eta" in df and not np.allclose(df["eta"].to_numpy(), rows["eta"], rtol=1e-12, atol=0):
        raise CheckError("the eta column does not match the spec: the rows are not of this spec")
    for c in ("status", "steps", "rate"):
        rows[c] = df[c].to_numpy()
    axes = [a for a in ("lr", "beta", "kappa") if a in parsed.axes]
    s = dict(tolerance_rate=tolerance_rate, rho_min=rho_min, rho_max=rho_max)
    s.update(min_steps=min_steps, worst=worst)
    stop = parsed.stop
    results = [
        _check_divergence(rows, axes, parsed.steps, stop["diverge"], margin, worst),
        _check_rate(rows, axes, s),
    ]
    if len(df) or not n_noisy:  # a sweep with only noisy rows has no best rate to check
        results.append(_check_best(rows, grid, axes, parsed.optimizer, s))
    if n_noisy:
        results.append(_check_stationary(noisy_rows, parsed, band, 0.02, worst))
    dims = " x ".join(f"{n} {a}" for a, n in zip(parsed.axis_names, parsed.shape, strict=True))
    pp = parsed.problem_params
    problem = f"dim {pp['dim']}, " + (
        "explicit lambdas" if "lambdas" in pp else f"{pp['spectrum']} spectrum"
    )
    header = [
        f"sweep {parsed.name}: {parsed.optimizer} on quadratic ({problem}), grid {dims}, "
        f"{parsed.steps} steps, stop.diverge {stop['diverge']:g}",
        f"rows {len(df) + n_noisy:,} of {parsed.size - df.attrs.get(UNCHECKED, 0):,}"
        + (
            f" ({n_noisy:,} of them with gradient noise, sigma > 0: checked against the "
            "stationary loss only)"
            if n_noisy
            else ""
        )
        + (
            ""
            if len(df) + n_noisy + df.attrs.get(UNCHECKED, 0) == parsed.size
            else f" ({parsed.size - len(df) - n_noisy - df.attrs.get(UNCHECKED, 0):,} grid "
            "points missing)"
        ),
        f"tolerances: rate {tolerance_rate:g} of |log rho| (rho in [{rho_min:g}, {rho_max:g}], "
        f"steps >= {min_steps}); band +-{band:g} around the stability limit; "
        f"must-diverge margin {margin:g}",
    ]
    if schedule_note:
        header.insert(1, schedule_note)
    return CheckReport(header, results)


def constant_eta_rows(df, spec: dict):
    """(the rows of ``df`` at constant eta, a note or None): theory's closed forms are
    for a constant step size, so rows whose schedule varies eta_t are left out (all of a
    sweep with one varying [schedule]); ``spec`` is the normalised spec dict. Every
    check_* function applies it first."""
    from .schedules import BUILTIN, factors

    tables = spec.get("schedules") or ({"": spec["schedule"]} if spec.get("schedule") else {})
    varying = [
        name for name, table in tables.items()
        if table != BUILTIN["constant"] and not (factors(table, spec["steps"]) == 1.0).all()
    ]  # fmt: skip
    if not varying:
        return df, None
    if "schedule" in df:
        keep = ~df["schedule"].astype(str).isin(varying)
    else:
        keep = df.index != df.index  # one [schedule] for every run
    left = int((~keep).sum())
    names = ", ".join(n or "the schedule" for n in varying)
    note = (
        f"schedules: {left:,} rows whose step size varies ({names}) are not checked: "
        "theory's closed forms are for constant eta"
    )
    out = df[keep]
    out.attrs[UNCHECKED] = left  # the headers count them as left out, not as missing
    return out, note


UNCHECKED = "fastdescent.unchecked_rows"
