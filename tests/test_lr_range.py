"""The learning-rate range test (``fastdescent.analysis_range``, ``scripts/lr_range_test.py``).

The smoothers, stop rules and suggestion rules against direct transcriptions of
pytorch-lr-finder's and fastai's loops; the cliff against theory's limits 2 / lambda_max
(gd) and 2 (1 + beta) / lambda_max (heavy ball) on noisy quadratics across kappa, on
frames built by a slow twin (plain NumPy: gd / heavy ball on a diagonal quadratic with the
exp_range step size and additive Gaussian gradient noise), and the two ways it fails:
noiseless, the cliff lags far behind the limit; with every direction on its noise floor
long before the limit, the floor's rise trips the stop rule early.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fastdescent import analysis_range as ar

# the range test of the cliff tests: eta from 0.05 / lambda_max to 5 / lambda_max
STEPS, END, LR0 = 50_000, 100.0, 0.05


def twin(configs, sigma, seeds=8, steps=STEPS, end=END, lr0=LR0, every=1, diverge=1e10):
    """Slow twin of a recorded exp_range sweep on f = 1/2 (w_0^2 + kappa w_1^2) from
    w = (1, 1): heavy ball v <- beta v - eta_t (grad f + sigma xi_t), w <- w + v (beta = 0
    is gd), eta_t = lr0 / kappa * end ** (t / (steps - 1)), xi_t ~ N(0, I) from numpy.
    ``configs``: [(beta, kappa), ...]; trajectories are config-major, seed-minor. A
    trajectory stops after the state whose loss exceeds ``diverge`` * loss0 or is not
    finite (the engine's rule). Returns (frame, summary) as load_trajectories / load."""
    beta = np.repeat([b for b, _ in configs], seeds)[:, None]
    kappa = np.repeat([k for _, k in configs], seeds)
    lam = np.stack([np.ones_like(kappa), kappa], axis=1)
    n = len(kappa)
    rng = np.random.default_rng(12345)
    w, v = np.ones((n, 2)), np.zeros((n, 2))
    eta0 = lr0 / kappa
    loss0 = 0.5 * lam.sum(axis=1)
    alive = np.ones(n, bool)
    traj, step, loss, eta = [], [], [], []
    block = None
    with np.errstate(all="ignore"):
        for t in range(steps + 1):
            f = 0.5 * (lam * w * w).sum(axis=1)
            eta_t = eta0 * end ** (t / (steps - 1))
            if t % every == 0 or t == steps:
                idx = np.flatnonzero(alive)
                traj.append(idx), step.append(np.full(len(idx), t))
                loss.append(f[idx]), eta.append(eta_t[idx])
            dead = alive & ~(f <= diverge * loss0)
            if dead.any():  # record the final state once, then stop
                idx = np.flatnonzero(dead & (t % every != 0) & (t != steps))
                traj.append(idx), step.append(np.full(len(idx), t))
                loss.append(f[idx]), eta.append(eta_t[idx])
                alive &= ~dead
            if t == steps or not alive.any():
                break
            if t % 1000 == 0:
                block = rng.standard_normal((1000, n, 2))
            g = lam * w + sigma * block[t % 1000]
            v = beta * v - eta_t[:, None] * g
            w = w + v
    frame = pd.DataFrame({
        "traj": np.concatenate(traj), "step": np.concatenate(step),
        "loss": np.concatenate(loss), "eta": np.concatenate(eta),
    })  # fmt: skip
    frame = frame.sort_values(["traj", "step"], kind="stable", ignore_index=True)
    summary = pd.DataFrame({
        "traj": np.arange(n), "beta": beta[:, 0], "kappa": kappa,
        "seed": np.tile(np.arange(seeds), len(configs)), "eta": eta0,
        "lambda_min": 1.0, "lambda_max": kappa,
    })  # fmt: skip
    return frame, summary


def _ratios(frame, summary, optimizer="heavy_ball", steps=STEPS):
    traj, step, eta, loss, every = ar.table(frame, steps)
    per = ar.suggestions(traj, step, eta, loss, every, steps)
    return ar.summarise(per, summary, optimizer, ["beta", "kappa"])


# ------------------------------------------------- the libraries' loops, transcribed


def lr_finder_history(losses, smooth_f=0.05, diverge_th=5.0):
    """pytorch-lr-finder's ``range_test`` loop over given batch losses: the smoothed
    history, ending at the stop (that loss included)."""
    history, best = [], None
    for i, loss in enumerate(losses):
        if i == 0:
            best = loss
        else:
            if smooth_f > 0:
                loss = smooth_f * loss + (1 - smooth_f) * history[-1]
            if loss < best:
                best = loss
        history.append(loss)
        if loss > diverge_th * best:
            break
    return np.array(history)


def lr_finder_steepest(lrs, history, skip_start=10, skip_end=5):
    """pytorch-lr-finder's ``plot(suggest_lr=True)``."""
    lrs, losses = list(lrs[: len(history)]), list(history)
    lrs, losses = lrs[skip_start:-skip_end], losses[skip_start:-skip_end]
    return lrs[np.gradient(np.array(losses)).argmin()]


def fastai_history(losses, beta=0.98, diverge_th=4.0):
    """fastai's AvgSmoothLoss and LRFinder.after_batch: the recorded smooth losses,
    ending at the stop (recorded before LRFinder raises)."""
    val, count, best, out = 0.0, 0, math.inf, []
    for loss in losses:
        count += 1
        val = loss + beta * (val - loss)  # torch.lerp(loss, val, beta)
        smooth = val / (1 - beta**count)
        out.append(smooth)
        if smooth < best:
            best = smooth
        if smooth > diverge_th * best:
            break
    return np.array(out)


def fastai_valley(lrs, losses):
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[idx]), idx


def fastai_suggestions(lrs, history, num_it):
    """fastai's ``lr_find``: lrs / losses [num_it // 10 : -5], then minimum, steep,
    valley as its functions compute them."""
    lrs, losses = np.asarray(lrs[: len(history)]), np.asarray(history)
    lrs, losses = lrs[num_it // 10 : -5], losses[num_it // 10 : -5]
    minimum = lrs[losses.argmin()] / 10
    grads = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    steep = lrs[grads.argmin()]
    return minimum, steep, fastai_valley(lrs, losses)[0]


def _range_curve(rng, n, kind):
    """A loss curve of ``n`` batches: falling, noisy, then blowing up (or not)."""
    t = np.linspace(0, 1, n)
    base = 2.0 * np.exp(-4 * t) + 0.1
    if kind == "diverging":
        base = base + np.exp(np.clip(60 * (t - 0.8), -50, 50))
    return base * np.exp(0.2 * rng.standard_normal(n))


@pytest.mark.parametrize("kind", ["diverging", "flat"])
@pytest.mark.parametrize("seed", range(4))
def test_smoothers_stops_and_rules_match_the_libraries(kind, seed):
    rng = np.random.default_rng(seed)
    n = 120
    losses = _range_curve(rng, n, kind)
    lrs = 1e-4 * 1e5 ** (np.arange(n) / (n - 1))
    step = np.arange(n)

    lf = lr_finder_history(losses)
    s = ar.ema(losses)
    stop = int(ar.stop_index(s, 5.0))
    assert (stop == len(lf) - 1) if stop >= 0 else len(lf) == n
    np.testing.assert_allclose(s[: len(lf)], lf, rtol=1e-13)
    assert ar.steepest(lrs, s, step, stop) == lr_finder_steepest(lrs, lf)

    fa = fastai_history(losses)
    s = ar.debiased_ema(losses)
    stop = int(ar.stop_index(s, 4.0))
    assert (stop == len(fa) - 1) if stop >= 0 else len(fa) == n
    np.testing.assert_allclose(s[: len(fa)], fa, rtol=1e-13)
    want = fastai_suggestions(lrs, fa, n)
    got = [f(lrs, s, step, stop, n // 10) for f in (ar.minimum, ar.steep, ar.valley)]
    assert got == pytest.approx(want, rel=1e-15)
    if kind == "diverging":
        assert stop >= 0


def test_valley_index_is_fastais_double_loop():
    rng = np.random.default_rng(7)
    for n in (6, 17, 60, 200):
        for _ in range(20):
            curve = np.cumsum(rng.standard_normal(n)) + rng.integers(0, 3, n)  # ties too
            idx = fastai_valley(np.arange(n, dtype=float), curve)[1]
            # fastai's index is -1 (read from the end) when the longest valley starts at
            # row 0 and is at most 2 rows long; the module takes row 0 there
            assert ar.valley_index(curve) == max(idx, 0)


def test_smoothers_keep_the_window_in_iterations():
    """Rows every k steps: weights raised to k, the libraries' window in iterations. On a
    smooth curve, the subsampled smoothing follows the per-step one."""
    t = np.arange(4001)
    loss = 1.0 + np.sin(t / 300.0)
    for fn in (ar.ema, ar.debiased_ema):
        full = fn(loss)
        sub = fn(loss[::10], every=10)
        np.testing.assert_allclose(sub[5:], full[::10][5:], atol=0.02)  # a lead of ~k/2 steps
    assert ar.ema(loss, 0.0)[7] == loss[7]


def test_stop_index_inf_and_no_data():
    s = np.array([[3.0, 2.0, 1.0, 3.9, np.inf, np.nan],
                  [3.0, 2.0, np.nan, np.nan, np.nan, np.nan],
                  [1.0, 0.5, 2.1, 1.0, 1.0, 1.0]])  # fmt: skip
    assert ar.stop_index(s, 4.0).tolist() == [4, -1, 2]


def test_table_pads_diverged_runs_with_inf_and_leaves_the_final_row_out():
    frame = pd.DataFrame({
        "traj": [3, 3, 3, 3, 8, 8, 8],
        "step": [0, 5, 10, 12, 0, 5, 10],
        "loss": [1.0, 0.5, 0.25, np.nan, 2.0, 1.0, 0.5],
        "eta": [1.0, 2.0, 4.0, 5.3, 0.1, 0.2, 0.4],
    })  # fmt: skip
    traj, step, eta, loss, every = ar.table(frame, 20)
    assert every == 5 and traj.tolist() == [3, 8] and step.tolist() == [0, 5, 10, 15]
    assert np.isnan(loss[0, 3]) and loss[1, 3] != loss[1, 3]
    np.testing.assert_allclose(eta[:, 3], [8.0, 0.8])
    frame.loc[2, "loss"] = np.inf
    assert ar.table(frame, 20)[3][0, 2] == np.inf


def test_slow_efolds_is_the_sum_of_the_steps():
    steps, end, lam_min, beta = 1000, 100.0, 1.0, 0.5
    eta_t = 1e-3 * end ** (np.arange(steps) / (steps - 1))
    limit = 0.05
    t_c = np.argmax(eta_t >= limit)
    r = math.log(end) / (steps - 1)
    n = ar.slow_efolds("heavy_ball", beta, lam_min, eta_t[0], eta_t[t_c], r)
    assert n == pytest.approx(2 * lam_min * eta_t[:t_c].sum() / (1 - beta), rel=1e-9)


# ---------------------------------------------------- the cliff against theory


NOISY = [(0.0, 1e4), (0.0, 1e5), (0.0, 1e6), (0.5, 1e4), (0.5, 1e5), (0.5, 1e6),
         (0.9, 1e5), (0.9, 1e6), (0.0, 1e2), (0.5, 1e2)]  # fmt: skip


@pytest.fixture(scope="module")
def noisy():
    frame, summary = twin(NOISY, sigma=1e-2, every=10)
    return _ratios(frame, summary)


def test_cliff_within_5_percent_of_the_limit_across_kappa(noisy):
    """GD (beta = 0: eta_max = 2 / lambda_max) and heavy ball (2 (1 + beta) / lambda_max)
    with gradient noise sigma = 0.01, kappa 1e4 .. 1e6 (1e5 .. 1e6 for beta = 0.9, whose
    slowest direction decays 10x faster): every seed's cliff, under both libraries'
    smoothing and thresholds, within 5 % of theory. Print: ``pytest -s -k 5_percent``."""
    table = noisy[noisy["kappa"] >= 1e4]
    print("\n" + ar.cliff_table(table, ["beta", "kappa"]))
    assert len(table) == 8
    for lib in ("lr_finder", "fastai"):
        for c in (f"ratio_{lib}_lo", f"ratio_{lib}", f"ratio_{lib}_hi"):
            assert (np.abs(table[c] - 1) < 0.05).all(), (lib, table[c].tolist())
    # the cliff comes after the crossing, and the overshoot shrinks with momentum
    assert (table["ratio_fastai"] > 0.99).all()


def test_noise_floor_trips_the_rule_early_on_well_conditioned_problems(noisy):
    """kappa = 100: every direction is on its noise floor long before eta reaches the limit
    (N e-folds of the slowest direction >> ln(loss0 / floor)); the floor rises with eta
    (temperature ~ eta sigma^2) and crosses 4 x best far below the limit."""
    table = noisy[noisy["kappa"] == 1e2]
    r = math.log(END) / (STEPS - 1)
    efolds = ar.slow_efolds("heavy_ball", table["beta"], 1.0, LR0 / 1e2, table["limit"], r)
    assert (efolds > 100).all()
    assert (table["ratio_fastai_hi"] < 0.5).all() and (table["ratio_lr_finder_hi"] < 0.5).all()


def test_noiseless_cliff_lags_behind_the_limit():
    """No noise: the lambda_max direction is crushed while eta_t < eta_max (to ~0 where
    eta lambda_max = 1), so it takes many steps past the limit to climb back: the cliff
    comes far past the limit, or not within the range at all."""
    frame, summary = twin([(0.0, 1e4), (0.5, 1e4), (0.9, 1e5)], sigma=0.0, seeds=1, every=10)
    table = _ratios(frame, summary)
    for lib in ("lr_finder", "fastai"):
        ratio = table[f"ratio_{lib}"].to_numpy()
        assert np.all(np.isnan(ratio) | (ratio > 1.1)), ratio
