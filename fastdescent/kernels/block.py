"""One block of B lockstep steps of the general lane kernel, and what it is built from.

``block`` is inlined (``jit_inline``) into ``run_block`` once per (problem, optimizer)
with both codes as constants, so the dispatch branches fold away and LLVM vectorises the
lane loop; see ``fastdescent.kernels.lanes`` for the semantics.
"""

from __future__ import annotations

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
