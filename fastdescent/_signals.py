"""Deferred SIGINT and SIGTERM for the command line.

While ``deferred()`` is active, a first SIGINT or SIGTERM only records itself, and the
orchestration raises it at safe points with ``check()``: between phases (parse,
estimate, compile) and before each chunk. Raised straight from a signal handler, the
exception would land wherever Python happened to be, inside an import or a finaliser,
where a bare ``except:`` can swallow it (the run then goes on) or where it is printed as
"Exception ignored" with a traceback. A chunk's kernel is native code that handles no
signal until it returns, so deferring to the next chunk costs no responsiveness. A
second signal of the same kind raises at once, for a user who does not want to wait.

Outside ``deferred()`` (a notebook calling ``fastdescent.run``), nothing changes:
``check()`` is a no-op and Ctrl-C raises KeyboardInterrupt as usual.
"""

from __future__ import annotations

import contextlib
import signal
import threading

_pending: int | None = None


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that clean-up code runs."""


def _exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def _handler(signum, frame):
    global _pending
    if _pending == signum:  # asked twice: stop now
        raise _exception(signum)
    if _pending is None:
        _pending = signum


def check() -> None:
    """Raise KeyboardInterrupt (SIGINT) or Terminated (SIGTERM) if one was received."""
    if _pending is not None:
        raise _exception(_pending)


@contextlib.contextmanager
def deferred():
    """Record SIGINT and SIGTERM instead of raising them (main thread only; elsewhere a
    no-op); restore the previous handlers on exit."""
    global _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _pending = None
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _pending = None
