"""One block of B lockstep steps of the general lane kernel, and what it is built from.

``block`` (and ``block_noisy``, the same with gradient noise and the tail metrics) is
inlined (``jit_inline``) into ``run_block`` (``run_block_noisy``) once per (problem,
optimizer) with both codes as constants, so the dispatch branches fold away and LLVM vectorises the
lane loop; see ``fastdescent.kernels.lanes`` for the semantics.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit, jit_inline
from ..metrics import MAX_FLOAT
from ..optimizers import GD, NESTEROV
from . import dispatch

B = 32  # block length: refills and checkpoints at multiples of B (as metrics.BLOCK)
LEFT, CONV, MAXED = 1, 2, 3  # which rule stopped a lane


@jit
def advance(problem, optimizer, x, y, vx, vy, gx, gy, eta, beta, c):
    """One update from w = (x, y), v = (vx, vy), given g = grad f(w) = (gx, gy)."""
    if optimizer == GD:
        return x - eta * gx, y - eta * gy, vx, vy
    if optimizer == NESTEROV:
        gx, gy = dispatch.grad(problem, x + beta * vx, y + beta * vy, c)
    vx = beta * vx - eta * gx
    vy = beta * vy - eta * gy
    return x + vx, y + vy, vx, vy


@jit
def advance_noisy(problem, optimizer, x, y, vx, vy, gx, gy, eta, beta, c, ex, ey, noisy):
    """``advance`` with the gradient used replaced by g + (ex, ey) when ``noisy`` (ex, ey =
    sigma xi_t; Nesterov: added to the gradient at the look-ahead point). Not noisy: the
    same operations as ``advance``, so the same bits."""
    if optimizer == GD:
        gx = gx + ex if noisy else gx
        gy = gy + ey if noisy else gy
        return x - eta * gx, y - eta * gy, vx, vy
    if optimizer == NESTEROV:
        gx, gy = dispatch.grad(problem, x + beta * vx, y + beta * vy, c)
    gx = gx + ex if noisy else gx
    gy = gy + ey if noisy else gy
    vx = beta * vx - eta * gx
    vy = beta * vy - eta * gy
    return x + vx, y + vy, vx, vy


@jit
def stop_kind(problem, x, y, x0, y0, t, steps, gtol2, r2, c):
    """Which rule stopped a lane that stopped at step t in state (x, y): the block's
    tests on that state, repeated with the same operations (a stopped lane keeps it)."""
    gx, gy = dispatch.grad(problem, x, y, c)
    g2 = gx * gx + gy * gy
    dx = x - x0
    dy = y - y0
    if (not (dx * dx + dy * dy <= r2)) | (not (g2 <= MAX_FLOAT)):
        return LEFT
    if g2 <= gtol2:
        return CONV
    return MAXED


@jit_inline
def block(problem, optimizer, nl, L, ts, live, c, steps, gtol2, r2):
    """Up to B steps of every lane in lockstep, branch-free: the stop rules as masks, a
    stopped lane keeps its state. ``problem`` and ``optimizer`` are constants at every
    call site (``run_block``), so after inlining the dispatch branches fold away and
    LLVM vectorises the lane loop (``nl`` is a runtime value: with a constant trip count
    LLVM would unroll the loop fully instead). Returns early when no lane is live."""
    xs, ys, vxs, vys, x0s, y0s, etas, betas = L[0], L[1], L[2], L[3], L[4], L[5], L[6], L[7]
    for _ in range(B):
        n_live = 0
        for lane in range(nl):
            x, y, vx, vy = xs[lane], ys[lane], vxs[lane], vys[lane]
            t = ts[lane]
            on = live[lane]
            gx, gy = dispatch.grad(problem, x, y, c)
            g2 = gx * gx + gy * gy
            dx = x - x0s[lane]
            dy = y - y0s[lane]
            left = (not (dx * dx + dy * dy <= r2)) | (not (g2 <= MAX_FLOAT))
            conv = g2 <= gtol2
            stop = on & (left | conv | (t >= steps))
            go = on & (not stop)
            nx, ny, nvx, nvy = advance(
                problem, optimizer, x, y, vx, vy, gx, gy, etas[lane], betas[lane], c
            )
            xs[lane] = nx if go else x
            ys[lane] = ny if go else y
            vxs[lane] = nvx if go else vx
            vys[lane] = nvy if go else vy
            ts[lane] = t + 1 if go else t
            live[lane] = go
            n_live += go
        if n_live == 0:
            return


@jit_inline
def block_noisy(problem, optimizer, nl, L, ts, live, c, steps, gtol2, r2, nz, tail):
    """``block`` with gradient noise and the tail's excess loss (``lanes`` docstring).

    L has the 9 arrays of ``block`` and 5 more: sigma, the tail accumulators count,
    mean, M2 (Welford), and the step limit of each lane (steps; a noisy run settling
    without noise after max_steps: steps + SETTLE, ``lanes``). The tail sums are of
    f(w_t) - fmin over the states t >= tail_from a lane reaches
    (non-finite values left out); tail = (tail_from, fmin). nz = (nxb, nyb, etb), each
    (B, nl): the normals and the step sizes eta_t of the lane's steps t0 .. t0 + B - 1
    (t0 its step at the block's start), row s for step t0 + s (the step size replaces
    the lane's eta: learning-rate schedules). A lane with sigma != 0 never stops as
    converged, and its gradient is g + sigma xi; a lane with sigma = 0 and eta_t = eta
    runs exactly the operations of ``block``.
    """
    xs, ys, vxs, vys, x0s, y0s, betas = L[0], L[1], L[2], L[3], L[4], L[5], L[7]
    sigs, ans, ams, aqs, lims = L[9], L[10], L[11], L[12], L[13]
    nxb, nyb, etb = nz
    tail_from, fmin = tail
    for s in range(B):
        n_live = 0
        nxs = nxb[s]
        nys = nyb[s]
        ets = etb[s]
        for lane in range(nl):
            x, y, vx, vy = xs[lane], ys[lane], vxs[lane], vys[lane]
            t = ts[lane]
            on = live[lane]
            sig = sigs[lane]
            noisy = sig != 0.0
            gx, gy = dispatch.grad(problem, x, y, c)
            g2 = gx * gx + gy * gy
            dx = x - x0s[lane]
            dy = y - y0s[lane]
            left = (not (dx * dx + dy * dy <= r2)) | (not (g2 <= MAX_FLOAT))
            conv = (g2 <= gtol2) & (not noisy)
            stop = on & (left | conv | (t >= lims[lane]))
            go = on & (not stop)
            # the tail: Welford's update with the excess loss of state t
            e = dispatch.value(problem, x, y, c) - fmin
            m = on & (t >= tail_from) & (abs(e) <= MAX_FLOAT)
            n1 = ans[lane] + 1.0
            mean = ams[lane]
            delta = e - mean
            mean1 = mean + np.divide(delta, n1)  # ``/`` would branch on 0: no vectors
            ans[lane] = n1 if m else ans[lane]
            ams[lane] = mean1 if m else mean
            aqs[lane] = aqs[lane] + delta * (e - mean1) if m else aqs[lane]
            nx, ny, nvx, nvy = advance_noisy(
                problem, optimizer, x, y, vx, vy, gx, gy, ets[lane], betas[lane], c,
                sig * nxs[lane], sig * nys[lane], noisy,
            )  # fmt: skip
            xs[lane] = nx if go else x
            ys[lane] = ny if go else y
            vxs[lane] = nvx if go else vx
            vys[lane] = nvy if go else vy
            ts[lane] = t + 1 if go else t
            live[lane] = go
            n_live += go
        if n_live == 0:
            return
