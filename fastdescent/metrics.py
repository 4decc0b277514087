"""Status codes and the rate estimator shared by every kernel.

``rate`` is the measured asymptotic per-step contraction factor of ||w_t - w*||.
Every coordinate x_t of the error w_t - w* of a momentum method on a quadratic obeys an
exact linear recurrence

    x_t = a x_{t-1} + b x_{t-2}     (order 2: heavy ball, Nesterov)
    x_t = c x_{t-1}                 (order 1: gradient descent)

whose characteristic roots are the eigenvalues of the iteration. The kernels fit it per
coordinate by least squares over a late window, from streaming sums (no history is
stored), and report the largest |root| over the coordinates. Unlike a log-slope of
||w_t - w*||, this is exact when the roots are complex (the norm oscillates) or repeated
(x_t ~ (t+1) rho^t), and it needs only a handful of steps, so it stays right when a fast
run converges after a few iterations.

Conditioning. When both roots are near +1 (slow monotone modes, the interesting ones)
x_{t-1} and x_{t-2} are nearly parallel, and normal equations in that basis square an
already large condition number: a near-double root then moves by sqrt(eps * cond^2),
tens of percent at kappa = 1e4 (and likewise for both roots near -1). The fit therefore
regresses on a basis that stays well conditioned,

    F_t = x_t - sigma x_{t-1},    F_t = alpha x_{t-1} + gamma F_{t-1},

i.e. x_t = (sigma + alpha + gamma) x_{t-1} - sigma gamma x_{t-2}. Forming the differences
(sigma = +1) or sums (sigma = -1) before any product keeps the information that the
cancellation in sum(x_{t-1}^2) - sum(x_{t-1} x_{t-2}) would destroy. sigma is measured
per coordinate on the first step: +1 if x_1 x_0 >= 0 (the coordinate kept its sign), else
-1; on a quadratic that is sign(1 - eta*lam), which is +1 wherever both roots can be near
+1 and -1 wherever both can be near -1. The roots are z = sigma + y with

    y^2 + (sigma - alpha - gamma) y - sigma alpha = 0,    z1 z2 = sigma gamma,

computed in y so that near-double roots are resolved from small, accurate numbers.
Order 1 (gd): F_t = (c - sigma) x_{t-1}, c = sigma + rxf / xx.
The five window sums per coordinate, with x1 = x_{t-1}, F1 = F_{t-1}:

    0 xx = sum x1^2   1 xf = sum x1 F1   2 ff = sum F1^2   3 rxf = sum F_t x1   4 rff = sum F_t F1

(order 1 uses only xx and rxf).

Window: sums are kept for two blocks of B = 32 steps, ``prev`` and ``cur``; at steps
t = B+1, 2B+1, ... ``prev`` takes ``cur`` and ``cur`` restarts, and the fit uses
prev + cur, i.e. the last B..2B steps.

The floor. At t = 0 and at the end of every block (t = B, 2B, ...), a coordinate with
x_t^2 <= FLOOR = 1e-200 (|x_t| <= 1e-100) stops accumulating: its window freezes with
the equation of step t as its last, and the coordinate is set exactly to the minimum,
w = w*, v = 0, where it stays. It is 1e-100 from it already: the loss changes by at most
lam * 1e-200, below the rounding of any loss above ~1e-184. Checking only at block ends
keeps the check out of the per-step loop; a coordinate can then fall below 1e-100 for
up to B steps. It would need a contraction below 3e-7 per step to become subnormal
(below 2.2e-308; x86 computes subnormal numbers about 100x slower), and below 0.02 for
its square to (a few steps per trajectory at most); in a fit such late products are
dwarfed by the window's earlier terms. dtype = "float32" uses FLOOR32 = 2**-80
(|x| <= 9e-13) the same way.

Until 2026-11-22 B was max(32, steps // 8), and the floor (1e-280) was checked on every
step. A fixed B = 32 lets the kernel recompute the window from checkpoints instead
of streaming the sums on every step (``fastdescent.kernels.simd.blocks``), and the accuracy on the
dense grids below is the same (worst error 1.3e-4 heavy ball, 1.7e-4 nesterov, 1e-12 gd,
1000 steps). Double roots: where both
roots of a coordinate coincide, x_t = (a + b t) rho^t, and a 32..64-step window ending at
a late t sees a single mode with the local ratio rho (1 + 1/t): the fit falls back to
order 1 and the rate is high by about 1/t in log (3.7e-4 at t = 1640, heavy ball at its
optimum run with tol = 0 to underflow; tests/test_naive_selfcheck.py). At ordinary
tolerances the runs end early enough for the order-2 fit to separate them.

Degenerate data (a single mode to rounding precision, e.g. heavy ball with beta = 0, or
a second mode that has died out) makes the 2x2 system singular, and near-singular
systems are solved inaccurately: relative errors ~ eps / (det/ff) in (alpha, gamma).
When det <= DET_RTOL * ff (sums divided by xx) the fit falls back to order 1, whose bias
is about sqrt(det/ff) times the gap between the roots. The two errors balance at
det/ff ~ eps^(2/3) ~ 4e-11, hence DET_RTOL = 1e-10: both stay below ~1e-5. Measured on
dense (lr, beta, kappa <= 1e4) grids, the worst rate error is 1.7e-4 of |log rho| for heavy
ball and nesterov (with DET_RTOL = 1e-13 it was 18%, at points where a weak second mode
sat just above the threshold).
"""

from __future__ import annotations

import math

from ._jit import jit

# status codes; the order is the dictionary of the Parquet `status` column
CONVERGED = 0
DIVERGED = 1
MAX_STEPS = 2
ESCAPED = 3
STATUS_NAMES = ("converged", "diverged", "max_steps", "escaped")

MAX_FLOAT = 1.7976931348623157e308  # the largest finite float64; diverge thresholds are capped here
FLOOR = 1e-200  # e_t^2 at or below this at t = 0, B, 2B, ... freezes a coordinate
MAX_FLOAT32 = 3.4028234663852886e38  # the largest finite float32 (dtype = 'float32')
FLOOR32 = 2.0**-80  # FLOOR for dtype = 'float32' (~8.3e-25, exact in float32)
DET_RTOL = 1e-10  # order-2 fit only when det > DET_RTOL * ff (sums divided by xx)
BLOCK = 32  # rate-window block length (see the module docstring)


def block_length(steps: int) -> int:
    """Rate-window block length B = 32, whatever ``steps``; the window is B..2B steps."""
    return BLOCK


@jit
def fit_rate(xx, xf, ff, rxf, rff, sigma, order):
    """Largest |root| of the recurrence fitted from the window sums; NaN without data.

    See the module docstring for the sums and sigma. The sums are first divided by xx,
    so that the fit does not depend on the scale of the errors (products of sums would
    underflow below ~1e-154 and overflow above ~1e154). order 1, or a degenerate order-2
    system (det <= DET_RTOL * ff): r = |sigma + rxf / xx|.
    """
    if not xx > 0.0:
        return math.nan
    xf = xf / xx
    ff = ff / xx
    rxf = rxf / xx
    rff = rff / xx
    if order == 2:
        det = ff - xf * xf
        if ff > 0.0 and det > DET_RTOL * ff:
            alpha = (rxf * ff - rff * xf) / det
            gamma = (rff - xf * rxf) / det
            p = sigma - alpha - gamma  # y^2 + p y + q = 0, z = sigma + y
            q = -(sigma * alpha)
            disc = 0.25 * p * p - q
            if disc >= 0.0:
                s = math.sqrt(disc)
                return max(abs(sigma - 0.5 * p + s), abs(sigma - 0.5 * p - s))
            return math.sqrt(abs(sigma * gamma))  # complex pair: |z|^2 = z1 z2
    return abs(sigma + rxf)


@jit
def sums_rate(cur, prv, sigma, order):
    """Fitted |root| from the ``prev`` and ``cur`` block sums (5-tuples), summed."""
    return fit_rate(
        prv[0] + cur[0],
        prv[1] + cur[1],
        prv[2] + cur[2],
        prv[3] + cur[3],
        prv[4] + cur[4],
        sigma,
        order,
    )


@jit
def stopped_at_start(j, l0, tol, status, n_steps, diverge_step, loss0, final_loss, rate):
    """The stopping rules at t = 0 for output row j, whose start loss is l0 (loss_min = 0):
    diverged if it is not finite, converged if l0 <= tol * l0 (the start is the minimum).
    Writes the row and returns True if the trajectory stops there; else writes loss0 only.
    """
    g0 = l0 - 0.0
    loss0[j] = l0
    if not math.isfinite(g0):
        status[j], n_steps[j], diverge_step[j] = DIVERGED, 0, 0
        final_loss[j], rate[j] = math.inf, math.nan
        return True
    if g0 <= tol * g0:
        status[j], n_steps[j], diverge_step[j] = CONVERGED, 0, -1
        final_loss[j], rate[j] = l0, math.nan
        return True
    return False
