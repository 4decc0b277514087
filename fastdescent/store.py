"""A results directory: verified Parquet parts, the ``_sweep.json`` manifest, a lock, ``load``.

Layout (DESIGN 1.5)::

    DIR/_sweep.json          normalised spec, hash, version, chunk plan, chunks done, timings
    DIR/part-00000.parquet   one file per chunk, rows in trajectory order
    DIR/.fastdescent.lock    held (flock) by the one run that owns DIR; never deleted
    DIR/_rejected/           parts and manifests that failed verification, moved aside

Rules that keep a table trustworthy:

- **The manifest is the source of truth.** Readers (``load``, ``fastdescent info``) read
  exactly the parts it lists as done, and verify each: spec hash, row count, first and
  last ``traj`` (from the footer statistics) and schema, then the Parquet page checksums
  while reading. Other files in DIR are never merged.
- **Writes are atomic and never go through a link.** A part or manifest is written to a
  temporary name unique to the process (``.part-00000.parquet.<pid>.<random>.tmp``),
  created with ``O_CREAT | O_EXCL | O_NOFOLLOW``, and renamed into place by
  ``_publish`` (``os.replace``) when complete: a name that exists is complete.
- **One run at a time.** ``lock`` takes an advisory ``flock`` on ``.fastdescent.lock``
  before the manifest is read; the kernel releases it when the process dies, so a killed
  run never leaves DIR locked.
- **Nothing foreign is deleted.** A part that fails verification is moved to
  ``DIR/_rejected/`` (pyarrow and pandas skip names that start with ``_``), and so is a
  damaged manifest; only this package's own temporary names are removed.

Every part has the same explicit Arrow schema, which carries the spec in its key-value
metadata (``fastdescent.spec``, ``fastdescent.spec_hash``, ``fastdescent.version``), so
provenance can be read without loading any rows.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import secrets
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .metrics import STATUS_NAMES
from .spec import INT_AXES

MANIFEST = "_sweep.json"
LOCK = ".fastdescent.lock"
REJECTED = "_rejected"
#: [record]'s parts (fastdescent.recording): "_" keeps them out of what pyarrow's and
#: pandas' discovery of DIR reads (they skip names starting with "_" or ".")
TRAJECTORIES = "_trajectories"
#: where fastdescent 0.2.0 wrote them before this (such a DIR keeps using it)
LEGACY_TRAJECTORIES = "trajectories"
#: Parquet's summary file of the parts (written when a sweep with [record] completes):
#: dask.dataframe reads the files it lists, so not the trajectory parts
SUMMARY = "_metadata"
SPEC_KEY = "fastdescent.spec"
HASH_KEY = "fastdescent.spec_hash"
VERSION_KEY = "fastdescent.version"
CATEGORIES_KEY = "fastdescent.categories"  # a dictionary axis column's names, in order
CRITICAL_KEY = "fastdescent.critical_points"  # landscapes: their minima, saddles, maxima
FORMAT = 1
STATUS_TYPE = pa.dictionary(pa.int8(), pa.string())
_STATUS_DICTIONARY = pa.array(STATUS_NAMES, pa.string())
_PART = re.compile(r"^part-(\d{5,})\.parquet$")
# temporary names this package writes: current (pid and random suffix) and older versions'
_TEMP = re.compile(r"^\.(part-\d{5,}\.parquet|_sweep\.json|_metadata)(\.\d+\.[0-9a-f]+)?\.tmp$")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

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
    """A results directory that can't be used as asked (a user error: one clear line)."""


class SweepIncompleteError(SweepDirError):
    """``load`` of a sweep whose chunks are not all done (pass ``allow_partial=True``)."""


class PartialSweepWarning(UserWarning):
    """``load(..., allow_partial=True)`` returned the rows of an unfinished sweep."""


class DirectoryInUseError(SweepDirError):
    """Another process holds the directory's lock."""


# ---------------------------------------------------------------------------------------
# schema and tables


def schema(
    axis_names,
    derived_names,
    spec_json: str,
    spec_hash: str,
    version: str,
    extra=(),
    extra_metadata=None,
    categories=None,
) -> pa.Schema:
    """The one Arrow schema of every part of a sweep.

    Columns: traj (int64); one per axis in canonical order (seed int64, others float64);
    the derived float64 columns (quadratics: eta, lambda_min, lambda_max; landscapes:
    eta); then METRIC_FIELDS; then ``extra``, (name, Arrow type) pairs (landscapes:
    x_final, y_final float64, basin int32). ``extra_metadata``: more key-value metadata
    (landscapes: CRITICAL_KEY, their minima and other critical points as JSON).
    ``categories``: {axis: its values} for axes of names (the schedule axis): a
    dictionary column (int8 codes, a pandas categorical), the names in the field's
    metadata, so ``to_table`` writes the same dictionary into every part.
    """
    categories = categories or {}
    fields = [pa.field("traj", pa.int64(), nullable=False)]
    for name in axis_names:
        if name in categories:
            meta = {CATEGORIES_KEY: json.dumps(list(categories[name]))}
            fields.append(pa.field(name, STATUS_TYPE, False, metadata=meta))
            continue
        fields.append(pa.field(name, pa.int64() if name in INT_AXES else pa.float64(), False))
    fields += [pa.field(name, pa.float64(), False) for name in derived_names]
    fields += [pa.field(name, typ, False) for name, typ in (*METRIC_FIELDS, *extra)]
    meta = {SPEC_KEY: spec_json, HASH_KEY: spec_hash, VERSION_KEY: version}
    meta.update(extra_metadata or {})
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
        elif field.metadata and CATEGORIES_KEY.encode() in field.metadata:
            names = json.loads(field.metadata[CATEGORIES_KEY.encode()])
            values, inverse = np.unique(np.asarray(col, dtype=np.str_), return_inverse=True)
            codes = np.array([names.index(v) for v in values], np.int8)[inverse]
            arrays.append(
                pa.DictionaryArray.from_arrays(pa.array(codes, pa.int8()), pa.array(names))
            )
        else:
            arrays.append(pa.array(col, field.type))
    return pa.Table.from_arrays(arrays, schema=schema_)


# ---------------------------------------------------------------------------------------
# atomic writes: every part and manifest goes through _new_temp and _publish


def part_path(directory: Path, index: int) -> Path:
    return Path(directory) / f"part-{index:05d}.parquet"


def _new_temp(final: Path) -> tuple[int, Path]:
    """Create a fresh temporary file next to ``final``; (fd, path). The name is unique to
    this process and the file is created with O_EXCL | O_NOFOLLOW, so it never opens an
    existing file or a link someone planted."""
    while True:
        tmp = final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
        except FileExistsError:
            continue
        return fd, tmp


def _write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` into the freshly created temporary file ``path`` (the manifest)."""
    _write_fd(os.open(path, os.O_WRONLY | _NOFOLLOW), data)


def _publish(tmp: Path, final: Path) -> None:
    """Rename a finished temporary file into place (atomic: readers see all or nothing)."""
    os.replace(tmp, final)


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


#: how parts are encoded: lz4 (W1, 8 parts: 72 ms and 15.5 MB to encode, against 86 ms
#: and 15.0 MB with zstd, which took 4% of the end-to-end time on 2 cores, where the
#: writer thread shares the cores with the kernel); traj, consecutive integers,
#: delta-encoded (3 ms less per part, and smaller); dictionary encoding only for status
#: (on floats with ~all-unique values it costs more than it saves); Parquet page
#: checksums (CRC32), verified by ``load``
_PARQUET_OPTIONS = {
    "compression": "lz4",
    "use_dictionary": ["status"],
    "column_encoding": {"traj": "DELTA_BINARY_PACKED"},
    "write_page_checksum": True,
}


def write_part(directory: Path, index: int, table: pa.Table) -> Path:
    """Write one part atomically: unique temporary name, then ``_publish``. One row group,
    encoded as _PARQUET_OPTIONS says."""
    final = part_path(directory, index)
    fd, tmp = _new_temp(final)
    try:
        sink = pa.BufferOutputStream()  # encoded natively, then written in one go
        pq.write_table(table, sink, **parquet_options(table))
        owned, fd = fd, None
        _write_fd(owned, sink.getvalue())
        _publish(tmp, final)
    except BaseException:
        if fd is not None:
            os.close(fd)
        _discard(tmp)
        raise
    return final


def parquet_options(table: pa.Table, checksums: bool = True) -> dict:
    """Keyword arguments of ``pq.write_table`` for a part holding ``table``.

    Min/max statistics are written for the coordinate columns only (traj, the axes and the
    derived columns, all before the first metric column): ``check_part`` reads traj's, and a
    reader filtering on an axis (``pq.read_table(DIR, filters=...)``) skips parts by them.
    The metric columns vary over every part, so their statistics would skip nothing; leaving
    them out saves about 13 % of the encoding time (W1: 7.4 ms against 8.5 ms a part).
    """
    names = table.column_names
    stats = names[: names.index(METRIC_FIELDS[0][0])] if METRIC_FIELDS[0][0] in names else names
    options = dict(_PARQUET_OPTIONS, write_page_checksum=checksums, write_statistics=stats)
    return dict(options, row_group_size=max(1, table.num_rows))


def _write_fd(fd: int, data) -> None:
    """Write all of ``data`` (bytes-like) to ``fd`` and close it."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_manifest(directory: Path, manifest: dict) -> None:
    """Atomic rewrite of ``_sweep.json``."""
    final = Path(directory) / MANIFEST
    data = (json.dumps(manifest, indent=1) + "\n").encode()
    fd, tmp = _new_temp(final)
    os.close(fd)
    try:
        _write_bytes(tmp, data)
        _publish(tmp, final)
    except BaseException:
        _discard(tmp)
        raise


# ---------------------------------------------------------------------------------------
# the lock


class Lock:
    """An exclusive advisory lock on ``DIR/.fastdescent.lock`` (``flock``), holding this
    process's pid. Released by ``release`` or when the process ends, however it ends.
    The lock file itself is never deleted (deleting it would let two runs lock two
    different files)."""

    def __init__(self, directory: Path):
        import fcntl

        self.path = Path(directory) / LOCK
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder()
            os.close(self.fd)
            raise DirectoryInUseError(
                f"{directory} is in use by another run (pid {holder}); wait for it to "
                "finish, or choose another --out"
            ) from None
        except BaseException:
            os.close(self.fd)
            raise
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)

    def _holder(self) -> str:
        """The pid the holder wrote (it writes it just after taking the lock: wait up to
        a second for it)."""
        for _ in range(100):
            text = os.pread(self.fd, 32, 0).decode(errors="replace").strip()
            if text:
                return text
            time.sleep(0.01)
        return "?"

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor releases the flock
            self.fd = None


# ---------------------------------------------------------------------------------------
# manifests


def read_manifest(directory: Path) -> dict | None:
    """The manifest as JSON, or None if DIR has none. SweepDirError if it is not valid
    JSON (``validate_manifest`` checks its contents)."""
    manifest, reason = _read_json(Path(directory) / MANIFEST)
    if reason is not None:
        raise SweepDirError(f"{Path(directory) / MANIFEST}: damaged manifest ({reason})")
    return manifest


def _read_json(path: Path):
    """(parsed JSON, None); (None, None) if there is no file; (None, why) if it is not
    valid JSON. SweepDirError if it cannot be read."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise SweepDirError(f"{path}: unreadable manifest ({exc.strerror})") from None
    try:
        return json.loads(text), None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        return None, f"not valid JSON: {exc}"


def manifest_state(directory: Path) -> tuple[object, str | None]:
    """The manifest and why it cannot be trusted: (manifest, None) if valid; (what was
    read, reason) if damaged (what was read is None when it is not JSON); (None, None)
    if DIR has none."""
    manifest, reason = _read_json(Path(directory) / MANIFEST)
    if manifest is not None:
        with warnings.catch_warnings():  # a valid spec's warnings are the run's business
            warnings.simplefilter("ignore")
            reason = validate_manifest(manifest)
    return manifest, reason


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def validate_manifest(m) -> str | None:
    """Why the manifest ``m`` cannot be trusted, or None if it is consistent.

    Checks types, that the chunk plan agrees with itself (n_chunks = ceil(n_trajectories /
    chunk_size), chunks_done distinct indices in range), and that the spec it holds parses
    and hashes to ``spec_hash`` with n_trajectories trajectories.
    """
    from .spec import SpecError, parse_spec

    if not isinstance(m, dict):
        return f"expected a JSON object, got {type(m).__name__}"
    checks = {
        "format": lambda x: _is_int(x) and x == FORMAT,
        "spec": lambda x: isinstance(x, dict),
        "spec_hash": lambda x: isinstance(x, str) and re.fullmatch(r"[0-9a-f]{64}", x),
        "version": lambda x: isinstance(x, str),
        "n_trajectories": lambda x: _is_int(x) and x >= 1,
        "chunk_size": lambda x: _is_int(x) and x >= 1,
        "n_chunks": _is_int,
        "chunks_done": lambda x: isinstance(x, list) and all(_is_int(i) for i in x),
        "complete": lambda x: isinstance(x, bool),
        "kernel_seconds": _is_number,
        "write_seconds": _is_number,
        "total_seconds": _is_number,
        "trajectory_steps": _is_int,
        "runs": lambda x: isinstance(x, list) and all(isinstance(r, dict) for r in x),
    }
    for key, ok in checks.items():
        if key not in m:
            return f"missing key {key!r}"
        if not ok(m[key]):
            return f"{key} = {_short(m[key])} is not valid"
    n, size = m["n_trajectories"], m["chunk_size"]
    if m["n_chunks"] != -(-n // size):
        return f"n_chunks = {m['n_chunks']} does not match {n} trajectories in chunks of {size}"
    done = m["chunks_done"]
    if len(set(done)) != len(done) or any(not 0 <= i < m["n_chunks"] for i in done):
        return "chunks_done holds repeated or out-of-range chunk indices"
    if m["complete"] != (len(done) == m["n_chunks"]):
        return "complete disagrees with chunks_done"
    try:
        spec = parse_spec(m["spec"])
    except (SpecError, RecursionError) as exc:
        return f"its spec is not valid ({exc})"
    if spec.hash != m["spec_hash"]:
        return "its spec does not hash to spec_hash"
    if spec.size != n:
        return f"n_trajectories = {n}, but its spec has {spec.size} trajectories"
    return None


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def open_manifest(directory: Path) -> dict:
    """The validated manifest of a results directory, for readers. SweepDirError (with
    what to do) if DIR is missing, not a results directory or its manifest is damaged."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such results directory")
    manifest, reason = manifest_state(directory)
    if manifest is None and reason is None:
        raise SweepDirError(
            f"{directory}: not a fastdescent results directory (no {MANIFEST}); if a run "
            "was interrupted, run the same `fastdescent run` command again to repair it"
        )
    if reason is not None:
        raise SweepDirError(
            f"{directory / MANIFEST}: damaged manifest ({reason}); run the same "
            "`fastdescent run` command again to rebuild it from the verified parts"
        )
    return manifest


def rows_done(manifest: dict) -> int:
    """Rows in the chunks the manifest lists as done."""
    n, size = manifest["n_trajectories"], manifest["chunk_size"]
    return sum(min(size, n - i * size) for i in manifest["chunks_done"])


# ---------------------------------------------------------------------------------------
# verification of parts


def check_part(path: Path, lo: int, hi: int, spec_hash: str, schema_: pa.Schema) -> str | None:
    """Why the part at ``path`` is not chunk [lo, hi) of the sweep ``spec_hash``, or None.

    Reads the footer only: the spec hash in the key-value metadata, the schema (names,
    types), the row count and the min/max of ``traj`` from the column statistics.
    """
    try:
        meta = pq.read_metadata(path)
        arrow = meta.schema.to_arrow_schema()
    except (OSError, pa.ArrowException, ValueError) as exc:
        return f"unreadable ({_first_line(exc)})"
    kv = arrow.metadata or {}
    found = kv.get(HASH_KEY.encode(), b"").decode(errors="replace")
    if found != spec_hash:
        return f"belongs to another sweep (spec hash {found[:12] or 'none'})"
    if not arrow.equals(schema_, check_metadata=False):
        return "has another schema"
    if meta.num_rows != hi - lo:
        return f"has {meta.num_rows} rows, expected {hi - lo}"
    if meta.num_row_groups < 1:
        return "has no row groups"
    first = meta.row_group(0).column(0).statistics
    last = meta.row_group(meta.num_row_groups - 1).column(0).statistics
    if first is None or last is None or not (first.has_min_max and last.has_min_max):
        return "has no traj statistics"
    if (first.min, last.max) != (lo, hi - 1):
        return f"holds traj {first.min}..{last.max}, expected {lo}..{hi - 1}"
    return None


def part_footer(path: Path) -> tuple[str, int, int] | None:
    """(spec hash, first traj, rows) from a part's footer; None if it cannot be read."""
    try:
        meta = pq.read_metadata(path)
        kv = meta.schema.to_arrow_schema().metadata or {}
        stats = meta.row_group(0).column(0).statistics
        first = stats.min if stats is not None and stats.has_min_max else -1
    except (OSError, pa.ArrowException, ValueError, IndexError):
        return None
    return kv.get(HASH_KEY.encode(), b"").decode(errors="replace"), first, meta.num_rows


def verify_pages(path: Path) -> str | None:
    """Read every page of a part with checksum verification; why it failed, or None."""
    try:
        pq.ParquetFile(path, page_checksum_verification=True).read()
    except (OSError, pa.ArrowException, ValueError) as exc:
        return f"damaged ({_first_line(exc)})"
    return None


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def part_files(directory: Path) -> dict[int, Path]:
    """{chunk index: path} of the files named like parts in DIR (not yet verified)."""
    out = {}
    for p in Path(directory).iterdir():
        m = _PART.match(p.name)
        if m:
            out[int(m.group(1))] = p
    return out


def reject(directory: Path, path: Path) -> Path:
    """Move ``path`` to DIR/_rejected/ (with a time stamp), keeping it for the user."""
    target_dir = Path(directory) / REJECTED
    target_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = target_dir / f"{path.name}.{stamp}.{secrets.token_hex(2)}"
    os.replace(path, target)
    return target


def trajectories_dir(directory: Path) -> Path:
    """Where a sweep's recorded trajectories are: ``DIR/_trajectories/``, or
    ``DIR/trajectories/`` in a directory fastdescent 0.2.0 started."""
    legacy = Path(directory) / LEGACY_TRAJECTORIES
    return legacy if legacy.is_dir() else Path(directory) / TRAJECTORIES


def write_summary(directory: Path, indices, schema_: pa.Schema) -> None:
    """Write ``DIR/_metadata`` (atomically): the footers of parts ``indices``, so that
    ``dask.dataframe.read_parquet(DIR)`` reads exactly those files (without it, Dask
    reads every ``*.parquet`` below DIR, recorded trajectories included)."""
    collected = []
    for i in indices:
        path = part_path(directory, i)
        meta = pq.read_metadata(path)
        meta.set_file_path(path.name)
        collected.append(meta)
    final = Path(directory) / SUMMARY
    fd, tmp = _new_temp(final)
    os.close(fd)
    try:
        pq.write_metadata(schema_, tmp, metadata_collector=collected)
        _publish(tmp, final)
    except BaseException:
        _discard(tmp)
        raise


def remove_temporaries(directory: Path) -> list[str]:
    """Delete this package's temporary files left by interrupted runs (regular files
    only: a link with such a name is left alone). Call only while holding the lock."""
    removed = []
    for p in Path(directory).iterdir():
        if _TEMP.match(p.name) and p.is_file() and not p.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p.name)
    return removed


def other_files(directory: Path, manifest: dict) -> list[str]:
    """Names in DIR that are not part of the sweep the manifest describes."""
    done = {part_path(directory, i).name for i in manifest["chunks_done"]}
    ours = {MANIFEST, LOCK, REJECTED, TRAJECTORIES, LEGACY_TRAJECTORIES, SUMMARY}
    return sorted(p.name for p in Path(directory).iterdir() if p.name not in done | ours)


# ---------------------------------------------------------------------------------------
# reading


def read_critical_points(path: Path) -> dict:
    """A landscape part's listed critical points, without reading any rows:
    {"minima": [...], "others": [...]}, each item a dict with index, location, value,
    eigenvalues and kind (``basin`` indexes "minima"); {} for other problems."""
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(CRITICAL_KEY.encode())
    return json.loads(raw) if raw is not None else {}


def read_spec_metadata(path: Path) -> dict:
    """The spec stored in one part's key-value metadata, without reading any rows."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[SPEC_KEY.encode()])


def expected_schema(manifest: dict) -> pa.Schema:
    """The schema every part of the manifest's sweep has (from its spec)."""
    from .engine import schema_for
    from .spec import parse_spec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = parse_spec(manifest["spec"])
    return schema_for(spec, manifest["version"])


def load(directory, columns=None, filters=None, allow_partial=False):
    """Load a results directory as a pandas DataFrame, one row per trajectory.

    columns: list of column names (default all); filters: pyarrow/pandas filter
    expression, e.g. ``[("status", "==", "converged"), ("kappa", ">", 10)]``.
    ``status`` comes back as a categorical with the categories
    converged, diverged, max_steps, escaped. Rows are in trajectory order.

    Reads exactly the parts ``_sweep.json`` lists as done, each verified (spec hash, rows,
    traj range, schema, page checksums); a part that fails raises SweepDirError naming it.
    An unfinished sweep raises SweepIncompleteError (rows done / total, how to resume)
    unless ``allow_partial=True``, which returns the finished rows with a
    PartialSweepWarning.
    """
    directory = Path(directory)
    manifest = open_manifest(directory)
    done, total = rows_done(manifest), manifest["n_trajectories"]
    if not manifest["complete"]:
        text = (
            f"{directory}: the sweep is incomplete: {done:,} of {total:,} rows "
            f"({len(manifest['chunks_done'])} of {manifest['n_chunks']} chunks)"
        )
        if not allow_partial:
            raise SweepIncompleteError(
                f"{text}. Run the same `fastdescent run` command again to compute the rest, "
                "or load(..., allow_partial=True) to read what is done"
            )
        warnings.warn(f"{text}; returning the rows done", PartialSweepWarning, stacklevel=2)
    schema_ = expected_schema(manifest)
    size = manifest["chunk_size"]
    files = []
    for i in sorted(manifest["chunks_done"]):
        path = part_path(directory, i)
        lo, hi = i * size, min((i + 1) * size, total)
        reason = check_part(path, lo, hi, manifest["spec_hash"], schema_)
        if reason is not None:
            raise SweepDirError(_damaged(path, reason))
        files.append(path)
    if not files:
        return schema_.empty_table().select(columns or schema_.names).to_pandas()
    try:
        table = pq.read_table(
            [str(f) for f in files],
            columns=columns,
            filters=filters,
            schema=schema_,
            page_checksum_verification=True,
        )
    except (OSError, pa.ArrowException):
        bad = next(((f, r) for f in files if (r := verify_pages(f))), None)
        if bad is None:
            raise
        raise SweepDirError(_damaged(*bad)) from None
    return table.to_pandas()


def _damaged(path: Path, reason: str) -> str:
    return (
        f"{path}: {reason}; run the same `fastdescent run` command again to recompute "
        "this chunk (the part will be moved to _rejected/)"
    )


def disk_free(path: Path) -> int:
    """Free bytes on the filesystem that holds ``path`` (or its nearest existing parent)."""
    import shutil

    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 2**63


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
