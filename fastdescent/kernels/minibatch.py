"""The mini-batch kernel: SGD, heavy ball and Nesterov on ``linreg``, with or without
additive gradient noise.

**Coordinates.** The kernel iterates the error in the eigenbasis of H,
z = V^T (w - w_hat) (``problems.linreg``: H = V diag(lambda) V^T), on the rotated data
Xr = X V and the least-squares residual r = y - X w_hat. This is an orthogonal change of
variables, so GD, heavy ball and Nesterov make the same iterates (w_t = w_hat + V z_t):

    mini-batch gradient   V^T g_S(w) = (2/B) (Ar_S z - br_S),
                          Ar_S = sum_{i in S} xr_i xr_i^T,  br_S = sum_{i in S} xr_i r_i
    additive noise        V^T (sigma xi_t) = sigma (V^T xi_t)
    excess loss           (w - w_hat)^T (X^T X / n) (w - w_hat) = sum_k (lambda_k / 2) z_k^2
    mean squared error    (1/n) ||y - X w||^2 = (1/n) ||r - Xr z||^2

so the excess loss costs O(d) per step and never cancels, and the iteration works on the
error itself. xi_t,i = rng.normal(seed, STREAM_NOISE, t, i) is drawn in the coordinates
of w, as on every problem, and rotated once per tile and step.

**Lockstep.** With common random numbers every trajectory of one (data set, batch size,
seed) draws the same batch and the same noise at step t, so a tile of them runs in
lockstep and the batch's Ar_S, br_S are summed once per tile and step (B d^2), then
applied to every lane (2 d^2 per lane: a small matrix product, d x d times d x lanes, in
blocks of 4 x 4 with the lanes innermost and contiguous, so the loops vectorise; the
sum over c stays in order, so the bytes do not depend on the blocking). Lanes are
processed in sub-blocks of SB so a sub-block's state stays in the L1 cache. A full batch
(B = n with "epoch" or "subset", or no batch_size axis) uses the data set's sums over all
samples in index order: full-batch SGD is exactly the deterministic sweep.

**Stops.** After each step t = 1, 2, ... every lane's excess loss gap_t decides, in this
order: not finite -> diverged (final_loss inf); the tail (the last
K = ceil(metrics.tail * steps) steps) accumulates gap_t (Welford); gap_t >
min(diverge * gap_0, MAX_FLOAT) -> diverged; gap_t <= tol * gap_0 -> converged;
t = steps -> max_steps. A noise floor therefore ends as max_steps. rate is NaN. A lane
that stops is replaced by the tile's last running lane, so the loops run over running
lanes only. float64 only; plain IEEE arithmetic (no FMA contraction).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import jit, jit_inline, jit_parallel
from ..metrics import CONVERGED, DIVERGED, MAX_FLOAT, MAX_STEPS
from ..optimizers import ADAGRAD, ADAM, GD, NESTEROV, RMSPROP
from ..rng import STREAM_NOISE, normals4
from ..schedules import at
from . import adaptive
from ._tiles import fetch_add, scramble
from .batches import REPLACEMENT, batch

NT = 256  # most lanes per tile (a larger group is split into tiles, each summing its batch)
SB = 64  # lanes per sub-block


@jit
def mse(XrT, r, Z, lane, res):
    """(1/n) ||r - Xr z||^2 of lane ``lane`` of Z (d, lanes); XrT = Xr^T (d, n), res (n,)
    scratch. Each residual is r_i - Xr_i0 z_0 - Xr_i1 z_1 - ... in c order (vectorised
    over the samples), then the squares are summed in sample order."""
    d, n = XrT.shape
    for row in range(n):
        res[row] = r[row]
    for c in range(d):
        zc = Z[c, lane]
        for row in range(n):
            res[row] = res[row] - XrT[c, row] * zc
    s = 0.0
    for row in range(n):
        s += res[row] * res[row]
    return s / n


@jit
def batch_sums(Xr, r, idx, B, A, b):
    """A = sum_k xr_idx[k] xr_idx[k]^T, b = sum_k xr_idx[k] r_idx[k] (k = 0 .. B-1, each
    entry summed in k order; eight samples per pass over A, then one at a time)."""
    d = Xr.shape[1]
    A[:, :] = 0.0
    b[:] = 0.0
    k = 0
    while k + 8 <= B:
        p0, p1, p2, p3 = idx[k], idx[k + 1], idx[k + 2], idx[k + 3]
        p4, p5, p6, p7 = idx[k + 4], idx[k + 5], idx[k + 6], idx[k + 7]
        for i in range(d):
            x0, x1, x2, x3 = Xr[p0, i], Xr[p1, i], Xr[p2, i], Xr[p3, i]
            x4, x5, x6, x7 = Xr[p4, i], Xr[p5, i], Xr[p6, i], Xr[p7, i]
            c = (((b[i] + x0 * r[p0]) + x1 * r[p1]) + x2 * r[p2]) + x3 * r[p3]
            b[i] = (((c + x4 * r[p4]) + x5 * r[p5]) + x6 * r[p6]) + x7 * r[p7]
            for j in range(d):
                a = (((A[i, j] + x0 * Xr[p0, j]) + x1 * Xr[p1, j]) + x2 * Xr[p2, j]) + x3 * Xr[
                    p3, j
                ]
                A[i, j] = (((a + x4 * Xr[p4, j]) + x5 * Xr[p5, j]) + x6 * Xr[p6, j]) + x7 * Xr[
                    p7, j
                ]
        k += 8
    while k < B:
        p = idx[k]
        for i in range(d):
            xp = Xr[p, i]
            b[i] = b[i] + xp * r[p]
            for j in range(d):
                A[i, j] = A[i, j] + xp * Xr[p, j]
        k += 1


@jit
def _rows1(A, b, P, G, i, c0, m):
    """G[i] = -b[i] + sum_{c < d} A[i, c] P[c] (in c order) over lanes 0 .. m-1; c from
    c0 (the caller has started the sum when c0 > 0)."""
    d = A.shape[0]
    if c0 == 0:
        for q in range(m):
            G[i, q] = -b[i]
    c = c0
    while c + 4 <= d:
        a0, a1, a2, a3 = A[i, c], A[i, c + 1], A[i, c + 2], A[i, c + 3]
        for q in range(m):
            g = G[i, q] + a0 * P[c, q]
            g = g + a1 * P[c + 1, q]
            g = g + a2 * P[c + 2, q]
            G[i, q] = g + a3 * P[c + 3, q]
        c += 4
    while c < d:
        a0 = A[i, c]
        for q in range(m):
            G[i, q] = G[i, q] + a0 * P[c, q]
        c += 1


@jit
def product(A, b, P, G, m):
    """G = A P - b on lanes 0 .. m-1 of P, G (d, lanes): G[i] = ((-b_i + A_i0 P_0) +
    A_i1 P_1) + ..., in c order, four rows and four columns of A per pass over the lanes.
    (Every lane loop starts at 0: with a run-time start, Numba's negative-index check
    stays in the loop and LLVM does not vectorise it.)"""
    d = A.shape[0]
    i = 0
    while i + 4 <= d:
        for q in range(m):
            G[i, q] = -b[i]
            G[i + 1, q] = -b[i + 1]
            G[i + 2, q] = -b[i + 2]
            G[i + 3, q] = -b[i + 3]
        c = 0
        while c + 4 <= d:
            a0, a1, a2, a3 = A[i, c], A[i, c + 1], A[i, c + 2], A[i, c + 3]
            e0, e1, e2, e3 = A[i + 1, c], A[i + 1, c + 1], A[i + 1, c + 2], A[i + 1, c + 3]
            f0, f1, f2, f3 = A[i + 2, c], A[i + 2, c + 1], A[i + 2, c + 2], A[i + 2, c + 3]
            h0, h1, h2, h3 = A[i + 3, c], A[i + 3, c + 1], A[i + 3, c + 2], A[i + 3, c + 3]
            for q in range(m):
                p0, p1, p2, p3 = P[c, q], P[c + 1, q], P[c + 2, q], P[c + 3, q]
                G[i, q] = (((G[i, q] + a0 * p0) + a1 * p1) + a2 * p2) + a3 * p3
                G[i + 1, q] = (((G[i + 1, q] + e0 * p0) + e1 * p1) + e2 * p2) + e3 * p3
                G[i + 2, q] = (((G[i + 2, q] + f0 * p0) + f1 * p1) + f2 * p2) + f3 * p3
                G[i + 3, q] = (((G[i + 3, q] + h0 * p0) + h1 * p1) + h2 * p2) + h3 * p3
            c += 4
        for r in range(4):
            if c < d:
                _rows1(A, b, P, G, i + r, c, m)
        i += 4
    while i < d:
        _rows1(A, b, P, G, i, 0, m)
        i += 1


@jit
def _stops(gap, m, conv_thr, div_thr):
    """How many of lanes 0 .. m-1 stop by the loss: gap not <= div_thr (also inf or NaN)
    or gap <= conv_thr."""
    stops = 0
    for q in range(m):  # an integer sum: it vectorises
        g = gap[q]
        stops += (not g <= div_thr) or g <= conv_thr
    return stops


@jit
def _step(optimizer, A, b, xr, h, scale, Z, Vel, P, G, eta, beta, sig, gap, m, conv_thr,
          div_thr):  # fmt: skip
    """One step of lanes 0 .. m-1 of one sub-block (Z, Vel, P, G: (d, SB); eta, beta,
    sig, gap: (SB,)); gap = the excess loss after the step. Returns how many of the lanes
    stop here by the loss (gap not <= div_thr, i.e. also inf or NaN, or gap <= conv_thr)."""
    d = A.shape[0]
    if optimizer == NESTEROV:  # the gradient point
        for i in range(d):
            for q in range(m):
                P[i, q] = Z[i, q] + beta[q] * Vel[i, q]
        product(A, b, P, G, m)
    else:
        product(A, b, Z, G, m)
    for q in range(m):
        gap[q] = 0.0
    # few arrays per loop: LLVM vectorises a loop only if it can check every pair of
    # arrays for overlap at run time, and it gives up beyond a few pairs
    for i in range(d):
        xri = xr[i]
        for q in range(m):
            G[i, q] = scale * G[i, q] + sig[q] * xri
        if optimizer == GD:
            for q in range(m):
                Z[i, q] = Z[i, q] - eta[q] * G[i, q]
        else:
            for q in range(m):
                Vel[i, q] = beta[q] * Vel[i, q] - eta[q] * G[i, q]
            for q in range(m):
                Z[i, q] = Z[i, q] + Vel[i, q]
        hi = h[i]
        for q in range(m):
            z = Z[i, q]
            gap[q] += hi * (z * z)
    return _stops(gap, m, conv_thr, div_thr)


@jit_inline
def _w_update(optimizer, Gw, M, Q, DW, hs, bcs, beta, beta2, eps, m):
    """DW = the adaptive update of w (``kernels.adaptive.step`` from w = 0: its increment),
    coordinate by coordinate of w, for gradients Gw (d, SB) in w's coordinates; M, Q the
    first-moment buffers and sums of squares (w's coordinates)."""
    d = Gw.shape[0]
    for i in range(d):
        for q in range(m):
            dw, mi, qi = adaptive.step(optimizer, 0.0, Gw[i, q], M[i, q], Q[i, q], hs[q],
                                       bcs[q], beta[q], beta2[q], eps[q])  # fmt: skip
            DW[i, q] = dw
            M[i, q] = mi
            Q[i, q] = qi


@jit
def _adaptive_step(optimizer, A, b, xr, h, scale, V, VT, zero, Z, M, Q, P, G, DW, eta, beta,
                   beta2, eps, pw, hs, bcs, sig, gap, m, conv_thr, div_thr):  # fmt: skip
    """``_step`` for the adaptive optimizers, which act on w's own coordinates (PyTorch's
    per-parameter sums; they are not invariant under the rotation V): the gradient in
    z's coordinates, G = scale (Ar z - br) + sigma xr, is rotated to w's, P = V G; the
    update's increment DW of w (``_w_update``), rotated back, G = V^T DW, is added to z.
    pw (2, SB): each lane's running products beta^t, beta2^t (Adam's bias corrections).
    The products with b = zero add -0.0 first, which changes no bit. Returns the stops by
    the loss, as ``_step``."""
    d = A.shape[0]
    product(A, b, Z, G, m)
    for i in range(d):
        xri = xr[i]
        for q in range(m):
            G[i, q] = scale * G[i, q] + sig[q] * xri
    product(V, zero, G, P, m)
    for q in range(m):
        pw[0, q], pw[1, q], hs[q], bcs[q] = adaptive.corrections(
            optimizer, eta[q], beta[q], beta2[q], pw[0, q], pw[1, q]
        )
    if optimizer == ADAM:
        _w_update(ADAM, P, M, Q, DW, hs, bcs, beta, beta2, eps, m)
    elif optimizer == RMSPROP:
        _w_update(RMSPROP, P, M, Q, DW, hs, bcs, beta, beta2, eps, m)
    else:
        _w_update(ADAGRAD, P, M, Q, DW, hs, bcs, beta, beta2, eps, m)
    product(VT, zero, DW, G, m)
    for q in range(m):
        gap[q] = 0.0
    for i in range(d):
        for q in range(m):
            Z[i, q] = Z[i, q] + G[i, q]
        hi = h[i]
        for q in range(m):
            z = Z[i, q]
            gap[q] += hi * (z * z)
    return _stops(gap, m, conv_thr, div_thr)


@jit
def rotated_noise(seed, t, V, xi, xr):
    """xi = step t's normals in w's coordinates (rng.normal(seed, STREAM_NOISE, t, i)),
    xr = V^T xi: the same noise in the kernel's coordinates (each sum in i order)."""
    d = xi.shape[0]
    for blk in range((d + 3) // 4):
        zs = normals4(seed, STREAM_NOISE, t, blk)
        for q in range(4):
            if 4 * blk + q < d:
                xi[4 * blk + q] = zs[q]
    for c in range(d):
        acc = 0.0
        for i in range(d):
            acc += V[i, c] * xi[i]
        xr[c] = acc


@jit
def _tail(gap, mean, m2, count, m):
    """Welford's update of the tail's mean and M2 by gap, where gap is finite (a
    non-finite gap stops its run before it counts)."""
    for q in range(m):
        g = gap[q]
        ok = math.isfinite(g)
        delta = g - mean[q]
        new = mean[q] + delta / count
        m2[q] = m2[q] + delta * (g - new) if ok else m2[q]
        mean[q] = new if ok else mean[q]


@jit
def run_tile(ti, rows, tiles, order, Xrs, XrTs, rs, hs, Vs, grams, xtrs, z0s, gap0s, loss0s, ints,
             floats, status, n_steps, diverge_step, loss0, final_loss, rate, tail, s_table,
             dens):  # fmt: skip
    """Tile ``ti``: the trajectories order[lo:hi] of one (data set, batch size, seed).

    Lane L lives in sub-block L // SB, slot L % SB; lanes 0 .. nact-1 are running."""
    k, B, seed, lo, hi = tiles[0, ti], tiles[1, ti], tiles[2, ti], tiles[3, ti], tiles[4, ti]
    sf = s_table[tiles[5, ti]]  # the tile's schedule: eta_t = eta * sf[t]
    optimizer, steps, tail_steps, sampling = ints[0], ints[1], ints[2], ints[3]
    tol, diverge = floats[0], floats[1]
    Xr, XrT, r, h, V = Xrs[k], XrTs[k], rs[k], hs[k], Vs[k]
    n, d = Xr.shape
    res = np.empty(n)
    tail_from = steps - tail_steps + 1  # the tail: steps tail_from .. steps
    nact = hi - lo
    nsb = (nact + SB - 1) // SB
    Z = np.zeros((nsb, d, SB))
    Vel = np.zeros((nsb, d, SB))
    P = np.zeros((nsb, d, SB))
    G = np.zeros((nsb, d, SB))
    eta = np.zeros((nsb, SB))
    eta_t = np.zeros((nsb, SB))
    beta = np.zeros((nsb, SB))
    sig = np.zeros((nsb, SB))
    gap = np.zeros((nsb, SB))
    mean = np.zeros((nsb, SB))
    m2 = np.zeros((nsb, SB))
    row = np.zeros((nsb, SB), np.int64)
    adaptive_opt = optimizer >= ADAM  # w's coordinates: sums of squares, the rotations
    Q = np.zeros((nsb, d, SB)) if adaptive_opt else np.zeros((nsb, 0, SB))
    DW = np.zeros((nsb, d, SB)) if adaptive_opt else np.zeros((nsb, 0, SB))
    pw = np.ones((nsb, 2, SB))
    hs = np.zeros((nsb, SB))
    bcs = np.zeros((nsb, SB))
    beta2 = np.zeros((nsb, SB))
    eps = np.zeros((nsb, SB))
    VT = np.ascontiguousarray(V.T)
    zero = np.zeros(d)
    noisy = False
    for lane in range(nact):
        s, q = lane // SB, lane % SB
        j = order[lo + lane]
        row[s, q] = j
        eta[s, q], beta[s, q], sig[s, q] = rows[0, j], rows[1, j], rows[2, j]
        if adaptive_opt:
            beta2[s, q], eps[s, q] = rows[3, j], rows[4, j]
        noisy = noisy or sig[s, q] != 0.0
        for i in range(d):
            Z[s, i, q] = z0s[k, i]
        loss0[j] = loss0s[k]
        rate[j] = math.nan
        tail[0, j], tail[1, j] = math.nan, math.nan
    gap0 = gap0s[k]
    if not math.isfinite(gap0) or gap0 <= tol * gap0:  # decided at t = 0
        code = DIVERGED if not math.isfinite(gap0) else CONVERGED
        for lane in range(nact):
            j = row[lane // SB, lane % SB]
            status[j], n_steps[j] = code, 0
            diverge_step[j] = 0 if code == DIVERGED else -1
            final_loss[j] = math.inf if code == DIVERGED else loss0s[k]
        return
    conv_thr = tol * gap0
    div_thr = min(diverge * gap0, MAX_FLOAT)
    full = sampling != REPLACEMENT and B == n
    if full:
        A, b = grams[k], xtrs[k]
    else:
        A, b = np.empty((d, d)), np.empty(d)
    idx = np.empty(B, np.int64)
    perm = np.empty(n, np.int64)
    pool = np.arange(n)
    swaps = np.empty(B, np.int64)
    xi = np.zeros(d)
    xr = np.zeros(d)  # V^T xi
    scale = 2.0 / B
    for t in range(steps):
        if not full:
            batch(sampling, seed, t, B, perm, pool, swaps, idx)
            batch_sums(Xr, r, idx, B, A, b)
        if noisy:
            rotated_noise(seed, t, V, xi, xr)
        t1 = t + 1
        count = t1 - tail_from + 1
        stops = 0
        st = at(sf, t)
        for s in range((nact + SB - 1) // SB):
            m = min(SB, nact - s * SB)
            for q in range(m):
                eta_t[s, q] = eta[s, q] * st
            if adaptive_opt:
                stops += _adaptive_step(
                    optimizer, A, b, xr, h, scale, V, VT, zero, Z[s], Vel[s], Q[s], P[s], G[s],
                    DW[s], eta_t[s], beta[s], beta2[s], eps[s], pw[s], hs[s], bcs[s], sig[s],
                    gap[s], m, conv_thr, div_thr,
                )  # fmt: skip
            else:
                stops += _step(optimizer, A, b, xr, h, scale, Z[s], Vel[s], P[s], G[s],
                               eta_t[s], beta[s], sig[s], gap[s], m, conv_thr,
                               div_thr)  # fmt: skip
            if count >= 1:
                _tail(gap[s], mean[s], m2[s], count, m)
        if stops == 0 and t1 < steps:
            continue
        for lane in range(nact - 1, -1, -1):  # stops, last lane first (compaction)
            s, q = lane // SB, lane % SB
            g = gap[s, q]
            code = -1
            if not math.isfinite(g) or g > div_thr:
                code = DIVERGED
            elif g <= conv_thr:
                code = CONVERGED
            elif t1 == steps:
                code = MAX_STEPS
            if code < 0:
                continue
            j = row[s, q]
            status[j], n_steps[j] = code, t1
            diverge_step[j] = t1 if code == DIVERGED else -1
            cnt = count
            if math.isfinite(g):
                final_loss[j] = mse(XrT, r, Z[s], q, res)
            else:
                final_loss[j] = math.inf
                cnt = count - 1  # this step is not in the tail
            if cnt >= 1:
                tail[0, j] = mean[s, q]
                tail[1, j] = math.sqrt(m2[s, q] / cnt)
            if adaptive_opt:  # the preconditioner: the update's denominators
                for i in range(d):
                    dens[i, j] = adaptive.denominator(optimizer, Q[s, i, q], pw[s, 1, q],
                                                      eps[s, q])  # fmt: skip
            last = nact - 1
            if lane != last:  # the last running lane takes this slot
                sl, ql = last // SB, last % SB
                for i in range(d):
                    Z[s, i, q], Vel[s, i, q] = Z[sl, i, ql], Vel[sl, i, ql]
                eta[s, q], beta[s, q], sig[s, q] = eta[sl, ql], beta[sl, ql], sig[sl, ql]
                row[s, q], mean[s, q], m2[s, q] = row[sl, ql], mean[sl, ql], m2[sl, ql]
                if adaptive_opt:
                    for i in range(d):
                        Q[s, i, q] = Q[sl, i, ql]
                    pw[s, 0, q], pw[s, 1, q] = pw[sl, 0, ql], pw[sl, 1, ql]
                    beta2[s, q], eps[s, q] = beta2[sl, ql], eps[sl, ql]
            nact = last
        if nact == 0:
            break


@jit_parallel
def sweep_minibatch(rows, tiles, order, Xrs, XrTs, rs, hs, Vs, grams, xtrs, z0s, gap0s, loss0s,
                    ints, floats, status, n_steps, diverge_step, loss0, final_loss, rate, tail,
                    s_table, dens):  # fmt: skip
    """Trajectories of one chunk of a linreg sweep (row j from column j of the inputs).

    rows    float64 (5, m): eta (absolute), beta, sigma, beta2, eps per trajectory (the
            last two read by the adaptive optimizers only)
    tiles   int64 (6, T): per tile: data set index k, batch size B, seed, the range
            lo .. hi-1 of ``order`` it runs, and its schedule (a row of s_table); every
            trajectory of a tile shares k, B, seed and schedule
    order   int64 (m,): trajectory rows grouped by tile
    per data set k (``linreg_engine.kernel_tables``): Xrs (K, n, d) = X V, XrTs its
            transpose (K, d, n); rs (K, n) the
            least-squares residual; hs (K, d) = lambda / 2; Vs (K, d, d); grams (K, d, d),
            xtrs (K, d): sum over all samples of xr xr^T and xr r, in index order;
            z0s (K, d) = V^T (w_0 - w_hat); gap0s, loss0s (K,): excess loss and MSE at
            the start
    ints    int64 (4,): optimizer, steps, tail steps, sampling code (``kernels.batches``);
    floats  float64 (2,): tol, diverge
    outputs (m,): status int8, n_steps, diverge_step int32, loss0, final_loss, rate
            float64; tail float64 (2, m): the tail's mean and standard deviation of the
            excess loss (NaN if empty; a run stopped by a non-finite loss keeps the
            tail up to the step before).
    s_table float64 (K, steps): schedule factors (``schedules.sweep_table``): the update
            from w_t uses eta_t = eta * s_table[schedule, t] (through schedules.at; an
            empty table: constant eta).
    dens    float64 (d, m) output, adaptive optimizers: the update's denominators
            (``adaptive.denominator``, w's coordinates) at the run's last step; untouched
            for the others and for runs decided at t = 0 (the engine fills NaN)
    """
    n_tiles = tiles.shape[1]
    counter = np.zeros(1, np.int64)
    for _ in prange(n_tiles):
        ti = fetch_add(counter, np.int64(1))
        while ti < n_tiles:
            run_tile(
                scramble(ti, n_tiles), rows, tiles, order, Xrs, XrTs, rs, hs, Vs, grams, xtrs,
                z0s, gap0s, loss0s, ints, floats, status, n_steps, diverge_step, loss0,
                final_loss, rate, tail, s_table, dens,
            )  # fmt: skip
            ti = fetch_add(counter, np.int64(1))


@jit
def kernel_data(X, y, V, w_hat, lambdas, start):
    """The kernel's tables of one data set: Xr = X V, r = y - X w_hat, h = lambda / 2,
    gram = sum_i xr_i xr_i^T and xtr = sum_i xr_i r_i (index order), z0 = V^T (start -
    w_hat), and the excess loss and MSE at the start. Loops in a fixed order."""
    n, d = X.shape
    Xr = np.empty((n, d))
    r = np.empty(n)
    for row in range(n):
        for c in range(d):
            acc = 0.0
            for i in range(d):
                acc += X[row, i] * V[i, c]
            Xr[row, c] = acc
        acc = y[row]
        for i in range(d):
            acc -= X[row, i] * w_hat[i]
        r[row] = acc
    idx = np.arange(n)
    gram, xtr = np.empty((d, d)), np.empty(d)
    batch_sums(Xr, r, idx, n, gram, xtr)
    h = lambdas / 2.0
    z0 = np.empty(d)
    for c in range(d):
        acc = 0.0
        for i in range(d):
            acc += V[i, c] * (start[i] - w_hat[i])
        z0[c] = acc
    gap0 = 0.0
    for c in range(d):
        gap0 += h[c] * (z0[c] * z0[c])
    Z = np.empty((d, 1))
    Z[:, 0] = z0
    XrT = np.ascontiguousarray(Xr.T)
    return Xr, XrT, r, h, gram, xtr, z0, gap0, mse(XrT, r, Z, 0, np.empty(n))
