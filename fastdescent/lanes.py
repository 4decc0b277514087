"""Lockstep lanes: LANES trajectories of a quadratic sweep advance side by side.

Every trajectory is latency-bound on its own: a step waits on the step before it. Lanes
are independent, so a loop over lanes has no such chain, and LLVM turns it into SIMD
instructions. What makes it vectorise, as measured with ``inspect_asm`` (see
``tests/test_lanes.py``):

- Lane state lives in two flat float64 arrays, ``Sl`` (per lane) and ``Sc`` (per
  coordinate), and every access is ``S[offset + row * LANES + lane]`` with ``LANES`` a
  compile-time constant, so within one loop all rows of an array are a constant distance
  apart. (With rows of one array at a run-time distance LLVM gives up: "unsafe indirect
  dependence"; with a 2-D array it needs run-time checks.) ``Sl`` against ``Sc`` does need
  a run-time alias check, which LLVM only emits for loops of at least 16 iterations:
  hence LANES = 32 (8 lanes: not vectorised; 16: vectorised; 32: fastest measured).
- Lane loops are innermost and branch-free: ``&``/``|`` on booleans instead of
  ``and``/``or``, values chosen with ``x if c else 0.0`` (a select), and no
  ``if optimizer``/``if order`` inside them (those branches sit outside the lane loops).
- No store is conditional. A store of ``c if flag else S[same slot]`` becomes a masked
  store, which is slow to forward to the next load. Everything that would need one is
  rare and per lane (the first step, a rate-window rotation, a coordinate reaching the
  underflow floor, a trajectory stopping), so it is an *event*: the vector loop
  (``_burst``) returns after the step in which it happens, or stops just before a
  scheduled one, and plain scalar code (``_tile``) handles it. Between events the vector
  loop does nothing but the arithmetic of the semantics.

Measured on the 2-core machine (2 threads): W2 (d = 64) 1.44 s (2.0 s before the floor
rule kept subnormal numbers out, 4.9 s for the previous unvectorised lockstep kernel).
For d <= 2 ``fastdescent.blocks`` is 3x faster
(explicit vectors with the state in registers, and no per-step window sums), so this
kernel serves d > 2. Its remaining cost is the window sums' memory traffic (5 loads and
stores per coordinate and step); the checkpoint replay of ``fastdescent.blocks`` would
remove it here too.

The semantics (fastdescent.optimizers, fastdescent.metrics) are unchanged: each lane does
the same float64 operations in the same order as the one-trajectory reference
tests/naive.py, so results are bit-identical to it.

Layout (rows of LANES values):

    Sl rows 0 .. NQL-1                   per lane: eta, beta, conv_thr, div_thr, loss,
                                         (t - 1) % block
    Sc rows i*NQC + q, q < NQC           per coordinate i: w, v, lam, x_{t-1}, F_{t-1},
                                         sigma, live, 5 current window sums, 5 previous
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit
from .metrics import (
    CONVERGED,
    DIVERGED,
    FLOOR,
    MAX_FLOAT,
    MAX_STEPS,
    N_SUMS,
    fit_rate,
    stopped_at_start,
)
from .optimizers import GD, HEAVY_BALL

LANES = 32

# per-lane rows
_ETA, _BETA, _CONV, _DIV, _LOSS, _PH = 0, 1, 2, 3, 4, 5  # _PH: (t - 1) % block, as a float
NQL = 6
# per-coordinate rows, relative to the coordinate's block
_W, _V, _LAM, _P, _F, _SG, _LIVE = 0, 1, 2, 3, 4, 5, 6
_CUR = 7
_PRV = _CUR + N_SUMS
NQC = _PRV + N_SUMS


@jit
def _burst(Sl, Sc, d, optimizer, order, bm1, n_max):
    """Advance every lane by up to n_max steps; return the number of steps taken.

    Returns early, after the step in which a lane's trajectory stops (converged,
    diverged, not finite). Rate-window rotations (every ``block`` steps of each lane's own
    clock, bm1 = block - 1) and freezes at the underflow floor (at block ends) happen
    inside, as exact arithmetic on 0.0/1.0 flags. Parked lanes (no trajectory) have
    lam = 0, live = 0 and thresholds that never trigger.
    """
    L = LANES
    for k in range(n_max):
        for lane in range(L):
            Sl[_LOSS * L + lane] = 0.0
        for i in range(d):
            c = i * NQC * L
            if optimizer == GD:
                for lane in range(L):
                    w = Sc[c + _W * L + lane]
                    lam = Sc[c + _LAM * L + lane]
                    g = lam * w
                    w = w - Sl[_ETA * L + lane] * g
                    Sc[c + _W * L + lane] = w
                    Sl[_LOSS * L + lane] = Sl[_LOSS * L + lane] + lam * (w * w)
            elif optimizer == HEAVY_BALL:
                for lane in range(L):
                    w = Sc[c + _W * L + lane]
                    lam = Sc[c + _LAM * L + lane]
                    g = lam * w
                    v = Sl[_BETA * L + lane] * Sc[c + _V * L + lane] - Sl[_ETA * L + lane] * g
                    w = w + v
                    Sc[c + _V * L + lane] = v
                    Sc[c + _W * L + lane] = w
                    Sl[_LOSS * L + lane] = Sl[_LOSS * L + lane] + lam * (w * w)
            else:
                for lane in range(L):
                    w = Sc[c + _W * L + lane]
                    lam = Sc[c + _LAM * L + lane]
                    beta = Sl[_BETA * L + lane]
                    v = Sc[c + _V * L + lane]
                    g = lam * (w + beta * v)
                    v = beta * v - Sl[_ETA * L + lane] * g
                    w = w + v
                    Sc[c + _V * L + lane] = v
                    Sc[c + _W * L + lane] = w
                    Sl[_LOSS * L + lane] = Sl[_LOSS * L + lane] + lam * (w * w)
        stop = False
        for lane in range(L):
            loss = 0.5 * Sl[_LOSS * L + lane]
            Sl[_LOSS * L + lane] = loss
            gap = loss - 0.0
            stop = stop | (not (gap <= Sl[_DIV * L + lane])) | (gap <= Sl[_CONV * L + lane])
            ph = Sl[_PH * L + lane]
            Sl[_PH * L + lane] = 0.0 if ph == bm1 else ph + 1.0
        for i in range(d):
            c = i * NQC * L
            for lane in range(L):
                # on: this coordinate accumulates at this step; rot: a new block starts
                # (both as 0.0 / 1.0 so that the updates below are arithmetic, not stores
                # under a condition; with finite sums x*1 + y*0 == x exactly)
                x = Sc[c + _W * L + lane]
                x1 = Sc[c + _P * L + lane]
                f1 = Sc[c + _F * L + lane]
                live = Sc[c + _LIVE * L + lane]
                fin = abs(Sl[_LOSS * L + lane]) <= MAX_FLOAT
                on = (live > 0.0) & fin
                rot = live if (Sl[_PH * L + lane] == 0.0) & fin else 0.0
                keep = 1.0 - rot
                f = x - Sc[c + _SG * L + lane] * x1
                cur = c + _CUR * L + lane
                prv = c + _PRV * L + lane
                a = Sc[cur]
                Sc[prv] = a * rot + Sc[prv] * keep
                Sc[cur] = a * keep + (x1 * x1 if on else 0.0)
                a = Sc[cur + 3 * L]
                Sc[prv + 3 * L] = a * rot + Sc[prv + 3 * L] * keep
                Sc[cur + 3 * L] = a * keep + (f * x1 if on else 0.0)
                if order == 2:
                    a = Sc[cur + L]
                    Sc[prv + L] = a * rot + Sc[prv + L] * keep
                    Sc[cur + L] = a * keep + (x1 * f1 if on else 0.0)
                    a = Sc[cur + 2 * L]
                    Sc[prv + 2 * L] = a * rot + Sc[prv + 2 * L] * keep
                    Sc[cur + 2 * L] = a * keep + (f1 * f1 if on else 0.0)
                    a = Sc[cur + 4 * L]
                    Sc[prv + 4 * L] = a * rot + Sc[prv + 4 * L] * keep
                    Sc[cur + 4 * L] = a * keep + (f * f1 if on else 0.0)
                Sc[c + _P * L + lane] = x
                Sc[c + _F * L + lane] = f
                # at the end of a block (t = B, 2B, ...), a coordinate at the floor stops
                # accumulating and is set to the minimum, velocity included (x * 0.0, not a
                # select, so that the store is not a masked one)
                tiny = (x * x <= FLOOR) & (Sl[_PH * L + lane] == bm1)
                Sc[c + _LIVE * L + lane] = live * (0.0 if on & tiny else 1.0)
                keep_x = 0.0 if tiny else 1.0
                Sc[c + _W * L + lane] = x * keep_x
                Sc[c + _V * L + lane] = Sc[c + _V * L + lane] * keep_x
        if stop:
            return k + 1
    return n_max


@jit
def _lane_rate(Sc, d, lane, order):
    """max over coordinates of the fitted |root| from prev + cur window sums; NaN if none."""
    L = LANES
    best = math.nan
    for i in range(d):
        c = i * NQC * L + lane
        r = fit_rate(
            Sc[c + _PRV * L] + Sc[c + _CUR * L],
            Sc[c + (_PRV + 1) * L] + Sc[c + (_CUR + 1) * L],
            Sc[c + (_PRV + 2) * L] + Sc[c + (_CUR + 2) * L],
            Sc[c + (_PRV + 3) * L] + Sc[c + (_CUR + 3) * L],
            Sc[c + (_PRV + 4) * L] + Sc[c + (_CUR + 4) * L],
            Sc[c + _SG * L],
            order,
        )
        if not math.isnan(r) and (math.isnan(best) or r > best):
            best = r
    return best


@jit
def _park(Sl, Sc, d, lane):
    """A lane without a trajectory: zeros that never stop, freeze or overflow."""
    L = LANES
    for q in range(NQL):
        Sl[q * L + lane] = 0.0
    Sl[_CONV * L + lane] = -1.0
    Sl[_DIV * L + lane] = MAX_FLOAT
    for i in range(d):
        c = i * NQC * L + lane
        for q in range(NQC):
            Sc[c + q * L] = 0.0


@jit
def _first_step_fixup(Sc, d, lane, order, start, finite):
    """After a lane's first step: measure sigma = sign(x_1 x_0) per live coordinate and
    set F_1 and the window sums exactly as the semantics define them (the vector loop
    ran step 1 with sigma = +1 and without knowing that order 2 adds no equation at t=1).
    The sums were 0 before, so writing the values is exact."""
    L = LANES
    for i in range(d):
        c = i * NQC * L + lane
        x0 = start[i]
        if not (x0 * x0 <= FLOOR):  # live at t = 0
            x = Sc[c + _W * L]
            sg = 1.0 if x * x0 >= 0.0 else -1.0
            f = x - sg * x0
            Sc[c + _SG * L] = sg
            Sc[c + _F * L] = f
            for k in range(N_SUMS):
                Sc[c + (_CUR + k) * L] = 0.0
            if order == 1 and finite:  # no equation enters from a step that overflowed
                Sc[c + _CUR * L] = 0.0 + x0 * x0
                Sc[c + (_CUR + 3) * L] = 0.0 + f * x0


@jit
def _decode(traj, shape):
    """Trajectory id -> (i_lr, i_beta, i_kappa, i_seed), C order over the slots."""
    i_seed = traj % shape[3]
    r = traj // shape[3]
    i_kappa = r % shape[2]
    r = r // shape[2]
    i_beta = r % shape[1]
    i_lr = r // shape[1]
    return i_lr, i_beta, i_kappa, i_seed


@jit
def run_tile(
    lo, tile, n_tiles, shape, lr_values, beta_values, lam_table, lam_max, start, relative_lr,
    optimizer, order, steps, tol, diverge, block,
    status, n_steps, diverge_step, loss0, final_loss, rate,
):  # fmt: skip
    """Run rows tile, tile + n_tiles, ... of the chunk through the lanes.

    Arguments as in ``fastdescent.kernels.sweep_quadratic``.
    """
    n = status.shape[0]
    d = start.shape[0]
    L = LANES
    Sl = np.zeros(NQL * L)
    Sc = np.zeros(d * NQC * L)
    row = np.full(L, -1, dtype=np.int64)  # output row of each lane, -1: parked
    t = np.zeros(L, dtype=np.int64)  # steps done by each lane's trajectory
    j = tile  # next row of this tile to load
    for lane in range(L):
        _park(Sl, Sc, d, lane)
    while True:
        # load trajectories into parked lanes; one that stops at t = 0 is written at once
        for lane in range(L):
            while row[lane] < 0 and j < n:
                i_lr, i_beta, i_kappa, _ = _decode(lo + j, shape)
                lr = lr_values[i_lr]
                eta = lr / lam_max[i_kappa] if relative_lr else lr
                s = 0.0
                for i in range(d):
                    x = start[i]
                    s = s + lam_table[i_kappa, i] * (x * x)
                l0 = 0.5 * s
                g0 = l0 - 0.0
                stopped = stopped_at_start(
                    j, l0, tol, status, n_steps, diverge_step, loss0, final_loss, rate
                )
                if not stopped:
                    Sl[_ETA * L + lane] = eta
                    Sl[_BETA * L + lane] = beta_values[i_beta]
                    Sl[_CONV * L + lane] = tol * g0
                    Sl[_DIV * L + lane] = min(diverge * g0, MAX_FLOAT)
                    for i in range(d):
                        c = i * NQC * L + lane
                        x = start[i]
                        for q in range(NQC):
                            Sc[c + q * L] = 0.0
                        Sc[c + _W * L] = x
                        Sc[c + _LAM * L] = lam_table[i_kappa, i]
                        Sc[c + _P * L] = x
                        Sc[c + _SG * L] = 1.0
                        if x * x <= FLOOR:  # at the floor at t = 0: frozen, at the minimum
                            Sc[c + _W * L] = 0.0
                            Sc[c + _P * L] = 0.0
                        Sc[c + _LIVE * L] = 0.0 if x * x <= FLOOR else 1.0
                    Sl[_PH * L + lane] = float(block - 1)
                    row[lane] = j
                    t[lane] = 0
                j += n_tiles
        # how far the lanes can go together: to the first scheduled event of any lane
        n_max = steps
        active = False
        for lane in range(L):
            if row[lane] >= 0:
                active = True
                tl = t[lane]
                # the first step is an event of its own; then run until out of steps
                n_max = min(n_max, 1 if tl == 0 else steps - tl)
        if not active:
            return
        k = _burst(Sl, Sc, d, optimizer, order, float(block - 1), n_max)
        # events of the step just taken, in the order the semantics apply them
        for lane in range(L):
            jj = row[lane]
            if jj < 0:
                continue
            t[lane] += k
            tt = t[lane]
            if tt == 1:
                _first_step_fixup(Sc, d, lane, order, start, math.isfinite(Sl[_LOSS * L + lane]))
            loss = Sl[_LOSS * L + lane]
            gap = loss - 0.0
            if not math.isfinite(gap):
                status[jj], n_steps[jj], diverge_step[jj] = DIVERGED, tt, tt
                final_loss[jj] = math.inf
            elif gap > Sl[_DIV * L + lane]:
                status[jj], n_steps[jj], diverge_step[jj] = DIVERGED, tt, tt
                final_loss[jj] = loss
            elif gap <= Sl[_CONV * L + lane]:
                status[jj], n_steps[jj], diverge_step[jj] = CONVERGED, tt, -1
                final_loss[jj] = loss
            elif tt >= steps:
                status[jj], n_steps[jj], diverge_step[jj] = MAX_STEPS, tt, -1
                final_loss[jj] = loss
            else:
                continue
            rate[jj] = _lane_rate(Sc, d, lane, order)
            row[lane] = -1
            _park(Sl, Sc, d, lane)
