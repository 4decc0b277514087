"""A results directory: Parquet parts, the ``_sweep.json`` manifest, ``load``.

Layout (DESIGN 1.5)::

    DIR/_sweep.json          normalised spec, hash, version, chunk plan, chunks done, timings
    DIR/part-00000.parquet   one file per chunk, rows in trajectory order

A part is written to a hidden temporary name (``.part-00000.parquet.tmp``) and renamed
into place when complete, so a reader never sees half a file and a part that exists is
complete. Readers (``pandas.read_parquet(DIR)``, pyarrow datasets) skip names that start
with ``_`` or ``.``. Every part has the same explicit Arrow schema, which carries the spec
in its key-value metadata (``fastdescent.spec``, ``fastdescent.spec_hash``,
``fastdescent.version``), so provenance can be read without loading any rows.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .metrics import STATUS_NAMES

MANIFEST = "_sweep.json"
SPEC_KEY = "fastdescent.spec"
HASH_KEY = "fastdescent.spec_hash"
VERSION_KEY = "fastdescent.version"
STATUS_TYPE = pa.dictionary(pa.int8(), pa.string())
_STATUS_DICTIONARY = pa.array(STATUS_NAMES, pa.string())
_PART = re.compile(r"^part-(\d+)\.parquet$")

#: metric columns every sweep has, after the trajectory and axis columns
METRIC_FIELDS = (
    ("status", STATUS_TYPE),
    ("steps", pa.int32()),
    ("diverge_step", pa.int32()),
    ("loss0", pa.float64()),
    ("final_loss", pa.float64()),
    ("rate", pa.float64()),
)


class SweepDirError(ValueError):
    """A results directory that can't be used for this sweep (user error)."""


def schema(axis_names, derived_names, spec_json: str, spec_hash: str, version: str) -> pa.Schema:
    """The one Arrow schema of every part of a sweep.

    Columns: traj (int64); one per axis in canonical order (seed int64, others float64);
    the derived float64 columns (eta, lambda_min, lambda_max); then METRIC_FIELDS.
    """
    fields = [pa.field("traj", pa.int64(), nullable=False)]
    for name in axis_names:
        fields.append(pa.field(name, pa.int64() if name == "seed" else pa.float64(), False))
    fields += [pa.field(name, pa.float64(), False) for name in derived_names]
    fields += [pa.field(name, typ, False) for name, typ in METRIC_FIELDS]
    meta = {SPEC_KEY: spec_json, HASH_KEY: spec_hash, VERSION_KEY: version}
    return pa.schema(fields, metadata=meta)


def to_table(schema_: pa.Schema, columns: dict[str, np.ndarray]) -> pa.Table:
    """Arrow table from NumPy columns; ``status`` holds int8 codes (fastdescent.metrics)."""
    arrays = []
    for field in schema_:
        col = columns[field.name]
        if field.name == "status":
            arrays.append(
                pa.DictionaryArray.from_arrays(pa.array(col, pa.int8()), _STATUS_DICTIONARY)
            )
        else:
            arrays.append(pa.array(col, field.type))
    return pa.Table.from_arrays(arrays, schema=schema_)


def part_path(directory: Path, index: int) -> Path:
    return Path(directory) / f"part-{index:05d}.parquet"


def write_part(directory: Path, index: int, table: pa.Table) -> Path:
    """Write one part atomically: temporary name, then ``os.replace``. One row group."""
    final = part_path(directory, index)
    tmp = final.with_name(f".{final.name}.tmp")
    # dictionary encoding only where it pays (status): on float columns with ~all-unique
    # values it costs more time than it saves space
    pq.write_table(
        table,
        tmp,
        row_group_size=max(1, table.num_rows),
        compression="zstd",
        use_dictionary=["status"],
    )
    os.replace(tmp, final)
    return final


def parts_done(directory: Path) -> set[int]:
    """Indices of the parts present (a present part is complete: it was renamed in)."""
    directory = Path(directory)
    if not directory.is_dir():
        return set()
    return {int(m.group(1)) for p in directory.iterdir() if (m := _PART.match(p.name))}


def clear(directory: Path) -> None:
    """Remove a sweep's parts, temporary files and manifest (nothing else)."""
    for p in Path(directory).iterdir():
        if _PART.match(p.name) or (p.name.startswith(".part-") and p.name.endswith(".tmp")):
            p.unlink()
    (Path(directory) / MANIFEST).unlink(missing_ok=True)


def remove_temporaries(directory: Path) -> None:
    """Delete half-written parts left by an interrupted run."""
    for p in Path(directory).glob(".part-*.tmp"):
        p.unlink()


def read_manifest(directory: Path) -> dict | None:
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SweepDirError(f"{path}: unreadable manifest ({exc})") from None


def write_manifest(directory: Path, manifest: dict) -> None:
    """Atomic rewrite of ``_sweep.json``."""
    path = Path(directory) / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)


def read_spec_metadata(path: Path) -> dict:
    """The spec stored in one part's key-value metadata, without reading any rows."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[SPEC_KEY.encode()])


def load(directory, columns=None, filters=None):
    """Load a results directory as a pandas DataFrame, one row per trajectory.

    columns: list of column names (default all); filters: pyarrow/pandas filter
    expression, e.g. ``[("status", "==", "converged"), ("kappa", ">", 10)]``.
    ``status`` comes back as a categorical with the categories
    converged, diverged, max_steps, escaped. Rows are in trajectory order.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such results directory")
    files = sorted(directory.glob("part-*.parquet"))
    if not files:
        raise SweepDirError(f"{directory}: no result parts (nothing computed yet?)")
    schema_ = pq.read_schema(files[0])
    table = pq.read_table([str(f) for f in files], columns=columns, filters=filters, schema=schema_)
    return table.to_pandas()
