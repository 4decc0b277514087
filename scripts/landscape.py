"""Where the runs of a landscape sweep end, drawn on the landscape.

2-D problems: contours of f over the problem's plotting box grown to hold the starts
(log-spaced levels of f - min f for Rosenbrock, as in the course, and for Himmelblau,
the camel and the donut; evenly spaced otherwise), the listed minima as white stars
numbered by basin index (the donut's circle of minima dashed), saddles (x) and maxima
(hollow triangles), the start point (orange ring) or the start grid's outline, and the
final point of every run coloured by its outcome: a disc in its basin's colour behind
each minimum that runs converged to, small dots where runs converged elsewhere (a
saddle: black) or were still moving after the last step (grey). Diverged and escaped
runs end far away; the legend counts every outcome. A panel with at most 3 runs says
where each ended, in words. One panel per (eta, beta): all of them if there are at most
6, else --lr / --beta, or by default the smallest eta and the grid values on either side
of each minimum's local stability limit (theory.local), where its basin vanishes. Panel
titles name the minima whose limit eta has passed.

1-D problems (the quartic): f(x) with the minimum, the inflection point and the start
marked, and the final x of up to 6 step sizes (log-spread) on the curve, the legend
saying where each run ended; with several step sizes, a second panel of final x against
eta with theory's local limit 2 / f''(x*).

    python scripts/landscape.py results/rosenbrock_milestone
    python scripts/landscape.py results/himmelblau_eta --lr 0.014 0.016
"""

from __future__ import annotations

import sys

import numpy as np

from fastdescent import _scripts
from fastdescent import analysis_landscape as al
from fastdescent import plots_landscape as pl

MAX_PANELS = 6
MAX_POINTS = 20_000  # final points drawn per panel (evenly thinned beyond)
MAX_NOTES = 3  # panels with at most this many runs say where each ended, in words


def _describe(df, i, info):
    """Where run i ended, in a few words: 'minimum 0 after 812 steps', 'escaped after 931
    steps', 'still moving after 10,000 steps\nat (0.9925, 0.985), f = 5.7e-05'."""
    row = df.iloc[i]
    where = f"({row['x_final']:.4g}" + (f", {row['y_final']:.4g})" if info.dim == 2 else ")")
    where = where.replace("e+0", "e").replace("e+", "e")
    status, steps = str(row["status"]), int(row["steps"])
    if status == "converged":
        what = f"minimum {int(row['basin'])}" if row["basin"] >= 0 else f"critical point {where}"
        return f"converged to {what}\nafter {steps:,} steps"
    if status == "max_steps":
        return f"still moving after {steps:,} steps\nat {where}, f = {row['final_loss']:.2g}"
    return f"{status} after {steps:,} steps\ntowards {where}"


def add_arguments(p):
    _scripts.landscape_arguments(p)


def _box(info, spec, df):
    """The problem's plotting box, grown to hold the start point(s)."""
    box = list(info.region())
    start = spec["problem_params"]["start"]
    xs = df["x0"] if "x0" in df else np.array([start[0]])
    box[0], box[1] = min(box[0], float(np.min(xs))), max(box[1], float(np.max(xs)))
    if info.dim == 2:
        ys = df["y0"] if "y0" in df else np.array([start[1]])
        box[2], box[3] = min(box[2], float(np.min(ys))), max(box[3], float(np.max(ys)))
    return box


def _start(spec, df):
    start = spec["problem_params"]["start"]
    if "x0" not in df and "y0" not in df:
        return ("point", tuple(start))
    xs = df["x0"] if "x0" in df else np.array([start[0]])
    ys = df["y0"] if "y0" in df else np.array([start[1]])
    span = (float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()))
    return ("grid", span, (int(np.unique(xs).size), int(np.unique(ys).size)))


def _panels(args, spec, df, info):
    if info.dim == 1 and not args.lr and df["eta"].nunique() > MAX_PANELS:
        # on one curve: step sizes evenly spread in log (the limit-aware choice of the
        # 2-D maps would put two of six on either side of one limit)
        etas = _scripts.representative(df["eta"], [], MAX_PANELS, log=True)
        args.lr = [repr(float(e)) for e in etas]
    picks = _scripts.pick_panels(args, spec, df, info, MAX_PANELS)
    if len(picks) > MAX_PANELS and args.lr != ["all"]:
        picks = picks[:MAX_PANELS]
    eta = df["eta"].to_numpy()
    beta = df["beta"].to_numpy() if "beta" in df else np.zeros(len(df))
    code = al.outcomes(df)
    opt = spec["optimizer"]
    out = []
    for e, b in picks:
        sel = np.flatnonzero((eta == e) & (beta == b))
        xf = df["x_final"].to_numpy()[sel]
        yf = df["y_final"].to_numpy()[sel] if info.dim == 2 else np.zeros(len(sel))
        ok = np.isfinite(xf) & np.isfinite(yf)
        keep = np.flatnonzero(ok)
        if len(keep) > MAX_POINTS:
            keep = keep[np.linspace(0, len(keep) - 1, MAX_POINTS).astype(int)]
        counts = dict(zip(*np.unique(code[sel], return_counts=True), strict=True))
        past = [m.index for m in info.minima if e > m.limit(opt, None if opt == "gd" else b)]
        notes = [_describe(df, i, info) for i in sel] if len(sel) <= MAX_NOTES else []
        out.append(
            {
                "eta": e, "beta": b, "x_final": xf[keep], "y_final": yf[keep],
                "code": code[sel][keep], "counts": {int(k): int(v) for k, v in counts.items()},
                "past": past, "lost": int((~ok).sum()), "notes": notes,
            }
        )  # fmt: skip
    return out


def make(args, spec, df):
    info = al.problem_info(spec)
    panels = _panels(args, spec, df, info)
    box = _box(info, spec, df)
    if info.dim == 1:
        curve = al.landscape_grid(info, box, 600)
        eta_curve = None
        one_beta = "beta" not in df or df["beta"].nunique() == 1
        if df["eta"].nunique() > 1 and one_beta:  # final x against eta (one momentum)
            (m,) = info.minima
            opt = spec["optimizer"]
            beta = None if opt == "gd" else float(df["beta"].iloc[0])
            eta_curve = {
                "eta": df["eta"].to_numpy(), "x_final": df["x_final"].to_numpy(),
                "code": al.outcomes(df),
                "limit": float(m.limit(opt, beta)),
            }  # fmt: skip
        start = None if "x0" in df else float(spec["problem_params"]["start"][0])
        fig = pl.landscape_1d(info, curve, panels, spec, box[:2], eta_curve, start)
        return [(fig, "landscape")]
    grid = al.landscape_grid(info, box, 300)
    levels = al.contour_levels(info, grid[2])
    fig = pl.landscape(info, grid, levels, panels, spec, box, _start(spec, df))
    return [(fig, "landscape")]


if __name__ == "__main__":
    sys.exit(_scripts.main("landscape.py", __doc__, add_arguments, make, kind="landscape"))
