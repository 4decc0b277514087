"""Command-line plumbing shared by the figure scripts in scripts/.

Every script is ``python scripts/NAME.py DIR [--out FIGDIR] [--format png|svg|pdf]
[--dpi N] [...]``: it reads the results directory DIR, writes its figure(s) into FIGDIR
(default ``results/figures/<sweep name>/``), prints each path written, and exits 0.
User errors (no such directory, not a results directory, a sweep the figure does not
apply to, a bad option value) print one line ``NAME: error: ...`` to stderr and exit 2,
with no traceback.

Importing this module selects matplotlib's Agg backend: scripts only write files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

from . import load
from .analysis_landscape import limit_etas
from .store import SweepDirError, read_manifest
from .theory import OPTIMIZERS

#: columns the figures read; axis columns are added per sweep
COLUMNS = ["eta", "lambda_min", "lambda_max", "status", "steps", "rate", "loss0", "final_loss"]
#: ... for landscape sweeps (1-D problems have no y_final)
LANDSCAPE_COLUMNS = ["eta", "status", "steps", "rate", "loss0", "final_loss", "basin"]
LANDSCAPE_COLUMNS += ["x_final", "y_final"]
#: the scripts that draw landscape sweeps (named in the quadratic scripts' refusal)
LANDSCAPE_SCRIPTS = "scripts/landscape.py or scripts/basins.py"
FORMATS = ("png", "svg", "pdf")


class UserError(Exception):
    """A mistake on the command line or a directory the figure cannot use."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parser(prog, doc):
    """An ArgumentParser with the arguments every figure script takes."""
    p = _Parser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", metavar="DIR", help="a results directory written by fastdescent run")
    p.add_argument("--out", metavar="FIGDIR", help="where to write (default results/figures/NAME)")
    p.add_argument("--format", choices=FORMATS, default="png", help="image format (png)")
    p.add_argument("--dpi", type=int, default=150, help="resolution of png output (150)")
    return p


def floats(text):
    """argparse type: a number, with a one-line error otherwise."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def numbers(texts, option):
    """Parse a list of numbers given to ``option``; UserError for anything else."""
    try:
        return [float(t) for t in texts]
    except ValueError:
        raise UserError(f"{option}: expected numbers (or 'all'), got {' '.join(texts)}") from None


def read_sweep(directory, check, columns):
    """(spec, df) of a results directory: ``check(spec)`` may refuse it (UserError) before
    any row is read; ``columns(spec, manifest)`` names the columns to load. UserError for
    a missing, foreign or empty directory, or one that does not verify."""
    path = Path(directory)
    if not path.is_dir():
        raise UserError(f"{path}: no such directory")
    try:
        manifest = read_manifest(path)
        if manifest is None or "spec" not in manifest:
            raise UserError(f"{path}: not a fastdescent results directory (no _sweep.json)")
        spec = manifest["spec"]
        check(spec)
        df = load(path, columns=columns(spec, manifest))
    except SweepDirError as exc:
        raise UserError(str(exc)) from None
    if df.empty:
        raise UserError(f"{path}: the sweep has no rows yet")
    return spec, df


def open_sweep(directory, kind="quadratic"):
    """(spec, df): the normalised spec from DIR/_sweep.json and the rows the figures
    need. ``kind``: "quadratic" (the figures of quadratic sweeps) or "landscape" (the
    landscape figures); a sweep of the other kind is refused, before anything is read,
    with a message naming the scripts that draw it. Raises UserError for a missing or
    foreign directory."""

    def columns(spec, manifest):
        axes = [a for a in ("lr", "beta", "kappa", "seed", "x0", "y0") if a in spec.get("axes", {})]
        if kind == "landscape":
            present = manifest.get("columns") or LANDSCAPE_COLUMNS
            return ["traj", *axes] + [c for c in LANDSCAPE_COLUMNS if c in present]
        return axes + COLUMNS

    return read_sweep(directory, lambda spec: _check_kind(spec, kind), columns)


def save(fig, args, spec, stem):
    """Write ``fig`` as FIGDIR/stem.FORMAT, print the path and return it."""
    out = Path(args.out) if args.out else Path("results") / "figures" / spec["name"]
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}.{args.format}"
    meta = {"png": {}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}[args.format]
    fig.savefig(path, dpi=args.dpi, metadata=meta)
    print(path)
    return path


def _check_kind(spec, kind):
    name, problem = spec.get("name", "?"), spec.get("problem")
    if kind == "quadratic" and problem != "quadratic":
        raise UserError(
            f"sweep {name!r} is on {problem!r}, a landscape; this figure needs 'quadratic' "
            f"(draw a landscape with {LANDSCAPE_SCRIPTS})"
        )
    if kind == "landscape" and problem == "quadratic":
        raise UserError(
            f"sweep {name!r} is on 'quadratic'; this figure needs a landscape (draw a "
            "quadratic sweep with rate_heatmaps.py, lr_sweep.py, ...)"
        )


def check_sweep(spec, need=()):
    """Raise UserError unless ``spec`` is a quadratic sweep whose lr axis and the
    axes named in ``need`` (e.g. ``("beta",)``) each have at least 2 values. (A
    normalised spec lists defaulted axes too, e.g. kappa = [1]: that is no kappa axis.)"""
    name = spec.get("name", "?")
    if spec.get("problem") != "quadratic":
        raise UserError(f"sweep {name!r} is on {spec.get('problem')!r}; needs 'quadratic'")
    if spec.get("optimizer") not in OPTIMIZERS:
        raise UserError(f"sweep {name!r}: no theory for optimizer {spec.get('optimizer')!r}")
    for axis in ("lr", *need):
        a = spec["axes"].get(axis)
        n = 0 if a is None else len(a["values"]) if "values" in a else a["num"]
        if n < 2:
            only = f"only {axis} = {_first(a):g}" if n else f"no {axis} axis"
            raise UserError(f"sweep {name!r} has {only}; this figure needs a {axis} axis")


def _first(axis):
    return axis["values"][0] if "values" in axis else axis["start"]


def nearest(grid, wanted, log=False, name="value"):
    """Grid values nearest to each of ``wanted`` (in log space if ``log``), deduplicated,
    in the order asked: float64 array of shape (<= len(wanted),). Raises UserError
    for a value outside the grid's range by more than half a grid step."""
    g = np.unique(np.asarray(grid, dtype=np.float64))
    w = np.asarray(wanted, dtype=np.float64)
    tg, tw = (np.log(g), np.log(np.where(w > 0, w, np.nan))) if log else (g, w)
    half = 0.5 * (np.max(np.diff(tg)) if len(g) > 1 else 0.0) + 1e-9 * max(1.0, abs(tg).max())
    out = []
    for value, t in zip(w, tw, strict=True):
        if not (np.isfinite(t) and tg[0] - half <= t <= tg[-1] + half):
            grid_text = f"{g[0]:g} .. {g[-1]:g}, {len(g)} values"
            raise UserError(f"{name} = {value:g} is outside the sweep's grid ({grid_text})")
        pick = g[np.argmin(np.abs(tg - t))]
        if pick not in out:
            out.append(pick)
    return np.array(out)


def representative(grid, targets, n_max, log=False):
    """A few grid values to show by default: all of them if there are at most
    ``n_max``; else those nearest to the ``targets`` inside the range, or, if fewer
    than 3 of those remain, ``n_max`` values evenly spaced (in log if ``log``)."""
    g = np.unique(np.asarray(grid, dtype=np.float64))
    if len(g) <= n_max:
        return g
    t = np.asarray(targets, dtype=np.float64)
    t = t[(t >= g[0]) & (t <= g[-1])]
    picks = nearest(g, t, log=log) if len(t) else np.array([])
    if len(picks) < 3:
        even = np.geomspace(g[0], g[-1], n_max) if log else np.linspace(g[0], g[-1], n_max)
        picks = nearest(g, even, log=log)
    return np.sort(picks[:n_max])


def main(prog, doc, add_arguments, make, argv=None, kind="quadratic", opener=None):
    """Parse, open the sweep (``opener(DIR)``, by default ``open_sweep(DIR, kind)``), call
    ``make(args, spec, df) -> [(figure, stem), ...]`` and save each figure. Returns the
    exit status: 0, or 2 for a user error."""
    p = parser(prog, doc)
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        spec, df = opener(args.dir) if opener else open_sweep(args.dir, kind)
        figures = make(args, spec, df)
    except UserError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    try:
        for fig, stem in figures:
            save(fig, args, spec, stem)
    except OSError as exc:
        print(f"{prog}: error: cannot write the figure: {exc}", file=sys.stderr)
        return 2
    return 0


def landscape_arguments(p):
    """--lr and --beta for the landscape scripts (grid values nearest those asked)."""
    p.add_argument(
        "--lr", nargs="+", metavar="ETA", help="step sizes eta (nearest on the grid), or 'all'"
    )
    p.add_argument(
        "--beta", nargs="+", type=floats, metavar="B", help="momentum values (nearest on the grid)"
    )


def pick_panels(args, spec, df, info, n_max):
    """The (eta, beta) panels to draw: those asked with --lr / --beta (nearest grid values;
    --lr all: every eta), else at most ``n_max``: up to 3 momenta nearest 0, 0.5, 0.9 and,
    per momentum, the smallest eta and the grid values on either side of each minimum's
    local stability limit (where its basin vanishes), or evenly spaced etas.
    Returns a list of (eta, beta) sorted by beta, then eta."""
    etas = np.unique(df["eta"].to_numpy())
    betas = np.unique(df["beta"].to_numpy()) if "beta" in df else np.zeros(1)
    if args.beta and spec["optimizer"] == "gd":
        raise UserError("--beta: a gd sweep has no momentum")
    if args.beta:
        b_pick = nearest(betas, args.beta, name="beta")
    else:
        b_pick = representative(betas, [0.0, 0.5, 0.9], 3 if n_max >= 6 else 2)
    per = max(1, n_max // len(b_pick))
    out = []
    for b in b_pick:
        if args.lr == ["all"]:
            e_pick = etas
        elif args.lr:
            e_pick = nearest(etas, numbers(args.lr, "--lr"), log=True, name="lr")
        else:
            beta = None if spec["optimizer"] == "gd" else b
            limits = [m.limit(spec["optimizer"], beta) for m in info.minima]
            e_pick = limit_etas(etas, limits, per)
        out += [(float(e), float(b)) for e in e_pick]
    return sorted(out, key=lambda p: (p[1], p[0]))
