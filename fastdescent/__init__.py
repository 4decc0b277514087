"""fastdescent: millions of gradient-descent trajectories over dense grids, checked against theory.

    import fastdescent
    df = fastdescent.run("scripts/sweeps/momentum.toml")        # a pandas DataFrame
    fastdescent.run(spec, out="results/momentum")               # a Parquet results directory
    df = fastdescent.load("results/momentum", columns=["lr", "beta", "rate"])

Importing the package compiles nothing and imports nothing heavy (not even NumPy):
``run``, ``load`` and the spec classes bring in what they need on first use, so that the
``fastdescent`` command starts handling Ctrl-C within milliseconds.
"""

from __future__ import annotations

__version__ = "0.2.0"
__all__ = [
    "SpecError", "SweepSpec", "estimate", "load", "load_trajectories", "parse_spec", "replay",
    "run",
]  # fmt: skip

_FROM_SPEC = ("SpecError", "SweepSpec", "parse_spec")


def __getattr__(name):
    if name in _FROM_SPEC:
        from . import spec

        return getattr(spec, name)
    raise AttributeError(f"module 'fastdescent' has no attribute {name!r}")


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
    """Run a sweep, here or on a Dask cluster (``client``); see ``fastdescent.runner.run``."""
    from .runner import run as _run

    return _run(
        spec,
        out=out,
        threads=threads,
        chunk_size=chunk_size,
        resume=resume,
        progress=progress,
        force=force,
        client=client,
        dask_writes=dask_writes,
    )


def load(directory, columns=None, filters=None, allow_partial=False):
    """Load a results directory as a DataFrame; see ``fastdescent.store.load``."""
    from .store import load as _load

    return _load(directory, columns=columns, filters=filters, allow_partial=allow_partial)


def load_trajectories(directory, traj=None, columns=None):
    """The per-step rows ``[record]`` kept, as a DataFrame; see
    ``fastdescent.recording.load_trajectories``."""
    from .recording import load_trajectories as _load

    return _load(directory, traj=traj, columns=columns)


def replay(source, traj):
    """Recompute one trajectory of a sweep (a results directory or a spec), every step,
    bit-identical to the sweep; see ``fastdescent.trajectory.replay``."""
    from .trajectory import replay as _replay

    return _replay(source, traj)


def estimate(spec, out=None, threads=None):
    """Rows, disk and worst-case time of a sweep, before any work; see
    ``fastdescent.runner.estimate``."""
    from .runner import estimate as _estimate

    return _estimate(spec, out=out, threads=threads)
