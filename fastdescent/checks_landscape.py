"""A landscape sweep's results against local theory (``fastdescent.theory.local``).

    import fastdescent
    from fastdescent.checks_landscape import check_landscape
    from fastdescent.store import read_manifest

    report = check_landscape(fastdescent.load(DIR), read_manifest(DIR)["spec"])
    report.ok, report["rate"].failed, print(report.format())

A sweep with a sigma axis (gradient noise) is checked on its sigma = 0 rows only; the
report says how many noisy rows it left out.

Pure functions, like ``fastdescent.checks`` (the quadratic checks), whose report classes
are reused; ``scripts/check_theory.py`` dispatches on the problem. The checks, with
m_k the listed minima, lam their Hessian eigenvalues and L_k(beta) their local stability
limits of eta (``theory.local_stability_limit``):

1. ``endpoints``: every converged run ends at a listed critical point. basin k >= 0:
   |w_final - m_k| <= 2 * grad_tol / lam_min(m_k) + 1e-12 * (1 + |m_k|) (near m_k,
   |grad f(w)| >= lam_min |w - m_k| to first order; the donut: the distance to its
   circle); error = distance / that tolerance. basin -1: the run is not within
   BASIN_DISTANCE (1e-3, the kernel's) of a listed minimum (it would be misclassified)
   and is within max(1e-3, 2 * grad_tol / min |lam|) of a listed saddle or maximum
   (degenerate points: max(1e-3, sqrt(grad_tol))). A basin outside [-1, m) fails, and so
   does a basin other than -1 on a run that did not converge.
2. ``rate``: converged runs with basin k >= 0 and a finite rate: |log rate - log rho| /
   |log rho| <= ``tolerance_rate`` with rho = theory.local_rate at m_k (its slowest
   curved direction). The kernel fits the rate along each Hessian eigenvector over the
   directions whose window is above the rounding floor, so a run whose slowest direction
   was never excited (a start on a line the dynamics keep, e.g. through a well's centre)
   measures the other direction's rate: that passes too when it matches it within the
   tolerance, and is counted. Checked only where the fit means what theory says:
   eta <= limit x (1 - band) (near the limit |log rho| -> 0 magnifies rounding), rho in
   [rho_min, rho_max], and enough equations in the fit: the kernel fits the states with
   1e-12 s <= |w - w*| <= 1e-6 s (``kernels.lanes``: LINEAR_FLOOR, LINEAR), of which
   there are about log(LINEAR / LINEAR_FLOOR) / -log rho (a fast run crosses the band
   in a few steps), at most T - P + 1 + B; fewer than ``equations`` (30, i.e. rho below
   about 0.63) are counted, not checked: there the fit is good to about 1e-2, not 2e-3.
   Skipped: NaN rates (too few steps to fit, e.g. a start at the minimum).
3. ``vanishing``: per minimum k and momentum beta (in [0, 1)), the basin vanishes at
   L_k(beta): (a) no run with eta > L_k (1 + band) converges to m_k; (b) where the start
   grid has points within one grid cell of m_k, runs from them still reach m_k at the
   largest grid eta in [the first eta at which they reach it, L_k (1 - band)] at which
   theory says a run can converge within ``steps`` (rho^steps <= ``decidable``): the basin
   does not vanish before the limit. (Far from m_k the global dynamics may lose it
   earlier: the quartic from x0 = 4 diverges from eta = 0.058 on, its limit being 0.099.)
   Runs that start exactly at m_k (steps = 0) are left out: an unstable fixed point keeps
   a start placed on it. error = the largest eta reaching m_k / L_k.
4. ``symmetry``: for a landscape with a symmetry S (multimodal: (x, y) -> (x, -y);
   camel: (x, y) -> (-x, -y)) on a start grid that S maps to itself, the minima m_k and
   m_k' = S(m_k) have basins of equal area in every panel (eta, beta), within the grid's
   resolution: |n_k - n_k'| <= (b_k + b_k') / 2, n the grid points of each basin and b
   those of them on a basin boundary (a 4-neighbour with another outcome).
   error = |n_k - n_k'| / number of grid points. Skipped where there is no symmetry.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import analysis_landscape as al
from . import theory
from .checks import CheckError, CheckReport, CheckResult, checked_traj, constant_eta_rows
from .metrics import BLOCK

__all__ = ["LANDSCAPE_CHECKS", "SYMMETRIES", "check_landscape", "symmetric_pairs"]

LANDSCAPE_CHECKS = {
    "endpoints": "converged runs end at",
    "rate": "local rate vs theory",
    "vanishing": "basins vanish at limit",
    "symmetry": "symmetric basin areas",
    "escape": "noisy escape time vs theory",
}
MIN_SEEDS = 8  # noisy grid points need this many seeds for a standard error
BASIN_DISTANCE = 1e-3  # as kernels.lanes.BASIN_DISTANCE (not imported: no kernel import)


@dataclass(frozen=True)
class Symmetry:
    """An isometry S of a landscape: f(S(w)) = f(w), applied to arrays ``image(x, y)``;
    ``axes``: the start coordinates S negates (the start grid must be symmetric in them)."""

    text: str
    axes: tuple[str, ...]

    def image(self, x, y):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        return (-x if "x0" in self.axes else x), (-y if "y0" in self.axes else y)


SYMMETRIES = {
    "multimodal": Symmetry("(x, y) -> (x, -y)", ("y0",)),
    "camel": Symmetry("(x, y) -> (-x, -y)", ("x0", "y0")),
}


@dataclass
class LandscapeCheckResult(CheckResult):
    """A CheckResult whose title comes from LANDSCAPE_CHECKS."""

    @property
    def title(self) -> str:
        return LANDSCAPE_CHECKS[self.name]


def _result(name, checked, failed, skipped, errors, worst, notes):
    errors = np.asarray(errors, dtype=np.float64)
    return LandscapeCheckResult(
        name, checked, checked - failed, failed, skipped, errors, worst, notes
    )


def symmetric_pairs(info, symmetry) -> list[tuple[int, int]]:
    """Pairs (k, k'), k < k', of listed minima with S(m_k) = m_k' (to 1e-9)."""
    pairs = []
    for m in info.minima:
        sx, sy = symmetry.image(m.location[0], m.location[1])
        for other in info.minima:
            d = math.hypot(other.location[0] - sx, other.location[1] - sy)
            if other.index > m.index and d <= 1e-9 * (1.0 + math.hypot(*m.location)):
                pairs.append((m.index, other.index))
    return pairs


def _parse(spec):
    from .spec import SpecError, parse_spec

    problem = spec.get("problem") if isinstance(spec, dict) else getattr(spec, "problem", None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = parse_spec(spec)
    except SpecError as exc:
        raise CheckError(f"invalid spec: {exc}") from None
    try:
        info = al.problem_info(parsed.to_dict())
    except ValueError:
        raise CheckError(f"problem {problem!r} is not a landscape") from None
    return parsed, info


def _rows(df, parsed, info) -> pd.DataFrame:
    need = ["traj", "status", "steps", "rate", "basin", "x_final"]
    need += ["y_final"] if info.dim == 2 else []
    missing = [c for c in need if c not in df]
    if missing:
        raise CheckError(f"results lack the column(s) {', '.join(missing)}")
    traj = checked_traj(df, parsed)
    rows = pd.DataFrame({"traj": traj})
    for name, idx in parsed.decode(traj).items():
        if name != "seed":
            rows[name] = parsed.axis_take(name, idx)
    rows["eta"] = rows["lr"]
    if "eta" in df and not np.array_equal(df["eta"].to_numpy(), rows["eta"].to_numpy()):
        raise CheckError("the eta column does not match the spec: the rows are not of this spec")
    if "beta" not in rows:
        rows["beta"] = 0.0
    start = parsed.problem_params["start"]
    for i, axis in enumerate(("x0", "y0")[: info.dim]):
        if axis not in rows:
            rows[axis] = float(start[i])
    for c in ("status", "steps", "rate", "basin", "x_final"):
        rows[c] = df[c].to_numpy()
    rows["status"] = rows["status"].astype(str)
    rows["y_final"] = df["y_final"].to_numpy() if info.dim == 2 else 0.0
    return rows


def _axes(parsed):
    return [a for a in ("lr", "beta", "x0", "y0") if a in parsed.axes]


def _table(rows, sel, axes, **extra) -> pd.DataFrame:
    out = {"traj": rows["traj"].to_numpy()[sel]}
    out.update({a: rows[a].to_numpy()[sel] for a in axes})
    out.update(extra)
    return pd.DataFrame(out)


# ---------------------------------------------------------------- 1 endpoints


def _critical_tolerance(p, grad_tol):
    lam = np.abs(np.asarray(p.eigenvalues, dtype=np.float64))
    if p.kind == "degenerate" or lam.min() <= 1e-9 * max(1.0, lam.max()):
        return max(BASIN_DISTANCE, math.sqrt(grad_tol))
    return max(BASIN_DISTANCE, 2.0 * grad_tol / lam.min())


def _distance_to_minimum(m, x, y):
    if m.kind == "circle":  # the donut: every point at distance |m| from the origin
        return np.abs(np.hypot(x, y) - math.hypot(*m.location))
    mx, my = (*m.location, 0.0)[:2]
    return np.hypot(x - mx, y - my)


def _check_endpoints(rows, info, grad_tol, axes, worst) -> CheckResult:
    conv = (rows["status"] == "converged").to_numpy()
    basin = rows["basin"].to_numpy().astype(np.int64)
    x, y = rows["x_final"].to_numpy(), rows["y_final"].to_numpy()
    n_min = len(info.minima)
    err = np.full(len(rows), np.nan)
    why = np.full(len(rows), "", dtype=object)
    for m in info.minima:
        at = conv & (basin == m.index)
        tol = 2.0 * grad_tol / m.lambda_min + 1e-12 * (1.0 + math.hypot(*m.location))
        err[at] = _distance_to_minimum(m, x[at], y[at]) / tol
        why[at & (err > 1)] = f"too far from minimum {m.index}"
    bad_index = conv & ((basin < -1) | (basin >= n_min))
    err[bad_index], why[bad_index] = np.inf, "basin not a listed index"
    rest = np.flatnonzero(conv & (basin == -1))
    near_min = np.zeros(len(rest), dtype=bool)
    for m in info.minima:
        near_min |= _distance_to_minimum(m, x[rest], y[rest]) <= BASIN_DISTANCE
    near_other = np.zeros(len(rest), dtype=bool)
    counts = {}
    for p in info.others:
        px, py = (*p.location, 0.0)[:2]
        here = np.hypot(x[rest] - px, y[rest] - py) <= _critical_tolerance(p, grad_tol)
        counts[p.kind] = counts.get(p.kind, 0) + int((here & ~near_other).sum())
        near_other |= here
    err[rest] = np.where(near_min | ~near_other, np.inf, 0.0)
    why[rest[near_min]] = "at a minimum, basin -1"
    why[rest[~near_min & ~near_other]] = "at no listed critical point"
    stray = ~conv & (basin != -1)  # only a converged run has a basin
    err[stray], why[stray] = np.inf, "basin set on a run that did not converge"
    checked = conv | stray
    bad = checked & (err > 1.0)
    order = np.flatnonzero(checked)
    order = order[np.argsort(-err[order], kind="stable")][:worst]
    table = _table(
        rows, order, axes, basin=basin[order], x_final=x[order],
        **({"y_final": y[order]} if info.dim == 2 else {}), error=err[order],
    )  # fmt: skip
    if bad.any():
        table["why"] = why[order]
    reached = sorted({int(b) for b in basin[conv & (basin >= 0)]})
    notes = [
        "basin k >= 0: error = |w_final - m_k| / (2 grad_tol / lam_min(m_k) + 1e-12 (1 + |m_k|)) "
        "<= 1; basin -1: within reach of a listed saddle / maximum and not of a minimum",
        f"converged {int(conv.sum()):,}: at listed minima {int((conv & (basin >= 0)).sum()):,}"
        f" (minima reached: {', '.join(map(str, reached)) or 'none'} of {n_min}); basin -1 "
        f"{len(rest):,}"
        + "".join(f", at a {kind} {n:,}" for kind, n in sorted(counts.items()) if n),
        f"skipped: {int((~checked).sum()):,} runs that did not converge (basin -1)",
    ]
    if len(table):
        notes.append("worst runs:")
    n, failed = int(checked.sum()), int(bad.sum())
    errors = err[checked & (basin >= 0) & (basin < n_min)]
    return _result("endpoints", n, failed, len(rows) - n, errors, table, notes)


# ---------------------------------------------------------------- 2 rate


def _direction_rates(rows, info, optimizer):
    """Per row, theory at the minimum it reached (NaN where basin is not a listed index):
    (rho (n,): the local rate, rho_dir (n, 2): each curved direction's rate, NaN-padded,
    lam_min (n,), ratio (n,): eta / the local stability limit)."""
    n = len(rows)
    rho, ratio, lam_min = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    rho_dir = np.full((n, 2), np.nan)
    basin = rows["basin"].to_numpy()
    eta, beta = rows["eta"].to_numpy(), rows["beta"].to_numpy()
    for m in info.minima:
        at = basin == m.index
        if not at.any():
            continue
        b = None if optimizer == "gd" else beta[at]
        rho[at] = m.rate(optimizer, eta[at], b)
        ratio[at] = eta[at] / m.limit(optimizer, b)
        lam_min[at] = m.lambda_min
        for i, lam in enumerate(m.curved):
            rho_dir[at, i] = theory.rate_direction(optimizer, eta[at], b, lam)
    return rho, rho_dir, lam_min, ratio


def _log_error(measured, expected):
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(np.log(measured) - np.log(expected)) / np.abs(np.log(expected))
    return np.where(np.isnan(err), np.inf, err)


def _check_rate(rows, info, optimizer, grad_tol, band, axes, s) -> CheckResult:
    conv = (rows["status"] == "converged").to_numpy()
    rho, rho_dir, _, ratio = _direction_rates(rows, info, optimizer)
    rate = rows["rate"].to_numpy()
    at_min = conv & np.isfinite(rho)
    nan_rate = at_min & ~np.isfinite(rate)
    in_range = (rho >= s["rho_min"]) & (rho <= s["rho_max"])
    away = ratio <= 1.0 - band
    from .kernels.lanes import LINEAR, LINEAR_FLOOR

    # equations in the kernel's fit window (module docstring): the states of steps
    # P .. T + B (P = B * max(0, T // B - 1)) inside the band, by theory's rho
    steps = rows["steps"].to_numpy()
    states = steps - BLOCK * np.maximum(0, steps // BLOCK - 1) + 1 + BLOCK
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        across = np.log(LINEAR / LINEAR_FLOOR) / -np.log(rho)
    linear = np.minimum(states, across) >= s["equations"]
    base = at_min & ~nan_rate
    check = base & in_range & away & linear
    err_dom = _log_error(rate[check], rho[check])
    err_dir = np.stack([_log_error(rate[check], rho_dir[check, i]) for i in range(2)], axis=1)
    err_alt = np.min(err_dir, axis=1)
    tol = s["tolerance_rate"]
    other = (err_dom > tol) & (err_alt <= tol) & (rate[check] <= rho[check])
    err = np.where(other, err_alt, err_dom)
    bad = err > tol
    idx = np.flatnonzero(check)
    order = np.argsort(-err, kind="stable")[: s["worst"]]
    expected = np.where(other, np.nan, rho[check])
    for i in range(2):
        pick = other & (err_dir[:, i] == err_alt)
        expected = np.where(pick & np.isnan(expected), rho_dir[check, i], expected)
    table = _table(
        rows, idx[order], axes, basin=rows["basin"].to_numpy()[idx[order]],
        steps=steps[idx[order]], measured=rate[idx[order]], theory=expected[order],
        error=err[order],
    )  # fmt: skip
    notes = [
        f"error = |log rate - log rho| / |log rho|, tolerance {tol:g}; rho = "
        "theory.local_rate at the minimum reached (the slowest curved direction), or the "
        "rate of its other direction when that matches and the slowest one was not excited "
        f"above the rounding floor: {int(other.sum()):,} runs",
        f"skipped: {int((~at_min).sum()):,} runs not converged to a listed minimum; "
        f"{int(nan_rate.sum()):,} with rate NaN; {int((base & ~away).sum()):,} with eta > "
        f"{1 - band:g} x the limit; {int((base & away & ~in_range).sum()):,} with rho outside "
        f"[{s['rho_min']:g}, {s['rho_max']:g}]; {int((base & away & in_range & ~linear).sum()):,}"
        f" with fewer than {s['equations']} states in the fit window (fast runs cross the "
        "kernel's band 1e-6..1e-12 of |w - w*| in a few steps)",
    ]
    if len(table):
        notes.append("worst runs:")
    n, failed = int(check.sum()), int(bad.sum())
    return _result("rate", n, failed, len(rows) - n, err, table, notes)


# ---------------------------------------------------------------- 3 vanishing


def _spacing(parsed, info) -> float:
    """The start grid's cell diagonal (0 without x0 / y0 axes)."""
    steps = []
    for axis in ("x0", "y0")[: info.dim]:
        v = np.unique(parsed.axis_values(axis)) if axis in parsed.axes else np.zeros(1)
        steps.append(float(np.max(np.diff(v))) if len(v) > 1 else 0.0)
    return math.hypot(*steps)


def _count_starts(x0, y0, sel) -> int:
    """The number of distinct start points among the rows ``sel``."""
    if not sel.any():
        return 0
    y = np.broadcast_to(y0, sel.shape)
    return int(np.unique(np.stack([x0[sel], y[sel]]), axis=1).shape[1])


def _check_vanishing(rows, info, parsed, band, decidable) -> CheckResult:
    opt, steps = parsed.optimizer, parsed.steps
    etas = np.unique(parsed.axis_values("lr"))
    betas = np.unique(parsed.axis_values("beta")) if "beta" in parsed.axes else np.zeros(1)
    conv = (rows["status"] == "converged").to_numpy()
    moved = rows["steps"].to_numpy() > 0
    basin = rows["basin"].to_numpy()
    eta, beta = rows["eta"].to_numpy(), rows["beta"].to_numpy()
    x0, y0 = rows["x0"].to_numpy(), rows["y0"].to_numpy() if info.dim == 2 else 0.0
    at_start = int((conv & ~moved & (basin >= 0)).sum())
    cell = _spacing(parsed, info)
    groups, errors, bad_runs, skipped_beta = [], [], 0, 0
    for b in betas:
        for m in info.minima:
            limit = float(m.limit(opt, None if opt == "gd" else b))
            if not np.isfinite(limit):
                skipped_beta += 1
                continue
            reach = conv & moved & (basin == m.index) & (beta == b)
            above = reach & (eta > limit * (1.0 + band))
            bad_runs += int(above.sum())
            near = _distance_to_minimum(m, x0, y0) <= cell
            reached, near_reached = np.unique(eta[reach]), np.unique(eta[reach & near])
            row = {"minimum": m.index, "beta": b, "limit": limit}
            row.update(first=np.nan, last=np.nan, gone=np.nan, near=0, near_last=np.nan)
            row["checked_to"] = np.nan
            if len(reached):
                later = etas[etas > reached[-1]]
                row.update(
                    first=reached[0], last=reached[-1], gone=later[0] if len(later) else np.nan
                )
                errors.append(reached[-1] / limit)
            row["near"] = _count_starts(x0, y0, near)
            if len(near_reached):
                rho = np.asarray(m.rate(opt, etas, None if opt == "gd" else b))
                with np.errstate(divide="ignore"):
                    fast = steps * np.log(rho) <= np.log(decidable)
                ok_eta = (etas >= near_reached[0]) & (etas <= limit * (1.0 - band)) & fast
                row["near_last"] = near_reached[-1]
                row["checked_to"] = etas[ok_eta].max() if ok_eta.any() else np.nan
            early = bool(np.isfinite(row["checked_to"]) and row["near_last"] < row["checked_to"])
            if above.any():
                verdict = "FAIL: reached above the limit"
            elif early:
                verdict = "FAIL: gone below the limit"
            elif not len(reached):
                verdict = "never reached"
            elif np.isfinite(row["checked_to"]):
                verdict = "ok"
            elif not row["near"]:
                verdict = "ok; (b) no start within a cell"
            else:
                verdict = "ok; (b) no decidable eta"
            groups.append({**row, "verdict": verdict})
    table = pd.DataFrame(groups)
    n_checked = int((table["verdict"] != "never reached").sum()) if len(table) else 0
    failed = int(table["verdict"].str.startswith("FAIL").sum()) if len(table) else 0
    if len(table) and opt == "gd":
        table = table.drop(columns="beta")
    notes = [
        f"per minimum{'' if opt == 'gd' else ' and beta'}: reached at eta in [first, last] "
        "('gone': the next grid eta); (a) no run may reach it at eta > limit x "
        f"{1 + band:g}; (b) from the starts within one grid cell ({cell:.4g}) of it "
        "('near'), it must still be reached at 'checked_to', the largest grid eta <= "
        f"limit x {1 - band:g} with rho^{steps} <= {decidable:g} ('near_last': the largest "
        "eta at which a near start reaches it)",
        f"{bad_runs:,} runs converged to a minimum above its limit (must be 0); {at_start:,} runs "
        "that start exactly at a minimum (steps 0) left out",
    ]
    if skipped_beta:
        notes.append(f"skipped: {skipped_beta} (minimum, beta) pairs with beta outside [0, 1)")
    if len(table):
        notes.append("per minimum (limit: theory.local_stability_limit):")
    n_groups = len(groups) + skipped_beta
    return _result("vanishing", n_checked, failed, n_groups - n_checked, errors, table, notes)


# ---------------------------------------------------------------- 4 symmetry


def _symmetric_grid(parsed, symmetry) -> str:
    """'' if the start grid maps to itself under the symmetry, else why not."""
    start = parsed.problem_params["start"]
    for i, axis in enumerate(("x0", "y0")):
        if axis not in symmetry.axes:
            continue
        if axis not in parsed.axes:
            if start[i] != 0.0:
                return f"no {axis} axis and the start's {'xy'[i]} = {start[i]:g} is not 0"
            continue
        v = np.sort(np.asarray(parsed.axis_values(axis), dtype=np.float64))
        scale = max(1.0, float(np.abs(v).max()))
        if not np.allclose(v, -v[::-1], rtol=0, atol=1e-9 * scale):
            return f"the {axis} axis is not symmetric about 0"
    return ""


def _check_symmetry(rows, info, parsed, worst) -> CheckResult:
    symmetry = SYMMETRIES.get(info.name)
    n_panels = len(al.panel_values(rows))
    if symmetry is None:
        notes = [f"skipped: {info.name} has no symmetry mapping minima onto each other"]
        return _result("symmetry", 0, 0, n_panels, [], pd.DataFrame(), notes)
    pairs = symmetric_pairs(info, symmetry)
    why = _symmetric_grid(parsed, symmetry) if pairs else "no pair of minima"
    if why:
        notes = [f"skipped: symmetry {symmetry.text}: {why}"]
        return _result("symmetry", 0, 0, n_panels, [], pd.DataFrame(), notes)
    if "x0" in parsed.axes and "y0" in parsed.axes:
        maps = al.basin_maps(rows, parsed.to_dict())
    else:  # a single start, or a start line: count runs per panel
        maps = []
        for e, b in al.panel_values(rows):
            sel = (rows["eta"] == e).to_numpy() & (rows["beta"] == b).to_numpy()
            code = al.outcomes(rows[sel])[None, :]
            maps.append(al.BasinMap(e, b, None, None, None, None, code, int(sel.sum())))
    items, errors = [], []
    for bm in maps:
        edge = al.boundary_points(bm.code) if bm.code.shape[0] > 1 else bm.code < -99
        for k, k2 in pairs:
            n1, n2 = int((bm.code == k).sum()), int((bm.code == k2).sum())
            tol = 0.5 * (int((edge & (bm.code == k)).sum()) + int((edge & (bm.code == k2)).sum()))
            diff = abs(n1 - n2) / max(bm.n, 1)
            errors.append(diff)
            items.append(
                {"eta": bm.eta, "beta": bm.beta, "pair": f"{k}, {k2}", "n_k": n1, "n_k'": n2,
                 "allowed": tol, "error": diff, "ok": abs(n1 - n2) <= tol}
            )  # fmt: skip
    if not items:
        notes = ["skipped: no noiseless rows (the noisy ones are not local theory's)"]
        return _result("symmetry", 0, 0, 0, [], pd.DataFrame(), notes)
    table = pd.DataFrame(items)
    failed = int((~table["ok"]).sum())
    if parsed.optimizer == "gd":
        table = table.drop(columns="beta")
    shown = table.iloc[np.argsort(-(table["error"].to_numpy()), kind="stable")[:worst]]
    notes = [
        f"symmetry {symmetry.text}: pairs of minima {', '.join(f'({a}, {b})' for a, b in pairs)}"
        f"; {len(maps)} panels; |n_k - n_k'| <= (b_k + b_k') / 2 (b: boundary points); "
        "error = |n_k - n_k'| / grid points",
        "worst panels:",
    ]
    return _result("symmetry", len(table), failed, 0, errors, shown.drop(columns="ok"), notes)


def _check_escape(df, parsed, worst) -> CheckResult:
    """Saddle with gradient noise: per grid point started on the stable manifold (y0 = 0)
    with >= MIN_SEEDS seeds, all escaped, the mean escape step (``diverge_step``) against
    theory.escape_steps, within max(3 standard errors, 1 %)."""
    from .analysis_landscape_noise import escape_table

    if "diverge_step" not in df:
        return _result("escape", 0, 0, 0, [], pd.DataFrame(), ["skipped: no diverge_step column"])
    table = escape_table(df, parsed.to_dict())
    if table.empty:
        notes = ["skipped: no noisy run started on the stable manifold (y0 = 0)"]
        return _result("escape", 0, 0, 0, [], pd.DataFrame(), notes)
    ok_rows = (table["runs"] >= MIN_SEEDS) & (table["escaped"] == 1.0)
    skipped = int((~ok_rows).sum())
    table = table[ok_rows].copy()
    table["error"] = (table["mean_steps"] / table["theory"] - 1.0).abs()
    allowed = np.maximum(3 * table["se"] / table["theory"], 0.01)
    table["ok"] = table["error"] <= allowed
    failed = int((~table["ok"]).sum())
    shown = table.iloc[np.argsort(-(table["error"].to_numpy()), kind="stable")[:worst]]
    notes = [
        "per grid point: the mean escape step over seeds of runs started at y0 = 0 vs "
        "theory.escape_steps (curvature -2 along y, radius stop.radius); error = "
        "|mean / theory - 1| <= max(3 s.e. / theory, 0.01)",
        f"skipped: {skipped} points with fewer than {MIN_SEEDS} seeds or a run that did not escape",
        "worst points:",
    ]
    return _result("escape", len(table), failed, skipped, table["error"].to_numpy(),
                   shown.drop(columns="ok"), notes)  # fmt: skip


# ---------------------------------------------------------------- the report


def _header(parsed, info, rows_n, tolerance_rate, band, s) -> list[str]:
    dims = " x ".join(f"{n} {a}" for a, n in zip(parsed.axis_names, parsed.shape, strict=True))
    stop = parsed.stop
    params = {k: v for k, v in parsed.problem_params.items() if k != "start"}
    opt = parsed.optimizer
    out = [
        f"sweep {parsed.name}: {opt} on {info.name}"
        + (f" {params}" if params else "")
        + f", grid {dims}, {parsed.steps} steps, stop.grad_tol {stop['grad_tol']:g}, "
        f"radius {stop['radius']:g}",
        f"rows {rows_n:,} of {parsed.size - s.get('unchecked', 0):,}"
        + (
            ""
            if rows_n + s.get("unchecked", 0) == parsed.size
            else f" ({parsed.size - rows_n - s.get('unchecked', 0):,} grid points missing)"
        ),
    ]
    limit_text = {"gd": "2/L", "heavy_ball": "2(1+β)/L", "nesterov": "2(1+β)/((1+2β)L)"}[opt]
    out.append(f"listed minima ({len(info.minima)}), eta limit {limit_text}, L = lam_max:")
    for m in info.minima:
        loc = ", ".join(f"{v:.6g}" for v in m.location)
        lam = ", ".join(f"{v:.6g}" for v in m.eigenvalues)
        limit = f"  gd limit 2/L = {m.limit('gd'):.6g}"
        out.append(f"  {m.index}  ({loc})  f = {m.value:.6g}  lam = ({lam}){limit}"
                   + ("  [a circle of minima]" if m.kind == "circle" else ""))  # fmt: skip
    if not info.minima:
        out.append("  none (unbounded below)")
    out.append(
        f"tolerances: rate {tolerance_rate:g} of |log rho| (rho in [{s['rho_min']:g}, "
        f"{s['rho_max']:g}]); band +-{band:g} around each limit; decidable rho^steps <= "
        f"{s['decidable']:g}"
    )
    return out


def _noisy_rows(df, rows, keep, parsed) -> pd.DataFrame:
    """The noisy rows with what the escape table reads: eta, beta, sigma, y0, status,
    diverge_step."""
    noisy = rows[~keep].copy()
    if "diverge_step" in df:
        noisy["diverge_step"] = df["diverge_step"].to_numpy()[~keep]
    return noisy.reset_index(drop=True)


def check_landscape(
    df: pd.DataFrame,
    spec,
    *,
    tolerance_rate: float = 2e-3,
    band: float = 0.02,
    rho_min: float = 1e-2,
    rho_max: float = 0.9999,
    decidable: float = 1e-30,
    equations: int = 30,
    worst: int = 5,
) -> CheckReport:
    """Check a landscape sweep's results table against local theory; see the module
    docstring. ``df`` needs traj, status, steps, rate, basin, x_final (and y_final for
    2-D problems); the axis values are taken from ``spec`` (a normalised spec dict, a raw
    one or a SweepSpec); an eta column, when present, must match it. Raises CheckError
    for a non-landscape spec or rows that do not belong to it."""
    parsed, info = _parse(spec)
    df, schedule_note = constant_eta_rows(df, parsed.to_dict())
    rows = _rows(df, parsed, info)
    noisy = 0
    escape = []
    if "sigma" in rows:  # gradient noise: only the sigma = 0 rows are local theory's
        keep = (rows["sigma"] == 0.0).to_numpy()
        noisy = int((~keep).sum())
        if info.name == "saddle" and noisy:  # the escape time has its own theory
            escape = [_check_escape(_noisy_rows(df, rows, keep, parsed), parsed, worst)]
        rows = rows[keep].reset_index(drop=True)
    axes = _axes(parsed)
    s = dict(tolerance_rate=tolerance_rate, rho_min=rho_min, rho_max=rho_max, worst=worst)
    s["unchecked"] = df.attrs.get("fastdescent.unchecked_rows", 0)  # constant_eta_rows
    s.update(decidable=decidable, equations=equations)
    results = [
        _check_endpoints(rows, info, parsed.stop["grad_tol"], axes, worst),
        _check_rate(rows, info, parsed.optimizer, parsed.stop["grad_tol"], band, axes, s),
        _check_vanishing(rows, info, parsed, band, decidable),
        _check_symmetry(rows, info, parsed, worst),
        *escape,
    ]
    header = _header(parsed, info, len(df), tolerance_rate, band, s)
    if noisy:
        what = "checked by their escape time" if escape else "not checked"
        header.insert(2, f"{noisy:,} rows with gradient noise (sigma > 0) {what}: the "
                         "local theory is noiseless; the sigma = 0 rows are")  # fmt: skip
    if schedule_note:
        header.insert(1, schedule_note)
    return CheckReport(header, results)
