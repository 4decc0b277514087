"""Mini-batch SGD on least squares (linreg): batch size against step size, noise and theory.

Three figures, for one (kappa, beta, sigma) of the sweep (--kappa / --beta / --sigma,
default the first value of each):

- batch_heatmap: the tail excess loss (mean over seeds) over (batch size B, step size
  eta * lambda_max), diverged cells marked; the mean-square stability edge eta_max(B)
  (bisection on the exact second-moment theory, theory.ms_stable; "epoch" at large n: the
  "subset" edge, said in the legend), the linear scaling rule eta ∝ B (n-1)/(n-B) (the
  small-step law's iso-noise line, anchored at half the edge of the smallest B) and the
  critical batch size where that line meets the edge and has to bend.
- gradient_noise: the gradient-noise variance E|g_B(w) - grad f(w)|^2 vs B at the
  least-squares solution w_hat and at the start point, measured by drawing --draws
  batches per B (default 2000) with the kernel's own sampler (kernels/batches.py), against
  the exact law tr(S_pop)/B * (n-B)/(n-1) and the plain 1/B law.
- loss_vs_batch: the stationary excess loss vs B for up to 5 step sizes (--lr to choose):
  measured vs exact theory (theory.stationary_excess_loss_minibatch; "epoch" only where
  its orderings can be enumerated, else the "subset" value is drawn and labelled as such)
  vs the small-step 1/B law.

    python scripts/batch_size.py results/batch_size
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from fastdescent import _scripts, _scripts_sgd, analysis_sgd, plots_sgd


def add_arguments(p):
    p.add_argument("--kappa", type=_scripts.floats, metavar="K", help="kappa (nearest; first)")
    p.add_argument("--beta", type=_scripts.floats, metavar="B", help="momentum (nearest; first)")
    p.add_argument("--sigma", type=_scripts.floats, metavar="S", help="noise (nearest; first)")
    p.add_argument(
        "--lr",
        nargs="+",
        type=_scripts.floats,
        metavar="LR",
        help="lr values drawn in loss_vs_batch (nearest on the grid; default up to 5)",
    )
    p.add_argument("--draws", type=int, default=2000, help="batches drawn per B (2000)")


def _select(args, spec, df):
    chosen = {}
    for axis, log in (("kappa", True), ("beta", False), ("sigma", False)):
        value = _scripts_sgd.pick(df, axis, getattr(args, axis), axis, log=log)
        if value is not None:
            df = df[df[axis] == value]
        chosen[axis] = value
    return df, chosen


def make(args, spec, df):
    if args.draws < 10:
        raise _scripts.UserError(f"--draws: need at least 10, got {args.draws}")
    if args.beta is not None and spec["optimizer"] == "gd":
        raise _scripts.UserError("--beta: a gd sweep has no momentum")
    df, chosen = _select(args, spec, df)
    opt, params = spec["optimizer"], spec["problem_params"]
    n, sampling = params["n"], params.get("sampling", "epoch")
    beta = None if opt == "gd" else (chosen["beta"] or 0.0)
    sigma = chosen["sigma"] or 0.0
    ds = analysis_sgd.linreg_dataset(spec, chosen["kappa"])
    cells = analysis_sgd.batch_cells(df, spec)
    lmax = float(ds.lambdas.max())

    # (a) heatmap with the stability edge and the linear-scaling line
    dense = analysis_sgd.dense_batches(n, 24)
    dense = np.unique(np.concatenate([dense, cells["batch_size"].to_numpy()]))
    edge = analysis_sgd.ms_edges(ds, dense, opt, sampling, beta)
    anchor_B = int(dense[0])
    anchor_eta = 0.5 * float(edge["eta_max"].iloc[0])
    loss = analysis_sgd.small_step_loss(ds, anchor_eta, anchor_B, sampling, opt, beta, sigma)
    iso_eta = analysis_sgd.iso_noise_eta(ds, dense, sampling, loss, opt, beta, sigma)
    iso = pd.DataFrame({"batch_size": dense, "h": iso_eta * lmax})
    crit = analysis_sgd.critical_batch(dense, iso_eta, edge["eta_max"])
    note = ""
    if (edge["sampling_used"] != sampling).any():
        note = " (of 'subset': no exact epoch theory at this n)"
    heat = plots_sgd.batch_heatmap(cells, edge, iso, crit, spec, note)

    # (b) gradient-noise variance vs B at w_hat and at the start
    points = {"ŵ (least squares)": ds.w_hat, "w₀ (start)": np.asarray(params["start"], float)}
    Bs = np.unique(cells["batch_size"]).astype(int)  # the sweep's, and more up to n - 1
    Bs = np.unique(np.concatenate([Bs, analysis_sgd.dense_batches(n - 1, 10)]))
    table = analysis_sgd.noise_variance_table(ds, Bs, sampling, points, draws=args.draws)
    near_n = n - np.geomspace(1, max(1, n // 4), 12).round().astype(int)
    dense_law = np.unique(np.concatenate([dense, near_n, Bs]))
    dense_noise = analysis_sgd.noise_variance_law(ds, dense_law, sampling, points)
    noise = plots_sgd.gradient_noise(table, dense_noise, spec, args.draws)

    # (c) stationary loss vs B for a few step sizes
    drawable = cells["stochastic"] & (cells["diverged"] == 0) & ~np.isinf(cells["exact"])
    per_h = cells[drawable].groupby("h").size()
    hs = per_h.index[per_h >= min(2, per_h.max())].to_numpy() if len(per_h) else per_h.index
    if args.lr:
        hs_all = np.unique(cells["h"])
        picked = _scripts.nearest(np.unique(cells["lr"]), args.lr, log=True, name="lr")
        lr_to_h = dict(zip(cells["lr"], cells["h"], strict=False))
        hs = np.array([lr_to_h[v] for v in picked if v in lr_to_h and lr_to_h[v] in hs_all])
    elif len(hs) > 5:
        hs = hs[np.unique(np.round(np.linspace(0, len(hs) - 1, 5)).astype(int))]
    # as check_theory: points within 10 % of the mean-square edge are not compared
    edge_eta = dict(zip(edge["batch_size"], edge["eta_max"], strict=True))
    near = cells["eta"] >= 0.9 * cells["batch_size"].map(edge_eta)
    cells = cells.assign(usable=cells["usable"] & ~near)
    sub = cells[cells["h"].isin(hs)]
    curves = analysis_sgd.loss_vs_batch(ds, hs / lmax, dense, opt, sampling, beta, sigma)
    label = "exact theory"
    if sampling == "epoch" and curves["exact"].isna().all():
        # no exact theory for random reshuffling at this n, and its small-step law needs
        # eta * (n/B) * lambda_max << 1: draw the i.i.d. "subset" theory for comparison
        # (reshuffling's loss is below it) and no small-step law
        curves["exact"], curves["small"] = curves["subset"], np.nan
        label = "i.i.d. 'subset' theory (epoch has none at this n; it lies below)"
        sub = sub.assign(
            exact=[
                analysis_sgd.stationary_loss_subset(ds, r.eta, beta, r.batch_size, opt, sigma)
                for r in sub.itertuples()
            ],
            usable=True,  # drawn filled: compared with nothing
        )
    elif sampling == "epoch":
        label = "exact theory (epoch, enumerated orderings)"
    figures = [(heat, "batch_heatmap"), (noise, "gradient_noise")]
    if len(hs):  # else every stochastic run diverged: no stationary loss to draw
        loss_fig = plots_sgd.loss_vs_batch(sub, curves, spec, label, lmax)
        figures.append((loss_fig, "loss_vs_batch"))
    return figures


if __name__ == "__main__":
    sys.exit(_scripts_sgd.main("batch_size.py", __doc__, add_arguments, make, "batch"))
