"""Checks for sweep-spec values: each raises one SpecError that names the key, the value
and what is allowed.

Every check takes ``where``, the dotted key path of the value (``axes.lr.start``,
``problem_params.start[1]``), and returns the value normalised to a plain Python type.

Messages are one line and short whatever the input: user values and keys appear through
``show`` and ``show_key`` (repr, cut to SHOW_MAX characters), which never format more of
a value than they print, so a 100 MB string or a list of 10**8 numbers costs nothing.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

import numpy as np

SHOW_MAX = 80  # characters of a user value in a message
KEY_MAX = 40  # characters of a user key in a message
MAX_DEPTH = 32  # tables and lists nested within each other, the top table included
SUGGEST_MAX = 64  # no "did you mean" for longer words (difflib is quadratic in them)
_WALK_MAX = 1 << 20  # containers with more entries are refused elsewhere, unwalked


class SpecError(ValueError):
    """An invalid sweep spec; the message names the key, the value and what is allowed."""


class SpecWarning(UserWarning):
    """A valid sweep spec that is probably not what was meant (e.g. beta outside [0, 1))."""


def join(where: str, key: str) -> str:
    """Dotted key path: join("axes", "lr") -> "axes.lr"; join("", "steps") -> "steps"."""
    return f"{where}.{key}" if where else key


def show(value: Any) -> str:
    """Short repr of a user value for messages (numpy scalars as plain Python values).

    repr(value) when it has at most SHOW_MAX characters, else its first SHOW_MAX - 3 and
    "...". Only that much of the value is formatted (``_bounded_repr``).
    """
    text = _bounded_repr(value, SHOW_MAX)
    return text if len(text) <= SHOW_MAX else text[: SHOW_MAX - 3] + "..."


def show_key(key: Any) -> str:
    """A user key for a key path in a message: cut to KEY_MAX characters ("..." added).

    The caller shows the whole path with repr (``f"{join(where, show_key(key))!r}"``), so
    newlines and other control characters are escaped.
    """
    key = key if isinstance(key, str) else show(key)
    return key if len(key) <= KEY_MAX else key[: KEY_MAX - 3] + "..."


def _bounded_repr(value: Any, budget: int) -> str:
    """repr(value) if it has at most ``budget`` characters; else a longer string whose
    first ``budget`` characters are those of repr(value) (for a long string, up to the
    choice of quotes). Formats O(budget) characters: strings and bytes are cut before
    repr, lists, tuples and dicts are formatted item by item until the budget is spent
    (so cyclic containers end too), and integers too long for str() are described.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, bytes)):
        return repr(value[: budget + 1]) if len(value) > budget else repr(value)
    if type(value) is int and value.bit_length() > 256:
        return f"<an integer of {value.bit_length()} bits>"
    if type(value) in (list, tuple, dict):
        if type(value) is dict:
            opening, closing, items = "{", "}", value.items()
        else:
            opening, closing = ("[", "]") if type(value) is list else ("(", ")")
            items = value
        parts, size = [opening], 1
        for i, item in enumerate(items):
            if size > budget:
                return "".join(parts)
            if i:
                parts.append(", ")
                size += 2
            if type(value) is dict:
                key = _bounded_repr(item[0], budget - size) + ": "
                parts.append(key)
                size += len(key)
                item = item[1]
            text = _bounded_repr(item, budget - size)
            parts.append(text)
            size += len(text)
        if type(value) is tuple and len(value) == 1:
            parts.append(",")
        parts.append(closing)
        return "".join(parts)
    return repr(value)


def suggest(word: Any, choices: Sequence[str]) -> str | None:
    """The choice closest to ``word`` (difflib), or None; None for long words."""
    if not isinstance(word, str) or len(word) > SUGGEST_MAX:
        return None
    close = difflib.get_close_matches(word, choices, n=1)
    return close[0] if close else None


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
            close = suggest(key, allowed)
            hint = f"; did you mean {close!r}?" if close else ";"
            path = join(where, show_key(key))
            raise SpecError(f"unknown key {path!r}{hint} allowed: {', '.join(allowed)}")


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
        close = suggest(value, choices)
        hint = f" (did you mean {close!r}?)" if close else ""
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
    """A non-empty list (TOML array; any non-string sequence) -> list.

    With ``max_len``, a longer sequence is refused before its items are read.
    """
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, np.ndarray)):
        fail(where, value, f"expected a non-empty list, {_got(value)}")
    if max_len is not None and len(value) > max_len:
        raise SpecError(f"{where}: expected at most {max_len} items, got {len(value)}")
    items = list(value)
    if not items:
        fail(where, value, "expected a non-empty list")
    return items


def _children(value: Any):
    """(key, child) pairs of a table or list, for check_depth; None for anything else.

    A container with more than _WALK_MAX entries is not walked: every table of a spec has
    a handful of allowed keys and every list a max_len, so it is refused anyway.
    """
    if isinstance(value, Mapping):
        return iter(value.items()) if len(value) <= _WALK_MAX else iter(())
    if isinstance(value, (list, tuple)):
        return iter(enumerate(value)) if len(value) <= _WALK_MAX else iter(())
    return None


def check_depth(value: Any, where: str = "", limit: int = MAX_DEPTH) -> None:
    """Refuse tables (Mappings) and lists (lists, tuples) nested more than ``limit``
    levels deep, ``value`` itself being level 1; a container inside itself counts as
    infinitely deep.

    Iterative (no recursion, whatever the depth), and each container is walked once
    (heights are memoised by id), so shared sublists cost nothing. Raises SpecError
    naming the key path at which the limit is passed.
    """
    children = _children(value)
    if children is None:
        return
    # stack of [container, its children iterator, its height so far]; path[k] is the key
    # of stack[k + 1] in stack[k]
    stack = [[value, children, 1]]
    path: list = []
    on_stack = {id(value)}
    height: dict[int, int] = {}

    def too_deep(keys, cycle=False):
        text = where
        for key in keys:
            text = f"{text}[{key}]" if isinstance(key, int) else join(text, show_key(key))
        if not text.isprintable():
            text = show(text)
        elif len(text) > SHOW_MAX:
            text = text[: SHOW_MAX - 3] + "..."
        why = " (a table or list inside itself)" if cycle else ""
        raise SpecError(
            f"{text or 'the spec'}: tables and lists are nested more than {limit} levels "
            f"deep{why}; at most {limit}"
        )

    while stack:
        frame = stack[-1]
        for key, child in frame[1]:
            grandchildren = _children(child)
            if grandchildren is None:
                continue
            known = height.get(id(child))
            if known is not None:
                if len(stack) + known > limit:
                    too_deep([*path, key])
                frame[2] = max(frame[2], 1 + known)
                continue
            if id(child) in on_stack or len(stack) >= limit:
                too_deep([*path, key], cycle=id(child) in on_stack)
            on_stack.add(id(child))
            path.append(key)
            stack.append([child, grandchildren, 1])
            break
        else:
            stack.pop()
            on_stack.discard(id(frame[0]))
            height[id(frame[0])] = frame[2]
            if stack:
                path.pop()
                stack[-1][2] = max(stack[-1][2], 1 + frame[2])
