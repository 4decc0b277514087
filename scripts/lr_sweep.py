"""The classic learning-rate sweep: final loss / initial loss vs step size eta*lambda_max.

One panel per momentum beta (heavy_ball / nesterov; --beta B [B ...], default a few of
0, 0.5, 0.9, 0.99 on the grid), one line per condition number kappa (--kappa K [K ...],
default up to 5 of 1, 10, 100, ...). Too small a step converges slowly, the best steps
reach the convergence threshold, and past theory's limit (dashed; 2 for GD) the runs
diverge: the cliff. Diverged runs are marked with crosses in a band at the top.

A second figure (lr_sweep_steps) draws the steps each run took to reach the tolerance
against the step size, the course's U: slow for small steps, fastest at theory's eta*,
slow again towards the limit, then the cliff; theory's ln(tol) / (2 ln rho) on top, and
with one kappa a top axis in eta itself.

    python scripts/lr_sweep.py results/course_gd
    python scripts/lr_sweep.py results/momentum --beta 0 0.9 --kappa 10 100
"""

from __future__ import annotations

import sys

import numpy as np

from fastdescent import _scripts, analysis, plots, theory


def add_arguments(p):
    p.add_argument(
        "--beta",
        nargs="+",
        type=_scripts.floats,
        metavar="B",
        help="momentum values (nearest on the grid)",
    )
    p.add_argument(
        "--kappa",
        nargs="+",
        type=_scripts.floats,
        metavar="K",
        help="condition numbers (nearest on the grid)",
    )


def make(args, spec, df):
    _scripts.check_sweep(spec)
    c = analysis.cells(df, spec)
    opt = spec["optimizer"]
    beta_grid, kappa_grid = np.unique(c["beta"]), np.unique(c["kappa"])
    if args.beta and opt == "gd":
        raise _scripts.UserError("--beta: a gd sweep has no momentum")
    if args.beta:
        betas = _scripts.nearest(beta_grid, args.beta, name="beta")
    else:
        betas = _scripts.representative(beta_grid, [0.0, 0.5, 0.9, 0.99], 4)
    if args.kappa:
        kappas = _scripts.nearest(kappa_grid, args.kappa, log=True, name="kappa")
    else:
        kappas = _scripts.representative(kappa_grid, [1, 10, 100, 1e3, 1e4, 1e5], 5, log=True)
    curves = analysis.loss_curves(c, betas, kappas, spec["stop"]["tol"])
    limits = dict(zip(betas, analysis.limit_curve(opt, betas), strict=True))
    steps = analysis.steps_curves(c, betas, kappas, opt, spec["stop"]["tol"])
    optima = {}  # gd's fastest step; with momentum rho is flat (sqrt(beta)) over a range
    if opt == "gd":
        for (b, k), g in steps.groupby(["beta", "kappa"]):
            lam_min, lam_max = float(g["lambda_min"].iloc[0]), float(g["lambda_max"].iloc[0])
            optima[(b, k)] = float(theory.optimal(opt, lam_min, lam_max)[0]) * lam_max
    figures = [(plots.loss_vs_lr(curves, limits, spec), "lr_sweep")]
    if not (df["status"] == "converged").any():  # a fixed step budget: nothing to count
        tol, budget = spec["stop"]["tol"], spec["steps"]
        print(f"lr_sweep.py: no run reached the tolerance {tol:g} within {budget} steps: "
              "no steps figure (the final-loss figure shows the U)")  # fmt: skip
        return figures
    figures.append((plots.steps_vs_lr(steps, limits, optima, spec), "lr_sweep_steps"))
    return figures


if __name__ == "__main__":
    sys.exit(_scripts.main("lr_sweep.py", __doc__, add_arguments, make))
