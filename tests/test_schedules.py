"""Learning-rate schedules (fastdescent.schedules) against their formulas and the library
conventions they follow, written out here: PyTorch StepLR / ExponentialLR / CyclicLR,
optax cosine_decay_schedule / warmup_cosine_decay_schedule (the count clamped at T, the
warm-up counted inside T), and the range test's geometric sweep hitting both ends."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastdescent import schedules
from fastdescent.spec import SpecError


def s(table, steps=100):
    return schedules.factors(schedules.normalise(table, "schedule", steps), steps)


def test_constant_and_step_and_exponential():
    np.testing.assert_array_equal(s({"kind": "constant"}, 5), np.ones(5))
    got = s({"kind": "step", "every": 3, "gamma": 0.5}, 8)
    np.testing.assert_array_equal(got, [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])  # StepLR
    got = s({"kind": "exponential", "gamma": 0.9}, 50)
    np.testing.assert_allclose(got, 0.9 ** np.arange(50), rtol=1e-14)  # ExponentialLR
    assert s({"kind": "step", "every": 2}, 3)[2] == pytest.approx(0.1)  # default gamma


def test_cosine_clamps_at_its_floor_unlike_pytorch():
    got = s({"kind": "cosine", "T": 10}, 16)
    assert got[0] == 1.0 and got[5] == pytest.approx(0.5, abs=1e-15) and got[10] == 0.0
    assert np.all(got[10:] == 0.0)  # optax: count = min(t, T)
    t = np.arange(11)
    np.testing.assert_allclose(got[:11], 0.5 * (1 + np.cos(np.pi * t / 10)), atol=1e-15)
    pytorch_after = 0.5 * (1 + math.cos(math.pi * 15 / 10))  # CosineAnnealingLR climbs back
    assert pytorch_after == pytest.approx(0.5) and got[15] == 0.0
    floor = s({"kind": "cosine", "T": 10, "min_factor": 0.1}, 12)
    assert floor[5] == pytest.approx(0.55) and floor[10] == pytest.approx(0.1)
    assert np.all(floor[10:] == floor[10])
    assert s({"kind": "cosine"}, 40)[39] > 0 and s({"kind": "cosine"}, 40)[20] == pytest.approx(0.5)


def test_warmup_cosine_counts_the_warmup_inside_T():
    got = s({"kind": "warmup_cosine", "warmup": 4, "T": 12}, 20)
    np.testing.assert_allclose(got[:5], [0.0, 0.25, 0.5, 0.75, 1.0], atol=1e-15)
    # after the warm-up: cosine over T - warmup = 8 steps, at count t - 4
    assert got[8] == pytest.approx(0.5, abs=1e-15) and got[12] == 0.0 and np.all(got[12:] == 0.0)
    t = np.arange(4, 13)
    np.testing.assert_allclose(got[4:13], 0.5 * (1 + np.cos(np.pi * (t - 4) / 8)), atol=1e-15)
    got = s({"kind": "warmup_cosine", "warmup": 2, "T": 6, "start_factor": 0.2,
             "min_factor": 0.1}, 8)  # fmt: skip
    assert got[0] == pytest.approx(0.2) and got[1] == pytest.approx(0.6) and got[2] == 1.0
    assert got[6] == pytest.approx(0.1) and got[7] == pytest.approx(0.1)


def _torch_cyclic(t, half, base, top, mode):
    """PyTorch CyclicLR.get_lr, written out (step_size_up = step_size_down = half)."""
    cycle = math.floor(1 + t / (2 * half))
    x = abs(t / half - 2 * cycle + 1)
    scale = 1.0 if mode == "triangular" else 1 / (2.0 ** (cycle - 1))
    return base + (top - base) * max(0.0, 1 - x) * scale


@pytest.mark.parametrize("mode", ["triangular", "triangular2"])
def test_cyclical_is_pytorch_cyclic_lr(mode):
    got = s({"kind": "cyclical", "half": 4, "low": 0.1, "mode": mode}, 40)
    want = [_torch_cyclic(t, 4, 0.1, 1.0, mode) for t in range(40)]
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-16)
    assert got[0] == pytest.approx(0.1) and got[4] == 1.0 and got[8] == pytest.approx(0.1)
    assert got[2] == pytest.approx(0.55)
    assert got[12] == (1.0 if mode == "triangular" else pytest.approx(0.55))
    if mode == "triangular2":
        assert got[20] == pytest.approx(0.1 + 0.9 / 4)


def test_exp_range_hits_both_ends():
    got = s({"kind": "exp_range", "end_factor": 1e4}, 5)
    assert got[0] == 1.0 and got[2] == pytest.approx(100.0) and got[4] == pytest.approx(1e4)
    got = s({"kind": "exp_range", "end_factor": 1e-3}, 1000)
    assert got[0] == 1.0 and got[-1] == pytest.approx(1e-3, rel=1e-12)
    np.testing.assert_allclose(np.diff(np.log(got)), np.log(1e-3) / 999, rtol=1e-9)
    np.testing.assert_array_equal(s({"kind": "exp_range", "end_factor": 5.0}, 1), [1.0])


def test_factor_is_the_same_at_any_single_step():
    """The jitted factor at one step equals the vectorised table (a pure function of t)."""
    for table in ({"kind": "cyclical", "half": 7, "mode": "triangular2"},
                  {"kind": "warmup_cosine", "warmup": 30, "T": 500},
                  {"kind": "step", "every": 13, "gamma": 0.7}):  # fmt: skip
        sched = schedules.normalise(table, "schedule", 600)
        code, p = schedules.pack(sched, 600)
        full = schedules.factors(sched, 600)
        for t in (0, 1, 29, 30, 31, 250, 499, 500, 599):
            assert schedules.factor(code, p, t) == full[t]


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"kind": "step"}, r"schedule 'step' needs every"),
        ({"kind": "step", "every": 0}, r"schedule.every"),
        ({"kind": "warmup_cosine", "warmup": 10, "T": 10}, r"schedule.warmup"),
        ({"kind": "cyclical", "half": 3, "mode": "sine"}, r"schedule.mode"),
        ({"kind": "cosine", "gamma": 0.5}, r"gamma"),
        ({"kind": "cosinus"}, r"schedule.kind"),
        ({"kind": "exp_range", "end_factor": 0.0}, r"schedule.end_factor"),
        ({"kind": "cosine", "min_factor": 1.5}, r"schedule.min_factor"),
    ],
)
def test_bad_tables_name_the_key(table, match):
    with pytest.raises(SpecError, match=match):
        schedules.normalise(table, "schedule", 100)
