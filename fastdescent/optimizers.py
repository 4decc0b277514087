"""Update rules, by name and by the small integer code the kernels dispatch on.

All three keep a velocity v (v_0 = 0) and write the step with an absolute step size eta:

gd          w <- w - eta * grad f(w)
heavy_ball  v <- beta * v - eta * grad f(w);            w <- w + v
            (Polyak's heavy ball; the same iteration as PyTorch ``SGD(momentum=beta,
            lr=eta)`` and as ``v <- beta*v + g; w <- w - eta*v``. Not the EMA form
            ``v <- beta*v + (1-beta)*g``, whose effective step is eta*(1-beta).)
nesterov    v <- beta * v - eta * grad f(w + beta * v); w <- w + v
            (Sutskever et al.'s form of Nesterov's accelerated gradient.)

The adaptive optimizers follow PyTorch's update rules (float64; ``torch.optim.Adam``
with amsgrad=False, weight_decay=0; ``RMSprop`` with centered=False; ``Adagrad`` with
lr_decay=0, initial_accumulator_value=0), operation for operation as PyTorch's
single-tensor code writes them, t = 1, 2, ... the update's number, every state 0 at t = 0:

adam        m <- m + (1 - beta)(g - m)                [exp_avg.lerp_(g, 1 - beta1)]
            s <- beta2 s + (1 - beta2) g^2
            w <- w - (eta / (1 - beta^t)) m / (sqrt(s) / sqrt(1 - beta2^t) + eps)
            i.e. m_hat = m / (1 - beta1^t), s_hat = s / (1 - beta2^t),
            w <- w - eta m_hat / (sqrt(s_hat) + eps); beta is beta1 (axis beta)
rmsprop     s <- beta2 s + (1 - beta2) g^2            (beta2 is PyTorch's alpha)
            b <- beta b + g / (sqrt(s) + eps);  w <- w - eta b   (beta is the momentum mu;
            with beta = 0, w <- w - eta g / (sqrt(s) + eps), PyTorch's branch)
adagrad     G <- G + g^2;  w <- w - eta g / (sqrt(G) + eps)

PyTorch computes beta1^t as a float power; the kernels keep the running products
beta^t = beta * beta^(t-1) (one multiplication per step, not a pow), whose last bits may
differ. ``eta`` is the schedule's eta_t where there is one, as PyTorch's scheduler sets
lr before each step. Their effective per-coordinate step size is eta / (sqrt(s_hat) +
eps) (Adam: times the momentum's 1/(1 - beta)); on a quadratic, the frozen
preconditioner's stability edges are in ``fastdescent.theory.adaptive_edge``.

On a quadratic with eigenvalue lam, each eigen-direction of the error obeys
e_{t+1} = p e_t - q e_{t-1} with characteristic polynomial z^2 - p z + q:
gd p = 1 - eta*lam, q = 0; heavy_ball p = 1 + beta - eta*lam, q = beta;
nesterov p = (1 + beta)(1 - eta*lam), q = beta (1 - eta*lam)  (see ``fastdescent.theory``).
"""

from __future__ import annotations

GD = 0
HEAVY_BALL = 1
NESTEROV = 2
ADAM = 3
RMSPROP = 4
ADAGRAD = 5

CODES = {
    "gd": GD, "heavy_ball": HEAVY_BALL, "nesterov": NESTEROV, "adam": ADAM,
    "rmsprop": RMSPROP, "adagrad": ADAGRAD,
}  # fmt: skip
#: the adaptive optimizers: a per-coordinate step from running sums of g^2 (below)
ADAPTIVE = ("adam", "rmsprop", "adagrad")
#: order of the linear recurrence each error coordinate obeys (used by the rate fit; the
#: adaptive iterations are not linear, and their rate is NaN)
ORDER = {"gd": 1, "heavy_ball": 2, "nesterov": 2, "adam": 2, "rmsprop": 2, "adagrad": 1}
#: axes each optimizer reads (besides the problem's and ``seed``)
AXES = {
    "gd": ("lr",),
    "heavy_ball": ("lr", "beta"),
    "nesterov": ("lr", "beta"),
    "adam": ("lr", "beta", "beta2", "eps"),
    "rmsprop": ("lr", "beta", "beta2", "eps"),
    "adagrad": ("lr", "eps"),
}
#: the value of an axis the spec leaves out, per optimizer (PyTorch's defaults)
AXIS_DEFAULTS = {
    "adam": {"beta": 0.9, "beta2": 0.999, "eps": 1e-8},
    "rmsprop": {"beta": 0.0, "beta2": 0.99, "eps": 1e-8},
    "adagrad": {"eps": 1e-10},
}
