"""Choosing, labelling and preparing trajectories for the path and loss-curve figures
(scripts/paths.py, scripts/loss_curves.py).

A trajectory is a summary row (``fastdescent.load``: its axis values, ``eta``, ``status``,
``basin``, ...) plus its per-step frame (``fastdescent.load_trajectories`` for recorded
ones, ``fastdescent.replay`` for any other): columns ``traj``, ``step``, ``loss``,
``grad_norm``, ``eta`` and the coordinates (``x``, ``y`` on landscapes; ``w``, a list of d
numbers, on the quadratic and linreg).

- ``parse_where`` / ``parse_traj`` read the command-line choices ``beta=0,0.9`` and
  ``3,7``; ``select`` turns them into trajectory ids: rows whose axis values match
  (nearest grid value per value asked) and, with ids, only those; by default the
  recorded trajectories, else every row; at most ``cap`` of them, evenly spread.
- ``varying`` / ``label`` name a trajectory by the axis values that differ among those
  shown ("η = 0.1, β = 0.9").
- ``surface`` gives what the contours are drawn of: a landscape's f, or the quadratic
  ½ Σ λ_i w_i² for d = 2 (its λ at the row's κ); ``coordinates`` the (x, y) of a frame;
  ``loss_floor`` the minimum value to subtract for the excess loss, where it is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import analysis_landscape as al
from .problems import get_problem

__all__ = [
    "SYMBOLS",
    "Surface",
    "coordinates",
    "fixed_text",
    "label",
    "loss_floor",
    "parse_traj",
    "parse_where",
    "path_box",
    "select",
    "surface",
    "value_text",
    "varying",
]

AXES = ("lr", "beta", "kappa", "sigma", "batch_size", "schedule", "seed", "x0", "y0")
SYMBOLS = {
    "lr": "η",
    "beta": "β",
    "kappa": "κ",
    "sigma": "σ",
    "batch_size": "B",
    "schedule": "schedule",
    "seed": "seed",
    "x0": "x₀",
    "y0": "y₀",
}


def add_choice_arguments(p) -> None:
    """The command-line options that choose trajectories (``parse_where``, ``parse_traj``,
    ``select``): --where AXIS=V1,V2 ..., --traj IDS, --max N."""
    p.add_argument(
        "--where",
        nargs="+",
        metavar="AXIS=V1,V2",
        help="axis values to match, e.g. beta=0,0.9 lr=0.1 (nearest grid values)",
    )
    p.add_argument("--traj", nargs="+", metavar="IDS", help="trajectory ids, e.g. 3,7")
    p.add_argument(
        "--max",
        type=int,
        default=12,
        metavar="N",
        help="draw at most N trajectories, evenly spread (12)",
    )


def parse_where(texts) -> dict[str, list]:
    """["beta=0,0.9", "lr=0.1"] -> {"beta": [0.0, 0.9], "lr": [0.1]}; values that are not
    numbers stay strings (schedule names). ValueError for anything else."""
    out: dict[str, list] = {}
    for text in texts or ():
        axis, sep, values = text.partition("=")
        axis = axis.strip()
        if not sep or axis not in AXES or not values.strip():
            raise ValueError(
                f"--where {text!r}: expected AXIS=V1,V2,... with AXIS one of {', '.join(AXES)}"
            )
        vals = []
        for v in values.split(","):
            v = v.strip()
            try:
                vals.append(float(v))
            except ValueError:
                if axis != "schedule":
                    raise ValueError(f"--where {text!r}: {v!r} is not a number") from None
                vals.append(v)
        out.setdefault(axis, []).extend(vals)
    return out


def parse_traj(texts) -> list[int]:
    """["3,7", "12"] -> [3, 7, 12]; ValueError for anything but integers >= 0."""
    out = []
    for text in texts or ():
        for v in str(text).split(","):
            v = v.strip()
            if not v:
                continue
            if not v.isdigit():
                raise ValueError(f"--traj: {v!r} is not a trajectory index (an integer >= 0)")
            out.append(int(v))
    return list(dict.fromkeys(out))


def _match(column, wanted, axis):
    """Rows of ``column`` equal to the grid value nearest each wanted value."""
    if axis == "schedule":
        col = column.astype(str).to_numpy()
        known = sorted(set(col))
        for w in wanted:
            if str(w) not in known:
                raise ValueError(f"schedule {w!r} is not in the sweep ({', '.join(known)})")
        return np.isin(col, [str(w) for w in wanted])
    col = column.to_numpy(np.float64)
    grid = np.unique(col)
    mask = np.zeros(len(col), dtype=bool)
    for w in wanted:
        if isinstance(w, str):
            raise ValueError(f"{axis} = {w!r} is not a number")
        k = int(np.argmin(np.abs(grid - w)))
        step = np.diff(grid).max() if len(grid) > 1 else 0.0
        if abs(grid[k] - w) > 0.5 * step + 1e-9 * max(1.0, abs(w)):
            raise ValueError(
                f"{axis} = {w:g} is not on the sweep's grid ({grid[0]:g} .. {grid[-1]:g}, "
                f"{len(grid)} values)"
            )
        mask |= col == grid[k]
    return mask


def select(summary, where=None, traj=None, cap=8, recorded=None):
    """Trajectory ids to draw, sorted: (ids int64 array, note or None).

    where: {axis: [values]} (``parse_where``); traj: explicit ids; both: those that
    satisfy both. Neither: the recorded ids (``recorded``) if any, else every row. More
    than ``cap``: ``cap`` of them, evenly spread, and a note saying so. ValueError for an
    axis the sweep lacks, a value off its grid, an unknown id or an empty choice."""
    rows = summary
    for axis, values in (where or {}).items():
        if axis not in rows:
            present = [a for a in AXES if a in summary]
            raise ValueError(f"the sweep has no {axis} axis (its axes: {', '.join(present)})")
        rows = rows[_match(rows[axis], values, axis)]
    ids = rows["traj"].to_numpy(np.int64)
    if traj:
        unknown = sorted(set(traj) - set(summary["traj"].to_numpy(np.int64).tolist()))
        if unknown:
            n = len(summary)
            raise ValueError(
                f"--traj {unknown[0]}: no such trajectory (the sweep has 0 .. {n - 1})"
            )
        ids = ids[np.isin(ids, traj)]
    elif not where and recorded is not None and len(recorded):
        ids = ids[np.isin(ids, np.asarray(recorded, dtype=np.int64))]
    ids = np.unique(ids)
    if len(ids) == 0:
        raise ValueError("no trajectory matches the choice")
    note = None
    if len(ids) > cap:
        pick = np.unique(np.round(np.linspace(0, len(ids) - 1, cap)).astype(np.int64))
        note = f"{len(pick)} of {len(ids)} trajectories shown (evenly spread; --max to change)"
        ids = ids[pick]
    return ids, note


def varying(rows) -> list[str]:
    """The axes whose values differ among ``rows`` (summary rows), in grid order."""
    return [a for a in AXES if a in rows and rows[a].astype(str).nunique() > 1]


def value_text(axis, v, spec) -> str:
    """ "η = 0.1", "β = 0.9", "seed 3", "cosine": one axis value as a label."""
    if axis == "schedule":
        return f"schedule {v}"
    if axis == "seed":
        return f"seed {int(v)}"
    if axis == "batch_size":  # an integer; B = n is the full batch
        params = spec.get("problem_params") or {}
        full = int(v) == params.get("n") and params.get("sampling") != "replacement"
        return f"B = {int(v)}" + (" (full batch)" if full else "")
    if axis == "lr":
        rel = ((spec.get("axes") or {}).get("lr") or {}).get("relative_to")
        return f"η·λmax = {v:.3g}" if rel else f"η = {v:.3g}"
    return f"{SYMBOLS[axis]} = {v:.3g}"


def label(row, axes, spec) -> str:
    """ "η = 0.1, β = 0.9" from a summary row (a mapping) and the axes to name; a run
    that did not converge says so ("diverged", "escaped", "max_steps")."""
    parts = [value_text(a, row[a], spec) for a in axes if a in row]
    text = ", ".join(parts) if parts else f"trajectory {int(row['traj'])}"
    status = str(row.get("status", ""))
    if status in ("diverged", "escaped"):
        text += f" ({status})"
    return text


@dataclass(frozen=True)
class Surface:
    """What a path figure draws contours of: f(x, y) (arrays), the text of f, the
    minima [(x, y, value)], the landscape's ProblemInfo (None for the quadratic), and
    whether its contours are log-spaced in f - f_min."""

    text: str
    f: object
    minima: tuple
    info: object
    log: bool

    @property
    def fmin(self) -> float:
        return min(m[2] for m in self.minima) if self.minima else float("nan")


def _num(v):
    return f"{v:g}"


def _coef(v):
    return "" if v == 1 else _num(v)


def surface(spec, row=None) -> Surface:
    """The contours' function for a sweep's problem: landscapes (2-D) as listed; the
    quadratic with d = 2 as ½(λ₁x² + λ₂y²) at the row's κ. ValueError otherwise."""
    problem = spec["problem"]
    if problem == "quadratic":
        module = get_problem("quadratic")
        params = module.normalise_params(dict(spec.get("problem_params") or {}), "problem_params")
        if params["dim"] != 2:
            raise ValueError(f"the quadratic has dim = {params['dim']}; paths need dim = 2")
        kappa = None if row is None or "kappa" not in row else float(row["kappa"])
        if kappa is None and "lambdas" not in params:
            kappa = float((spec["axes"].get("kappa") or {"values": [1.0]}).get("values", [1.0])[0])
        lam = module.eigenvalues(None if kappa is None else [kappa], params)[0]
        l1, l2 = float(lam[0]), float(lam[1])
        text = f"½({_coef(l1)}x² + {_coef(l2)}y²)"
        if l1 % 2 == 0 and l2 % 2 == 0:
            a, b = l1 / 2, l2 / 2
            text = f"{'' if a == 1 else _num(a)}x² + {'' if b == 1 else _num(b)}y²"

        def f(x, y):
            x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
            return 0.5 * (l1 * x * x + l2 * y * y)

        return Surface(text, f, ((0.0, 0.0, 0.0),), None, False)
    try:
        info = al.problem_info(spec)
    except ValueError as exc:
        raise ValueError(f"problem {problem!r} has no 2-D picture to draw paths on") from exc
    if info.dim != 2:
        raise ValueError(f"{problem} is 1-D; draw its loss curves with loss_curves.py")
    minima = tuple(
        (float(m.location[0]), float(m.location[1]), float(m.value))
        for m in info.minima
        if m.kind == "point"
    )
    return Surface(
        formula(problem, info.params), info.values, minima, info, info.name in al.LOG_LEVELS
    )


def formula(problem, params) -> str:
    """f of a 2-D landscape as a title reads it ("(1 − x)² + 100(y − x²)²")."""
    if problem == "rosenbrock":
        a, b = params["a"], params["b"]
        return f"({_num(a)} − x)² + {_num(b)}(y − x²)²"
    if problem == "donut":
        return f"(x² + y² − {_num(params['r'] ** 2)})²"
    return {
        "multimodal": "sin x cos y + 0.1(x² + y²)",
        "saddle": "x² − y²",
        "himmelblau": "(x² + y − 11)² + (x + y² − 7)²",
        "camel": "(4 − 2.1x² + x⁴/3)x² + xy + (4y² − 4)y²",
        "wells": f"Gaussian wells in the bowl {_num(params.get('bowl', 0.05))}(x² + y²)",
    }.get(problem, problem)


def coordinates(frame) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a per-step frame: its x and y columns, or w[0], w[1] of a list column."""
    if "x" in frame:
        x = frame["x"].to_numpy(np.float64)
        y = frame["y"].to_numpy(np.float64) if "y" in frame else np.zeros_like(x)
        return x, y
    if "w" in frame:
        w = np.stack([np.asarray(v, dtype=np.float64) for v in frame["w"]])
        if w.shape[1] < 2:
            return w[:, 0], np.zeros(len(w))
        return w[:, 0], w[:, 1]
    raise ValueError("the trajectory frame has no coordinates (x, y or w)")


def loss_floor(spec, row, surf=None):
    """(value, text) to subtract from the loss for the excess loss, or (None, None) where
    the minimum is not known: the quadratic's 0; linreg's ``loss_min`` (its least-squares
    residual, a summary column); on a landscape the minimum the run ended in (its
    ``basin``), else the lowest listed minimum."""
    problem = spec["problem"]
    if problem == "quadratic":
        return 0.0, "f(w_t) − f(w*) = f(w_t)"
    if problem == "linreg":
        if row is not None and "loss_min" in row and np.isfinite(row["loss_min"]):
            return float(row["loss_min"]), "loss − least-squares loss"
        return None, None
    surf = surf or surface_or_none(spec)
    info = None if surf is None else surf.info
    if info is None or not info.minima:
        return None, None
    basin = int(row["basin"]) if row is not None and "basin" in row else -1
    if 0 <= basin < len(info.minima):
        return float(info.minima[basin].value), "f(w_t) − f(w*), w* where it ends"
    return float(min(m.value for m in info.minima)), "f(w_t) − f_min (lowest minimum)"


def surface_or_none(spec):
    try:
        return surface(spec)
    except ValueError:
        return None


def path_box(paths, surf, spec, margin=0.12, noisy=False):
    """(xmin, xmax, ymin, ymax) framing the paths. The quadratic: a square centred on the
    minimum holding every point within 1.5x the farthest start's distance from it (a
    diverging path leaves the frame), and a margin. Landscapes: the problem's region (the
    course's frame for Rosenbrock), widened to the points within twice its size, unless
    ``noisy`` (noisy runs wander off: the region, where the wells are)."""
    starts = np.array([(p[0][0], p[1][0]) for p in paths])
    mins = np.array([m[:2] for m in surf.minima]) if surf.minima else np.zeros((1, 2))
    if surf.info is not None:
        r = surf.info.region()
        if noisy:
            return tuple(float(v) for v in r)
        cx, cy, hw, hh = (r[0] + r[1]) / 2, (r[2] + r[3]) / 2, r[1] - r[0], r[3] - r[2]
        xs, ys = [np.array(r[:2])], [np.array(r[2:])]
        for x, y in paths:
            ok = np.isfinite(x) & np.isfinite(y)
            ok &= (np.abs(x - cx) <= 2 * hw) & (np.abs(y - cy) <= 2 * hh)
            xs.append(x[ok])
            ys.append(y[ok])
        x, y = np.concatenate(xs), np.concatenate(ys)
        grow = [x.min() < r[0], x.max() > r[1], y.min() < r[2], y.max() > r[3]]
        w, h = x.max() - x.min(), y.max() - y.min()
        pad = [margin * w * g for g in grow[:2]] + [margin * h * g for g in grow[2:]]
        return (
            float(x.min() - pad[0]),
            float(x.max() + pad[1]),
            float(y.min() - pad[2]),
            float(y.max() + pad[3]),
        )
    d0 = np.hypot(starts[:, None, 0] - mins[None, :, 0], starts[:, None, 1] - mins[None, :, 1])
    reach = 1.5 * max(float(d0.min(axis=1).max()), 1e-3)
    xs, ys = [starts[:, 0]], [starts[:, 1]]
    for x, y in paths:
        ok = np.isfinite(x) & np.isfinite(y)
        dist = np.hypot(x[ok, None] - mins[None, :, 0], y[ok, None] - mins[None, :, 1]).min(axis=1)
        near = dist <= reach
        xs.append(x[ok][near])
        ys.append(y[ok][near])
        if ok.any() and near[-1:].all():  # the end is in view: show its minimum too
            k = int(np.argmin(np.hypot(mins[:, 0] - x[ok][-1], mins[:, 1] - y[ok][-1])))
            xs.append(mins[k : k + 1, 0])
            ys.append(mins[k : k + 1, 1])
    x, y = np.concatenate(xs), np.concatenate(ys)
    # centred on the minimum, as the course frames x² + 3y²: the ellipses whole
    mx, my = mins[0]
    half = (1.0 + margin) * max(np.abs(x - mx).max(), np.abs(y - my).max(), 1e-6)
    return (float(mx - half), float(mx + half), float(my - half), float(my + half))


def fixed_text(rows, spec) -> str:
    """The axis values every row shares, as a title ("η = 0.1"): the axes the sweep
    varies but these rows do not (a single-valued axis of the sweep is left out, unless it
    is the step size)."""
    vary = set(varying(rows))
    out = []
    for a in AXES:
        if a not in rows or a in vary or not len(rows):
            continue
        axis = (spec.get("axes") or {}).get(a) or {}
        n = len(axis["values"]) if "values" in axis else axis.get("num", 1)
        if n > 1 or a == "lr":
            out.append(value_text(a, rows[a].iloc[0], spec))
    return ", ".join(out)


def summary_columns(spec, manifest=None) -> list[str]:
    """The summary columns the path and loss-curve figures read."""
    axes = [a for a in AXES if a in (spec.get("axes") or {})]
    extra = ["basin"] if spec["problem"] not in ("quadratic", "linreg") else []
    extra += ["loss_min"] if spec["problem"] == "linreg" else []
    return ["traj", *axes, "eta", "status", "steps", *extra]


def recorded_ids(directory) -> np.ndarray:
    """The ids of the trajectories recorded in DIR/_trajectories/ (empty if none)."""
    import fastdescent
    from fastdescent import store

    if not store.trajectories_dir(directory).is_dir():
        return np.zeros(0, dtype=np.int64)
    df = fastdescent.load_trajectories(directory, columns=["traj"])
    return np.unique(df["traj"].to_numpy(np.int64))


def frames(directory, ids, recorded=()) -> dict:
    """{id: per-step frame sorted by step}: recorded trajectories read back
    (``load_trajectories``), the others recomputed (``replay``)."""
    import fastdescent

    ids = [int(i) for i in ids]
    have = [i for i in ids if i in set(np.asarray(recorded).tolist())]
    out = {}
    if have:
        df = fastdescent.load_trajectories(directory, traj=have)
        for t, g in df.groupby("traj", sort=True):
            out[int(t)] = g.sort_values("step").reset_index(drop=True)
    for i in ids:
        if i not in out:
            out[i] = fastdescent.replay(directory, i).sort_values("step").reset_index(drop=True)
    return out
