"""check_theory on linreg sweeps (fastdescent.checks_sgd): passes on real mini-batch sweeps
(subset; epoch at n = 8, where its orderings are enumerated), skips epoch at larger n with
a reason, and fails on doctored data (tail loss 10 % high, a stable full-batch run flagged
diverged), also end to end through scripts/check_theory.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import fastdescent
from fastdescent.checks import CheckError
from fastdescent.checks_sgd import check_linreg
from fastdescent.store import read_manifest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_theory.py"


def _spec(sampling, n, dim, batch_sizes, lrs, steps, seeds=16, optimizer="gd", beta=None,
          sigma=None):  # fmt: skip
    axes = {
        "lr": {"values": lrs, "relative_to": "lambda_max"},
        "kappa": {"values": [4.0]},
        "batch_size": {"values": batch_sizes},
        "seed": {"start": 0, "stop": seeds - 1, "num": seeds},
    }
    if beta is not None:
        axes["beta"] = {"values": beta}
    if sigma is not None:
        axes["sigma"] = {"values": sigma}
    return {
        "problem": "linreg", "optimizer": optimizer, "steps": steps,
        "problem_params": {"n": n, "dim": dim, "noise": 0.5, "sampling": sampling},
        "metrics": {"tail": 0.5}, "axes": axes,
    }  # fmt: skip


SPECS = {
    # the subset sweep: B = n is full batch (deterministic rows, converge); lr 2.1 > 2:
    # every B diverges (full batch: the stability limit; mini-batches: beyond the ms edge)
    "subset": _spec("subset", 48, 3, [2, 8, 48], [0.1, 0.3, 0.6, 2.1], 12000),
    # sigma = 0.3 at B = n: the noisy quadratic's stationary loss; sigma = 0 at B = n: full batch
    "hb": _spec("subset", 32, 2, [4, 32], [0.1, 0.5], 4000, optimizer="heavy_ball",
                beta=[0.5], sigma=[0.0, 0.3]),
    "epoch_small": _spec("epoch", 8, 2, [2, 4], [0.2, 0.5], 6000),
    "epoch_large": _spec("epoch", 48, 3, [4], [0.2], 2000, seeds=8),
}  # fmt: skip


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """name -> (results dir, normalised spec, DataFrame)."""
    out = {}
    for name, spec in SPECS.items():
        d = tmp_path_factory.mktemp(name) / "results"
        fastdescent.run(spec, out=d, progress=False)
        out[name] = (d, read_manifest(d)["spec"], fastdescent.load(d))
    return out


def _script(*args):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False
    )
    return proc.returncode, proc.stdout, proc.stderr


def _write_scaled_tail(src: Path, dst: Path, factor: float) -> Path:
    """A copy of results directory src with every loss_tail_mean times ``factor`` (the
    Arrow table edited in place: same schema, NaN rates kept as NaN)."""
    dst.mkdir()
    shutil.copy(src / "_sweep.json", dst / "_sweep.json")
    for part in sorted(src.glob("part-*.parquet")):
        table = pq.read_table(part)
        i = table.schema.get_field_index("loss_tail_mean")
        column = pc.multiply(table.column(i), pa.scalar(factor))
        table = table.set_column(i, table.schema.field(i), column)
        pq.write_table(table, dst / part.name)
    return dst


@pytest.mark.parametrize("name", ["subset", "hb", "epoch_small"])
def test_real_sweeps_pass(sweeps, name):
    _, spec, df = sweeps[name]
    report = check_linreg(df, spec)
    assert report.ok, report.format()
    st = report["stationary"]
    assert st.checked >= 2 and st.max_error < 0.05, report.format()
    if name == "subset":
        fb = report["full batch"]
        assert fb.checked == 4 * 16 and fb.failed == 0  # lr 2.1 must diverge, the rest converge
    if name == "hb":  # (B 4: sigma 0, 0.3; B = n: sigma 0.3) x 2 lr; B = n, sigma = 0: 2 x 16 rows
        assert st.checked + st.skipped == 3 * 2 and report["full batch"].checked == 2 * 16


def test_epoch_at_large_n_is_skipped_with_a_reason(sweeps):
    _, spec, df = sweeps["epoch_large"]
    report = check_linreg(df, spec)
    st = report["stationary"]
    assert st.checked == 0 and st.skipped == 1 and report.ok
    assert "no exact theory at this n (epoch)" in report.format()


@pytest.mark.parametrize("name", ["subset", "epoch_small"])
def test_tail_loss_10_percent_high_fails(sweeps, name):
    _, spec, df = sweeps[name]
    bad = df.copy()
    bad["loss_tail_mean"] *= 1.10
    report = check_linreg(bad, spec)
    assert not report.ok and report["stationary"].failed >= 1
    text = report.format()
    assert "1 SGD tail loss vs theory: FAIL" in text and text.splitlines()[-1].startswith("FAIL")


def test_stable_full_batch_flagged_diverged_fails(sweeps):
    _, spec, df = sweeps["subset"]
    bad = df.copy()
    row = bad.index[(bad["batch_size"] == 48) & (bad["lr"] == 0.3)][0]
    bad["status"] = bad["status"].astype(str)
    bad.loc[row, "status"] = "diverged"
    report = check_linreg(bad, spec)
    assert report["full batch"].failed == 1 and not report.ok


def test_script_passes_and_fails_end_to_end(sweeps, tmp_path):
    directory = sweeps["subset"][0]
    rc, out, err = _script(directory)
    assert rc == 0, out + err
    assert out.splitlines()[-1] == "PASS"
    rc, out, _ = _script(_write_scaled_tail(directory, tmp_path / "bad", 1.10))
    assert rc == 1 and out.splitlines()[-1].startswith("FAIL")


def test_wrong_input_is_a_check_error(sweeps):
    _, spec, df = sweeps["subset"]
    with pytest.raises(CheckError, match="lack the column"):
        check_linreg(df.drop(columns="loss_tail_mean"), spec)
    with pytest.raises(CheckError, match="cover 'linreg'"):
        check_linreg(df, {**spec, "problem": "quadratic"})
    with pytest.raises(CheckError, match="duplicate traj"):
        check_linreg(df.iloc[[0, 0]], spec)


def test_full_batch_check_takes_tol_zero():
    """stop.tol = 0 is allowed (run until the loss underflows): the full-batch check
    then requires no run to converge, and still flags what must diverge."""
    spec = {
        "problem": "linreg", "optimizer": "gd", "steps": 60, "stop": {"tol": 0.0},
        "problem_params": {"n": 32, "dim": 3},
        "axes": {"lr": {"values": [0.5, 2.5], "relative_to": "lambda_max"}},
    }  # fmt: skip
    df = fastdescent.run(spec)
    parsed = fastdescent.parse_spec(spec)
    assert check_linreg(df, parsed.to_dict()).ok
    df["status"] = df["status"].astype(str).where(df.lr != 2.5, "max_steps")  # did not diverge
    assert not check_linreg(df, parsed.to_dict()).ok
