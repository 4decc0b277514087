"""Noise on a landscape: escape from the saddle, or basin hopping, against the noise level.

- On the saddle (f = x^2 - y^2): the mean escape step of runs started on the stable
  manifold (y0 = 0), per noise level sigma, against theory.escape_steps (the unstable
  root of the method's recursion and the noise-driven amplitude); a lower panel gives
  measured / theory. Without noise such runs never escape.
- On any other landscape: the share of runs that settle in each basin (``basin``: where
  a run ends once the noise is switched off), per sigma, with 95 % Wilson intervals, and
  the equilibrium share of each basin under the Gibbs density exp(-(f - f_min)/T),
  T = eta sigma^2 / (2 (1 - beta)) (noise as a temperature; small-step limit). At small
  sigma the runs stay where they started; the Gibbs curve is where they go given time.

Needs a sigma axis with values > 0 (and seeds). Prints the table it draws.

    python scripts/landscape_noise.py results/saddle_noise
    python scripts/landscape_noise.py results/multimodal_noise
"""

from __future__ import annotations

import sys

import pandas as pd

from fastdescent import _scripts
from fastdescent import analysis_landscape as al
from fastdescent import analysis_landscape_noise as an
from fastdescent import plots_landscape_noise as pn

PROG = "landscape_noise.py"
COLUMNS = ["eta", "status", "steps", "diverge_step", "basin"]


def _check(spec):
    name, problem = spec.get("name", "?"), spec.get("problem")
    if problem in ("quadratic", "linreg"):
        raise _scripts.UserError(
            f"sweep {name!r} is on {problem!r}; this figure needs a landscape (draw noisy "
            "quadratics with sgd_noise.py, linreg with batch_size.py)"
        )
    sigma = spec["axes"].get("sigma")
    values = [] if sigma is None else sigma.get("values", [sigma.get("start"), sigma.get("stop")])
    if not any(v and v > 0 for v in values):
        raise _scripts.UserError(
            f"sweep {name!r} has no gradient noise (no sigma axis with a value > 0); "
            "draw it with landscape.py or basins.py"
        )


def open_sweep(directory):
    """(spec, df) of a noisy landscape sweep (a sigma axis with a value > 0)."""

    def columns(spec, manifest):
        axes = [a for a in ("lr", "beta", "sigma", "seed", "x0", "y0") if a in spec["axes"]]
        return axes + COLUMNS

    return _scripts.read_sweep(directory, _check, columns)


def _start(spec, df):
    start = spec["problem_params"].get("start") or [0.0, 0.0]
    x0 = df["x0"].iloc[0] if "x0" in df else start[0]
    y0 = df["y0"].iloc[0] if "y0" in df else (start[1] if len(start) > 1 else 0.0)
    return float(x0), float(y0)


def make(args, spec, df):
    noisy = df[df["sigma"] > 0]
    if spec["problem"] == "saddle":
        table = an.escape_table(noisy, spec)
        if table.empty:
            raise _scripts.UserError(
                f"sweep {spec['name']!r} has no noisy runs started on the stable manifold (y0 = 0)"
            )
        with pd.option_context("display.width", 160):
            print(table.to_string(index=False, float_format="{:.4g}".format))
        return [(pn.escape_time(table, spec), "escape_time")]
    for axis in ("x0", "y0"):
        if axis in df and df[axis].nunique() > 1:
            raise _scripts.UserError(
                f"sweep {spec['name']!r} varies the start ({axis}); basin hopping needs one "
                "start point (draw start grids with basins.py)"
            )
    info = al.problem_info(spec)
    table = an.occupancy_table(noisy, len(info.minima))
    show = ["eta", "beta", "sigma", "runs"] + [f"p{i}" for i in range(len(info.minima))]
    with pd.option_context("display.width", 160):
        print(table[[c for c in show if c in table] + ["other"]].to_string(
            index=False, float_format="{:.4g}".format))  # fmt: skip

    def temperature(eta, beta, sigma):
        return eta * sigma**2 / (2.0 * (1.0 - beta))

    def gibbs(T):
        return an.gibbs_weights(info, T, n=300)

    fig = pn.occupancy(table, gibbs, temperature, info, spec, _start(spec, df))
    return [(fig, "basin_occupancy")]


def main(argv=None):
    return _scripts.main(PROG, __doc__, lambda p: None, make, argv, opener=open_sweep)


if __name__ == "__main__":
    sys.exit(main())
