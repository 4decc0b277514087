"""Problem functions by small integer code: what the lane kernel calls.

Each landscape module (``fastdescent.problems.<name>``) defines jitted ``value``,
``grad``, ``hessian`` and ``project_minimum`` of (x, y, c), ``c`` its packed constants
(``pack(params)``), and its ``CODE``. The functions below branch on the code; the code
is the same for every trajectory of a sweep, so the branch is taken the same way in
every lane and LLVM hoists it out of the lane loop.

Adding a landscape: its module, one line in ``fastdescent.problems.PROBLEMS`` and one
branch in each function below.
"""

from __future__ import annotations

import math

from .._jit import jit
from ..problems import camel, donut, himmelblau, multimodal, quartic, rosenbrock, saddle, wells

#: code -> module, for the engine (the kernel branches on the code)
MODULES = {
    m.CODE: m for m in (multimodal, saddle, rosenbrock, donut, wells, himmelblau, camel, quartic)
}


@jit
def value(code, x, y, c):
    """f(x, y)."""
    if code == rosenbrock.CODE:
        return rosenbrock.value(x, y, c)
    if code == multimodal.CODE:
        return multimodal.value(x, y, c)
    if code == saddle.CODE:
        return saddle.value(x, y, c)
    if code == donut.CODE:
        return donut.value(x, y, c)
    if code == wells.CODE:
        return wells.value(x, y, c)
    if code == himmelblau.CODE:
        return himmelblau.value(x, y, c)
    if code == camel.CODE:
        return camel.value(x, y, c)
    if code == quartic.CODE:
        return quartic.value(x, y, c)
    return math.nan


@jit
def grad(code, x, y, c):
    """(df/dx, df/dy) at (x, y)."""
    if code == rosenbrock.CODE:
        return rosenbrock.grad(x, y, c)
    if code == multimodal.CODE:
        return multimodal.grad(x, y, c)
    if code == saddle.CODE:
        return saddle.grad(x, y, c)
    if code == donut.CODE:
        return donut.grad(x, y, c)
    if code == wells.CODE:
        return wells.grad(x, y, c)
    if code == himmelblau.CODE:
        return himmelblau.grad(x, y, c)
    if code == camel.CODE:
        return camel.grad(x, y, c)
    if code == quartic.CODE:
        return quartic.grad(x, y, c)
    return math.nan, math.nan


@jit
def hessian(code, x, y, c):
    """(d2f/dx2, d2f/dxdy, d2f/dy2) at (x, y)."""
    if code == rosenbrock.CODE:
        return rosenbrock.hessian(x, y, c)
    if code == multimodal.CODE:
        return multimodal.hessian(x, y, c)
    if code == saddle.CODE:
        return saddle.hessian(x, y, c)
    if code == donut.CODE:
        return donut.hessian(x, y, c)
    if code == wells.CODE:
        return wells.hessian(x, y, c)
    if code == himmelblau.CODE:
        return himmelblau.hessian(x, y, c)
    if code == camel.CODE:
        return camel.hessian(x, y, c)
    if code == quartic.CODE:
        return quartic.hessian(x, y, c)
    return math.nan, math.nan, math.nan


@jit
def project_minimum(code, x, y, c):
    """(index, mx, my): the listed minimum nearest to (x, y); (-1, nan, nan) if none."""
    if code == rosenbrock.CODE:
        return rosenbrock.project_minimum(x, y, c)
    if code == multimodal.CODE:
        return multimodal.project_minimum(x, y, c)
    if code == saddle.CODE:
        return saddle.project_minimum(x, y, c)
    if code == donut.CODE:
        return donut.project_minimum(x, y, c)
    if code == wells.CODE:
        return wells.project_minimum(x, y, c)
    if code == himmelblau.CODE:
        return himmelblau.project_minimum(x, y, c)
    if code == camel.CODE:
        return camel.project_minimum(x, y, c)
    if code == quartic.CODE:
        return quartic.project_minimum(x, y, c)
    return -1, math.nan, math.nan
