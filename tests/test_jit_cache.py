"""The Numba cache is dropped when any source of the package changes (numba#8851)."""

from __future__ import annotations

from fastdescent import _jit


def test_changed_sources_drop_the_cache(tmp_path):
    package = tmp_path / "pkg"
    (package / "__pycache__").mkdir(parents=True)
    (package / "kernels.py").write_text("from .metrics import fit_rate\n")
    (package / "metrics.py").write_text("DET_RTOL = 1e-10\n")
    cached = package / "__pycache__" / "kernels.sweep-1.py311.nbi"
    (package / "sub" / "__pycache__").mkdir(parents=True)  # a subpackage's cache too
    nested = package / "sub" / "__pycache__" / "lanes.sweep-2.py311.nbc"

    assert _jit.invalidate_stale_cache(package)  # first time: no stamp yet
    cached.write_text("machine code")
    nested.write_text("machine code")
    assert not _jit.invalidate_stale_cache(package)  # nothing changed: kept
    assert cached.exists()

    (package / "metrics.py").write_text("DET_RTOL = 1e-13\n")  # an edit in another module
    assert _jit.invalidate_stale_cache(package)
    assert not cached.exists() and not nested.exists()
