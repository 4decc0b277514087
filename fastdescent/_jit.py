"""Numba options, written once (``grep -n "njit(" fastdescent`` finds only this file).

- ``cache=True``: compile once, later processes load the machine code from
  ``__pycache__`` (or ``NUMBA_CACHE_DIR``).
- ``nogil=True``: kernels release the GIL, so a writer thread or a Dask worker
  can run beside them.
- ``error_model="numpy"``: ``x / 0.0`` gives inf/NaN as in NumPy instead of raising,
  which removes a branch from every division. Every division in a kernel is guarded
  where it matters.
- No ``fastmath``: with LLVM's ``nnan``/``ninf`` flags ``isfinite`` folds to True and
  divergence detection silently breaks (numba#2919), and contraction into FMA would
  make kernel results differ in the last bits from the slow reference.

Numba's cache checks only the timestamp of the file that defines a function, not of the
modules whose jitted helpers it inlines (numba#8851): after an edit to ``metrics.py`` the
kernels in ``kernels/`` would load stale machine code. ``invalidate_stale_cache``
guards against that: it hashes every source file of the package and, when the hash
differs from the one recorded next to the cache, deletes the package's cached kernels
before anything is compiled or loaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numba

_PACKAGE = Path(__file__).resolve().parent
_STAMP = "fastdescent-sources.sha256"


def sources_digest(package: Path = _PACKAGE) -> str:
    """SHA-256 of every source file of the package (paths and bytes): two installs that
    agree on it compute the same bytes (the Dask backend compares it across workers)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def invalidate_stale_cache(package: Path = _PACKAGE) -> bool:
    """Delete the package's Numba cache files if any of its sources changed since they
    were written; return True if it deleted them. Best effort: a read-only install has
    nothing to invalidate, and a file another process removed first is fine."""
    cache = package / "__pycache__"  # the stamp lives here; cached kernels in every one
    digest = sources_digest(package)
    stamp = cache / _STAMP
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for path in [*package.rglob("__pycache__/*.nbi"), *package.rglob("__pycache__/*.nbc")]:
            path.unlink(missing_ok=True)
        stamp.write_text(digest)
    except OSError:
        return False
    return True


invalidate_stale_cache()

_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}


def jit(fn):
    """Serial helper or worker: ``@jit``."""
    return numba.njit(**_OPTIONS)(fn)


def jit_parallel(fn):
    """Top-level kernel with ``prange`` loops: ``@jit_parallel``."""
    return numba.njit(parallel=True, **_OPTIONS)(fn)


def jit_inline(fn):
    """A function inlined into its callers at Numba IR level (``inline="always"``), so
    that constant arguments at a call site are constants in its body: the lane kernel's
    block, specialised per (problem, optimizer)."""
    return numba.njit(inline="always", **_OPTIONS)(fn)
