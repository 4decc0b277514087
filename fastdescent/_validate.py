"""Checks for sweep-spec values: each raises one SpecError that names the key, the value
and what is allowed.

Every check takes ``where``, the dotted key path of the value (``axes.lr.start``,
``problem_params.start[1]``), and returns the value normalised to a plain Python type.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

import numpy as np


class SpecError(ValueError):
    """An invalid sweep spec; the message names the key, the value and what is allowed."""


class SpecWarning(UserWarning):
    """A valid sweep spec that is probably not what was meant (e.g. beta outside [0, 1))."""


def join(where: str, key: str) -> str:
    """Dotted key path: join("axes", "lr") -> "axes.lr"; join("", "steps") -> "steps"."""
    return f"{where}.{key}" if where else key


def show(value: Any) -> str:
    """Short repr of a user value for messages (numpy scalars as plain Python values)."""
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def fail(where: str, value: Any, expected: str) -> NoReturn:
    """Raise SpecError("<where> = <value>: <expected>")."""
    raise SpecError(f"{where} = {show(value)}: {expected}")


def _got(value: Any) -> str:
    return f"got {type(value).__name__}"


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _bounds_text(ge=None, gt=None, le=None, lt=None) -> str:
    pairs = ((">=", ge), (">", gt), ("<=", le), ("<", lt))
    return " and ".join(f"{op} {bound!r}" for op, bound in pairs if bound is not None)


def _in_bounds(x, ge=None, gt=None, le=None, lt=None) -> bool:
    return (
        (ge is None or x >= ge)
        and (gt is None or x > gt)
        and (le is None or x <= le)
        and (lt is None or x < lt)
    )


def check_table(value: Any, where: str) -> dict:
    """A TOML table (any Mapping with str keys) -> a plain dict."""
    if not isinstance(value, Mapping):
        if not where:
            raise SpecError(f"the spec: expected a table (dict), {_got(value)}")
        fail(where, value, f"expected a table (dict), {_got(value)}")
    for key in value:
        if not isinstance(key, str):
            raise SpecError(f"{where or 'the spec'}: keys must be strings, got {show(key)}")
    return dict(value)


def check_keys(table: Mapping, allowed: Iterable[str], where: str) -> None:
    """Reject a key of ``table`` that is not in ``allowed``, suggesting the closest one."""
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ";"
            raise SpecError(f"unknown key {join(where, key)!r}{hint} allowed: {', '.join(allowed)}")


def require(table: Mapping, key: str, where: str, what: str) -> Any:
    """table[key], or SpecError "missing required key '<where.key>' (<what>)"."""
    if key not in table:
        raise SpecError(f"missing required key {join(where, key)!r} ({what})")
    return table[key]


def as_str(value: Any, where: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str):
        fail(where, value, f"expected a string, {_got(value)}")
    if not value:
        fail(where, value, "expected a non-empty string")
    return value


def as_choice(value: Any, where: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        allowed = " | ".join(choices)
        if not isinstance(value, str):
            fail(where, value, f"expected one of {allowed}, {_got(value)}")
        close = difflib.get_close_matches(value, choices, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        fail(where, value, f"expected one of {allowed}{hint}")
    return value


def as_int(value: Any, where: str, *, ge=None, gt=None, le=None, lt=None) -> int:
    """An integer (not bool, not float) within the given bounds -> int."""
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        fail(where, value, f"expected an integer, {_got(value)}")
    value = int(value)
    if not _in_bounds(value, ge, gt, le, lt):
        fail(where, value, f"expected an integer {_bounds_text(ge, gt, le, lt)}")
    return value


def as_float(value: Any, where: str, *, ge=None, gt=None, le=None, lt=None) -> float:
    """A finite real number (int or float, not bool) within the given bounds -> float.

    -0.0 becomes 0.0, so that equal specs hash equal.
    """
    if _is_bool(value) or not isinstance(value, numbers.Real):
        fail(where, value, f"expected a number, {_got(value)}")
    bounds = _bounds_text(ge, gt, le, lt)
    expected = f"expected a finite number {bounds}".rstrip()
    try:
        x = float(value)
    except OverflowError:
        fail(where, value, expected + " (too large for float64)")
    if not math.isfinite(x):
        fail(where, value, expected + " (nan and inf are not allowed)")
    if not _in_bounds(x, ge, gt, le, lt):
        fail(where, value, expected)
    return x + 0.0


def as_list(value: Any, where: str, *, max_len: int | None = None) -> list:
    """A non-empty list (TOML array; any non-string sequence) -> list."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, np.ndarray)):
        fail(where, value, f"expected a non-empty list, {_got(value)}")
    items = list(value)
    if not items:
        fail(where, value, "expected a non-empty list")
    if max_len is not None and len(items) > max_len:
        raise SpecError(f"{where}: expected at most {max_len} items, got {len(items)}")
    return items
