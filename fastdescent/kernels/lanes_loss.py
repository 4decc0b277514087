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

Noisy rows (sigma != 0; rate NaN, no floor, the tail's Welford sums) run faster on
``sweep_loss_noisy`` (see the comment above ``NLN``): the engine groups them by seed, and
all lanes of a call share that seed's noise table, in lockstep. It computes the same
operations in the same order as ``run_tile`` does on a noisy row (the same bits; tests in
``tests/test_lanes_loss.py``). ``run_tile`` still handles noisy rows when the engine is
told to (``Engine.FAST_NOISE = False``), as the reference.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import jit, jit_inline, jit_parallel
from ..metrics import (
    BLOCK,
    CONVERGED,
    DIVERGED,
    FLOOR,
    MAX_FLOAT,
    MAX_STEPS,
    fit_rate,
)
from ..optimizers import ADAGRAD, ADAM, GD, HEAVY_BALL, NESTEROV, RMSPROP
from ..rng import STREAM_NOISE, normals4
from ..schedules import at
from . import adaptive
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
def adaptive_update(optimizer, eta, beta, beta2, eps, lam, w, m, q, pw, sigma, xi):
    """One step of an adaptive optimizer on every coordinate of one trajectory, in place:
    ``kernels.adaptive``'s operations, as ``_adaptive_block`` runs them (the same bits),
    for ``kernels.record``. m: Adam's m or RMSProp's momentum buffer; q: the sum of g^2;
    pw (2,): beta^t and beta2^t before the step (updated)."""
    pw[0], pw[1], h, bc2s = adaptive.corrections(optimizer, eta, beta, beta2, pw[0], pw[1])
    for i in range(w.shape[0]):
        g = lam[i] * w[i]
        g = g + sigma * xi[i]
        w[i], m[i], q[i] = adaptive.step(optimizer, w[i], g, m[i], q[i], h, bc2s, beta, beta2,
                                         eps)  # fmt: skip


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
             n_steps, diverge_step, loss0, final_loss, rate, tail, sched):  # fmt: skip
    """Rows k * n // n_tiles .. (k + 1) * n // n_tiles - 1 (see ``sweep_loss``)."""
    s_table, s_index, s_varies = sched
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
                # the floor: noiseless rows at constant eta (no rate window otherwise)
                floor_on = rows[2, j] == 0.0 and not s_varies[s_index[j]]
                for i in range(d):  # t = 0: the error's first entry, and the floor
                    ring[lane, i, 0] = W[lane, i]
                    sig[lane, i] = 1.0
                    frozen[lane, i] = W[lane, i] * W[lane, i] <= FLOOR and floor_on
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
                eta = rows[0, j] * at(s_table[s_index[j]], ts[lane])  # eta_t
                _update(optimizer, eta, rows[1, j], lam, w, V[lane], sigma, xi)
                t = ts[lane] + 1
                ts[lane] = t
                L = _loss(lam, w)
                gap = L - 0.0
                if not math.isfinite(gap):  # stop before accumulating step t
                    _finish(j, lane, t - 1, lane_rate[lane], frozen, ring, sig, order,
                            status, n_steps, diverge_step, final_loss, rate, DIVERGED, t,
                            math.inf, sigma != 0.0 or s_varies[s_index[j]], acc,
                            tail)  # fmt: skip
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
                            n_steps, diverge_step, final_loss, rate, code, t, L,
                            sigma != 0.0 or s_varies[s_index[j]], acc, tail)  # fmt: skip
                    row[lane] = -1
                    continue
                if t % B == 0 and sigma == 0.0 and not s_varies[s_index[j]]:  # the floor
                    for i in range(d):
                        if not frozen[lane, i] and w[i] * w[i] <= FLOOR:
                            r = _coordinate_rate(ring[lane, i], t, sig[lane, i], order)
                            lane_rate[lane] = _fold(lane_rate[lane], r)
                            frozen[lane, i] = True
                            w[i] = 0.0
                            V[lane, i] = 0.0


@jit_parallel
def sweep_loss(rows, seeds, lam_index, lam_table, start, floats, ints, status, n_steps,
               diverge_step, loss0, final_loss, rate, tail, s_table, s_index,
               s_varies):  # fmt: skip
    """Trajectories of one chunk of a quadratic sweep, row j from column j of the inputs.

    rows       float64 (3, n): eta (absolute), beta, sigma of each trajectory
    seeds      int64 (n,): the seed keying each trajectory's noise (fastdescent.rng)
    lam_index  int64 (n,): row of lam_table holding each trajectory's eigenvalues
    lam_table  float64 (K, d); start float64 (d,)
    floats     float64 (2,): tol, diverge; ints int64 (4,): optimizer, order, steps, K (the
               tail: the last K = ceil(metrics.tail * steps) steps)
    outputs (n,): status int8, n_steps, diverge_step int32, loss0, final_loss, rate;
    tail float64 (2, n): mean and standard deviation of the excess loss over the tail.
    s_table float64 (K, steps), s_index int64 (n,), s_varies bool (K,): row j's update
            from w_t uses eta_t = eta * s_table[s_index[j], t]; s_varies[k]: rate NaN
            (``schedules.sweep_table``, read through ``schedules.at``; an empty table
            for constant eta)
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
                (s_table, s_index, s_varies),
            )  # fmt: skip
            k = fetch_add(counter, np.int64(1))


# ---- noisy trajectories, fast: one seed's noise shared by all lanes, in lockstep
#
# With common random numbers xi_t depends only on (seed, t, coordinate), so the engine
# runs the noisy rows (sigma != 0) of a chunk one seed at a time: every lane of a call
# reads the same xi[t, i] (a scalar per step and coordinate, from that seed's noise
# table, or drawn once per tile and block when the table would be too big). A tile's
# lanes start together at t = 0 and run in lockstep (t is one scalar) until all have
# stopped, then the next nl rows take them: a lane that stops early idles, which costs
# little because neighbouring grid points stop at similar times. The state is one row
# per coordinate of (d, nl) arrays, the loops run over lanes innermost (LLVM vectorises
# them), the optimizer is a constant in each inlined copy of the block. Noisy runs have
# no rate window and no floor, so nothing is kept per step but the tail's Welford sums;
# with every lane of a tile at the same t their count is one scalar. The operations are
# those of ``run_tile`` on a noisy row, in the same order: the same bits.

NLN = 64  # lanes per tile of the noisy kernel (a runtime value in the loops)
#: lanes per tile for the adaptive optimizers: W1 with Adam, 3.22 ns per trajectory-step
#: at 32 against 3.82 at 64 (fewer lanes idle while their tile's last run goes on) and
#: 11.7 at 16 (2 threads, 2026-11-29)
NLN_ADAPTIVE = 32


@jit_inline
def _noisy_block(optimizer, t0, nl, d, S, W, V, LAM, P, live, tstop, xi, xoff, acc1, acc2,
                 steps, tail_from, sf):  # fmt: skip
    """Steps t0 .. t0 + B - 1 (those below ``steps``) of every lane in lockstep; P rows:
    eta, beta, sigma, conv_thr, div_thr; xi[t - xoff, i]: the normals of step t;
    at(sf, t): the schedule's factor (eta_t = eta * s(t)). Returns the number of lanes
    still live."""
    etas, betas, sigs, conv, div = P[0], P[1], P[2], P[3], P[4]
    n_live = 0
    for s in range(B):
        t = t0 + s
        if t >= steps:
            break
        for lane in range(nl):
            S[lane] = 0.0
        st = at(sf, t)
        for i in range(d):
            z = xi[t - xoff, i]
            wi, vi, li = W[i], V[i], LAM[i]
            for lane in range(nl):
                w = wi[lane]
                lam = li[lane]
                eta = etas[lane] * st
                on = live[lane]
                if optimizer == GD:
                    g = lam * w
                    g = g + sigs[lane] * z
                    w2 = w - eta * g
                else:
                    v = vi[lane]
                    bv = betas[lane] * v
                    g = lam * w if optimizer != NESTEROV else lam * (w + bv)
                    g = g + sigs[lane] * z
                    v2 = bv - eta * g
                    w2 = w + v2
                    vi[lane] = v2 if on else v
                wi[lane] = w2 if on else w
                e2 = w2 * w2
                S[lane] = S[lane] + lam * e2
        t1 = t + 1
        n_live = 0
        if t1 >= tail_from:  # Welford's update; every live lane has count t1 - tail_from + 1
            n = float(t1 - tail_from + 1)
            for lane in range(nl):
                on = live[lane]
                gap = 0.5 * S[lane] - 0.0
                finite = abs(gap) <= MAX_FLOAT
                m = on & finite
                mean = acc1[lane]
                delta = gap - mean
                mean1 = mean + np.divide(delta, n)
                acc1[lane] = mean1 if m else mean
                acc2[lane] = acc2[lane] + delta * (gap - mean1) if m else acc2[lane]
                stop = on & ((not finite) | (gap > div[lane]) | (gap <= conv[lane]) | (t1 == steps))
                live[lane] = on & (not stop)
                tstop[lane] = t1 if on else tstop[lane]
                n_live += on & (not stop)
        else:
            for lane in range(nl):
                on = live[lane]
                gap = 0.5 * S[lane] - 0.0
                finite = abs(gap) <= MAX_FLOAT
                stop = on & ((not finite) | (gap > div[lane]) | (gap <= conv[lane]) | (t1 == steps))
                live[lane] = on & (not stop)
                tstop[lane] = t1 if on else tstop[lane]
                n_live += on & (not stop)
        if n_live == 0:
            break
    return n_live


@jit_inline
def _noisy_block2(optimizer, t0, nl, X, P, live, tstop, F, xi, xoff, acc1, acc2, steps,
                  tail_from, sf):  # fmt: skip
    """``_noisy_block`` for d = 2, all in one loop over the lanes (state in registers,
    each array read and written once per step); the same operations in the same order.
    X: w_0, w_1, v_0, v_1, lam_0, lam_1 of every lane, six separate arrays (rows of one
    2-D array ran 5x slower). F: unused."""
    etas, betas, sigs, conv, div = P[0], P[1], P[2], P[3], P[4]
    w0s, w1s, v0s, v1s, l0s, l1s = X
    n_live = 0
    for s in range(B):
        t = t0 + s
        if t >= steps:
            break
        z0 = xi[t - xoff, 0]
        z1 = xi[t - xoff, 1]
        st = at(sf, t)
        t1 = t + 1
        tail = t1 >= tail_from
        n = float(t1 - tail_from + 1)  # the count of every live lane's tail sums
        n_live = 0
        for lane in range(nl):
            on = live[lane]
            eta = etas[lane] * st
            sig = sigs[lane]
            w0, w1, lam0, lam1 = w0s[lane], w1s[lane], l0s[lane], l1s[lane]
            if optimizer == GD:
                g0 = lam0 * w0
                g0 = g0 + sig * z0
                n0 = w0 - eta * g0
                g1 = lam1 * w1
                g1 = g1 + sig * z1
                n1 = w1 - eta * g1
            else:
                beta = betas[lane]
                v0, v1 = v0s[lane], v1s[lane]
                bv0 = beta * v0
                g0 = lam0 * w0 if optimizer != NESTEROV else lam0 * (w0 + bv0)
                g0 = g0 + sig * z0
                nv0 = bv0 - eta * g0
                n0 = w0 + nv0
                bv1 = beta * v1
                g1 = lam1 * w1 if optimizer != NESTEROV else lam1 * (w1 + bv1)
                g1 = g1 + sig * z1
                nv1 = bv1 - eta * g1
                n1 = w1 + nv1
                v0s[lane] = nv0 if on else v0
                v1s[lane] = nv1 if on else v1
            w0s[lane] = n0 if on else w0
            w1s[lane] = n1 if on else w1
            e0 = n0 * n0
            q = 0.0 + lam0 * e0
            e1 = n1 * n1
            q = q + lam1 * e1
            gap = 0.5 * q - 0.0
            finite = abs(gap) <= MAX_FLOAT
            m = on & finite & tail
            mean = acc1[lane]
            delta = gap - mean
            mean1 = mean + np.divide(delta, n)
            acc1[lane] = mean1 if m else mean
            acc2[lane] = acc2[lane] + delta * (gap - mean1) if m else acc2[lane]
            stop = on & ((not finite) | (gap > div[lane]) | (gap <= conv[lane]) | (t1 == steps))
            live[lane] = on & (not stop)
            tstop[lane] = t1 if on else tstop[lane]
            n_live += on & (not stop)
        if n_live == 0:
            break
    return n_live


@jit_inline
def _adaptive_block(optimizer, t0, nl, d, S, W, V, Q, LAM, P, PW, H, live, tstop, xi, xoff, acc1,
                    acc2, steps, tail_from, sf):  # fmt: skip
    """``_noisy_block`` for the adaptive optimizers (``fastdescent.optimizers``: PyTorch's
    operations in PyTorch's order). V: Adam's m, RMSProp's momentum buffer b; Q: the
    running sum of g^2 (Adam's and RMSProp's s, Adagrad's G); P rows: eta, beta, sigma,
    conv_thr, div_thr, beta2, eps; PW: beta^t and beta2^t of each lane (Adam's bias
    corrections, as running products); H: two per-lane scratch rows."""
    etas, betas, sigs, conv, div, beta2s, epss = P
    p1s, p2s = PW
    steps_h, bc2s = H
    n_live = 0
    for s in range(B):
        t = t0 + s
        if t >= steps:
            break
        st = at(sf, t)
        for lane in range(nl):
            S[lane] = 0.0
            p1, p2, h, bc2 = adaptive.corrections(
                optimizer, etas[lane] * st, betas[lane], beta2s[lane], p1s[lane], p2s[lane]
            )
            steps_h[lane] = h
            bc2s[lane] = bc2
            on = live[lane]
            p1s[lane] = p1 if on else p1s[lane]
            p2s[lane] = p2 if on else p2s[lane]
        for i in range(d):
            z = xi[t - xoff, i]
            wi, vi, qi, li = W[i], V[i], Q[i], LAM[i]
            for lane in range(nl):
                w = wi[lane]
                lam = li[lane]
                on = live[lane]
                g = lam * w
                g = g + sigs[lane] * z
                q = qi[lane]
                v = vi[lane]
                w2, v2, q2 = adaptive.step(optimizer, w, g, v, q, steps_h[lane], bc2s[lane],
                                           betas[lane], beta2s[lane], epss[lane])  # fmt: skip
                wi[lane] = w2 if on else w
                vi[lane] = v2 if on else v
                qi[lane] = q2 if on else q
                e2 = w2 * w2
                S[lane] = S[lane] + lam * e2
        t1 = t + 1
        n_live = 0
        tail = t1 >= tail_from
        n = float(t1 - tail_from + 1)
        for lane in range(nl):
            on = live[lane]
            gap = 0.5 * S[lane] - 0.0
            finite = abs(gap) <= MAX_FLOAT
            m = on & finite & tail
            mean = acc1[lane]
            delta = gap - mean
            mean1 = mean + np.divide(delta, n)
            acc1[lane] = mean1 if m else mean
            acc2[lane] = acc2[lane] + delta * (gap - mean1) if m else acc2[lane]
            stop = on & ((not finite) | (gap > div[lane]) | (gap <= conv[lane]) | (t1 == steps))
            live[lane] = on & (not stop)
            tstop[lane] = t1 if on else tstop[lane]
            n_live += on & (not stop)
        if n_live == 0:
            break
    return n_live


@jit
def _run_adaptive_block(optimizer, t0, nl, d, S, W, V, Q, LAM, P, PW, H, live, tstop, xi, xoff,
                        acc1, acc2, steps, tail_from, sf):  # fmt: skip
    """``_adaptive_block`` with the optimizer a constant."""
    if optimizer == ADAM:
        return _adaptive_block(ADAM, t0, nl, d, S, W, V, Q, LAM, P, PW, H, live, tstop, xi,
                               xoff, acc1, acc2, steps, tail_from, sf)  # fmt: skip
    if optimizer == RMSPROP:
        return _adaptive_block(RMSPROP, t0, nl, d, S, W, V, Q, LAM, P, PW, H, live, tstop, xi,
                               xoff, acc1, acc2, steps, tail_from, sf)  # fmt: skip
    return _adaptive_block(ADAGRAD, t0, nl, d, S, W, V, Q, LAM, P, PW, H, live, tstop, xi, xoff,
                           acc1, acc2, steps, tail_from, sf)  # fmt: skip


@jit
def _run_noisy_block(optimizer, t0, nl, d, S, W, V, LAM, X, P, live, tstop, F, xi, xoff, acc1,
                     acc2, steps, tail_from, sf):  # fmt: skip
    """``_noisy_block`` (``_noisy_block2`` on X for d = 2) with the optimizer a constant."""
    if d == 2:
        if optimizer == GD:
            return _noisy_block2(GD, t0, nl, X, P, live, tstop, F, xi, xoff, acc1, acc2, steps,
                                 tail_from, sf)  # fmt: skip
        if optimizer == NESTEROV:
            return _noisy_block2(NESTEROV, t0, nl, X, P, live, tstop, F, xi, xoff, acc1, acc2,
                                 steps, tail_from, sf)  # fmt: skip
        return _noisy_block2(HEAVY_BALL, t0, nl, X, P, live, tstop, F, xi, xoff, acc1, acc2,
                             steps, tail_from, sf)  # fmt: skip
    if optimizer == GD:
        return _noisy_block(GD, t0, nl, d, S, W, V, LAM, P, live, tstop, xi, xoff, acc1, acc2,
                            steps, tail_from, sf)  # fmt: skip
    if optimizer == NESTEROV:
        return _noisy_block(NESTEROV, t0, nl, d, S, W, V, LAM, P, live, tstop, xi, xoff, acc1,
                            acc2, steps, tail_from, sf)  # fmt: skip
    return _noisy_block(HEAVY_BALL, t0, nl, d, S, W, V, LAM, P, live, tstop, xi, xoff, acc1,
                        acc2, steps, tail_from, sf)  # fmt: skip


@jit
def _noisy_finish(j, lane, d, packed, W, LAM, F, P, tstop, acc1, acc2, tail_from, status,
                  n_steps, diverge_step, final_loss, rate, tail):  # fmt: skip
    """Row j: the tests of the step the lane stopped at, repeated on the loss of the state
    it kept (packed: in the state tuple F = X of ``_noisy_block2``, else in W and LAM) in
    ``run_tile``'s order: not finite, diverged, converged, max_steps."""
    s = 0.0
    for i in range(d):
        w = F[i][lane] if packed else W[i, lane]
        lam = F[4 + i][lane] if packed else LAM[i, lane]
        e2 = w * w
        s = s + lam * e2
    L = 0.5 * s
    gap = L - 0.0
    t = tstop[lane]
    count = t - tail_from + 1
    if not math.isfinite(gap):
        code, final = DIVERGED, math.inf
        count -= 1  # stopped before accumulating step t
    elif gap > P[4][lane]:
        code, final = DIVERGED, L
    elif gap <= P[3][lane]:
        code, final = CONVERGED, L
    else:
        code, final = MAX_STEPS, L
    status[j] = code
    n_steps[j] = t
    diverge_step[j] = t if code == DIVERGED else -1
    final_loss[j] = final
    rate[j] = math.nan
    tail[0, j] = acc1[lane] if count > 0 else math.nan
    tail[1, j] = math.sqrt(acc2[lane] / count) if count > 0 else math.nan


@jit
def _precond_sharpness(optimizer, lane, d, Q, LAM, P, PW, t):
    """max_i lam_i / (the update's denominator for coordinate i) at the state the lane
    stopped at, after t updates: Adam sqrt(s_i) / sqrt(1 - beta2^t) + eps (that is,
    sqrt(s_hat_i) + eps), RMSProp sqrt(s_i) + eps, Adagrad sqrt(G_i) + eps. NaN when
    t = 0 (no update, no preconditioner) or for the other optimizers."""
    if optimizer < ADAM or t == 0:
        return math.nan
    eps = P[6][lane]
    out = -math.inf
    for i in range(d):
        den = adaptive.denominator(optimizer, Q[i, lane], PW[1][lane], eps)
        r = LAM[i, lane] / den
        if math.isnan(r):
            return r
        out = max(out, r)
    return out


@jit
def run_noisy_tile(k, n_tiles, order, rows, lam_index, lam_table, start, floats, ints, xi_table,
                   seed, status, n_steps, diverge_step, loss0, final_loss, rate, tail, sf,
                   psharp):  # fmt: skip
    """Rows order[k * n // n_tiles .. (k + 1) * n // n_tiles - 1] (``sweep_loss_noisy``)."""
    n = order.shape[0]
    r0 = k * n // n_tiles
    r1 = (k + 1) * n // n_tiles
    optimizer, steps, tail_steps, nl = ints[0], ints[2], ints[3], ints[4]
    tail_from = steps - tail_steps + 1
    tol, diverge = floats[0], floats[1]
    d = lam_table.shape[1]
    W = np.zeros((d, nl))
    V = np.zeros((d, nl))
    LAM = np.zeros((d, nl))
    X = (np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl))
    P = (np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl),
         np.ones(nl))  # fmt: skip
    adaptive = optimizer >= ADAM
    Q = np.zeros((d, nl))  # the adaptive optimizers' sums of g^2
    PW = (np.ones(nl), np.ones(nl))
    H = (np.zeros(nl), np.ones(nl))
    packed = d == 2 and not adaptive  # the state in X (d = 2, gd and momentum)
    S = np.zeros(nl)
    acc1 = np.zeros(nl)
    acc2 = np.zeros(nl)
    live = np.zeros(nl, np.bool_)
    tstop = np.zeros(nl, np.int64)
    row = np.full(nl, -1, np.int64)
    w0 = np.zeros(d)
    xi = np.zeros((B, d))
    xi4 = np.zeros(4 * ((d + 3) // 4))
    on_the_fly = xi_table.shape[0] == 0
    nxt = r0
    while nxt < r1:
        for lane in range(nl):  # the next nl rows that do not stop at t = 0
            row[lane] = -1
            live[lane] = False
            for i in range(d):  # an idle lane computes on zeros (no subnormals, no NaN)
                W[i, lane] = 0.0
                V[i, lane] = 0.0
                Q[i, lane] = 0.0
            for q in range(4):
                X[q][lane] = 0.0
            P[0][lane], P[2][lane] = 0.0, 0.0  # eta, sigma: an idle lane stays put
            P[1][lane], P[5][lane], P[6][lane] = 0.0, 0.0, 1.0  # beta, beta2, eps
            PW[0][lane], PW[1][lane] = 1.0, 1.0
            while nxt < r1:
                j = order[nxt]
                nxt += 1
                lam = lam_table[lam_index[j]]
                for i in range(d):
                    w0[i] = start[i]
                l0 = _loss(lam, w0)
                loss0[j] = l0
                gap0 = l0 - 0.0
                tail[0, j], tail[1, j] = math.nan, math.nan
                if not math.isfinite(gap0):
                    status[j], n_steps[j], diverge_step[j] = DIVERGED, 0, 0
                    final_loss[j], rate[j] = math.inf, math.nan
                    continue
                if gap0 <= tol * gap0:
                    status[j], n_steps[j], diverge_step[j] = CONVERGED, 0, -1
                    final_loss[j], rate[j] = l0, math.nan
                    continue
                for i in range(d):
                    W[i, lane] = start[i]
                    V[i, lane] = 0.0
                    LAM[i, lane] = lam[i]
                if d == 2:
                    X[0][lane], X[1][lane] = start[0], start[1]
                    X[2][lane], X[3][lane] = 0.0, 0.0
                    X[4][lane], X[5][lane] = lam[0], lam[1]
                P[0][lane], P[1][lane], P[2][lane] = rows[0, j], rows[1, j], rows[2, j]
                if adaptive:
                    P[5][lane], P[6][lane] = rows[3, j], rows[4, j]
                P[3][lane] = tol * gap0
                P[4][lane] = min(diverge * gap0, MAX_FLOAT)
                acc1[lane], acc2[lane] = 0.0, 0.0
                tstop[lane] = 0
                live[lane] = True
                row[lane] = j
                break
        t0 = 0
        while t0 < steps:
            if on_the_fly:  # this block's normals, once for all lanes
                for s in range(B):
                    if t0 + s < steps:
                        _noise(seed, t0 + s, xi4)
                        for i in range(d):
                            xi[s, i] = xi4[i]
                if adaptive:
                    n_live = _run_adaptive_block(optimizer, t0, nl, d, S, W, V, Q, LAM, P, PW,
                                                 H, live, tstop, xi, t0, acc1, acc2, steps,
                                                 tail_from, sf)  # fmt: skip
                else:
                    n_live = _run_noisy_block(optimizer, t0, nl, d, S, W, V, LAM, X, P, live,
                                              tstop, X, xi, t0, acc1, acc2, steps, tail_from,
                                              sf)  # fmt: skip
            elif adaptive:
                n_live = _run_adaptive_block(optimizer, t0, nl, d, S, W, V, Q, LAM, P, PW, H,
                                             live, tstop, xi_table, 0, acc1, acc2, steps,
                                             tail_from, sf)  # fmt: skip
            else:
                n_live = _run_noisy_block(optimizer, t0, nl, d, S, W, V, LAM, X, P, live, tstop,
                                          X, xi_table, 0, acc1, acc2, steps, tail_from,
                                          sf)  # fmt: skip
            if n_live == 0:
                break
            t0 += B
        for lane in range(nl):
            j = row[lane]
            if j >= 0:
                _noisy_finish(j, lane, d, packed, W, LAM, X, P, tstop, acc1, acc2, tail_from,
                              status, n_steps, diverge_step, final_loss, rate, tail)  # fmt: skip
                psharp[j] = _precond_sharpness(optimizer, lane, d, Q, LAM, P, PW, tstop[lane])


@jit_parallel
def sweep_loss_noisy(order, rows, lam_index, lam_table, start, floats, ints, xi_table, seed,
                     status, n_steps, diverge_step, loss0, final_loss, rate, tail, sf,
                     psharp):  # fmt: skip
    """Noisy trajectories (sigma != 0) of one seed: ``sweep_loss``'s outputs for them,
    the same bits, fast (see the comment above ``NLN``).

    order int64 (m,): the rows to run (all with this seed and sigma != 0), in this order;
    rows, lam_index, lam_table, start, floats and the outputs as ``sweep_loss`` (rows
    and outputs of the whole chunk: only those of ``order`` are read and written);
    ints int64 (5,): optimizer, order, steps, K (the tail's length), lanes (>= 32);
    xi_table float64 (steps, d): rng.normal(seed, STREAM_NOISE, t, i) (``rng.build_table``),
    or shape (0, d): drawn per tile and block instead (the same bits); seed: its value.
    sf float64 (steps,): the schedule's factors s(t) shared by all of ``order`` (the
    engine groups rows by seed and schedule): eta_t = eta * sf[t]; empty for constant eta.
    The adaptive optimizers (``ints[0]`` >= ADAM) run here, noisy or not: rows (5, n) adds
    beta2 and eps; psharp float64 (n,): their final preconditioned sharpness
    (``_precond_sharpness``; NaN for the others).
    """
    n = order.shape[0]
    nl = ints[4]
    n_tiles = max(1, min(MAX_TILES, n // (2 * nl)))
    counter = np.zeros(1, np.int64)
    for _ in prange(n_tiles):
        k = fetch_add(counter, np.int64(1))
        while k < n_tiles:
            run_noisy_tile(
                scramble(k, n_tiles), n_tiles, order, rows, lam_index, lam_table, start, floats,
                ints, xi_table, seed, status, n_steps, diverge_step, loss0, final_loss, rate,
                tail, sf, psharp,
            )  # fmt: skip
            k = fetch_add(counter, np.int64(1))
