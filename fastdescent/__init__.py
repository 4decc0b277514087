"""fastdescent: millions of gradient-descent trajectories over dense grids, checked against theory.

    import fastdescent
    df = fastdescent.run("scripts/sweeps/momentum.toml")        # a pandas DataFrame
    fastdescent.run(spec, out="results/momentum")               # a Parquet results directory
    df = fastdescent.load("results/momentum", columns=["lr", "beta", "rate"])

Importing the package compiles nothing and imports neither pyarrow nor matplotlib;
``run`` and ``load`` bring in what they need on first use.
"""

from __future__ import annotations

__version__ = "0.2.0"
__all__ = ["SpecError", "SweepSpec", "load", "parse_spec", "run"]

from .spec import SpecError, SweepSpec, parse_spec


def run(spec, out=None, threads=None, chunk_size=None, resume=True, progress=None):
    """Run a sweep; see ``fastdescent.runner.run``."""
    from .runner import run as _run

    return _run(
        spec, out=out, threads=threads, chunk_size=chunk_size, resume=resume, progress=progress
    )


def load(directory, columns=None, filters=None):
    """Load a results directory as a DataFrame; see ``fastdescent.store.load``."""
    from .store import load as _load

    return _load(directory, columns=columns, filters=filters)
