"""Every example sweep shipped in scripts/sweeps/ agrees with theory (check_theory)."""

from __future__ import annotations

from pathlib import Path

import pytest

import fastdescent
from fastdescent.checks import check_sweep

SWEEPS = sorted((Path(__file__).resolve().parent.parent / "scripts" / "sweeps").glob("*.toml"))


def test_there_are_sweeps_for_every_optimizer():
    optimizers = {fastdescent.parse_spec(p).optimizer for p in SWEEPS}
    assert optimizers == {"gd", "heavy_ball", "nesterov"}


@pytest.mark.slow
@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_shipped_sweep_passes_check_theory(path):
    spec = fastdescent.parse_spec(path)
    report = check_sweep(fastdescent.run(spec), spec)
    assert report.ok, report.format()
