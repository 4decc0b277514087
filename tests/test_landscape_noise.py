"""Noisy landscape figures (scripts/landscape_noise.py): the escape-time table against
theory, the Gibbs basin shares against the Laplace (small-temperature) limit, the
occupancy table's counts, and the script's output and refusals."""

from __future__ import annotations

import math
import runpy
from pathlib import Path

import numpy as np
import pytest

import fastdescent
from fastdescent import analysis_landscape as al
from fastdescent import analysis_landscape_noise as an

ROOT = Path(__file__).resolve().parent.parent


def _main():
    return runpy.run_path(str(ROOT / "scripts" / "landscape_noise.py"), run_name="fd_test")["main"]


@pytest.fixture(scope="module")
def saddle(tmp_path_factory):
    out = tmp_path_factory.mktemp("saddle") / "r"
    spec = {
        "name": "saddle_noise_small", "problem": "saddle", "optimizer": "gd", "steps": 1500,
        "problem_params": {"start": [0.5, 0.0]},
        "axes": {"lr": {"values": [0.1]}, "sigma": {"values": [0.0, 1e-6, 1e-2]},
                 "seed": {"start": 0, "stop": 15, "num": 16}},
    }  # fmt: skip
    fastdescent.run(spec, out=out, progress=False)
    return out, fastdescent.parse_spec(spec).to_dict()


def test_escape_table_against_theory(saddle):
    out, spec = saddle
    df = fastdescent.load(out)
    assert (df[df.sigma == 0].status != "escaped").all()  # no noise: no escape
    table = an.escape_table(df, spec)
    assert list(table.sigma) == [1e-6, 1e-2]
    assert (table.escaped == 1.0).all() and (table.runs == 16).all()
    for row in table.itertuples():
        assert abs(row.mean_steps - row.theory) < max(3 * row.se, 0.02 * row.theory), row


def test_gibbs_shares_tend_to_the_laplace_limit():
    """As T -> 0 each basin's share tends to exp(-(f_i - f_min)/T) / sqrt(det H_i),
    normalised, with an O(T) anharmonic correction: on multimodal the relative error of
    the shallower minima halves with T and is below 3 % at T = 0.025."""
    info = al.problem_info({"problem": "multimodal", "problem_params": {}})
    fmin = min(m.value for m in info.minima)
    errors = []
    for T in (0.1, 0.05, 0.025):
        got = an.gibbs_weights(info, [T], n=500)[0]
        assert abs(got.sum() - 1) < 1e-9
        laplace = np.array([
            math.exp(-(m.value - fmin) / T) / math.sqrt(np.prod(m.eigenvalues))
            for m in info.minima
        ])  # fmt: skip
        laplace /= laplace.sum()
        errors.append(np.abs(got / laplace - 1)[1:])
    assert np.all(errors[1] < 0.6 * errors[0]) and np.all(errors[2] < 0.6 * errors[1])
    assert np.all(errors[2] < 0.03)


def test_basin_of_attraction_and_occupancy_counts():
    info = al.problem_info({"problem": "multimodal", "problem_params": {}})
    got = an.basin_of_attraction(info, [3.8, -1.3, 1.2, 1.2], [0.0, 0.1, 2.5, -2.5])
    assert list(got) == [3, 0, 2, 1]
    import pandas as pd

    df = pd.DataFrame({"eta": 0.1, "sigma": [1.0] * 5 + [2.0] * 4,
                       "basin": [0, 0, 3, 3, 3, 1, 1, 1, -1]})  # fmt: skip
    t = an.occupancy_table(df, 4)
    assert list(t.runs) == [5, 4]
    assert t.p0.tolist() == [0.4, 0.0] and t.p3.tolist() == [0.6, 0.0]
    assert t.p1.tolist() == [0.0, 0.75] and t.other.tolist() == [0.0, 0.25]
    lo, hi = an.wilson(3, 5)
    assert lo < 0.6 < hi and 0 <= lo and hi <= 1


def test_script_writes_the_escape_figure_and_refuses_other_sweeps(saddle, tmp_path, capsys):
    out, _ = saddle
    main = _main()
    assert main([str(out), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "escape_time.png").stat().st_size > 10_000
    quiet = tmp_path / "quiet"
    fastdescent.run({"name": "q", "problem": "saddle", "optimizer": "gd", "steps": 10,
                     "axes": {"lr": {"values": [0.1]}}}, out=quiet, progress=False)  # fmt: skip
    capsys.readouterr()
    assert main([str(quiet)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no gradient noise" in err
    assert main([str(tmp_path / "missing")]) == 2


def test_check_theory_checks_the_escape_time_and_fails_doctored_data(saddle):
    from fastdescent.checks_landscape import check_landscape

    out, spec = saddle
    df = fastdescent.load(out)
    report = check_landscape(df, spec)
    escape = next(r for r in report.results if r.name == "escape")
    assert report.ok and escape.checked == 2 and escape.failed == 0
    bad = df.copy()
    bad["diverge_step"] = np.where(bad.sigma > 0, (bad.diverge_step * 1.1).astype(np.int32),
                                   bad.diverge_step)  # fmt: skip
    report = check_landscape(bad, spec)
    assert not report.ok
    assert next(r for r in report.results if r.name == "escape").failed == 2
