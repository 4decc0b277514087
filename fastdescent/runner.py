"""Orchestration: size guard, chunk plan, threads, progress, resume and repair. Plain
Python around the kernels.

A chunk (a range of trajectory ids) is the unit of everything: one kernel call, one
Parquet part, one progress tick, one resume record, one Dask task. Locally, while the
kernel computes chunk i + 1 (it releases the GIL), a writer thread turns chunk i into a
Parquet part and then records it in the manifest, in chunk order, so the manifest never
lists a part that is not complete. On a Dask cluster (``client=``, ``fastdescent.cluster``)
the chunks are tasks that write their own parts (or return them to be written here), and
the manifest records them as they complete.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import queue
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__, _signals
from .spec import parse_spec

DEFAULT_CHUNK_SIZE = 131_072  # >= 1e5 rows per row group (PITFALLS), ~13 MB per chunk
#: grids above this many trajectories need force=True (--yes)
MAX_TRAJECTORIES = 10**9
#: bytes per row and column on disk: W1 (14 columns, lz4, page checksums) takes 1.06;
#: columns of less regular numbers take more, so the estimate allows twice that
BYTES_PER_CELL = 2.0
#: measured on W1 (2 threads: 2.0e9 trajectory-steps/s), per thread; d > 2 costs d / 2
STEPS_PER_SECOND_PER_THREAD = 1.0e9


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


# ---------------------------------------------------------------------------------------
# size guard


@dataclass(frozen=True)
class Estimate:
    """What a sweep will cost, before any work: rows, bytes on disk, seconds (an upper
    bound: every trajectory running all its steps), and the free disk at ``out``."""

    rows: int
    bytes: float
    seconds: float
    threads: int
    free_bytes: int | None

    def lines(self) -> list[str]:
        out = [
            f"rows       {self.rows:,} trajectories",
            f"disk       about {_size(self.bytes)}"
            + (f" ({_size(self.free_bytes)} free)" if self.free_bytes is not None else ""),
            f"time       at most {_duration(self.seconds)} on {self.threads} thread"
            + ("s" if self.threads > 1 else "")
            + " (less when runs stop early)",
        ]
        return out

    def problems(self, limit: int | None = None) -> list[str]:
        """Reasons to refuse the sweep without force=True (empty if none); ``limit``
        defaults to MAX_TRAJECTORIES."""
        limit = MAX_TRAJECTORIES if limit is None else limit
        out = []
        if self.rows > limit:
            out.append(f"{self.rows:,} trajectories is more than the limit of {limit:,}")
        if self.free_bytes is not None and self.bytes > self.free_bytes:
            out.append(
                f"it needs about {_size(self.bytes)} of disk and {_size(self.free_bytes)} are free"
            )
        return out


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def _duration(s: float) -> str:
    for unit, length in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if s >= 2 * length:
            return f"{s / length:.3g} {unit}"
    return f"{s:.3g} s"


def estimate(spec, out=None, threads=None) -> Estimate:
    """Estimate a sweep's rows, disk (at BYTES_PER_CELL per value) and worst-case time
    (at STEPS_PER_SECOND_PER_THREAD trajectory-steps per second and thread) before any
    work. ``out``: the results directory, to read the free disk there."""
    import numba

    spec = parse_spec(spec)
    n_threads = threads or numba.config.NUMBA_NUM_THREADS
    from .engine import schema_for

    columns = len(schema_for(spec, "").names)  # traj, axes, derived, metrics (and extras)
    dim = spec.problem_params.get("dim", 2)
    cost = max(1.0, dim / 2)  # per trajectory-step, in units of a 2-D quadratic step
    if spec.problem == "linreg":  # a d x d product per step, and the batch's sums (B d^2)
        cost = max(1.0, dim * dim / 4)  # shared by the (up to 256) lanes of a tile
        axis = spec.axes.get("batch_size", {"values": []})
        sizes = axis["values"] if "values" in axis else [axis["start"], axis["stop"]]
        partial = [b for b in sizes if b < spec.problem_params["n"]]
        cost += max(partial, default=0) * dim * dim / 4 / 64
    work = float(spec.size) * spec.steps * cost
    free = None
    if out is not None:
        from .store import disk_free

        free = disk_free(Path(out))
    return Estimate(
        rows=spec.size,
        bytes=float(spec.size) * columns * BYTES_PER_CELL,
        seconds=work / (STEPS_PER_SECOND_PER_THREAD * n_threads),
        threads=n_threads,
        free_bytes=free,
    )


class SweepTooLargeError(ValueError):
    """A sweep above the size limits, run without force=True (--yes)."""


# ---------------------------------------------------------------------------------------
# small helpers


@contextlib.contextmanager
def _threads(n):
    """Run the block with n Numba threads (numba.set_num_threads is per calling thread)."""
    import numba

    if n is None:
        yield
        return
    limit = numba.config.NUMBA_NUM_THREADS
    if isinstance(n, bool) or not (isinstance(n, int) and 1 <= n <= limit):
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


def _say(text: str) -> None:
    """One line for the user on stderr (repairs, notes)."""
    print(f"fastdescent: {text}", file=sys.stderr, flush=True)


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


# ---------------------------------------------------------------------------------------
# run


def run(
    spec,
    out=None,
    threads=None,
    chunk_size=None,
    resume=True,
    progress=None,
    force=False,
    client=None,
    dask_writes="workers",
):
    """Run a sweep.

    spec: a dict (the TOML keys), a path to a TOML file, or a SweepSpec. Validated in full
    before any work starts (``SpecError``).
    out: None -> return a pandas DataFrame with one row per trajectory (the Parquet
    columns); a directory -> write Parquet parts and ``_sweep.json`` there and return its
    Path. The directory is locked while the run owns it (a second run into it raises
    ``DirectoryInUseError``). An existing directory of the same sweep is resumed: its
    parts are verified, damaged or foreign ones are moved to ``DIR/_rejected/`` and
    recomputed, a missing or damaged manifest is rebuilt from the parts that verify, and
    only missing chunks are computed. resume=False starts it over. A directory holding
    another sweep, or files that are not a sweep's, is refused.
    threads: Numba threads (default: all cores). chunk_size: trajectories per chunk
    (default 131,072). progress: True -> progress on stderr (a tqdm bar on a terminal, a
    line per chunk otherwise), False -> silent, None -> on when writing a directory,
    off when returning a DataFrame.
    force: run a grid above MAX_TRAJECTORIES trajectories or needing more disk than is
    free (otherwise ``SweepTooLargeError`` with the estimate; see ``estimate``).
    client: None -> compute here; a ``distributed.Client``, ``"local"`` / ``"local:N"`` (a
    LocalCluster of N worker processes started for this run) or a scheduler address ->
    each chunk is a task on that Dask cluster (``fastdescent.cluster``; needs
    ``pip install "fastdescent[dask]"``). With a local cluster, ``threads`` is each
    worker's Numba threads (default cores // N). dask_writes: ``"workers"`` (default:
    tasks write their parts into ``out``, which must be on a filesystem the workers share)
    or ``"client"`` (tasks return their tables and this process writes them).
    Results are identical whatever threads, chunk_size, resume history or backend.
    """
    spec = parse_spec(spec)
    size = _check_chunk_size(chunk_size)
    est = estimate(spec, out=out, threads=threads)
    problems = est.problems()
    if problems and not force:
        raise SweepTooLargeError(
            f"sweep {spec.name!r} is too large to start without force=True (--yes): "
            f"{'; '.join(problems)}; estimate: {est.rows:,} rows, about {_size(est.bytes)} "
            f"on disk, at most {_duration(est.seconds)} of computing"
        )
    _signals.check()
    from .engine import make_engine

    engine = make_engine(spec)
    if client is not None:
        from . import cluster

        if dask_writes not in cluster.WRITES:
            raise ValueError(
                f"dask_writes = {dask_writes!r}: expected one of {', '.join(cluster.WRITES)}"
            )
        with cluster.connect(client, threads) as connected:
            dask = (connected, dask_writes)
            if out is None:
                return _run_in_memory(engine, ChunkPlan(spec.size, size), progress, dask)
            return _run_to_directory(
                engine, Path(out), size, chunk_size is not None, resume, progress, dask
            )
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


def _run_in_memory(engine, plan, progress, dask=None):
    import pyarrow as pa

    schema = engine.schema()
    bar = _Progress(progress is True, plan.size, 0, plan.n_chunks)
    tables = []
    try:
        if dask is None:
            engine.warm_up()
            for i in range(plan.n_chunks):
                lo, hi = plan.bounds(i)
                table, _ = _compute(engine, lo, hi, schema)
                tables.append(table)
                bar.update(hi - lo, i)
        else:
            from . import cluster

            backend = cluster.prepare(dask[0], engine, None, "client")
            tables = [None] * plan.n_chunks
            done = cluster.completions(backend, engine, plan, range(plan.n_chunks), None)
            with contextlib.closing(done):
                for i, _, table, _ in done:
                    tables[i] = table
                    bar.update(table.num_rows, i)
    finally:
        bar.close()
    return pa.concat_tables(tables).to_pandas() if tables else schema.empty_table().to_pandas()


# ---------------------------------------------------------------------------------------
# a results directory: check, lock, repair, compute


def _check_out(directory: Path) -> None:
    """Refuse an --out that can't be a results directory, before anything is written."""
    from . import store

    if directory.exists() and not directory.is_dir():
        raise store.SweepDirError(f"{directory}: exists and is not a directory")
    if not directory.is_dir():
        return
    try:
        names = [p.name for p in directory.iterdir()]
    except OSError as exc:
        raise store.SweepDirError(f"{directory}: cannot read it ({exc.strerror})") from None
    ours = [
        n
        for n in names
        if n
        in (
            store.MANIFEST,
            store.LOCK,
            store.REJECTED,
            store.TRAJECTORIES,
            store.LEGACY_TRAJECTORIES,
            store.SUMMARY,
        )
        or store._PART.match(n)
        or store._TEMP.match(n)
    ]
    if names and not ours:
        raise store.SweepDirError(
            f"{directory}: not empty and not a fastdescent results directory (no "
            f"{store.MANIFEST} and no parts); choose another --out"
        )


def _make_directory(directory: Path) -> None:
    from . import store

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise store.SweepDirError(
            f"cannot create the results directory {directory}: {exc.strerror or exc}"
        ) from None


def _new_manifest(spec, columns, plan) -> dict:
    return {
        "format": 1,
        "spec": spec.to_dict(),
        "spec_hash": spec.hash,
        "version": __version__,
        "n_trajectories": spec.size,
        "columns": columns,
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


def _read_valid_manifest(directory: Path, spec) -> tuple[dict | None, str | None]:
    """(manifest, None) if DIR has a valid one; (None, reason) if it has a damaged one
    (moved to _rejected/ unless it names another sweep); (None, None) if none."""
    from . import store

    manifest, reason = store.manifest_state(directory)
    if reason is None:
        return manifest, None
    other = manifest.get("spec_hash") if isinstance(manifest, dict) else None
    if isinstance(other, str) and len(other) == 64 and other != spec.hash:
        raise store.SweepDirError(
            f"{directory} holds another sweep (spec hash {other[:12]}, damaged manifest: "
            f"{reason}), not this one ({spec.name!r}, {spec.hash[:12]}); choose another --out"
        )
    moved = store.reject(directory, directory / store.MANIFEST)
    _say(f"repair: damaged manifest ({reason}) moved to {moved}; rebuilding it from the parts")
    return None, reason


def _infer_chunk_size(footers: dict, spec_hash: str, n: int) -> int | None:
    """The chunk size this sweep's parts were written with, from their footers
    ({chunk index: store.part_footer}): part i >= 1 starts at i * chunk_size."""
    votes = Counter()
    for i, (found, lo, rows) in footers.items():
        if found != spec_hash:
            continue
        if i >= 1 and lo > 0 and lo % i == 0:
            votes[lo // i] += 1
        elif i == 0 and lo == 0 and rows < n:
            votes[rows] += 1
    return votes.most_common(1)[0][0] if votes else None


def _start_over(directory: Path, spec) -> None:
    """resume=False: delete this sweep's parts and manifest; move anything else named
    like a part to _rejected/."""
    from . import store

    store.remove_temporaries(directory)
    for path in store.part_files(directory).values():
        footer = store.part_footer(path)
        if footer is not None and footer[0] == spec.hash:
            path.unlink()
        else:
            _say(f"moved {path.name} (not a part of this sweep) to {store.reject(directory, path)}")
    manifest = directory / store.MANIFEST
    if manifest.exists():
        manifest.unlink()
    recorded = store.trajectories_dir(directory)
    if recorded.is_dir():  # trajectory parts are this sweep's (written under its lock)
        for path in store.part_files(recorded).values():
            path.unlink()


def _prepare(engine, directory, chunk_size, explicit, resume) -> tuple[dict, ChunkPlan, list]:
    """Under the lock: the manifest to continue, reconciled with the parts on disk; its
    chunk plan; and the chunks whose parts verify but that the manifest did not list
    (a Dask task that finished after its run stopped: "adopted", not recomputed)."""
    from . import store

    spec = engine.spec
    removed = store.remove_temporaries(directory)
    with contextlib.suppress(FileNotFoundError):  # rewritten when the sweep completes
        (directory / store.SUMMARY).unlink()
    if removed:
        _say(f"repair: removed {len(removed)} temporary file(s) left by an interrupted run")
    manifest, damaged = _read_valid_manifest(directory, spec)
    if manifest is not None and manifest["spec_hash"] != spec.hash:
        old = manifest["spec"].get("name", "?")
        raise store.SweepDirError(
            f"{directory} holds another sweep ({old!r}, spec hash {manifest['spec_hash'][:12]}),"
            f" not this one ({spec.name!r}, {spec.hash[:12]}); choose another --out or delete it"
        )
    parts = store.part_files(directory)
    footers = {}
    if manifest is None and parts:  # read once: whose parts, and their chunk size
        footers = {i: f for i, p in parts.items() if (f := store.part_footer(p)) is not None}
    if manifest is None and damaged is None and parts:
        hashes = {f[0] for f in footers.values() if f[0]}
        if hashes and spec.hash not in hashes:
            raise store.SweepDirError(
                f"{directory} holds parts of another sweep (spec hash "
                f"{sorted(hashes)[0][:12]}), not this one; choose another --out"
            )
    if not resume:
        _start_over(directory, spec)
        manifest, parts = None, {}
    elif manifest is not None and manifest["version"] != __version__:
        raise store.SweepDirError(
            f"{directory} was written by fastdescent {manifest['version']}, and this "
            f"is {__version__}: its rows may differ from what this version computes, so it "
            "is not resumed. Start over with resume=False (--no-resume) or choose another --out"
        )
    elif manifest is not None and explicit and manifest["chunk_size"] != chunk_size:
        raise store.SweepDirError(
            f"{directory}: this sweep was started with chunk_size = {manifest['chunk_size']}; "
            "resume with the same chunk size (or none), or start over with resume=False "
            "(--no-resume)"
        )
    if manifest is None:
        if parts and not explicit:
            chunk_size = _infer_chunk_size(footers, spec.hash, spec.size) or chunk_size
        plan = ChunkPlan(spec.size, chunk_size)
        listed = None
        manifest = _new_manifest(spec, [f.name for f in engine.schema()], plan)
        if parts:
            _say(f"repair: rebuilding {store.MANIFEST} from the parts that verify")
    else:
        plan = ChunkPlan(manifest["n_trajectories"], manifest["chunk_size"])
        listed = set(manifest["chunks_done"])
    done = _verify_parts(directory, parts, plan, spec.hash, engine.schema())
    for i in sorted((listed or set()) - done):
        _say(f"repair: chunk {i} was listed as done but its part is missing or bad: recomputing")
    adopted = sorted(done - listed) if listed is not None else []
    manifest["chunks_done"] = sorted(done)
    manifest["complete"] = len(done) == plan.n_chunks
    return manifest, plan, adopted


def _verify_parts(directory, parts, plan, spec_hash, schema) -> set[int]:
    """Indices of the parts that are this plan's chunks, complete and undamaged (footer
    and page checksums); every other part is moved to _rejected/ with one line."""
    from . import store

    done = set()
    for i, path in sorted(parts.items()):
        if i >= plan.n_chunks:
            reason = f"is not a chunk of this sweep (it has {plan.n_chunks} chunks)"
        else:
            lo, hi = plan.bounds(i)
            reason = store.check_part(path, lo, hi, spec_hash, schema) or store.verify_pages(path)
        if reason is None:
            done.add(i)
            continue
        moved = store.reject(directory, path)
        _say(f"repair: {path.name} {reason}: moved to {moved}; recomputing it")
    return done


class _Writer:
    """A thread that turns computed chunks into parts and records them in the manifest,
    one at a time in submission order. ``submit`` blocks while one chunk is already
    waiting, so at most two chunks are in memory besides the one being computed."""

    def __init__(self, engine, directory, manifest, plan, run_record, bar, t_start):
        self.engine, self.directory, self.manifest = engine, directory, manifest
        self.plan, self.run_record, self.bar = plan, run_record, bar
        self.schema = engine.schema()
        self.recorder = None
        if engine.spec.record is not None:  # [record]: each chunk's trajectory part
            from .recording import Recorder

            self.recorder = Recorder(engine)
        self.queue = queue.Queue(maxsize=1)
        self.error = None
        self.t_prev = t_start  # total_seconds counts from the start of the run
        self.thread = threading.Thread(target=self._loop, name="fastdescent-writer")
        self.thread.start()

    def submit(self, i, cols, kernel_seconds):
        self._raise()
        self.queue.put((i, cols, kernel_seconds))

    def close(self):
        """Write what was submitted, stop the thread; re-raise a write error.

        An interruption (Ctrl-C, SIGTERM) that arrives meanwhile is raised only once the
        thread has finished the part and manifest it is writing, so the lock is never
        released while this process still writes into DIR."""
        pending, sent = None, False
        while True:
            try:
                if not sent:
                    self.queue.put(None)
                    sent = True
                self.thread.join()
                break
            except BaseException as exc:  # re-raised once the thread is done
                pending = exc
        if pending is not None:
            raise pending
        self._raise()

    def _raise(self):
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _loop(self):
        while (item := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self._write(*item)
                except BaseException as exc:
                    self.error = _write_error(exc, item[0], self.directory, self.manifest)

    def _write(self, i, cols, kernel_seconds):
        from . import store

        lo, hi = self.plan.bounds(i)
        t0 = time.perf_counter()
        if self.recorder is not None:  # before the summary part: a done chunk has both
            self.recorder.write(self.directory, i, lo, hi)
        cols.update(self.engine.coordinates(lo, hi))
        store.write_part(self.directory, i, store.to_table(self.schema, cols))
        now = time.perf_counter()
        steps = int(cols["steps"].sum(dtype=np.int64))
        _account(self.manifest, self.plan, self.run_record, i, kernel_seconds, now - t0, steps)
        self.manifest["total_seconds"] += now - self.t_prev
        self.t_prev = now
        store.write_manifest(self.directory, self.manifest)
        self.bar.update(hi - lo, i)


def _account(manifest, plan, run_record, i, kernel_seconds, write_seconds, steps) -> None:
    """Record finished chunk i in the manifest and in this run's record."""
    m = manifest
    m["kernel_seconds"] += kernel_seconds
    m["write_seconds"] += write_seconds
    m["trajectory_steps"] += steps
    bisect.insort(m["chunks_done"], i)
    m["complete"] = len(m["chunks_done"]) == plan.n_chunks
    run_record["chunks"] += 1
    add_to_ranges(run_record.setdefault("chunk_ranges", []), i)


def add_to_ranges(ranges: list, i: int) -> None:
    """Insert i into ``ranges``, a sorted list of disjoint inclusive [a, b] ranges,
    merging neighbours: the chunks a run computed, written compactly ("0-7, 12")."""
    k = bisect.bisect_right(ranges, [i, float("inf")])  # ranges[:k] start at or before i
    if k and ranges[k - 1][1] >= i:
        return
    left = k > 0 and ranges[k - 1][1] == i - 1
    right = k < len(ranges) and ranges[k][0] == i + 1
    if left and right:
        ranges[k - 1][1] = ranges[k][1]
        del ranges[k]
    elif left:
        ranges[k - 1][1] = i
    elif right:
        ranges[k][0] = i
    else:
        ranges.insert(k, [i, i])


class SweepWriteError(OSError):
    """Writing a part or the manifest failed (disk full, I/O error); finished parts are
    intact and the same command resumes."""


def _write_error(exc, chunk, directory, manifest):
    from . import store

    if not isinstance(exc, OSError):
        return exc
    done = len(manifest["chunks_done"])
    what = "no space left on device" if store.is_disk_full(exc) else (exc.strerror or str(exc))
    which = f"chunk {chunk}" if chunk is not None else "a chunk"
    error = SweepWriteError(
        f"{what} while writing {which} to {directory}; the {done} finished "
        "part(s) are intact: free some space (or fix the problem) and run the same command "
        "again to resume"
    )
    error.errno = exc.errno
    return error


def _run_to_directory(engine, directory, chunk_size, explicit, resume, progress, dask=None):
    from . import store

    _check_out(directory)
    _make_directory(directory)
    try:
        lock = store.Lock(directory)
    except OSError as exc:
        raise store.SweepDirError(f"cannot lock {directory}: {exc.strerror or exc}") from None
    try:
        return _run_locked(engine, directory, chunk_size, explicit, resume, progress, dask)
    finally:
        lock.release()


def _run_locked(engine, directory, chunk_size, explicit, resume, progress, dask=None):
    import numba

    from . import store

    t_start = time.perf_counter()
    manifest, plan, adopted = _prepare(engine, directory, chunk_size, explicit, resume)
    done = set(manifest["chunks_done"])
    _signals.check()
    t0 = time.perf_counter()
    if dask is None:
        engine.warm_up()
        backend = {"backend": "local", "threads": numba.get_num_threads()}
    else:  # the workers are checked, and warm the kernel, before any task
        from . import cluster

        dask = cluster.prepare(dask[0], engine, directory, dask[1])
        backend = dask.record()
    compile_seconds = time.perf_counter() - t0
    _signals.check()
    if manifest["compile_seconds"] is None:
        manifest["compile_seconds"] = compile_seconds
    run_record = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "pid": os.getpid(),
        **backend,
        "chunks": 0,
        "chunk_ranges": [],
        "compile_or_load_seconds": compile_seconds,
    }
    if adopted:  # parts the previous run's tasks finished after it stopped
        run_record["adopted_ranges"] = []
        for i in adopted:
            add_to_ranges(run_record["adopted_ranges"], i)
    manifest["runs"].append(run_record)
    store.write_manifest(directory, manifest)
    done_rows = sum(plan.bounds(i)[1] - plan.bounds(i)[0] for i in done)
    if progress is not False:
        spec = engine.spec
        resumed = f", {len(done)} of {plan.n_chunks} chunks already done" if done else ""
        where = ""
        if dask is not None:
            where = (
                f" on Dask ({run_record['workers']} workers at {run_record['scheduler']}, "
                f"{run_record['dask_writes']} write the parts)"
            )
        _say(
            f"{spec.name}: {spec.size:,} trajectories of {spec.optimizer} on {spec.problem}, "
            f"up to {spec.steps} steps -> {directory}{resumed}{where}"
        )
    bar = _Progress(progress, plan.size, done_rows, plan.n_chunks)
    todo = (i for i in range(plan.n_chunks) if i not in done)  # lazy: O(done) memory
    if dask is not None:
        try:
            _run_tasks(dask, engine, directory, manifest, plan, todo, run_record, bar, t_start)
        finally:
            bar.close()
        _finish(engine, directory, manifest, plan)
        _signals.check()
        return directory
    writer = _Writer(engine, directory, manifest, plan, run_record, bar, t_start)
    try:
        for i in todo:
            _signals.check()
            lo, hi = plan.bounds(i)
            t0 = time.perf_counter()
            cols = engine.kernel(lo, hi - lo)
            writer.submit(i, cols, time.perf_counter() - t0)
    finally:
        try:
            writer.close()
        finally:
            bar.close()
    if run_record["chunks"] == 0:
        manifest["total_seconds"] += time.perf_counter() - t_start
        store.write_manifest(directory, manifest)
    _finish(engine, directory, manifest, plan)
    _signals.check()
    return directory


def _finish(engine, directory, manifest, plan) -> None:
    """A complete sweep: remove temporary files that workers killed mid-write left, and
    with [record], write DIR/_metadata (dask.dataframe then reads only the parts)."""
    from . import store

    if not manifest["complete"]:
        return
    for sub in (directory, store.trajectories_dir(directory)):
        if sub.is_dir() and (removed := store.remove_temporaries(sub)):
            _say(f"removed {len(removed)} temporary file(s) left by a writer that died")
    if engine.spec.record is not None:
        store.write_summary(directory, range(plan.n_chunks), engine.schema())


def _run_tasks(backend, engine, directory, manifest, plan, todo, run_record, bar, t_start):
    """The Dask loop: record each chunk as its task completes (writing its part here
    when the client writes); the manifest is rewritten at most every MANIFEST_INTERVAL
    seconds and once at the end, however the loop ends."""
    from . import cluster, store

    target = directory if backend.writes == "workers" else None
    schema = engine.schema()
    spec_hash = engine.spec.hash
    t_prev = last_write = t_start
    dirty = True  # the run record is new
    try:
        done = cluster.completions(backend, engine, plan, todo, target)
        with contextlib.closing(done):
            for i, stats, table, recorded in done:
                lo, hi = plan.bounds(i)
                write_seconds = stats["write_seconds"]
                if target is None:
                    t0 = time.perf_counter()
                    cluster.write_tables(directory, i, table, recorded)
                    write_seconds += time.perf_counter() - t0
                else:
                    path = store.part_path(directory, i)
                    reason = store.check_part(path, lo, hi, spec_hash, schema)
                    if reason is not None:
                        raise cluster.BackendError(
                            f"{path.name}, written by a worker on {stats['host']}, {reason} "
                            "here: is the directory on a filesystem the workers share? If "
                            "not, use --dask-writes client (dask_writes='client')"
                        )
                _account(manifest, plan, run_record, i, stats["kernel_seconds"], write_seconds,
                         stats["steps"])  # fmt: skip
                now = time.perf_counter()
                manifest["total_seconds"] += now - t_prev
                t_prev = now
                dirty = True
                bar.update(hi - lo, i)
                if now - last_write >= cluster.MANIFEST_INTERVAL:
                    store.write_manifest(directory, manifest)
                    last_write, dirty = now, False
    except OSError as exc:
        raise _write_error(exc, None, directory, manifest) from exc
    finally:
        if dirty:
            if run_record["chunks"] == 0:
                manifest["total_seconds"] += time.perf_counter() - t_start
            store.write_manifest(directory, manifest)


def describe_estimate(spec, out=None, threads=None) -> str:
    """The dry-run text: the estimate's lines and whether the sweep needs --yes."""
    est = estimate(spec, out=out, threads=threads)
    text = est.lines()
    problems = est.problems()
    if problems:
        text.append("needs      --yes (force=True): " + "; ".join(problems))
    return "\n".join(text)
