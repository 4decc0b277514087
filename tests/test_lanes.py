"""The lanes kernel's loops compile to SIMD instructions (what its speed rests on)."""

from __future__ import annotations

import re

import numba
import numpy as np
import pytest

from fastdescent import lanes


def _vector_instructions(asm):
    """Count AVX instructions on ymm/zmm registers (packed, 4 or 8 doubles)."""
    return sum(1 for line in asm.splitlines() if re.match(r"\s+v\w+\s+.*\b[yz]mm\d", line))


@pytest.mark.parametrize("optimizer", [0, 1, 2])
def test_burst_is_vectorised(optimizer):
    if not numba.config.ENABLE_AVX:
        pytest.skip("no AVX on this machine")
    burst = numba.njit(error_model="numpy")(lanes._burst.py_func)  # uncached: asm inspectable
    sl = np.zeros(lanes.NQL * lanes.LANES)
    sc = np.zeros(2 * lanes.NQC * lanes.LANES)
    burst(sl, sc, 2, optimizer, 1 if optimizer == 0 else 2, 124.0, 1)
    asm = next(iter(burst.inspect_asm().values()))
    assert _vector_instructions(asm) > 100
