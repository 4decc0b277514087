"""Mini-batch index sampling for ``linreg``, keyed like every draw (``fastdescent.rng``).

Draw k of (seed, step) is a uniform integer below m from the 64-bit word
u = (w0 << 32) | w1 (k even) or (w2 << 32) | w3 (k odd) of
philox4x32(step, k // 2, STREAM_BATCH, 0; key = seed's 32-bit halves):
floor(u * m / 2^64), exact in 64-bit integer arithmetic; its bias is below m / 2^64
(< 2.4e-10 for m < 2^32), and no draw is rejected, so draw k is a pure function of
(seed, step, k).

Samplings (DESIGN 1.4), n samples, batch size B:
- "epoch": epoch e = t // (n // B), position p = t % (n // B); the epoch's permutation is
  Fisher-Yates from the identity with draws keyed (seed, e): for i = n-1 .. 1, k = n-1-i,
  swap perm[i] and perm[j], j = draw k below i + 1. Step t's batch is
  perm[p B : (p + 1) B]; the last n mod B samples of a permutation are dropped.
- "subset": B distinct indices, each step independently: a partial Fisher-Yates with
  draws keyed (seed, t): for k = 0 .. B-1, swap pool[k] and pool[k + draw k below n - k];
  the batch is pool[0 : B] (pool starts as the identity every step).
- "replacement": index k = draw k below n, keyed (seed, t), k = 0 .. B-1.
- full batch (``FULL``): 0 .. n-1 in order (B = n with "epoch" or "subset", or no
  batch_size axis).
"""

from __future__ import annotations

from numba import types

from .._jit import jit
from ..rng import STREAM_BATCH, philox4x32

EPOCH = 0
SUBSET = 1
REPLACEMENT = 2
FULL = 3
CODES = {"epoch": EPOCH, "subset": SUBSET, "replacement": REPLACEMENT}


@jit
def below(seed, step, k, m):
    """Draw k of (seed, step): an integer in [0, m), m in [1, 2^32)."""
    seed = types.uint64(seed)
    w0, w1, w2, w3 = philox4x32(step, k // 2, STREAM_BATCH, 0, seed, seed >> types.uint64(32))
    hi, lo = (w0, w1) if k % 2 == 0 else (w2, w3)
    m = types.uint64(m)
    return types.int64((hi * m + ((lo * m) >> types.uint64(32))) >> types.uint64(32))


@jit
def epoch_permutation(seed, epoch, perm):
    """perm[:] = the permutation of 0 .. n-1 of ``epoch`` (n = perm.shape[0])."""
    n = perm.shape[0]
    for i in range(n):
        perm[i] = i
    for i in range(n - 1, 0, -1):
        j = below(seed, epoch, n - 1 - i, i + 1)
        perm[i], perm[j] = perm[j], perm[i]


@jit
def batch(sampling, seed, t, B, perm, pool, swaps, out):
    """Step t's batch indices into out[:B] (see the module docstring).

    perm (n,): the current epoch's permutation, refreshed here at each epoch's first
    step (so the caller must visit t = 0, 1, 2, ... in order); pool (n,): the identity,
    restored on return; swaps (B,): scratch. FULL writes nothing (the caller uses the
    precomputed full-batch sums).
    """
    n = perm.shape[0]
    if sampling == EPOCH:
        per_epoch = n // B
        e, p = t // per_epoch, t % per_epoch
        if p == 0:
            epoch_permutation(seed, e, perm)
        for k in range(B):
            out[k] = perm[p * B + k]
    elif sampling == SUBSET:
        for k in range(B):
            j = k + below(seed, t, k, n - k)
            swaps[k] = j
            pool[k], pool[j] = pool[j], pool[k]
            out[k] = pool[k]
        for k in range(B - 1, -1, -1):
            j = swaps[k]
            pool[k], pool[j] = pool[j], pool[k]
    elif sampling == REPLACEMENT:
        for k in range(B):
            out[k] = below(seed, t, k, n)
