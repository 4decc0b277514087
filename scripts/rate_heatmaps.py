"""Measured convergence rate over (step size eta*lambda_max, momentum beta), per kappa.

heavy_ball / nesterov sweeps: one panel per kappa (all of them if there are at most 9,
else the grid values nearest the powers of ten in range; or --kappa K [K ...]; or
--kappa all, which writes pages of 9 panels), sharing one colour scale. gd sweeps:
one map over (eta*lambda_max, kappa). Overlaid: diverged cells, theory's stability
limit, theory's optimum, measured iso-rate contours (rho = 0.5, 0.9, 0.99, 0.999), and
with --regions theory's regions where fastdescent.theory has them. The colour is
-log10(1 - rho), so rates near 1 stay distinguishable; the colour bar is in rho.

    python scripts/rate_heatmaps.py results/momentum --kappa 1 10 100 1000 10000
"""

from __future__ import annotations

import sys

import numpy as np

from fastdescent import _scripts, analysis, plots

PAGE = 9  # panels per page


def add_arguments(p):
    p.add_argument(
        "--kappa", nargs="+", metavar="K", help="kappa values (nearest on the grid), or 'all'"
    )
    p.add_argument(
        "--regions",
        action="store_true",
        help="overlay theory's regions (monotone / oscillating / complex), if available",
    )


def make(args, spec, df):
    opt = spec["optimizer"]
    _scripts.check_sweep(spec, need=("kappa",) if opt == "gd" else ("beta",))
    if opt == "gd" and args.kappa:
        raise _scripts.UserError("--kappa: a gd sweep is drawn as one map over kappa")
    c = analysis.cells(df, spec)
    grid = np.unique(c["kappa"])
    if opt == "gd":
        pages = [[None]]
    else:
        if args.kappa == ["all"]:
            kappas = grid
        elif args.kappa:
            kappas = _scripts.nearest(grid, _scripts.numbers(args.kappa, "--kappa"), True, "kappa")
        else:
            kappas = _scripts.representative(grid, [1, 10, 100, 1e3, 1e4, 1e5], PAGE, log=True)
        pages = [kappas[i : i + PAGE] for i in range(0, len(kappas), PAGE)]
    maps = [[analysis.rate_map(c, spec, k) for k in page] for page in pages]
    vmax = analysis.colour_top([m for page in maps for m in page])
    levels, ticks = analysis.iso_rates(vmax), analysis.decade_ticks(vmax)
    figures = []
    for i, page in enumerate(maps):
        overlays = [analysis.heatmap_overlay(opt, m, regions=args.regions) for m in page]
        fig = plots.rate_heatmaps(page, overlays, spec, vmax, levels, ticks)
        figures.append((fig, "rate_heatmaps" + (f"_{i + 1}" if len(maps) > 1 else "")))
    return figures


if __name__ == "__main__":
    sys.exit(_scripts.main("rate_heatmaps.py", __doc__, add_arguments, make))
