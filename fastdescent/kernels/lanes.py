"""The general lane kernel: landscapes (any problem with a ``dispatch`` code), any optimizer.

Semantics of one trajectory (``tests/naive.py``, ``simulate_landscape``, is the slow twin):

- w_0 = (x0, y0) (1-D problems: y = 0 throughout), v_0 = 0, loss0 = f(w_0).
- At every t = 0, 1, ..., steps, first the stop rules on w_t, with g_t = grad f(w_t):
  left    |w_t - w_0| > radius, or |g_t|^2 not finite (a NaN or inf anywhere);
          status "escaped" if f(w_t) < f(w_0), else "diverged"; diverge_step = t
  converged  |g_t| <= grad_tol (tested as |g_t|^2 <= grad_tol^2)
  max_steps  t = steps and neither of the above
  (in this order); then, if the run goes on, one update (``fastdescent.optimizers``):
  gd          w <- w - eta g_t
  heavy_ball  v <- beta v - eta g_t;                 w <- w + v
  nesterov    v <- beta v - eta grad f(w + beta v);  w <- w + v
  ``steps`` (the column) is the t at which the run stopped.
- x_final, y_final, final_loss: w_t and f(w_t) at that t.
- A converged run's critical point w* is polished from w_t by Newton steps on the
  gradient (``_polish``; directions of |Hessian eigenvalue| <= EIG_RTOL * max are left
  alone, so a flat direction, e.g. along the donut's circle of minima, stays put).
  ``basin`` is the index of the problem's listed minimum nearest to w* when it is within
  BASIN_DISTANCE of it and the Hessian at w* has no eigenvalue below -EIG_RTOL * max
  (a minimum, not a saddle); else -1. Runs that did not converge have basin -1.
- ``rate``: the local contraction factor of |w_t - w*| of a converged run, measured on a
  window of its iterates where the iteration is linear: the states from the start of the
  block before the one it stopped in (P = B * max(0, T // B - 1), B = 32), replayed and
  continued past the stop by at most B steps (the same iteration), that lie within 1e-6
  * s of w* and above 1e-12 * s (s = 1 + |w*|; the last such run of states). Without the
  first bound a fast run's window would reach back into the nonlinear approach; without
  the second it would fit rounding noise. The error w_t - w* is split along the
  Hessian's eigenvectors at w*, u_1 and u_2. Near w* the iteration is linear, and along
  each eigenvector the component z_t = u_i . (w_t - w*) obeys the same one-direction
  recurrence as a quadratic's coordinate (order 1 for gd, 2 for momentum), so
  ``fastdescent.metrics.fit_rate`` fits it exactly as on quadratics. The rate is the
  largest fitted |root| over the directions that carry signal: eigenvalue above EIG_RTOL
  * max (a curved direction) and a window amplitude above NOISE * (1 + |w*|) (not
  rounding noise). NaN where no direction qualifies, where fewer than two equations are
  in the window, or for runs that did not converge (a max_steps run may still be far
  from any critical point).

Gradient noise (a ``sigma`` axis; ``sweep_lanes_noisy``, ``block.block_noisy``):

- The gradient an update uses is g_t + sigma xi_t, xi_t = (rng.normal(seed, STREAM_NOISE,
  t, 0), rng.normal(seed, STREAM_NOISE, t, 1)) (1-D problems: xi_t,0 only, y stays 0),
  for the update from w_t to w_{t+1}; Nesterov adds the same xi_t to the gradient at the
  look-ahead point. The stop rules test the true gradient at w_t. xi depends on the seed
  value, the step and the coordinate only: every grid point of a seed sees the same noise
  (common random numbers), so the engine builds one noise table per chunk (steps x d per
  seed present) and the lanes load from it; beyond ``rng.TABLE_BYTES`` the normals are
  drawn per lane and block instead (``rng.normal_pair``: the same bits).
- Status: a noisy run never stops as ``converged`` (the gradient tolerance is off when
  sigma != 0): one that stays near a minimum (a noise floor) ends as ``max_steps``.
  Leaving the radius is ``escaped`` / ``diverged`` as without noise, and diverge_step is
  the step it left at (the saddle's escape time).
- rate: NaN (a noisy run has no linear window).
- basin of a noisy ``max_steps`` run: where it settles with the noise switched off. The
  lane goes on from its final state (w, v) without noise, under the stop rules of a
  noiseless run (converged at grad_tol, left the radius around w_0 or not finite, at
  most SETTLE more steps), in the vectorised block like any other lane; then, unless it
  left, the polish and the test of a converged run from where it stopped (the listed
  minimum within BASIN_DISTANCE of w*, the Hessian there without a negative eigenvalue;
  else -1). So basin is the noiseless iteration's basin of attraction of the final point
  (which well a run that hopped ended in); SETTLE steps may not suffice at a very small
  eta far from a minimum (then -1 unless Newton's polish lands within BASIN_DISTANCE).
  The row's other columns are those at max_steps. Escaped and diverged runs: -1.
- loss_tail_mean, loss_tail_std (every row of a noisy sweep, sigma = 0 ones too): mean
  and standard deviation (Welford; population form sqrt(M2 / n)) of the excess loss
  f(w_t) - f_min over the states t = steps - ceil(tail * steps) + 1 .. steps that the run
  reached (w_t at the step it stopped included; non-finite values left out; NaN when no
  state is in the tail). f_min is the lowest value among the problem's listed minima;
  the saddle lists none (it is unbounded below): its tail columns are of f itself.
- A row with sigma = 0 runs exactly the noiseless operations: its columns equal, byte
  for byte, those of the same sweep without a sigma axis.

The lane loop: NL = 32 trajectories in lockstep per tile worker, their state in separate
1-D arrays (x, y, v_x, v_y, x_0, y_0, eta, beta, f_0, t, live). Which rule stopped a
lane is worked out when it is finalised, by the same tests on the state it kept
(``block.stop_kind``). A block of B steps runs branch-free over the lanes (the stop
rules as masks; a stopped lane keeps its state) in a loop that LLVM vectorises:
``run_block`` calls the block with the problem and optimizer codes as constants, once
per pair, so the dispatch branches fold away after inlining. At block boundaries
finished lanes are finalised (status, basin, rate by replaying the window from a
checkpoint) and refilled with the next trajectories of the tile. Checkpoints: each
lane's state at the start of the previous and the current block, so the window w_P ..
w_T, P = B * max(0, T // B - 1), is replayed with the same floating-point operations
(``block.advance``). Every trajectory is computed on its own: results do not depend on
tiles, threads or chunking.

Speed (W4, Rosenbrock GD, 2-core machine): 1.15e9 trajectory-steps/s on one thread.
Found on the way: the lane loop must have a runtime trip count (with NL a compile-time
constant LLVM unrolls it fully and the SLP vectoriser gives up), at least 32 iterations
(the vector body is 8 lanes x 4 interleaved), no branch on the problem code inside
(non-trivial loop unswitching is off in LLVM), and the state in separate 1-D arrays
(rows of one 2-D array: 2.3e8 steps/s).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange, types
from numba.extending import overload

from .._jit import jit, jit_parallel
from ..metrics import CONVERGED, DIVERGED, ESCAPED, MAX_STEPS, fit_rate
from ..rng import STREAM_NOISE, normal_pair
from ..schedules import at
from . import adaptive, dispatch
from ._tiles import fetch_add, scramble
from .block import CONV, LEFT, MAXED, B, advance, stop_kind
from .run_block import run_block, run_block_adaptive, run_block_noisy

NL = 32  # lanes per tile worker: four 512-bit registers of float64 per state variable
#: lanes per tile for the adaptive optimizers (``block_adaptive``: each step's update is a
#: call with short lane loops, whose fixed costs 64 lanes share): Rosenbrock, Adam, 2
#: threads, 8.7 ns per trajectory-step at 32, 4.9 at 64, 4.5 at 128, 6.8 at 256
NL_ADAPTIVE = 64
MAX_TILES = 1024
BASIN_DISTANCE = 1e-3  # |w* - listed minimum| at most this for basin >= 0
EIG_RTOL = 1e-8  # |eigenvalue| <= EIG_RTOL * max |eigenvalue|: a flat direction
NOISE = 1e-13  # window amplitude below NOISE * (1 + |w*|): rounding noise, not signal
LINEAR = 1e-6  # the rate window: states with |w - w*| <= LINEAR * (1 + |w*|), where the
LINEAR_FLOOR = 1e-12  # iteration is linear, and >= LINEAR_FLOOR * (1 + |w*|), above rounding
CROSSTALK = 10.0  # a direction needs an amplitude above CROSSTALK * max |w - w*|^2 / s
POLISH = 3  # Newton steps from the stopping point to w*
SETTLE = 1000  # noisy runs: at most this many noiseless steps before the basin test

# rows of the kernel's inputs and outputs
ROW_ETA, ROW_BETA, ROW_X0, ROW_Y0, ROW_SIGMA, ROW_BETA2, ROW_EPS = 0, 1, 2, 3, 4, 5, 6
I_STEPS, I_DIVERGE, I_BASIN = 0, 1, 2
INT_TAIL_FROM, FLOAT_FMIN = 5, 2  # noisy sweeps: ints[5], floats[2]
F_LOSS0, F_FINAL, F_RATE, F_X, F_Y = 0, 1, 2, 3, 4


@jit
def _eig2(a, b, d):
    """Eigen-decomposition of the symmetric [[a, b], [b, d]]: (l1, l2, u1x, u1y), l1 <= l2,
    u1 the unit eigenvector of l1 (that of l2 is (-u1y, u1x))."""
    half = 0.5 * (a - d)
    r = math.hypot(half, b)
    mid = 0.5 * (a + d)
    l1, l2 = mid - r, mid + r
    if not r > 0.0:
        return l1, l2, 1.0, 0.0
    # (A - l1 I) u = 0 from the row whose diagonal entry a - l1 = half + r or
    # d - l1 = r - half is the larger: no cancellation
    if half > 0.0:
        ux, uy = b, -(half + r)
    else:
        ux, uy = r - half, -b
    n = math.hypot(ux, uy)
    return l1, l2, ux / n, uy / n


@jit
def _polish(problem, x, y, c):
    """Newton steps on grad f from (x, y), skipping flat directions: w*."""
    for _ in range(POLISH):
        gx, gy = dispatch.grad(problem, x, y, c)
        a, b, d = dispatch.hessian(problem, x, y, c)
        l1, l2, ux, uy = _eig2(a, b, d)
        big = max(abs(l1), abs(l2))
        if not (big > 0.0 and math.isfinite(big)):
            break
        g1 = ux * gx + uy * gy  # components along u1 = (ux, uy), u2 = (-uy, ux)
        g2 = -uy * gx + ux * gy
        s1 = g1 / l1 if abs(l1) > EIG_RTOL * big else 0.0
        s2 = g2 / l2 if abs(l2) > EIG_RTOL * big else 0.0
        x = x - (s1 * ux - s2 * uy)
        y = y - (s1 * uy + s2 * ux)
    return x, y


@jit
def _window_rate(z, n, order):
    """fit_rate of one direction's window z[0..n-1] (the metrics sums, sigma from the
    window's first step); NaN with fewer than two equations."""
    if n < order + 2:
        return math.nan
    sigma = 1.0 if z[1] * z[0] >= 0.0 else -1.0
    xx = xf = ff = rxf = rff = 0.0
    for t in range(order, n):
        x1 = z[t - 1]
        f_t = z[t] - sigma * x1
        f1 = x1 - sigma * z[t - 2] if t >= 2 else 0.0
        xx += x1 * x1
        xf += x1 * f1
        ff += f1 * f1
        rxf += f_t * x1
        rff += f_t * f1
    return fit_rate(xx, xf, ff, rxf, rff, sigma, order)


@jit
def _rate(problem, optimizer, order, ck, sx, sy, eta, beta, t_stop, c, wx, wy, z):
    """Local rate of a run that converged at t_stop near w* = (sx, sy) (module docstring).

    The iteration is replayed from the checkpoint ck = (x, y, vx, vy, t) at the window
    start P, and continued past t_stop by at most B steps; the window is the run of
    states with LINEAR_FLOOR * s <= |w - w*| <= LINEAR * s (s = 1 + |w*|) that ends at
    the first state below the floor or at t_stop + B. wx, wy, z: scratch of length
    >= 3B + 1.
    """
    scale = 1.0 + abs(sx) + abs(sy)
    hi2 = (LINEAR * scale) ** 2
    lo2 = (LINEAR_FLOOR * scale) ** 2
    x, y, vx, vy = ck[0], ck[1], ck[2], ck[3]
    n = 0
    top2 = 0.0  # the largest |w - w*|^2 in the window
    for _ in range(int(t_stop - ck[4]) + B + 1):
        dx = x - sx
        dy = y - sy
        d2 = dx * dx + dy * dy
        if d2 <= hi2:
            if not d2 >= lo2:
                break  # rounding noise from here on
            wx[n], wy[n] = x, y
            top2 = max(top2, d2)
            n += 1
        else:
            n = 0  # not (or no longer) near w*: the window starts again
            top2 = 0.0
        gx, gy = dispatch.grad(problem, x, y, c)
        x, y, vx, vy = advance(problem, optimizer, x, y, vx, vy, gx, gy, eta, beta, c)
    a, b, d = dispatch.hessian(problem, sx, sy, c)
    l1, l2, ux, uy = _eig2(a, b, d)
    big = max(abs(l1), abs(l2))
    # a direction carries signal when its amplitude is above rounding (NOISE * s) and
    # above what the other direction feeds into it through the second-order terms of
    # the iteration, ~ |w - w*|^2 / s: a fast direction's own decay is soon hidden there
    noise = max(NOISE * scale, CROSSTALK * top2 / scale)
    best = math.nan
    for i in range(2):
        lam = l1 if i == 0 else l2
        px, py = (ux, uy) if i == 0 else (-uy, ux)
        if not abs(lam) > EIG_RTOL * big:
            continue
        amp = 0.0
        for k in range(n):
            z[k] = px * (wx[k] - sx) + py * (wy[k] - sy)
            amp = max(amp, abs(z[k]))
        if not amp > noise:
            continue
        r = _window_rate(z, n, order)
        if math.isfinite(r) and not (r <= best):  # max, NaN-free
            best = r
    return best


@jit
def _basin(problem, sx, sy, c):
    """The listed minimum within BASIN_DISTANCE of the polished point (sx, sy) if the
    Hessian there has no eigenvalue below -EIG_RTOL * max, else -1."""
    index, mx, my = dispatch.project_minimum(problem, sx, sy, c)
    a, b, d = dispatch.hessian(problem, sx, sy, c)
    l1, l2, _, _ = _eig2(a, b, d)
    big = max(abs(l1), abs(l2))
    if index >= 0 and math.hypot(sx - mx, sy - my) <= BASIN_DISTANCE:
        if l1 >= -EIG_RTOL * big:
            return index
    return -1


@jit
def _finish(problem, optimizer, order, j, kind, x, y, t, f0, ck, eta, beta, c, status,
            iout, fout, wx, wy, z, vx, vy, sigma, gtol2):  # fmt: skip
    """Write row j of a run that stopped at step t at (x, y), velocity (vx, vy) (module
    docstring; sigma != 0: a noisy run, which stops only by the radius or max_steps)."""
    f = dispatch.value(problem, x, y, c)
    fout[F_LOSS0, j] = f0
    fout[F_FINAL, j] = f
    fout[F_X, j] = x
    fout[F_Y, j] = y
    fout[F_RATE, j] = math.nan
    iout[I_STEPS, j] = t
    iout[I_DIVERGE, j] = -1
    iout[I_BASIN, j] = -1
    if kind == LEFT:
        status[j] = ESCAPED if f < f0 else DIVERGED
        iout[I_DIVERGE, j] = t
    elif kind == MAXED:
        status[j] = MAX_STEPS  # noisy: the basin comes after the lane settles (run_tile)
    else:
        status[j] = CONVERGED
        sx, sy = _polish(problem, x, y, c)
        iout[I_BASIN, j] = _basin(problem, sx, sy, c)
        if order > 0:  # 0: the adaptive optimizers, whose iteration is not linear (NaN)
            fout[F_RATE, j] = _rate(problem, optimizer, order, ck, sx, sy, eta, beta, t, c, wx,
                                    wy, z)  # fmt: skip


@jit
def _precond_sharpness(problem, optimizer, x, y, qx, qy, p2, eps, t, c):
    """The largest eigenvalue of D^-1/2 H D^-1/2 at w = (x, y) after t updates: H the
    Hessian, D = diag of the update's denominators (``adaptive.denominator``); the
    eigenvalues of the frozen preconditioned step D^-1 H. On a quadratic, max_i
    lam_i / d_i (the quadratics' column). NaN when t = 0 (no preconditioner yet)."""
    if t == 0:
        return math.nan
    a, b, d = dispatch.hessian(problem, x, y, c)
    dx = adaptive.denominator(optimizer, qx, p2, eps)
    if dispatch.dim(problem) == 1:
        return a / dx
    dy = adaptive.denominator(optimizer, qy, p2, eps)
    _, l2, _, _ = _eig2(a / dx, b / math.sqrt(dx * dy), d / dy)
    return l2


# the lane state: a tuple L of 1-D arrays of length nl (separate arrays: LLVM vectorises
# loops over them; rows of one 2-D array ran 5x slower); from L_SIG on they are read by
# the noisy block only, from L_QX on by the adaptive optimizers' block only (the last four:
# its scratch rows)
L_X, L_Y, L_VX, L_VY, L_X0, L_Y0, L_ETA, L_BETA, L_F0, L_SIG, L_AN, L_AM, L_AQ, L_LIM = range(14)
L_QX, L_QY, L_P1, L_P2, L_BETA2, L_EPS, L_GX, L_GY, L_H, L_BC = range(14, 24)


@jit
def _fill_noise(lane, j, t0, steps, noise, nxb, nyb):
    """Rows s of nxb[:, lane], nyb[:, lane]: xi_{t0 + s} of row j (from the table, or drawn
    when it is empty; the same bits), 0 past the last step."""
    seeds, seed_index, table = noise[0], noise[1], noise[2]
    on_the_fly = table.shape[0] == 0
    two = table.shape[2] == 2  # 1-D problems: y stays 0, no noise on it
    k = seed_index[j]
    seed = seeds[j]
    if not on_the_fly and two and t0 + B <= steps:  # the common case: a plain copy
        rows = table[k]
        for s in range(B):
            nxb[s, lane] = rows[t0 + s, 0]
            nyb[s, lane] = rows[t0 + s, 1]
        return
    for s in range(B):
        t = t0 + s
        zx, zy = 0.0, 0.0
        if t < steps:
            if on_the_fly:
                zx, zy = normal_pair(seed, STREAM_NOISE, t)
            else:
                zx = table[k, t, 0]
                zy = table[k, t, 1] if two else 0.0
        nxb[s, lane] = zx
        nyb[s, lane] = zy if two else 0.0


@jit
def _fill_eta(lane, j, t0, steps, eta, s_table, s_index, etb):
    """Rows s of etb[:, lane]: eta_{t0 + s} = eta * s(t0 + s) of row j; past the last
    step (a noisy run settling without noise) the base eta."""
    k = s_index[j]
    for s in range(B):
        t = t0 + s
        etb[s, lane] = eta * at(s_table[k], t) if t < steps else eta


def _noisy_blocks(psharp, problem, optimizer, nl, L, ts, live, c, steps, gtol2, r2, nz, tail):
    """``run_block_noisy`` when psharp is None, else ``run_block_adaptive``: chosen on
    psharp's type (``_noisy_blocks_typed``), so that a sweep compiles only its own
    optimizers' blocks (Numba prunes an ``is None`` branch only when the value is None)."""
    raise NotImplementedError("called from jitted code only")


@overload(_noisy_blocks, jit_options={"nogil": True, "error_model": "numpy"})
def _noisy_blocks_typed(psharp, problem, optimizer, nl, L, ts, live, c, steps, gtol2, r2, nz,
                        tail):  # fmt: skip
    if isinstance(psharp, (types.NoneType, types.Omitted)):
        blocks = run_block_noisy
    else:
        blocks = run_block_adaptive

    def impl(psharp, problem, optimizer, nl, L, ts, live, c, steps, gtol2, r2, nz, tail):
        blocks(problem, optimizer, nl, L, ts, live, c, steps, gtol2, r2, nz, tail)

    return impl


@jit
def run_tile(k, n_tiles, rows, c, ints, floats, status, iout, fout, noise, s_table, s_index,
             s_varies, psharp):  # fmt: skip
    """Rows k * n // n_tiles .. (k + 1) * n // n_tiles - 1, nl = ints[4] lanes at a time.
    noise: None (a noiseless sweep) or (seeds, seed_index, table, tail) (``sweep_lanes``);
    s_table, s_index, s_varies: the schedules (``sweep_lanes_noisy``), or empty arrays
    (``sweep_lanes``: constant eta); psharp: None, or an adaptive optimizer's
    precond_sharpness output (``sweep_lanes_noisy``). Both None tests are on types:
    Numba prunes the other branch, so a sweep compiles only the blocks it runs."""
    scheduled = s_table.shape[0] > 0
    n = status.shape[0]
    r0 = k * n // n_tiles
    r1 = (k + 1) * n // n_tiles
    problem, optimizer, order, steps, nl = ints[0], ints[1], ints[2], ints[3], ints[4]
    gtol2, r2 = floats[0], floats[1]
    L = (
        np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl),
        np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl),
        np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl),
        np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl),
    )  # fmt: skip
    xs, ys, vxs, vys, x0s, y0s, etas, betas, f0s = L[:9]
    sigs, ans, ams, aqs, lims = L[9:14]
    qxs, qys, p1s, p2s, beta2s, epss = L[14:20]
    settling = np.zeros(nl, np.bool_)  # a noisy run past max_steps, settling without noise
    ts = np.zeros(nl, np.int64)
    live = np.zeros(nl, np.bool_)
    row = np.full(nl, -1, np.int64)
    ck_prev = np.zeros((nl, 5))
    ck_cur = np.zeros((nl, 5))
    wx = np.empty(3 * B + 1)
    wy = np.empty(3 * B + 1)
    z = np.empty(3 * B + 1)
    nxb = np.zeros((B, nl))
    nyb = np.zeros((B, nl))
    etb = np.zeros((B, nl))
    nxt = r0
    while True:
        # finalise lanes that stopped, refill idle lanes, roll the checkpoints
        busy = 0
        for lane in range(nl):
            j = row[lane]
            if j >= 0 and not live[lane] and settling[lane]:
                # a noisy run's settling ended: its basin (the row's other columns are out)
                kind = stop_kind(problem, xs[lane], ys[lane], x0s[lane], y0s[lane], ts[lane],
                                 int(lims[lane]), gtol2, r2, c)  # fmt: skip
                if kind != LEFT:
                    sx, sy = _polish(problem, xs[lane], ys[lane], c)
                    iout[I_BASIN, j] = _basin(problem, sx, sy, c)
                settling[lane] = False
                row[lane] = -1
            elif j >= 0 and not live[lane]:
                kind = stop_kind(problem, xs[lane], ys[lane], x0s[lane], y0s[lane], ts[lane],
                                 steps, gtol2, r2, c)  # fmt: skip
                noisy = sigs[lane] != 0.0
                if kind == CONV and noisy:
                    kind = MAXED  # a noisy lane never converges: it stopped at max_steps
                _finish(
                    problem, optimizer, order, j, kind, xs[lane], ys[lane], ts[lane],
                    f0s[lane], ck_prev[lane], etas[lane], betas[lane], c, status, iout, fout,
                    wx, wy, z, vxs[lane], vys[lane], sigs[lane], gtol2,
                )  # fmt: skip
                if scheduled and s_varies[s_index[j]]:
                    fout[F_RATE, j] = math.nan  # eta_t varies: no fixed contraction
                if psharp is not None:
                    psharp[j] = _precond_sharpness(
                        problem, optimizer, xs[lane], ys[lane], qxs[lane], qys[lane],
                        p2s[lane], epss[lane], ts[lane], c,
                    )  # fmt: skip
                row[lane] = -1
                if noise is not None:
                    tail = noise[3]
                    count = ans[lane]
                    tail[0, j] = ams[lane] if count > 0 else math.nan
                    tail[1, j] = math.sqrt(aqs[lane] / count) if count > 0 else math.nan
                    if noisy and kind == MAXED:  # settle: noiseless, up to SETTLE steps
                        settling[lane] = True
                        sigs[lane] = 0.0
                        lims[lane] = ts[lane] + SETTLE
                        live[lane] = True
                        row[lane] = j
            if row[lane] < 0 and nxt < r1:
                j = nxt
                nxt += 1
                row[lane] = j
                x, y = rows[ROW_X0, j], rows[ROW_Y0, j]
                xs[lane], ys[lane], x0s[lane], y0s[lane] = x, y, x, y
                vxs[lane], vys[lane] = 0.0, 0.0
                etas[lane], betas[lane] = rows[ROW_ETA, j], rows[ROW_BETA, j]
                f0s[lane] = dispatch.value(problem, x, y, c)
                if noise is not None:
                    sigs[lane] = rows[ROW_SIGMA, j]
                    ans[lane], ams[lane], aqs[lane] = 0.0, 0.0, 0.0
                    lims[lane] = steps
                if psharp is not None:
                    qxs[lane], qys[lane], p1s[lane], p2s[lane] = 0.0, 0.0, 1.0, 1.0
                    beta2s[lane], epss[lane] = rows[ROW_BETA2, j], rows[ROW_EPS, j]
                ts[lane], live[lane] = 0, True
                ck_cur[lane, 0], ck_cur[lane, 1] = x, y
                ck_cur[lane, 2], ck_cur[lane, 3], ck_cur[lane, 4] = 0.0, 0.0, 0.0
            if live[lane]:
                busy += 1
                for q in range(5):
                    ck_prev[lane, q] = ck_cur[lane, q]
                ck_cur[lane, 0], ck_cur[lane, 1] = xs[lane], ys[lane]
                ck_cur[lane, 2], ck_cur[lane, 3] = vxs[lane], vys[lane]
                ck_cur[lane, 4] = ts[lane]
                if noise is not None and sigs[lane] != 0.0:
                    _fill_noise(lane, row[lane], ts[lane], steps, noise, nxb, nyb)
                if scheduled:
                    _fill_eta(lane, row[lane], ts[lane], steps, etas[lane], s_table, s_index, etb)
        if busy == 0:
            break
        if noise is None:
            run_block(problem, optimizer, nl, L, ts, live, c, steps, gtol2, r2)
        else:
            tail_args = (ints[INT_TAIL_FROM], floats[FLOAT_FMIN])
            _noisy_blocks(
                psharp, problem, optimizer, nl, L, ts, live, c, steps, gtol2, r2,
                (nxb, nyb, etb), tail_args,
            )  # fmt: skip


@jit_parallel
def sweep_lanes(rows, c, ints, floats, status, iout, fout):
    """Trajectories of one chunk, n = status.shape[0], row j from rows[:, j].

    rows    float64 (4, n): eta, beta, x0, y0 of each trajectory (y0 = 0 for 1-D)
    c       float64 (k,): the problem's packed constants (its ``pack(params)``)
    ints    int64 (5,): problem code, optimizer code, recurrence order, steps, lanes (NL)
    floats  float64 (2,): grad_tol**2, radius**2
    outputs, column j is row j: status int8 (n,); iout int32 (3, n): steps, diverge_step,
            basin; fout float64 (5, n): loss0, final_loss, rate, x_final, y_final
    """
    n = status.shape[0]
    n_tiles = max(1, min(MAX_TILES, n // (4 * NL)))
    counter = np.zeros(1, np.int64)
    no_table = np.zeros((0, 0))
    no_index = np.zeros(0, np.int64)
    no_varies = np.zeros(0, np.bool_)
    for _ in prange(n_tiles):
        k = fetch_add(counter, np.int64(1))
        while k < n_tiles:
            run_tile(
                scramble(k, n_tiles), n_tiles, rows, c, ints, floats, status, iout, fout, None,
                no_table, no_index, no_varies, None,
            )  # fmt: skip
            k = fetch_add(counter, np.int64(1))


@jit_parallel
def sweep_lanes_noisy(rows, c, ints, floats, status, iout, fout, seeds, seed_index, table,
                      tail, s_table, s_index, s_varies, psharp=None):  # fmt: skip
    """``sweep_lanes`` with gradient noise (module docstring), for a sweep with a sigma
    axis, and learning-rate schedules (with or without noise; sigma 0 then).

    rows    float64 (5, n): eta, beta, x0, y0, sigma
    ints    int64 (6,): those of ``sweep_lanes`` and tail_from = steps - ceil(tail * steps)
            + 1 (the tail: states tail_from .. steps)
    floats  float64 (3,): grad_tol**2, radius**2, f_min (the excess loss is f - f_min)
    seeds   int64 (n,): each row's seed value; seed_index int64 (n,): its row of table
    table   float64 (K, steps, d): rng.normal(seed, STREAM_NOISE, t, i) of the chunk's K
            seeds (``rng.build_table``), or shape (0, 0, d): drawn on the fly (same bits);
            d = 2, or 1 for a 1-D problem (no noise on y, which stays 0)
    tail    float64 (2, n) output: loss_tail_mean, loss_tail_std
    s_table float64 (K, steps), s_index int64 (n,), s_varies bool (K,): row j's update
            from w_t uses eta_t = eta * s_table[s_index[j], t] (``schedules.sweep_table``;
            an empty table for constant eta, read as 1.0); s_varies[k]: rate NaN.
            A noisy run settling after max_steps uses the base eta.
    psharp  None, or float64 (n,) output for the adaptive optimizers (``run_block_adaptive``):
            precond_sharpness (``_precond_sharpness``, at the row's last state); rows then
            has 7 rows: beta2 and eps after sigma, and ints[2] (the order) is 0 (rate NaN)
    """
    n = status.shape[0]
    n_tiles = max(1, min(MAX_TILES, n // (4 * NL)))
    counter = np.zeros(1, np.int64)
    noise = (seeds, seed_index, table, tail)
    for _ in prange(n_tiles):
        k = fetch_add(counter, np.int64(1))
        while k < n_tiles:
            run_tile(
                scramble(k, n_tiles), n_tiles, rows, c, ints, floats, status, iout, fout, noise,
                s_table, s_index, s_varies, psharp,
            )  # fmt: skip
            k = fetch_add(counter, np.int64(1))
