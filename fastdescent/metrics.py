"""Status codes and the rate estimator shared by every kernel.

``rate`` is the measured asymptotic per-step contraction factor of ||w_t - w*||.
Every coordinate of the error e_t = w_t - w* of a momentum method on a quadratic obeys
an exact linear recurrence

    e_t = a * e_{t-1} + b * e_{t-2}            (order 2: heavy ball, Nesterov)
    e_t = c * e_{t-1}                          (order 1: gradient descent)

whose characteristic roots are the eigenvalues of the iteration. The kernels fit
(a, b) per coordinate by least squares over a late window, from streaming sums

    a11 = sum e_{t-1}^2,  a12 = sum e_{t-1} e_{t-2},  a22 = sum e_{t-2}^2,
    b1  = sum e_t e_{t-1},  b2 = sum e_t e_{t-2},

so no history is stored, and report the largest |root| of z^2 - a z - b over the
coordinates. Unlike a log-slope of ||e_t||, this is exact when the roots are complex
(the norm oscillates) or repeated (e_t ~ (t+1) rho^t), and it needs no more than a
handful of steps, so it stays right when a fast run converges after a few iterations.

Window: sums are kept for two blocks of B = max(32, steps // 8) steps, ``prev`` and
``cur``; at steps t = B+1, 2B+1, ... ``prev`` takes ``cur`` and ``cur`` restarts, and the
fit uses prev + cur, i.e. the last B..2B steps. A coordinate stops accumulating (its
window freezes) the first time e_t^2 <= FLOOR, so subnormal numbers never enter a fit
and a run that would underflow keeps the window it had before.

Near-degenerate data (a single mode to rounding precision, e.g. GD-like heavy ball with
beta = 0) makes the 2x2 normal matrix singular; when det <= DET_RTOL * a11 * a22 the fit
falls back to order 1, c = b1 / a11. At that threshold the weak mode's relative
amplitude is about sqrt(DET_RTOL) ~ 3e-7, so the order-1 estimate is biased by at most
that much, and above it the order-2 solve loses at most eps / DET_RTOL ~ 1e-3 relative
accuracy in the direction that only moves the weaker (spurious) root.
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

FLOOR = 1e-280  # e_t^2 at or below this freezes a coordinate's rate window
DET_RTOL = 1e-13  # order-2 fit only when det > DET_RTOL * a11 * a22
N_SUMS = 5  # a11, a12, a22, b1, b2
MIN_BLOCK = 32


def block_length(steps: int) -> int:
    """Rate-window block length B = max(32, steps // 8); the window is B..2B steps."""
    return max(MIN_BLOCK, int(steps) // 8)


@jit
def fit_rate(a11, a12, a22, b1, b2, order):
    """Largest |root| of the recurrence fitted from the window sums (NaN if no data).

    order 2: solve [[a11, a12], [a12, a22]] (a, b) = (b1, b2); roots of z^2 - a z - b:
             disc = a^2/4 + b; r = |a|/2 + sqrt(disc) if disc >= 0 else sqrt(-b).
    order 1 (or a degenerate order-2 system): r = |b1 / a11|.
    """
    if order == 2:
        det = a11 * a22 - a12 * a12
        if a11 > 0.0 and a22 > 0.0 and det > DET_RTOL * (a11 * a22):
            a = (b1 * a22 - b2 * a12) / det
            b = (a11 * b2 - a12 * b1) / det
            disc = 0.25 * a * a + b
            if disc >= 0.0:
                return 0.5 * abs(a) + math.sqrt(disc)
            return math.sqrt(-b)
    if a11 > 0.0:
        return abs(b1 / a11)
    return math.nan
