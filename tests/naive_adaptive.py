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


def _coordinate_step(optimizer, w, g, m, q, e, beta, beta2, eps, step_size, bc2s):
    """One coordinate of PyTorch's update (as in ``simulate_adaptive``): (w, m, q)."""
    if optimizer == "adam":
        m = _lerp(m, g, 1.0 - beta)
        q = q * beta2 + ((1.0 - beta2) * g) * g
        return w + ((-step_size) * m) / (math.sqrt(q) / bc2s + eps), m, q
    if optimizer == "rmsprop":
        q = q * beta2 + ((1.0 - beta2) * g) * g
        avg = math.sqrt(q) + eps
        if beta != 0.0:
            m = m * beta + g / avg
            return w + (-e) * m, m, q
        return w + ((-e) * g) / avg, m, q
    if optimizer == "adagrad":
        q = q + g * g
        return w + ((-e) * g) / (math.sqrt(q) + eps), m, q
    raise ValueError(optimizer)


def simulate_adaptive_landscape(fns, optimizer, eta, beta, beta2, eps, start, steps, dim=2,
                                sigma=0.0, normals=None, factors=None, tail_from=None,
                                fmin=0.0, grad_tol=1e-10, radius=1e6,
                                settle=1000) -> dict:  # fmt: skip
    """One trajectory on a landscape (``fns``: tests/test_lanes.py's Fns), a notebook's
    loop with PyTorch's update: at every t the tail's excess loss f(w_t) - fmin
    (t >= tail_from, finite), the stop rules on w_t (left the radius or gradient not
    finite; converged |g| <= grad_tol, only without noise; t = steps), then the update
    with g + sigma xi_t (normals(t) -> (xi_x, xi_y); 1-D problems: x only, y stays 0) and
    eta_t = eta factors[t]. A run that converged, or a noisy one at max_steps, gets the
    basin of where it settles: the same optimizer from its state, without noise, at the
    base eta, up to ``settle`` steps under the noiseless rules, then ``naive.listed_basin``
    (Newton's polish, the listed minimum within BASIN_DISTANCE, no negative curvature).
    precond_sharpness: the largest eigenvalue of D^-1/2 H D^-1/2 at the final w, D the
    update's denominators (NaN before any update)."""
    from naive import eig2, listed_basin

    coords = range(dim)
    w = [float(start[0]), float(start[1]) if dim == 2 else 0.0]
    w0 = list(w)
    m, q = [0.0, 0.0], [0.0, 0.0]
    p1 = p2 = 1.0
    tail_from = steps + 1 if tail_from is None else tail_from
    n = mean = m2 = 0.0
    f0 = fns.value(*w)

    def rules(w, t, noisy, limit):
        gx, gy = fns.grad(*w)
        g2 = gx * gx + gy * gy
        dx, dy = w[0] - w0[0], w[1] - w0[1]
        if not (dx * dx + dy * dy <= radius * radius) or not (g2 <= MAX_FLOAT):
            return "left", (gx, gy)
        if not noisy and g2 <= grad_tol * grad_tol:
            return "converged", (gx, gy)
        if t == limit:
            return "max_steps", (gx, gy)
        return None, (gx, gy)

    def update(w, g, e):
        nonlocal p1, p2
        step_size, bc2s = e, 1.0
        if optimizer == "adam":
            p1, p2 = p1 * beta, p2 * beta2
            step_size, bc2s = e / (1.0 - p1), math.sqrt(1.0 - p2)
        for i in coords:
            w[i], m[i], q[i] = _coordinate_step(optimizer, w[i], g[i], m[i], q[i], e, beta,
                                                beta2, eps, step_size, bc2s)  # fmt: skip

    status, t_stop = None, 0
    for t in range(steps + 1):
        e_loss = fns.value(*w) - fmin
        if t >= tail_from and abs(e_loss) <= MAX_FLOAT:
            n += 1.0
            delta = e_loss - mean
            mean += delta / n
            m2 += delta * (e_loss - mean)
        status, g = rules(w, t, sigma != 0.0, steps)
        if status is not None:
            t_stop = t
            break
        g = list(g)
        if sigma != 0.0:
            zx, zy = normals(t)
            g[0] = g[0] + sigma * zx
            g[1] = g[1] + sigma * (zy if dim == 2 else 0.0)
        factor = factors[t] if factors is not None and len(factors) else 1.0
        update(w, g, eta * factor)
    f = fns.value(*w)
    out = {
        "status": status, "steps": t_stop, "diverge_step": -1, "loss0": f0, "final_loss": f,
        "x_final": w[0], "y_final": w[1], "basin": -1, "rate": math.nan,
        "loss_tail_mean": mean if n > 0 else math.nan,
        "loss_tail_std": math.sqrt(m2 / n) if n > 0 else math.nan,
        "precond_sharpness": math.nan,
    }  # fmt: skip
    if t_stop > 0:
        den = []
        for i in coords:
            root = math.sqrt(q[i])
            den.append((root / math.sqrt(1.0 - p2) if optimizer == "adam" else root) + eps)
        a, b, d = fns.hessian(*w)
        if dim == 1:
            out["precond_sharpness"] = a / den[0]
        else:
            lam, _ = eig2((a / den[0], b / math.sqrt(den[0] * den[1]), d / den[1]))
            out["precond_sharpness"] = lam[1]
    if status == "left":
        out["status"] = "escaped" if f < f0 else "diverged"
        out["diverge_step"] = t_stop
        return out
    if status == "max_steps" and sigma == 0.0:
        return out
    # the basin: settle without noise from here (a converged run stops at once)
    for k in range(settle + 1):
        why, g = rules(w, k, False, settle)
        if why == "left":
            return out
        if why is not None:
            break
        update(w, list(g), eta)
    out["basin"] = listed_basin(fns, *w)[0]
    return out
