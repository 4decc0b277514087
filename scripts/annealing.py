"""Annealing: how often noisy runs end in the deepest well, against the noise level sigma,
one curve per learning-rate schedule (constant, step, cosine, cyclical, ...).

Gradient noise acts as a temperature T = eta_t sigma^2 / (2 (1 - beta)), so a schedule
eta_t = eta s(t) is a cooling schedule. Over a grid of start points and seeds, per
(schedule, sigma): the share of runs that end (noise switched off) in the deepest listed
minimum, with its 95 % Wilson interval; the Gibbs share of the deep basin at the base
temperature (dashed: where constant eta ends once the runs have equilibrated); and the
share of start points inside the deep basin (dotted: where the runs end without noise).
Prints the table and, per sigma, each decaying schedule against constant eta (one-sided
two-proportion z-test). With x0 and y0 axes it also maps the share per start point.

Needs a landscape sweep with a sigma axis (a value > 0), ideally a schedule axis.

    python -m fastdescent run scripts/sweeps/annealing.toml
    python scripts/annealing.py results/annealing
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from fastdescent import _scripts
from fastdescent import analysis_anneal as aa
from fastdescent import analysis_landscape as al
from fastdescent import plots_anneal as pa

PROG = "annealing.py"
COLUMNS = ["eta", "status", "basin"]
MAX_MAP_COLUMNS = 4


def _check(spec):
    name, problem = spec.get("name", "?"), spec.get("problem")
    if problem in ("quadratic", "linreg"):
        raise _scripts.UserError(
            f"sweep {name!r} is on {problem!r}; annealing needs a landscape with several "
            "minima (e.g. wells)"
        )
    sigma = spec["axes"].get("sigma")
    values = [] if sigma is None else sigma.get("values", [sigma.get("start"), sigma.get("stop")])
    if not any(v and v > 0 for v in values):
        raise _scripts.UserError(
            f"sweep {name!r} has no gradient noise (no sigma axis with a value > 0): "
            "nothing can hop between wells"
        )


def open_sweep(directory):
    """(spec, df) of a noisy landscape sweep."""

    def columns(spec, manifest):
        axes = [
            a for a in ("lr", "beta", "sigma", "schedule", "seed", "x0", "y0") if a in spec["axes"]
        ]
        return axes + COLUMNS

    return _scripts.read_sweep(directory, _check, columns)


def add_arguments(p):
    p.add_argument(
        "--maps",
        nargs="+",
        type=_scripts.floats,
        metavar="SIGMA",
        help=f"noise levels of the start-point maps (nearest on the grid; at most "
        f"{MAX_MAP_COLUMNS}; default: 0 if swept and three spread over the rest)",
    )
    p.add_argument(
        "--no-gibbs",
        action="store_true",
        help="leave out the Gibbs curve (it integrates the density on a grid)",
    )


def _map_sigmas(args, sigmas):
    if args.maps:
        if len(args.maps) > MAX_MAP_COLUMNS:
            raise _scripts.UserError(f"--maps: at most {MAX_MAP_COLUMNS} values")
        return _scripts.nearest(sigmas, args.maps, name="--maps sigma")
    pos = sigmas[sigmas > 0]
    picks = list(sigmas[sigmas == 0][:1])
    if len(pos):
        idx = np.unique(np.round(np.linspace(0, len(pos) - 1, MAX_MAP_COLUMNS - len(picks))))
        picks += list(pos[idx.astype(int)])
    return np.array(picks)


def make(args, spec, df):
    info = al.problem_info(spec)
    if len(info.minima) < 2:
        raise _scripts.UserError(
            f"{spec['problem']} lists {len(info.minima)} minimum; annealing needs several "
            "wells to choose from"
        )
    deep = aa.deepest(info)
    table = aa.deep_table(df, spec, info, deep)
    if not args.no_gibbs and "T" in table:  # the equilibrium share at each temperature
        temps = np.unique(table["T"].to_numpy())
        hot = temps[temps > 0]
        share = (
            dict(zip(hot, aa.gibbs_deep(info, hot, deep, n=240), strict=True)) if len(hot) else {}
        )
        table["gibbs"] = table["T"].map(lambda t: share.get(t, np.nan))
    cols = (
        "eta",
        "beta",
        "schedule",
        "sigma",
        "T",
        "runs",
        "n_eff",
        "p",
        "lo",
        "hi",
        "gibbs",
        "stayed",
        "other",
    )
    show = [c for c in cols if c in table]
    with pd.option_context("display.width", 160, "display.max_rows", 500):
        print(table[show].to_string(index=False, float_format="{:.4g}".format))
        names = aa.schedule_names(spec)
        if "schedule" in table and aa.CONSTANT in names:
            for name in names:
                if name == aa.CONSTANT:
                    continue
                cmp = aa.compare(table[table["sigma"] > 0], name)
                print(f"\n{name} vs constant eta (one-sided two-proportion z-test):")
                print(cmp.to_string(index=False, float_format="{:.3g}".format))
    factors = aa.schedule_factors(spec)
    tables = aa.schedule_tables(spec)
    labels = {n: aa.schedule_label(n, tables[n], spec["steps"]) for n in factors}

    def gibbs(T):
        return aa.gibbs_deep(info, T, deep, n=240)

    figures = [
        (
            pa.deep_fraction(
                table, factors, labels, spec, info, deep, None if args.no_gibbs else gibbs
            ),
            "annealing",
        )
    ]
    if "x0" in df and "y0" in df and df["x0"].nunique() > 1 and df["y0"].nunique() > 1:
        sigmas = np.unique(df["sigma"].to_numpy()) if "sigma" in df else np.zeros(1)
        pick = _map_sigmas(args, sigmas)
        maps = aa.deep_maps(
            df,
            deep,
            pick,
            [
                n
                for n in names
                if n in set(df.get("schedule", pd.Series([aa.CONSTANT])).astype(str))
            ],
        )
        box = (df["x0"].min(), df["x0"].max(), df["y0"].min(), df["y0"].max())
        grid = al.landscape_grid(info, box, n=200)
        levels = al.contour_levels(info, grid[2], n=10)
        eta = float(df["eta"].iloc[0])
        beta = float(df["beta"].iloc[0]) if "beta" in df else 0.0
        temps = {float(s): float(aa.temperature(eta, beta, s)) for s in pick}
        figures.append(
            (pa.deep_maps(maps, info, grid, levels, spec, deep, temps), "annealing_maps")
        )
    return figures


def main(argv=None):
    return _scripts.main(PROG, __doc__, add_arguments, make, argv, opener=open_sweep)


if __name__ == "__main__":
    sys.exit(main())
