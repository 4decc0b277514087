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
  - ``sweep_quadratic_2d`` (d <= 2, e.g. BENCHMARKS.md's W1) runs ``fastdescent.blocks``:
    16 trajectories (32 in float32) in explicit 512-bit SIMD registers, in bursts of one
    rate block, with the rate-window sums recomputed from checkpoints for the last
    blocks only. W1 kernel: 0.25 s, against 1.77 s for the previous kernel, which ran
    one trajectory at a time with its state and sums in registers (2026-11-22).
  - ``sweep_quadratic`` (any d) runs ``fastdescent.lanes``: LANES trajectories side by
    side in lockstep, with SIMD loops over the lanes and rare per-lane events (first
    step, stop and refill) handled in scalar code. For d = 64 (W2) it is 2.4x faster than
    a lockstep kernel whose loops LLVM did not vectorise.

Every trajectory is computed independently, with the same float64 operations in the same
order as the one-trajectory-at-a-time reference in tests/naive.py (no fastmath, no FMA
contraction), so results are bit-identical to it and do not depend on thread count,
chunking, tiling or lane assignment. The per-step semantics are documented in
``fastdescent.optimizers`` (updates) and ``fastdescent.metrics`` (stopping, rate).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from . import blocks
from ._jit import jit, jit_parallel
from .lanes import LANES, run_tile
from .vector_ir import NL

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
    proto,
):
    """``sweep_quadratic`` for d <= 2 (same arguments; lam_table (n_kappa, 2), start (2,)),
    plus ``proto``: an array whose dtype (float64 or float32) the dynamics run in."""
    n = status.shape[0]
    nl = NL * 8 // proto.itemsize  # lanes per tile
    n_tiles = max(1, min(MAX_TILES, n // (8 * nl)))
    for k in prange(n_tiles):
        blocks.run_tile(
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
            proto,
        )


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
