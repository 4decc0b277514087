"""Counter-based random numbers: Philox-4x32-10, keyed by the seed, countered by (step,
block of components, stream).

A draw is a pure function of its coordinates, with no generator state anywhere, so the
same spec gives the same numbers whatever the threads, chunks or backend, and every
trajectory with the same seed sees the same noise at every grid point (common random
numbers: differences across eta or beta are not sampling noise).

- ``philox4x32(c0, c1, c2, c3, k0, k1)``: Salmon et al. (SC'11), Philox-4x32 with 10
  rounds, as Random123 computes it (its known-answer vectors, and randomgen's
  implementation, in ``tests/test_rng.py``): four 32-bit words from a 128-bit counter
  and a 64-bit key. Chosen over Philox-4x64 because its 32 x 32 -> 64-bit multiplies
  vectorise (``vpmuludq``), where 64 x 64 -> 128 does not.
- ``normals4(seed, stream, step, block)``: four independent N(0, 1) draws from the words
  of counter (step, block, stream, 0) and key (seed mod 2^32, seed div 2^32), by
  Box-Muller on 32-bit uniforms: u1 = (w0 + 1) 2^-32 in (0, 1], u2 = w1 2^-32 in
  [0, 1), r = sqrt(-2 ln u1), then (r cos 2 pi u2, r sin 2 pi u2), and the same for
  (w2, w3). |z| <= sqrt(64 ln 2) = 6.66 (a tail of probability 3e-11 is cut).
- ``normal(seed, stream, step, component)``: component c is draw c % 4 of block c // 4.
  Steps and blocks are below 2^32.
- ``normal_pair(seed, stream, step)``: components 0 and 1 (the first Box-Muller pair of
  block 0, the same operations as ``normals4``: the same bits), for 2-D landscapes.
- ``noise_table(seeds, stream, steps, d, out)``: out[k, t, i] = normal(seeds[k], stream,
  t, i) for t < steps, i < d, in parallel: with common random numbers every trajectory
  of a seed reads the same draws, so a kernel builds this once per chunk and its lanes
  load from it (``TABLE_BYTES`` caps it; beyond, kernels draw on the fly, the same bits).

Streams keep the uses apart: STREAM_NOISE for additive gradient noise, STREAM_BATCH for
mini-batch sampling.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange, types

from ._jit import jit, jit_parallel

# Philox-4x32 constants (Random123: philox.h)
M0 = 0xD2511F53
M1 = 0xCD9E8D57
W0 = 0x9E3779B9
W1 = 0xBB67AE85
ROUNDS = 10
STREAM_NOISE = 0
STREAM_BATCH = 1
_TWO_PI = 2.0 * math.pi
_2_32 = 2.0**-32
_MASK = 0xFFFFFFFF
TABLE_BYTES = 64 << 20  # the largest noise table a kernel builds (64 MiB)
SERIAL_DRAWS = 1 << 18  # smaller tables are built on one thread


@jit
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox-4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1), each word in
    [0, 2^32): four words in [0, 2^32), as uint64."""
    mask = types.uint64(_MASK)
    c0, c1 = types.uint64(c0) & mask, types.uint64(c1) & mask
    c2, c3 = types.uint64(c2) & mask, types.uint64(c3) & mask
    k0, k1 = types.uint64(k0) & mask, types.uint64(k1) & mask
    for r in range(ROUNDS):
        if r > 0:
            k0 = (k0 + types.uint64(W0)) & mask
            k1 = (k1 + types.uint64(W1)) & mask
        p0 = types.uint64(M0) * c0
        p1 = types.uint64(M1) * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & mask, (p0 >> 32) ^ c3 ^ k1, p0 & mask
    return c0, c1, c2, c3


@jit
def _box_muller(a, b):
    u1 = types.float64(a + types.uint64(1)) * _2_32
    u2 = types.float64(b) * _2_32
    r = math.sqrt(-2.0 * math.log(u1))
    t = _TWO_PI * u2
    return r * math.cos(t), r * math.sin(t)


@jit
def normals4(seed, stream, step, block):
    """Four independent N(0, 1) draws for (seed, stream, step, block)."""
    seed = types.uint64(seed)
    w0, w1, w2, w3 = philox4x32(step, block, stream, 0, seed, seed >> types.uint64(32))
    z0, z1 = _box_muller(w0, w1)
    z2, z3 = _box_muller(w2, w3)
    return z0, z1, z2, z3


@jit
def normal(seed, stream, step, component):
    """One N(0, 1) draw: component ``component`` of (seed, stream, step)."""
    z0, z1, z2, z3 = normals4(seed, stream, step, component // 4)
    j = component % 4
    if j == 0:
        return z0
    if j == 1:
        return z1
    if j == 2:
        return z2
    return z3


@jit
def _pair(seed, stream, step, block):
    """normals4(seed, stream, step, block)'s first two draws, with one Box-Muller."""
    seed = types.uint64(seed)
    w0, w1, _, _ = philox4x32(step, block, stream, 0, seed, seed >> types.uint64(32))
    return _box_muller(w0, w1)


@jit
def normal_pair(seed, stream, step):
    """Components 0 and 1 of (seed, stream, step): normals4's first two draws."""
    return _pair(seed, stream, step, 0)


@jit
def _table_entry(seeds, stream, steps, d, out, kt):
    """Row (k, t) = divmod(kt, steps) of the noise table."""
    k = kt // steps
    t = kt - k * steps
    for b in range((d + 3) // 4):
        i = 4 * b
        if i + 2 >= d:  # only the first pair is needed (d = 2: half the cost)
            z0, z1 = _pair(seeds[k], stream, t, b)
            z2, z3 = 0.0, 0.0
        else:
            z0, z1, z2, z3 = normals4(seeds[k], stream, t, b)
        out[k, t, i] = z0
        if i + 1 < d:
            out[k, t, i + 1] = z1
        if i + 2 < d:
            out[k, t, i + 2] = z2
        if i + 3 < d:
            out[k, t, i + 3] = z3


@jit_parallel
def noise_table(seeds, stream, steps, d, out):
    """out[k, t, i] = normal(seeds[k], stream, t, i), t < steps, i < d; out float64 of
    shape at least (len(seeds), steps, d). Every entry is a pure function of its
    coordinates, so the parallel loop gives the same bits on any thread count."""
    for kt in prange(seeds.shape[0] * steps):
        _table_entry(seeds, stream, steps, d, out, kt)


@jit
def noise_table_serial(seeds, stream, steps, d, out):
    """``noise_table`` on one thread: small tables, where waking the threads costs more
    than the draws (W1-noisy's 16,000)."""
    for kt in range(seeds.shape[0] * steps):
        _table_entry(seeds, stream, steps, d, out, kt)


def table_fits(n_seeds: int, steps: int, d: int) -> bool:
    """True when a noise table of n_seeds x steps x d float64 fits in TABLE_BYTES."""
    return n_seeds * steps * d * 8 <= TABLE_BYTES


def build_table(seeds, steps: int, d: int, stream: int = STREAM_NOISE) -> np.ndarray:
    """The noise table of ``seeds`` (int64), (len(seeds), steps, d), or an empty
    (0, 0, d) array when it would exceed TABLE_BYTES (kernels then draw on the fly)."""
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    if not table_fits(len(seeds), steps, d):
        return np.zeros((0, 0, d))
    out = np.empty((len(seeds), steps, d))
    if out.size > SERIAL_DRAWS:
        noise_table(seeds, stream, steps, d, out)
    elif out.size:
        noise_table_serial(seeds, stream, steps, d, out)
    return out
