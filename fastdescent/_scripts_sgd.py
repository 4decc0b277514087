"""Command-line plumbing of the stochastic-gradient figure scripts (``scripts/sgd_noise.py``,
``scripts/batch_size.py``), on top of ``fastdescent._scripts`` (same options, same
one-line errors with exit status 2, same output paths)."""

from __future__ import annotations

import numpy as np

from . import _scripts
from ._scripts import UserError

#: the columns the stochastic figures read (axis columns are added per sweep)
COLUMNS = ["eta", "lambda_min", "lambda_max", "status", "loss0", "loss_tail_mean"]
AXES = ("lr", "beta", "kappa", "sigma", "batch_size", "seed")


def _count(spec, axis):
    a = spec["axes"].get(axis)
    return 0 if a is None else len(a["values"]) if "values" in a else a["num"]


def open_sweep(directory, kind):
    """(spec, df) of a results directory for the figure ``kind``: "noise" (a quadratic
    sweep with a sigma axis holding a value > 0) or "batch" (a linreg sweep with
    batch_size and lr axes of >= 2 values each). Raises UserError, before reading rows,
    for a directory that is not a results directory or a sweep of another kind."""

    def columns(spec, manifest):
        axes = [a for a in AXES if a in spec.get("axes", {})]
        return axes + COLUMNS + (["loss_min"] if kind == "batch" else [])

    return _scripts.read_sweep(directory, lambda spec: _check(spec, kind), columns)


def _check(spec, kind):
    name, problem = spec.get("name", "?"), spec.get("problem")
    if kind == "noise":
        if problem != "quadratic":
            raise UserError(
                f"sweep {name!r} is on {problem!r}; this figure needs a noisy 'quadratic' sweep"
                + (" (draw a linreg sweep with batch_size.py)" if problem == "linreg" else "")
            )
        sigma = spec["axes"].get("sigma")
        values = [] if sigma is None else _values(sigma)
        if not any(v > 0 for v in values):
            raise UserError(
                f"sweep {name!r} has no gradient noise (no sigma axis with a value > 0); "
                "draw it with lr_sweep.py or rate_heatmaps.py"
            )
        if _count(spec, "lr") < 2:
            raise UserError(
                f"sweep {name!r} has fewer than 2 lr values; this figure needs an lr axis"
            )
    else:
        if problem != "linreg":
            raise UserError(
                f"sweep {name!r} is on {problem!r}; this figure needs a 'linreg' sweep with a "
                "batch_size axis"
                + (" (draw a noisy quadratic with sgd_noise.py)" if problem == "quadratic" else "")
            )
        for axis in ("batch_size", "lr"):
            if _count(spec, axis) < 2:
                raise UserError(
                    f"sweep {name!r} has fewer than 2 {axis} values; this figure needs a "
                    f"{axis} axis"
                )


def _values(axis):
    if "values" in axis:
        return list(axis["values"])
    return list(np.linspace(axis["start"], axis["stop"], axis["num"]))


def pick(df, column, wanted, name, log=False):
    """The one grid value of ``column`` nearest ``wanted`` (the first value when None)."""
    if column not in df:
        if wanted is not None:
            raise UserError(f"--{name}: the sweep has no {column} axis")
        return None
    grid = np.unique(df[column].to_numpy())
    if wanted is None:
        return float(grid[0])
    return float(_scripts.nearest(grid, [wanted], log=log, name=name)[0])


def main(prog, doc, add_arguments, make, kind, argv=None):
    """``_scripts.main`` for the stochastic figures: the sweep opened by
    ``open_sweep(DIR, kind)``."""
    return _scripts.main(prog, doc, add_arguments, make, argv,
                         opener=lambda directory: open_sweep(directory, kind))  # fmt: skip
