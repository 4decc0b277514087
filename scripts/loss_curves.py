"""Convergence diagnostics of chosen trajectories, as the course plots them: the loss on a
log axis against the step -- the excess loss f(w_t) − f(w*) where the minimum is known
(the quadratic's 0, the minimum a landscape run ends at, linreg's least-squares loss) --
and the gradient norm ‖∇f(w_t)‖, one line per trajectory, labelled by its axis values.
A straight line is linear convergence (its slope the rate); growth is divergence; a
flat stretch a plateau or a saddle. With a schedule a third panel shows η_t.

Which trajectories: as scripts/paths.py (``--where AXIS=V1,V2``, ``--traj 3,7``, by
default the recorded ones, at most ``--max``); the others are recomputed with
``fastdescent.replay``. ``--raw`` plots f(w_t) itself.

    python scripts/loss_curves.py results/course_paths --where beta=0
    python scripts/loss_curves.py results/rosenbrock_paths
"""

from __future__ import annotations

import sys

import numpy as np

from fastdescent import _scripts
from fastdescent import analysis_paths as ap
from fastdescent import plots_paths as pp

PROG = "loss_curves.py"


def open_sweep(directory):
    """(spec, df): the summary rows the choice reads (every problem)."""
    return _scripts.read_sweep(
        directory, lambda spec: None, lambda spec, _m: ap.summary_columns(spec)
    )


def add_arguments(p):
    ap.add_choice_arguments(p)
    p.add_argument("--raw", action="store_true", help="plot f(w_t), not the excess loss")
    p.add_argument("--stem", default="loss_curves", help="file name of the figure (loss_curves)")


def make(args, spec, df):
    if args.max < 1:
        raise _scripts.UserError(f"--max {args.max}: expected at least 1")
    try:
        where = ap.parse_where(args.where)
        traj = ap.parse_traj(args.traj)
        recorded = ap.recorded_ids(args.dir)
        ids, note = ap.select(df, where, traj, args.max, recorded)
        rows = df.set_index("traj", drop=False).loc[ids]
        data = ap.frames(args.dir, ids, recorded)
    except ValueError as exc:
        raise _scripts.UserError(str(exc)) from None
    notes = [note] if note else []
    missing = int(np.sum(~np.isin(ids, recorded)))
    if missing:
        notes.append(f"{missing} recomputed by replay")
    named = ap.varying(rows)
    surf = ap.surface_or_none(spec)
    floors = [
        (None, None) if args.raw else ap.loss_floor(spec, row, surf) for _, row in rows.iterrows()
    ]
    excess = all(f is not None for f, _ in floors)
    texts = {t for _, t in floors if t}
    if excess:
        loss_text = texts.pop() if len(texts) == 1 else "excess loss f(w_t) − f(w*)"
    else:
        loss_text = "loss f(w_t)"
    curves = []
    for (_, row), (floor, _) in zip(rows.iterrows(), floors, strict=True):
        fr = data[int(row["traj"])]
        loss = fr["loss"].to_numpy(np.float64)
        curves.append(
            {
                "step": fr["step"].to_numpy(),
                "loss": loss - floor if excess else loss,
                "grad_norm": fr["grad_norm"].to_numpy(np.float64),
                "eta": fr["eta"].to_numpy(np.float64),
                "label": ap.label(row, named, spec),
            }
        )
    noisy = "sigma" in rows and bool((rows["sigma"] > 0).any())
    return [
        (
            pp.loss_curves(
                curves,
                spec,
                loss_text,
                notes,
                not noisy,
                ap.fixed_text(rows, spec),
                problem=None if surf is None or len(surf.text) > 32 else f"f = {surf.text}",
            ),
            args.stem,
        )
    ]


def main(argv=None):
    return _scripts.main(PROG, __doc__, add_arguments, make, argv, opener=open_sweep)


if __name__ == "__main__":
    sys.exit(main())
