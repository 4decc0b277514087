"""Update rules, by name and by the small integer code the kernels dispatch on.

All three keep a velocity v (v_0 = 0) and write the step with an absolute step size eta:

gd          w <- w - eta * grad f(w)
heavy_ball  v <- beta * v - eta * grad f(w);            w <- w + v
            (Polyak's heavy ball; the same iteration as PyTorch ``SGD(momentum=beta,
            lr=eta)`` and as ``v <- beta*v + g; w <- w - eta*v``. Not the EMA form
            ``v <- beta*v + (1-beta)*g``, whose effective step is eta*(1-beta).)
nesterov    v <- beta * v - eta * grad f(w + beta * v); w <- w + v
            (Sutskever et al.'s form of Nesterov's accelerated gradient.)

On a quadratic with eigenvalue lam, each eigen-direction of the error obeys
e_{t+1} = p e_t - q e_{t-1} with characteristic polynomial z^2 - p z + q:
gd p = 1 - eta*lam, q = 0; heavy_ball p = 1 + beta - eta*lam, q = beta;
nesterov p = (1 + beta)(1 - eta*lam), q = beta (1 - eta*lam)  (see ``fastdescent.theory``).
"""

from __future__ import annotations

GD = 0
HEAVY_BALL = 1
NESTEROV = 2

CODES = {"gd": GD, "heavy_ball": HEAVY_BALL, "nesterov": NESTEROV}
#: order of the linear recurrence each error coordinate obeys (used by the rate fit)
ORDER = {"gd": 1, "heavy_ball": 2, "nesterov": 2}
#: axes each optimizer reads (besides the problem's and ``seed``)
AXES = {"gd": ("lr",), "heavy_ball": ("lr", "beta"), "nesterov": ("lr", "beta")}
