"""Slow twin of the linreg mini-batch kernel, course style: one trajectory at a time, the
residual form of the mini-batch gradient, NumPy, and batch sampling written again from
its specification (``fastdescent.kernels.batches`` docstring) in Python integers."""

from __future__ import annotations

import math

import numpy as np
from naive_rng import philox_python

from fastdescent import rng

MASK = 0xFFFFFFFF


def below(seed: int, step: int, k: int, m: int) -> int:
    """Draw k of (seed, step): floor(u * m / 2^64), u the 64-bit word k % 2 of the block."""
    w = philox_python([step, k // 2, rng.STREAM_BATCH, 0], [seed & MASK, seed >> 32])
    hi, lo = (w[0], w[1]) if k % 2 == 0 else (w[2], w[3])
    return ((hi << 32) | lo) * m >> 64


def epoch_permutation(seed: int, epoch: int, n: int) -> list[int]:
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        j = below(seed, epoch, n - 1 - i, i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def batch(sampling: str, seed: int, t: int, B: int, n: int) -> list[int]:
    """Step t's batch (``sampling``: "full", "epoch", "subset", "replacement")."""
    if sampling == "full":
        return list(range(n))
    if sampling == "epoch":
        per = n // B
        perm = epoch_permutation(seed, t // per, n)
        p = t % per
        return perm[p * B : (p + 1) * B]
    if sampling == "subset":
        pool = list(range(n))
        for k in range(B):
            j = k + below(seed, t, k, n - k)
            pool[k], pool[j] = pool[j], pool[k]
        return pool[:B]
    return [below(seed, t, k, n) for k in range(B)]


def simulate(ds, optimizer, eta, beta, sigma, B, seed, steps, sampling, start, tol=1e-20,
             diverge=1e10, tail_steps=0, beta2=0.0, eps=0.0) -> dict:  # fmt: skip
    """One trajectory: status, steps, diverge_step, loss0, final_loss, tail mean / std;
    the adaptive optimizers with PyTorch's update on w itself (``naive_adaptive``), and
    their precond_sharpness: the largest eigenvalue of D^-1/2 (2 X^T X / n) D^-1/2, D the
    update's denominators after the last step."""
    from naive_adaptive import _coordinate_step

    X, y, w_hat = np.asarray(ds.X), np.asarray(ds.y), np.asarray(ds.w_hat)
    n, d = X.shape
    M = X.T @ X / n
    if sampling != "replacement" and B == n:
        sampling = "full"

    def mse(w):
        r = y - X @ w
        return float(r @ r) / n

    def excess(w):
        e = w - w_hat
        return float(e @ M @ e)

    w = np.array(start, dtype=float)
    v = np.zeros(d)
    q = np.zeros(d)
    p1 = p2 = 1.0
    loss0, gap0 = mse(w), excess(w)
    out = {"loss0": loss0, "tail_mean": math.nan, "tail_std": math.nan,
           "precond_sharpness": math.nan}  # fmt: skip
    if gap0 <= tol * gap0:
        return {**out, "status": "converged", "steps": 0, "diverge_step": -1, "final_loss": loss0}
    div_thr = min(diverge * gap0, np.finfo(float).max)
    tail = []
    for t in range(steps):
        idx = batch(sampling, seed, t, B, n)
        xi = np.array([rng.normal(seed, rng.STREAM_NOISE, t, i) for i in range(d)])
        point = w + beta * v if optimizer == "nesterov" else w
        Xb = X[idx]
        g = 2.0 / B * (Xb.T @ (Xb @ point - y[idx])) + sigma * xi
        if optimizer in ("adam", "rmsprop", "adagrad"):
            step_size, bc2s = eta, 1.0
            if optimizer == "adam":
                p1, p2 = p1 * beta, p2 * beta2
                step_size, bc2s = eta / (1.0 - p1), math.sqrt(1.0 - p2)
            for i in range(d):
                w[i], v[i], q[i] = _coordinate_step(optimizer, float(w[i]), float(g[i]),
                                                    float(v[i]), float(q[i]), eta, beta, beta2,
                                                    eps, step_size, bc2s)  # fmt: skip
            root = np.sqrt(q)
            den = (root / math.sqrt(1.0 - p2) if optimizer == "adam" else root) + eps
            r = 1.0 / np.sqrt(den)
            out["precond_sharpness"] = float(np.linalg.eigvalsh(2.0 * M * np.outer(r, r))[-1])
        elif optimizer == "gd":
            w = w - eta * g
        else:
            v = beta * v - eta * g
            w = w + v
        gap = excess(w)
        t1 = t + 1
        if not math.isfinite(gap):
            status, final = "diverged", math.inf
        else:
            if t1 > steps - tail_steps:
                tail.append(gap)
            status = None
            if gap > div_thr:
                status = "diverged"
            elif gap <= tol * gap0:
                status = "converged"
            elif t1 == steps:
                status = "max_steps"
            final = mse(w)
        if status is not None:
            if tail:
                out["tail_mean"], out["tail_std"] = float(np.mean(tail)), float(np.std(tail))
            step = t1 if status == "diverged" else -1
            return {**out, "status": status, "steps": t1, "diverge_step": step,
                    "final_loss": final}  # fmt: skip
    raise AssertionError("unreachable")
