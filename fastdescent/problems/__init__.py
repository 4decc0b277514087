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

``linreg`` (least squares on synthetic data, mini-batches; ``problems/linreg.py``) runs
on its own kernel (``kernels/minibatch.py``, ``linreg_engine.py``).

Landscapes (multimodal, saddle, rosenbrock, donut, wells, himmelblau, camel, quartic;
DESIGN 1.4) are 2-D test functions (quartic: 1-D) of the coordinates x, y, with the
shared parts in ``_landscape``. Each module's docstring gives the formula, gradient and
Hessian, the parameters and their defaults, the minima (index, location, value, Hessian
eigenvalues) and how they were obtained, the saddles and maxima, and the stop rule.
A landscape module exposes, besides ``normalise_params`` (the start point is
``problem_params.start``, a list of DIM floats; unknown keys are an error),
``axes_used`` (("x0", "y0", "sigma"); quartic ("x0", "sigma")) and ``check_start`` (loss
and gradient finite at the start and over the box the x0 / y0 axes span):
- ``DIM`` (2, quartic 1); ``CODE``, the small int the kernels dispatch on (multimodal 1,
  saddle 2, rosenbrock 3, donut 4, wells 5, himmelblau 6, camel 7, quartic 8);
  ``STOP_RULE = "grad"`` (converged when |grad f(w_t)| <= stop.grad_tol; left when
  |w_t - w_0| > stop.radius or not finite: "escaped" if f(w_t) < f(w_0) then, else
  "diverged"); ``UNBOUNDED_BELOW`` (True for saddle only);
- ``pack(params) -> np.ndarray``: the constants c the jitted functions read, float64,
  1-D, C-contiguous (the minima's coordinates appended where ``project_minimum`` needs
  them);
- jitted with ``fastdescent._jit.jit``, pure functions of the scalars x, y and c, defined
  (no exception) for every finite input: ``value(x, y, c) -> f``,
  ``grad(x, y, c) -> (gx, gy)``, ``hessian(x, y, c) -> (hxx, hxy, hyy)`` (quartic:
  gy = hxy = hyy = 0.0, y ignored), ``project_minimum(x, y, c) -> (index, mx, my)``: the
  listed minimum nearest to (x, y) (int64 index; donut: index 0 and the nearest point of
  the circle; saddle: (-1, nan, nan); quartic: my = 0.0);
- ``minima(params) -> tuple[Minimum, ...]`` and ``saddles(params) ->
  tuple[CriticalPoint, ...]`` (kind "saddle" | "maximum" | "degenerate"), indexed in a
  documented, stable order; numerical ones are computed once per params and cached;
- ``region(params) -> (xmin, xmax, ymin, ymax)``: the box searched for minima, and a
  plotting box (quartic: ymin = ymax = 0.0);
- ``bound(X, Y, c) -> float``: an upper bound on |f|, |grad f| and their terms over
  |x| <= X, |y| <= Y (check_start's guard against overflow inside a start grid).

Modules are imported on first use, so parsing a spec imports only the problem it names.
To add a problem, add its module under fastdescent/problems/ and a line to PROBLEMS; for a
landscape (a new, unique CODE) then run ``python -m fastdescent.kernels.generate``, which
writes the kernels' wiring from this registry.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# problem name -> module name inside fastdescent.problems
PROBLEMS: dict[str, str] = {
    "quadratic": "quadratic",
    "linreg": "linreg",
    "multimodal": "multimodal",
    "saddle": "saddle",
    "rosenbrock": "rosenbrock",
    "donut": "donut",
    "wells": "wells",
    "himmelblau": "himmelblau",
    "camel": "camel",
    "quartic": "quartic",
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
