"""The ``fastdescent`` command: ``run`` a sweep spec, ``info`` about a results directory.

Exit status:
- 0: done;
- 1: a run on a Dask cluster lost a chunk for good (its workers kept dying): the finished
  chunks are kept and the same command resumes;
- 2: a user error (bad spec, unusable directory, a directory in use, a sweep too large
  without --yes, a bad option, a full disk): one line ``fastdescent: error: ...`` on
  stderr, no traceback, and nothing written unless the run had started (then its
  finished parts are intact and the same command resumes);
- 130 / 143: interrupted by SIGINT (Ctrl-C) / SIGTERM: the finished chunks are kept and
  the message says how to resume;
- 141: standard output closed early (``fastdescent info DIR | head -1``), quietly.

Warnings about a valid spec print as one line ``fastdescent: warning: ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from . import _signals
from ._signals import Terminated

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141
EXIT_TERMINATED = 143


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's own convention)
        self.exit(EXIT_USAGE, f"fastdescent: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="fastdescent",
        description="Run gradient-descent sweeps and inspect their results.",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="run a sweep spec (TOML), writing Parquet results")
    r.add_argument("spec", help="sweep spec, a TOML file")
    r.add_argument("--out", help="results directory (default: results/<name>)")
    r.add_argument("--threads", type=int, help="Numba threads (default: all cores)")
    r.add_argument("--chunk-size", type=int, help="trajectories per chunk/part (default 131072)")
    r.add_argument(
        "--no-resume",
        action="store_true",
        help="start over instead of resuming a partly finished run in --out",
    )
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="print the estimated rows, disk and time, and stop (nothing is written)",
    )
    r.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the chunks as tasks on a Dask cluster: a scheduler address "
        "(tcp://host:8786) or local[:N] (N worker processes on this machine); "
        'needs pip install "fastdescent[dask]"',
    )
    r.add_argument(
        "--dask-writes",
        choices=("workers", "client"),
        default="workers",
        help="who writes the parts: the workers (default; --out on a filesystem they "
        "share) or this machine (tasks send their tables here)",
    )
    r.add_argument(
        "--yes",
        action="store_true",
        help="run a sweep above the size limit (1e9 trajectories) or the free disk",
    )
    i = sub.add_parser("info", help="describe a results directory")
    i.add_argument("dir", help="results directory")
    i.add_argument("--json", action="store_true", help="print the manifest as JSON")
    return p


def _run(args, state) -> int:
    from . import runner
    from .spec import parse_spec

    spec = parse_spec(args.spec)
    out = Path(args.out) if args.out else Path("results") / spec.name
    _signals.check()
    if args.dry_run:
        print(f"sweep      {spec.name} -> {out}")
        print(runner.describe_estimate(spec, out=out, threads=args.threads))
        return 0
    if args.dask is not None:
        from . import cluster

        cluster.parse_address(args.dask)  # a bad address is a usage error before any work
        cluster.require()  # without Dask: how to install it
    elif args.dask_writes != "workers":
        raise ValueError("--dask-writes needs --dask")
    state["out"] = out
    runner.run(
        spec,
        out=out,
        threads=args.threads,
        chunk_size=args.chunk_size,
        resume=not args.no_resume,
        progress=False if args.quiet else None,
        force=args.yes,
        client=args.dask,
        dask_writes=args.dask_writes,
    )
    _signals.check()
    _print_info(out)
    print(
        f"results: {out}  (pandas: fastdescent.load({str(out)!r}) or "
        f"pandas.read_parquet({str(out)!r}))"
    )
    return 0


def _basin_lines(directory: Path, m: dict) -> list[str]:
    """Landscapes: how many runs ended at each listed minimum (basin), and elsewhere."""
    from . import store

    parts = sorted(m["chunks_done"])
    if not parts:
        return []
    points = store.read_critical_points(store.part_path(directory, parts[0]))
    if not points:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", store.PartialSweepWarning)
        basin = store.load(directory, columns=["basin"], allow_partial=True)["basin"]
    counts = basin.value_counts()
    cells = []
    for k, p in enumerate(points["minima"]):
        where = ", ".join(f"{v:.6g}" for v in p["location"])
        cells.append(f"{k} ({where}) {int(counts.get(k, 0)):,}")
    cells.append(f"none {int(counts.get(-1, 0)):,}")
    return ["basins     " + "; ".join(cells)]


def _run_lines(m: dict) -> list[str]:
    """Which backend computed which chunks: one line per run that computed any."""
    out = []
    for k, r in enumerate(m["runs"], 1):
        if not r.get("chunks") and not r.get("adopted_ranges"):
            continue
        ranges = r.get("chunk_ranges")
        if ranges is None:  # written before runs recorded their chunks
            which = f"{r['chunks']} chunks"
        else:
            shown = [str(a) if a == b else f"{a}-{b}" for a, b in ranges[:8]]
            more = f" and {len(ranges) - 8} more ranges" if len(ranges) > 8 else ""
            which = f"chunks {', '.join(shown)}{more} ({r['chunks']})"
        if r.get("backend") == "dask":
            where = (
                f"dask {r.get('scheduler')} ({r.get('workers')} workers on {r.get('hosts')} "
                f"host(s), {r.get('threads')} Numba threads, {r.get('dask_writes')} wrote "
                "the parts)"
            )
        else:
            where = f"{r.get('backend', 'local')} ({r.get('threads')} threads)"
        if r.get("adopted_ranges"):
            shown = [str(a) if a == b else f"{a}-{b}" for a, b in r["adopted_ranges"][:8]]
            which += f"; found finished on disk: {', '.join(shown)} (tasks of run {k - 1})"
        out.append(f"run {k}: {where}: {which}")
    return [("computed   " if i == 0 else " " * 11) + line for i, line in enumerate(out)]


def _print_info(directory: Path) -> None:
    from . import store

    m = store.open_manifest(directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", store.PartialSweepWarning)
        status = store.load(directory, columns=["status"], allow_partial=True)["status"]
    status = status.value_counts()
    spec = m["spec"]
    n_done = len(m["chunks_done"])
    steps = m.get("trajectory_steps", 0)
    kernel = m["kernel_seconds"]
    done_rows = store.rows_done(m)
    if m["complete"]:
        state = f"complete ({n_done}/{m['n_chunks']} chunks)"
    else:
        state = (
            f"incomplete: {n_done} of {m['n_chunks']} chunks; run the same `fastdescent run` "
            "command again to compute the rest"
        )
    lines = [
        f"sweep      {spec['name']}  (spec hash {m['spec_hash'][:16]}, fastdescent {m['version']})",
        f"problem    {spec['problem']} {json.dumps(spec['problem_params'])}",
        f"optimizer  {spec['optimizer']}, steps {spec['steps']}, {spec.get('dtype', 'float64')}, "
        f"stop {json.dumps(spec['stop'])}",
        "axes       " + "; ".join(f"{k} {json.dumps(v)}" for k, v in spec["axes"].items()),
        f"rows       {done_rows:,} of {m['n_trajectories']:,}",
        f"state      {state}",
        "status     " + ", ".join(f"{k} {int(v):,}" for k, v in status.items()),
        f"timing     kernel {kernel:.2f} s, write {m['write_seconds']:.2f} s, "
        f"total {m['total_seconds']:.2f} s; "
        f"{steps / kernel if kernel else 0:.3g} trajectory-steps/s in the kernel",
    ]
    lines += _basin_lines(directory, m)
    lines += _run_lines(m)
    if "schedule" in spec or "schedules" in spec:
        tables = spec.get("schedules") or {"(every run)": spec.get("schedule")}
        lines.append("schedules  " + "; ".join(f"{k} {json.dumps(v)}" for k, v in tables.items()))
    if "record" in spec:
        sub = store.trajectories_dir(directory)
        parts = sorted(sub.glob("part-*.parquet"))
        lines.append(
            f"recorded   {json.dumps(spec['record'])}: {len(parts)} part(s) in "
            f"{sub} (fastdescent.load_trajectories)"
        )
    others = store.other_files(directory, m)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        lines.append(f"not read   {shown} (not parts of this sweep)")
    rejected = directory / store.REJECTED
    if rejected.is_dir():
        n = sum(1 for _ in rejected.iterdir())
        lines.append(f"rejected   {n} file(s) in {rejected} (failed verification; kept for you)")
    print("\n".join(lines))


def _info(args) -> int:
    if args.json:
        from . import store

        print(json.dumps(store.open_manifest(Path(args.dir)), indent=1))
    else:
        _print_info(Path(args.dir))
    return 0


def _worker_lost():
    """cluster.WorkerLostError, imported only when an exception needs the check."""
    from .cluster import WorkerLostError

    return WorkerLostError


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"fastdescent: warning: {_one_line(message)}", file=sys.stderr)


def _one_line(exc) -> str:
    return " ".join(str(exc).split("\n")).strip() or type(exc).__name__


def _interrupted(state, code) -> int:
    out = state.get("out")
    if out is not None:
        text = (
            f"interrupted; finished chunks are kept in {out}. Run the same command again to "
            "compute the rest."
        )
    else:
        text = "interrupted before any work started. Run the same command again to start."
    print(f"\nfastdescent: {text}", file=sys.stderr)
    return code


def _quiet_broken_pipe() -> int:
    """stdout was closed by its reader: point it at /dev/null so that the final flush
    does not complain, and exit quietly as Unix tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return EXIT_PIPE


def main(argv=None) -> int:
    """The command line; returns the exit status (see the module docstring)."""
    state = {}
    try:
        with _signals.deferred(), warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            args = _parser().parse_args(argv)
            _signals.check()
            try:
                code = _run(args, state) if args.command == "run" else _info(args)
                _signals.check()  # a signal during the closing summary still counts
                return code
            except _worker_lost() as exc:
                print(f"fastdescent: error: {_one_line(exc)}", file=sys.stderr)
                return EXIT_FAILED
            except (ValueError, OSError, NotImplementedError, MemoryError, RecursionError) as exc:
                if isinstance(exc, BrokenPipeError):
                    raise
                print(f"fastdescent: error: {_one_line(exc)}", file=sys.stderr)
                return EXIT_USAGE
    except KeyboardInterrupt:
        return _interrupted(state, EXIT_INTERRUPTED)
    except Terminated:
        return _interrupted(state, EXIT_TERMINATED)
    except BrokenPipeError:
        return _quiet_broken_pipe()


if __name__ == "__main__":
    sys.exit(main())
