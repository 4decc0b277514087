"""One adaptive update, coordinate by coordinate: PyTorch's operations in PyTorch's order.

Every kernel that runs ``adam``, ``rmsprop`` or ``adagrad`` (the quadratics' lockstep
kernel ``lanes_loss._adaptive_block``, the landscapes' ``block.block_noisy``, the
[record] loops in ``kernels.record``) calls these two functions, so that they all give
the same bits. Both are ``jit_inline``: the optimizer is a constant at every call site and
the branches fold away inside the vectorised lane loops.

Per step t -> t + 1 (eta = eta_t, the scheduled step size; g = the gradient used,
noise included), ``fastdescent.optimizers`` has the rules:

- ``corrections``: Adam's bias corrections as running products p1 = beta1^(t+1),
  p2 = beta2^(t+1); step size h = eta / (1 - p1), and sqrt(1 - p2). Below TINY a product
  is kept at 0 (1 - p is 1.0 exactly either way; avoids subnormals). Other optimizers:
  h = eta, sqrt term 1.
- ``step``: one coordinate w with its first-moment buffer v (Adam's m, RMSProp's
  momentum buffer b) and its sum of squares q (Adam's and RMSProp's s, Adagrad's G):

      adam     m <- lerp(m, g, 1 - beta1)  (torch.lerp on CPU: two formulas)
               s <- s beta2 + ((1 - beta2) g) g
               w <- w + ((-h) m) / (sqrt(s) / sqrt(1 - beta2^t) + eps)
      rmsprop  s <- s alpha + ((1 - alpha) g) g,  a = sqrt(s) + eps   (alpha: beta2)
               mu != 0: b <- b mu + g / a,  w <- w + (-eta) b
               mu == 0: w <- w + ((-eta) g) / a                        (mu: beta)
      adagrad  G <- G + g g,  w <- w + ((-eta) g) / (sqrt(G) + eps)

- ``denominator``: the update's denominator for a coordinate, sqrt(q)/sqrt(1 - beta2^t)
  + eps (Adam), sqrt(q) + eps (the others): the preconditioner of the
  ``precond_sharpness`` column.
"""

from __future__ import annotations

import math

from .._jit import jit_inline
from ..optimizers import ADAM, RMSPROP

TINY = 2.0**-60  # beta^t below this is kept at 0 (1 - beta^t == 1.0 exactly either way)


@jit_inline
def corrections(optimizer, eta, beta, beta2, p1, p2):
    """(p1', p2', h, sqrt(1 - p2')): the running products after this step, its step size
    and Adam's second-moment correction (module docstring)."""
    if optimizer == ADAM:
        p1 = p1 * beta if p1 > TINY else 0.0
        p2 = p2 * beta2 if p2 > TINY else 0.0
        return p1, p2, eta / (1.0 - p1), math.sqrt(1.0 - p2)
    return p1, p2, eta, 1.0


@jit_inline
def step(optimizer, w, g, v, q, h, bc2s, beta, beta2, eps):
    """(w', v', q'): one coordinate's update (module docstring); h, bc2s from
    ``corrections``."""
    if optimizer == ADAM:
        wt = 1.0 - beta  # m.lerp_(g, 1 - beta1), as torch.lerp
        low = v + wt * (g - v)
        high = g - (g - v) * (1.0 - wt)
        m2 = low if wt < 0.5 else high
        q2 = q * beta2 + ((1.0 - beta2) * g) * g
        den = math.sqrt(q2) / bc2s + eps
        return w + ((-h) * m2) / den, m2, q2
    if optimizer == RMSPROP:
        q2 = q * beta2 + ((1.0 - beta2) * g) * g
        avg = math.sqrt(q2) + eps
        b2 = v * beta + g / avg
        with_momentum = w + (-h) * b2
        plain = w + ((-h) * g) / avg
        return (with_momentum if beta != 0.0 else plain), (b2 if beta != 0.0 else v), q2
    q2 = q + g * g  # ADAGRAD
    std = math.sqrt(q2) + eps
    return w + ((-h) * g) / std, v, q2


@jit_inline
def denominator(optimizer, q, p2, eps):
    """The update's denominator of a coordinate with sum of squares q, after the step
    whose running product beta2^t is p2."""
    root = math.sqrt(q)
    return (root / math.sqrt(1.0 - p2) if optimizer == ADAM else root) + eps
