"""Helpers shared by the benchmark modules."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

_RSS_CHILD = textwrap.dedent("""
    import json, resource, sys, fastdescent
    fastdescent.run(json.load(open(sys.argv[1])), out=sys.argv[2], progress=False)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
""")


def peak_rss_mb(spec: dict, workdir: Path, name: str) -> float:
    """Peak RSS (MB, ru_maxrss) of a fresh process that runs ``spec`` to Parquet."""
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(spec))
    proc = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(path), str(workdir / name)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return float(proc.stdout.split()[-1])
