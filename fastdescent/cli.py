"""The ``fastdescent`` command: ``run`` a sweep spec, ``info`` about a results directory.

User errors (bad spec, unusable directory, bad option) print one line and exit 2; an
interruption (Ctrl-C) keeps the finished chunks, says how to resume and exits 130.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fastdescent",
        description="Run gradient-descent sweeps and inspect their results.",
    )
    sub = p.add_subparsers(dest="command", required=True)
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
    i = sub.add_parser("info", help="describe a results directory")
    i.add_argument("dir", help="results directory")
    i.add_argument("--json", action="store_true", help="print the manifest as JSON")
    return p


def _run(args) -> int:
    from . import runner
    from .spec import parse_spec

    spec = parse_spec(args.spec)
    out = Path(args.out) if args.out else Path("results") / spec.name
    print(
        f"fastdescent: {spec.name}: {spec.size:,} trajectories of {spec.optimizer} on "
        f"{spec.problem}, up to {spec.steps} steps -> {out}",
        file=sys.stderr,
    )
    try:
        runner.run(
            spec,
            out=out,
            threads=args.threads,
            chunk_size=args.chunk_size,
            resume=not args.no_resume,
            progress=False if args.quiet else None,
        )
    except KeyboardInterrupt:
        print(
            f"\nfastdescent: interrupted; finished chunks are kept in {out}. "
            f"Run the same command again to compute the rest.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    _print_info(out)
    print(
        f"results: {out}  (pandas: fastdescent.load({str(out)!r}) or "
        f"pandas.read_parquet({str(out)!r}))"
    )
    return 0


def _print_info(directory: Path) -> None:
    from . import store

    m = store.read_manifest(directory)
    if m is None:
        raise store.SweepDirError(
            f"{directory}: not a fastdescent results directory (no {store.MANIFEST})"
        )
    status = store.load(directory, columns=["status"])["status"].value_counts()
    spec = m["spec"]
    n_done = len(m["chunks_done"])
    steps = m.get("trajectory_steps", 0)
    kernel = m["kernel_seconds"]
    lines = [
        f"sweep      {spec['name']}  (spec hash {m['spec_hash'][:16]}, fastdescent {m['version']})",
        f"problem    {spec['problem']} {json.dumps(spec['problem_params'])}",
        f"optimizer  {spec['optimizer']}, steps {spec['steps']}, {spec.get('dtype', 'float64')}, "
        f"stop {json.dumps(spec['stop'])}",
        "axes       " + "; ".join(f"{k} {json.dumps(v)}" for k, v in spec["axes"].items()),
        f"rows       {int(status.sum()):,} of {m['n_trajectories']:,} "
        f"({n_done}/{m['n_chunks']} chunks{'' if m['complete'] else ', INCOMPLETE'})",
        "status     " + ", ".join(f"{k} {int(v):,}" for k, v in status.items()),
        f"timing     kernel {kernel:.2f} s, write {m['write_seconds']:.2f} s, "
        f"total {m['total_seconds']:.2f} s; "
        f"{steps / kernel if kernel else 0:.3g} trajectory-steps/s in the kernel",
    ]
    print("\n".join(lines))


def main(argv=None) -> int:
    from .spec import SpecError
    from .store import SweepDirError

    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.json:
            from . import store

            print(json.dumps(store.read_manifest(Path(args.dir)), indent=1))
        else:
            _print_info(Path(args.dir))
        return 0
    except (SpecError, SweepDirError, FileNotFoundError, NotImplementedError, ValueError) as exc:
        print(f"fastdescent: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
