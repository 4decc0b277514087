"""The learning-rate range test (Smith 2017; course section 8.3) against theory's limit.

A range test runs one trajectory whose step size grows geometrically, the schedule
``[schedule] kind = "exp_range"``: eta_t = eta * end_factor ** (t / (steps - 1)), and reads
the loss against eta_t (the step size of the update that leaves w_t). Needs a quadratic
or linreg sweep (gd, heavy ball or Nesterov) with that schedule and a ``[record]`` table
(the per-step losses, DIR/trajectories/); several seeds per grid point give the spreads.
Two figures:

- lr_range_curves: a panel per (beta, kappa): the smoothed loss against eta (median over
  seeds, a band over the seeds, one seed's raw loss in grey), the suggestions the
  libraries make side by side -- pytorch-lr-finder's steepest descent of the smoothed loss
  (EMA smooth_f = 0.05, skip the first 10 and last 5 iterations), fastai's minimum / 10,
  steep and valley (debiased EMA beta = 0.98, rows num_it // 10 .. end - 5) -- each as a
  marker on the curve with a bar spanning the seeds, the stop threshold diverge_th x best,
  the cliff (the first eta at which the smoothed loss exceeds diverge_th times its best so
  far: fastai 4, lr-finder 5; shaded over the seeds) and theory's limit eta < 2 /
  lambda_max (gd), 2 (1 + beta) / lambda_max (heavy ball), 2 (1 + beta) / ((1 + 2 beta)
  lambda_max) (Nesterov) as a dashed red line, in eta units.
- lr_range_cliff: cliff / limit against kappa per (beta, sigma) with the seeds' range,
  the band 1 +- 5 %; and each rule's suggestion / limit.

Where the cliff falls, and why. Let r = ln(end_factor) / (steps - 1). Past the limit the
unstable direction's loss grows by about exp(2 r s^2) after s steps, so it needs an
overshoot eta / eta_max - 1 of about sqrt(r ln R / 2) to climb a factor R up to the
threshold. Without noise the cliff lags far behind the limit: while eta_t < 2 / lambda_max
the lambda_max direction shrinks enormously (to ~0 where eta lambda_max = 1), R is
astronomical and the loss turns up only long after the crossing (heavy ball: 10 % to
several times late, the more the larger r; gd often not within the range at all).
Gradient noise (sigma) or mini-batches re-seed that direction every step, R is moderate
and the cliff lands within a few per cent of the limit once r is small (5e4 steps over a
factor 100: about +1 to +4 %). But noise also sets a floor that rises with eta (the
temperature: about eta sigma^2 d / (4 (1 - beta))): the test reads the limit only if the
loss at the limit is still set by something else. On a quadratic that is the slowest
direction, still decaying: the panels show N, the e-folds of loss it has lost when eta
reaches the limit (2 lambda_min sum eta_t / (1 - beta)); when N is large (small kappa:
every direction sat on its floor long before), the floor's own rise trips the rule early
and the cliff measures the noise, not the limit. On least squares (linreg) it is the
residual loss_min, a floor that does not rise with eta: there the cliff reads the limit
at every kappa while the noise's excess stays below (diverge_th - 1) loss_min.
Mini-batches lower the (mean-square) limit below the drawn 2 / lambda_max line.
Reproduce with scripts/sweeps/lr_range.toml and scripts/sweeps/lr_range_linreg.toml.

Options: --library fastai | lr_finder picks the smoother and stop rule of the curves and
of the cliff figure (each rule keeps its own library's); --smooth-f, --smooth-beta,
--fastai-th, --lr-finder-th change the libraries' defaults; --kappa, --beta, --sigma pick
the panels (nearest grid values; default up to 4 kappas, 3 betas, the largest sigma);
--table prints the cliffs against theory as a table.

    python scripts/lr_range_test.py results/lr_range --table
"""

from __future__ import annotations

import math
import sys

import numpy as np

import fastdescent
from fastdescent import _scripts, analysis_range, plots_range, store
from fastdescent._scripts import UserError

AXES = ("lr", "beta", "kappa", "sigma", "batch_size", "seed")
COLUMNS = ["traj", "eta", "lambda_min", "lambda_max", "status"]
PROBLEMS = ("quadratic", "linreg")


def add_arguments(p):
    p.add_argument("--library", choices=("fastai", "lr_finder"), default="fastai",
                   help="smoother and stop rule of the curves and the cliff (fastai)")  # fmt: skip
    p.add_argument("--smooth-f", type=_scripts.floats, default=0.05, metavar="F",
                   help="lr-finder's EMA weight of the new loss (0.05)")  # fmt: skip
    p.add_argument("--smooth-beta", type=_scripts.floats, default=0.98, metavar="B",
                   help="fastai's debiased EMA beta (0.98)")  # fmt: skip
    p.add_argument("--fastai-th", type=_scripts.floats, default=4.0, metavar="K",
                   help="fastai's stop: smoothed loss > K x best (4)")  # fmt: skip
    p.add_argument("--lr-finder-th", type=_scripts.floats, default=5.0, metavar="K",
                   help="lr-finder's stop: smoothed loss > K x best (5)")  # fmt: skip
    p.add_argument("--kappa", nargs="+", type=_scripts.floats, metavar="K",
                   help="kappa columns (nearest on the grid)")  # fmt: skip
    p.add_argument("--beta", nargs="+", type=_scripts.floats, metavar="B",
                   help="beta rows (nearest on the grid)")  # fmt: skip
    p.add_argument("--sigma", type=_scripts.floats, metavar="S",
                   help="the noise level of the curves (nearest; default the largest)")  # fmt: skip
    p.add_argument("--table", action="store_true", help="print the cliffs against theory")


def _check(spec):
    name = spec.get("name", "?")
    if spec.get("problem") not in PROBLEMS:
        raise UserError(f"sweep {name!r} is on {spec.get('problem')!r}; the range test needs "
                        "'quadratic' or 'linreg' (a lambda_max to compare with)")  # fmt: skip
    if spec.get("optimizer") not in plots_range.LIMIT_TEXT:
        raise UserError(f"sweep {name!r}: no stability limit for optimizer "
                        f"{spec.get('optimizer')!r}")  # fmt: skip
    sched = spec.get("schedule")
    if not isinstance(sched, dict) or sched.get("kind") != "exp_range":
        raise UserError(
            f"sweep {name!r} has no [schedule] of kind 'exp_range'; the range test needs "
            "one: [schedule] kind = 'exp_range', end_factor = F"
        )
    if not spec.get("record"):
        raise UserError(f"sweep {name!r} recorded no trajectories; add a [record] table "
                        "(e.g. every = 1) and run it again")  # fmt: skip


def open_range(directory):
    """(spec, summary rows) of a range-test sweep; UserError before reading rows for a
    sweep of another kind or one without recorded trajectories."""

    def columns(spec, manifest):
        present = manifest.get("columns") or COLUMNS
        axes = [a for a in AXES if a in spec.get("axes", {})]
        return axes + [c for c in COLUMNS if c in present or c == "traj"]

    spec, df = _scripts.read_sweep(directory, _check, columns)
    if not store.trajectories_dir(directory).is_dir():
        raise UserError(f"{directory}: no _trajectories/ (the sweep's [record] wrote nothing)")
    return spec, df


def _pick(df, column, wanted, log, n_max, targets=()):
    if column not in df:
        if wanted:
            raise UserError(f"--{column}: the sweep has no {column} axis")
        return None
    grid = np.unique(df[column].to_numpy(float))
    if wanted:
        return _scripts.nearest(grid, wanted, log=log, name=column)
    return _scripts.representative(grid, targets, n_max, log=log)


def _picked(args, summary):
    """The summary rows of the curves' panels: --kappa (default up to 4), --beta (up to
    3), --sigma (default the largest), and the first lr and batch size."""
    picked = summary
    for column, wanted, log, n_max, targets in (
        ("kappa", args.kappa, True, 4, (1.0, 1e2, 1e4, 1e6)),
        ("beta", args.beta, False, 3, (0.0, 0.5, 0.9)),
        ("sigma", [args.sigma] if args.sigma is not None else None, False, 1, ()),
    ):
        if column == "sigma" and not wanted and column in summary:
            values = [summary[column].max()]
        else:
            values = _pick(summary, column, wanted, log, n_max, targets)
        if values is not None:
            picked = picked[picked[column].isin(values)]
    for column in ("lr", "batch_size"):  # one range test per panel: the first value
        if column in picked:
            picked = picked[picked[column] == picked[column].min()]
    return picked


def make(args, spec, summary):
    if args.beta and spec["optimizer"] == "gd":
        raise UserError("--beta: a gd sweep has no momentum")
    for value, what in ((args.smooth_f, "--smooth-f"), (args.smooth_beta, "--smooth-beta")):
        if not 0.0 <= value < 1.0:
            raise UserError(f"{what} must be in [0, 1), got {value:g}")
    for value, what in ((args.fastai_th, "--fastai-th"), (args.lr_finder_th, "--lr-finder-th")):
        if not value > 1.0:
            raise UserError(f"{what} must be > 1, got {value:g}")
    picked = _picked(args, summary)
    try:
        frame = fastdescent.load_trajectories(args.dir, columns=["traj", "step", "loss", "eta"])
    except Exception as exc:  # a foreign or damaged trajectories/ directory
        raise UserError(f"{args.dir}: cannot read the recorded trajectories: {exc}") from None
    if frame.empty:
        raise UserError(f"{args.dir}: no recorded trajectories")
    recorded = np.unique(frame["traj"].to_numpy())
    summary = summary[summary["traj"].isin(recorded)]
    picked = picked[picked["traj"].isin(recorded)]
    if picked.empty:
        raise UserError("none of the chosen panels' trajectories was recorded")
    steps = int(spec["steps"])
    traj, step, eta, loss, every = analysis_range.table(frame, steps, spec["record"].get("every"))
    params = {
        "lr_finder": {"smooth_f": args.smooth_f, "diverge_th": args.lr_finder_th},
        "fastai": {"beta": args.smooth_beta, "diverge_th": args.fastai_th},
    }
    per = analysis_range.suggestions(traj, step, eta, loss, every, steps, params)
    by = [a for a in AXES if a != "seed" and a in summary]
    table = analysis_range.summarise(per, summary, spec["optimizer"], by)
    if spec["problem"] == "quadratic" and by:  # linreg's floor loss_min makes N moot
        r = math.log(spec["schedule"]["end_factor"]) / max(1, steps - 1)
        t = table.merge(summary.drop_duplicates(by)[[*by, "eta"]], on=by)
        beta = t["beta"].to_numpy(float) if "beta" in t else 0.0
        table["efolds"] = analysis_range.slow_efolds(
            spec["optimizer"], beta, t["lambda_min"].to_numpy(float), t["eta"].to_numpy(float),
            t["limit"].to_numpy(float), r)  # fmt: skip
    if args.table:
        print(analysis_range.cliff_table(table, [k for k in by if table[k].nunique() > 1]))
    library = {"name": args.library}
    if args.library == "fastai":
        library.update(th=args.fastai_th, beta=args.smooth_beta)
        smooth = {"beta": args.smooth_beta}
    else:
        library.update(th=args.lr_finder_th, smooth_f=args.smooth_f)
        smooth = {"smooth_f": args.smooth_f}
    curves = analysis_range.curves(traj, eta, loss, every, picked, by, args.library, **smooth)
    rows = {tuple(r[k] for k in by): r for r in table.to_dict("records")}
    panels = [(c, rows[tuple(c["key"][k] for k in by)]) for c in curves]
    series = [k for k in ("lr", "beta", "sigma", "batch_size") if k in by]
    series = [k for k in series if k != "lr" or table[k].nunique() > 1]
    # the suggestions of the curves' noise level only (each sigma would double the markers)
    suggested = table[table["sigma"] == picked["sigma"].iloc[0]] if "sigma" in by else table
    return [
        (plots_range.range_curves(panels, spec, library), "lr_range_curves"),
        (plots_range.cliff_vs_kappa(table, spec, series, library, suggested), "lr_range_cliff"),
    ]


if __name__ == "__main__":
    sys.exit(_scripts.main("lr_range_test.py", __doc__, add_arguments, make, opener=open_range))
