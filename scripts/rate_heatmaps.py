"""Measured convergence rate over (step size eta*lambda_max, momentum beta), per kappa.

heavy_ball / nesterov sweeps: one panel per kappa (all of them if there are at most 9,
else the grid values nearest the powers of ten in range; or --kappa K [K ...]; or
--kappa all, which writes pages of 9 panels), sharing one colour scale; a sweep with a
fixed spectrum (the course's x^2 + 3y^2) has one kappa and one panel. gd sweeps, and
momentum sweeps with one beta: one map over (eta*lambda_max, kappa). A sweep with one
kappa and no momentum axis has nothing to map: draw it with scripts/lr_sweep.py.
Overlaid: diverged cells, theory's stability limit, theory's optimum, measured
iso-rate contours (rho = 0.5, 0.9, 0.99, 0.999), and with --regions theory's regions
where fastdescent.theory has them. The colour is -log10(1 - rho), so rates near 1 stay
distinguishable; the colour bar is labelled in rho.

Reads only the columns it draws, and only the rows of the kappas it draws (a page at a
time with --kappa all), pooled on NumPy arrays (analysis.grid).

    python scripts/rate_heatmaps.py results/momentum --kappa 1 10 100 1000 10000
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from fastdescent import _scripts, analysis, load, plots
from fastdescent.store import SweepDirError

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


def _axis_len(spec, axis):
    a = spec["axes"].get(axis)
    return 0 if a is None else len(a["values"]) if "values" in a else a["num"]


def _kappa_columns(spec):
    return ["kappa"] if "kappa" in spec["axes"] else ["lambda_min", "lambda_max"]


def open_rates(directory):
    """(spec, (path, kappa grid)): the spec is checked before any row is read, then only
    the column(s) giving kappa are read; ``make`` reads the rows of the kappas it draws."""

    def check(spec):
        _scripts._check_kind(spec, "quadratic")  # a landscape: names the scripts that draw it
        _scripts.check_sweep(spec)
        for axis in spec["axes"]:  # one run (per seed) in each drawn cell
            if axis not in ("lr", "beta", "kappa", "seed") and _axis_len(spec, axis) > 1:
                raise _scripts.UserError(
                    f"sweep {spec.get('name', '?')!r} has a {axis} axis; this figure maps "
                    "one run per (lr, beta, kappa) cell"
                )

    spec, df = _scripts.read_sweep(directory, check, lambda spec, _: _kappa_columns(spec))
    if "kappa" in df:
        kappa = df["kappa"].to_numpy(np.float64)
    else:
        kappa = df["lambda_max"].to_numpy(np.float64) / df["lambda_min"].to_numpy(np.float64)
    return spec, (directory, np.sort(pd.unique(kappa)))


def _rows(directory, spec, kappas=None):
    """The rows analysis.grid needs (only its columns), of the grid values ``kappas``
    (all rows if None)."""
    axes = spec["axes"]
    cols = ["lr"] + [a for a in ("beta", "kappa") if a in axes]
    if axes["lr"].get("relative_to") != "lambda_max":
        cols.append("eta")
    cols += ["lambda_min", "lambda_max", "status", "rate"]
    filters = None
    if kappas is not None and "kappa" in axes:
        filters = [("kappa", "in", [float(k) for k in kappas])]
    try:
        df = load(directory, columns=cols, filters=filters)
    except SweepDirError as exc:
        raise _scripts.UserError(str(exc)) from None
    return analysis.grid(df, spec)


def make(args, spec, opened):
    directory, kgrid = opened
    opt, name = spec["optimizer"], spec.get("name", "?")
    betas = _axis_len(spec, "beta") if opt != "gd" else 0
    if betas < 2 and len(kgrid) < 2:
        only = f"one kappa ({kgrid[0]:.3g})" if len(kgrid) else "no rows"
        what = "no momentum axis" if opt == "gd" else "one momentum"
        raise _scripts.UserError(
            f"sweep {name!r} has {only} and {what}: a heatmap needs two axes; "
            "draw its step-size sweep with scripts/lr_sweep.py"
        )
    kappa_map = betas < 2  # gd, or one momentum: one map over (eta*lambda_max, kappa)
    if kappa_map and args.kappa:
        what = "a gd sweep" if opt == "gd" else "a sweep with one momentum"
        raise _scripts.UserError(f"--kappa: {what} is drawn as one map over kappa")
    if kappa_map:
        pages = [[None]]
        maps = [[analysis.rate_map(_rows(directory, spec), spec)]]
    else:
        if args.kappa == ["all"]:
            kappas = kgrid
        elif args.kappa:
            kappas = _scripts.nearest(kgrid, _scripts.numbers(args.kappa, "--kappa"), True, "kappa")
        else:
            kappas = _scripts.representative(kgrid, [1, 10, 100, 1e3, 1e4, 1e5], PAGE, log=True)
        pages = [kappas[i : i + PAGE] for i in range(0, len(kappas), PAGE)]
        maps = []
        for page in pages:  # one page of rows in memory at a time
            g = _rows(directory, spec, page)
            maps.append([analysis.rate_map(g, spec, k) for k in page])
    vmax = analysis.colour_top([m for page in maps for m in page])
    levels, ticks = analysis.iso_rates(vmax), analysis.decade_ticks(vmax)

    def figures():  # drawn one page at a time as they are saved, not all held at once
        for i, page in enumerate(maps):
            overlays = [analysis.heatmap_overlay(opt, m, regions=args.regions) for m in page]
            fig = plots.rate_heatmaps(page, overlays, spec, vmax, levels, ticks)
            yield fig, "rate_heatmaps" + (f"_{i + 1}" if len(maps) > 1 else "")

    return figures()


if __name__ == "__main__":
    sys.exit(_scripts.main("rate_heatmaps.py", __doc__, add_arguments, make, opener=open_rates))
