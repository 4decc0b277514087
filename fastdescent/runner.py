"""Orchestration: chunk plan, threads, progress, resume. Plain Python around the kernels.

A chunk (a range of trajectory ids) is the unit of everything: one kernel call, one
Parquet part, one progress tick, one resume record.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .spec import parse_spec

DEFAULT_CHUNK_SIZE = 131_072  # >= 1e5 rows per row group (PITFALLS), ~13 MB per chunk


@dataclass(frozen=True)
class ChunkPlan:
    """Chunk i holds trajectory ids [i * chunk_size, min((i + 1) * chunk_size, size))."""

    size: int
    chunk_size: int

    @property
    def n_chunks(self) -> int:
        return -(-self.size // self.chunk_size)

    def bounds(self, i: int) -> tuple[int, int]:
        lo = i * self.chunk_size
        return lo, min(lo + self.chunk_size, self.size)


@contextlib.contextmanager
def _threads(n):
    """Run the block with n Numba threads (numba.set_num_threads is per calling thread)."""
    import numba

    if n is None:
        yield
        return
    limit = numba.config.NUMBA_NUM_THREADS
    if not (isinstance(n, int) and 1 <= n <= limit):
        raise ValueError(f"threads = {n!r}: expected an integer in 1..{limit} (NUMBA_NUM_THREADS)")
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _check_chunk_size(chunk_size):
    if chunk_size is None:
        return DEFAULT_CHUNK_SIZE
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or chunk_size < 1
    ):
        raise ValueError(f"chunk_size = {chunk_size!r}: expected an integer >= 1")
    return int(chunk_size)


class _Progress:
    """tqdm bar on a terminal; a plain line per chunk otherwise; nothing when disabled."""

    def __init__(self, enabled, total, done, n_chunks):
        self.mode = "off"
        if enabled is None:
            enabled = True
        if enabled:
            self.mode = "bar" if sys.stderr.isatty() else "lines"
        self.total, self.done, self.n_chunks = total, done, n_chunks
        self.t0 = time.perf_counter()
        self.bar = None
        if self.mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                initial=done,
                unit="traj",
                unit_scale=True,
                smoothing=0.1,
                dynamic_ncols=True,
            )

    def update(self, n, chunk):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.mode == "lines":
            dt = time.perf_counter() - self.t0
            print(
                f"chunk {chunk + 1}/{self.n_chunks}: {self.done:,}/{self.total:,} trajectories "
                f"({100 * self.done / self.total:.1f}%), {dt:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run(spec, out=None, threads=None, chunk_size=None, resume=True, progress=None):
    """Run a sweep.

    spec: a dict (the TOML keys), a path to a TOML file, or a SweepSpec. Validated in full
    before any work starts (``SpecError``).
    out: None -> return a pandas DataFrame with one row per trajectory (the Parquet
    columns); a directory -> write Parquet parts and ``_sweep.json`` there and return its
    Path. An existing directory of the same sweep is resumed (only missing chunks are
    computed) unless resume=False, which starts it over; a directory holding another
    sweep, or anything else, is refused.
    threads: Numba threads (default: all cores). chunk_size: trajectories per chunk
    (default 131,072). progress: True -> progress on stderr (a tqdm bar on a terminal, a
    line per chunk otherwise), False -> silent, None -> on when writing a directory,
    off when returning a DataFrame.
    Results are identical whatever threads, chunk_size or resume history.
    """
    spec = parse_spec(spec)
    size = _check_chunk_size(chunk_size)
    from .engine import Engine

    engine = Engine(spec)
    with _threads(threads):
        if out is None:
            return _run_in_memory(engine, ChunkPlan(spec.size, size), progress)
        return _run_to_directory(engine, Path(out), size, chunk_size is not None, resume, progress)


def _compute(engine, lo, hi, schema):
    from .store import to_table

    t0 = time.perf_counter()
    cols = engine.kernel(lo, hi - lo)
    t1 = time.perf_counter()
    cols.update(engine.coordinates(lo, hi))
    return to_table(schema, cols), t1 - t0


def _run_in_memory(engine, plan, progress):
    import pyarrow as pa

    schema = engine.schema()
    engine.warm_up()
    bar = _Progress(progress is True, plan.size, 0, plan.n_chunks)
    tables = []
    try:
        for i in range(plan.n_chunks):
            lo, hi = plan.bounds(i)
            table, _ = _compute(engine, lo, hi, schema)
            tables.append(table)
            bar.update(hi - lo, i)
    finally:
        bar.close()
    return pa.concat_tables(tables).to_pandas() if tables else schema.empty_table().to_pandas()


def _open_directory(engine, directory, chunk_size, explicit, resume):
    """Check DIR, and return the manifest to continue (a new one if starting afresh)."""
    from . import store

    spec = engine.spec
    if directory.exists() and not directory.is_dir():
        raise store.SweepDirError(f"{directory}: exists and is not a directory")
    manifest = store.read_manifest(directory) if directory.is_dir() else None
    if manifest is None and directory.is_dir() and any(directory.iterdir()):
        raise store.SweepDirError(
            f"{directory}: not empty and not a fastdescent results directory (no "
            f"{store.MANIFEST}); choose another --out"
        )
    if manifest is not None and manifest.get("spec_hash") != spec.hash:
        old = manifest.get("spec", {}).get("name", "?")
        old_hash = str(manifest.get("spec_hash", "?"))[:12]
        raise store.SweepDirError(
            f"{directory} holds another sweep ({old!r}, spec hash {old_hash}), not this one "
            f"({spec.name!r}, {spec.hash[:12]}); choose another --out or delete it"
        )
    if manifest is not None and not resume:
        store.clear(directory)
        manifest = None
    if manifest is not None and manifest.get("version") != __version__:
        raise store.SweepDirError(
            f"{directory} was written by fastdescent {manifest.get('version', '?')}, and this "
            f"is {__version__}: its rows may differ from what this version computes, so it "
            "is not resumed. Start over with resume=False (--no-resume) or choose another --out"
        )
    if manifest is not None and explicit and manifest["chunk_size"] != chunk_size:
        raise store.SweepDirError(
            f"{directory}: this sweep was started with chunk_size = {manifest['chunk_size']}; "
            "resume with the same chunk size (or none), or start over with resume=False "
            "(--no-resume)"
        )
    if manifest is None:
        plan = ChunkPlan(spec.size, chunk_size)
        manifest = {
            "format": 1,
            "spec": spec.to_dict(),
            "spec_hash": spec.hash,
            "version": __version__,
            "n_trajectories": spec.size,
            "columns": [f.name for f in engine.schema()],
            "chunk_size": plan.chunk_size,
            "n_chunks": plan.n_chunks,
            "chunks_done": [],
            "complete": False,
            "kernel_seconds": 0.0,
            "write_seconds": 0.0,
            "total_seconds": 0.0,
            "compile_seconds": None,
            "trajectory_steps": 0,
            "runs": [],
        }
    directory.mkdir(parents=True, exist_ok=True)
    store.remove_temporaries(directory)
    return manifest


def _run_to_directory(engine, directory, chunk_size, explicit, resume, progress):
    import numba

    from . import store

    t_start = time.perf_counter()
    manifest = _open_directory(engine, directory, chunk_size, explicit, resume)
    plan = ChunkPlan(manifest["n_trajectories"], manifest["chunk_size"])
    done = store.parts_done(directory) & set(range(plan.n_chunks))
    manifest["chunks_done"] = sorted(done)
    todo = [i for i in range(plan.n_chunks) if i not in done]
    schema = engine.schema()
    t0 = time.perf_counter()
    engine.warm_up()
    compile_seconds = time.perf_counter() - t0
    if manifest["compile_seconds"] is None:
        manifest["compile_seconds"] = compile_seconds
    run_record = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "threads": numba.get_num_threads(),
        "chunks": 0,
        "compile_or_load_seconds": compile_seconds,
    }
    manifest["runs"].append(run_record)
    store.write_manifest(directory, manifest)
    done_rows = sum(plan.bounds(i)[1] - plan.bounds(i)[0] for i in done)
    bar = _Progress(progress, plan.size, done_rows, plan.n_chunks)
    t_prev = t_start
    try:
        for i in todo:
            lo, hi = plan.bounds(i)
            table, kernel_seconds = _compute(engine, lo, hi, schema)
            t0 = time.perf_counter()
            store.write_part(directory, i, table)
            write_seconds = time.perf_counter() - t0
            now = time.perf_counter()
            manifest["kernel_seconds"] += kernel_seconds
            manifest["write_seconds"] += write_seconds
            manifest["total_seconds"] += now - t_prev
            t_prev = now
            steps = table.column("steps").to_numpy()
            manifest["trajectory_steps"] += int(steps.sum(dtype=np.int64))
            manifest["chunks_done"].append(i)
            manifest["chunks_done"].sort()
            run_record["chunks"] += 1
            manifest["complete"] = len(manifest["chunks_done"]) == plan.n_chunks
            store.write_manifest(directory, manifest)
            bar.update(hi - lo, i)
    finally:
        bar.close()
    manifest["complete"] = len(manifest["chunks_done"]) == plan.n_chunks
    if not todo:
        manifest["total_seconds"] += time.perf_counter() - t_prev
    store.write_manifest(directory, manifest)
    return directory
