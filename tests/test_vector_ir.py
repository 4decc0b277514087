"""``fastdescent.vector_ir.dynamics_burst``: the explicit-SIMD step loop of the d <= 2 kernel.

It is checked against a plain Python loop of the update rules (tests/naive.py's
``update`` and ``loss``), lane by lane and bit for bit, and its machine code must be packed
vector instructions.
"""

from __future__ import annotations

import math
import re

import numba
import numpy as np
import pytest
from naive import FLOOR, loss, update

from fastdescent import vector_ir as V
from fastdescent.optimizers import CODES


@numba.njit
def _burst(S, n, r, optimizer):
    V.dynamics_burst(S, n, r, optimizer)


def _lanes(rng, n_lanes):
    """Lanes that converge, diverge, overflow, reach the floor, or run on."""
    lam1 = rng.choice([1.0, 3.0, 50.0, 1e4], n_lanes)
    eta = rng.uniform(0.02, 3.5, n_lanes) / lam1
    beta = rng.choice([0.0, 0.3, 0.9], n_lanes)
    start = np.stack([rng.choice([1.0, -0.5, 3e-100, 1e150], n_lanes), rng.uniform(-2, 2, n_lanes)])
    return lam1, eta, beta, start


def _reference(optimizer, eta, beta, lam, start, conv, div, n, r):
    """stopk, stoploss, frz_i, lossr, w, v, wp as the burst defines them, step by step."""
    w, v = list(start), [0.0, 0.0]
    stopk, stoploss, frz, lossr, wp = 0.0, 0.0, [0.0, 0.0], 0.0, list(w)
    for k in range(1, n + 1):
        wp = list(w)
        update(optimizer, eta, beta, lam, w, v)
        L = loss(lam, w)
        if (not L <= div or L <= conv) and not stopk:
            stopk, stoploss = float(k), L
        if k == r:
            lossr = L
    for i in range(2):  # the end of the burst is the end of a block
        if w[i] * w[i] <= FLOOR:
            frz[i] = 1.0
            w[i], v[i] = 0.0, 0.0
    return stopk, stoploss, frz, lossr, w, v, wp


def _same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("optimizer", ["gd", "heavy_ball", "nesterov"])
def test_burst_matches_a_plain_loop(optimizer):
    rng = np.random.default_rng(7)
    n, r = 40, 29
    lam1, eta, beta, start = _lanes(rng, V.NL)
    S = np.zeros(V.NROWS * V.NL)

    def row(q):
        return S[q * V.NL : (q + 1) * V.NL]

    row(V.ETA)[:], row(V.BETA)[:], row(V.LAM0)[:], row(V.LAM1)[:] = eta, beta, 1.0, lam1
    row(V.W0)[:], row(V.W1)[:] = start
    loss0 = 0.5 * (start[0] ** 2 + lam1 * start[1] ** 2)
    row(V.CONV)[:], row(V.DIV)[:] = 1e-12 * loss0, 1e6 * loss0
    _burst(S, n, r, CODES[optimizer])
    for lane in range(V.NL):
        lam = (1.0, lam1[lane])
        ref = _reference(
            optimizer, eta[lane], beta[lane], lam, start[:, lane], row(V.CONV)[lane],
            row(V.DIV)[lane], n, r,
        )  # fmt: skip
        got = (
            row(V.STOPK)[lane],
            row(V.STOPLOSS)[lane],
            [row(V.FRZ0)[lane], row(V.FRZ1)[lane]],
            row(V.LOSSR)[lane],
            [row(V.W0)[lane], row(V.W1)[lane]],
            [row(V.V0)[lane], row(V.V1)[lane]] if optimizer != "gd" else [0.0, 0.0],
            [row(V.WP0)[lane], row(V.WP1)[lane]],
        )
        flat = [ref[0], ref[1], *ref[2], ref[3], *ref[4], *ref[5], *ref[6]]
        flat_got = [got[0], got[1], *got[2], got[3], *got[4], *got[5], *got[6]]
        assert all(_same(a, b) for a, b in zip(flat_got, flat, strict=True)), (lane, got, ref)
    # the lanes cover the cases
    assert {0.0} < set(row(V.STOPK)) and 1.0 in set(row(V.FRZ0)) | set(row(V.FRZ1))


def test_checkpoints_rotate():
    S = np.zeros(V.NROWS * V.NL)
    S[V.W0 * V.NL : (V.WP1 + 1) * V.NL] = np.arange(6 * V.NL)
    S[V.CK_CUR * V.NL : (V.CK_CUR + 6) * V.NL] = -1.0
    S[V.DIV * V.NL : (V.DIV + 1) * V.NL] = np.inf
    state = S[V.W0 * V.NL : (V.WP1 + 1) * V.NL].copy()
    _burst(S, 1, 0, CODES["heavy_ball"])
    assert (S[V.CK_PREV * V.NL : (V.CK_PREV + 6) * V.NL] == -1.0).all()
    assert (S[V.CK_CUR * V.NL : (V.CK_CUR + 6) * V.NL] == state).all()


def test_burst_is_packed_512_bit_code():
    if not numba.config.ENABLE_AVX:
        pytest.skip("no AVX on this machine")
    S = np.zeros(V.NROWS * V.NL)
    _burst(S, 1, 0, 1)
    asm = next(iter(_burst.inspect_asm().values()))
    packed = [ln for ln in asm.splitlines() if re.match(r"\s+v(mul|add|sub)pd\s+.*\b[yz]mm\d", ln)]
    scalar = [ln for ln in asm.splitlines() if re.match(r"\s+v(mul|add|sub)sd\s", ln)]
    assert len(packed) > 30 and not scalar
    if _has_avx512():
        assert any("zmm" in ln for ln in packed)


def _has_avx512():
    """Numba compiles for this machine's CPU (no NUMBA_CPU_NAME) and it has AVX-512."""
    import llvmlite.binding as llvm

    if numba.config.CPU_NAME or numba.config.CPU_FEATURES:
        return False
    return bool(llvm.get_host_cpu_features().get("avx512f"))


@numba.njit
def _replay(Q, n, block, optimizer):
    V.window_sums(Q, n, block, optimizer)


@pytest.mark.parametrize("optimizer", ["gd", "heavy_ball", "nesterov"])
def test_window_sums_match_the_twin(optimizer):
    """Each lane replays one coordinate's window from a checkpoint; its prev + cur sums
    must be the twin's (tests/naive.py: window + block_sums over the recorded history)."""
    from naive import ORDER, block_sums, window

    rng = np.random.default_rng(11)
    B, order = 32, ORDER[optimizer]
    Q = np.zeros(V.Q_ROWS * V.NL)

    def row(q):
        return Q[q * V.NL : (q + 1) * V.NL]

    expected = []
    for lane in range(V.NL):
        lam, eta, beta = rng.uniform(0.5, 3.0), rng.uniform(0.05, 0.6), rng.uniform(0.0, 0.9)
        e = int(rng.integers(1, 6 * B))  # the window's last step
        c = (e - 1) // B
        t0 = (c - 1) * B if c >= 1 else 0
        hist, w, v = [1.0], [1.0], [0.0]
        for _ in range(e):
            update(optimizer, eta, beta, [lam], w, v)
            hist.append(w[0])
            if t0 and len(hist) - 1 == t0:
                ck = (w[0], v[0], hist[-2])
        if t0 == 0:
            ck = (1.0, 0.0, 1.0)
        sigma = 1.0 if hist[1] * hist[0] >= 0.0 else -1.0
        prev, cur = window(e, order, B)
        expected.append(
            [p + q for p, q in zip(block_sums(hist, prev, order, sigma),
                                   block_sums(hist, cur, order, sigma), strict=True)]
        )  # fmt: skip
        for q, value in (
            (V.Q_ETA, eta), (V.Q_BETA, beta), (V.Q_LAM, lam), (V.Q_SIGMA, sigma),
            (V.Q_W, ck[0]), (V.Q_V, ck[1]), (V.Q_F1, ck[0] - sigma * ck[2] if t0 else 0.0),
            (V.Q_KMIN, float(order) if t0 == 0 else 1.0), (V.Q_M, float(e - t0)),
        ):  # fmt: skip
            row(q)[lane] = value
    _replay(Q, int(row(V.Q_M).max()), B, CODES[optimizer])
    for lane in range(V.NL):
        got = [row(V.Q_PREV + j)[lane] + row(V.Q_CUR + j)[lane] for j in range(5)]
        assert got == expected[lane], lane
