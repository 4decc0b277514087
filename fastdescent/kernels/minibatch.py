"""The mini-batch kernel: SGD, heavy ball and Nesterov on ``linreg``, with or without
additive gradient noise.

With common random numbers every trajectory of one (data set, batch size, seed) draws
the same batch and the same noise at step t, so a tile of up to NT such trajectories runs
in lockstep and one step of the whole tile is a pair of small matrix products:

    A_S = sum_{i in S} x_i x_i^T,  b_S = sum_{i in S} x_i y_i    (once per tile and step)
    G   = (2/B) (A_S P - b_S) + sigma xi_t                       (d x d times d x lanes)

P the lanes' gradient points (W, or W + beta V for Nesterov), stored coordinate-major
(d, NT) so the lanes are the contiguous, vectorised dimension. (A_S P - b_S equals
X_S^T (X_S P - y_S) in exact arithmetic; it costs B d^2 per tile and 2 d^2 per lane,
against 4 B d per lane for the residual form.) A full batch (B = n with "epoch" or
"subset", or no batch_size axis) uses the data set's X^T X and X^T y, summed once in
index order, so full-batch SGD is exactly the deterministic sweep. The update is that of
``fastdescent.optimizers``; xi_t,i = rng.normal(seed, STREAM_NOISE, t, i), as on every
problem.

After each step t = 1, 2, ... every lane's excess loss gap_t = ||L (w_t - w_hat)||^2
(``problems.linreg``) decides, in this order: not finite -> diverged (final_loss inf);
the tail (the last K = ceil(metrics.tail * steps) steps) accumulates gap_t (Welford);
gap_t > min(diverge * gap_0, MAX_FLOAT) -> diverged; gap_t <= tol * gap_0 -> converged;
t = steps -> max_steps. A noise floor therefore ends as max_steps. final_loss and loss0
are the mean squared error (1/n)||y - X w||^2 computed from the data; rate is NaN (the
deterministic rate needs the eigen-decomposed error; see the issue notes). A lane that
stops is replaced by the tile's last running lane, so the loops run over running lanes
only. float64 only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import jit, jit_parallel
from ..metrics import CONVERGED, DIVERGED, MAX_FLOAT, MAX_STEPS
from ..optimizers import GD, NESTEROV
from ..rng import STREAM_NOISE, normals4
from ._tiles import fetch_add, scramble
from .batches import REPLACEMENT, batch

NT = 64  # lanes per tile (a group of more trajectories is split into several tiles)


@jit
def _mse(X, y, W, lane):
    """(1/n) ||y - X w||^2 of lane ``lane`` of W (d, NT)."""
    n, d = X.shape
    s = 0.0
    for r in range(n):
        acc = y[r]
        for c in range(d):
            acc -= X[r, c] * W[c, lane]
        s += acc * acc
    return s / n


@jit
def _gram(X, y, idx, B, A, b):
    """A = sum_k x_idx[k] x_idx[k]^T, b = sum_k x_idx[k] y_idx[k], k = 0 .. B-1 in order."""
    d = X.shape[1]
    A[:, :] = 0.0
    b[:] = 0.0
    for k in range(B):
        r = idx[k]
        yr = y[r]
        for i in range(d):
            xi = X[r, i]
            b[i] += xi * yr
            for j in range(d):
                A[i, j] += xi * X[r, j]


@jit
def run_tile(ti, rows, tiles, order, Xs, ys, w_hats, Ls, grams, xtys, gap0s, loss0s, start,
             ints, floats, status, n_steps, diverge_step, loss0, final_loss, rate,
             tail):  # fmt: skip
    """Tile ``ti``: the trajectories order[lo:hi] of one (data set, batch size, seed)."""
    k, B, seed, lo, hi = tiles[0, ti], tiles[1, ti], tiles[2, ti], tiles[3, ti], tiles[4, ti]
    optimizer, steps, tail_steps, sampling = ints[0], ints[1], ints[2], ints[3]
    tol, diverge = floats[0], floats[1]
    X, y, w_hat, L = Xs[k], ys[k], w_hats[k], Ls[k]
    n, d = X.shape
    tail_from = steps - tail_steps + 1  # the tail: steps tail_from .. steps
    nact = hi - lo
    W = np.empty((d, nact))
    V = np.zeros((d, nact))
    P = np.empty((d, nact))
    G = np.empty((d, nact))
    eta = np.empty(nact)
    beta = np.empty(nact)
    sig = np.empty(nact)
    row = np.empty(nact, np.int64)
    mean = np.zeros(nact)
    m2 = np.zeros(nact)
    gap = np.empty(nact)
    z = np.empty(nact)
    noisy = False
    for lane in range(nact):
        j = order[lo + lane]
        row[lane] = j
        eta[lane], beta[lane], sig[lane] = rows[0, j], rows[1, j], rows[2, j]
        noisy = noisy or sig[lane] != 0.0
        for i in range(d):
            W[i, lane] = start[i]
        loss0[j] = loss0s[k]
        rate[j] = math.nan
        tail[0, j], tail[1, j] = math.nan, math.nan
    gap0 = gap0s[k]
    if not math.isfinite(gap0) or gap0 <= tol * gap0:  # decided at t = 0
        code = DIVERGED if not math.isfinite(gap0) else CONVERGED
        for lane in range(nact):
            j = row[lane]
            status[j], n_steps[j] = code, 0
            diverge_step[j] = 0 if code == DIVERGED else -1
            final_loss[j] = math.inf if code == DIVERGED else loss0s[k]
        return
    conv_thr = tol * gap0
    div_thr = min(diverge * gap0, MAX_FLOAT)
    full = sampling != REPLACEMENT and B == n
    if full:
        A, b = grams[k], xtys[k]
    else:
        A, b = np.empty((d, d)), np.empty(d)
    idx = np.empty(B, np.int64)
    perm = np.empty(n, np.int64)
    pool = np.arange(n)
    swaps = np.empty(B, np.int64)
    xi = np.zeros(d)
    scale = 2.0 / B
    for t in range(steps):
        if not full:
            batch(sampling, seed, t, B, perm, pool, swaps, idx)
            _gram(X, y, idx, B, A, b)
        if noisy:
            for blk in range((d + 3) // 4):
                zs = normals4(seed, STREAM_NOISE, t, blk)
                for q in range(4):
                    if 4 * blk + q < d:
                        xi[4 * blk + q] = zs[q]
        # the gradient point P and G = (2/B)(A P - b) + sigma xi
        for i in range(d):
            if optimizer == NESTEROV:
                for lane in range(nact):
                    P[i, lane] = W[i, lane] + beta[lane] * V[i, lane]
            else:
                for lane in range(nact):
                    P[i, lane] = W[i, lane]
        for i in range(d):
            for lane in range(nact):
                G[i, lane] = -b[i]
            for c in range(d):
                a = A[i, c]
                for lane in range(nact):
                    G[i, lane] += a * P[c, lane]
        for i in range(d):
            if optimizer == GD:
                for lane in range(nact):
                    g = scale * G[i, lane] + sig[lane] * xi[i]
                    W[i, lane] = W[i, lane] - eta[lane] * g
            else:
                for lane in range(nact):
                    g = scale * G[i, lane] + sig[lane] * xi[i]
                    V[i, lane] = beta[lane] * V[i, lane] - eta[lane] * g
                    W[i, lane] = W[i, lane] + V[i, lane]
        # gap = ||L (w - w_hat)||^2, the error reusing P
        for i in range(d):
            wh = w_hat[i]
            for lane in range(nact):
                P[i, lane] = W[i, lane] - wh
        for lane in range(nact):
            gap[lane] = 0.0
        for r in range(d):
            for lane in range(nact):
                z[lane] = 0.0
            for c in range(d):
                lrc = L[r, c]
                for lane in range(nact):
                    z[lane] += lrc * P[c, lane]
            for lane in range(nact):
                gap[lane] += z[lane] * z[lane]
        t1 = t + 1
        count = t1 - tail_from + 1
        if count >= 1:
            for lane in range(nact):
                if math.isfinite(gap[lane]):  # a non-finite step stops the run first
                    delta = gap[lane] - mean[lane]
                    mean[lane] += delta / count
                    m2[lane] += delta * (gap[lane] - mean[lane])
        for lane in range(nact - 1, -1, -1):  # stops, last lane first (compaction)
            g = gap[lane]
            code = -1
            if not math.isfinite(g) or g > div_thr:
                code = DIVERGED
            elif g <= conv_thr:
                code = CONVERGED
            elif t1 == steps:
                code = MAX_STEPS
            if code < 0:
                continue
            j = row[lane]
            status[j], n_steps[j] = code, t1
            diverge_step[j] = t1 if code == DIVERGED else -1
            if not math.isfinite(g):
                final_loss[j] = math.inf
                cnt = count - 1  # this step is not in the tail
            else:
                final_loss[j] = _mse(X, y, W, lane)
                cnt = count
            if cnt >= 1:
                tail[0, j] = mean[lane]
                tail[1, j] = math.sqrt(m2[lane] / cnt)
            last = nact - 1
            if lane != last:  # the last running lane takes this slot
                for i in range(d):
                    W[i, lane], V[i, lane] = W[i, last], V[i, last]
                eta[lane], beta[lane], sig[lane] = eta[last], beta[last], sig[last]
                row[lane], mean[lane], m2[lane] = row[last], mean[last], m2[last]
            nact = last
        if nact == 0:
            break


@jit_parallel
def sweep_minibatch(rows, tiles, order, Xs, ys, w_hats, Ls, grams, xtys, gap0s, loss0s,
                    start, ints, floats, status, n_steps, diverge_step, loss0, final_loss,
                    rate, tail):  # fmt: skip
    """Trajectories of one chunk of a linreg sweep (row j from column j of the inputs).

    rows    float64 (3, m): eta (absolute), beta, sigma per trajectory
    tiles   int64 (5, T): per tile: data set index k, batch size B, seed, and the range
            lo .. hi-1 of ``order`` it runs (every trajectory of a tile shares k, B, seed)
    order   int64 (m,): trajectory rows grouped by tile
    Xs (K, n, d), ys (K, n), w_hats (K, d), Ls (K, d, d), grams (K, d, d), xtys (K, d):
            the data sets (``problems.linreg.Dataset``); gap0s, loss0s (K,): the excess
            loss and the MSE at the start
    start   float64 (d,); ints int64 (4,): optimizer, steps, tail steps, sampling code
            (``kernels.batches``); floats (2,): tol, diverge
    outputs (m,): status int8, n_steps, diverge_step int32, loss0, final_loss, rate
            float64; tail float64 (2, m): the tail's mean and standard deviation of the
            excess loss (NaN if empty; a run stopped by a non-finite loss keeps the
            tail up to the step before).
    """
    n_tiles = tiles.shape[1]
    counter = np.zeros(1, np.int64)
    for _ in prange(n_tiles):
        ti = fetch_add(counter, np.int64(1))
        while ti < n_tiles:
            run_tile(
                scramble(ti, n_tiles), rows, tiles, order, Xs, ys, w_hats, Ls, grams, xtys,
                gap0s, loss0s, start, ints, floats, status, n_steps, diverge_step, loss0,
                final_loss, rate, tail,
            )  # fmt: skip
            ti = fetch_add(counter, np.int64(1))


@jit
def start_losses(X, y, w_hat, L, start):
    """(MSE, excess loss) at ``start``, computed as the kernel computes them at a step."""
    _n, d = X.shape
    W = np.empty((d, 1))
    for i in range(d):
        W[i, 0] = start[i]
    gap = 0.0
    for r in range(d):
        z = 0.0
        for c in range(d):
            z += L[r, c] * (start[c] - w_hat[c])
        gap += z * z
    return _mse(X, y, W, 0), gap
