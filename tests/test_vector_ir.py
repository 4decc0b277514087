"""``fastdescent.kernels.simd.vector_ir``: the explicit-SIMD loops of the kernel.

``dynamics_burst`` (d = 2, state in registers) and ``dynamics_burst_d`` (any d) are
checked against a plain Python loop of the update rules (tests/naive.py's ``update`` and
``loss``), lane by lane and bit for bit; ``window_sums`` against the twin's window sums.
The machine code must be packed vector instructions.
"""

from __future__ import annotations

import math
import re

import numba
import numpy as np
import pytest
from naive import FLOOR, loss, update

from fastdescent.kernels.simd import vector_ir as V
from fastdescent.optimizers import CODES


@numba.njit
def _burst(S, n, r, optimizer):
    V.dynamics_burst(S, n, r, optimizer)


@numba.njit
def _burst_d(S, d, n, r, optimizer):
    V.dynamics_burst_d(S, d, n, r, optimizer)


def _lanes(rng, n_lanes, d):
    """Lanes that converge, diverge, overflow, reach the floor, or run on."""
    lam = np.ones((d, n_lanes))
    lam[1:] = rng.choice([1.0, 3.0, 50.0, 1e4], (d - 1, n_lanes))
    eta = rng.uniform(0.02, 3.5, n_lanes) / lam.max(axis=0)
    beta = rng.choice([0.0, 0.3, 0.9], n_lanes)
    start = rng.uniform(-2, 2, (d, n_lanes))
    start[0] = rng.choice([1.0, -0.5, 1.0000001e-100, 1e150], n_lanes)
    start[-1, :3] = 0.0  # a coordinate at the minimum from the start: never "frozen" anew
    return lam, eta, beta, start


def _reference(optimizer, eta, beta, lam, start, conv, div, n, r):
    """stopk, stoploss, lossr, anyfrz, then per coordinate (w, v, wp, frz), step by step."""
    d = len(start)
    w, v = list(start), [0.0] * d
    stopk, stoploss, lossr, wp = 0.0, 0.0, 0.0, list(w)
    for k in range(1, n + 1):
        wp = list(w)
        update(optimizer, eta, beta, lam, w, v)
        L = loss(lam, w)
        if (not L <= div or L <= conv) and not stopk:
            stopk, stoploss = float(k), L
        if k == r:
            lossr = L
    frz = [0.0] * d
    for i in range(d):  # the end of the burst is the end of a block
        if w[i] * w[i] <= FLOOR:
            frz[i] = 1.0 if start[i] != 0.0 else 0.0  # newly at the floor
            w[i], v[i] = 0.0, 0.0
    coords = [(w[i], v[i] if optimizer != "gd" else None, wp[i], frz[i]) for i in range(d)]
    return [stopk, stoploss, lossr, float(any(frz))], coords


def _same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("d", [2, 5])
@pytest.mark.parametrize("optimizer", ["gd", "heavy_ball", "nesterov"])
def test_burst_matches_a_plain_loop(optimizer, d):
    rng = np.random.default_rng(7 + d)
    n, r = 40, 29
    lam, eta, beta, start = _lanes(rng, V.NL, d)
    S = np.zeros(V.n_rows(d) * V.NL)

    def row(q):
        return S[q * V.NL : (q + 1) * V.NL]

    row(V.ETA)[:], row(V.BETA)[:] = eta, beta
    for i in range(d):
        row(V.coord_row(i, V.LAM))[:] = lam[i]
        row(V.coord_row(i, V.W))[:] = start[i]
    loss0 = 0.5 * (lam * start**2).sum(axis=0)
    row(V.CONV)[:], row(V.DIV)[:] = 1e-8 * loss0, 1e3 * loss0
    if d == 2:
        _burst(S, n, r, CODES[optimizer])
    else:
        _burst_d(S, d, n, r, CODES[optimizer])
    for lane in range(V.NL):
        lanes, coords = _reference(
            optimizer, eta[lane], beta[lane], list(lam[:, lane]), list(start[:, lane]),
            row(V.CONV)[lane], row(V.DIV)[lane], n, r,
        )  # fmt: skip
        got = [row(q)[lane] for q in (V.STOPK, V.STOPLOSS, V.LOSSR, V.ANYFRZ)]
        assert all(_same(a, b) for a, b in zip(got, lanes, strict=True)), (lane, got, lanes)
        for i, (w, v, wp, frz) in enumerate(coords):
            got = [row(V.coord_row(i, q))[lane] for q in (V.W, V.V, V.WP, V.FRZ)]
            ref = [w, got[1] if v is None else v, wp, frz]
            assert all(_same(a, b) for a, b in zip(got, ref, strict=True)), (lane, i, got, ref)
    # the lanes cover the cases
    assert {0.0} < set(row(V.STOPK)) and 1.0 in set(row(V.ANYFRZ))


@pytest.mark.parametrize("d", [2, 3])
def test_checkpoints_rotate(d):
    S = np.zeros(V.n_rows(d) * V.NL)

    def rows(i, q, k=3):
        return S[V.coord_row(i, q) * V.NL : V.coord_row(i, q + k) * V.NL]

    for i in range(d):
        rows(i, V.W)[:] = np.arange(3 * V.NL) + 100 * i  # w, v, wp
        rows(i, V.CK_CUR)[:] = -1.0 - i
    S[V.DIV * V.NL : (V.DIV + 1) * V.NL] = np.inf
    state = [rows(i, V.W).copy() for i in range(d)]
    if d == 2:
        _burst(S, 1, 0, CODES["heavy_ball"])
    else:
        _burst_d(S, d, 1, 0, CODES["heavy_ball"])
    for i in range(d):
        assert (rows(i, V.CK_PREV) == -1.0 - i).all()
        assert (rows(i, V.CK_CUR) == state[i]).all()


def test_burst_is_packed_512_bit_code():
    if not numba.config.ENABLE_AVX:
        pytest.skip("no AVX on this machine")
    S = np.zeros(V.n_rows(2) * V.NL)
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
