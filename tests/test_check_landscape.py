"""scripts/check_theory.py on landscapes (fastdescent.checks_landscape): real sweeps pass,
and each of the four checks fails on doctored data (a DataFrame, and end to end a results
directory whose Parquet part was rewritten), with exit status 1.

The sweeps are small (a few thousand runs): Himmelblau (gd, 13 x 13 starts, eta around
the limits of minima 0 and 3), multimodal (gd, 11 x 11 starts symmetric in y0) and
heavy ball on the camel (a beta axis, a start grid symmetric about 0).
"""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fastdescent
from fastdescent import theory
from fastdescent.analysis_landscape import problem_info
from fastdescent.checks import CheckError
from fastdescent.checks_landscape import SYMMETRIES, check_landscape, symmetric_pairs
from fastdescent.store import read_manifest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_theory.py"
GRID = {"start": -5.0, "stop": 5.0, "num": 13}
SPECS = {
    "himmelblau": {
        "problem": "himmelblau", "optimizer": "gd", "steps": 2000,
        "axes": {"lr": {"values": [0.005, 0.012, 0.0145, 0.0165, 0.018, 0.02]},
                 "x0": GRID, "y0": GRID},
    },
    "multimodal": {
        "problem": "multimodal", "optimizer": "gd", "steps": 3000,
        "axes": {"lr": {"values": [0.1, 1.0, 2.0]}, "x0": {**GRID, "num": 11},
                 "y0": {**GRID, "num": 11}},
    },
    "camel": {
        "problem": "camel", "optimizer": "heavy_ball", "steps": 3000,
        "axes": {"lr": {"values": [0.01, 0.05]}, "beta": {"values": [0.0, 0.5]},
                 "x0": {"start": -2.0, "stop": 2.0, "num": 11},
                 "y0": {"start": -1.0, "stop": 1.0, "num": 9}},
    },
}  # fmt: skip
TITLES = {
    "endpoints": "1 converged runs end at: FAIL",
    "rate": "2 local rate vs theory: FAIL",
    "vanishing": "3 basins vanish at limit: FAIL",
    "symmetry": "4 symmetric basin areas: FAIL",
}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """name -> (results dir, normalised spec dict, results DataFrame)."""
    out = {}
    for name, spec in SPECS.items():
        directory = tmp_path_factory.mktemp(name) / "results"
        fastdescent.run({"name": name, **spec}, out=directory, progress=False)
        out[name] = (directory, read_manifest(directory)["spec"], fastdescent.load(directory))
    return out


def _script(argv, capsys):
    main = runpy.run_path(str(SCRIPT), run_name="fd_test")["main"]
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _write_doctored(src: Path, dst: Path, df) -> Path:
    """A results directory holding ``df`` under src's manifest and Parquet schema (NaN
    rates stay NaN, as the kernel writes them, not nulls)."""
    dst.mkdir()
    shutil.copy(src / "_sweep.json", dst / "_sweep.json")
    schema = pq.read_schema(sorted(src.glob("part-*.parquet"))[0])
    arrays = []
    for field in schema:
        col = df[field.name]
        if pa.types.is_dictionary(field.type):
            cats = pd.Categorical(col.astype(str))
            codes = pa.array(cats.codes.astype(np.int8)).cast(field.type.index_type)
            arrays.append(pa.DictionaryArray.from_arrays(codes, list(cats.categories)))
        else:
            arrays.append(pa.array(col.to_numpy(), type=field.type, from_pandas=False))
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), dst / "part-00000.parquet")
    return dst


def _assert_fails(report, name, why=None):
    assert not report.ok
    assert report[name].failed > 0
    others = [r.name for r in report.results if not r.ok]
    assert others == [name], others
    text = report.format()
    assert TITLES[name] in text and text.splitlines()[-1].startswith("FAIL:")
    if why:
        assert why in text


@pytest.mark.parametrize("name", list(SPECS))
def test_real_sweep_passes(sweeps, name, capsys):
    directory, spec, df = sweeps[name]
    rc, out, err = _script([directory], capsys)
    assert rc == 0, out + err
    assert out.splitlines()[-1] == "PASS"
    report = check_landscape(df, spec)
    table = report.table()
    assert report.ok and (table["failed"] == 0).all()
    conv = df["status"] == "converged"
    assert table.loc["endpoints", "checked"] == conv.sum() > 0
    assert table.loc["rate", "checked"] > 0.05 * len(df)
    assert table.loc["rate", "max_error"] < 2e-3
    assert table.loc["vanishing", "checked"] >= 1
    if name in SYMMETRIES:
        assert table.loc["symmetry", "checked"] > 0


def test_himmelblau_table_names_every_minimum_and_its_limit(sweeps):
    _, spec, df = sweeps["himmelblau"]
    text = check_landscape(df, spec).format()
    for limit in theory.minima_limits("himmelblau", "gd"):
        assert f"{limit:.6g}" in text
    van = check_landscape(df, spec)["vanishing"].worst.set_index("minimum")
    assert van.loc[0, "last"] == 0.0145 and van.loc[0, "gone"] == 0.0165  # limit 0.014949
    assert van.loc[3, "last"] == 0.018 and van.loc[3, "gone"] == 0.02  # limit 0.018972


# ---------------------------------------------------------------- doctored data


def test_final_point_moved_off_its_minimum_fails(sweeps):
    _, spec, df = sweeps["himmelblau"]
    bad = df.copy()
    pick = bad.index[(bad["basin"] == 2).to_numpy()][::7]
    bad.loc[pick, "x_final"] += 1e-6  # tolerance 2 grad_tol / lam_min ~ 8e-12
    report = check_landscape(bad, spec)
    _assert_fails(report, "endpoints", "too far from minimum 2")
    assert report["endpoints"].failed == len(pick)


def test_run_at_a_minimum_labelled_basin_minus_one_fails(sweeps):
    _, spec, df = sweeps["multimodal"]
    bad = df.copy()
    pick = bad.index[(bad["basin"] == 3).to_numpy()][:4]
    bad.loc[pick, "basin"] = -1
    report = check_landscape(bad, spec)
    assert not report["endpoints"].ok and report["endpoints"].failed == 4
    assert "at a minimum, basin -1" in report.format()


def test_basin_outside_the_list_fails(sweeps):
    _, spec, df = sweeps["multimodal"]
    bad = df.copy()
    bad.loc[bad.index[(bad["basin"] == 0).to_numpy()][:3], "basin"] = 7
    report = check_landscape(bad, spec)
    assert report["endpoints"].failed == 3 and "basin not a listed index" in report.format()


def test_basin_on_a_run_that_did_not_converge_fails(sweeps):
    _, spec, df = sweeps["himmelblau"]
    bad = df.copy()
    bad.loc[bad.index[(bad["status"] == "max_steps").to_numpy()][:2], "basin"] = 1
    report = check_landscape(bad, spec)
    _assert_fails(report, "endpoints", "basin set on a run that did not converge")
    assert report["endpoints"].failed == 2


@pytest.mark.parametrize("name", list(SPECS))
def test_rates_times_1_01_fail(sweeps, name):
    _, spec, df = sweeps[name]
    bad = df.copy()
    bad["rate"] *= 1.01
    report = check_landscape(bad, spec)
    _assert_fails(report, "rate")
    assert report["rate"].max_error > 5e-3


def test_a_run_converging_above_the_limit_fails(sweeps):
    _, spec, df = sweeps["himmelblau"]
    bad = df.copy()
    # eta = 0.0165 is past minimum 0's limit 0.014949 x 1.02: report a run there at it
    at = bad.index[((bad["lr"] == 0.0165) & (bad["status"] != "converged")).to_numpy()][0]
    m0 = theory.local_minima("himmelblau")[0]
    bad.loc[at, ["status", "basin", "x_final", "y_final"]] = ["converged", 0, *m0.location]
    report = check_landscape(bad, spec)
    _assert_fails(report, "vanishing", "FAIL: reached above the limit")


def test_a_basin_gone_below_its_limit_fails(sweeps):
    _, spec, df = sweeps["himmelblau"]
    bad = df.copy()
    # minimum 3 (limit 0.018972): its runs at eta = 0.018 reported still moving
    gone = ((bad["basin"] == 3) & (bad["lr"] == 0.018)).to_numpy()
    bad.loc[gone, "status"] = "max_steps"
    bad.loc[gone, "basin"] = -1
    report = check_landscape(bad, spec)
    _assert_fails(report, "vanishing", "FAIL: gone below the limit")


@pytest.mark.parametrize("name", ["multimodal", "camel"])
def test_unequal_mirror_basins_fail(sweeps, name):
    _, spec, df = sweeps[name]
    k, k2 = symmetric_pairs(problem_info(spec), SYMMETRIES[name])[0]
    bad = df.copy()
    swap = ((bad["basin"] == k2) & (bad["lr"] == bad["lr"].min())).to_numpy()
    bad.loc[swap, "basin"] = k  # the runs still end where they did: only the map changes
    bad.loc[swap, ["x_final", "y_final"]] = problem_info(spec).minima[k].location
    report = check_landscape(bad, spec)
    _assert_fails(report, "symmetry")


@pytest.mark.parametrize(
    ("doctor", "name"),
    [("rates", "rate"), ("moved", "endpoints"), ("gone", "vanishing"), ("mirror", "symmetry")],
)
def test_script_exits_1_on_a_doctored_directory(sweeps, tmp_path, capsys, doctor, name):
    sweep = "multimodal" if doctor == "mirror" else "himmelblau"
    directory, _, df = sweeps[sweep]
    bad = df.copy()
    if doctor == "rates":
        bad["rate"] *= 1.01
    elif doctor == "moved":
        bad.loc[(bad["basin"] == 1).to_numpy(), "y_final"] += 1e-5
    elif doctor == "gone":
        gone = ((bad["basin"] == 3) & (bad["lr"] == 0.018)).to_numpy()
        bad.loc[gone, "status"], bad.loc[gone, "basin"] = "max_steps", -1
    else:
        swap = (bad["basin"] == 2).to_numpy()
        bad.loc[swap, "basin"] = 1
        bad.loc[swap, "y_final"] = -bad.loc[swap, "y_final"]
    rc, out, err = _script([_write_doctored(directory, tmp_path / "bad", bad)], capsys)
    assert rc == 1, out + err
    assert TITLES[name] in out and out.splitlines()[-1].startswith("FAIL:")


# ---------------------------------------------------------------- errors


def test_rows_of_another_spec_and_non_landscapes_are_refused(sweeps):
    _, spec, df = sweeps["himmelblau"]
    other = {**spec, "axes": {**spec["axes"], "lr": {"values": [0.1]}}}
    with pytest.raises(CheckError, match="not of this spec"):
        check_landscape(df, other)
    quad = {"problem": "quadratic", "optimizer": "gd", "steps": 10,
            "axes": {"lr": {"values": [0.1]}}}  # fmt: skip
    with pytest.raises(CheckError, match="not a landscape"):
        check_landscape(df, quad)
    with pytest.raises(CheckError, match="lack the column"):
        check_landscape(df.drop(columns="basin"), spec)


def test_saddle_runs_on_its_stable_line_end_at_the_saddle():
    spec = {
        "problem": "saddle", "optimizer": "gd", "steps": 500,
        "axes": {"lr": {"values": [0.1, 0.4]}, "x0": {"values": [-1.0, 0.5]},
                 "y0": {"values": [0.0, 0.01]}},
    }  # fmt: skip
    df = fastdescent.run(spec)
    report = check_landscape(df, spec)
    assert report.ok, report.format()
    conv = df[df["status"] == "converged"]
    assert len(conv) == 4 and (conv["y0"] == 0).all() and (conv["basin"] == -1).all()
    assert report["endpoints"].checked == 4 and "at a saddle 4" in report.format()
    assert (df.loc[df["y0"] != 0, "status"] == "escaped").all()
    bad = df.copy()
    bad.loc[bad["status"] == "converged", "x_final"] = 0.3  # converged, at no critical point
    assert "at no listed critical point" in check_landscape(bad, spec).format()


def test_a_directory_with_its_parts_missing_exits_2(sweeps, tmp_path, capsys):
    partial = tmp_path / "partial"
    shutil.copytree(sweeps["multimodal"][0], partial)
    for part in partial.glob("part-*.parquet"):
        part.unlink()
    rc, out, err = _script([partial], capsys)
    assert rc == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith("check_theory.py: error:") and "part-00000.parquet" in err
