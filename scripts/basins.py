"""Basins of attraction over the start point (x0, y0) of a landscape sweep.

Each grid cell is a start point, coloured by where its run ended: one colour per listed
minimum (its basin index, colour-blind-safe palette), black for runs that converged
elsewhere (a saddle: basin -1), greys for still moving (max_steps) and diverged, lilac
for escaped (downhill, on problems unbounded below). The minima are marked and numbered,
saddles (x) and maxima (triangles) too. One panel per (eta, beta): --lr / --beta pick
grid values (--lr all: every eta, pages of 9 panels); by default at most 9 panels, the
smallest eta and the grid values on either side of each minimum's local stability limit
(theory.local), so that the basins are seen to vanish as eta passes each limit. Panel
titles name the minima past their limit.

Prints, per panel, the area fraction (share of the start grid) of each basin and of
each other outcome. Needs x0 and y0 axes.

    python scripts/basins.py results/himmelblau_eta
    python scripts/basins.py results/rosenbrock_map_heavy_ball --lr 0.001 --beta 0.9
"""

from __future__ import annotations

import sys

import pandas as pd

from fastdescent import _scripts
from fastdescent import analysis_landscape as al
from fastdescent import plots_landscape as pl

PAGE = 9


def add_arguments(p):
    _scripts.landscape_arguments(p)


def _fraction_table(maps, fractions, info, optimizer) -> pd.DataFrame:
    rows = []
    for bm, frac in zip(maps, fractions, strict=True):
        row = {"eta": bm.eta} if optimizer == "gd" else {"eta": bm.eta, "beta": bm.beta}
        row["runs"] = bm.n
        for k, v in frac.items():
            name = f"basin {k}" if k >= 0 else pl.OTHER_SHORT[k].split(" (")[0]
            row[name] = v
        rows.append(row)
    table = pd.DataFrame(rows).fillna(0.0)
    first = [c for c in ("eta", "beta", "runs") if c in table]
    basins = [f"basin {m.index}" for m in info.minima]
    return table[first + basins + [c for c in table if c not in first + basins]]


def make(args, spec, df):
    axes = spec["axes"]
    if not ("x0" in axes and "y0" in axes):
        have = [a for a in ("x0", "y0") if a in axes]
        what = f"only a {have[0]} axis" if have else "no x0 / y0 axes"
        raise _scripts.UserError(
            f"sweep {spec['name']!r} has {what}; a basin map needs a start grid: x0 and y0 axes"
        )
    info = al.problem_info(spec)
    picks = _scripts.pick_panels(args, spec, df, info, PAGE)
    maps = al.basin_maps(df, spec, picks)
    m = len(info.minima)
    fractions = [al.area_fractions(bm.code, m) for bm in maps]
    opt = spec["optimizer"]
    pasts = [
        [k.index for k in info.minima if bm.eta > k.limit(opt, None if opt == "gd" else bm.beta)]
        for bm in maps
    ]
    table = _fraction_table(maps, fractions, info, opt)
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        fmt = {c: "{:.4g}".format for c in ("eta", "beta")}
        fmt.update({c: "{:.1%}".format for c in table if c not in ("eta", "beta", "runs")})
        grid = f"{len(maps[0].x)} x {len(maps[0].y)}"
        print(f"area fraction of the start grid per outcome ({grid} starts):")
        print(table.to_string(index=False, formatters=fmt))
    pages = [slice(i, i + PAGE) for i in range(0, len(maps), PAGE)]
    figures = []
    for i, page in enumerate(pages):
        fig = pl.basin_maps(maps[page], info, spec, fractions[page], pasts[page])
        figures.append((fig, "basins" + (f"_{i + 1}" if len(pages) > 1 else "")))
    return figures


if __name__ == "__main__":
    sys.exit(_scripts.main("basins.py", __doc__, add_arguments, make, kind="landscape"))
