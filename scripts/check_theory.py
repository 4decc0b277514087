"""Check every grid point of a quadratic sweep's results against theory (DESIGN 1.6).

    python scripts/check_theory.py DIR [--tolerance-rate 0.02] [--band 0.02] [--worst 5]

Three checks (``fastdescent.checks`` has the criteria): 1 the divergence verdict outside a
band around the stability limit, 2 the measured rate against theory's rho, 3 the best rate
on the grid per kappa against the grid's theoretical best and rho*. Prints a table of
counts and errors, each check's worst points and a final PASS/FAIL line.

Exit status: 0 all checks pass; 1 a check failed; 2 a user error (no such directory, not a
results directory, a non-quadratic sweep, a bad option), with a one-line message.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_FAIL = 1
EXIT_USAGE = 2


def _positive(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="check_theory.py", description="Check a quadratic sweep's results against theory."
    )
    p.add_argument("dir", help="results directory (fastdescent run ... --out DIR)")
    p.add_argument(
        "--tolerance-rate",
        type=_positive,
        default=0.02,
        help="largest |log rate - log rho| / |log rho| (default 0.02)",
    )
    p.add_argument(
        "--band",
        type=_positive,
        default=0.02,
        help="relative band around the stability limit left unchecked (default 0.02)",
    )
    p.add_argument("--worst", type=int, default=5, help="worst points shown per check (default 5)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.worst < 0 or args.band >= 1:
        print("check_theory.py: error: need --worst >= 0 and --band < 1", file=sys.stderr)
        return EXIT_USAGE

    import pyarrow as pa

    import fastdescent
    from fastdescent import store
    from fastdescent.checks import CheckError, check_sweep

    directory = Path(args.dir)
    try:
        if not directory.is_dir():
            raise CheckError(f"{directory}: no such results directory")
        manifest = store.read_manifest(directory)
        if manifest is None or "spec" not in manifest:
            raise CheckError(
                f"{directory}: not a fastdescent results directory (no {store.MANIFEST})"
            )
        spec = manifest["spec"]
        if spec.get("problem") != "quadratic":
            raise CheckError(
                f"{directory}: problem {spec.get('problem')!r}: theory covers only quadratic sweeps"
            )
        df = fastdescent.load(directory)
        report = check_sweep(
            df, spec, tolerance_rate=args.tolerance_rate, band=args.band, worst=args.worst
        )
    except (CheckError, store.SweepDirError, FileNotFoundError, OSError, pa.ArrowException) as exc:
        print(f"check_theory.py: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"check_theory: {directory}")
    if not manifest.get("complete", True):
        print("warning: the sweep is not finished (the manifest says incomplete)")
    print(report.format())
    return 0 if report.ok else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
