"""A parallel kernel with no other use than starting Numba's thread pool, so that
``numba.threading_layer()`` can say which layer a process runs (the Dask backend asks
every worker before giving it a task)."""

from __future__ import annotations

import numba
import numpy as np

from .._jit import jit_parallel


@jit_parallel
def pool_probe(n):
    """out[i] = i for i < n, computed in a ``prange`` loop; shape (n,)."""
    out = np.empty(n)
    for i in numba.prange(n):
        out[i] = i
    return out
