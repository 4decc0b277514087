"""fastdescent.rng: Philox-4x32-10 against Random123's known-answer vectors and a plain
Python Philox written from the paper; its normals' distribution and independence."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from naive_rng import philox_python

from fastdescent import rng

MASK = 2**32 - 1

# Random123's kat_vectors for philox4x32_10: (counter, key, output)
KAT = [
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([MASK] * 4, [MASK, MASK], [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]  # fmt: skip


def _philox(ctr, key):
    return [int(w) for w in rng.philox4x32(*ctr, *key)]


@pytest.mark.parametrize(("ctr", "key", "want"), KAT)
def test_known_answers(ctr, key, want):
    assert _philox(ctr, key) == want
    assert philox_python(ctr, key) == want


def test_agrees_with_a_plain_python_philox():
    gen = np.random.default_rng(7)
    for _ in range(200):
        ctr = [int(v) for v in gen.integers(0, 2**32, 4)]
        key = [int(v) for v in gen.integers(0, 2**32, 2)]
        assert _philox(ctr, key) == philox_python(ctr, key)


def test_agrees_with_randomgen():
    """randomgen's Philox (number=4, width=32; counter and key packed into 64-bit words)
    adds one to its counter before each block: its first four words are ours at counter
    + 1 (when randomgen is installed)."""
    randomgen = pytest.importorskip("randomgen")
    gen = np.random.default_rng(8)
    for _ in range(10):
        ctr = [int(v) for v in gen.integers(0, 2**31, 4)]
        key = [int(v) for v in gen.integers(0, 2**32, 2)]
        packed_ctr = np.array([ctr[0] | ctr[1] << 32, ctr[2] | ctr[3] << 32], np.uint64)
        packed_key = np.array([key[0] | key[1] << 32], np.uint64)
        bitgen = randomgen.Philox(number=4, width=32, counter=packed_ctr, key=packed_key)
        assert _philox([ctr[0] + 1, *ctr[1:]], key) == [int(w) for w in bitgen.random_raw(4)]


@numba.njit
def _draws(seed, stream, steps, components, out):
    for t in range(steps):
        for c in range(components):
            out[t, c] = rng.normal(seed, stream, t, c)


def draws(seed=0, stream=rng.STREAM_NOISE, steps=25_000, components=8):
    out = np.empty((steps, components))
    _draws(seed, stream, steps, components, out)
    return out


def _normal_cdf(x):
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def test_normals_are_standard_normal():
    """200,000 draws: mean and variance within 5 standard errors, and the KS distance to
    N(0, 1) below its 0.1 % critical value 1.95 / sqrt(n)."""
    z = draws().ravel()
    n = z.size
    assert abs(z.mean()) < 5.0 / math.sqrt(n)
    assert abs(z.var() - 1.0) < 5.0 * math.sqrt(2.0 / n)
    z.sort()
    cdf = _normal_cdf(z)
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert ks < 1.95 / math.sqrt(n), ks
    assert np.isfinite(z).all() and np.abs(z).max() <= math.sqrt(64 * math.log(2))


def test_neighbours_are_uncorrelated():
    """Neighbouring seeds, steps, components and the two streams: |r| < 5 / sqrt(n)."""
    a = draws(seed=3)
    pairs = {
        "seed": (a, draws(seed=4)),
        "step": (a[:-1], a[1:]),
        "component": (a[:, :-1], a[:, 1:]),
        "stream": (a, draws(seed=3, stream=rng.STREAM_BATCH)),
    }
    for name, (x, y) in pairs.items():
        r = np.corrcoef(x.ravel(), y.ravel())[0, 1]
        assert abs(r) < 5.0 / math.sqrt(x.size), (name, r)
    # squares too (a dependence in scale would not show in r)
    r2 = np.corrcoef((a[:-1] ** 2).ravel(), (a[1:] ** 2).ravel())[0, 1]
    assert abs(r2) < 5.0 / math.sqrt(a[:-1].size)


def test_a_draw_is_a_pure_function_of_its_coordinates():
    """Common random numbers: the same (seed, stream, step, component) always gives the
    same number, in any order; different seeds give different numbers."""
    forward = draws(seed=11, steps=64)
    again = np.array([[rng.normal(11, 0, t, c) for c in range(8)] for t in reversed(range(64))])
    assert np.array_equal(forward, again[::-1])
    assert not np.array_equal(forward, draws(seed=12, steps=64))
    z = rng.normals4(5, 0, 9, 1)
    assert [rng.normal(5, 0, 9, 4 + j) for j in range(4)] == list(z)
