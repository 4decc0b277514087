"""The Dask backend: a sweep's chunks as tasks on a ``distributed`` cluster.

The chunk is the task. A task runs the same kernel as the local backend on its chunk's
trajectory ids (``compute_chunk``) and either writes the chunk's part into DIR itself
(temporary name, then rename: ``dask_writes="workers"``, DIR on a filesystem the workers
share) or returns the Arrow tables to the client, which writes them (``"client"``, for
clusters without a shared filesystem). Either way the part holds the same bytes as a
local run's. Tasks are pure functions of (spec, chunk): a task retried after its worker
died rewrites the same bytes, and the client records each chunk once in the manifest, as
it completes.

Workers and threads (PITFALLS, numba#9288 and numba#10128): every worker process has one
Numba thread pool; a task uses ``NUMBA_NUM_THREADS // task threads`` of it (the whole
pool on the recommended one-task-thread workers). Before any task, the client asks every
worker for its versions and threading layer (``worker_info``) and refuses a cluster that
would compute other bytes (another fastdescent, Numba, NumPy or pyarrow) or crash (several
task threads on Numba's ``workqueue`` layer, which aborts the process when two threads
launch parallel kernels at once). It then warms the compile cache on one worker per host
before the others, so that workers sharing a cache do not race to compile it. Kernels
run only inside tasks, never through ``client.run``, whose functions run on the worker's
event-loop thread, beside whatever task is running (a cancelled one runs to its end):
on the workqueue layer that pair alone would abort the worker.

Dask is an optional dependency (``pip install "fastdescent[dask]"``); this module imports
it only inside its functions.
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import socket
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

INSTALL = 'pip install "fastdescent[dask]"'
#: who writes the parts: the workers (DIR on a shared filesystem) or the client
WRITES = ("workers", "client")
#: the client rewrites the manifest at most this often while chunks complete (and once
#: at the end); parts that complete in between are found and verified by a resume
MANIFEST_INTERVAL = 0.5
#: ``local`` without a count starts this many workers at most (one per core below it)
LOCAL_WORKERS = 4
#: chunks in flight per task thread of the cluster (queued on the workers, so that none
#: waits for the client between two tasks)
IN_FLIGHT = 4
#: seconds between two looks at the completed tasks while none is ready
POLL = 0.002


class BackendError(ValueError):
    """A cluster that cannot run the sweep as asked (Dask missing, a scheduler out of
    reach, workers with other versions, workers that would crash Numba, a DIR they
    cannot see); the message says what to change."""


class OversubscribedWarning(UserWarning):
    """The workers on a host run more Numba threads than it has cores."""


class WorkerLostError(RuntimeError):
    """Dask gave up on a chunk after the workers running it died too often
    (``distributed.scheduler.allowed-failures``); the finished chunks are kept."""


def require():
    """The ``distributed`` module, or BackendError with the command that installs it."""
    try:
        import distributed
    except ImportError:
        raise BackendError(
            f"--dask needs Dask's distributed scheduler, which is not installed: {INSTALL}"
        ) from None
    return distributed


def parse_address(text: str) -> tuple[str, int | str | None]:
    """``"local"`` -> ("local", None); ``"local:N"`` -> ("local", N); anything else is a
    scheduler address -> ("address", text)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"--dask {text!r}: expected local, local:N or a scheduler address")
    text = text.strip()
    if text == "local":
        return "local", None
    if text.startswith("local:"):
        n = text[len("local:") :]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(
                f"--dask {text!r}: expected local:N with N >= 1 worker processes, e.g. local:2"
            )
        return "local", int(n)
    return "address", text


@contextlib.contextmanager
def connect(target, threads=None):
    """A ``distributed.Client`` for ``target``, closed (with any cluster it started) on
    exit.

    target: a Client (used as it is); ``"local"`` or ``"local:N"`` (a LocalCluster of N
    worker processes on this machine, default min(cores, 4), one task thread each, with
    NUMBA_NUM_THREADS = threads or cores // N set in each worker process by its nanny);
    or a scheduler address (``"tcp://host:8786"``). ``threads`` only applies to a local
    cluster: elsewhere the workers' own NUMBA_NUM_THREADS decides (set it in the
    environment ``dask worker`` starts in, or in its nanny's pre-spawn environment).
    """
    distributed = require()
    if isinstance(target, distributed.Client):
        _no_threads(threads)
        yield target
        return
    kind, value = parse_address(target)
    if kind == "address":
        _no_threads(threads)
        try:
            client = distributed.Client(value, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise BackendError(
                f"cannot reach the Dask scheduler at {value} ({_first_line(exc)}); start one "
                "with `dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`, "
                "or use --dask local:N"
            ) from None
        with client:
            yield client
        return

    cores = os.cpu_count() or 1
    n = value or max(1, min(cores, LOCAL_WORKERS))
    per = threads if threads is not None else max(1, cores // n)
    if isinstance(per, bool) or not isinstance(per, int) or per < 1:
        raise ValueError(f"threads = {threads!r}: expected an integer >= 1")
    # NUMBA_NUM_THREADS reaches each worker process through its nanny's ``env``, set in
    # the new process before it runs anything. Not through the nannies' pre-spawn
    # environment: a nanny copies that into its own process's os.environ, which for a
    # local cluster is this one, and Numba re-reads os.environ whenever it compiles, so
    # this process would then fail ("Cannot set NUMBA_NUM_THREADS to a different value
    # once the threads have been launched").
    with restored_environ():  # dask's own pre-spawn defaults (OMP_NUM_THREADS=1, ...)
        cluster = distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
            env={"NUMBA_NUM_THREADS": str(per)},
        )  # fmt: skip
        with cluster, distributed.Client(cluster) as client:
            yield client


@contextlib.contextmanager
def restored_environ():
    """Restore os.environ on exit: a nanny sets its pre-spawn variables in the process
    that runs it (here, for a local cluster) before each worker it starts, and they
    must not outlive the cluster in this process and its later subprocesses."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _no_threads(threads):
    if threads is not None:
        raise ValueError(
            "threads applies to this machine and to --dask local:N; the workers of another "
            "cluster use their own NUMBA_NUM_THREADS (set it where they are started)"
        )


def _first_line(exc) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# ---------------------------------------------------------------------------------------
# on the workers


def versions() -> dict[str, str]:
    """What decides the bytes a process computes: the package's version and sources,
    and the versions of the libraries that compute and encode them."""
    import numba
    import pyarrow

    from . import __version__
    from ._jit import sources_digest

    return {
        "fastdescent": f"{__version__} ({sources_digest()[:12]})",
        "numba": numba.__version__,
        "numpy": np.__version__,
        "pyarrow": pyarrow.__version__,
        "python": platform.python_version(),
    }


def worker_info(dask_worker=None) -> dict:
    """This worker's host, pid, cores, task threads, Numba threads and threading layer
    (the pool is started by a tiny parallel kernel, so the layer is known) and
    ``versions()``. Run on every worker with ``client.run``."""
    import numba

    try:
        layer = numba.threading_layer()  # the pool runs (a task, maybe still running)
    except ValueError:  # not started: no kernel runs in this process, so start it here
        from .kernels.probe import pool_probe

        pool_probe(2)
        layer = numba.threading_layer()
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "cores": os.cpu_count(),
        "task_threads": dask_worker.state.nthreads if dask_worker is not None else 1,
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "layer": layer,
        "versions": versions(),
    }


@dataclass
class _Sweep:
    engine: object
    schema: object
    recorder: object


_SWEEPS: dict[str, _Sweep] = {}  # spec hash -> the sweep, in each worker process
_SWEEPS_LOCK = threading.Lock()
_KEEP = 4  # sweeps kept per worker process


def _sweep(spec_dict: dict, spec_hash: str) -> _Sweep:
    """This process's engine for the spec (built on first use, then kept)."""
    with _SWEEPS_LOCK:
        sweep = _SWEEPS.get(spec_hash)
        if sweep is None:
            from .engine import make_engine
            from .spec import parse_spec

            spec = parse_spec(spec_dict)
            if spec.hash != spec_hash:
                raise BackendError(
                    f"this worker reads the spec as hash {spec.hash[:12]}, the client as "
                    f"{spec_hash[:12]}: install the same fastdescent on both"
                )
            engine = make_engine(spec)
            recorder = None
            if spec.record is not None:
                from .recording import Recorder

                recorder = Recorder(engine)
            sweep = _Sweep(engine, engine.schema(), recorder)
            while len(_SWEEPS) >= _KEEP:
                _SWEEPS.pop(next(iter(_SWEEPS)))
            _SWEEPS[spec_hash] = sweep
    return sweep


def warm(spec_dict: dict, spec_hash: str) -> float:
    """Build the sweep's engine here and compile its kernel (or load it from the cache);
    the seconds it took."""
    t0 = time.perf_counter()
    _sweep(spec_dict, spec_hash).engine.warm_up()
    return time.perf_counter() - t0


def _task_threads() -> int:
    """Numba threads for one task: the pool shared by the worker's task threads."""
    import numba

    try:
        from distributed import get_worker

        share = get_worker().state.nthreads
    except (ImportError, ValueError):  # not on a worker (called directly)
        share = 1
    return max(1, numba.config.NUMBA_NUM_THREADS // max(1, share))


def compute_chunk(spec_dict: dict, spec_hash: str, index: int, lo: int, hi: int, directory=None):
    """The task: chunk ``index`` (trajectory ids lo .. hi-1) of the sweep.

    Runs the local backend's kernel, adds the coordinate columns and encodes the part's
    Arrow table (and, with ``[record]``, the chunk's trajectory table). With ``directory``
    (a path the worker can write), writes both there atomically, the trajectory part
    first, and returns (stats, None, None); without, returns (stats, table, recorded)
    for the client to write. stats: index, kernel_seconds, write_seconds, steps (the
    trajectory-steps computed), host, pid.
    """
    import numba

    from . import store

    sweep = _sweep(spec_dict, spec_hash)
    before = numba.get_num_threads()
    numba.set_num_threads(_task_threads())
    try:
        t0 = time.perf_counter()
        cols = sweep.engine.kernel(lo, hi - lo)
        kernel_seconds = time.perf_counter() - t0
    finally:
        numba.set_num_threads(before)
    steps = int(cols["steps"].sum(dtype=np.int64))
    t0 = time.perf_counter()
    recorded = sweep.recorder.chunk(lo, hi) if sweep.recorder is not None else None
    cols.update(sweep.engine.coordinates(lo, hi))
    table = store.to_table(sweep.schema, cols)
    stats = {
        "index": index,
        "kernel_seconds": kernel_seconds,
        "steps": steps,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    if directory is None:
        stats["write_seconds"] = time.perf_counter() - t0
        return stats, table, recorded
    write_tables(Path(directory), index, table, recorded)
    stats["write_seconds"] = time.perf_counter() - t0
    return stats, None, None


def write_tables(directory: Path, index: int, table, recorded) -> None:
    """Write chunk ``index``: its trajectory part (if any) first, then its part, each
    atomically, so that a part on disk means the chunk is complete."""
    from . import store

    if recorded is not None:
        from .recording import write_part

        write_part(directory, index, recorded)
    store.write_part(directory, index, table)


def can_read(path: str, token: str) -> bool:
    """True if ``path`` exists here and holds ``token`` (is DIR shared with the client?)."""
    try:
        return Path(path).read_text() == token
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# on the client


@dataclass
class Cluster:
    """A connected cluster, checked and warmed for one sweep."""

    client: object
    writes: str
    workers: dict = field(default_factory=dict)  # address -> worker_info

    @property
    def task_threads(self) -> int:
        return sum(w["task_threads"] for w in self.workers.values())

    def record(self) -> dict:
        """The manifest's run record fields for this backend."""
        infos = list(self.workers.values())
        return {
            "backend": "dask",
            "scheduler": self.client.scheduler.address,
            "dask_writes": self.writes,
            "workers": len(infos),
            "hosts": len({w["host"] for w in infos}),
            "threads": sum(w["numba_threads"] for w in infos),
            "worker_threads": sorted({w["numba_threads"] for w in infos}),
            "threading_layers": sorted({w["layer"] for w in infos}),
        }


def problems(workers: dict, local: dict) -> list[str]:
    """Why these workers (address -> ``worker_info``) cannot run a sweep for a client
    with ``versions()`` = ``local``: one line each, with the fix. Empty if none."""
    out = []
    if not workers:
        out.append(
            "the cluster has no workers: start some with `dask worker SCHEDULER_ADDRESS "
            "--nthreads 1`"
        )
    for address, info in sorted(workers.items()):
        differ = [
            f"{k} {info['versions'].get(k)} (here {v})"
            for k, v in local.items()
            if k != "python" and info["versions"].get(k) != v
        ]
        if differ:
            out.append(
                f"worker {address} on {info['host']} has {', '.join(differ)}: it would "
                "compute or encode other bytes; install the same versions on every worker"
            )
        if info["task_threads"] > 1 and info["layer"] == "workqueue":
            out.append(
                f"worker {address} runs {info['task_threads']} task threads on Numba's "
                "'workqueue' threading layer, which aborts the process when two threads "
                "run parallel kernels at once (numba#9288): start workers with one thread "
                "each (`dask worker ADDRESS --nthreads 1`, NUMBA_NUM_THREADS = its cores), "
                "or give them a thread-safe layer (`pip install tbb`, or "
                "NUMBA_THREADING_LAYER=omp)"
            )
    return out


def oversubscribed(workers: dict) -> list[str]:
    """Hosts whose workers (address -> ``worker_info``) run more Numba threads in all
    than the host has cores: one line each, with the fix."""
    hosts = {}
    for info in workers.values():
        hosts.setdefault(info["host"], []).append(info)
    out = []
    for host, infos in sorted(hosts.items()):
        threads = sum(w["numba_threads"] for w in infos)
        cores = infos[0]["cores"] or 1
        if threads > cores:
            out.append(
                f"host {host}: its {len(infos)} worker(s) run {threads} Numba threads on "
                f"{cores} cores, so they compete for them; start each with "
                f"NUMBA_NUM_THREADS = {max(1, cores // len(infos))} (cores / workers)"
            )
    return out


def prepare(client, engine, directory: Path | None, writes: str) -> Cluster:
    """Check the workers (``problems``), check that they see DIR when they write the
    parts, and warm the sweep's kernel on one worker per host, then on the others.
    ``writes``: one of WRITES (``runner.run`` checks it before connecting)."""
    found = problems_or_info(client)
    for line in oversubscribed(found):
        warnings.warn(line, OversubscribedWarning, stacklevel=2)
    cluster = Cluster(client, writes if directory is not None else "client", found)
    if directory is not None and writes == "workers":
        _check_shared(client, directory)
    spec = engine.spec
    spec_dict = spec.to_dict()
    first, rest = {}, []
    for address, info in sorted(found.items()):
        if info["host"] in first:
            rest.append(address)
        else:
            first[info["host"]] = address
    for group in (list(first.values()), rest):  # as tasks: never beside a running one
        warming = [
            client.submit(
                warm, spec_dict, spec.hash, workers=[a], allow_other_workers=True, pure=False
            )
            for a in group
        ]
        client.gather(warming)
    return cluster


def problems_or_info(client) -> dict:
    """``worker_info`` of every worker, or BackendError listing ``problems``."""
    workers = client.run(worker_info)
    found = problems(workers, versions())
    if found:
        raise BackendError("; ".join(found))
    return workers


def _check_shared(client, directory: Path) -> None:
    from . import store

    token = secrets.token_hex(16)
    fd, probe = store._new_temp(Path(directory) / store.MANIFEST)  # swept if left behind
    try:
        os.write(fd, token.encode())
        os.close(fd)
        seen = client.run(can_read, str(Path(probe).resolve()), token)
    finally:
        store._discard(probe)
    blind = sorted(a for a, ok in seen.items() if not ok)
    if blind:
        shown = ", ".join(blind[:3]) + (f" and {len(blind) - 3} more" if len(blind) > 3 else "")
        raise BackendError(
            f"worker(s) {shown} cannot read {Path(directory).resolve()}: the workers write "
            "the parts there, so it must be on a filesystem they share with this machine. "
            "Give such a path, or let this machine write them: --dask-writes client "
            "(dask_writes='client')"
        )


def completions(cluster: Cluster, engine, plan, todo, directory: Path | None):
    """Submit the chunks in ``todo`` as tasks (IN_FLIGHT per task thread of the cluster
    at a time) and yield (index, stats, table, recorded) as they complete, in completion
    order. With ``directory`` (workers write) table and recorded are None. Results are
    fetched in the background as tasks finish (``as_completed(with_results=True)``),
    and polled every POLL seconds so that an interruption is seen at once. A chunk
    whose workers died too often raises WorkerLostError; closing the generator (an
    interruption, an error) cancels the chunks not yet finished."""
    from distributed import KilledWorker, as_completed

    from . import _signals

    client = cluster.client
    spec = engine.spec
    spec_dict = spec.to_dict()
    target = str(Path(directory).resolve()) if directory is not None else None
    window = max(4, IN_FLIGHT * cluster.task_threads)
    run_key = f"fastdescent-{spec.hash[:8]}-{secrets.token_hex(4)}"
    pending = {}
    todo = iter(todo)
    finished = as_completed([], loop=client.loop, with_results=True, raise_errors=False)

    def submit():
        new = []
        while len(pending) < window:
            i = next(todo, None)
            if i is None:
                break
            lo, hi = plan.bounds(i)
            future = client.submit(
                compute_chunk, spec_dict, spec.hash, i, lo, hi, target,
                key=f"{run_key}-chunk-{i}", retries=0,
            )  # fmt: skip
            pending[future] = i
            new.append(future)
        finished.update(new)

    try:
        submit()
        while pending:
            _signals.check()
            batch = finished.next_batch(block=False)
            if not batch:
                time.sleep(POLL)
                continue
            for future, result in sorted(batch, key=lambda item: pending[item[0]]):
                i = pending.pop(future)
                if future.status == "error":
                    _, exc, tb = result
                    if isinstance(exc, KilledWorker):
                        raise WorkerLostError(_lost_message(client, i, plan)) from None
                    raise exc.with_traceback(tb)
                future.release()
                yield (i, *result)
            submit()
    finally:
        if pending:
            with contextlib.suppress(Exception):
                client.cancel(list(pending))


def _lost_message(client, i, plan) -> str:
    try:
        allowed = client.run_on_scheduler(_allowed_failures)
    except Exception:
        import dask

        allowed = dask.config.get("distributed.scheduler.allowed-failures")
    lo, hi = plan.bounds(i)
    return (
        f"Dask gave up on chunk {i} (trajectories {lo}..{hi - 1}): the workers running it "
        f"died {allowed + 1} times (distributed.scheduler.allowed-failures = {allowed}), "
        "so it may be what kills them (memory? see the workers' logs). The finished "
        "chunks are kept: fix the cause and run the same command again to resume, on the "
        "cluster or locally"
    )


def _allowed_failures(dask_scheduler=None) -> int:
    return dask_scheduler.allowed_failures
