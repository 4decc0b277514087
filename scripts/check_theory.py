"""Check a sweep's results against theory (DESIGN 1.6): quadratics and landscapes.

    python scripts/check_theory.py DIR [--tolerance-rate T] [--band 0.02] [--worst 5]

Quadratic sweeps (``fastdescent.checks`` has the criteria): 1 the divergence verdict
outside a band around the stability limit, 2 the measured rate against theory's rho, 3 the
best rate on the grid per kappa against the grid's theoretical best and rho*
(--tolerance-rate default 0.02).

Landscape sweeps (``fastdescent.checks_landscape``, against ``fastdescent.theory.local``):
1 every converged run ends at a listed critical point (its basin's minimum, or a saddle
for basin -1), 2 the measured local rate against the local rate at the minimum reached
(--tolerance-rate default 2e-3), 3 each minimum's basin vanishes at its local stability
limit of eta (no run converges to it above the limit x (1 + band); it is still reached
just below), 4 minima related by a symmetry of the landscape have basins of equal area.

Linreg sweeps (``fastdescent.checks_sgd``, against ``fastdescent.theory.minibatch``): 1 per
stochastic grid point (>= 8 seeds, none diverged, run longer than the relaxation time, below
the mean-square edge) the mean tail loss vs the exact stationary excess loss, within
max(3 %, 3 standard errors); 2 full-batch rows (sigma = 0) converge / diverge as the
full-batch stability limit says.

Adaptive sweeps (adam, rmsprop, adagrad; ``fastdescent.checks_adaptive``): the final
preconditioned sharpness of the runs that end as max_steps against the frozen
preconditioner's stability edge, for the runs without momentum (at most 1.05 times it:
the edge itself once the orbit has settled, derived, plus the overshoot measured while the
g^2 average catches up); runs with momentum are reported, not checked (no derived bound).
On a landscape only the runs that end within 0.05 of a listed minimum are checked (there
it is its quadratic model); the others are reported.

Learning-rate schedules: theory's closed forms are for a constant step size, so only the
rows at constant eta are checked (a schedule axis's "constant" rows); the others are
counted and left out, with a line saying so.

Prints a table of counts and errors, each check's worst points and a final PASS/FAIL line.
Exit status: 0 all checks pass; 1 a check failed; 2 a user error (no such directory, not a
results directory, an unfinished sweep, a problem without theory, a bad option), with a
one-line message.
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
        prog="check_theory.py", description="Check a sweep's results against theory."
    )
    p.add_argument("dir", help="results directory (fastdescent run ... --out DIR)")
    p.add_argument(
        "--tolerance-rate",
        type=_positive,
        default=None,
        help="largest |log rate - log rho| / |log rho| (default 0.02; landscapes 2e-3)",
    )
    p.add_argument(
        "--band",
        type=_positive,
        default=0.02,
        help="relative band around the stability limit(s) left unchecked (default 0.02)",
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
    from fastdescent.checks_adaptive import check_adaptive
    from fastdescent.checks_landscape import check_landscape
    from fastdescent.checks_sgd import check_linreg
    from fastdescent.optimizers import ADAPTIVE
    from fastdescent.problems import problem_names

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
        problem = spec.get("problem")
        if problem not in problem_names():
            raise CheckError(
                f"{directory}: problem {problem!r}: theory covers 'quadratic' and the "
                f"landscapes ({', '.join(p for p in problem_names() if p != 'quadratic')})"
            )
        df = fastdescent.load(directory)
        check = {"quadratic": check_sweep, "linreg": check_linreg}.get(problem, check_landscape)
        if spec.get("optimizer") in ADAPTIVE:
            check = check_adaptive
        options = dict(band=args.band, worst=args.worst)
        if args.tolerance_rate is not None:
            options["tolerance_rate"] = args.tolerance_rate
        report = check(df, spec, **options)
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
