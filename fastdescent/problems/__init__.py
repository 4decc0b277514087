"""Problem registry: a problem name -> the module that defines it.

A problem module exposes at least
- ``normalise_params(params: dict, where: str) -> dict``: validate the spec's
  ``problem_params`` table (``where`` is its key path, "problem_params") and fill defaults;
  raises SpecError;
- ``axes_used(params: dict) -> tuple[str, ...]``: the grid axes the problem reads, given
  its normalised params (e.g. ``("kappa",)``);

and optionally
- ``check_start(params: dict, axes: dict, dtype: str, where: str) -> None``: called by
  the spec parser once the axes are parsed (``axes``: the normalised axes; ``dtype``:
  "float64" or "float32"); raises SpecError naming ``where.start`` when the start point
  is unusable anywhere on the grid (the quadratic: its loss overflows). It must not
  materialise an axis (a range's extremes are its start and stop);

and, where the problem has a Hessian spectrum,
- ``lambda_range(kappa, params) -> (lambda_min, lambda_max)``, needed by
  ``lr = {..., relative_to = "lambda_max"}``.

Modules are imported on first use, so parsing a spec imports only the problem it names.
To add a problem, add its module under fastdescent/problems/ and a line to PROBLEMS.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# problem name -> module name inside fastdescent.problems
PROBLEMS: dict[str, str] = {
    "quadratic": "quadratic",
}


def problem_names() -> tuple[str, ...]:
    """The registered problem names, in registration order."""
    return tuple(PROBLEMS)


def get_problem(name: str) -> ModuleType:
    """The module defining problem ``name``; KeyError for an unknown name."""
    try:
        module = PROBLEMS[name]
    except KeyError:
        raise KeyError(f"unknown problem {name!r}; known: {', '.join(PROBLEMS)}") from None
    return importlib.import_module(f".{module}", __name__)
