"""fastdescent.rng: Philox-4x64-10 against published known-answer vectors and NumPy's
implementation; its normals' distribution and independence."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from numpy.random import Philox

from fastdescent import rng

U64 = np.uint64
MASK = 2**64 - 1

# Random123's kat_vectors for philox4x64_10: (counter, key, output)
KAT = [
    ([0, 0, 0, 0], [0, 0],
     [0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B, 0x7E68B68AEC7BA23B]),
    ([MASK] * 4, [MASK, MASK],
     [0x87B092C3013FE90B, 0x438C3C67BE8D0224, 0x9CC7D7C69CD777B6, 0xA09CAEBF594F0BA0]),
    ([0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89],
     [0x452821E638D01377, 0xBE5466CF34E90C6C],
     [0xA528F45403E61D95, 0x38C72DBD566E9788, 0xA5A1610E72FD18B5, 0x57BD43B5E52B7FE6]),
]  # fmt: skip


def _philox(ctr, key):
    return [int(w) for w in rng.philox4x64(*(U64(c) for c in ctr), *(U64(k) for k in key))]


@pytest.mark.parametrize(("ctr", "key", "want"), KAT)
def test_known_answers(ctr, key, want):
    assert _philox(ctr, key) == want


def test_agrees_with_numpy_philox():
    """numpy.random.Philox (also Philox-4x64-10) adds one to its 256-bit counter before
    each block: its first four words are ours at counter + 1."""
    gen = np.random.default_rng(7)
    for _ in range(25):
        ctr = [int(v) for v in gen.integers(0, 2**63, 4, dtype=np.int64)]
        key = [int(v) for v in gen.integers(0, 2**63, 2, dtype=np.int64)]
        numpy_words = Philox(counter=np.array(ctr, U64), key=np.array(key, U64)).random_raw(4)
        assert _philox([ctr[0] + 1, *ctr[1:]], key) == [int(w) for w in numpy_words]


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
    assert np.isfinite(z).all() and np.abs(z).max() < 7.0


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
