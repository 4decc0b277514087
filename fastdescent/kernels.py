"""Sweep kernels: pure functions of arrays, one output row per trajectory.

A chunk is a range of trajectory ids ``lo .. lo + n - 1``. Ids are decoded inside the
kernel to grid coordinates (C order over the slots lr, beta, kappa, seed; an axis the
spec does not have is a slot of length 1), so the grid is never materialised and the
memory a chunk needs is its output arrays.

Layout of the work:

- ``prange`` over tiles. Tile k takes ids k, k + n_tiles, k + 2 n_tiles, ...; neighbouring
  ids differ in the fastest axis, so every tile gets a fair share of cheap (early-exit)
  and expensive trajectories. ``prange`` splits its range statically (numba#2556), so
  the tiles are also visited in a scrambled order, which gives every thread tiles from
  all over the grid.
- Two kernels share this layout and the semantics:
  - ``sweep_quadratic_2d`` (d <= 2, e.g. BENCHMARKS.md's W1) runs one trajectory at a
    time with its whole state (iterate, velocity, rate-window sums) in registers.
  - ``sweep_quadratic`` (any d) runs ``fastdescent.lanes``: LANES trajectories side by
    side in lockstep, with SIMD loops over the lanes and rare per-lane events (first
    step, stop and refill) handled in scalar code. For d = 64 (W2) it is 2.4x faster than
    a lockstep kernel whose loops LLVM did not vectorise; for d = 2 the register kernel
    above is still 1.2x faster (measured 2026-11-22, see issue #4 notes).

Every trajectory is computed independently, with the same float64 operations in the same
order as the one-trajectory-at-a-time reference in tests/naive.py (no fastmath, no FMA
contraction), so results are bit-identical to it and do not depend on thread count,
chunking, tiling or lane assignment. The per-step semantics are documented in
``fastdescent.optimizers`` (updates) and ``fastdescent.metrics`` (stopping, rate).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import jit, jit_parallel
from .lanes import LANES, _decode, run_tile
from .metrics import CONVERGED, DIVERGED, FLOOR, MAX_FLOAT, MAX_STEPS, fit_rate
from .optimizers import GD, HEAVY_BALL

MAX_TILES = 1024


@jit
def _scramble(k, n):
    """A fixed permutation of 0..n-1: k -> (k * p) mod n with p prime and not dividing n.

    prange hands each thread a contiguous run of tiles; scrambling spreads tiles from
    every part of the grid (every beta, every lr) over all threads.
    """
    p = 7919
    if n % p == 0:
        p = 7907
    return (k * p) % n


@jit
def _add_equation(sums, x, x1, f, f1, order):
    """The window sums (xx, xf, ff, rxf, rff; fastdescent.metrics) plus one equation.

    x, x1 = x_t, x_{t-1}; f, f1 = F_t, F_{t-1} with F_t = x_t - sigma x_{t-1}.
    """
    xx, xf, ff, rxf, rff = sums
    xx = xx + x1 * x1
    rxf = rxf + f * x1
    if order == 2:
        xf = xf + x1 * f1
        ff = ff + f1 * f1
        rff = rff + f * f1
    return (xx, xf, ff, rxf, rff)


@jit
def _sums_rate(cur, prv, sigma, order):
    """Fitted |root| from prev + cur window sums (5-tuples)."""
    return fit_rate(
        prv[0] + cur[0],
        prv[1] + cur[1],
        prv[2] + cur[2],
        prv[3] + cur[3],
        prv[4] + cur[4],
        sigma,
        order,
    )


@jit
def _run_2d(optimizer, order, eta, beta, l0, l1, s0, s1, steps, tol, diverge, block):
    """One trajectory of a 2-D diagonal quadratic with all state in registers.

    The same operations in the same order as the lane kernel (and tests/naive.py), written
    out for d <= 2 (d = 1 runs with a second coordinate of eigenvalue 0 starting at 0,
    which adds exact zeros to the loss and never enters the rate fit). Returns
    (status, steps, diverge_step, loss0, final_loss, rate).
    """
    w0, w1, v0, v1 = s0, s1, 0.0, 0.0
    p0, p1 = s0, s1  # x_{t-1} per coordinate
    f0 = f1 = 0.0  # F_{t-1} = x_{t-1} - sigma x_{t-2}
    sg0 = sg1 = 1.0  # sigma, measured on the first step
    live0 = not (s0 * s0 <= FLOOR)
    live1 = not (s1 * s1 <= FLOOR)
    zero = (0.0, 0.0, 0.0, 0.0, 0.0)
    cur0, prv0, cur1, prv1 = zero, zero, zero, zero  # window sums per coordinate
    loss0 = 0.5 * (0.0 + l0 * (s0 * s0) + l1 * (s1 * s1))
    gap0 = loss0 - 0.0
    if not math.isfinite(gap0):
        return DIVERGED, 0, 0, loss0, math.inf, math.nan
    if gap0 <= tol * gap0:
        return CONVERGED, 0, -1, loss0, loss0, math.nan
    conv_thr = tol * gap0
    div_thr = min(diverge * gap0, MAX_FLOAT)  # so that inf and NaN never pass gap <= div_thr
    phase = block - 1
    loss = loss0
    status = MAX_STEPS
    t = 0
    for t in range(1, steps + 1):
        if optimizer == GD:
            g = l0 * w0
            w0 = w0 - eta * g
            g = l1 * w1
            w1 = w1 - eta * g
        elif optimizer == HEAVY_BALL:
            g = l0 * w0
            v0 = beta * v0 - eta * g
            w0 = w0 + v0
            g = l1 * w1
            v1 = beta * v1 - eta * g
            w1 = w1 + v1
        else:
            g = l0 * (w0 + beta * v0)
            v0 = beta * v0 - eta * g
            w0 = w0 + v0
            g = l1 * (w1 + beta * v1)
            v1 = beta * v1 - eta * g
            w1 = w1 + v1
        loss = 0.5 * (0.0 + l0 * (w0 * w0) + l1 * (w1 * w1))
        gap = loss - 0.0
        if not (gap <= div_thr):  # diverged: above the threshold, inf or NaN
            status = DIVERGED
            if not math.isfinite(gap):
                loss = math.inf
                break  # nothing non-finite enters the rate window
        phase = 0 if phase == block - 1 else phase + 1
        if live0 and live1 and phase != 0 and t >= 2:  # the common case, branch-free
            g = w0 - sg0 * p0
            cur0 = _add_equation(cur0, w0, p0, g, f0, order)
            f0 = g
            g = w1 - sg1 * p1
            cur1 = _add_equation(cur1, w1, p1, g, f1, order)
            f1 = g
            live0 = not (w0 * w0 <= FLOOR)
            live1 = not (w1 * w1 <= FLOOR)
        else:
            rotate = phase == 0 and t > 1
            if live0:
                if t == 1:
                    sg0 = 1.0 if w0 * p0 >= 0.0 else -1.0
                g = w0 - sg0 * p0
                if rotate:
                    prv0, cur0 = cur0, zero
                if t >= order:
                    cur0 = _add_equation(cur0, w0, p0, g, f0, order)
                f0 = g
                live0 = not (w0 * w0 <= FLOOR)
            if live1:
                if t == 1:
                    sg1 = 1.0 if w1 * p1 >= 0.0 else -1.0
                g = w1 - sg1 * p1
                if rotate:
                    prv1, cur1 = cur1, zero
                if t >= order:
                    cur1 = _add_equation(cur1, w1, p1, g, f1, order)
                f1 = g
                live1 = not (w1 * w1 <= FLOOR)
        p0, p1 = w0, w1
        if status == DIVERGED:
            break
        if gap <= conv_thr:
            status = CONVERGED
            break
    r0 = _sums_rate(cur0, prv0, sg0, order)
    r1 = _sums_rate(cur1, prv1, sg1, order)
    rate = r1 if math.isnan(r0) or r1 > r0 else r0
    return status, t, t if status == DIVERGED else -1, loss0, loss, rate


@jit_parallel
def sweep_quadratic_2d(
    lo,
    shape,
    lr_values,
    beta_values,
    lam_table,
    lam_max,
    start,
    relative_lr,
    optimizer,
    order,
    steps,
    tol,
    diverge,
    block,
    status,
    n_steps,
    diverge_step,
    loss0,
    final_loss,
    rate,
):
    """``sweep_quadratic`` for d <= 2 (same arguments; lam_table (n_kappa, 2), start (2,))."""
    n = status.shape[0]
    n_tiles = min(n, MAX_TILES)
    for k in prange(n_tiles):
        tile = _scramble(np.int64(k), n_tiles)
        for j in range(tile, n, n_tiles):
            i_lr, i_beta, i_kappa, _ = _decode(np.int64(lo) + j, shape)
            lr = lr_values[i_lr]
            eta = lr / lam_max[i_kappa] if relative_lr else lr
            res = _run_2d(
                optimizer,
                order,
                eta,
                beta_values[i_beta],
                lam_table[i_kappa, 0],
                lam_table[i_kappa, 1],
                start[0],
                start[1],
                steps,
                tol,
                diverge,
                block,
            )
            status[j] = res[0]
            n_steps[j] = res[1]
            diverge_step[j] = res[2]
            loss0[j] = res[3]
            final_loss[j] = res[4]
            rate[j] = res[5]


@jit_parallel
def sweep_quadratic(
    lo,
    shape,
    lr_values,
    beta_values,
    lam_table,
    lam_max,
    start,
    relative_lr,
    optimizer,
    order,
    steps,
    tol,
    diverge,
    block,
    status,
    n_steps,
    diverge_step,
    loss0,
    final_loss,
    rate,
):
    """Trajectories lo .. lo + n - 1 of a quadratic sweep, n = status.shape[0].

    shape       int64 (4,): grid lengths of the slots (lr, beta, kappa, seed), C order
    lr_values   float64 (shape[0],); eta = lr / lam_max[kappa] when relative_lr else lr
    beta_values float64 (shape[1],)
    lam_table   float64 (shape[2], d): the eigenvalues for each kappa value
    lam_max     float64 (shape[2],): lambda_max for each kappa value
    start       float64 (d,)
    optimizer   int code (fastdescent.optimizers); order: its recurrence order (1 or 2)
    block       rate-window block length (fastdescent.metrics.block_length)
    outputs (n,), row j is trajectory lo + j: status int8, n_steps int32,
    diverge_step int32, loss0, final_loss, rate float64.
    """
    n = status.shape[0]
    # enough trajectories per tile to keep the lanes busy as they stop and refill
    n_tiles = max(1, min(MAX_TILES, n // (8 * LANES)))
    for k in prange(n_tiles):
        run_tile(
            np.int64(lo),
            _scramble(np.int64(k), n_tiles),
            np.int64(n_tiles),
            shape,
            lr_values,
            beta_values,
            lam_table,
            lam_max,
            start,
            relative_lr,
            optimizer,
            order,
            steps,
            tol,
            diverge,
            block,
            status,
            n_steps,
            diverge_step,
            loss0,
            final_loss,
            rate,
        )
