"""Quadratic sweeps: SIMD bursts of one rate block, the rate replayed from checkpoints.

The rate estimator (``fastdescent.metrics``) needs its window sums only for the last one
to two blocks of B steps before a coordinate stops accumulating, but a streaming kernel
cannot know in advance which blocks those are, so it updates five sums per coordinate on
every step: more than the dynamics themselves. This kernel splits the work in two:

1. **Dynamics.** nl trajectories (16 float64 or 32 float32) advance in lockstep in
   bursts of exactly B steps (``vector_ir.dynamics_burst``: explicit 512-bit
   vectors, all state in registers, no sums; ``dynamics_burst_d`` for d != 2, with the
   coordinates' state in memory). A lane's trajectory always starts at a
   burst boundary, so every lane's step count t is a multiple of B there and every rate
   block starts at a burst boundary. Each burst first keeps the state it starts from as
   a checkpoint, so that the states at the start of the previous and the current block
   are at hand. The underflow floor is checked at the burst's end (a block's end).
2. **Rate replay.** When a coordinate's window ends (the trajectory stops, or the
   coordinate reaches the floor), a job is queued: replay its last one to two blocks
   from the checkpoint. ``vector_ir.window_sums`` runs 16 jobs side by side with the
   same operations as the dynamics, so the sums and the rate are exactly those of the
   streaming definition; ``_flush`` fits them and folds each coordinate's rate into its
   trajectory's (the max). Coordinates of a diagonal quadratic evolve independently, so
   a coordinate is replayed alone. float32 runs replay in float64 (metrics: dtype).

A lane that stops inside a burst keeps stepping, unused, to the burst's end, and is
refilled at the next boundary: about B/2 wasted lane-steps per trajectory, 3% of W1.
Each tile is a contiguous run of rows, so lanes write their outputs close together.

Results are bit-identical to ``tests/naive.py`` (same operations in the same order, no
FMA contraction), as for the other kernels. W1 (2 threads, 2026-11-22): 0.25 s, against
1.77 s for the kernel this replaced, which ran one trajectory at a time with its state
and streamed sums in registers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload

from ..._jit import jit
from ...metrics import (
    CONVERGED,
    DIVERGED,
    FLOOR,
    FLOOR32,
    MAX_FLOAT,
    MAX_FLOAT32,
    MAX_STEPS,
    stopped_at_start,
    sums_rate,
)
from ...optimizers import GD, HEAVY_BALL
from .vector_ir import (
    ANYFRZ,
    BETA,
    CK_CUR,
    CK_PREV,
    CONV,
    DIV,
    ETA,
    FRZ,
    LAM,
    LOSSR,
    NL,
    Q_BETA,
    Q_CUR,
    Q_ETA,
    Q_F1,
    Q_KMIN,
    Q_LAM,
    Q_M,
    Q_PREV,
    Q_ROWS,
    Q_SIGMA,
    Q_V,
    Q_W,
    STOPK,
    STOPLOSS,
    WP,
    V,
    W,
    coord_row,
    dynamics_burst,
    dynamics_burst_d,
    n_rows,
    window_sums,
)


def _to(S, x):
    """x (a float64) rounded to the dtype of the array S, returned as a float64."""
    return float(np.asarray(x, dtype=S.dtype))


@overload(_to, jit_options={"cache": True})
def _to_jit(S, x):
    if S.dtype == types.float32:
        return lambda S, x: np.float64(np.float32(x))
    return lambda S, x: x


def _limits(S):
    """(FLOOR, largest finite value) for the dtype of the array S."""
    return (FLOOR32, MAX_FLOAT32) if S.dtype == np.float32 else (FLOOR, MAX_FLOAT)


@overload(_limits, jit_options={"cache": True})
def _limits_jit(S):
    if S.dtype == types.float32:
        return lambda S: (FLOOR32, MAX_FLOAT32)
    return lambda S: (FLOOR, MAX_FLOAT)


@jit
def _step(optimizer, eta, beta, lam, w, v):
    """One step of one coordinate, as ``dynamics_burst`` computes it: (w, v)."""
    if optimizer == GD:
        g = lam * w
        return w - eta * g, v
    bv = beta * v
    g = lam * w if optimizer == HEAVY_BALL else lam * (w + bv)
    v = bv - eta * g
    return w + v, v


@jit
def _flush(Q, jobs, n_jobs, order, optimizer, block, rate):
    """Replay the queued windows (``vector_ir.window_sums``) and fold each coordinate's
    fitted rate into its trajectory's ``rate``: the max over coordinates, NaN ignored.

    jobs[q] = output row of queue lane q. A window that ends in the trajectory's first
    block has all its equations in ``cur`` and an empty ``prev``, while the replay counts
    every step k <= B as ``prev``: the fit sees 0 + S instead of S + 0, the same numbers
    (up to the sign of a zero sum, which no |root| depends on).
    """
    if n_jobs == 0:
        return
    n = 0
    for q in range(n_jobs):
        n = max(n, int(Q[Q_M * NL + q]))
    for q in range(n_jobs, NL):
        Q[Q_M * NL + q] = 0.0
    window_sums(Q, n, block, optimizer)
    for q in range(n_jobs):
        prv = (
            Q[Q_PREV * NL + q], Q[(Q_PREV + 1) * NL + q], Q[(Q_PREV + 2) * NL + q],
            Q[(Q_PREV + 3) * NL + q], Q[(Q_PREV + 4) * NL + q],
        )  # fmt: skip
        cur = (
            Q[Q_CUR * NL + q], Q[(Q_CUR + 1) * NL + q], Q[(Q_CUR + 2) * NL + q],
            Q[(Q_CUR + 3) * NL + q], Q[(Q_CUR + 4) * NL + q],
        )  # fmt: skip
        r = sums_rate(cur, prv, Q[Q_SIGMA * NL + q], order)
        jj = jobs[q]
        if not math.isnan(r) and (math.isnan(rate[jj]) or r > rate[jj]):
            rate[jj] = r


@jit
def decode(traj, shape):
    """Trajectory id -> (i_lr, i_beta, i_kappa, i_seed), C order over the slots."""
    i_seed = traj % shape[3]
    r = traj // shape[3]
    i_kappa = r % shape[2]
    r = r // shape[2]
    i_beta = r % shape[1]
    i_lr = r // shape[1]
    return i_lr, i_beta, i_kappa, i_seed


@jit
def _park(S, nl, lane):
    """A lane without a trajectory: zeros that never stop."""
    for q in range(S.size // nl):
        S[q * nl + lane] = 0.0
    S[CONV * nl + lane] = -1.0
    S[DIV * nl + lane] = MAX_FLOAT


@jit
def run_tile(
    lo, tile, n_tiles, shape, lr_values, beta_values, lam_table, lam_max, start, relative_lr,
    optimizer, order, steps, tol, diverge, block,
    status, n_steps, diverge_step, loss0, final_loss, rate, proto,
):  # fmt: skip
    """Run tile ``tile`` of ``n_tiles``, rows n*tile//n_tiles .. n*(tile+1)//n_tiles - 1 of
    the chunk (d = ``start.shape[0]`` coordinates, d >= 2).

    Arguments as in ``fastdescent.kernels.simd.sweep.sweep_quadratic``; ``proto``: an array of the
    dtype the dynamics run in (float64 or float32).
    """
    n = status.shape[0]
    nl = NL * 8 // proto.itemsize  # lanes: 16 float64 or 32 float32
    floor, max_float = _limits(proto)
    d = start.shape[0]
    S = np.zeros(n_rows(d) * nl, dtype=proto.dtype)
    row = np.full(nl, -1, dtype=np.int64)  # output row of each lane, -1: parked
    t = np.zeros(nl, dtype=np.int64)  # steps done by the lane's trajectory (a multiple of B)
    live = np.zeros((nl, d), dtype=np.bool_)  # coordinate still accumulating its window
    sigma = np.ones((nl, d))
    Q = np.zeros(Q_ROWS * NL)  # queued window replays (vector_ir.window_sums)
    jobs = np.zeros(NL, dtype=np.int64)  # output row of each queued replay
    n_jobs = 0
    eta_l = np.zeros(nl)  # eta, beta, lambda as the dynamics use them (rounded to S's dtype)
    beta_l = np.zeros(nl)
    lam_l = np.zeros((nl, d))
    r_last = steps - ((steps - 1) // block) * block  # steps in a trajectory's last burst
    # a contiguous run of rows: lanes write their outputs close together in memory
    j = (n * tile) // n_tiles
    # grid coordinates of row j, advanced like an odometer (no division per trajectory)
    i_lr, i_beta, i_kappa, i_seed = decode(lo + j, shape)
    j_end = (n * (tile + 1)) // n_tiles
    for lane in range(nl):
        _park(S, nl, lane)
    while True:
        for lane in range(nl):
            while row[lane] < 0 and j < j_end:
                lr = lr_values[i_lr]
                # every input as the dynamics see it: rounded to S's dtype
                eta = _to(S, lr / lam_max[i_kappa] if relative_lr else lr)
                beta = _to(S, beta_values[i_beta])
                s = 0.0
                for i in range(d):
                    x = _to(S, start[i])
                    s = _to(S, s + _to(S, _to(S, lam_table[i_kappa, i]) * _to(S, x * x)))
                l0 = _to(S, 0.5 * s)
                g0 = l0 - 0.0
                stopped = stopped_at_start(
                    j, l0, tol, status, n_steps, diverge_step, loss0, final_loss, rate
                )
                if not stopped:
                    rate[j] = math.nan  # until the coordinates' window replays come back
                    eta_l[lane], beta_l[lane] = eta, beta
                    S[ETA * nl + lane] = eta
                    S[BETA * nl + lane] = beta
                    S[CONV * nl + lane] = tol * g0
                    S[DIV * nl + lane] = min(diverge * g0, max_float)
                    S[STOPK * nl + lane] = 0.0
                    for i in range(d):
                        x = _to(S, start[i])
                        lam = _to(S, lam_table[i_kappa, i])
                        lam_l[lane, i] = lam
                        S[coord_row(i, LAM) * nl + lane] = lam
                        S[coord_row(i, W) * nl + lane] = x
                        S[coord_row(i, V) * nl + lane] = 0.0
                        S[coord_row(i, WP) * nl + lane] = x
                        live[lane, i] = not (_to(S, x * x) <= floor)
                        if not live[lane, i]:  # at the floor at t = 0: at the minimum
                            S[coord_row(i, W) * nl + lane] = 0.0
                        # sigma from the first step in float64, as the window replay runs
                        x1, _ = _step(optimizer, eta, beta, lam, x, 0.0)
                        sigma[lane, i] = 1.0 if x1 * x >= 0.0 else -1.0
                    row[lane] = j
                    t[lane] = 0
                j += 1
                i_seed += 1
                if i_seed == shape[3]:
                    i_seed = 0
                    i_kappa += 1
                    if i_kappa == shape[2]:
                        i_kappa = 0
                        i_beta += 1
                        if i_beta == shape[1]:
                            i_beta = 0
                            i_lr += 1
        active = False
        all_last = True
        for lane in range(nl):
            if row[lane] >= 0:
                active = True
                all_last = all_last and t[lane] + block >= steps
        if not active:
            _flush(Q, jobs, n_jobs, order, optimizer, block, rate)
            return
        n_steps_burst = r_last if all_last else block
        if d == 2:
            dynamics_burst(S, n_steps_burst, r_last, optimizer)
        else:
            dynamics_burst_d(S, d, n_steps_burst, r_last, optimizer)
        for lane in range(nl):
            jj = row[lane]
            if jj < 0:
                continue
            tl = t[lane]
            last = tl + block >= steps
            kstop = int(S[STOPK * nl + lane])
            if kstop == 0 and not last:
                if S[ANYFRZ * nl + lane] == 0.0:
                    t[lane] = tl + block  # the common case: nothing happened
                    continue
            stopped = True
            finite = True
            if last and (kstop == 0 or kstop > r_last):
                tt = steps
                status[jj], n_steps[jj], diverge_step[jj] = MAX_STEPS, tt, -1
                final_loss[jj] = S[LOSSR * nl + lane]
            elif kstop > 0:
                tt = tl + kstop
                loss = S[STOPLOSS * nl + lane]
                if not math.isfinite(loss):
                    finite = False
                    status[jj], n_steps[jj], diverge_step[jj] = DIVERGED, tt, tt
                    final_loss[jj] = math.inf
                elif loss > S[DIV * nl + lane]:
                    status[jj], n_steps[jj], diverge_step[jj] = DIVERGED, tt, tt
                    final_loss[jj] = loss
                else:
                    status[jj], n_steps[jj], diverge_step[jj] = CONVERGED, tt, -1
                    final_loss[jj] = loss
            else:
                stopped = False
                tt = tl + block
            # the last step whose equation enters a window: not one whose loss overflowed
            end = tt if finite else tt - 1
            # the checkpoint at the start of the previous block (of this one at t = 0)
            ck = CK_PREV if tl > 0 else CK_CUR
            t0 = tl - block if tl > 0 else 0
            for i in range(d):
                if not live[lane, i]:
                    continue
                if stopped:
                    e = end
                elif S[coord_row(i, FRZ) * nl + lane] == 1.0:
                    e = tt  # at the floor at the end of this block: its window ends here
                else:
                    continue
                live[lane, i] = False
                if e < order or e < 1:
                    continue  # no equation: this coordinate has no rate
                # queue the replay of steps t0 + 1 .. e from the checkpoint at t0
                q = n_jobs
                sg = sigma[lane, i]
                Q[Q_ETA * NL + q] = eta_l[lane]
                Q[Q_BETA * NL + q] = beta_l[lane]
                Q[Q_LAM * NL + q] = lam_l[lane, i]
                Q[Q_SIGMA * NL + q] = sg
                w = np.float64(S[coord_row(i, ck) * nl + lane])  # (no float32 arithmetic)
                v = np.float64(S[coord_row(i, ck + 1) * nl + lane])
                # x_{t0-1}: the run's own (float64), or for float32 the point w - v that
                # the float64 replay through (w, v) came from, so that its first equation
                # is as exact as the others
                wp = w - v
                if proto.itemsize == 8:
                    wp = np.float64(S[coord_row(i, ck + 2) * nl + lane])
                Q[Q_W * NL + q] = w
                Q[Q_V * NL + q] = v
                Q[Q_F1 * NL + q] = w - sg * wp if t0 > 0 else 0.0
                Q[Q_KMIN * NL + q] = float(order) if t0 == 0 else 1.0
                Q[Q_M * NL + q] = float(e - t0)
                jobs[q] = jj
                n_jobs += 1
                if n_jobs == NL:
                    _flush(Q, jobs, n_jobs, order, optimizer, block, rate)
                    n_jobs = 0
            if stopped:
                row[lane] = -1
                _park(S, nl, lane)
            else:
                t[lane] = tt
