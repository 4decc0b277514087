"""d <= 2 quadratics: SIMD bursts of one rate block, and the rate replayed from checkpoints.

The rate estimator (``fastdescent.metrics``) needs its window sums only for the last one
to two blocks of B steps before a coordinate stops accumulating, but a streaming kernel
cannot know in advance which blocks those are, so it updates five sums per coordinate on
every step: more than the dynamics themselves. This kernel splits the work in two:

1. **Dynamics.** NL trajectories advance in lockstep in bursts of exactly B steps
   (``fastdescent.vector_ir.dynamics_burst``: explicit 512-bit vectors, all state in
   registers, no sums). A lane's trajectory always starts at a burst boundary, so every
   lane's step count t is a multiple of B there, and every rate block starts at a burst
   boundary. After each burst the state of each still-accumulating coordinate
   is kept as a checkpoint: the states at the start of the previous and the current
   block.
2. **Rate replay.** When a coordinate's window ends (the trajectory stops, or the
   coordinate reaches the underflow floor), ``_window_rate`` recomputes its last one to
   two blocks from the checkpoint with the same operations, so the sums and the rate are
   exactly those of the streaming definition. Coordinates of a diagonal quadratic evolve
   independently, so one coordinate is replayed alone.

A lane that stops inside a burst keeps stepping, unused, to the burst's end, and is
refilled at the next boundary: about B/2 wasted lane-steps per trajectory, 3% of W1.

Results are bit-identical to ``tests/naive.py`` (same float64 operations in the same
order, no FMA contraction), as for the other kernels.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit
from .lanes import _decode as decode
from .metrics import CONVERGED, DIVERGED, FLOOR, MAX_FLOAT, MAX_STEPS, add_equation, sums_rate
from .optimizers import GD, HEAVY_BALL
from .vector_ir import (
    BETA,
    CK_CUR,
    CK_PREV,
    CONV,
    DIV,
    ETA,
    FRZ0,
    LAM0,
    LOSSR,
    NL,
    NROWS,
    STOPK,
    STOPLOSS,
    V0,
    W0,
    WP0,
    dynamics_burst,
)


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
def _window_rate(optimizer, order, eta, beta, lam, sigma, w, v, wp, t0, e, block):
    """The fitted rate of one coordinate whose last accumulated equation is step e.

    Replays steps t0 + 1 .. e from the state at step t0 (w = w_t0, v = v_t0,
    wp = w_{t0 - 1}), where t0 = 0 or the start of the block before the one holding e.
    Equations t >= order go to ``prev`` up to the start c * B of e's block
    (c = (e - 1) // B) and to ``cur`` after it (``fastdescent.metrics``); sigma is the
    coordinate's first-step sign. NaN when no equation enters (e < order).
    """
    zero = (0.0, 0.0, 0.0, 0.0, 0.0)
    if e < order or e < 1:
        return math.nan
    split = ((e - 1) // block) * block
    prv, cur = zero, zero
    x1 = w
    f1 = w - sigma * wp if t0 > 0 else 0.0
    for t in range(t0 + 1, e + 1):
        w, v = _step(optimizer, eta, beta, lam, w, v)
        f = w - sigma * x1
        if t >= order:
            if t <= split:
                prv = add_equation(prv, w, x1, f, f1, order)
            else:
                cur = add_equation(cur, w, x1, f, f1, order)
        x1 = w
        f1 = f
    return sums_rate(cur, prv, sigma, order)


@jit
def _window_rates2(optimizer, order, eta, beta, lam, sigma, ck, t0, e, block):
    """``_window_rate`` for both coordinates over the same steps, interleaved (two
    independent dependency chains run twice as fast as one after the other).

    lam, sigma: (lam_0, lam_1), (sigma_0, sigma_1); ck = (w_0, w_1, v_0, v_1, wp_0, wp_1).
    """
    zero = (0.0, 0.0, 0.0, 0.0, 0.0)
    if e < order or e < 1:
        return math.nan, math.nan
    split = ((e - 1) // block) * block
    prv0, cur0, prv1, cur1 = zero, zero, zero, zero
    w0, w1, v0, v1, wp0, wp1 = ck
    x0, x1 = w0, w1
    f0 = w0 - sigma[0] * wp0 if t0 > 0 else 0.0
    f1 = w1 - sigma[1] * wp1 if t0 > 0 else 0.0
    for t in range(t0 + 1, e + 1):
        w0, v0 = _step(optimizer, eta, beta, lam[0], w0, v0)
        w1, v1 = _step(optimizer, eta, beta, lam[1], w1, v1)
        g0 = w0 - sigma[0] * x0
        g1 = w1 - sigma[1] * x1
        if t >= order:
            if t <= split:
                prv0 = add_equation(prv0, w0, x0, g0, f0, order)
                prv1 = add_equation(prv1, w1, x1, g1, f1, order)
            else:
                cur0 = add_equation(cur0, w0, x0, g0, f0, order)
                cur1 = add_equation(cur1, w1, x1, g1, f1, order)
        x0, x1, f0, f1 = w0, w1, g0, g1
    return sums_rate(cur0, prv0, sigma[0], order), sums_rate(cur1, prv1, sigma[1], order)


@jit
def _park(S, lane):
    """A lane without a trajectory: zeros that never stop."""
    for q in range(NROWS):
        S[q * NL + lane] = 0.0
    S[CONV * NL + lane] = -1.0
    S[DIV * NL + lane] = MAX_FLOAT
    S[FRZ0 * NL + lane] = -1.0
    S[(FRZ0 + 1) * NL + lane] = -1.0


@jit
def run_tile(
    lo, tile, n_tiles, shape, lr_values, beta_values, lam_table, lam_max, start, relative_lr,
    optimizer, order, steps, tol, diverge, block,
    status, n_steps, diverge_step, loss0, final_loss, rate,
):  # fmt: skip
    """Run tile ``tile`` of ``n_tiles``, rows n*tile//n_tiles .. n*(tile+1)//n_tiles - 1 of
    the chunk (d = 2: ``start.shape == (2,)``).

    Arguments as in ``fastdescent.kernels.sweep_quadratic``.
    """
    n = status.shape[0]
    S = np.zeros(NROWS * NL)
    row = np.full(NL, -1, dtype=np.int64)  # output row of each lane, -1: parked
    t = np.zeros(NL, dtype=np.int64)  # steps done by the lane's trajectory (a multiple of B)
    live = np.zeros((NL, 2), dtype=np.bool_)  # coordinate still accumulating its window
    sigma = np.ones((NL, 2))
    r_coord = np.full((NL, 2), math.nan)  # rate of a coordinate whose window has ended
    eta_l = np.zeros(NL)
    beta_l = np.zeros(NL)
    lam_l = np.zeros((NL, 2))
    r_last = steps - ((steps - 1) // block) * block  # steps in a trajectory's last burst
    # a contiguous run of rows: lanes write their outputs close together in memory
    j = (n * tile) // n_tiles
    j_end = (n * (tile + 1)) // n_tiles
    for lane in range(NL):
        _park(S, lane)
    while True:
        for lane in range(NL):
            while row[lane] < 0 and j < j_end:
                i_lr, i_beta, i_kappa, _ = decode(lo + j, shape)
                lr = lr_values[i_lr]
                eta = lr / lam_max[i_kappa] if relative_lr else lr
                s = 0.0
                for i in range(2):
                    x = start[i]
                    s = s + lam_table[i_kappa, i] * (x * x)
                l0 = 0.5 * s
                g0 = l0 - 0.0
                if not math.isfinite(g0):
                    status[j], n_steps[j], diverge_step[j] = DIVERGED, 0, 0
                    loss0[j], final_loss[j], rate[j] = l0, math.inf, math.nan
                elif g0 <= tol * g0:
                    status[j], n_steps[j], diverge_step[j] = CONVERGED, 0, -1
                    loss0[j], final_loss[j], rate[j] = l0, l0, math.nan
                else:
                    loss0[j] = l0
                    beta = beta_values[i_beta]
                    eta_l[lane], beta_l[lane] = eta, beta
                    S[ETA * NL + lane] = eta
                    S[BETA * NL + lane] = beta
                    S[CONV * NL + lane] = tol * g0
                    S[DIV * NL + lane] = min(diverge * g0, MAX_FLOAT)
                    S[STOPK * NL + lane] = 0.0
                    for i in range(2):
                        x = start[i]
                        lam = lam_table[i_kappa, i]
                        lam_l[lane, i] = lam
                        S[(LAM0 + i) * NL + lane] = lam
                        S[(W0 + i) * NL + lane] = x
                        S[(V0 + i) * NL + lane] = 0.0
                        S[(WP0 + i) * NL + lane] = x
                        live[lane, i] = not (x * x <= FLOOR)
                        S[(FRZ0 + i) * NL + lane] = 0.0 if live[lane, i] else -1.0
                        x1, _ = _step(optimizer, eta, beta, lam, x, 0.0)
                        sigma[lane, i] = 1.0 if x1 * x >= 0.0 else -1.0
                        r_coord[lane, i] = math.nan
                    row[lane] = j
                    t[lane] = 0
                j += 1
        active = False
        all_last = True
        for lane in range(NL):
            if row[lane] >= 0:
                active = True
                all_last = all_last and t[lane] + block >= steps
        if not active:
            return
        dynamics_burst(S, r_last if all_last else block, r_last, optimizer)
        for lane in range(NL):
            jj = row[lane]
            if jj < 0:
                continue
            tl = t[lane]
            last = tl + block >= steps
            kstop = int(S[STOPK * NL + lane])
            if kstop == 0 and not last:
                if S[FRZ0 * NL + lane] <= 0.0 and S[(FRZ0 + 1) * NL + lane] <= 0.0:
                    t[lane] = tl + block  # the common case: nothing happened
                    continue
            stopped = True
            finite = True
            if last and (kstop == 0 or kstop > r_last):
                tt = steps
                status[jj], n_steps[jj], diverge_step[jj] = MAX_STEPS, tt, -1
                final_loss[jj] = S[LOSSR * NL + lane]
            elif kstop > 0:
                tt = tl + kstop
                loss = S[STOPLOSS * NL + lane]
                if not math.isfinite(loss):
                    finite = False
                    status[jj], n_steps[jj], diverge_step[jj] = DIVERGED, tt, tt
                    final_loss[jj] = math.inf
                elif loss > S[DIV * NL + lane]:
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
            ck = (CK_PREV if tl > 0 else CK_CUR) * NL + lane
            t0 = tl - block if tl > 0 else 0
            frozen = False
            for i in range(2):
                kf = int(S[(FRZ0 + i) * NL + lane])
                frozen = frozen or (live[lane, i] and kf > 0 and tl + kf <= end)
            if stopped and not frozen and live[lane, 0] and live[lane, 1]:
                # the common stop: both coordinates' windows end here
                r_coord[lane, 0], r_coord[lane, 1] = _window_rates2(
                    optimizer, order, eta_l[lane], beta_l[lane],
                    (lam_l[lane, 0], lam_l[lane, 1]), (sigma[lane, 0], sigma[lane, 1]),
                    (S[ck], S[ck + NL], S[ck + 2 * NL], S[ck + 3 * NL], S[ck + 4 * NL],
                     S[ck + 5 * NL]),
                    t0, end, block,
                )  # fmt: skip
                live[lane, 0] = live[lane, 1] = False
            for i in range(2):
                if not live[lane, i]:
                    continue
                kf = int(S[(FRZ0 + i) * NL + lane])
                e = -1
                if kf > 0 and tl + kf <= end:
                    e = tl + kf  # reached the floor: its window ends here
                elif stopped:
                    e = end
                if e >= 0:
                    live[lane, i] = False
                    S[(FRZ0 + i) * NL + lane] = -1.0
                    r_coord[lane, i] = _window_rate(
                        optimizer, order, eta_l[lane], beta_l[lane], lam_l[lane, i],
                        sigma[lane, i], S[ck + i * NL], S[ck + (2 + i) * NL],
                        S[ck + (4 + i) * NL], t0, e, block,
                    )  # fmt: skip
            if stopped:
                r0, r1 = r_coord[lane, 0], r_coord[lane, 1]
                rate[jj] = r1 if math.isnan(r0) or r1 > r0 else r0
                row[lane] = -1
                _park(S, lane)
            else:
                t[lane] = tt
