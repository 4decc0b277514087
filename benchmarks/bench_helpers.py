"""Helpers shared by the benchmark modules."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# VmHWM, the high-water mark of this process's own memory since exec. Not ru_maxrss: on
# Linux it keeps the high-water mark of the address space the child was forked from
# (subprocess uses vfork), so it reported the pytest process's RSS (636 MB, once 1 GB)
_RSS_CHILD = textwrap.dedent("""
    import json, re, resource, sys, fastdescent
    fastdescent.run(json.load(open(sys.argv[1])), out=sys.argv[2], progress=False)
    try:
        status = open("/proc/self/status").read()
        print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024)
    except OSError:
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
""")


def peak_rss_mb(spec: dict, workdir: Path, name: str) -> float:
    """Peak RSS (MB, VmHWM) of a fresh process that runs ``spec`` to Parquet."""
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(spec))
    proc = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(path), str(workdir / name)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return float(proc.stdout.split()[-1])


def time_kernel(benchmark, engine, full_size, rounds=5, threads=2):
    """Time ``engine.kernel`` over the whole sweep on ``threads`` Numba threads (compiled,
    or loaded from the cache, before anything is timed): ``rounds`` rounds after one
    warm-up at full size, one round otherwise (the ordinary test run's smoke test).
    Records threads, trajectories and trajectory_steps in ``extra_info``; returns the
    kernel's columns."""
    import numpy as np

    from fastdescent.runner import _threads

    engine.kernel(0, min(64, engine.spec.size))
    with _threads(threads):
        out = benchmark.pedantic(
            engine.kernel, args=(0, engine.spec.size), rounds=rounds if full_size else 1,
            warmup_rounds=1 if full_size else 0,
        )  # fmt: skip
    steps = int(out["steps"].sum(dtype=np.int64))
    benchmark.extra_info.update(
        threads=threads, trajectories=engine.spec.size, trajectory_steps=steps
    )
    return out
