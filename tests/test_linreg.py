"""The linreg problem: its synthetic data, batch sampling, and the mini-batch kernel against
its slow twin (tests/naive_linreg.py); full batch = the deterministic sweep's bytes;
reproducibility across threads and chunks; common random numbers."""

from __future__ import annotations

import math

import naive_linreg
import numpy as np
import pytest
from helpers import assert_same_numbers

import fastdescent
from fastdescent.kernels import batches
from fastdescent.problems import linreg
from fastdescent.spec import SpecError

N, DIM = 24, 3


def params(**kw):
    return linreg.normalise_params({"n": N, "dim": DIM, **kw}, "problem_params")


def spec(optimizer="heavy_ball", steps=120, axes=None, tail=None, **kw):
    doc = {
        "name": "lr", "problem": "linreg", "optimizer": optimizer, "steps": steps,
        "problem_params": {"n": N, "dim": DIM, **kw},
        "axes": axes or {},
    }  # fmt: skip
    if tail is not None:
        doc["metrics"] = {"tail": tail}
    return fastdescent.parse_spec(doc)


# -- the data set ----------------------------------------------------------------------


@pytest.mark.parametrize("spectrum", ["endpoints", "linear", "log"])
def test_hessian_has_exactly_the_spectrum(spectrum):
    p = params(spectrum=spectrum)
    ds = linreg.dataset(30.0, p)
    H = 2.0 / N * ds.X.T @ ds.X
    want = linreg.eigenvalues([30.0], p)[0]
    np.testing.assert_allclose(np.linalg.eigvalsh(H), np.sort(want), rtol=1e-13)
    np.testing.assert_allclose(H, ds.V @ np.diag(ds.lambdas) @ ds.V.T, atol=1e-12)


def test_w_hat_is_the_least_squares_solution():
    ds = linreg.dataset(30.0, params(noise=0.3))
    ref = np.linalg.lstsq(ds.X, ds.y, rcond=None)[0]
    np.testing.assert_allclose(ds.w_hat, ref, rtol=1e-12)
    r = ds.y - ds.X @ ds.w_hat
    assert math.isclose(ds.loss_min, float(r @ r) / N, rel_tol=1e-12)
    assert ds.loss_min > 0
    w = np.random.default_rng(0).normal(size=(5, DIM))
    np.testing.assert_allclose(linreg.excess(ds, w), linreg.loss(ds, w) - ds.loss_min, rtol=1e-10)
    # the kernel's full-batch sums in H's eigenbasis: Xr^T Xr = diag(n lambda / 2), Xr^T r = 0
    from fastdescent.kernels.minibatch import kernel_data

    Xr, _, r, h, gram, xtr, z0, gap0, loss0 = kernel_data(
        ds.X, ds.y, ds.V, ds.w_hat, ds.lambdas, np.zeros(DIM)
    )
    np.testing.assert_allclose(gram, np.diag(N * ds.lambdas / 2), atol=1e-12 * N * 30)
    np.testing.assert_allclose(Xr, ds.X @ ds.V, rtol=1e-12, atol=1e-12)
    assert np.abs(xtr).max() < 1e-12 * N * 30
    np.testing.assert_array_equal(h, ds.lambdas / 2)
    np.testing.assert_allclose(z0, ds.V.T @ -ds.w_hat, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r, ds.y - ds.X @ ds.w_hat, rtol=1e-9, atol=1e-12)
    assert gap0 == pytest.approx(float(linreg.excess(ds, np.zeros(DIM))), rel=1e-12)
    assert loss0 == pytest.approx(float(linreg.loss(ds, np.zeros(DIM))), rel=1e-12)


def test_data_depend_on_kappa_and_data_seed_only():
    a = linreg.dataset(30.0, params())
    linreg._dataset.cache_clear()
    b = linreg.dataset(30.0, params())
    assert a is not b and a.X.tobytes() == b.X.tobytes() and a.y.tobytes() == b.y.tobytes()
    c = linreg.dataset(30.0, params(data_seed=1))
    assert not np.array_equal(a.X, c.X)
    zero = linreg.dataset(30.0, params(noise=0.0))
    assert zero.loss_min < 1e-25


def test_bad_params_and_batch_sizes_are_refused():
    with pytest.raises(SpecError, match=r"problem_params.n"):
        linreg.normalise_params({"n": 2, "dim": 3}, "problem_params")
    with pytest.raises(SpecError, match=r"problem_params.sampling"):
        params(sampling="shuffle")
    with pytest.raises(SpecError, match=r"axes.batch_size.values"):
        spec(axes={"lr": {"values": [0.1]}, "batch_size": {"values": [4, N + 1]}})
    with pytest.raises(SpecError, match=r"axes.batch_size.values\[0\]"):
        spec(axes={"lr": {"values": [0.1]}, "batch_size": {"values": [0]}})
    with pytest.raises(SpecError, match=r"axes.batch_size.values\[0\]"):
        spec(axes={"lr": {"values": [0.1]}, "batch_size": {"values": [2.5]}})
    with pytest.raises(SpecError, match=r"dtype"):
        fastdescent.parse_spec(
            {
                "problem": "linreg",
                "optimizer": "gd",
                "steps": 5,
                "dtype": "float32",
                "axes": {"lr": {"values": [0.1]}},
            }
        )


# -- batches ---------------------------------------------------------------------------


def _kernel_batch(sampling, seed, t, B, n):
    perm = np.empty(n, np.int64)
    if sampling == "epoch" and t % (n // B):  # the kernel refreshes at each epoch's start
        batches.epoch_permutation(seed, t // (n // B), perm)
    pool, swaps, out = np.arange(n), np.empty(B, np.int64), np.empty(B, np.int64)
    batches.batch(batches.CODES[sampling], seed, t, B, perm, pool, swaps, out)
    assert np.array_equal(pool, np.arange(n))  # restored
    return list(out)


@pytest.mark.parametrize("sampling", ["epoch", "subset", "replacement"])
def test_batches_match_the_twin_and_their_definition(sampling):
    n, B = 10, 3
    for seed in (0, 7, 2**40 + 3):
        seen = []
        for t in range(9):
            got = _kernel_batch(sampling, seed, t, B, n)
            assert got == naive_linreg.batch(sampling, seed, t, B, n)
            assert all(0 <= i < n for i in got)
            if sampling != "replacement":
                assert len(set(got)) == B
            seen.append(got)
        if sampling == "epoch":  # 3 batches per epoch, disjoint, from one permutation
            for e in range(3):
                ep = [i for b in seen[3 * e : 3 * e + 3] for i in b]
                assert len(set(ep)) == 9
                assert ep == naive_linreg.epoch_permutation(seed, e, n)[:9]


@pytest.mark.parametrize("sampling", ["subset", "replacement", "epoch"])
def test_inclusion_is_uniform(sampling):
    """Each index appears with frequency B/n per step: chi-square over 4,000 steps."""
    n, B, steps = 8, 3, 4000
    counts = np.zeros(n)
    perm = np.empty(n, np.int64)
    pool, swaps, out = np.arange(n), np.empty(B, np.int64), np.empty(B, np.int64)
    for t in range(steps):
        batches.batch(batches.CODES[sampling], 5, t, B, perm, pool, swaps, out)
        np.add.at(counts, out, 1)
    expected = steps * B / n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 24.3  # chi-square, 7 degrees of freedom, 0.1 % critical value


def test_below_is_floor_of_u_times_m():
    for seed, step, k, m in [(0, 0, 0, 1), (3, 9, 5, 7), (2**33, 4, 2, 2**32 - 1), (1, 1, 1, 1024)]:
        assert batches.below(seed, step, k, m) == naive_linreg.below(seed, step, k, m)
        assert 0 <= batches.below(seed, step, k, m) < m


# -- the kernel against its twin -------------------------------------------------------

CASES = [
    ("gd", "epoch", None), ("heavy_ball", "subset", 0.5), ("nesterov", "replacement", 0.7),
    ("heavy_ball", "epoch", 0.9),
]  # fmt: skip


@pytest.mark.parametrize(("optimizer", "sampling", "beta"), CASES)
def test_kernel_matches_the_slow_twin(optimizer, sampling, beta):
    axes = {
        "lr": {"values": [0.05, 0.4, 1.2, 2.2, 4.5], "relative_to": "lambda_max"},
        "kappa": {"values": [1.0, 20.0]},
        "sigma": {"values": [0.0, 0.3]},
        "batch_size": {"values": [1, 5, N]},
        "seed": {"values": [0, 3]},
    }
    if beta is not None:
        axes["beta"] = {"values": [beta]}
    s = spec(optimizer, steps=150, axes=axes, tail=0.4, sampling=sampling, noise=0.2,
             start=[1.0, -2.0, 0.5])  # fmt: skip
    df = fastdescent.run(s)
    p = s.problem_params
    tail_steps = math.ceil(0.4 * 150)
    for row in df.itertuples():
        ds = linreg.dataset(row.kappa, p)
        want = naive_linreg.simulate(
            ds, optimizer, row.eta, row.beta if beta is not None else 0.0, row.sigma,
            int(row.batch_size), int(row.seed), 150, sampling, p["start"],
            tail_steps=tail_steps,
        )  # fmt: skip
        assert_matches_twin(row, want)
    assert set(df.status) >= {"diverged", "max_steps"}


def assert_matches_twin(row, want, extra=()):
    """A sweep row (itertuples) against naive_linreg.simulate's dict: status, steps and
    diverge_step exactly, loss0 to 1e-12, final_loss, the tail (and the columns in extra)
    to 1e-8 relative, NaN and inf as they are; rate NaN."""
    where = row._asdict()
    assert row.status == want["status"], where
    assert row.steps == want["steps"] and row.diverge_step == want["diverge_step"], where
    assert math.isclose(row.loss0, want["loss0"], rel_tol=1e-12)
    pairs = [("final_loss", "final_loss"), ("loss_tail_mean", "tail_mean"),
             ("loss_tail_std", "tail_std"), *((k, k) for k in extra)]  # fmt: skip
    for column, key in pairs:
        got, w = getattr(row, column), want[key]
        if math.isnan(w) or math.isinf(w):
            assert got == w or (math.isnan(got) and math.isnan(w)), (key, where)
        else:
            assert math.isclose(got, w, rel_tol=1e-8, abs_tol=1e-300), (key, got, w, where)
    assert math.isnan(row.rate)


def test_interpolation_converges():
    """Without label noise every sample is fit at w_hat: mini-batch SGD converges."""
    s = spec("gd", steps=3000, axes={"lr": {"values": [0.5], "relative_to": "lambda_max"},
             "kappa": {"values": [4.0]}, "batch_size": {"values": [2, 8]}}, noise=0.0,
             sampling="subset")  # fmt: skip
    df = fastdescent.run(s)
    assert (df.status == "converged").all()


# -- full batch, reproducibility, common random numbers ---------------------------------

AXES = {
    "lr": {"start": 0.1, "stop": 2.3, "num": 7, "relative_to": "lambda_max"},
    "beta": {"values": [0.0, 0.6]},
    "kappa": {"values": [3.0, 50.0]},
}


@pytest.mark.parametrize("sampling", ["epoch", "subset"])
def test_full_batch_is_the_deterministic_sweep(sampling):
    plain = fastdescent.run(spec(axes=AXES, sampling=sampling))
    full = fastdescent.run(spec(axes={**AXES, "batch_size": {"values": [N]}}, sampling=sampling))
    cols = [c for c in plain.columns if c not in ("traj", "rate")]
    assert_same_numbers(plain, full, cols)
    assert (plain.status == "converged").any()
    rep = fastdescent.run(spec(axes={**AXES, "batch_size": {"values": [N]}},
                               sampling="replacement"))  # fmt: skip
    assert not np.array_equal(rep.final_loss, plain.final_loss)


def test_same_bytes_across_threads_and_chunks():
    axes = {**AXES, "sigma": {"values": [0.0, 0.1]}, "batch_size": {"values": [1, 4, N]},
            "seed": {"values": [0, 1, 2]}}  # fmt: skip
    s = spec(axes=axes, tail=0.5)
    ref = fastdescent.run(s, threads=1, chunk_size=s.size)
    for threads, chunk in ((2, 7), (2, 100), (1, 33)):
        assert_same_numbers(ref, fastdescent.run(s, threads=threads, chunk_size=chunk))


def test_common_random_numbers_and_seeds():
    axes = {"lr": {"values": [0.02, 0.04], "relative_to": "lambda_max"},
            "batch_size": {"values": [2]}, "seed": {"values": [0, 1]},
            "kappa": {"values": [5.0]}}  # fmt: skip
    df = fastdescent.run(spec("gd", steps=1, axes=axes, tail=1.0))
    # one GD step from w_0 = 0: w_1 = -eta g_S(0), so the excess loss at t = 1 is a
    # quadratic in eta with the batch's gradient: the ratio of the two lr's tail values
    # (= excess loss at t = 1) identifies the same batch at both grid points.
    by = {(r.lr, r.seed): r.loss_tail_mean for r in df.itertuples()}
    ds = linreg.dataset(5.0, spec(axes=axes).problem_params)
    for seed in (0, 1):
        idx = naive_linreg.batch("epoch", seed, 0, 2, N)
        g = 2 / 2 * ds.X[idx].T @ (ds.X[idx] @ np.zeros(DIM) - ds.y[idx])
        for lr in (0.02, 0.04):
            eta = lr / 5.0
            want = float(linreg.excess(ds, -eta * g))
            assert math.isclose(by[(lr, seed)], want, rel_tol=1e-12)
    assert by[(0.02, 0)] != by[(0.02, 1)]


def test_interrupted_then_resumed_to_directory(tmp_path, monkeypatch):
    """A stochastic linreg sweep stopped after 3 chunks and resumed equals one run."""
    from fastdescent import store

    axes = {**AXES, "sigma": {"values": [0.0, 0.2]}, "batch_size": {"values": [2, 6]},
            "seed": {"values": [0, 1]}}  # fmt: skip
    s = spec(axes=axes, tail=0.5, sampling="replacement")
    reference = fastdescent.run(s, threads=1)
    out = tmp_path / "sweep"
    real_write = store.write_part
    calls = []

    def flaky_write(directory, index, table):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(index)
        return real_write(directory, index, table)

    monkeypatch.setattr(store, "write_part", flaky_write)
    with pytest.raises(KeyboardInterrupt):
        fastdescent.run(s, out=out, chunk_size=25, progress=False)
    monkeypatch.setattr(store, "write_part", real_write)
    fastdescent.run(s, out=out, progress=False)
    loaded = fastdescent.load(out)
    assert_same_numbers(reference, loaded)
    assert loaded["batch_size"].dtype == np.int64
    assert {"loss_min", "loss_tail_mean", "loss_tail_std"} <= set(loaded.columns)
