"""The slow twin of the adaptive optimizers on quadratics (``fastdescent.optimizers``,
the lockstep kernel ``lanes_loss.sweep_loss_noisy``): one trajectory at a time, in plain
Python floats, written from PyTorch's update rules (single-tensor code: torch.lerp for
Adam's m, addcmul for the g^2 sums, addcdiv for the step), not from the kernel.

Stop rules as every quadratic run on the lockstep kernel (``fastdescent.metrics``): the
loss gap against tol * gap0 (converged) and min(diverge * gap0, MAX_FLOAT) or not finite
(diverged), tested after each update; rate NaN; with ``tail_steps``, the mean and
population standard deviation of the excess loss over the last tail_steps states.
"""

from __future__ import annotations

import math
import sys

import numpy as np

MAX_FLOAT = sys.float_info.max


def _loss(lam, w) -> float:
    s = 0.0
    for li, wi in zip(lam, w, strict=True):
        s = s + li * (wi * wi)
    return 0.5 * s


def _lerp(start: float, end: float, weight: float) -> float:
    """torch.lerp on CPU."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def simulate_adaptive(optimizer, eta, beta, beta2, eps, lam, start, steps, tol=1e-20,
                      diverge=1e10, sigma=0.0, noise=None, factors=None,
                      tail_steps=0) -> dict:  # fmt: skip
    """One trajectory. eta absolute; beta: Adam's beta1 or RMSProp's momentum; beta2:
    Adam's beta2 or RMSProp's alpha; noise: (steps, d) normals of the seed
    (``rng.build_table``) when sigma != 0; factors: the schedule's s(t) (eta_t = eta
    s(t)). Returns status, steps, diverge_step, loss0, final_loss, rate,
    precond_sharpness and (tail_steps > 0) loss_tail_mean, loss_tail_std."""
    d = len(lam)
    w = [float(x) for x in start]
    m = [0.0] * d  # Adam's m, RMSProp's momentum buffer
    q = [0.0] * d  # the sum of g^2: Adam's and RMSProp's s, Adagrad's G
    out = {"loss0": _loss(lam, w), "rate": math.nan, "precond_sharpness": math.nan}
    out["loss_tail_mean"] = out["loss_tail_std"] = math.nan
    gap0 = out["loss0"] - 0.0
    if not math.isfinite(gap0):
        return {**out, "status": "diverged", "steps": 0, "diverge_step": 0,
                "final_loss": math.inf}  # fmt: skip
    if gap0 <= tol * gap0:
        return {**out, "status": "converged", "steps": 0, "diverge_step": -1,
                "final_loss": out["loss0"]}  # fmt: skip
    conv, div = tol * gap0, min(diverge * gap0, MAX_FLOAT)
    p1 = p2 = 1.0
    count, mean, m2 = 0, 0.0, 0.0
    tail_from = steps - tail_steps + 1
    status, t1, final = "max_steps", 0, math.nan
    for t in range(steps):
        e = eta * (factors[t] if factors is not None and len(factors) else 1.0)
        if optimizer == "adam":
            p1, p2 = p1 * beta, p2 * beta2
            step_size = e / (1.0 - p1)
            bc2s = math.sqrt(1.0 - p2)
        for i in range(d):
            g = lam[i] * w[i]
            g = g + sigma * (noise[t][i] if sigma != 0.0 else 0.0)
            if optimizer == "adam":
                m[i] = _lerp(m[i], g, 1.0 - beta)
                q[i] = q[i] * beta2 + ((1.0 - beta2) * g) * g
                denom = math.sqrt(q[i]) / bc2s + eps
                w[i] = w[i] + ((-step_size) * m[i]) / denom
            elif optimizer == "rmsprop":
                q[i] = q[i] * beta2 + ((1.0 - beta2) * g) * g
                avg = math.sqrt(q[i]) + eps
                if beta != 0.0:
                    m[i] = m[i] * beta + g / avg
                    w[i] = w[i] + (-e) * m[i]
                else:
                    w[i] = w[i] + ((-e) * g) / avg
            elif optimizer == "adagrad":
                q[i] = q[i] + g * g
                std = math.sqrt(q[i]) + eps
                w[i] = w[i] + ((-e) * g) / std
            else:
                raise ValueError(optimizer)
        t1 = t + 1
        loss = _loss(lam, w)
        gap = loss - 0.0
        finite = abs(gap) <= MAX_FLOAT
        if not finite:
            status, final = "diverged", math.inf
            break
        if t1 >= tail_from:
            count += 1
            delta = gap - mean
            mean = mean + delta / count
            m2 = m2 + delta * (gap - mean)
        final = loss
        if gap > div:
            status = "diverged"
            break
        if gap <= conv:
            status = "converged"
            break
    out.update(status=status, steps=t1, final_loss=final)
    out["diverge_step"] = t1 if status == "diverged" else -1
    if count:
        out["loss_tail_mean"], out["loss_tail_std"] = mean, math.sqrt(m2 / count)
    if t1:
        bc2s = math.sqrt(1.0 - p2) if optimizer == "adam" else 1.0
        sharp = -math.inf
        for i in range(d):
            root = math.sqrt(q[i])
            denom = (root / bc2s if optimizer == "adam" else root) + eps
            r = lam[i] / denom
            if math.isnan(r):
                sharp = r
                break
            sharp = max(sharp, r)
        out["precond_sharpness"] = sharp
    return out


def noise_table(seed: int, steps: int, d: int) -> np.ndarray:
    """The seed's (steps, d) normals, as the engine's table."""
    from fastdescent.rng import build_table

    return build_table(np.array([seed], np.int64), steps, d)[0]
