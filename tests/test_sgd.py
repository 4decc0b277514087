"""Mini-batch SGD on linreg against exact theory (``fastdescent.theory.minibatch``): the
gradient-noise variance of the kernel's batch sampler vs B (with the finite-population
factor), and the stationary excess loss of the mini-batch kernel for "subset" (exact
expectation over batches) and "epoch" (exact enumeration of the epoch's orderings).

How the sizes were chosen: each seed's tail mean is an independent estimate, so the
standard error of the mean over seeds is measured, and the sizes make 3 standard errors
smaller than the stated tolerance (the tests check both)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

import fastdescent
from fastdescent import theory
from fastdescent.kernels import batches
from fastdescent.problems import linreg


@njit(cache=False)
def _gradient_moments(X, y, w, B, sampling, draws, seed):
    """Sum and sum of squares of the mini-batch gradient's components over ``draws``
    consecutive steps of the kernel's sampler, and the per-draw |g - mean|^2 terms
    (for the standard error)."""
    n, d = X.shape
    perm, pool = np.empty(n, np.int64), np.arange(n)
    swaps, idx = np.empty(B, np.int64), np.empty(B, np.int64)
    g = np.empty((draws, d))
    for t in range(draws):
        batches.batch(sampling, seed, t, B, perm, pool, swaps, idx)
        for i in range(d):
            acc = 0.0
            for k in range(B):
                p = idx[k]
                res = 0.0
                for c in range(d):
                    res += X[p, c] * w[c]
                acc += X[p, i] * (res - y[p])
            g[t, i] = 2.0 / B * acc
    return g


@pytest.mark.parametrize("sampling", ["subset", "replacement", "epoch"])
def test_gradient_noise_variance_vs_batch_size(sampling):
    """tr Cov(g_S(w)) of the sampler's batches within 2 % of the exact law, S_pop / B times
    (n - B) / (n - 1) for subset (and epoch: one step's batch alone is a uniform subset),
    1 for replacement; about 150,000 draws per B make 3 standard errors < 2 % (for "epoch"
    the standard error is that of the epochs' means: epochs are independent, the batches
    within one are not)."""
    p = linreg.normalise_params({"n": 48, "dim": 3, "noise": 0.5}, "problem_params")
    ds = linreg.dataset(5.0, p)
    w = ds.w_hat + np.array([0.3, -0.2, 0.1])
    full = 2.0 / 48 * ds.X.T @ (ds.X @ w - ds.y)
    law = "subset" if sampling == "epoch" else sampling
    for B in (1, 4, 16, 32, 47):
        per_epoch = 48 // B
        epochs = 150_000 // per_epoch
        g = _gradient_moments(ds.X, ds.y, w, B, batches.CODES[sampling], epochs * per_epoch, 11)
        dev = ((g - full) ** 2).sum(axis=1)
        if sampling == "epoch":
            dev = dev.reshape(epochs, per_epoch).mean(axis=1)
        measured, se = dev.mean(), dev.std() / np.sqrt(len(dev))
        exact = theory.gradient_noise_var(ds.X, ds.y, w, B, law)
        assert 3 * se / exact < 0.02, (B, se / exact)
        assert abs(measured / exact - 1) < 0.02, (B, measured / exact)
    if sampling != "replacement":  # B = n: every batch is the whole data set
        g = _gradient_moments(ds.X, ds.y, w, 48, batches.CODES[sampling], 50, 3)
        np.testing.assert_allclose(g, np.broadcast_to(full, g.shape), rtol=1e-12, atol=1e-12)


def _sweep(optimizer, lrs, batch_sizes, sampling, n, dim, seeds, steps, beta=None,
           sigma=None, kappa=4.0):  # fmt: skip
    axes = {
        "lr": {"values": lrs, "relative_to": "lambda_max"},
        "kappa": {"values": [kappa]},
        "batch_size": {"values": batch_sizes},
        "seed": {"start": 0, "stop": seeds - 1, "num": seeds},
    }
    if beta is not None:
        axes["beta"] = {"values": [beta]}
    if sigma is not None:
        axes["sigma"] = {"values": [sigma]}
    spec = fastdescent.parse_spec({
        "problem": "linreg", "optimizer": optimizer, "steps": steps,
        "problem_params": {"n": n, "dim": dim, "noise": 0.5, "sampling": sampling,
                           "start": [0.0] * dim},
        "metrics": {"tail": 0.5}, "axes": axes,
    })  # fmt: skip
    return spec, fastdescent.run(spec)


def _compare(df, spec, exact_fn, tolerance):
    ds = linreg.dataset(spec.axes["kappa"]["values"][0], spec.problem_params)
    worst = 0.0
    for (lr, B), group in df.groupby(["lr", "batch_size"]):
        eta = lr / ds.lambdas.max()
        exact = exact_fn(ds, eta, int(B))
        tails = group.loss_tail_mean.to_numpy()
        measured, se = tails.mean(), tails.std(ddof=1) / np.sqrt(len(tails))
        assert (group.status == "max_steps").all()
        assert 3 * se / exact < tolerance, (lr, B, se / exact)
        assert abs(measured / exact - 1) < tolerance, (lr, B, measured / exact)
        worst = max(worst, abs(measured / exact - 1))
    return worst


@pytest.mark.parametrize(
    ("optimizer", "beta", "sigma"),
    [("gd", None, None), ("heavy_ball", 0.5, None), ("nesterov", 0.5, 0.2)],
)
def test_stationary_loss_subset_matches_the_exact_expectation(optimizer, beta, sigma):
    """n = 12 samples (every batch enumerable), d = 3, B in {1, 3, 6}: the tail's excess
    loss averaged over 24 seeds within 3 % of theory.stationary_excess_loss_minibatch."""
    spec, df = _sweep(optimizer, [0.05, 0.15], [1, 3, 6], "subset", 12, 3, 24, 20_000,
                      beta=beta, sigma=sigma)  # fmt: skip
    b = 0.0 if beta is None else beta
    s = 0.0 if sigma is None else sigma
    _compare(df, spec, lambda ds, eta, B: theory.stationary_excess_loss_minibatch(
        ds.X, ds.y, eta, b, B, optimizer, "subset", sigma=s), 0.03)  # fmt: skip


@pytest.mark.parametrize(("optimizer", "beta"), [("gd", None), ("heavy_ball", 0.5)])
def test_stationary_loss_epoch_matches_random_reshuffling_theory(optimizer, beta):
    """ "epoch" (random reshuffling) is not i.i.d. sampling: its exact stationary excess
    loss, averaged over an epoch's positions, comes from enumerating the epoch's orderings
    (theory.stationary_excess_loss_epoch, n = 8). Within 3 %, 24 seeds; and clearly below
    the i.i.d. subset value at the same (eta, B)."""
    spec, df = _sweep(optimizer, [0.2, 0.5], [2, 4], "epoch", 8, 2, 24, 20_000, beta=beta)
    b = 0.0 if beta is None else beta
    _compare(df, spec, lambda ds, eta, B: theory.stationary_excess_loss_epoch(
        ds.X, ds.y, eta, b, B, optimizer), 0.03)  # fmt: skip
    ds = linreg.dataset(4.0, spec.problem_params)
    for (lr, B), group in df.groupby(["lr", "batch_size"]):
        subset = theory.stationary_excess_loss_minibatch(
            ds.X, ds.y, lr / ds.lambdas.max(), b, int(B), optimizer, "subset"
        )
        assert group.loss_tail_mean.mean() < 0.9 * subset
