"""The slow twin: a textbook reference for fastdescent's quadratic kernels.

This module re-implements, one trajectory at a time and in plain Python floats
(``math`` module, lists, no NumPy), the exact semantics of a fastdescent run on the
separable quadratic

    f(w) = 0.5 * sum_i lam_i * w_i**2,        w* = 0,  loss_min = 0,

for the optimizers ``gd``, ``heavy_ball`` and ``nesterov``.  The compiled engine is
compared against :func:`simulate` to 1e-12 relative, so every floating-point
expression below is written in the same order as the specification (plain float64
operations, no fused multiply-add, sums accumulated sequentially in step order).

It is deliberately independent of the engine in *structure*:

* the trajectory loop is the update rule as a course notebook would write it;
* the convergence-rate estimator is not streamed.  The whole error history
  ``e[t][i]`` is recorded, and only after the run is over do we work out, per
  coordinate, which window of least-squares equations the streaming estimator would
  have kept (see :func:`window`), sum them, and fit (see :func:`fit_rate`).

Nothing here imports ``fastdescent``; this file must keep working while the package
is being rewritten.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

FLOOR = 1e-280  # a coordinate whose e_t**2 <= FLOOR stops accumulating ("frozen")
DET_RTOL = 1e-13  # order-2 fit is used only if det > DET_RTOL * a11 * a22
LOSS_MIN = 0.0

ORDER = {"gd": 1, "heavy_ball": 2, "nesterov": 2}
STATUS_CODES = {"converged": 0, "diverged": 1, "max_steps": 2, "escaped": 3}

SUM_NAMES = ("a11", "a12", "a22", "b1", "b2")


def block_length(steps: int) -> int:
    """B = max(32, steps // 8): the length of one estimator block."""
    return max(32, steps // 8)


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


def freeze_step(e: Sequence[float], last: int) -> int | None:
    """First t in 0..last with e_t * e_t <= FLOOR, or None.

    The streaming rule checks e_t**2 <= FLOOR at the end of every accumulated step of
    a not-yet-frozen coordinate, so the first such t is where it froze.
    """
    for t in range(last + 1):
        if e[t] * e[t] <= FLOOR:
            return t
    return None


def last_step(e: Sequence[float], last: int) -> int:
    """t_last: the last step whose equation this coordinate accumulated.

    That is the freeze step (the equation of the freeze step itself is still
    accumulated, the check comes after it), or else the last accumulated step of the
    run.  ``last`` may be -1 (nothing was accumulated at all).
    """
    tf = freeze_step(e, last) if last >= 0 else None
    return last if tf is None else tf


def window(t_last: int, order: int, B: int) -> tuple[range, range]:
    """The equations held by the streaming estimator when accumulation ended.

    Equation t (for t >= order) is ``e_t ~ a e_{t-1} (+ b e_{t-2})``.  Step t >= 1
    belongs to block (t - 1) // B: block 0 is steps 1..B, block 1 is B+1..2B, ...
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


def block_sums(e: Sequence[float], steps: range, order: int) -> list[float]:
    """The five normal-equation sums over the given equations, in step order.

    order 2 (e_t = a e_{t-1} + b e_{t-2}):
        a11 = sum e_{t-1}^2,  a12 = sum e_{t-1} e_{t-2},  a22 = sum e_{t-2}^2,
        b1  = sum e_t e_{t-1}, b2 = sum e_t e_{t-2}
    order 1 (e_t = a e_{t-1}): only a11 and b1; the others stay 0.
    Each sum is s = s + x, one term per step, in increasing t.
    """
    a11 = a12 = a22 = b1 = b2 = 0.0
    for t in steps:
        if order == 2:
            a11 = a11 + e[t - 1] * e[t - 1]
            a12 = a12 + e[t - 1] * e[t - 2]
            a22 = a22 + e[t - 2] * e[t - 2]
            b1 = b1 + e[t] * e[t - 1]
            b2 = b2 + e[t] * e[t - 2]
        else:
            a11 = a11 + e[t - 1] * e[t - 1]
            b1 = b1 + e[t] * e[t - 1]
    return [a11, a12, a22, b1, b2]


def coordinate_sums(e: Sequence[float], last: int, order: int, B: int) -> list[float]:
    """S = prev + cur for one coordinate whose run accumulated steps 0..last."""
    prev_steps, cur_steps = window(last_step(e, last), order, B)
    prev = block_sums(e, prev_steps, order)
    cur = block_sums(e, cur_steps, order)
    # S.x = prev.x + cur.x, elementwise
    return [prev[j] + cur[j] for j in range(5)]


def _sqrt(x: float) -> float:
    # math.sqrt raises on negatives; the compiled kernels return NaN
    return math.sqrt(x) if x >= 0.0 else math.nan


def fit_coefficients(S: Sequence[float], order: int) -> tuple[int, float, float]:
    """Solve the 2x2 (or 1x1) normal equations.  Returns (order_used, a, b).

    order 2:  det = a11 a22 - a12^2; if a11 > 0, a22 > 0, det > DET_RTOL a11 a22:
                  a = (b1 a22 - b2 a12) / det,   b = (a11 b2 - a12 b1) / det
              else fall back to order 1 with the same a11, b1.
    order 1:  a = b1 / a11 if a11 > 0 else NaN;  b = 0.
    """
    a11, a12, a22, b1, b2 = S
    if order == 2:
        det = a11 * a22 - a12 * a12
        if a11 > 0.0 and a22 > 0.0 and det > DET_RTOL * (a11 * a22):
            a = (b1 * a22 - b2 * a12) / det
            b = (a11 * b2 - a12 * b1) / det
            return 2, a, b
    if a11 > 0.0:
        return 1, b1 / a11, 0.0
    return 1, math.nan, 0.0


def fit_rate(S: Sequence[float], order: int) -> float:
    """Largest |root| of the fitted recurrence, from the sums S = (a11, a12, a22, b1, b2).

    order 2: roots of z^2 - a z - b; disc = a^2/4 + b (written 0.25*a*a + b);
             r = |a|/2 + sqrt(disc) if disc >= 0 (real roots), else sqrt(-b)
             (complex pair, |z|^2 = -b).
    order 1: r = |b1 / a11|, NaN if a11 <= 0 (no data).
    """
    used, a, b = fit_coefficients(S, order)
    if used == 2:
        disc = 0.25 * a * a + b
        if disc >= 0.0:
            return 0.5 * abs(a) + _sqrt(disc)
        return _sqrt(-b)
    return abs(a)  # abs(b1 / a11), or NaN


def combine_rates(rs: Sequence[float]) -> float:
    """max over coordinates, ignoring NaN; NaN if all are NaN."""
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
        rs.append(fit_rate(coordinate_sums(e, last, order, B), order))
    return combine_rates(rs)


# ---------------------------------------------------------------------------------
# One trajectory
# ---------------------------------------------------------------------------------


def simulate_detail(
    optimizer: str,
    eta: float,
    beta: float,
    lam: Sequence[float],
    start: Sequence[float],
    steps: int,
    tol: float = 1e-20,
    diverge: float = 1e10,
) -> dict:
    """Like :func:`simulate`, plus the recorded history for white-box tests.

    Extra keys: ``history`` (list over t = 0..last of the error vector e_t = w_t - w*),
    ``last`` (last accumulated step, -1 if none), ``order``, ``B``, ``t_last`` (per
    coordinate).
    """
    if optimizer not in ORDER:
        raise ValueError(f"unknown optimizer {optimizer!r}")
    order = ORDER[optimizer]
    B = block_length(steps)
    lam = [float(x) for x in lam]
    w = [float(x) for x in start]
    v = [0.0] * len(w)
    w_star = [0.0] * len(w)

    def error(w):
        return [w[i] - w_star[i] for i in range(len(w))]

    loss0 = loss(lam, w)
    gap0 = loss0 - LOSS_MIN
    conv_thr = tol * gap0
    div_thr = diverge * gap0

    history: list[list[float]] = []
    status, n_steps, diverge_step, final_loss = "max_steps", steps, -1, loss0

    if not math.isfinite(gap0):
        status, n_steps, diverge_step, final_loss = "diverged", 0, 0, math.inf
    else:
        history.append(error(w))  # accumulation for t = 0 (only the freeze check)
        if gap0 <= conv_thr:
            status, n_steps = "converged", 0
        else:
            for t in range(1, steps + 1):
                update(optimizer, eta, beta, lam, w, v)
                L = loss(lam, w)
                gap = L - LOSS_MIN
                if not math.isfinite(gap):
                    # stop before accumulating step t
                    status, n_steps, diverge_step, final_loss = "diverged", t, t, math.inf
                    break
                history.append(error(w))  # accumulation for step t
                if gap > div_thr:
                    status, n_steps, diverge_step, final_loss = "diverged", t, t, L
                    break
                if gap <= conv_thr:
                    status, n_steps, final_loss = "converged", t, L
                    break
                final_loss = L  # max_steps: the loss after the last step

    last = len(history) - 1
    rate = estimate_rate(history, last, order, B)  # NaN when nothing was accumulated
    t_last = [last_step([h[i] for h in history], last) for i in range(len(w))] if history else []
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
) -> dict:
    """Run one trajectory; returns status, steps, diverge_step, loss0, final_loss, rate.

    status is "converged" | "diverged" | "max_steps"; diverge_step is -1 unless diverged.
    """
    out = simulate_detail(optimizer, eta, beta, lam, start, steps, tol, diverge)
    return {
        k: out[k] for k in ("status", "steps", "diverge_step", "loss0", "final_loss", "rate")
    }
