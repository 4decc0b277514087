"""Philox-4x32-10 in plain Python integers, written from Salmon et al. (SC'11), section 3:
the slow twin of ``fastdescent.rng.philox4x32`` (tests/test_rng.py) and the generator of
the slow twins that draw random numbers (tests/naive_linreg.py)."""

from __future__ import annotations

MASK = 2**32 - 1


def philox_python(ctr, key):
    """Philox-4x32-10 of counter ``ctr`` (4 words) under ``key`` (2 words): 4 words."""
    c, (k0, k1) = list(ctr), key
    for r in range(10):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & MASK, (k1 + 0xBB67AE85) & MASK
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k0, p1 & MASK, (p0 >> 32) ^ c[3] ^ k1, p0 & MASK]
    return c
