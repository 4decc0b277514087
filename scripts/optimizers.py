"""Compare optimizers across sweeps on quadratics, diagonal and rotated: the best steps to
the tolerance per condition number, against theory at the optimal tuning; and Adam's (or
RMSProp's) hyperparameter maps, on quadratics and on any landscape.

Each DIR is one sweep (one optimizer), on ``problem = "quadratic"`` (the diagonal
quadratic), on ``problem = "linreg"`` with the full batch and no gradient noise (no
``batch_size`` or ``sigma`` axis: the rotated quadratic 1/2 (w - w_hat)^T V diag(lam) V^T
(w - w_hat); steps only, no maps), all of these with the same ``stop.tol``; or, for maps
only, on a landscape (Adam or RMSProp; ``rosenbrock``, ...). Figures (in FIGDIR, default
results/figures/optimizers/):

- steps_vs_kappa (diagonal quadratic sweeps) and steps_vs_kappa_linreg (rotated: linreg
  sweeps), never mixed: for every sweep with two or more condition numbers, the best run
  on its grid per kappa: the fewest steps among the runs that reached f <= tol * f0 (on
  linreg the excess loss f - f(w_hat)) (an open marker at the budget where none did);
  dashed, theory's steps at the optimal tuning for gd, heavy ball and Nesterov
  (``analysis_optimizers.optimal_steps``: the exact loss curve, not only
  ln tol / (2 ln rho*); on linreg from the data set's lambdas and z0 = V^T (start -
  w_hat), ``analysis_optimizers.linreg_spectrum``).
- maps_NAME: for an Adam or RMSProp sweep over lr and one of beta (beta1) or beta2 (on a
  quadratic at one kappa, --kappa, nearest on the grid; default the sweep's only one):
  right, the steps to convergence of the runs that converged (quadratic: f <= tol * f0;
  landscape: |grad f| <= grad_tol); left, where the other runs ended, log10(final loss /
  f0) (landscape: log10(f - f_min), f_min the lowest listed minimum); diverged runs grey
  (landscape: those that left stop.radius too); the runs that stalled at their stability
  edge (precond_sharpness near theory.adaptive_edge) dotted.

Prints a summary: per quadratic (then linreg) sweep, at a few condition numbers, the best
steps (or the best final loss at the budget, when no run converged), theory's t* and the
best run's hyperparameters; per map, how many runs converged, stalled at the edge, ran
out of steps elsewhere or diverged, and the fastest run.

The quadratics are diagonal (f = 1/2 sum_i lam_i w_i^2): Adam's and RMSProp's per-
coordinate scaling sees the eigen-directions, so their steps hardly depend on kappa there;
on the rotated quadratic (linreg) they do (Rosenbrock's valley is one too, locally).

    bash scripts/optimizers.sh      # the sweeps of scripts/sweeps/optimizers/, then this
    python scripts/optimizers.py results/optimizers/gd results/optimizers/adam ...
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from fastdescent import _scripts
from fastdescent import analysis_optimizers as ao
from fastdescent import plots_optimizers as po
from fastdescent._scripts import UserError
from fastdescent.lane_engine import f_min
from fastdescent.problems import get_problem

AXES = ("lr", "beta", "beta2", "eps", "kappa", "sigma", "seed", "x0", "y0")
COLUMNS = ["eta", "lambda_min", "lambda_max", "status", "steps", "loss0", "final_loss"]
#: the problems of the steps-vs-kappa comparison, each its own figure: {problem: (stem,
#: heading)}
STEPS = {
    "quadratic": ("steps_vs_kappa", "Diagonal quadratic"),
    "linreg": ("steps_vs_kappa_linreg", "Rotated quadratic (linreg, full batch)"),
}
LANDSCAPE_COLUMNS = ["eta", "status", "steps", "loss0", "final_loss"]
ADAPTIVE = ("adam", "rmsprop", "adagrad")
PROG = "optimizers.py"
FIGDIR = "results/figures/optimizers"
MAP_ROWS = 4  # a map needs at least this many beta (or beta2) values
MAP_VALUES = ("log_loss", "steps", "edge")


def _parser():
    p = _scripts.parser(PROG, __doc__)
    for action in p._actions:  # the shared parser's DIR and --out, for several sweeps
        if action.dest == "dir":
            action.nargs, action.help = "+", "results directories, one sweep each"
        if action.dest == "out":
            action.default, action.help = FIGDIR, f"where to write (default {FIGDIR})"
    p.add_argument("--kappa", type=_scripts.floats, metavar="K",
                   help="the condition number of the maps (nearest on the grid)")  # fmt: skip
    return p


def _check(spec):
    name, problem, opt = spec.get("name", "?"), spec.get("problem"), spec.get("optimizer")
    if opt not in po.LABELS:
        raise UserError(f"sweep {name!r}: unknown optimizer {opt!r}")
    if problem not in STEPS and opt not in ADAPTIVE:
        raise UserError(f"sweep {name!r} is {opt} on {problem!r}: comparing optimizers needs "
                        "sweeps on 'quadratic' or full-batch 'linreg'; on a landscape it "
                        "draws only the maps of adam / rmsprop sweeps")  # fmt: skip
    if problem == "linreg" and "batch_size" in spec.get("axes", {}):
        raise UserError(f"sweep {name!r} is mini-batch linreg (axes.batch_size): steps to a "
                        "tolerance compare on the full batch only, the rotated quadratic "
                        "(drop the batch_size axis)")  # fmt: skip
    sigma = spec.get("axes", {}).get("sigma")
    if sigma and any(v != 0 for v in sigma.get("values", [sigma.get("start"), sigma.get("stop")])):
        raise UserError(f"sweep {name!r} has gradient noise (sigma); steps to a tolerance "
                        "need noiseless runs")  # fmt: skip


def _quadratic(spec):
    return spec["problem"] == "quadratic"


def _steps(spec):
    """Whether the sweep takes part in steps vs kappa (quadratic or full-batch linreg)."""
    return spec["problem"] in STEPS


def open_sweep(directory):
    """(spec, rows) of one sweep; UserError for a missing, incomplete or foreign DIR, a
    mini-batch or noisy linreg sweep, or a landscape sweep of an optimizer that has no
    maps (not Adam, RMSProp or Adagrad). On linreg, loss0 and final_loss are turned into
    the excess loss f - f(w_hat) (the stop rule's: f0 and the ratio of the tables)."""

    def columns(spec, manifest):
        present = manifest.get("columns") or []
        extra = ["precond_sharpness"] if "precond_sharpness" in present else []
        own = COLUMNS if _steps(spec) else LANDSCAPE_COLUMNS
        if spec["problem"] == "linreg":
            extra.append("loss_min")
        return [a for a in AXES if a in spec.get("axes", {})] + own + extra

    spec, df = _scripts.read_sweep(directory, _check, columns)
    if spec["problem"] == "linreg":
        df = df.assign(loss0=df["loss0"] - df["loss_min"],
                       final_loss=df["final_loss"] - df["loss_min"])  # fmt: skip
    return spec, df


def _same_tol(sweeps):
    """The one tolerance of the quadratic and linreg sweeps (None without any)."""
    tols = {spec["name"]: spec["stop"]["tol"] for _, spec, _ in sweeps if _steps(spec)}
    if not tols:
        return None
    if len(set(tols.values())) > 1:
        listed = ", ".join(f"{n}: {t:g}" for n, t in tols.items())
        raise UserError(f"the sweeps have different tolerances ({listed}); steps to reach "
                        "them do not compare: run them with the same [stop] tol")  # fmt: skip
    return next(iter(tols.values()))


def _labels(sweeps):
    opts = [spec["optimizer"] for _, spec, _ in sweeps]
    return [po.LABELS[o] + (f" ({spec['name']})" if opts.count(o) > 1 else "")
            for o, (_, spec, _) in zip(opts, sweeps, strict=True)]  # fmt: skip


def _problem_text(spec, kappa):
    """'f = x² + 100y²' for explicit 2-D lambdas, else 'f = 1/2 Σ λᵢwᵢ², κ = K'; on a
    landscape its name (Rosenbrock's formula) and start point."""
    if not _quadratic(spec):
        p = spec["problem_params"]
        text = spec["problem"]
        if text == "rosenbrock":
            a, b = p.get("a", 1.0), p.get("b", 100.0)
            text = f"({a:g} − x)² + {b:g}(y − x²)²"
        start = p.get("start")
        if start and not any(x in spec.get("axes", {}) for x in ("x0", "y0")):
            text += f" from ({', '.join(f'{v:g}' for v in start)})"
        return text
    lam = spec["problem_params"].get("lambdas")
    if lam and len(lam) == 2:
        a, b = (f"{v / 2:g}" if v != 2 else "" for v in lam)
        return f"f = {a}x² + {b}y²"
    return f"f = 1/2 Σ λᵢwᵢ², κ = {kappa:.3g}"


def _spectrum_text(spec):
    """'f = 1/2 Σ λᵢwᵢ², d = 8, λᵢ = κ^(i/7)' (the kappa sweeps' problem); on linreg
    'f − f(ŵ) = 1/2 (w − ŵ)ᵀ V diag(λ) Vᵀ (w − ŵ), ...'."""
    p = spec["problem_params"]
    d = p.get("dim", 2)
    law = {"endpoints": "λ = 1 or κ", "linear": "λ evenly over [1, κ]",
           "log": f"λᵢ = κ^(i/{d - 1})"}.get(p.get("spectrum"), "")  # fmt: skip
    if spec["problem"] == "linreg":
        return f"f − f(ŵ) = 1/2 (w − ŵ)ᵀ V diag(λ) Vᵀ (w − ŵ), V orthogonal, d = {d}, {law}"
    return f"f = 1/2 Σ λᵢwᵢ², d = {d}, {law}"


def _theory(spec, opt, kappa, tol):
    """Theory's steps at the optimal tuning at each kappa: float64 (n,): on the quadratic's
    spectrum and start, or on the linreg data set's lambdas and z0 = V^T (start - w_hat)."""
    if spec["problem"] == "linreg":
        lam, start = ao.linreg_spectrum(spec["problem_params"], kappa)
    else:
        lam, start = ao.spectrum(spec["problem_params"], kappa)
    return ao.optimal_steps(opt, lam, start, tol)


def _varying(df, names):
    return [a for a in names if a in df and df[a].nunique() > 1]


def summary(sweeps, bests, tol):
    """The printed table: per sweep, at up to 4 condition numbers (nearest 1, 10, 100,
    1000), the best steps (or final loss at the budget), theory's t* and the best run."""
    rows = []
    for (_, spec, _), best in zip(sweeps, bests, strict=True):
        ks = _scripts.representative(best["kappa"], (1, 10, 100, 1000), 4, log=True)
        opt = spec["optimizer"]
        for _, b in best[best["kappa"].isin(ks)].iterrows():
            if b["metric"] == "steps":
                found = f"{int(b['steps'])} steps"
            elif b["metric"] == "final_loss":
                found = f"f/f0 = {b['loss_ratio']:.2g} at {spec['steps']}"
            else:
                found = "all diverged"
            t = np.nan
            if opt in ao.THEORY_OPTIMIZERS:
                t = _theory(spec, opt, b["kappa"], tol)[0]
            hyper = ", ".join(f"{h} {b[h]:.3g}" for h in ao.HYPER
                              if h in b and h != "eta" and pd.notna(b[h]))  # fmt: skip
            rows.append({"sweep": spec["name"], "kappa": f"{b['kappa']:.3g}", "best": found,
                         "theory t*": "" if np.isnan(t) else f"{t:.0f}",
                         "best run": hyper})  # fmt: skip
    return pd.DataFrame(rows).to_string(index=False)


def _maps(args, spec, df, tol):
    """(figure, stem, counts) of an adaptive sweep over lr and beta or beta2, or None when
    the sweep is not such a map; counts: the ``map_summary`` row."""
    opt, name = spec["optimizer"], spec["name"]
    if opt not in ADAPTIVE or spec["problem"] == "linreg":
        return None  # linreg: steps vs kappa only
    ys = _varying(df, ("beta", "beta2"))
    if not _varying(df, ("lr",)) or len(ys) != 1 or _varying(df, ("eps",)):
        return None  # not a 2-D map: drawn in steps_vs_kappa only
    if df[ys[0]].nunique() < MAP_ROWS:
        return None  # a few betas (the kappa sweeps'): not a map
    if _quadratic(spec):
        k = args.kappa
        if k is None and ao.kappa_of(df).min() != ao.kappa_of(df).max():
            k = 100.0  # the ravine's, nearest on the grid
        fmin, labels = None, {}
        reached = f"tol {tol:g}"
    else:
        k, stop = None, spec["stop"]
        fmin = f_min(get_problem(spec["problem"]), spec["problem_params"])
        labels = {"loss_label": "log₁₀ (f − f_min) at the end" if fmin else "log₁₀ f at the end",
                  "reached": f"|∇f| ≤ {stop['grad_tol']:g}",
                  "left": f"diverged (left radius {stop['radius']:g})"}  # fmt: skip
        reached = labels["reached"]
    try:
        maps = [ao.map_table(df, "lr", ys[0], v, k, opt, fmin) for v in MAP_VALUES]
    except ValueError as exc:
        raise UserError(f"sweep {name!r}: {exc}") from None
    kappa = maps[0].attrs["kappa"]
    title = f"{po.LABELS[opt]} on {_problem_text(spec, kappa)}: "
    run = f"sweep '{name}', {spec['steps']} steps, {reached}"
    title += run if len(title + run) <= 80 else "\n" + run
    fig = po.hyper_maps(*maps, ys[0], title, tol or 1.0, **labels)
    return fig, f"maps_{name}", _map_counts(spec, maps, ys[0])


def _map_counts(spec, maps, y):
    """One ``map_summary`` row: the cells' outcomes and the fastest converged run."""
    loss, steps, edge = (m.to_numpy(np.float64) for m in maps)
    ok = np.isfinite(steps)
    div = np.isposinf(loss) & ~ok
    lo, hi = po.EDGE_BAND
    stalled = int(((edge >= lo) & (edge <= hi)).sum())
    row = {"map": spec["name"], "cells": ok.size, "converged": int(ok.sum()),
           "at edge": stalled, "ran out elsewhere": int((~ok & ~div).sum()) - stalled,
           "diverged": int(div.sum()), "fastest": ""}  # fmt: skip
    if ok.any():  # ties in steps go to the smaller final loss, as in best_per_kappa
        fewest = np.where(ok, steps, np.inf) == np.nanmin(steps)
        i, j = np.unravel_index(np.argmin(np.where(fewest, loss, np.inf)), steps.shape)
        row["fastest"] = (f"{int(steps[i, j])} steps at lr {maps[1].columns[j]:.3g}, "
                          f"{y} {maps[1].index[i]:.6g}")  # fmt: skip
    return row


def _steps_figure(group, bests, tol, heading, reached):
    """steps_vs_kappa of one kind of sweep (``group`` [(dir, spec, df)], their ``bests``),
    or None when no sweep has two or more condition numbers."""
    many = [i for i, best in enumerate(bests) if len(best) > 1]  # two or more kappas
    labels = _labels([group[i] for i in many])
    pairs = zip(labels, many, strict=True)
    curves = [(label, group[i][1]["optimizer"], bests[i]) for label, i in pairs]
    if not curves:
        return None
    laws = {}
    for _, spec, _ in group:
        opt = spec["optimizer"]
        if opt in ao.THEORY_OPTIMIZERS and opt not in laws:
            k = np.concatenate([b["kappa"] for _, o, b in curves if o == opt] or [[]])
            if len(k) > 1:
                k = np.geomspace(k.min(), k.max(), 97)
                laws[opt] = (k, _theory(spec, opt, k, tol))
    budget = max(spec["steps"] for _, spec, _ in group)
    problems = {_spectrum_text(group[i][1]) for i in many}
    return po.steps_vs_kappa(curves, laws, tol, budget, "; ".join(sorted(problems)),
                             heading=heading, reached=reached)  # fmt: skip


def make(args, sweeps):
    """[(figure, stem)] and the summary text of the opened ``sweeps`` [(dir, spec, df)]."""
    tol = _same_tol(sweeps)
    figures, text = [], []
    for problem, (stem, heading) in STEPS.items():  # one figure each: never mixed
        group = [sw for sw in sweeps if sw[1]["problem"] == problem]
        if not group:
            continue
        bests = [ao.best_per_kappa(df) for _, _, df in group]
        reached = "f − f(ŵ) ≤ {tol} · (f₀ − f(ŵ))" if problem == "linreg" else None
        fig = _steps_figure(group, bests, tol, heading, reached)
        if fig is not None:
            figures.append((fig, stem))
        text.append(f"{heading}:\n{summary(group, bests, tol)}")
    counts = []
    for _, spec, df in sweeps:
        drawn = _maps(args, spec, df, tol)
        if drawn is not None:
            figures.append(drawn[:2])
            counts.append(drawn[2])
    if not figures:
        raise UserError("nothing to draw: no quadratic or linreg sweep has two or more "
                        "condition numbers, nor is any an Adam / RMSProp sweep over lr and "
                        "beta or beta2")  # fmt: skip
    if counts:
        text.append(pd.DataFrame(counts).to_string(index=False))
    return figures, "\n\n".join(text)


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        sweeps = []
        for directory in args.dir:
            spec, df = open_sweep(directory)
            sweeps.append((directory, spec, df))
        figures, text = make(args, sweeps)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    print(text)
    try:
        for fig, stem in figures:
            _scripts.save(fig, args, {"name": "optimizers"}, stem)
    except OSError as exc:
        print(f"{PROG}: error: cannot write the figure: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
