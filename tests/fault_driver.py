"""Fault driver: run the ``fastdescent`` command and SIGKILL it at the K-th I/O point.

Usage::

    python tests/fault_driver.py MODE K -- <fastdescent CLI args>

It monkeypatches the two private functions of ``fastdescent.store`` that every write of
a part or of the manifest goes through (``_write_bytes(path, data)``: the manifest's bytes
into its fresh temporary file; ``_publish(tmp, final)``: the rename into place), then calls
``fastdescent.cli.main(args)`` and exits with its return code. MODEs:

- ``before-publish-part`` / ``after-publish-part``: SIGKILL just before / just after the
  K-th ``_publish`` of a part (``part-NNNNN.parquet``);
- ``before-publish-manifest`` / ``after-publish-manifest``: the same for the K-th
  ``_publish`` of ``_sweep.json``;
- ``mid-manifest-write``: at the K-th manifest ``_write_bytes``, write the first half of
  the bytes, fsync, then SIGKILL;
- ``count`` (K is ignored): no kill, only the log below.

The kill is ``os.kill(os.getpid(), SIGKILL)``, which ends the whole process from any
thread (parts may be written from a writer thread). If the K-th occurrence never comes,
the run finishes normally; the driver then prints ``fault_driver: no kill`` with the
counts on stderr, and the caller must not count it as a kill.

Environment (all optional):

- ``FAULT_DRIVER_LOG``: a file that gets one line per I/O point (``publish-part 3
  DIR/part-00002.parquet``, ``write-manifest 2 ...``, ``kill ...``), appended and closed at
  once, so that it is complete even after the SIGKILL; the last line of a normal exit is
  ``exit RC {counts as JSON}``;
- ``FAULT_DRIVER_DELAY``: seconds to sleep before every ``_publish`` (stretches a run for
  tests that need it to last);
- ``FAULT_DRIVER_BARRIER``: a path: after importing everything, the driver creates
  ``PATH.ready.<pid>`` and waits (up to 60 s) for PATH to appear before calling ``main``,
  so that several drivers start their run at the same instant.

The module also holds small helpers the tests import (``driver_cmd``, ``read_log``);
importing it imports nothing from fastdescent.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

DRIVER = Path(__file__).resolve()
PART_MODES = ("before-publish-part", "after-publish-part")
MANIFEST_MODES = ("before-publish-manifest", "after-publish-manifest", "mid-manifest-write")
MODES = (*PART_MODES, *MANIFEST_MODES)
#: the counter (in the log's final counts) that each MODE's K refers to
COUNTER = {
    "before-publish-part": "publish-part",
    "after-publish-part": "publish-part",
    "before-publish-manifest": "publish-manifest",
    "after-publish-manifest": "publish-manifest",
    "mid-manifest-write": "write-manifest",
}


# ---------------------------------------------------------------------------------------
# helpers for the tests (no fastdescent import here)


def driver_cmd(mode: str, k: int, args) -> list[str]:
    """The command line that runs ``fastdescent <args>`` under the driver."""
    return [sys.executable, str(DRIVER), mode, str(k), "--", *map(str, args)]


def read_log(path) -> list[str]:
    """The driver's log lines (empty if it wrote none)."""
    try:
        return Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []


def final_counts(lines) -> dict | None:
    """The counts of a driver that exited normally (None if it was killed)."""
    for line in reversed(lines):
        if line.startswith("exit "):
            return json.loads(line.split(" ", 2)[2])
    return None


# ---------------------------------------------------------------------------------------
# the driver


class _Faults:
    def __init__(self, mode: str, k: int, log_path: str | None, delay: float):
        self.mode, self.k, self.log_path, self.delay = mode, k, log_path, delay
        self.lock = threading.Lock()
        self.counts = {"publish-part": 0, "publish-manifest": 0, "write-manifest": 0}

    def log(self, text: str) -> None:
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(text + "\n")

    def count(self, key: str) -> int:
        with self.lock:
            self.counts[key] += 1
            return self.counts[key]

    def kill(self, what: str) -> None:
        self.log(f"kill {self.mode} {self.k} {what}")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)  # never reached: SIGKILL cannot be caught


def _publish_kind(final, manifest_name: str) -> str | None:
    name = Path(final).name
    if name == manifest_name:
        return "manifest"
    if name.startswith("part-") and name.endswith(".parquet"):
        return "part"
    return None


def _is_manifest_bytes(data) -> bool:
    """The manifest is a JSON object holding the spec (a lock or anything else is not)."""
    try:
        obj = json.loads(bytes(data))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(obj, dict) and any(str(key).startswith("spec") for key in obj)


def install(faults: _Faults) -> None:
    from fastdescent import store

    missing = [n for n in ("_write_bytes", "_publish") if not callable(getattr(store, n, None))]
    if missing:
        print(
            f"fault_driver: fastdescent.store has no {' and no '.join(missing)}: the fault "
            "points of the contract do not exist",
            file=sys.stderr,
        )
        sys.exit(3)
    original_write, original_publish = store._write_bytes, store._publish
    manifest_name = getattr(store, "MANIFEST", "_sweep.json")

    def _write_bytes(path, data):
        if not _is_manifest_bytes(data):
            faults.log(f"write-other {path}")
            return original_write(path, data)
        n = faults.count("write-manifest")
        faults.log(f"write-manifest {n} {path}")
        if faults.mode == "mid-manifest-write" and n == faults.k:
            data = bytes(data)
            original_write(path, data[: len(data) // 2])
            with open(path, "rb+") as f:
                f.flush()
                os.fsync(f.fileno())
            faults.kill(f"{path} after {len(data) // 2} of {len(data)} bytes")
        return original_write(path, data)

    def _publish(tmp, final):
        kind = _publish_kind(final, manifest_name)
        if kind is None:
            faults.log(f"publish-other {final}")
            return original_publish(tmp, final)
        n = faults.count(f"publish-{kind}")
        if faults.delay:
            time.sleep(faults.delay)
        if faults.mode == f"before-publish-{kind}" and n == faults.k:
            faults.kill(f"before publishing {final}")
        result = original_publish(tmp, final)
        faults.log(f"publish-{kind} {n} {final}")
        if faults.mode == f"after-publish-{kind}" and n == faults.k:
            faults.kill(f"after publishing {final}")
        return result

    store._write_bytes = _write_bytes
    store._publish = _publish


def _barrier(path: str) -> None:
    # import what a run needs first, so that the waiting is the only thing left to do
    import importlib

    for name in ("fastdescent.spec", "fastdescent.runner", "fastdescent.engine", "pyarrow.parquet"):
        importlib.import_module(name)

    Path(f"{path}.ready.{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            print("fault_driver: the barrier never opened", file=sys.stderr)
            sys.exit(4)
        time.sleep(0.0005)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[2] != "--" or argv[0] not in (*MODES, "count"):
        print(
            f"usage: fault_driver.py MODE K -- ARGS...; MODE: {' | '.join(MODES)} | count",
            file=sys.stderr,
        )
        return 64
    mode, k, args = argv[0], int(argv[1]), argv[3:]
    faults = _Faults(
        mode,
        k,
        os.environ.get("FAULT_DRIVER_LOG"),
        float(os.environ.get("FAULT_DRIVER_DELAY", "0")),
    )
    install(faults)
    from fastdescent.cli import main as cli_main

    if os.environ.get("FAULT_DRIVER_BARRIER"):
        _barrier(os.environ["FAULT_DRIVER_BARRIER"])
    rc = cli_main(args)
    with faults.lock:
        counts = dict(faults.counts)
    faults.log(f"exit {rc} {json.dumps(counts)}")
    if mode != "count":
        print(f"fault_driver: no kill ({mode} {k} never came: {counts})", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
