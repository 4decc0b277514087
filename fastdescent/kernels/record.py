"""One trajectory, step by step: the per-step rows that ``[record]`` keeps and ``replay``
returns (DESIGN 1.5 ``DIR/trajectories/``).

Each function runs one trajectory with the sweep kernels' own building blocks, in their
order (plain IEEE float64, no FMA contraction, so the vectorised lanes and this scalar
loop give the same bits), and writes the rows of the states t = 0, every, 2 every, ...
and always the state it stopped at:

    step[k], loss[k] = f(w_t), grad_norm[k] = |grad f(w_t)|, eta[k] = eta_t (the step size
    of the update from w_t; NaN at t = steps, where there is none), w[k] = w_t

It returns the number of rows written (the outputs hold at least steps // every + 2).

- ``quadratic``: the semantics of ``lanes_loss.run_tile`` (stop on the loss gap; at
  t = 0, B, 2B, ... a noiseless run at constant eta zeroes coordinates with
  w_i^2 <= FLOOR, after the row of that state is written).
- ``landscape``: those of ``block.block_noisy`` / ``block_adaptive`` (the stop rules on
  w_t before the update; gradient noise sigma xi_t; a noisy run's settling after
  max_steps is not a step of the run and is not recorded).
- ``linreg``: those of ``minibatch.run_tile`` on one lane (the same batch, batch sums,
  product and step); loss is the mean squared error (1/n)|y - X w_t|^2 (the sweep's
  loss0 / final_loss), grad_norm the full-batch gradient's norm, w = w_hat + V z.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit
from ..metrics import BLOCK, FLOOR, MAX_FLOAT
from ..optimizers import ADAM
from ..rng import STREAM_NOISE, normal_pair
from ..schedules import at
from . import dispatch
from .batches import REPLACEMENT, batch
from .block import advance_adaptive, advance_noisy, noisy_rules
from .lanes_loss import _loss, _noise, _update, adaptive_update
from .minibatch import SB, _adaptive_step, _step, batch_sums, mse, rotated_noise


@jit
def _keep(t, every, stop):
    return stop or t % every == 0


@jit
def _put_w(k, w, out_w):
    for i in range(w.shape[0]):
        out_w[k, i] = w[i]


@jit
def _quadratic_grad_norm(lam, w):
    s = 0.0
    for i in range(w.shape[0]):
        g = lam[i] * w[i]
        s += g * g
    return math.sqrt(s)


@jit
def quadratic(optimizer, eta, beta, beta2, eps, sigma, seed, lam, start, sf, floor_on, steps,
              tol, diverge, every, out_t, out_f, out_g, out_e, out_w):  # fmt: skip
    """A quadratic's trajectory (module docstring); sf (steps,): s(t); lam, start (d,);
    floor_on: the floor rule applies (noiseless, constant eta, not adaptive); beta2, eps:
    the adaptive optimizers' (``lanes_loss.adaptive_update``)."""
    d = lam.shape[0]
    w = start.copy()
    v = np.zeros(d)
    q = np.zeros(d)
    pw = np.ones(2)
    xi = np.zeros(d)
    l0 = _loss(lam, w)
    gap0 = l0 - 0.0
    k = 0
    stop0 = (not math.isfinite(gap0)) or gap0 <= tol * gap0
    out_t[k], out_f[k], out_g[k] = 0, l0, _quadratic_grad_norm(lam, w)
    out_e[k] = eta * at(sf, 0) if steps > 0 else math.nan
    _put_w(k, w, out_w)
    k += 1
    if stop0:
        return k
    for i in range(d):  # t = 0: the floor
        if w[i] * w[i] <= FLOOR and floor_on:
            w[i] = 0.0
    conv_thr = tol * gap0
    div_thr = min(diverge * gap0, MAX_FLOAT)
    t = 0
    while True:
        if sigma != 0.0:
            _noise(seed, t, xi)
        if optimizer >= ADAM:
            adaptive_update(optimizer, eta * at(sf, t), beta, beta2, eps, lam, w, v, q, pw,
                            sigma, xi)  # fmt: skip
        else:
            _update(optimizer, eta * at(sf, t), beta, lam, w, v, sigma, xi)
        t += 1
        L = _loss(lam, w)
        gap = L - 0.0
        stop = (not math.isfinite(gap)) or gap > div_thr or gap <= conv_thr or t == steps
        if _keep(t, every, stop):
            out_t[k], out_f[k], out_g[k] = t, L, _quadratic_grad_norm(lam, w)
            out_e[k] = eta * at(sf, t) if t < steps else math.nan
            _put_w(k, w, out_w)
            k += 1
        if stop:
            return k
        if t % BLOCK == 0 and floor_on:
            for i in range(d):
                if w[i] * w[i] <= FLOOR:
                    w[i] = 0.0
                    v[i] = 0.0


@jit
def landscape(problem, optimizer, eta, beta, beta2, eps, x0, y0, sigma, seed, two, c, sf, steps,
              gtol2, r2, every, out_t, out_f, out_g, out_e, out_w):  # fmt: skip
    """A landscape's trajectory (module docstring); two: a 2-D problem (1-D: y = 0 and no
    noise on it); out_w (rows, 2): x, y; beta2, eps: the adaptive optimizers'
    (``block.advance_adaptive``, the operations of ``block.block_adaptive``)."""
    x, y, vx, vy = x0, y0, 0.0, 0.0
    qx, qy, p1, p2 = 0.0, 0.0, 1.0, 1.0
    noisy = sigma != 0.0
    k = 0
    t = 0
    while True:
        gx, gy, go, _, _, _ = noisy_rules(  # the block's rules; no tail (from steps + 1)
            problem, c, x, y, x0, y0, t, True, steps, noisy, gtol2, r2, steps + 1, 0.0, 0.0,
            0.0, 0.0,
        )  # fmt: skip
        g2 = gx * gx + gy * gy
        stop = not go
        if _keep(t, every, stop):
            out_t[k] = t
            out_f[k] = dispatch.value(problem, x, y, c)
            out_g[k] = math.sqrt(g2)
            out_e[k] = eta * at(sf, t) if t < steps else math.nan
            out_w[k, 0], out_w[k, 1] = x, y
            k += 1
        if stop:
            return k
        zx, zy = 0.0, 0.0
        if noisy:
            zx, zy = normal_pair(seed, STREAM_NOISE, t)
            if not two:
                zy = 0.0
        if optimizer >= ADAM:
            x, y, vx, vy, qx, qy, p1, p2 = advance_adaptive(
                problem, optimizer, x, y, vx, vy, qx, qy, p1, p2, gx, gy, eta * at(sf, t), beta,
                beta2, eps, sigma * zx, sigma * zy, noisy,
            )  # fmt: skip
        else:
            x, y, vx, vy = advance_noisy(
                problem, optimizer, x, y, vx, vy, gx, gy, eta * at(sf, t), beta, c, sigma * zx,
                sigma * zy, noisy,
            )  # fmt: skip
        t += 1


@jit
def _linreg_row(k, t, Xr, XrT, r, gram, xtr, V, w_hat, Z, res, out_t, out_f, out_g, out_w):
    """Row k: step t, MSE, full-batch gradient norm and w = w_hat + V z of lane 0 of Z."""
    n, d = Xr.shape
    out_t[k] = t
    out_f[k] = mse(XrT, r, Z, 0, res)
    s = 0.0
    for i in range(d):  # V^T grad = (2/n) (gram z - xtr): the same norm as grad
        g = -xtr[i]
        for j in range(d):
            g += gram[i, j] * Z[j, 0]
        g *= 2.0 / n
        s += g * g
    out_g[k] = math.sqrt(s)
    for i in range(d):
        acc = w_hat[i]
        for j in range(d):
            acc += V[i, j] * Z[j, 0]
        out_w[k, i] = acc


@jit
def linreg(optimizer, eta, beta, beta2, eps, sigma, seed, B, sampling, Xr, XrT, r, h, V, gram,
           xtr, z0, gap0, w_hat, sf, steps, tol, diverge, every, out_t, out_f, out_g, out_e,
           out_w):  # fmt: skip
    """A linreg trajectory (module docstring): ``minibatch.run_tile``'s steps on one lane
    of a tile of batch size B (B = n with sampling "epoch" or "subset": the full batch);
    the adaptive optimizers by ``minibatch._adaptive_step``."""
    n, d = Xr.shape
    res = np.empty(n)
    Z = np.zeros((d, SB))
    Vel = np.zeros((d, SB))
    P = np.zeros((d, SB))
    G = np.zeros((d, SB))
    eta_t = np.zeros(SB)
    betas = np.full(SB, beta)
    sig = np.full(SB, sigma)
    gap = np.zeros(SB)
    Q = np.zeros((d, SB))
    DW = np.zeros((d, SB))
    pw = np.ones((2, SB))
    hs = np.zeros(SB)
    bcs = np.zeros(SB)
    beta2s = np.full(SB, beta2)
    epss = np.full(SB, eps)
    VT = np.ascontiguousarray(V.T)
    zero = np.zeros(d)
    for i in range(d):
        Z[i, 0] = z0[i]
    k = 0
    stop0 = (not math.isfinite(gap0)) or gap0 <= tol * gap0
    _linreg_row(k, 0, Xr, XrT, r, gram, xtr, V, w_hat, Z, res, out_t, out_f, out_g, out_w)
    out_e[k] = eta * at(sf, 0) if steps > 0 else math.nan
    k += 1
    if stop0:
        return k
    conv_thr = tol * gap0
    div_thr = min(diverge * gap0, MAX_FLOAT)
    full = sampling != REPLACEMENT and B == n
    if full:
        A, b = gram, xtr
    else:
        A, b = np.empty((d, d)), np.empty(d)
    idx = np.empty(B, np.int64)
    perm = np.empty(n, np.int64)
    pool = np.arange(n)
    swaps = np.empty(B, np.int64)
    xi = np.zeros(d)
    xr = np.zeros(d)
    scale = 2.0 / B
    for t in range(steps):
        if not full:
            batch(sampling, seed, t, B, perm, pool, swaps, idx)
            batch_sums(Xr, r, idx, B, A, b)
        if sigma != 0.0:
            rotated_noise(seed, t, V, xi, xr)
        eta_t[0] = eta * at(sf, t)
        if optimizer >= ADAM:
            _adaptive_step(optimizer, A, b, xr, h, scale, V, VT, zero, Z, Vel, Q, P, G, DW,
                           eta_t, betas, beta2s, epss, pw, hs, bcs, sig, gap, 1, conv_thr,
                           div_thr)  # fmt: skip
        else:
            _step(optimizer, A, b, xr, h, scale, Z, Vel, P, G, eta_t, betas, sig, gap, 1,
                  conv_thr, div_thr)  # fmt: skip
        t1 = t + 1
        g = gap[0]
        stop = (not math.isfinite(g)) or g > div_thr or g <= conv_thr or t1 == steps
        if _keep(t1, every, stop):
            _linreg_row(k, t1, Xr, XrT, r, gram, xtr, V, w_hat, Z, res, out_t, out_f, out_g,
                        out_w)  # fmt: skip
            out_e[k] = eta * at(sf, t1) if t1 < steps else math.nan
            k += 1
        if stop:
            return k
    return k
