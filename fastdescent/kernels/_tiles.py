"""Work sharing for the parallel kernels: threads draw tiles from a shared counter.

``prange`` splits its range statically (numba#2556), and Numba's ``parallel_chunksize``
did not change that here, so every kernel runs ``for _ in prange(n_tiles)`` and, inside,
draws tile numbers from an atomic counter (``fetch_add``) until none is left: a thread
slowed by the Parquet writer thread, or by tiles that run long, takes fewer tiles. Tiles
are visited in a scrambled order (``scramble``) so that cheap and expensive regions of the
grid mix.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._jit import jit


@jit
def scramble(k, n):
    """A fixed permutation of 0..n-1: k -> (k * p) mod n with p prime and not dividing n.

    Tiles are drawn in this order, so consecutive draws come from every part of the grid
    (every beta, every lr) and cheap and expensive tiles alternate until the end, where
    a long tile drawn last would leave the other threads idle.
    """
    p = 7919
    if n % p == 0:
        p = 7907
    return (k * p) % n


@intrinsic
def fetch_add(typingctx, counter, value):
    """Atomically add ``value`` to ``counter[0]`` (an int64 array) and return the old
    value: a shared work counter that the threads draw tiles from."""
    sig = types.int64(counter, value)

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], array, [zero])
        return builder.atomic_rmw("add", ptr, args[1], "monotonic")

    return sig, codegen
