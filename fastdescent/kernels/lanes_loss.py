"""The lane kernel for the loss rule (quadratics): the general path's twin of the SIMD one.

It computes, trajectory by trajectory, exactly what ``simd.sweep.sweep_quadratic``
computes (``tests/naive.py``, ``simulate``, is the slow twin of both; the semantics are
in ``fastdescent.metrics``): w_0 = start, v_0 = 0; stop on the loss gap (converged
gap <= tol * gap0, diverged gap > min(diverge * gap0, MAX_FLOAT) or not finite); at
t = 0, B, 2B, ... a coordinate with e^2 <= FLOOR is frozen at the minimum and its rate
window ends there; the rate is the largest fitted |root| over the coordinates
(``metrics.fit_rate`` on the prev + cur block sums of each coordinate's window).

Layout: NL trajectories of a tile side by side, refilled at block boundaries (a lane's
trajectory starts at a block boundary, so the freeze check at t % B == 0 falls at block
ends for every lane). Each lane keeps the last R = 3B errors of every coordinate in a
ring, from which a coordinate's window sums are taken when it freezes or the run stops:
no replay is needed. float64 only. This path is the one noise, schedules and new
optimizers will extend on quadratics; the SIMD path stays the fast one for what it
covers, and ``tests/test_lanes_loss.py`` shows both give the same bytes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import jit, jit_parallel
from ..metrics import (
    BLOCK,
    CONVERGED,
    DIVERGED,
    FLOOR,
    MAX_FLOAT,
    MAX_STEPS,
    fit_rate,
)
from ..optimizers import GD, NESTEROV
from ..rng import STREAM_NOISE, normals4
from ._tiles import fetch_add, scramble

NL = 16  # lanes per tile worker
B = BLOCK
R = 3 * B  # ring length: a window needs e_{t_last - 2B - 1} .. e_{t_last}
MAX_TILES = 1024


@jit
def _loss(lam, w):
    """0.5 * sum_i lam_i * (w_i * w_i), summed in coordinate order."""
    s = 0.0
    for i in range(w.shape[0]):
        e2 = w[i] * w[i]
        s = s + lam[i] * e2
    return 0.5 * s


@jit
def _update(optimizer, eta, beta, lam, w, v, sigma, xi):
    """One step of every coordinate, in place (``fastdescent.optimizers``); with
    sigma != 0 the gradient is grad f + sigma xi (xi: this step's normals)."""
    for i in range(w.shape[0]):
        if optimizer == GD:
            g = lam[i] * w[i]
            if sigma != 0.0:
                g = g + sigma * xi[i]
            w[i] = w[i] - eta * g
        else:
            bv = beta * v[i]
            g = lam[i] * w[i] if optimizer != NESTEROV else lam[i] * (w[i] + bv)
            if sigma != 0.0:
                g = g + sigma * xi[i]
            v[i] = bv - eta * g
            w[i] = w[i] + v[i]


@jit
def _noise(seed, t, xi):
    """xi[i] = rng.normal(seed, STREAM_NOISE, t, i): the normals of step t."""
    for b in range((xi.shape[0] + 3) // 4):
        z = normals4(seed, STREAM_NOISE, t, b)
        for j in range(4):
            if 4 * b + j < xi.shape[0]:
                xi[4 * b + j] = z[j]


@jit
def _sums(ring, t0, t1, order, sigma):
    """The five window sums of the equations t0 .. t1 (empty if t1 < t0), in step order."""
    xx = xf = ff = rxf = rff = 0.0
    for t in range(t0, t1 + 1):
        x1 = ring[(t - 1) % R]
        f = ring[t % R] - sigma * ring[(t - 1) % R]
        xx = xx + x1 * x1
        rxf = rxf + f * x1
        if order == 2:
            f1 = ring[(t - 1) % R] - sigma * ring[(t - 2) % R]
            xf = xf + x1 * f1
            ff = ff + f1 * f1
            rff = rff + f * f1
    return xx, xf, ff, rxf, rff


@jit
def _coordinate_rate(ring, t_last, sigma, order):
    """Fitted |root| of one coordinate whose accumulation ended at t_last: the equations
    of its last block (cur) and the block before (prev), as the streaming rule keeps."""
    if t_last < order or t_last < 1:
        return math.nan
    c = (t_last - 1) // B
    cur = _sums(ring, max(order, c * B + 1), t_last, order, sigma)
    if c >= 1:
        prv = _sums(ring, max(order, (c - 1) * B + 1), c * B, order, sigma)
    else:
        prv = (0.0, 0.0, 0.0, 0.0, 0.0)
    return fit_rate(
        prv[0] + cur[0], prv[1] + cur[1], prv[2] + cur[2], prv[3] + cur[3], prv[4] + cur[4],
        sigma, order,
    )  # fmt: skip


@jit
def _fold(rate, r):
    """max(rate, r) ignoring NaN."""
    if not math.isnan(r) and (math.isnan(rate) or r > rate):
        return r
    return rate


@jit
def _finish(j, lane, last, live_rate, frozen, ring, sig, order, status, n_steps, diverge_step,
            final_loss, rate, code, t, final, noisy, acc, tail):  # fmt: skip
    """Write row j: the rates of the coordinates still accumulating (window ending at
    ``last``) folded into those of the frozen ones (NaN with noise); the tail's mean and
    standard deviation of the excess loss (acc: count, mean, M2; NaN if empty)."""
    r = math.nan
    if not noisy:
        r = live_rate
        for i in range(frozen.shape[1]):
            if not frozen[lane, i]:
                r = _fold(r, _coordinate_rate(ring[lane, i], last, sig[lane, i], order))
    count = acc[lane, 0]
    tail[0, j] = acc[lane, 1] if count > 0 else math.nan
    tail[1, j] = math.sqrt(acc[lane, 2] / count) if count > 0 else math.nan
    status[j] = code
    n_steps[j] = t
    diverge_step[j] = t if code == DIVERGED else -1
    final_loss[j] = final
    rate[j] = r


@jit
def run_tile(k, n_tiles, rows, seeds, lam_index, lam_table, start, floats, ints, status,
             n_steps, diverge_step, loss0, final_loss, rate, tail):  # fmt: skip
    """Rows k * n // n_tiles .. (k + 1) * n // n_tiles - 1 (see ``sweep_loss``)."""
    n = status.shape[0]
    r0 = k * n // n_tiles
    r1 = (k + 1) * n // n_tiles
    optimizer, order, steps, tail_steps = ints[0], ints[1], ints[2], ints[3]
    tail_from = steps - tail_steps + 1  # the tail: steps tail_from .. steps
    tol, diverge = floats[0], floats[1]
    d = lam_table.shape[1]
    W = np.zeros((NL, d))
    V = np.zeros((NL, d))
    ring = np.zeros((NL, d, R))
    sig = np.ones((NL, d))
    frozen = np.zeros((NL, d), np.bool_)
    lane_rate = np.full(NL, math.nan)
    conv_thr = np.zeros(NL)
    div_thr = np.zeros(NL)
    ts = np.zeros(NL, np.int64)
    row = np.full(NL, -1, np.int64)
    acc = np.zeros((NL, 3))  # tail excess loss: count, mean, M2 (Welford)
    xi = np.zeros(d)
    nxt = r0
    while True:
        busy = 0
        for lane in range(NL):
            while row[lane] < 0 and nxt < r1:  # refill; a run that stops at t = 0 is done
                j = nxt
                nxt += 1
                lam = lam_table[lam_index[j]]
                for i in range(d):
                    W[lane, i] = start[i]
                    V[lane, i] = 0.0
                l0 = _loss(lam, W[lane])
                loss0[j] = l0
                gap0 = l0 - 0.0
                tail[0, j], tail[1, j] = math.nan, math.nan
                if not math.isfinite(gap0):
                    status[j], n_steps[j], diverge_step[j] = DIVERGED, 0, 0
                    final_loss[j], rate[j] = math.inf, math.nan
                    continue
                for i in range(d):  # t = 0: the error's first entry, and the floor
                    ring[lane, i, 0] = W[lane, i]
                    sig[lane, i] = 1.0
                    frozen[lane, i] = W[lane, i] * W[lane, i] <= FLOOR and rows[2, j] == 0.0
                    if frozen[lane, i]:
                        W[lane, i] = 0.0
                        V[lane, i] = 0.0
                if gap0 <= tol * gap0:
                    status[j], n_steps[j], diverge_step[j] = CONVERGED, 0, -1
                    final_loss[j], rate[j] = l0, math.nan
                    continue
                conv_thr[lane] = tol * gap0
                div_thr[lane] = min(diverge * gap0, MAX_FLOAT)
                lane_rate[lane] = math.nan
                ts[lane] = 0
                acc[lane, 0], acc[lane, 1], acc[lane, 2] = 0.0, 0.0, 0.0
                row[lane] = j
            if row[lane] >= 0:
                busy += 1
        if busy == 0:
            break
        for _ in range(B):
            for lane in range(NL):
                j = row[lane]
                if j < 0:
                    continue
                lam = lam_table[lam_index[j]]
                w = W[lane]
                sigma = rows[2, j]
                if sigma != 0.0:
                    _noise(seeds[j], ts[lane], xi)  # the update from w_t uses xi_t
                _update(optimizer, rows[0, j], rows[1, j], lam, w, V[lane], sigma, xi)
                t = ts[lane] + 1
                ts[lane] = t
                L = _loss(lam, w)
                gap = L - 0.0
                if not math.isfinite(gap):  # stop before accumulating step t
                    _finish(j, lane, t - 1, lane_rate[lane], frozen, ring, sig, order,
                            status, n_steps, diverge_step, final_loss, rate, DIVERGED, t,
                            math.inf, sigma != 0.0, acc, tail)  # fmt: skip
                    row[lane] = -1
                    continue
                if t >= tail_from:  # the tail's excess loss, Welford's update
                    acc[lane, 0] += 1.0
                    delta = gap - acc[lane, 1]
                    acc[lane, 1] += delta / acc[lane, 0]
                    acc[lane, 2] += delta * (gap - acc[lane, 1])
                for i in range(d):
                    ring[lane, i, t % R] = w[i]
                    if t == 1:
                        sig[lane, i] = 1.0 if w[i] * ring[lane, i, 0] >= 0.0 else -1.0
                code = -1
                if gap > div_thr[lane]:
                    code = DIVERGED
                elif gap <= conv_thr[lane]:
                    code = CONVERGED
                elif t == steps:
                    code = MAX_STEPS
                if code >= 0:
                    _finish(j, lane, t, lane_rate[lane], frozen, ring, sig, order, status,
                            n_steps, diverge_step, final_loss, rate, code, t, L, sigma != 0.0,
                            acc, tail)  # fmt: skip
                    row[lane] = -1
                    continue
                if t % B == 0 and sigma == 0.0:  # the floor: freeze, end the window
                    for i in range(d):
                        if not frozen[lane, i] and w[i] * w[i] <= FLOOR:
                            r = _coordinate_rate(ring[lane, i], t, sig[lane, i], order)
                            lane_rate[lane] = _fold(lane_rate[lane], r)
                            frozen[lane, i] = True
                            w[i] = 0.0
                            V[lane, i] = 0.0


@jit_parallel
def sweep_loss(rows, seeds, lam_index, lam_table, start, floats, ints, status, n_steps,
               diverge_step, loss0, final_loss, rate, tail):  # fmt: skip
    """Trajectories of one chunk of a quadratic sweep, row j from column j of the inputs.

    rows       float64 (3, n): eta (absolute), beta, sigma of each trajectory
    seeds      int64 (n,): the seed keying each trajectory's noise (fastdescent.rng)
    lam_index  int64 (n,): row of lam_table holding each trajectory's eigenvalues
    lam_table  float64 (K, d); start float64 (d,)
    floats     float64 (2,): tol, diverge; ints int64 (4,): optimizer, order, steps, K (the
               tail: the last K = ceil(metrics.tail * steps) steps)
    outputs (n,): status int8, n_steps, diverge_step int32, loss0, final_loss, rate;
    tail float64 (2, n): mean and standard deviation of the excess loss over the tail.
    """
    n = status.shape[0]
    n_tiles = max(1, min(MAX_TILES, n // (4 * NL)))
    counter = np.zeros(1, np.int64)
    for _ in prange(n_tiles):
        k = fetch_add(counter, np.int64(1))
        while k < n_tiles:
            run_tile(
                scramble(k, n_tiles), n_tiles, rows, seeds, lam_index, lam_table, start,
                floats, ints, status, n_steps, diverge_step, loss0, final_loss, rate, tail,
            )  # fmt: skip
            k = fetch_add(counter, np.int64(1))
