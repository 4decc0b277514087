"""``import fastdescent`` is cheap: it compiles nothing and imports no heavy library."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_light():
    code = (
        "import sys, fastdescent\n"
        "heavy = [m for m in ('numba', 'pyarrow', 'matplotlib', 'pandas', 'dask') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
