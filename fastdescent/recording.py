"""``[record]``: per-step rows of selected trajectories, in ``DIR/trajectories/``.

The table (DESIGN 1.2)::

    [record]
    every = 1                        # keep every k-th step (and always the last)
    where = { beta = [0.0, 0.9] }    # axis values to match (default: every trajectory)
    max_trajectories = 1000          # at most this many, evenly spread over the matches

Selection: the matches are the sub-grid of the axis values listed in ``where`` (each
value must be one of its axis's values, to a relative 1e-9: a range axis's values carry
rounding); of its M points, k = min(M, max_trajectories) are kept, those at positions
floor(i M / k), i = 0 .. k-1, in trajectory order (the first always). The grid is never
materialised: positions are decoded over the matched index sets.

Size guard: k x (steps // every + 2) rows of 8 (5 + d) bytes are estimated before any
work; above RECORD_BYTES the spec is refused, naming the numbers and what to change.

Each chunk's recorded trajectories are recomputed once its summary is done
(``replay.trajectories``: the same bits as the sweep) and written as
``DIR/trajectories/part-NNNNN.parquet`` (NNNNN the chunk index) before the chunk's summary
part, so a chunk the manifest lists as done has its trajectory part.
``load_trajectories(DIR, traj=None, columns=None)`` reads them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ._validate import SpecError, as_int, as_list, check_keys, check_table, fail, show

DEFAULTS = {"every": 1, "max_trajectories": 1000}
RECORD_BYTES = 1 << 30  # the most a sweep's recorded rows may take (estimated)
MAX_RECORDED = 1_000_000  # max_trajectories at most this
DIRNAME = "_trajectories"  # store.TRAJECTORIES (store.trajectories_dir: where they are)
MATCH_RTOL = 1e-9


def parse_record(raw, spec) -> dict:
    """Validate a [record] table against the (otherwise complete) spec -> the normalised
    {"every", "where", "max_trajectories"}; SpecError naming the key."""
    table = check_table(raw, "record")
    check_keys(table, ("every", "where", "max_trajectories"), "record")
    every = as_int(table.get("every", DEFAULTS["every"]), "record.every", ge=1)
    cap = table.get("max_trajectories", DEFAULTS["max_trajectories"])
    cap = as_int(cap, "record.max_trajectories", ge=1, le=MAX_RECORDED)
    where = check_table(table.get("where", {}), "record.where")
    out_where = {}
    for name, values in where.items():
        path = f"record.where.{name}"
        if name not in spec.axes:
            fail(
                path, values, f"not an axis of this sweep (its axes: {', '.join(spec.axis_names)})"
            )
        items = as_list(values if isinstance(values, list) else [values], path)
        _match(spec, name, items, path)  # every value must be on the axis
        out_where[name] = items
    record = {"every": every, "where": out_where, "max_trajectories": cap}
    n = len(select(spec, record))
    rows = n * (spec.steps // every + 2)
    from .trajectory import dimension

    size = rows * 8 * (5 + dimension(spec))
    if size > RECORD_BYTES:
        raise SpecError(
            f"record: {n:,} trajectories x up to {spec.steps // every + 2:,} rows each is "
            f"about {size / 2**30:.1f} GiB, more than the {RECORD_BYTES / 2**30:.0f} GiB "
            "a sweep may record; raise record.every, lower record.max_trajectories or "
            "narrow record.where"
        )
    return record


def _match(spec, name: str, items: list, path: str) -> np.ndarray:
    """Sorted unique grid indices of axis ``name`` whose values are in ``items``."""
    values = spec.axis_values(name)
    found = []
    for i, v in enumerate(items):
        if values.dtype.kind == "U":
            hits = np.flatnonzero(values == v) if isinstance(v, str) else np.empty(0, int)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            tol = MATCH_RTOL * np.maximum(abs(v), np.abs(values))
            hits = np.flatnonzero(np.abs(values - v) <= tol)
        else:
            hits = np.empty(0, int)
        if not len(hits):
            shown = ", ".join(show(x) for x in values[:8].tolist())
            more = ", ..." if len(values) > 8 else ""
            fail(f"{path}[{i}]", v, f"not a value of axes.{name} ({shown}{more})")
        found.append(hits)
    return np.unique(np.concatenate(found)).astype(np.int64)


def select(spec, record: dict) -> np.ndarray:
    """The recorded trajectory ids (module docstring): int64, sorted."""
    where = record["where"]
    sets = []
    for name in spec.axis_names:
        if name in where:
            sets.append(_match(spec, name, where[name], f"record.where.{name}"))
        else:
            sets.append(None)  # every index: i itself
    lengths = [n if s is None else len(s) for s, n in zip(sets, spec.shape, strict=True)]
    m = math.prod(lengths)
    k = min(m, record["max_trajectories"])
    if k == 0:
        return np.empty(0, np.int64)
    pos = np.array([i * m // k for i in range(k)], dtype=object)  # exact for huge grids
    traj = np.zeros(k, dtype=object)
    stride = 1
    for s, n, length in reversed(list(zip(sets, spec.shape, lengths, strict=True))):
        j = pos % length
        pos = pos // length
        idx = j if s is None else np.array([int(s[int(q)]) for q in j], dtype=object)
        traj = traj + idx * stride
        stride *= n
    return np.array([int(t) for t in traj], dtype=np.int64)


def schema(spec):
    """The Arrow schema of the trajectory parts of ``spec``."""
    import pyarrow as pa

    from .trajectory import coordinate_columns, dimension

    fields = [pa.field("traj", pa.int64(), False), pa.field("step", pa.int64(), False)]
    fields += [pa.field(k, pa.float64(), False) for k in ("loss", "grad_norm", "eta")]
    for name in coordinate_columns(spec):
        if name == "w":
            fields.append(pa.field("w", pa.list_(pa.float64(), dimension(spec)), False))
        else:
            fields.append(pa.field(name, pa.float64(), False))
    return pa.schema(fields, metadata={"fastdescent.spec_hash": spec.hash})


def to_table(spec, columns: dict):
    import pyarrow as pa

    schema_ = schema(spec)
    arrays = []
    for field in schema_:
        col = columns[field.name]
        if field.name == "w":
            d = col.shape[1]
            flat = pa.array(np.ascontiguousarray(col).ravel(), pa.float64())
            arrays.append(pa.FixedSizeListArray.from_arrays(flat, d))
        else:
            arrays.append(pa.array(col, field.type))
    return pa.Table.from_arrays(arrays, schema=schema_)


class Recorder:
    """Writes the trajectory part of each chunk of a sweep with ``[record]``."""

    def __init__(self, engine):
        self.engine = engine
        self.spec = engine.spec
        self.ids = select(self.spec, self.spec.record)

    def chunk(self, lo: int, hi: int):
        """The Arrow table of the recorded trajectories among ids lo .. hi-1, or None."""
        from .trajectory import trajectories

        a, b = np.searchsorted(self.ids, [lo, hi])
        if a == b:
            return None
        cols = trajectories(self.spec, self.ids[a:b], self.spec.record["every"], self.engine)
        return to_table(self.spec, cols)

    def write(self, directory: Path, index: int, lo: int, hi: int) -> None:
        """Write chunk ``index``'s part (atomically) if it records any trajectory."""
        table = self.chunk(lo, hi)
        if table is not None:
            write_part(directory, index, table)


def write_part(directory: Path, index: int, table) -> None:
    """Write chunk ``index``'s trajectory table into ``DIR/_trajectories/`` (atomically)."""
    from . import store

    sub = store.trajectories_dir(directory)
    sub.mkdir(exist_ok=True)
    store.write_part(sub, index, table)


def load_trajectories(directory, traj=None, columns=None):
    """The recorded per-step rows of a sweep (``DIR/trajectories/``) as a pandas DataFrame.

    traj: None (all recorded) or ids (an int or a list); columns: a list of names
    (default all: traj, step, loss, grad_norm, eta and the coordinates). Rows are in
    (traj, step) order; ``w`` is a column of float64 arrays. Only the parts of chunks the
    manifest lists as done are read. SweepDirError when the sweep recorded nothing, or
    when an asked trajectory was not recorded (``replay`` recomputes any of them).
    """
    import pyarrow.parquet as pq

    from . import store
    from .spec import parse_spec

    directory = Path(directory)
    manifest = store.open_manifest(directory)
    spec = parse_spec(manifest["spec"])
    if spec.record is None:
        raise store.SweepDirError(
            f"{directory}: this sweep has no [record] table, so no trajectories were "
            "recorded; fastdescent.replay(DIR, traj) recomputes any one of them"
        )
    sub = store.trajectories_dir(directory)
    files = [store.part_path(sub, i) for i in sorted(manifest["chunks_done"])]
    files = [f for f in files if f.exists()]
    schema_ = schema(spec)
    wanted = None
    if traj is not None:
        wanted = np.atleast_1d(np.asarray(traj, dtype=np.int64))
        recorded = select(spec, spec.record)
        missing = np.setdiff1d(wanted, recorded)
        if len(missing):
            raise store.SweepDirError(
                f"{directory}: trajectory {int(missing[0])} was not recorded "
                f"({len(recorded)} were; fastdescent.replay(DIR, traj) recomputes it)"
            )
    if not files:
        table = schema_.empty_table()
    else:
        filters = [("traj", "in", wanted.tolist())] if wanted is not None else None
        table = pq.read_table([str(f) for f in files], schema=schema_, filters=filters)
    if columns is not None:
        table = table.select(list(columns))
    return table.to_pandas()
