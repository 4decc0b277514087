"""The slow twin of the landscape problems: each loss and its gradient written out the
way a course notebook writes them -- plain Python floats and the ``math`` module, one
function per formula, the textbook expression, no vectors, no tricks.

Nothing here imports ``fastdescent``: the package's problem modules (and, later, its
kernels) are checked against these.

Every problem has ``<name>_f(x, y, **params)`` and ``<name>_grad(x, y, **params)``
(returning the pair (df/dx, df/dy)); the 1-D quartic takes and ignores y and returns
df/dy = 0. ``PROBLEMS`` maps each name to its (f, grad) pair.

Powers are written as products (x * x, not x * x): Python raises OverflowError when a
float ``**`` overflows, where the kernels get inf; with products the twin gets inf too.
(math.sin(inf) still raises ValueError: the multimodal twin needs finite inputs.)
"""

from __future__ import annotations

import math

# ---- multimodal: sin(x) cos(y) + 0.1 (x^2 + y^2)  (the course notebook's loss)


def multimodal_f(x, y):
    return math.sin(x) * math.cos(y) + 0.1 * (x * x + y * y)


def multimodal_grad(x, y):
    dfdx = math.cos(x) * math.cos(y) + 0.2 * x
    dfdy = -math.sin(x) * math.sin(y) + 0.2 * y
    return dfdx, dfdy


# ---- saddle: x^2 - y^2


def saddle_f(x, y):
    return x * x - y * y


def saddle_grad(x, y):
    return 2 * x, -2 * y


# ---- rosenbrock: (a - x)^2 + b (y - x^2)^2


def rosenbrock_f(x, y, a=1.0, b=100.0):
    return (a - x) * (a - x) + b * (y - x * x) * (y - x * x)


def rosenbrock_grad(x, y, a=1.0, b=100.0):
    dfdx = -2 * (a - x) - 4 * b * x * (y - x * x)
    dfdy = 2 * b * (y - x * x)
    return dfdx, dfdy


# ---- donut: (x^2 + y^2 - r^2)^2


def donut_f(x, y, r=1.0):
    return (x * x + y * y - r * r) * (x * x + y * y - r * r)


def donut_grad(x, y, r=1.0):
    inner = x * x + y * y - r * r
    return 4 * inner * x, 4 * inner * y


# ---- wells: bowl (x^2 + y^2) - sum_k depth_k exp(-|p - c_k|^2 / (2 width_k^2))

DEFAULT_WELLS = [
    {"center": [-1.5, -1.0], "depth": 2.0, "width": 0.5},
    {"center": [1.5, 1.2], "depth": 0.6, "width": 0.5},
    {"center": [1.8, -1.4], "depth": 0.6, "width": 0.5},
]


def wells_f(x, y, bowl=0.05, wells=DEFAULT_WELLS):
    total = bowl * (x * x + y * y)
    for well in wells:
        cx, cy = well["center"]
        sq_dist = (x - cx) * (x - cx) + (y - cy) * (y - cy)
        total -= well["depth"] * math.exp(-sq_dist / (2 * well["width"] * well["width"]))
    return total


def wells_grad(x, y, bowl=0.05, wells=DEFAULT_WELLS):
    dfdx = 2 * bowl * x
    dfdy = 2 * bowl * y
    for well in wells:
        cx, cy = well["center"]
        w2 = well["width"] * well["width"]
        g = well["depth"] * math.exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * w2))
        dfdx += g * (x - cx) / w2
        dfdy += g * (y - cy) / w2
    return dfdx, dfdy


# ---- himmelblau: (x^2 + y - 11)^2 + (x + y^2 - 7)^2


def himmelblau_f(x, y):
    return (x * x + y - 11) * (x * x + y - 11) + (x + y * y - 7) * (x + y * y - 7)


def himmelblau_grad(x, y):
    dfdx = 4 * x * (x * x + y - 11) + 2 * (x + y * y - 7)
    dfdy = 2 * (x * x + y - 11) + 4 * y * (x + y * y - 7)
    return dfdx, dfdy


# ---- camel (six-hump camel): (4 - 2.1 x^2 + x^4 / 3) x^2 + x y + (-4 + 4 y^2) y^2


def camel_f(x, y):
    return (4 - 2.1 * x * x + x * x * x * x / 3) * x * x + x * y + (-4 + 4 * y * y) * y * y


def camel_grad(x, y):
    dfdx = 8 * x - 8.4 * x * x * x + 2 * x * x * x * x * x + y
    dfdy = x - 8 * y + 16 * y * y * y
    return dfdx, dfdy


# ---- quartic (1-D): x^4 - 3 x^3 + 2  (the course's calculus exercise)


def quartic_f(x, y=0.0):
    return x * x * x * x - 3 * x * x * x + 2


def quartic_grad(x, y=0.0):
    return 4 * x * x * x - 9 * x * x, 0.0


PROBLEMS = {
    "multimodal": (multimodal_f, multimodal_grad),
    "saddle": (saddle_f, saddle_grad),
    "rosenbrock": (rosenbrock_f, rosenbrock_grad),
    "donut": (donut_f, donut_grad),
    "wells": (wells_f, wells_grad),
    "himmelblau": (himmelblau_f, himmelblau_grad),
    "camel": (camel_f, camel_grad),
    "quartic": (quartic_f, quartic_grad),
}
