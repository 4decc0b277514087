"""Paths of chosen trajectories over the contours of the loss, as the course draws them:
several per panel, start ● and end ★ marked, the minima (and saddles) shown.

- the course's GD vs momentum from (2, −1) on x² + 3y²:  --where lr=0.1
- its learning-rate sweep's paths:                       --where beta=0
- the Rosenbrock milestone on log-spaced contours:       (every recorded run)

Which trajectories: ``--where AXIS=V1,V2`` (repeatable; the grid values nearest those
asked) and/or ``--traj 3,7`` (ids, the summary's ``traj``); by default the recorded ones
(``[record]`` in the spec; else every row), at most ``--max`` (12), evenly spread.
Recorded trajectories are read from DIR/trajectories/; any other is recomputed
(``fastdescent.replay``, bit-identical to the sweep). Panels: one per value of
``--panel-by AXIS`` (default: kappa when it varies, so each panel has its own contours;
else momentum β or the schedule when they take 2-4 values among more than 4 paths).

Works on 2-D landscapes and on the quadratic with dim = 2 (contours of ½(λ₁x² + λ₂y²)).

    python scripts/paths.py results/course_paths --where lr=0.1 --stem paths_momentum
    python scripts/paths.py results/rosenbrock_paths
"""

from __future__ import annotations

import sys

import numpy as np

from fastdescent import _scripts
from fastdescent import analysis_paths as ap
from fastdescent import plots_paths as pp

PROG = "paths.py"
PANEL_AXES = ("kappa", "beta", "schedule", "sigma", "lr")


def open_sweep(directory):
    """(spec, df): the summary rows the choice reads."""

    def check(spec):
        if spec.get("problem") == "linreg":
            raise _scripts.UserError(
                f"sweep {spec.get('name', '?')!r} is on 'linreg' (d dimensions): no 2-D "
                "picture; draw its loss curves with loss_curves.py"
            )

    return _scripts.read_sweep(directory, check, lambda spec, _m: ap.summary_columns(spec))


def add_arguments(p):
    ap.add_choice_arguments(p)
    p.add_argument(
        "--panel-by",
        choices=PANEL_AXES,
        metavar="AXIS",
        help=f"one panel per value of AXIS ({', '.join(PANEL_AXES)})",
    )
    p.add_argument("--stem", default="paths", help="file name of the figure (paths)")
    p.add_argument(
        "--3d",
        dest="three_d",
        action="store_true",
        help="the loss as a 3-D surface with the paths on it (one panel, no --panel-by)",
    )


def choose(args, spec, df, directory):
    """(ids, rows, recorded, notes) of the trajectories asked for; UserError otherwise."""
    if args.max < 1:
        raise _scripts.UserError(f"--max {args.max}: expected at least 1")
    try:
        where = ap.parse_where(args.where)
        traj = ap.parse_traj(args.traj)
        recorded = ap.recorded_ids(directory)
        ids, note = ap.select(df, where, traj, args.max, recorded)
    except ValueError as exc:
        raise _scripts.UserError(str(exc)) from None
    rows = df.set_index("traj", drop=False).loc[ids]
    notes = [note] if note else []
    missing = int(np.sum(~np.isin(ids, recorded)))
    if missing:
        notes.append(f"{missing} recomputed by replay")
    return ids, rows, recorded, notes


def _panel_axis(args, rows):
    if getattr(args, "three_d", False) and not args.panel_by:
        return None
    if args.panel_by:
        if args.panel_by not in rows:
            raise _scripts.UserError(f"--panel-by {args.panel_by}: the sweep has no such axis")
        return args.panel_by
    vary = ap.varying(rows)
    if "kappa" in vary:
        return "kappa"
    if len(rows) > 4:
        for axis in ("beta", "schedule", "sigma"):
            if axis in vary and rows[axis].astype(str).nunique() <= 4:
                return axis
    return None


def make(args, spec, df):
    ids, rows, recorded, notes = choose(args, spec, df, args.dir)
    axis = _panel_axis(args, rows)
    try:
        data = ap.frames(args.dir, ids, recorded)
        surfaces = {}
        groups = rows.groupby(axis, sort=True, observed=True) if axis else [(None, rows)]
        panels = []
        for value, g in groups:
            surf = ap.surface(spec, g.iloc[0])
            surfaces[value] = surf
            named = [a for a in ap.varying(rows) if a != axis] or ap.varying(g)
            paths = []
            for _, row in g.iterrows():
                x, y = ap.coordinates(data[int(row["traj"])])
                paths.append({"x": x, "y": y, "label": ap.label(row, named, spec)})
            title = None if axis is None else ap.value_text(axis, value, spec)
            if axis == "kappa":
                title += f":  f = {surf.text}"
            panels.append({"title": title, "paths": paths})
    except ValueError as exc:
        raise _scripts.UserError(str(exc)) from None
    surf = next(iter(surfaces.values()))
    everything = [(p["x"], p["y"]) for panel in panels for p in panel["paths"]]
    noisy = "sigma" in rows and bool((rows["sigma"] > 0).any())
    box = ap.path_box(everything, surf, spec, noisy=noisy)
    if axis == "kappa":
        for panel, s in zip(panels, surfaces.values(), strict=True):
            panel["surface"] = s
    fixed = ap.fixed_text(rows, spec)
    what = "½(x² + κy²)" if axis == "kappa" else None
    if args.three_d:
        if len(panels) > 1:
            raise _scripts.UserError(
                f"--3d draws one surface, but the chosen runs span {len(panels)} panels "
                f"({axis}); pick one value with --where {axis}=V"
            )
        fig = pp.surface3d(panels[0]["paths"], surf, box, spec, notes, fixed, what)
        return [(fig, args.stem)]
    return [(pp.paths(panels, surf, box, spec, notes, fixed, noisy, what), args.stem)]


def main(argv=None):
    return _scripts.main(PROG, __doc__, add_arguments, make, argv, opener=open_sweep)


if __name__ == "__main__":
    sys.exit(main())
