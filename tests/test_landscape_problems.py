"""The landscape problem modules (fastdescent/problems/<name>.py, DESIGN 1.4) against the
slow twin (tests/naive_landscapes.py), finite differences, known results and independent
searches for their minima.

Every check is per problem, on a seeded sample; the jitted functions are compiled once
per machine (cache=True), so the file runs in seconds.
"""

from __future__ import annotations

import json
import math

import naive_landscapes as naive
import numpy as np
import pytest

from fastdescent._validate import SpecError
from fastdescent.problems import PROBLEMS, get_problem

NAMES = ("multimodal", "saddle", "rosenbrock", "donut", "wells", "himmelblau", "camel", "quartic")
CODES = {name: code for code, name in enumerate(NAMES, start=1)}
WHERE = "problem_params"


def setup(name, raw=None):
    """(module, normalised params, pack, family params for the naive twin)."""
    mod = get_problem(name)
    params = mod.normalise_params(raw or {}, WHERE)
    family = {k: v for k, v in params.items() if k != "start"}
    return mod, params, mod.pack(params), family


def sample(mod, params, n, seed, grow=1.5):
    """n seeded points over the problem's region grown by ``grow`` about its centre."""
    xmin, xmax, ymin, ymax = mod.region(params)
    rng = np.random.default_rng(seed)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    hx, hy = grow * (xmax - xmin) / 2, grow * (ymax - ymin) / 2
    xs = rng.uniform(cx - hx, cx + hx, n)
    ys = rng.uniform(cy - hy, cy + hy, n) if mod.DIM == 2 else np.zeros(n)
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def scale(mod, c, x, y):
    """The size of the terms of f and grad f at (x, y): the problem's own bound."""
    return max(1.0, mod.bound(abs(x), abs(y), c))


# ---------------------------------------------------------------- the interface


def test_registered():
    assert set(NAMES) <= set(PROBLEMS)
    assert all(get_problem(name).__name__ == f"fastdescent.problems.{name}" for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_interface(name):
    mod, params, c, _ = setup(name)
    assert mod.DIM == (1 if name == "quartic" else 2)
    assert mod.CODE == CODES[name]
    assert mod.STOP_RULE == "grad"
    assert mod.UNBOUNDED_BELOW is (name == "saddle")
    assert mod.axes_used(params) == (*("x0", "y0")[: mod.DIM], "sigma")  # sigma: noise
    assert c.dtype == np.float64 and c.ndim == 1 and c.flags.c_contiguous
    assert len(params["start"]) == mod.DIM
    # JSON-serialisable and a fixed point
    assert json.loads(json.dumps(params)) == params
    assert mod.normalise_params(json.loads(json.dumps(params)), WHERE) == params
    xmin, xmax, ymin, ymax = mod.region(params)
    assert xmin < xmax and (ymin < ymax if mod.DIM == 2 else ymin == ymax == 0.0)
    for m in mod.minima(params):
        assert len(m.location) == len(m.eigenvalues) == mod.DIM
        assert list(m.eigenvalues) == sorted(m.eigenvalues)
        json.dumps(m.to_dict())
    for p in mod.saddles(params):
        assert p.kind in ("saddle", "maximum", "degenerate")
        json.dumps(p.to_dict())
    assert [m.index for m in mod.minima(params)] == list(range(len(mod.minima(params))))
    assert [p.index for p in mod.saddles(params)] == list(range(len(mod.saddles(params))))


def test_default_starts():
    starts = {
        "multimodal": [2.0, -1.0],
        "saddle": [0.01, 0.01],
        "rosenbrock": [-1.0, 1.0],
        "donut": [1.5, 0.5],
        "wells": [3.0, 0.0],
        "himmelblau": [0.0, 0.0],
        "camel": [1.5, 1.0],
        "quartic": [4.0],
    }
    for name, start in starts.items():
        assert setup(name)[1]["start"] == start


# ---------------------------------------------------------------- formulas


@pytest.mark.parametrize("name", NAMES)
def test_value_and_grad_match_the_naive_twin(name):
    mod, params, c, family = setup(name)
    f, grad = naive.PROBLEMS[name]
    for x, y in sample(mod, params, 300, seed=CODES[name]):
        tol = 1e-12 * scale(mod, c, x, y)
        assert abs(mod.value(x, y, c) - f(x, y, **family)) <= tol
        g, h = mod.grad(x, y, c), grad(x, y, **family)
        assert abs(g[0] - h[0]) <= tol and abs(g[1] - h[1]) <= tol


@pytest.mark.parametrize("name", NAMES)
def test_grad_and_hessian_match_finite_differences(name):
    mod, params, c, _ = setup(name)
    for x, y in sample(mod, params, 100, seed=100 + CODES[name]):
        hx, hy = 1e-6 * (1 + abs(x)), 1e-6 * (1 + abs(y))
        tol = 1e-6 * scale(mod, c, x, y)
        gx, gy = mod.grad(x, y, c)
        assert abs(gx - (mod.value(x + hx, y, c) - mod.value(x - hx, y, c)) / (2 * hx)) <= tol
        hxx, hxy, hyy = mod.hessian(x, y, c)
        gxp, gxm = mod.grad(x + hx, y, c), mod.grad(x - hx, y, c)
        assert abs(hxx - (gxp[0] - gxm[0]) / (2 * hx)) <= tol
        if mod.DIM == 1:
            assert gy == 0.0 and hxy == 0.0 and hyy == 0.0
            continue
        assert abs(gy - (mod.value(x, y + hy, c) - mod.value(x, y - hy, c)) / (2 * hy)) <= tol
        gyp, gym = mod.grad(x, y + hy, c), mod.grad(x, y - hy, c)
        assert abs(hxy - (gxp[1] - gxm[1]) / (2 * hx)) <= tol
        assert abs(hxy - (gyp[0] - gym[0]) / (2 * hy)) <= tol
        assert abs(hyy - (gyp[1] - gym[1]) / (2 * hy)) <= tol


@pytest.mark.parametrize("name", NAMES)
def test_formulas_are_total(name):
    """No exception for any finite input; huge inputs overflow to inf/nan quietly."""
    mod, _, c, _ = setup(name)
    for x, y in [(1e300, -1e300), (-1.7e308, 0.0), (0.0, 1e200), (1e-300, -1e-300)]:
        mod.value(x, y, c), mod.grad(x, y, c), mod.hessian(x, y, c)
        k = mod.project_minimum(x, y, c)[0]
        assert mod.minima(mod.normalise_params({}, WHERE)) == () or k >= 0


# ---------------------------------------------------------------- minima


@pytest.mark.parametrize("name", NAMES)
def test_listed_critical_points(name):
    """Each listed point has a vanishing gradient and the listed value and eigenvalues."""
    mod, params, c, _ = setup(name)
    for p in (*mod.minima(params), *mod.saddles(params)):
        x, y = (*p.location, 0.0)[:2]
        assert math.hypot(*mod.grad(x, y, c)) <= 1e-13 * scale(mod, c, x, y)
        assert mod.value(x, y, c) == pytest.approx(p.value, rel=1e-12, abs=1e-12)
        hxx, hxy, hyy = mod.hessian(x, y, c)
        eig = np.linalg.eigvalsh([[hxx, hxy], [hxy, hyy]]) if mod.DIM == 2 else [hxx]
        assert np.allclose(eig, p.eigenvalues, rtol=1e-9, atol=1e-9 * max(1, np.abs(eig).max()))
    for m in mod.minima(params):
        assert m.eigenvalues[0] > 0 or (name == "donut" and abs(m.eigenvalues[0]) < 1e-12)
    for p in mod.saddles(params):
        lam = p.eigenvalues
        expected = {"saddle": lam[0] < 0 < lam[-1], "maximum": lam[-1] < 0}
        assert expected.get(p.kind, min(abs(v) for v in lam) < 1e-9)


def descend(f, grad, x, y, iters=400):
    """Saddle-free Newton (Hessian by central differences of the naive gradient, its
    eigenvalues replaced by their absolute values) with Armijo backtracking on f: from a
    generic start it goes downhill to a local minimum. Independent of fastdescent."""
    p = np.array([x, y], dtype=float)
    for _ in range(iters):
        g = np.array(grad(*p))
        if np.hypot(*g) <= 1e-11 * (1 + abs(f(*p))):
            break
        h = 1e-6 * (1 + np.abs(p))
        H = np.empty((2, 2))
        for i in range(2):
            e = np.zeros(2)
            e[i] = h[i]
            H[:, i] = (np.array(grad(*(p + e))) - np.array(grad(*(p - e)))) / (2 * h[i])
        lam, V = np.linalg.eigh((H + H.T) / 2)
        lam = np.maximum(np.abs(lam), 1e-8 * max(1.0, np.abs(lam).max()))
        d = -V @ ((V.T @ g) / lam)
        t, f0 = 1.0, f(*p)
        while f(*(p + t * d)) > f0 + 1e-4 * t * (g @ d) and t > 1e-12:
            t /= 2
        p = p + t * d
    return p


def nearest(points, x, y):
    return min(range(len(points)), key=lambda k: math.hypot(x - points[k][0], y - points[k][1]))


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("saddle", "quartic")])
def test_descents_from_random_starts_land_on_listed_minima(name):
    """Nothing unlisted: every descent from 40 random starts over the region ends at a
    listed minimum (donut: on the circle)."""
    mod, params, _, family = setup(name)
    f, grad = naive.PROBLEMS[name]
    locs = [m.location for m in mod.minima(params)]
    for x, y in sample(mod, params, 40, seed=200 + CODES[name], grow=1.0):
        px, py = descend(lambda u, v: f(u, v, **family), lambda u, v: grad(u, v, **family), x, y)
        if name == "donut":
            assert math.hypot(px, py) == pytest.approx(params["r"], abs=1e-6)
            continue
        k = nearest(locs, px, py)
        assert math.dist((px, py), locs[k]) < 1e-5, (x, y, px, py)


COUNTS = {  # (minima, saddles, maxima)
    "multimodal": (4, 4, 1),
    "rosenbrock": (1, 0, 0),
    "wells": (3, 2, 0),
    "himmelblau": (4, 4, 1),
    "camel": (6, 7, 2),
}


@pytest.mark.parametrize("name", [n for n in NAMES if n in COUNTS])
def test_counts_and_morse(name):
    """The counts, and #minima - #saddles + #maxima = 1 (coercive Morse functions)."""
    mod, params, _, _ = setup(name)
    kinds = [p.kind for p in mod.saddles(params)]
    counts = (len(mod.minima(params)), kinds.count("saddle"), kinds.count("maximum"))
    assert counts == COUNTS[name] and len(kinds) == sum(counts[1:])
    assert counts[0] - counts[1] + counts[2] == 1


@pytest.mark.parametrize(
    "name", [n for n in NAMES if n in ("multimodal", "wells", "himmelblau", "camel")]
)
def test_grid_minima_of_the_sampled_twin(name):
    """Independent count: the strict local minima of the naive f sampled on a 301 x 301
    grid over the region are the listed minima, one grid cell each."""
    mod, params, _, family = setup(name)
    f = naive.PROBLEMS[name][0]
    xmin, xmax, ymin, ymax = mod.region(params)
    xs, ys = np.linspace(xmin, xmax, 301), np.linspace(ymin, ymax, 301)
    F = np.array([[f(x, y, **family) for x in xs] for y in ys])
    core = F[1:-1, 1:-1]
    low = np.ones(core.shape, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                low &= core < F[1 + di : 300 + di, 1 + dj : 300 + dj]
    i, j = np.nonzero(low)
    found = sorted(zip(xs[j + 1].tolist(), ys[i + 1].tolist(), strict=True))
    locs = [m.location for m in mod.minima(params)]
    cell = math.hypot(xs[1] - xs[0], ys[1] - ys[0])
    assert len(found) == len(locs)
    assert sorted(nearest(locs, x, y) for x, y in found) == list(range(len(locs)))
    assert all(math.dist(p, locs[nearest(locs, *p)]) <= cell for p in found)


# ---------------------------------------------------------------- known results


def test_rosenbrock():
    mod, params, c, _ = setup("rosenbrock")
    (m,) = mod.minima(params)
    assert m.location == (1.0, 1.0) and m.value == 0.0 and mod.saddles(params) == ()
    assert m.eigenvalues == pytest.approx((0.399360767487622, 1001.60063923251), rel=1e-12)
    mod, params, c, _ = setup("rosenbrock", {"a": -2.0, "b": 10})
    assert mod.minima(params)[0].location == (-2.0, 4.0)
    assert mod.project_minimum(5.0, 5.0, c) == (0, -2.0, 4.0)
    assert mod.value(-2.0, 4.0, c) == 0.0 and mod.grad(-2.0, 4.0, c) == (0.0, 0.0)


def test_saddle():
    mod, params, c, _ = setup("saddle")
    assert mod.minima(params) == ()
    (p,) = mod.saddles(params)
    assert (p.location, p.value, p.eigenvalues, p.kind) == ((0.0, 0.0), 0.0, (-2.0, 2.0), "saddle")
    k, mx, my = mod.project_minimum(0.3, 0.1, c)
    assert k == -1 and math.isnan(mx) and math.isnan(my)


@pytest.mark.parametrize("name", NAMES)
def test_project_minimum_is_the_nearest_listed(name):
    mod, params, c, _ = setup(name)
    minima = mod.minima(params)
    for x, y in sample(mod, params, 200, seed=300 + CODES[name], grow=2.0):
        k, mx, my = mod.project_minimum(x, y, c)
        if not minima:
            assert k == -1
        elif name == "donut":
            r = params["r"]
            assert k == 0 and math.hypot(mx, my) == pytest.approx(r, rel=1e-15)
            assert math.atan2(my, mx) == pytest.approx(math.atan2(y, x), abs=1e-12)
        else:
            locs = [(*m.location, 0.0)[:2] for m in minima]
            assert k == nearest(locs, x, y) and (mx, my) == locs[k]


# ---------------------------------------------------------------- params and the start check


@pytest.mark.parametrize("name", NAMES)
def test_normalise_params_errors_name_the_key(name):
    mod = get_problem(name)
    with pytest.raises(SpecError, match=r"problem_params\.bogus"):
        mod.normalise_params({"bogus": 1}, WHERE)
    bad_starts = [[1.0] * (mod.DIM + 1), "1, 2", [], [float("nan")] * mod.DIM, [True] * mod.DIM]
    for start in bad_starts:
        with pytest.raises(SpecError, match=r"problem_params\.start"):
            mod.normalise_params({"start": start}, WHERE)
    start = [0.5, -0.25][: mod.DIM]
    assert mod.normalise_params({"start": start}, WHERE)["start"] == start


GOOD_WELL = {"center": [0.0, 1.0], "depth": 1.0, "width": 0.5}


@pytest.mark.parametrize(
    "name, raw, key",
    [
        ("rosenbrock", {"b": 0}, "b"),
        ("rosenbrock", {"b": -1.0}, "b"),
        ("rosenbrock", {"a": float("inf")}, "a"),
        ("rosenbrock", {"a": "1"}, "a"),
        ("donut", {"r": 0.0}, "r"),
        ("donut", {"r": float("nan")}, "r"),
        ("wells", {"bowl": 0}, "bowl"),
        ("wells", {"wells": []}, "wells"),
        ("wells", {"wells": {"center": [0, 0]}}, "wells"),
        ("wells", {"wells": [GOOD_WELL] * 33}, "wells"),
        ("wells", {"wells": [GOOD_WELL, 3]}, r"wells\[1\]"),
        ("wells", {"wells": [{**GOOD_WELL, "deep": 1}]}, r"wells\[0\]\.deep"),
        ("wells", {"wells": [{"center": [0, 0], "depth": 1}]}, r"wells\[0\]\.width"),
        ("wells", {"wells": [{**GOOD_WELL, "depth": 0}]}, r"wells\[0\]\.depth"),
        ("wells", {"wells": [{**GOOD_WELL, "width": -0.5}]}, r"wells\[0\]\.width"),
        ("wells", {"wells": [{**GOOD_WELL, "center": [0]}]}, r"wells\[0\]\.center"),
        ("wells", {"wells": [{**GOOD_WELL, "center": [0, "1"]}]}, r"wells\[0\]\.center\[1\]"),
        ("wells", {"wells": [{**GOOD_WELL, "center": [0, 1e9]}]}, r"wells\[0\]\.center\[1\]"),
    ],
)
def test_family_params_are_checked(name, raw, key):
    with pytest.raises(SpecError, match=rf"problem_params\.{key}") as info:
        get_problem(name).normalise_params(raw, WHERE)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", NAMES)
def test_check_start(name):
    mod = get_problem(name)
    dim = mod.DIM
    ok = mod.normalise_params({}, WHERE)
    mod.check_start(ok, {}, "float64", WHERE)
    mod.check_start(ok, {}, "float32", WHERE)
    huge = mod.normalise_params({"start": [1e200, -1e200][:dim]}, WHERE)
    with pytest.raises(SpecError, match=r"problem_params\.start"):
        mod.check_start(huge, {}, "float64", WHERE)
    # fine in float64, overflows float32
    big = mod.normalise_params({"start": [1e20, 1e20][:dim]}, WHERE)
    mod.check_start(big, {}, "float64", WHERE)
    with pytest.raises(SpecError, match=r"problem_params\.start.*float32"):
        mod.check_start(big, {}, "float32", WHERE)
    # the start grid: a range axis and a values axis, never materialised
    axes = {"x0": {"start": -3.0, "stop": 3.0, "num": 10**12, "scale": "linear"}}
    if dim == 2:
        axes["y0"] = {"values": [-2.0, 0.0, 2.5]}
    mod.check_start(ok, axes, "float64", WHERE)
    axes["x0"]["stop"] = 1e200
    with pytest.raises(SpecError, match=r"axes\.x0"):
        mod.check_start(ok, axes, "float64", WHERE)
    if dim == 2:
        axes = {"y0": {"values": [1.0, -1e30]}}
        mod.check_start(ok, axes, "float64", WHERE)
        with pytest.raises(SpecError, match=r"axes\.y0"):
            mod.check_start(ok, axes, "float32", WHERE)


def test_multimodal():
    mod, params, _, _ = setup("multimodal")
    minima = mod.minima(params)
    assert minima[0].location[1] == 0.0 and minima[0].value == pytest.approx(-0.794582, abs=1e-6)
    points = [p.location for p in (*minima, *mod.saddles(params))]
    for x, y in points:  # f(x, -y) = f(x, y): exact mirror pairs
        assert (x, -y) in points or (y == 0.0 and (x, y) in points)
    assert all(max(abs(x), abs(y)) < 5 for x, y in points)


def test_himmelblau():
    mod, params, c, _ = setup("himmelblau")
    known = [(-3.779310, -3.283186), (-2.805118, 3.131312), (3.0, 2.0), (3.584428, -1.848127)]
    minima = mod.minima(params)
    assert minima[2].location == (3.0, 2.0) and mod.grad(3.0, 2.0, c) == (0.0, 0.0)
    for m, loc in zip(minima, known, strict=True):
        assert m.location == pytest.approx(loc, abs=1e-6) and m.value == 0.0
        assert mod.value(*m.location, c) < 1e-28
    (top,) = [p for p in mod.saddles(params) if p.kind == "maximum"]
    assert top.location == pytest.approx((-0.270845, -0.923039), abs=1e-6)


def test_camel():
    mod, params, _, _ = setup("camel")
    minima = mod.minima(params)
    for m in minima[:2]:
        assert abs(m.location[0]) == pytest.approx(0.0898, abs=1e-4)
        assert m.value == pytest.approx(-1.0316, abs=1e-4)
    assert minima[1].location == pytest.approx((0.0898, -0.7126), abs=1e-4)
    points = [p.location for p in (*minima, *mod.saddles(params))]
    for x, y in points:  # f(-x, -y) = f(x, y): exact pairs, and the origin
        assert (-x, -y) in points
    assert (0.0, 0.0) in points
    for k in range(0, 6, 2):
        assert minima[k].value == minima[k + 1].value
        assert minima[k].eigenvalues == minima[k + 1].eigenvalues


def test_camel_critical_points_are_the_resultant_roots():
    """df/dy = 0 gives x = 8y - 16y^3; df/dx is then a degree-15 polynomial in y. Its
    real roots are exactly the listed critical points (all 15 roots are real)."""
    mod, params, _, _ = setup("camel")
    P = np.polynomial.Polynomial
    x = P([0, 8, 0, -16])
    roots = (8 * x - 8.4 * x**3 + 2 * x**5 + P([0, 1])).roots()
    real = roots[np.abs(roots.imag) < 1e-9].real
    assert len(real) == 15
    expected = sorted((8 * y - 16 * y**3, y) for y in real)
    points = sorted(p.location for p in (*mod.minima(params), *mod.saddles(params)))
    assert np.allclose(points, expected, atol=1e-9)


def test_donut():
    mod, params, c, _ = setup("donut", {"r": 2.0})
    (m,) = mod.minima(params)
    assert (m.location, m.value, m.eigenvalues, m.kind) == ((2.0, 0.0), 0.0, (0.0, 32.0), "circle")
    (top,) = mod.saddles(params)
    assert (top.location, top.value, top.eigenvalues, top.kind) == (
        (0.0, 0.0),
        16.0,
        (-16.0, -16.0),
        "maximum",
    )
    assert mod.project_minimum(0.0, 0.0, c) == (0, 2.0, 0.0)
    assert mod.project_minimum(0.0, -5.0, c) == (0, 0.0, -2.0)
    assert mod.project_minimum(1e308, 1e308, c) == pytest.approx((0, 2**0.5, 2**0.5))
    for t in np.linspace(0, 2 * np.pi, 13):  # the whole circle is critical, value 0
        x, y = 2 * math.cos(t), 2 * math.sin(t)
        assert mod.value(x, y, c) < 1e-28 and math.hypot(*mod.grad(x, y, c)) < 1e-13
        lam = np.linalg.eigvalsh(np.array(mod.hessian(x, y, c))[[0, 1, 1, 2]].reshape(2, 2))
        assert lam == pytest.approx([0.0, 32.0], abs=1e-12)


def test_quartic():
    mod, params, c, _ = setup("quartic")
    (m,) = mod.minima(params)
    assert m.location == (9 / 4,) and m.value == 2 - 3 * (9 / 4) ** 3 + (9 / 4) ** 4
    assert m.eigenvalues == (81 / 4,) and mod.grad(9 / 4, 0.0, c) == (0.0, 0.0)
    (p,) = mod.saddles(params)
    assert (p.location, p.value, p.kind) == ((0.0,), 2.0, "degenerate")
    assert np.allclose(sorted(np.roots([4, -9, 0, 0]).real), [0, 0, 9 / 4])
    assert mod.project_minimum(-3.0, 0.0, c) == (0, 2.25, 0.0)
    # the y argument is ignored
    assert mod.value(1.5, 7.0, c) == mod.value(1.5, 0.0, c) == naive.quartic_f(1.5)


def test_wells_defaults():
    """Each default well makes a local minimum near its centre; the deep one is global."""
    mod, params, c, _ = setup("wells")
    minima = mod.minima(params)
    centres = [w["center"] for w in params["wells"]]
    assert len(minima) == len(centres) == 3
    assert sorted(nearest(centres, *m.location) for m in minima) == [0, 1, 2]
    assert nearest(centres, *minima[0].location) == 0  # the deep well, depth 2
    assert all(math.dist(m.location, centres[nearest(centres, *m.location)]) < 0.1 for m in minima)
    n = len(centres)
    assert c[1] == n and c[2 + 4 * n] == len(minima)  # pack's layout
    assert c[3 + 4 * n : 5 + 4 * n].tolist() == list(minima[0].location)


@pytest.mark.parametrize("seed", range(6))
def test_wells_random_configurations(seed):
    """Random wells: Morse's count holds, and descents land on listed minima."""
    rng = np.random.default_rng(seed)
    wells = [
        {
            "center": rng.uniform(-3, 3, 2).tolist(),
            "depth": float(rng.uniform(0.2, 3)),
            "width": float(rng.uniform(0.2, 1.2)),
        }
        for _ in range(rng.integers(1, 6))
    ]
    raw = {"bowl": float(rng.uniform(0.02, 0.3)), "wells": wells}
    mod, params, c, family = setup("wells", raw)
    minima, others = mod.minima(params), mod.saddles(params)
    kinds = [p.kind for p in others]
    assert len(minima) - kinds.count("saddle") + kinds.count("maximum") == 1
    locs = [m.location for m in minima]
    f, grad = naive.PROBLEMS["wells"]
    for x, y in sample(mod, params, 12, seed=seed, grow=1.0):
        p = descend(lambda u, v: f(u, v, **family), lambda u, v: grad(u, v, **family), x, y)
        assert math.dist(p, locs[nearest(locs, *p)]) < 1e-5
    for m in minima:
        assert math.hypot(*mod.grad(*m.location, c)) <= 1e-13 * scale(mod, c, *m.location)
