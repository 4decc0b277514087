"""Noisy quadratics: the stationary excess loss against exact theory.

With additive gradient noise (axis sigma: every step uses grad f + sigma xi) the loss
settles at a noise floor. Two figures:

- stationary_loss: the floor vs step size eta * lambda_max (log-log), one colour per sigma,
  a panel per momentum beta: measured (mean over seeds of the tail loss, ± 1 standard
  error), the exact discrete theory sum_i eta sigma^2 (1 + q_i) / (2 (1 - q_i) D_i)
  (theory.stationary_loss) up to the stability edge, and the small-step (SDE)
  approximation eta sigma^2 d / (4 (1 - beta)), which misses the blow-up at the edge.
- stationary_ratio: measured / exact as a heatmap over (eta * lambda_max, beta) per sigma
  (or over (eta * lambda_max, sigma) without a beta axis): 1 everywhere up to the edge.

Needs a quadratic sweep with a sigma axis (a value > 0) and an lr axis; several seeds per
point give the error bars (at least 8 to be compared). --kappa picks one kappa value
(default the first), --sigma / --beta restrict the values drawn.

    python scripts/sgd_noise.py results/noisy_heavy_ball
"""

from __future__ import annotations

import sys

import numpy as np

from fastdescent import _scripts, _scripts_sgd, analysis_sgd, plots_sgd


def add_arguments(p):
    p.add_argument("--kappa", type=_scripts.floats, metavar="K", help="kappa (nearest; first)")
    p.add_argument(
        "--sigma",
        nargs="+",
        type=_scripts.floats,
        metavar="S",
        help="noise levels to draw (nearest on the grid; default all)",
    )
    p.add_argument(
        "--beta",
        nargs="+",
        type=_scripts.floats,
        metavar="B",
        help="momentum values to draw (nearest on the grid; default all)",
    )


def make(args, spec, df):
    if args.beta and spec["optimizer"] == "gd":
        raise _scripts.UserError("--beta: a gd sweep has no momentum")
    kappa = _scripts_sgd.pick(df, "kappa", args.kappa, "kappa", log=True)
    if kappa is not None:
        df = df[df["kappa"] == kappa]
    cells = analysis_sgd.noise_cells(df, spec)
    if args.sigma:
        keep = _scripts.nearest(cells["sigma"], args.sigma, log=True, name="sigma")
        cells = cells[cells["sigma"].isin(keep)]
    if args.beta:
        keep = _scripts.nearest(cells["beta"], args.beta, name="beta")
        cells = cells[cells["beta"].isin(keep)]
    if not cells["measured"].notna().any():
        raise _scripts.UserError(f"sweep {spec['name']!r}: every noisy run diverged")
    lam = analysis_sgd.quadratic_lambdas(spec, kappa if kappa is not None else 1.0)
    h_lo = float(cells["h"].min())
    curves = {}
    for b in np.unique(cells["beta"]):
        for s in np.unique(cells["sigma"]):
            beta = None if spec["optimizer"] == "gd" else b
            curves[(b, s)] = analysis_sgd.noise_curves(spec["optimizer"], lam, beta, s, h_lo)
    return [
        (plots_sgd.stationary_loss(cells, curves, spec), "stationary_loss"),
        (plots_sgd.ratio_heatmap(cells, spec), "stationary_ratio"),
    ]


if __name__ == "__main__":
    sys.exit(_scripts_sgd.main("sgd_noise.py", __doc__, add_arguments, make, "noise"))
