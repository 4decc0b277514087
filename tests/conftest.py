"""Test set-up. Kernels compile once per machine (``cache=True``); every test uses small
grids so the suite stays fast on two cores."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # helpers.py and naive.py, the slow twin
