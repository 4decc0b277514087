"""Per-step rows of chosen trajectories of a sweep: ``replay`` and what ``[record]`` writes.

``trajectories(spec, traj, every)`` recomputes trajectories by id with
``kernels.record`` (the sweep kernels' own steps, one trajectory at a time: the same
bits) and returns their rows as columns; ``replay(DIR_or_spec, traj)`` is the public
form, one trajectory, every step, as a pandas DataFrame. So any cell of any figure can
be opened after the fact, without having been recorded.

Columns (DESIGN 1.5): ``traj`` int64, ``step`` int64, ``loss``, ``grad_norm``, ``eta``
float64, then the coordinates: ``x``, ``y`` for landscapes (1-D: ``x``), ``w`` (a list of
d float64) for quadratic and linreg. The row of step t holds w_t, f(w_t), |grad f(w_t)|
and eta_t (NaN at t = steps); the last row is the state the run stopped at, as in the
summary row (``steps``, ``final_loss``, ``x_final``, ...).
"""

from __future__ import annotations

import numpy as np

from . import schedules
from .engine import is_landscape, make_engine
from .optimizers import ADAPTIVE, CODES
from .spec import parse_spec

BASE_COLUMNS = ("traj", "step", "loss", "grad_norm", "eta")


def coordinate_columns(spec) -> tuple[str, ...]:
    """The coordinate columns of ``spec``'s trajectory rows."""
    if is_landscape(spec):
        from .problems import get_problem

        return ("x", "y") if get_problem(spec.problem).DIM == 2 else ("x",)
    return ("w",)


def dimension(spec) -> int:
    """d: the number of coordinates of a state."""
    if is_landscape(spec):
        from .problems import get_problem

        return get_problem(spec.problem).DIM
    return spec.problem_params["dim"]


def _one(engine, spec, traj: int, every: int, s_table, s_varies):
    """(n_rows, step, loss, grad_norm, eta, w (n_rows, 2 or d)) of trajectory ``traj``."""
    from .kernels import record

    rows = spec.steps // every + 2
    d = dimension(spec)
    out = (
        np.empty(rows, np.int64), np.empty(rows), np.empty(rows), np.empty(rows),
        np.empty((rows, max(d, 2) if is_landscape(spec) else d)),
    )  # fmt: skip
    cols = engine.coordinates(traj, traj + 1)
    eta = float(cols["eta"][0])
    beta = float(cols["beta"][0]) if "beta" in cols else 0.0
    sigma = float(cols["sigma"][0]) if "sigma" in cols else 0.0
    beta2 = float(cols["beta2"][0]) if "beta2" in cols else 0.0
    eps = float(cols["eps"][0]) if "eps" in cols else 0.0
    seed = np.int64(cols["seed"][0])
    row = schedules.row_index(spec, traj, traj + 1)[0]
    sf = s_table[row]
    floor_on = sigma == 0.0 and not s_varies[row]
    optimizer = CODES[spec.optimizer]
    if is_landscape(spec):
        x0, y0 = (float(cols[k][0]) if k in cols else None for k in ("x0", "y0"))
        start = engine.start
        x0 = start[0] if x0 is None else x0
        y0 = start[1] if y0 is None else y0
        ints, floats = engine.ints, engine.floats
        k = record.landscape(
            int(ints[0]), optimizer, eta, beta, beta2, eps, x0, y0, sigma, seed, d == 2,
            engine.c, sf, spec.steps, floats[0], floats[1], every, *out,
        )  # fmt: skip
    elif spec.problem == "linreg":
        kappa = cols["kappa"][0] if "kappa" in cols else None
        Xr, XrT, r, h, V, gram, xtr, z0, gap0, _ = engine.kernel_tables(kappa)
        B = int(cols["batch_size"][0]) if "batch_size" in cols else engine.n
        stop = spec.stop
        k = record.linreg(
            optimizer, eta, beta, beta2, eps, sigma, seed, B, engine.sampling, Xr, XrT, r, h,
            V, gram, xtr, z0, gap0, engine.dataset(kappa).w_hat, sf, spec.steps, stop["tol"],
            stop["diverge"], every, *out,
        )  # fmt: skip
    else:
        kappa = cols["kappa"] if "kappa" in cols else None
        lam = np.ascontiguousarray(engine._problem.eigenvalues(kappa, spec.problem_params)[0])
        start = np.asarray(spec.problem_params["start"], dtype=np.float64)
        stop = spec.stop
        adaptive = spec.optimizer in ADAPTIVE  # no floor: the lockstep kernel's rows
        k = record.quadratic(
            optimizer, eta, beta, beta2, eps, sigma, seed, lam, start, sf,
            floor_on and not adaptive, spec.steps, stop["tol"], stop["diverge"], every, *out,
        )  # fmt: skip
    return (k, *out)


def trajectories(spec, traj, every: int = 1, engine=None) -> dict:
    """The rows of trajectories ``traj`` (ids, in the order given), every ``every``-th
    step and the last: {column: array}, ``w`` as a (rows, d) float64 array."""
    engine = engine if engine is not None else make_engine(spec)
    _, s_table, s_varies = schedules.sweep_table(spec)
    parts = []
    for t in np.asarray(traj, dtype=np.int64).ravel():
        if not 0 <= t < spec.size:
            raise IndexError(f"trajectory {int(t)} is not in this sweep (ids 0 .. {spec.size - 1})")
        k, step, loss, gnorm, eta, w = _one(engine, spec, int(t), every, s_table, s_varies)
        parts.append((np.full(k, t, np.int64), step[:k], loss[:k], gnorm[:k], eta[:k], w[:k]))
    d = dimension(spec)
    width = 2 if is_landscape(spec) else d
    cat = [np.concatenate([p[q] for p in parts]) if parts else None for q in range(6)]
    if not parts:
        cat = [np.empty(0, np.int64), np.empty(0, np.int64), *(np.empty(0),) * 3]
        cat.append(np.empty((0, width)))
    out = dict(zip(BASE_COLUMNS, cat[:5], strict=True))
    w = cat[5]
    if is_landscape(spec):
        out["x"] = w[:, 0].copy()
        if d == 2:
            out["y"] = w[:, 1].copy()
    else:
        out["w"] = np.ascontiguousarray(w[:, :d])
    return out


def to_frame(columns: dict):
    """A pandas DataFrame of ``trajectories``' columns (``w``: a column of arrays)."""
    import pandas as pd

    data = {k: v for k, v in columns.items() if k != "w"}
    if "w" in columns:
        data["w"] = list(columns["w"])
    return pd.DataFrame(data)


def replay(source, traj: int):
    """Recompute trajectory ``traj`` of a sweep, every step: its per-step rows.

    source: a results directory (its spec is read from it) or a spec (dict, TOML path
    or SweepSpec). Returns a pandas DataFrame with the columns of
    ``DIR/trajectories/`` (module docstring), one row per step t = 0 .. steps of the
    summary row, bit-identical to what the sweep computed (its last row's loss and
    coordinates are the summary's final_loss and x_final, y_final).
    """
    spec = _spec_of(source)
    return to_frame(trajectories(spec, [int(traj)], every=1))


def _spec_of(source):
    from pathlib import Path

    from .spec import SweepSpec
    from .store import open_manifest

    if isinstance(source, SweepSpec) or isinstance(source, dict):
        return parse_spec(source)
    path = Path(source)
    if path.is_dir():
        return parse_spec(open_manifest(path)["spec"])
    return parse_spec(source)
