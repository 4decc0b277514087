"""Best convergence rate on the grid per condition number kappa, against theory.

For each kappa: the smallest measured rate over the grid's non-diverged points, the
smallest theory.rate over the same grid points (the best a perfect measurement could
find on this grid), and theory's optima over all step sizes: GD (kappa-1)/(kappa+1),
heavy ball (sqrt(kappa)-1)/(sqrt(kappa)+1), and for nesterov sweeps 1 - 2/sqrt(3 kappa + 1).
Plotted as 1 - rho on log-log axes, where GD's 1/kappa and momentum's 1/sqrt(kappa) laws
are straight lines of slope -1 and -1/2. The lower panel divides by the optimum of the
sweep's optimizer, so the cost of the grid spacing shows as the distance below 1.
Needs a kappa axis.

    python scripts/rate_vs_kappa.py results/momentum
"""

from __future__ import annotations

import sys

from fastdescent import _scripts, analysis, plots


def add_arguments(p):
    pass


def make(args, spec, df):
    _scripts.check_sweep(spec, need=("kappa",))
    c = analysis.cells(df, spec)
    best = analysis.best_rate(c, spec["optimizer"])
    laws = analysis.rate_laws(analysis.kappa_line(best["kappa"]))
    return [(plots.rate_vs_kappa(best, laws, spec), "rate_vs_kappa")]


if __name__ == "__main__":
    sys.exit(_scripts.main("rate_vs_kappa.py", __doc__, add_arguments, make))
