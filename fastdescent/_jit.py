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
"""

from __future__ import annotations

import numba

_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}


def jit(fn):
    """Serial helper or worker: ``@jit``."""
    return numba.njit(**_OPTIONS)(fn)


def jit_parallel(fn):
    """Top-level kernel with ``prange`` loops: ``@jit_parallel``."""
    return numba.njit(parallel=True, **_OPTIONS)(fn)
