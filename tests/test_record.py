"""Trajectory recording ([record], DIR/trajectories/) and replay: replay equals the sweep's
summary row bit for bit on every kernel (SIMD quadratics, the quadratic lanes with noise
and schedules, landscapes with noise and schedules, mini-batch linreg); the recording
equals replay at the steps it keeps; selection, size guard and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import fastdescent
from fastdescent.recording import RECORD_BYTES
from fastdescent.spec import SpecError, parse_spec
from fastdescent.store import SweepDirError

SPECS = {
    "quadratic_simd": {
        "problem": "quadratic", "optimizer": "nesterov", "steps": 400,
        "problem_params": {"dim": 5, "spectrum": "log"},
        "axes": {"lr": {"values": [0.1, 1.0, 1.9, 2.5], "relative_to": "lambda_max"},
                 "beta": {"values": [0.0, 0.7]}, "kappa": {"values": [1.0, 10.0, 1000.0]}},
    },
    "quadratic_1d": {
        "problem": "quadratic", "optimizer": "gd", "steps": 100, "problem_params": {"dim": 1},
        "axes": {"lr": {"values": [0.1, 1.0, 1.9, 2.5], "relative_to": "lambda_max"}},
    },
    "quadratic_noisy_scheduled": {
        "problem": "quadratic", "optimizer": "heavy_ball", "steps": 300,
        "problem_params": {"dim": 3}, "schedule": {"kind": "warmup_cosine", "warmup": 30},
        "axes": {"lr": {"values": [0.1, 1.0, 3.5], "relative_to": "lambda_max"},
                 "beta": {"values": [0.0, 0.7]}, "kappa": {"values": [10.0]},
                 "sigma": {"values": [0.0, 0.01]}, "seed": {"values": [0, 5]}},
    },
    "landscape": {
        "problem": "multimodal", "optimizer": "nesterov", "steps": 200,
        "schedules": {"cyc": {"kind": "cyclical", "half": 20}},
        "axes": {"lr": {"values": [0.05, 1.5]}, "beta": {"values": [0.0, 0.8]},
                 "x0": {"values": [-3.0, 0.5, 3.0]}, "y0": {"values": [-2.0, 2.0]},
                 "sigma": {"values": [0.0, 0.5]},
                 "schedule": {"values": ["constant", "cyc"]}},
    },
    "landscape_1d": {
        "problem": "quartic", "optimizer": "heavy_ball", "steps": 150,
        "axes": {"lr": {"values": [0.01, 0.05]}, "beta": {"values": [0.0, 0.5]},
                 "x0": {"values": [-1.0, 1.0, 3.0]}, "sigma": {"values": [0.0, 0.3]}},
    },
    "linreg": {
        "problem": "linreg", "optimizer": "heavy_ball", "steps": 200,
        "problem_params": {"n": 48, "dim": 4, "sampling": "subset"},
        "schedules": {"st": {"kind": "step", "every": 50, "gamma": 0.5}},
        "axes": {"lr": {"values": [0.1, 1.0, 2.5], "relative_to": "lambda_max"},
                 "beta": {"values": [0.0, 0.7]}, "batch_size": {"values": [4, 48]},
                 "sigma": {"values": [0.0, 0.1]}, "schedule": {"values": ["constant", "st"]},
                 "seed": {"values": [0, 1]}},
    },
}  # fmt: skip


def _same(a, b) -> bool:
    return a == b or (not np.isfinite(a) and not np.isfinite(b))


@pytest.mark.parametrize("family", SPECS)
def test_replay_ends_where_the_sweep_ended(family):
    spec = parse_spec(SPECS[family])
    df = fastdescent.run(spec)
    for row in df.itertuples():
        rows = fastdescent.replay(spec, row.traj)
        last = rows.iloc[-1]
        assert list(rows["step"]) == list(range(row.steps + 1))
        assert rows["loss"].iloc[0] == row.loss0
        assert _same(last["loss"], row.final_loss), (family, row)
        if hasattr(row, "x_final"):
            assert _same(last["x"], row.x_final)
        if hasattr(row, "y_final"):
            assert _same(last["y"], row.y_final)
        assert rows["grad_norm"].iloc[0] >= 0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("rec") / "sweep"
    spec = dict(SPECS["landscape"], record={
        "every": 7, "where": {"beta": [0.8], "schedule": ["cyc"]}, "max_trajectories": 5,
    })  # fmt: skip
    fastdescent.run(spec, out=out, progress=False, chunk_size=7)
    return out, parse_spec(spec)


def test_recording_equals_replay_at_its_steps(recorded):
    out, _ = recorded
    summary = fastdescent.load(out)
    rec = fastdescent.load_trajectories(out)
    ids = sorted(rec["traj"].unique())
    # where: beta = 0.8 and the cyc schedule: 24 matches, 5 kept, evenly spread
    match = summary[(summary.beta == 0.8) & (summary.schedule == "cyc")]["traj"].to_numpy()
    assert len(match) == 24
    assert ids == [match[i * 24 // 5] for i in range(5)]
    assert len(list((out / "_trajectories").glob("part-*.parquet"))) >= 2  # several chunks
    for t in ids:
        got = rec[rec.traj == t].reset_index(drop=True)
        full = fastdescent.replay(out, t)
        row = summary[summary.traj == t].iloc[0]
        steps = list(range(0, row.steps + 1, 7))
        if steps[-1] != row.steps:
            steps.append(row.steps)  # the last state, whatever every is
        assert list(got["step"]) == steps
        sub = full[full.step.isin(steps)].reset_index(drop=True)
        for col in ("loss", "grad_norm", "eta", "x", "y"):
            assert np.array_equal(got[col], sub[col], equal_nan=True), col
        assert got["x"].iloc[-1] == row.x_final and got["y"].iloc[-1] == row.y_final
    one = fastdescent.load_trajectories(out, traj=ids[1], columns=["step", "loss"])
    assert list(one.columns) == ["step", "loss"] and len(one) == (rec.traj == ids[1]).sum()


def test_readers_see_only_the_summary(recorded):
    """pandas.read_parquet(DIR) skips _trajectories/ (pyarrow ignores "_" names) and
    dask.dataframe.read_parquet(DIR) reads the parts DIR/_metadata lists: both give the
    summary rows alone; each directory of parts is a dataset of its own."""
    out, _ = recorded
    want = fastdescent.load(out)
    plain = pd.read_parquet(out)
    assert len(plain) == len(want) and list(plain.columns) == list(want.columns)
    assert np.array_equal(np.sort(plain["traj"]), want["traj"])
    assert len(pd.read_parquet(out / "_trajectories")) == len(fastdescent.load_trajectories(out))
    dd = pytest.importorskip("dask.dataframe")
    lazy = dd.read_parquet(str(out)).compute()
    assert np.array_equal(np.sort(lazy["traj"]), want["traj"])


def test_legacy_trajectories_directory(tmp_path):
    """A directory fastdescent 0.2.0 started keeps its recordings in DIR/trajectories/:
    they are read there, and a resumed run writes the rest there too."""
    spec = dict(SPECS["landscape"], record={"every": 5, "max_trajectories": 40})
    want = fastdescent.run(spec, out=tmp_path / "want", progress=False, chunk_size=7)
    out = tmp_path / "old"
    fastdescent.run(spec, out=out, progress=False, chunk_size=7)
    (out / "_trajectories").rename(out / "trajectories")
    (out / "_metadata").unlink()
    for name in ("part-00001.parquet", "trajectories/part-00001.parquet"):
        (out / name).unlink()  # an interrupted 0.2.0 run
    fastdescent.run(spec, out=out, progress=False, chunk_size=7)
    assert not (out / "_trajectories").exists()
    assert (out / "trajectories" / "part-00001.parquet").exists()
    got = fastdescent.load_trajectories(out)
    expected = fastdescent.load_trajectories(want)
    assert len(got) == len(expected) and (got["traj"].to_numpy() == expected["traj"]).all()


def test_recorded_w_is_a_list_column(tmp_path):
    spec = dict(SPECS["linreg"], record={"where": {"batch_size": [4]}, "max_trajectories": 3})
    fastdescent.run(spec, out=tmp_path / "lin", progress=False)
    rec = fastdescent.load_trajectories(tmp_path / "lin")
    assert rec["w"].iloc[0].shape == (4,)
    schema = pq.read_schema(next((tmp_path / "lin" / "_trajectories").glob("*.parquet")))
    assert str(schema.field("w").type) == "fixed_size_list<element: double>[4]"
    summary = fastdescent.load(tmp_path / "lin")
    for t in rec["traj"].unique():
        last = rec[rec.traj == t].iloc[-1]
        assert last["loss"] == summary.loc[summary.traj == t, "final_loss"].iloc[0]


def test_record_errors(recorded, tmp_path):
    out, _ = recorded
    with pytest.raises(SweepDirError, match="was not recorded"):
        fastdescent.load_trajectories(out, traj=0)
    base = SPECS["quadratic_simd"]
    fastdescent.run(base, out=tmp_path / "plain", progress=False)
    with pytest.raises(SweepDirError, match="no \\[record\\]"):
        fastdescent.load_trajectories(tmp_path / "plain")
    with pytest.raises(SpecError, match=r"not a value of axes\.beta"):
        parse_spec(dict(base, record={"where": {"beta": [0.5]}}))
    with pytest.raises(SpecError, match="not an axis of this sweep"):
        parse_spec(dict(base, record={"where": {"sigma": [0.5]}}))
    big = dict(base, steps=10_000_000, record={"max_trajectories": 24})
    with pytest.raises(SpecError, match="GiB") as info:
        parse_spec(big)
    assert "record.every" in str(info.value)
    rows = RECORD_BYTES // (8 * (5 + 5)) // 24  # just under the guard: accepted
    parse_spec(dict(base, steps=rows - 2, record={"max_trajectories": 24}))
    # a range axis's value matches what the user wrote despite its rounding
    ranged = dict(base, axes=dict(base["axes"], beta={"start": 0.0, "stop": 0.9, "num": 4}))
    assert parse_spec(dict(ranged, record={"where": {"beta": [0.3, 0.6]}})).record


def test_start_over_clears_the_recording(recorded, tmp_path):
    _, spec = recorded
    out = tmp_path / "again"
    fastdescent.run(spec, out=out, progress=False, chunk_size=7)
    before = fastdescent.load_trajectories(out)
    fastdescent.run(spec, out=out, progress=False, chunk_size=7, resume=False)
    after = fastdescent.load_trajectories(out)
    assert before.equals(after)


def test_info_shows_schedules_and_the_recording(recorded, capsys):
    from fastdescent.cli import main

    out, _ = recorded
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert 'schedules  constant {"kind": "constant"}; cyc {"kind": "cyclical"' in text
    assert "recorded   " in text and "part(s)" in text and "not read" not in text
