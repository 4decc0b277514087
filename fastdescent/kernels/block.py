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
from ..optimizers import ADAGRAD, ADAM, GD, NESTEROV, RMSPROP
from . import adaptive, dispatch

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
def advance_adaptive(problem, optimizer, x, y, vx, vy, qx, qy, p1, p2, gx, gy, eta, beta, beta2,
                     eps, ex, ey, noisy):  # fmt: skip
    """One adaptive update (``kernels.adaptive``) from w = (x, y) with first-moment buffers
    (vx, vy), sums of squares (qx, qy) and Adam's running products p1 = beta^t,
    p2 = beta2^t, given g = grad f(w) (+ (ex, ey) when ``noisy``): (x, y, vx, vy, qx, qy,
    p1, p2) after it, the operations of ``block_adaptive`` for one lane. A 1-D problem's
    y, with no gradient, is left out of the update (with eps = 0 it would be 0 / 0)."""
    gx = gx + ex if noisy else gx
    gy = gy + ey if noisy else gy
    p1, p2, h, bc2s = adaptive.corrections(optimizer, eta, beta, beta2, p1, p2)
    x, vx, qx = adaptive.step(optimizer, x, gx, vx, qx, h, bc2s, beta, beta2, eps)
    if dispatch.dim(problem) == 2:
        y, vy, qy = adaptive.step(optimizer, y, gy, vy, qy, h, bc2s, beta, beta2, eps)
    return x, y, vx, vy, qx, qy, p1, p2


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


@jit
def noisy_rules(problem, c, x, y, x0, y0, t, on, lim, noisy, gtol2, r2, tail_from, fmin, an, am,
                aq):  # fmt: skip
    """One lane's step-t tests in ``block_noisy`` and ``block_adaptive``: (gx, gy, go, an,
    am, aq). g = grad f(w_t); go: the lane is live and no stop rule holds (left the
    radius or g not finite; converged, only without noise; t reached the lane's limit);
    the tail's Welford sums (count an, mean am, M2 aq) updated with the excess loss
    f(w_t) - fmin of a live lane at t >= tail_from (finite values only)."""
    gx, gy = dispatch.grad(problem, x, y, c)
    g2 = gx * gx + gy * gy
    dx = x - x0
    dy = y - y0
    left = (not (dx * dx + dy * dy <= r2)) | (not (g2 <= MAX_FLOAT))
    conv = (g2 <= gtol2) & (not noisy)
    stop = on & (left | conv | (t >= lim))
    go = on & (not stop)
    e = dispatch.value(problem, x, y, c) - fmin
    m = on & (t >= tail_from) & (abs(e) <= MAX_FLOAT)
    n1 = an + 1.0
    delta = e - am
    mean1 = am + np.divide(delta, n1)  # ``/`` would branch on 0: no vectors
    return (
        gx,
        gy,
        go,
        (n1 if m else an),
        (mean1 if m else am),
        (aq + delta * (e - mean1) if m else aq),
    )


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
            gx, gy, go, an, am, aq = noisy_rules(
                problem, c, x, y, x0s[lane], y0s[lane], t, on, lims[lane], noisy, gtol2, r2,
                tail_from, fmin, ans[lane], ams[lane], aqs[lane],
            )  # fmt: skip
            ans[lane] = an
            ams[lane] = am
            aqs[lane] = aq
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


@jit_inline
def block_adaptive(problem, optimizer, nl, L, ts, live, c, steps, gtol2, r2, nz, tail):
    """``block_noisy`` for the adaptive optimizers: the same stop rules, noise, step sizes
    and tail, then ``advance_adaptive``'s update of every lane that goes on.

    L has ``block_noisy``'s 14 arrays (v: the first-moment buffers) and 10 more: qx, qy,
    p1, p2, beta2, eps of each lane, and four scratch rows (the gradient used, the step
    size and Adam's sqrt(1 - beta2^t) of this step). Each step runs as short lane loops
    (the rules and tail here, with ``problem`` a constant; the update in
    ``adaptive_lanes``, with ``optimizer`` one) rather than one: a loop touching all these
    arrays would need more runtime alias checks than LLVM makes and stayed scalar
    (measured), and the split compiles 8 + 3 loops, not 8 x 3 (optimizer is not a
    constant here).
    """
    xs, ys, x0s, y0s = L[0], L[1], L[4], L[5]
    sigs, ans, ams, aqs, lims = L[9], L[10], L[11], L[12], L[13]
    gxs, gys = L[20], L[21]
    nxb, nyb, etb = nz
    tail_from, fmin = tail
    two = dispatch.dim(problem) == 2
    # what the update reads and writes (the fewer arrays a call passes, the cheaper it is)
    U = (L[0], L[1], L[2], L[3], L[7], L[14], L[15], L[16], L[17], L[18], L[19], gxs, gys, L[22],
         L[23])  # fmt: skip
    for s in range(B):
        n_live = 0
        nxs = nxb[s]
        nys = nyb[s]
        for lane in range(nl):
            x, y = xs[lane], ys[lane]
            t = ts[lane]
            on = live[lane]
            sig = sigs[lane]
            noisy = sig != 0.0
            gx, gy, go, an, am, aq = noisy_rules(
                problem, c, x, y, x0s[lane], y0s[lane], t, on, lims[lane], noisy, gtol2, r2,
                tail_from, fmin, ans[lane], ams[lane], aqs[lane],
            )  # fmt: skip
            ans[lane] = an
            ams[lane] = am
            aqs[lane] = aq
            gxs[lane] = gx + sig * nxs[lane] if noisy else gx
            gys[lane] = gy + sig * nys[lane] if noisy else gy
            ts[lane] = t + 1 if go else t
            live[lane] = go
            n_live += go
        if n_live == 0:
            return
        adaptive_lanes(optimizer, nl, U, live, etb[s], two)


@jit
def adaptive_lanes(optimizer, nl, U, go, ets, two):
    """The update of every lane with go[lane], ``_adaptive_lanes`` with the optimizer a
    constant. U: x, y, vx, vy, beta, qx, qy, p1, p2, beta2, eps, gx, gy, h, bc2s (the
    arrays of ``block_adaptive``'s L it uses); ets: each lane's step size eta_t."""
    if optimizer == ADAM:
        _adaptive_lanes(ADAM, nl, U, go, ets, two)
    elif optimizer == RMSPROP:
        _adaptive_lanes(RMSPROP, nl, U, go, ets, two)
    else:
        _adaptive_lanes(ADAGRAD, nl, U, go, ets, two)


@jit_inline
def _adaptive_lanes(optimizer, nl, U, go, ets, two):
    """``advance_adaptive`` on every lane, as three lane loops: the corrections, x, y
    (two: a 2-D problem; 1-D: y stays 0, no 0 / 0 at eps = 0)."""
    xs, ys, vxs, vys, betas, qxs, qys, p1s, p2s, beta2s, epss = U[:11]
    gxs, gys, hs, bcs = U[11:]
    for lane in range(nl):
        p1, p2, h, bc2s = adaptive.corrections(
            optimizer, ets[lane], betas[lane], beta2s[lane], p1s[lane], p2s[lane]
        )
        on = go[lane]
        p1s[lane] = p1 if on else p1s[lane]
        p2s[lane] = p2 if on else p2s[lane]
        hs[lane] = h
        bcs[lane] = bc2s
    for lane in range(nl):
        x, v, q = xs[lane], vxs[lane], qxs[lane]
        nx, nv, nq = adaptive.step(optimizer, x, gxs[lane], v, q, hs[lane], bcs[lane],
                                   betas[lane], beta2s[lane], epss[lane])  # fmt: skip
        on = go[lane]
        xs[lane] = nx if on else x
        vxs[lane] = nv if on else v
        qxs[lane] = nq if on else q
    if two:
        for lane in range(nl):
            y, v, q = ys[lane], vys[lane], qys[lane]
            ny, nv, nq = adaptive.step(optimizer, y, gys[lane], v, q, hs[lane], bcs[lane],
                                       betas[lane], beta2s[lane], epss[lane])  # fmt: skip
            on = go[lane]
            ys[lane] = ny if on else y
            vys[lane] = nv if on else v
            qys[lane] = nq if on else q
