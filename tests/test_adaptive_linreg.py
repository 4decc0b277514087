"""Adam, RMSProp and Adagrad on ``linreg`` (issue #13; ``kernels.minibatch._adaptive_step``):
the kernel against the slow twin (tests/naive_linreg.py: PyTorch's update on w itself)
over samplings, batch sizes, noise and kappa; threads and chunks; [record] and replay;
and on the full batch, where linreg is a rotated quadratic (H = V diag(lambda) V^T), the
preconditioned sharpness at the frozen iteration's edge."""

from __future__ import annotations

import math

import naive_linreg
import numpy as np
import pytest
from helpers import assert_recorded_runs_end_at_the_sweep, assert_same_numbers
from test_linreg import N, assert_matches_twin, spec

import fastdescent
from fastdescent.problems import linreg
from fastdescent.theory import adaptive_edge


def spec_with(optimizer, steps, axes, **top):
    """A linreg spec (tests/test_linreg.py's data set) with top-level tables (stop,
    schedule, record)."""
    doc = {"name": "lr", "problem": "linreg", "optimizer": optimizer, "steps": steps,
           "problem_params": {"n": N, "dim": 3}, "axes": axes, **top}  # fmt: skip
    return fastdescent.parse_spec(doc)


#: short runs: a run that does not converge ends oscillating at its edge of stability, an
#: orbit that amplifies rounding differences (the kernel's z-space arithmetic against the
#: twin's w-space) by ~e^(0.2 t): 150 steps turned 1e-16 into 3e-2 on one RMSProp run
STEPS = 40
CASES = [("adam", "epoch", 0.9), ("rmsprop", "replacement", 0.5), ("rmsprop", "subset", 0.0),
         ("adagrad", "subset", None)]  # fmt: skip


@pytest.mark.parametrize(("optimizer", "sampling", "beta"), CASES)
def test_kernel_matches_the_slow_twin(optimizer, sampling, beta):
    """status, steps and diverge_step exactly; loss0, final_loss, the tail and
    precond_sharpness to 1e-8 relative (the kernel iterates z = V^T (w - w_hat) and
    rotates each update, the twin updates w: the same arithmetic up to rounding)."""
    axes = {
        "lr": {"values": [0.003, 0.03, 0.3, 1e7]},  # 1e7: |w| ~ 1e7 after one step
        "kappa": {"values": [1.0, 20.0]},
        "sigma": {"values": [0.0, 0.3]},
        "batch_size": {"values": [1, 5, N]},
        "seed": {"values": [0, 3]},
        "eps": {"values": [1e-8, 1e-3]},
    }
    if beta is not None:
        axes["beta"] = {"values": [beta]}
        axes["beta2"] = {"values": [0.95]}
    s = spec(optimizer, steps=STEPS, axes=axes, tail=0.4, sampling=sampling, noise=0.2,
             start=[1.0, -2.0, 0.5])  # fmt: skip
    df = fastdescent.run(s, progress=False, chunk_size=37)
    p = s.problem_params
    tail_steps = math.ceil(0.4 * STEPS)
    for row in df.itertuples():
        ds = linreg.dataset(row.kappa, p)
        want = naive_linreg.simulate(
            ds, optimizer, row.eta, getattr(row, "beta", 0.0), row.sigma, int(row.batch_size),
            int(row.seed), STEPS, sampling, p["start"], tail_steps=tail_steps,
            beta2=getattr(row, "beta2", 0.0), eps=row.eps,
        )  # fmt: skip
        assert_matches_twin(row, want, extra=("precond_sharpness",))
    assert set(df.status) >= {"diverged", "max_steps"}


def test_same_bytes_across_threads_and_chunks():
    axes = {"lr": {"values": [0.01, 0.1, 1.0]}, "kappa": {"values": [1.0, 30.0]},
            "batch_size": {"values": [2, 7]}, "seed": {"values": [0, 1]},
            "beta": {"values": [0.0, 0.9]}}  # fmt: skip
    s = spec("adam", steps=200, axes=axes, sampling="subset")  # sampling: problem_params
    a = fastdescent.run(s, progress=False, chunk_size=5, threads=1)
    b = fastdescent.run(s, progress=False, chunk_size=1000, threads=2)
    assert_same_numbers(a, b)


def test_replay_and_record_equal_the_sweep(tmp_path):
    axes = {"lr": {"values": [0.01, 0.3]}, "batch_size": {"values": [3, N]},
            "sigma": {"values": [0.0, 0.2]}}  # fmt: skip
    for optimizer in ("adam", "rmsprop", "adagrad"):
        axes = {**axes, "batch_size": {"values": [3, N]}}
        s = spec_with(optimizer, 150, axes, schedule={"kind": "cosine"}, record={"every": 9})
        out = fastdescent.run(s, out=tmp_path / optimizer, progress=False, chunk_size=3)
        assert_recorded_runs_end_at_the_sweep(out)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_full_batch_runs_settle_at_the_edge(optimizer):
    """Full batch: linreg is the rotated quadratic (w - w_hat)^T (H / 2) (w - w_hat), H not
    diagonal. Runs without momentum that do not converge (tol 0) end with the largest
    eigenvalue of D^-1/2 H D^-1/2 at the frozen edge 2 / eta. Measured: within 1e-6 (the
    orbit of a quadratic is an exact flip along a direction where |g_i| is the same in
    every coordinate; s, an average of g^2, then equals g^2)."""
    axes = {"lr": {"values": [0.001, 0.01, 0.1]}, "kappa": {"values": [10.0, 100.0]},
            "beta": {"values": [0.0]}, "beta2": {"values": [0.9, 0.99]}}  # fmt: skip
    s = spec_with(optimizer, 20000, axes, stop={"tol": 0.0})
    df = fastdescent.run(s, progress=False)
    assert (df.status == "max_steps").all()
    ratio = df.precond_sharpness / adaptive_edge(optimizer, df.eta, df.beta)
    assert np.allclose(ratio, 1.0, rtol=0, atol=1e-6), ratio.tolist()
