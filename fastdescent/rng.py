"""Counter-based random numbers: Philox-4x64-10, keyed by (seed, stream), countered by
(step, block of components).

A draw is a pure function of its coordinates, with no generator state anywhere, so the
same spec gives the same numbers whatever the threads, chunks or backend, and every
trajectory with the same seed sees the same noise at every grid point (common random
numbers: differences across eta or beta are not sampling noise).

- ``philox4x64(c0, c1, c2, c3, k0, k1)``: Salmon et al. (SC'11), Philox-4x64 with 10
  rounds, as Random123 and NumPy's ``numpy.random.Philox`` compute it (checked against
  both in ``tests/test_rng.py``): four 64-bit words from a 256-bit counter and a 128-bit
  key.
- ``normals4(seed, stream, step, block)``: four independent N(0, 1) draws from the words
  of counter (step, block, 0, 0) and key (seed, stream), by Box-Muller on 53-bit
  uniforms: u1 = (w0 >> 11 + 1) 2^-53 in (0, 1], u2 = (w1 >> 11) 2^-53 in [0, 1), then
  r = sqrt(-2 ln u1), (r cos 2 pi u2, r sin 2 pi u2), and the same for (w2, w3).
- ``normal(seed, stream, step, component)``: component c is draw c % 4 of block c // 4.

Streams keep the uses apart: STREAM_NOISE for additive gradient noise, STREAM_BATCH for
mini-batch sampling.
"""

from __future__ import annotations

import math

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import jit

# Philox-4x64 constants (Random123: philox.h)
M0 = 0xD2E7470EE14C6C93
M1 = 0xCA5A826395121157
W0 = 0x9E3779B97F4A7C15
W1 = 0xBB67AE8584CAA73B
ROUNDS = 10
STREAM_NOISE = 0
STREAM_BATCH = 1
_TWO_PI = 2.0 * math.pi
_2_53 = 2.0**-53


@intrinsic
def mulhilo64(typingctx, a, b):
    """(hi, lo): the high and low 64 bits of the 128-bit product of two uint64."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i128 = ir.IntType(128)
        x = builder.zext(args[0], i128)
        y = builder.zext(args[1], i128)
        p = builder.mul(x, y)
        lo = builder.trunc(p, ir.IntType(64))
        hi = builder.trunc(builder.lshr(p, ir.Constant(i128, 64)), ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, (hi, lo))

    return sig, codegen


@jit
def philox4x64(c0, c1, c2, c3, k0, k1):
    """Philox-4x64-10 of counter (c0, c1, c2, c3) under key (k0, k1): four uint64."""
    c0, c1, c2, c3 = types.uint64(c0), types.uint64(c1), types.uint64(c2), types.uint64(c3)
    k0, k1 = types.uint64(k0), types.uint64(k1)
    for r in range(ROUNDS):
        if r > 0:
            k0 = k0 + types.uint64(W0)
            k1 = k1 + types.uint64(W1)
        hi0, lo0 = mulhilo64(types.uint64(M0), c0)
        hi1, lo1 = mulhilo64(types.uint64(M1), c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


@jit
def _box_muller(a, b):
    u1 = types.float64((a >> types.uint64(11)) + types.uint64(1)) * _2_53
    u2 = types.float64(b >> types.uint64(11)) * _2_53
    r = math.sqrt(-2.0 * math.log(u1))
    t = _TWO_PI * u2
    return r * math.cos(t), r * math.sin(t)


@jit
def normals4(seed, stream, step, block):
    """Four independent N(0, 1) draws for (seed, stream, step, block)."""
    w0, w1, w2, w3 = philox4x64(step, block, 0, 0, seed, stream)
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
