"""The slow twin: a textbook reference for fastdescent's quadratic kernels.

This module re-implements, one trajectory at a time and in plain Python floats
(``math`` module, lists; NumPy only for float32 scalars), the exact semantics of a
fastdescent run on the separable quadratic

    f(w) = 0.5 * sum_i lam_i * w_i**2,        w* = 0,  loss_min = 0,

for the optimizers ``gd``, ``heavy_ball`` and ``nesterov``.  The compiled engine is
compared against :func:`simulate` to 1e-12 relative, so every floating-point
expression below is written in the same order as the specification (plain float64
operations, no fused multiply-add, sums accumulated sequentially in step order).

It is deliberately independent of the engine in *structure*:

* the trajectory loop is the update rule as a course notebook would write it;
* the convergence-rate estimator is not streamed.  The whole error history
  ``e[t][i]`` is recorded, and only after the run is over do we work out, per
  coordinate, the first-step sign sigma (:func:`first_step_sign`), which window of
  least-squares equations the streaming estimator would have kept (:func:`window`),
  sum them in the basis (x_{t-1}, F_{t-1} = x_{t-1} - sigma x_{t-2})
  (:func:`block_sums`), and fit (:func:`fit_rate`).

The semantics are version 2 of the definition (the rate fit in the shifted basis, and
div_thr = min(diverge * gap0, MAX_FLOAT)).

Nothing here imports ``fastdescent``; this file must keep working while the package
is being rewritten.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np

FLOOR = 1e-200  # at t = 0, B, 2B, ...: e_t**2 <= FLOOR stops accumulating ("frozen")
FLOOR32 = 2.0**-80  # the same for dtype = "float32" (e_t**2 computed in float32)
MAX_FLOAT32 = 3.4028234663852886e38  # div_thr cap for float32
DET_RTOL = 1e-10  # order-2 fit only if det > DET_RTOL * ff (sums divided by xx first)
LOSS_MIN = 0.0
MAX_FLOAT = sys.float_info.max  # div_thr = min(diverge * gap0, MAX_FLOAT)

ORDER = {"gd": 1, "heavy_ball": 2, "nesterov": 2}
STATUS_CODES = {"converged": 0, "diverged": 1, "max_steps": 2, "escaped": 3}

SUM_NAMES = ("xx", "xf", "ff", "rxf", "rff")


def block_length(steps: int) -> int:
    """B = 32 (whatever ``steps``): the length of one estimator block."""
    return 32


def loss(lam: Sequence[float], w: Sequence[float]) -> float:
    """f(w) = 0.5 * sum_i lam_i * (w_i * w_i), summed in coordinate order."""
    s = 0.0
    for i in range(len(w)):
        e2 = w[i] * w[i]
        s = s + lam[i] * e2
    return 0.5 * s


def update(optimizer: str, eta: float, beta: float, lam, w: list, v: list) -> None:
    """One optimizer step, in place, coordinate by coordinate."""
    for i in range(len(w)):
        if optimizer == "gd":
            # g = grad_i f(w) = lam_i w_i ;  w <- w - eta g
            g = lam[i] * w[i]
            w[i] = w[i] - eta * g
        elif optimizer == "heavy_ball":
            # Polyak: v <- beta v - eta grad f(w) ;  w <- w + v
            g = lam[i] * w[i]
            v[i] = beta * v[i] - eta * g
            w[i] = w[i] + v[i]
        elif optimizer == "nesterov":
            # Nesterov: gradient at the look-ahead point w + beta v
            g = lam[i] * (w[i] + beta * v[i])
            v[i] = beta * v[i] - eta * g
            w[i] = w[i] + v[i]
        else:
            raise ValueError(f"unknown optimizer {optimizer!r}")


# ---------------------------------------------------------------------------------
# Rate estimator, computed after the fact from the recorded history
# ---------------------------------------------------------------------------------


def freeze_step(e: Sequence[float], last: int, floor: float = FLOOR, B: int = 32) -> int | None:
    """First t in 0, B, 2B, ... <= last with e_t * e_t <= floor, or None.

    The floor is checked at the start (t = 0) and at the end of every block (t = B, 2B,
    ...), after that step's equation: the first such t is where the coordinate froze.
    """
    for t in range(0, last + 1, B):
        if e[t] * e[t] <= floor:
            return t
    return None


def last_step(e: Sequence[float], last: int, floor: float = FLOOR, B: int = 32) -> int:
    """t_last: the last step whose equation this coordinate accumulated.

    That is the freeze step (the equation of the freeze step itself is still
    accumulated, the check comes after it), or else the last accumulated step of the
    run.  ``last`` may be -1 (nothing was accumulated at all).
    """
    tf = freeze_step(e, last, floor, B) if last >= 0 else None
    return last if tf is None else tf


def window(t_last: int, order: int, B: int) -> tuple[range, range]:
    """The equations held by the streaming estimator when accumulation ended.

    Equation t (for t >= order) is ``F_t ~ alpha x_{t-1} (+ gamma F_{t-1})`` with
    ``F_t = x_t - sigma x_{t-1}`` (see :func:`block_sums`).  Step t >= 1 belongs to
    block (t - 1) // B: block 0 is steps 1..B, block 1 is B+1..2B, ...
    The streaming rule rotates ``prev = cur; cur = 0`` at t = B+1, 2B+1, ..., i.e.
    exactly when the block index increases, and only for coordinates that are still
    accumulating; since every step up to t_last was accumulated, all rotations up to
    t_last happened and none after.  Hence, with c = (t_last - 1) // B:

        cur  = equations t with  max(k, c*B + 1)      <= t <= t_last
        prev = equations t with  max(k, (c-1)*B + 1)  <= t <= c*B      (if c >= 1)

    i.e. steps k <= t <= t_last whose block is >= c - 1.  Returns (prev, cur) as
    ranges in step order (possibly empty).
    """
    if t_last < order or t_last < 1:
        return range(0), range(0)
    c = (t_last - 1) // B
    cur = range(max(order, c * B + 1), t_last + 1)
    prev = range(max(order, (c - 1) * B + 1), c * B + 1) if c >= 1 else range(0)
    return prev, cur


def first_step_sign(e: Sequence[float], t_last: int) -> float:
    """sigma: +1.0 if the first step kept the coordinate's sign (x_1 x_0 >= 0), else -1.0.

    The streaming rule measures it at t = 1 if the coordinate is still accumulating
    then (t_last >= 1); otherwise it keeps its initial value 1.0 (and the window is
    empty, so it never matters).
    """
    if t_last < 1:
        return 1.0
    return 1.0 if e[1] * e[0] >= 0.0 else -1.0


def block_sums(e: Sequence[float], steps: range, order: int, sigma: float) -> list[float]:
    """The five regression sums over the given equations, in step order.

    With x_t = e[t] and F_t = x_t - sigma x_{t-1} (so F_t = alpha x_{t-1} + gamma F_{t-1}
    is the recurrence x_t = (sigma + alpha + gamma) x_{t-1} - sigma gamma x_{t-2}):

        xx  = sum x_{t-1}^2,      xf  = sum x_{t-1} F_{t-1},   ff = sum F_{t-1}^2,
        rxf = sum F_t x_{t-1},    rff = sum F_t F_{t-1}

    order 1 (F_t = alpha x_{t-1}): only xx and rxf; the others stay 0.
    Each sum is s = s + (product), one term per step, in increasing t; every F is
    recomputed from the history with the same expression the streaming rule uses.
    """
    xx = xf = ff = rxf = rff = 0.0
    for t in steps:
        x1 = e[t - 1]
        f = e[t] - sigma * e[t - 1]  # F_t
        xx = xx + x1 * x1
        rxf = rxf + f * x1
        if order == 2:
            f1 = e[t - 1] - sigma * e[t - 2]  # F_{t-1} (t >= 2)
            xf = xf + x1 * f1
            ff = ff + f1 * f1
            rff = rff + f * f1
    return [xx, xf, ff, rxf, rff]


def coordinate_sums(e: Sequence[float], last: int, order: int, B: int) -> tuple[list[float], float]:
    """(S, sigma): S = prev + cur for one coordinate whose run accumulated steps 0..last."""
    t_last = last_step(e, last, FLOOR, B)
    sigma = first_step_sign(e, t_last)
    prev_steps, cur_steps = window(t_last, order, B)
    prev = block_sums(e, prev_steps, order, sigma)
    cur = block_sums(e, cur_steps, order, sigma)
    # S.x = prev.x + cur.x, elementwise
    return [prev[j] + cur[j] for j in range(5)], sigma


def fit_coefficients(S: Sequence[float], order: int) -> tuple[int, float, float]:
    """Least squares for F_t = alpha x_{t-1} (+ gamma F_{t-1}).  Returns (order_used,
    alpha, gamma); (1, NaN, 0.0) without data (not S.xx > 0).

    The sums are divided by xx first (scale-free): xf, ff, rxf, rff <- ./xx.
    order 2:  det = ff - xf^2; if ff > 0 and det > DET_RTOL ff:
                  alpha = (rxf ff - rff xf) / det,   gamma = (rff - xf rxf) / det
              else fall back to order 1.
    order 1:  alpha = rxf (= S.rxf / S.xx), gamma = 0.
    """
    xx, xf, ff, rxf, rff = S
    if not xx > 0.0:
        return 1, math.nan, 0.0
    xf = xf / xx
    ff = ff / xx
    rxf = rxf / xx
    rff = rff / xx
    if order == 2:
        det = ff - xf * xf
        if ff > 0.0 and det > DET_RTOL * ff:
            alpha = (rxf * ff - rff * xf) / det
            gamma = (rff - xf * rxf) / det
            return 2, alpha, gamma
    return 1, rxf, 0.0


def fit_rate(S: Sequence[float], sigma: float, order: int) -> float:
    """Largest |root| of the fitted recurrence, from S = (xx, xf, ff, rxf, rff) and sigma.

    order 2: the roots are z = sigma + y with y^2 + p y + q = 0, p = sigma - alpha - gamma,
             q = -sigma alpha; disc = p^2/4 - q (written 0.25*p*p - q);
             real roots (disc >= 0): r = max(|sigma - p/2 + sqrt(disc)|,
             |sigma - p/2 - sqrt(disc)|); complex pair: r = sqrt(|sigma gamma|)
             (|z|^2 = z1 z2 = sigma gamma).
    order 1: r = |sigma + alpha|, NaN without data.
    """
    used, alpha, gamma = fit_coefficients(S, order)
    if used == 2:
        p = sigma - alpha - gamma
        q = -(sigma * alpha)
        disc = 0.25 * p * p - q
        if disc >= 0.0:
            s = math.sqrt(disc)
            return max(abs(sigma - 0.5 * p + s), abs(sigma - 0.5 * p - s))
        return math.sqrt(abs(sigma * gamma))
    return abs(sigma + alpha)  # abs(sigma + S.rxf / S.xx), or NaN


def combine_rates(rs: Sequence[float]) -> float:
    """max over coordinates in order, ignoring NaN; NaN if all are NaN."""
    rate = math.nan
    for r in rs:
        if not math.isnan(r) and (math.isnan(rate) or r > rate):
            rate = r
    return rate


def estimate_rate(history: Sequence[Sequence[float]], last: int, order: int, B: int) -> float:
    """Rate from the recorded error history e[t][i], t = 0..last (last = -1: none)."""
    if last < 0 or not history:
        return math.nan
    d = len(history[0])
    rs = []
    for i in range(d):
        e = [history[t][i] for t in range(last + 1)]
        S, sigma = coordinate_sums(e, last, order, B)
        rs.append(fit_rate(S, sigma, order))
    return combine_rates(rs)


def estimate_rate_replayed(optimizer, eta, beta, lam, history, vs, last, B) -> float:
    """The rate of a float32 run: each coordinate's window, replayed in float64.

    The window (t_last from the float32 history with FLOOR32, then prev and cur as in
    :func:`window`) is recomputed in float64 from the float32 state at its start t0
    (t0 = the start of the block before t_last's block, or 0): w_t0 and v_t0, exactly
    converted, stepped with :func:`update` in float64, with x_{t0-1} = w_t0 - v_t0 (the
    float64 trajectory's own previous point; the float32 w_{t0-1} differs from it by a
    float32 rounding, which would spoil the first equation when F ~ (1 - rho) x is small).
    sigma comes from the first step in float64. The sums and the fit are those of the
    float64 estimator.
    """
    if last < 0:
        return math.nan
    order = ORDER[optimizer]
    eta, beta = float(eta), float(beta)
    rs = []
    for i in range(len(history[0])):
        e32 = [history[t][i] for t in range(last + 1)]
        t_last = last_step(e32, last, np.float32(FLOOR32), B)
        if t_last < order or t_last < 1:
            rs.append(math.nan)
            continue
        x0 = float(e32[0])
        w1, v1 = [x0], [0.0]
        update(optimizer, eta, beta, [float(lam[i])], w1, v1)
        sigma = 1.0 if w1[0] * x0 >= 0.0 else -1.0
        c = (t_last - 1) // B
        t0 = (c - 1) * B if c >= 1 else 0
        e = {t0: float(e32[t0])}
        if t0 > 0:  # the point the float64 replay through (w_t0, v_t0) came from
            e[t0 - 1] = float(e32[t0]) - float(vs[t0][i])
        w, v = [float(e32[t0])], [float(vs[t0][i])]
        for t in range(t0 + 1, t_last + 1):
            update(optimizer, eta, beta, [float(lam[i])], w, v)
            e[t] = w[0]
        prev_steps, cur_steps = window(t_last, order, B)
        prev = block_sums(e, prev_steps, order, sigma)
        cur = block_sums(e, cur_steps, order, sigma)
        rs.append(fit_rate([prev[j] + cur[j] for j in range(5)], sigma, order))
    return combine_rates(rs)


# ---------------------------------------------------------------------------------
# One trajectory
# ---------------------------------------------------------------------------------


def simulate_detail(*args, **kwargs) -> dict:
    """Like :func:`simulate`, plus the recorded history for white-box tests.

    Extra keys: ``history`` (list over t = 0..last of the error vector e_t = w_t - w*),
    ``last`` (last accumulated step, -1 if none), ``order``, ``B``, and per coordinate
    ``t_last`` (last accumulated equation) and ``sigma`` (the first-step sign).
    float32 overflow and underflow are part of the semantics: NumPy is not to warn.
    """
    with np.errstate(all="ignore"):
        return _simulate_detail(*args, **kwargs)


def _simulate_detail(
    optimizer: str,
    eta: float,
    beta: float,
    lam: Sequence[float],
    start: Sequence[float],
    steps: int,
    tol: float = 1e-20,
    diverge: float = 1e10,
    dtype: str = "float64",
) -> dict:
    """Like :func:`simulate`, plus the recorded history for white-box tests.

    Extra keys: ``history`` (list over t = 0..last of the error vector e_t = w_t - w*),
    ``last`` (last accumulated step, -1 if none), ``order``, ``B``, and per coordinate
    ``t_last`` (last accumulated equation) and ``sigma`` (the first-step sign).
    """
    if optimizer not in ORDER:
        raise ValueError(f"unknown optimizer {optimizer!r}")
    order = ORDER[optimizer]
    B = block_length(steps)
    # dtype = "float32": every input rounded to float32 and every operation of the run in
    # float32 (NumPy scalars); the rate window is then replayed in float64 (see
    # estimate_rate_replayed). The stop thresholds are computed in float64 and rounded.
    F = np.float32 if dtype == "float32" else float
    floor = F(FLOOR32) if dtype == "float32" else FLOOR
    max_float = MAX_FLOAT32 if dtype == "float32" else MAX_FLOAT
    eta, beta = F(eta), F(beta)
    lam = [F(x) for x in lam]
    w = [F(x) for x in start]
    v = [F(0.0)] * len(w)
    vs = [list(v)]  # velocities, for the float64 replay of float32 runs
    w_star = [F(0.0)] * len(w)

    def error(w):
        return [w[i] - w_star[i] for i in range(len(w))]

    def to_minimum(w, v):
        """At t = 0, B, 2B, ...: a coordinate within sqrt(FLOOR) of the minimum (e_t^2 <=
        FLOOR; it froze there) is put exactly there, velocity included."""
        for i in range(len(w)):
            e_i = w[i] - w_star[i]
            if e_i * e_i <= floor:
                w[i] = w_star[i]
                v[i] = F(0.0)

    loss0 = loss(lam, w)
    gap0 = loss0 - LOSS_MIN

    history: list[list[float]] = []
    status, n_steps, diverge_step, final_loss = "max_steps", steps, -1, loss0

    if not math.isfinite(gap0):
        status, n_steps, diverge_step, final_loss = "diverged", 0, 0, math.inf
    else:
        history.append(error(w))  # accumulation for t = 0 (only the freeze check)
        to_minimum(w, v)
        if gap0 <= tol * gap0:
            status, n_steps = "converged", 0
        else:
            conv_thr = F(tol * float(gap0))
            div_thr = F(min(diverge * float(gap0), max_float))
            for t in range(1, steps + 1):
                update(optimizer, eta, beta, lam, w, v)
                L = loss(lam, w)
                gap = L - LOSS_MIN
                if not math.isfinite(gap):
                    # stop before accumulating step t
                    status, n_steps, diverge_step, final_loss = "diverged", t, t, math.inf
                    break
                history.append(error(w))  # accumulation for step t
                vs.append(list(v))
                if gap > div_thr:
                    status, n_steps, diverge_step, final_loss = "diverged", t, t, L
                    break
                if gap <= conv_thr:
                    status, n_steps, final_loss = "converged", t, L
                    break
                final_loss = L  # max_steps: the loss after the last step
                if t % B == 0:
                    to_minimum(w, v)

    last = len(history) - 1
    if dtype == "float32":
        rate = estimate_rate_replayed(optimizer, eta, beta, lam, history, vs, last, B)
        loss0, final_loss = float(loss0), float(final_loss)
    else:
        rate = estimate_rate(history, last, order, B)  # NaN when nothing was accumulated
    columns = [[h[i] for h in history] for i in range(len(w))]
    t_last = [last_step(e, last, floor, B) for e in columns]  # -1: nothing accumulated
    sigma = [first_step_sign(e, t) for e, t in zip(columns, t_last, strict=True)]
    return {
        "status": status,
        "steps": n_steps,
        "diverge_step": diverge_step,
        "loss0": loss0,
        "final_loss": final_loss,
        "rate": rate,
        "history": history,
        "last": last,
        "order": order,
        "B": B,
        "t_last": t_last,
        "sigma": sigma,
    }


def simulate(
    optimizer: str,
    eta: float,
    beta: float,
    lam: Sequence[float],
    start: Sequence[float],
    steps: int,
    tol: float = 1e-20,
    diverge: float = 1e10,
    dtype: str = "float64",
) -> dict:
    """Run one trajectory; returns status, steps, diverge_step, loss0, final_loss, rate.

    status is "converged" | "diverged" | "max_steps"; diverge_step is -1 unless diverged.
    """
    out = simulate_detail(optimizer, eta, beta, lam, start, steps, tol, diverge, dtype)
    return {k: out[k] for k in ("status", "steps", "diverge_step", "loss0", "final_loss", "rate")}


# ---------------------------------------------------------------------------------
# Landscapes: the general lane kernel's semantics (fastdescent.kernels.lanes), one
# trajectory at a time
# ---------------------------------------------------------------------------------

LANDSCAPE_B = 32  # window blocks, as the lane kernel's B
BASIN_DISTANCE = 1e-3
EIG_RTOL = 1e-8
NOISE = 1e-13
LINEAR, LINEAR_FLOOR, CROSSTALK = 1e-6, 1e-12, 10.0


def simulate_landscape(
    fns,
    optimizer: str,
    eta: float,
    beta: float,
    start: Sequence[float],
    steps: int,
    grad_tol: float = 1e-10,
    radius: float = 1e6,
) -> dict:
    """Run one trajectory on a 2-D landscape (1-D: y = 0); the lane kernel's row.

    ``fns``: an object with plain-Python ``value(x, y)``, ``grad(x, y)``,
    ``hessian(x, y)`` and ``project_minimum(x, y)`` (the problem's constants bound in).
    Every t = 0..steps: stop rules on w_t (left, converged, max_steps, in that order),
    then the update. The whole path is recorded; the rate is fitted afterwards.
    """
    x, y = float(start[0]), float(start[1]) if len(start) > 1 else 0.0
    x0, y0 = x, y
    vx = vy = 0.0
    f0 = fns.value(x, y)
    path = []
    status, t_stop = "max_steps", steps
    for t in range(steps + 1):
        path.append((x, y))
        gx, gy = fns.grad(x, y)
        g2 = gx * gx + gy * gy
        dx, dy = x - x0, y - y0
        if not (dx * dx + dy * dy <= radius * radius) or not (g2 <= MAX_FLOAT):
            status, t_stop = "left", t
            break
        if g2 <= grad_tol * grad_tol:
            status, t_stop = "converged", t
            break
        if t == steps:
            break
        x, y, vx, vy = _landscape_update(fns, optimizer, eta, beta, x, y, vx, vy, gx, gy)
    f = fns.value(x, y)
    out = {
        "steps": t_stop,
        "diverge_step": -1,
        "loss0": f0,
        "final_loss": f,
        "x_final": x,
        "y_final": y,
        "basin": -1,
        "rate": math.nan,
    }
    if status == "left":
        out["status"] = "escaped" if f < f0 else "diverged"
        out["diverge_step"] = t_stop
        return out
    out["status"] = status
    if status != "converged":
        return out
    out["basin"], sx, sy = listed_basin(fns, x, y)
    lam, vecs = eig2(fns.hessian(sx, sy))
    big = max(abs(lam[0]), abs(lam[1]))
    # the window: from the start of the block before the one the run stopped in, the
    # path continued by up to B more steps of the same iteration, keeping the last run
    # of states with 1e-12 s <= |w - w*| <= 1e-6 s (s = 1 + |w*|)
    first = LANDSCAPE_B * max(0, t_stop // LANDSCAPE_B - 1)
    states = list(path[first : t_stop + 1])
    for _ in range(LANDSCAPE_B):
        gx, gy = fns.grad(x, y)
        x, y, vx, vy = _landscape_update(fns, optimizer, eta, beta, x, y, vx, vy, gx, gy)
        states.append((x, y))
    scale = 1.0 + abs(sx) + abs(sy)
    hi2, lo2 = (LINEAR * scale) ** 2, (LINEAR_FLOOR * scale) ** 2
    window = []
    for px, py in states:
        dx, dy = px - sx, py - sy
        d2 = dx * dx + dy * dy
        if d2 <= hi2:
            if not d2 >= lo2:
                break
            window.append((px, py))
        else:
            window = []
    order = ORDER[optimizer]
    rates = []
    for i in range(2):
        if not abs(lam[i]) > EIG_RTOL * big:
            continue
        u = vecs[i]
        z = [u[0] * (px - sx) + u[1] * (py - sy) for px, py in window]
        top2 = max(((px - sx) ** 2 + (py - sy) ** 2 for px, py in window), default=0.0)
        if not max(abs(v) for v in z) > max(NOISE * scale, CROSSTALK * top2 / scale):
            continue
        if len(z) < order + 2:
            continue
        sigma = 1.0 if z[1] * z[0] >= 0.0 else -1.0
        rates.append(fit_rate(block_sums(z, range(order, len(z)), order, sigma), sigma, order))
    finite = [r for r in rates if math.isfinite(r)]
    out["rate"] = max(finite) if finite else math.nan
    return out


def listed_basin(fns, x, y) -> tuple[int, float, float]:
    """(basin, sx, sy): Newton's polish from (x, y) to w* = (sx, sy), and the index of the
    listed minimum within BASIN_DISTANCE of w* when the Hessian there has no eigenvalue
    below -EIG_RTOL * max (a minimum, not a saddle); else -1."""
    sx, sy = _polish_naive(fns, x, y)
    index, mx, my = fns.project_minimum(sx, sy)
    lam, _ = eig2(fns.hessian(sx, sy))
    big = max(abs(lam[0]), abs(lam[1]))
    if index >= 0 and math.hypot(sx - mx, sy - my) <= BASIN_DISTANCE:
        if lam[0] >= -EIG_RTOL * big:
            return index, sx, sy
    return -1, sx, sy


def eig2(h):
    """Eigenvalues (ascending) and unit eigenvectors (columns) of the symmetric 2 x 2
    Hessian (hxx, hxy, hyy), by the closed form the kernel uses: l = m -/+ r with
    m = (hxx + hyy) / 2, r = hypot((hxx - hyy) / 2, hxy); the first eigenvector from the
    row of (H - l1 I) whose diagonal entry is the larger, the second perpendicular."""
    a, b, d = h
    half = 0.5 * (a - d)
    r = math.hypot(half, b)
    mid = 0.5 * (a + d)
    lam = [mid - r, mid + r]
    if not r > 0.0:
        ux, uy = 1.0, 0.0
    else:
        ux, uy = (b, -(half + r)) if half > 0.0 else (r - half, -b)
        n = math.hypot(ux, uy)
        ux, uy = ux / n, uy / n
    return lam, [(ux, uy), (-uy, ux)]


def _landscape_update(fns, optimizer, eta, beta, x, y, vx, vy, gx, gy):
    """One step from w = (x, y), v = (vx, vy) with g = grad f(w), as a course notebook
    writes it; returns the new (x, y, vx, vy)."""
    if optimizer == "gd":
        return x - eta * gx, y - eta * gy, vx, vy
    if optimizer == "nesterov":
        gx, gy = fns.grad(x + beta * vx, y + beta * vy)
    vx = beta * vx - eta * gx
    vy = beta * vy - eta * gy
    return x + vx, y + vy, vx, vy


def _polish_naive(fns, x, y, iterations=3):
    """Newton on grad f, flat directions (|eigenvalue| <= EIG_RTOL * max) left alone."""
    for _ in range(iterations):
        gx, gy = fns.grad(x, y)
        lam, vecs = eig2(fns.hessian(x, y))
        big = max(abs(lam[0]), abs(lam[1]))
        if not (big > 0 and math.isfinite(big)):
            break
        s = [0.0, 0.0]
        for i in range(2):
            u = vecs[i]
            g_i = u[0] * gx + u[1] * gy  # the gradient's component along u_i
            s[i] = g_i / lam[i] if abs(lam[i]) > EIG_RTOL * big else 0.0
        (ux, uy), _ = vecs
        x = x - (s[0] * ux - s[1] * uy)
        y = y - (s[0] * uy + s[1] * ux)
    return x, y
