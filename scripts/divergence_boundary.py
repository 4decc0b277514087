"""Measured vs theoretical divergence boundary of a sweep, with a residual panel.

For each beta (heavy_ball / nesterov; pooled over kappa, which it should not depend on in
units of eta*lambda_max) or each kappa (gd): the smallest eta*lambda_max on the grid whose
run diverged, and the smallest whose run diverged or measured rate >= 1, against theory's
stability limit (gd 2, heavy ball 2(1+beta), nesterov 2(1+beta)/(1+2beta)). The residual
panel shows measured - theory in lr grid steps: an exact measurement lies in [0, 1). A
run just past the limit grows slowly, so "diverged" (loss above stop.diverge x loss0
within the step budget) can come a step or two later; the dashed line is where theory
says that happens.

    python scripts/divergence_boundary.py results/momentum
"""

from __future__ import annotations

import sys

from fastdescent import _scripts, analysis, plots


def add_arguments(p):
    pass


def make(args, spec, df):
    _scripts.check_sweep(spec)
    c = analysis.cells(df, spec)
    t = analysis.boundary(c, spec)
    by = "kappa" if spec["optimizer"] == "gd" else "beta"
    pooled = analysis.pool_boundary(t, by)
    if pooled.empty:
        hi = float(c["h"].max())
        raise _scripts.UserError(f"no run diverged (largest eta*lambda_max on the grid: {hi:g})")
    dense = analysis.limit_line(spec["optimizer"], pooled[by], by)
    fig = plots.divergence_boundary(pooled, dense, spec)
    return [(fig, "divergence_boundary")]


if __name__ == "__main__":
    sys.exit(_scripts.main("divergence_boundary.py", __doc__, add_arguments, make))
