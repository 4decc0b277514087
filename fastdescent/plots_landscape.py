"""Figures of landscape sweeps for scripts/landscape.py and scripts/basins.py: matplotlib
only. Each function draws tables made by ``fastdescent.analysis_landscape`` and returns a
Figure; it computes nothing but the drawing.

Sizes and text as ``fastdescent.plots`` (7.2 in wide, text >= 9 pt, constrained layout).
Colours: one per listed minimum from the Okabe-Ito palette (colour-blind safe), greys and
black for the other outcomes, a light grey scale for the landscape's contours.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Rectangle

from . import analysis_landscape as al
from .plots import HALO, NAMES, SMALL, WIDTH

__all__ = ["basin_maps", "landscape", "landscape_1d", "outcome_colour"]

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
OTHER = {
    al.ELSEWHERE: "#000000",
    al.MOVING: "#c8c8c8",
    al.DIVERGED: "#6e6e6e",
    al.ESCAPED: "#9e9ac8",
    al.MISSING: "#ffffff",
}
OTHER_SHORT = {
    al.ELSEWHERE: "converged elsewhere (basin −1)",
    al.MOVING: "still moving (max_steps)",
    al.DIVERGED: "diverged",
    al.ESCAPED: "escaped (downhill)",
    al.MISSING: "not computed",
}
MINIMUM = dict(marker="*", ms=13, mfc="white", mec="black", mew=1.0, ls="none")
SADDLE = dict(marker="x", ms=7, mew=1.6, color="black", ls="none")
MAXIMUM = dict(marker="^", ms=7, mfc="none", mec="black", mew=1.3, ls="none")
DEGENERATE = dict(marker="s", ms=6, mfc="none", mec="black", mew=1.3, ls="none")
CRITICAL = {"saddle": SADDLE, "maximum": MAXIMUM, "degenerate": DEGENERATE}
GREYS = ListedColormap(colormaps["Greys"](np.linspace(0.02, 0.42, 256)))  # light contours


def outcome_colour(code) -> str:
    """Colour of an outcome code: minimum k -> Okabe-Ito k (then tab20), else OTHER."""
    code = int(code)
    if code >= 0:
        if code < len(OKABE_ITO):
            return OKABE_ITO[code]
        rgba = colormaps["tab20"]((code - len(OKABE_ITO)) % 20)
        return "#{:02x}{:02x}{:02x}".format(*(round(255 * c) for c in rgba[:3]))
    return OTHER[code]


def _eta(e):
    return f"{e:.4g}"


def _panel_title(ax, eta, beta, optimizer, past):
    text = f"η = {_eta(eta)}" + ("" if optimizer == "gd" else f",  β = {beta:.3g}")
    if past:
        text += "\npast the limit of " + ", ".join(str(k) for k in past)
    ax.set_title(text, fontsize=10)


def _title(fig, spec, what, extra=""):
    fig.suptitle(
        f"{NAMES[spec['optimizer']]} on {spec['problem']}: {what}\n"
        f"sweep '{spec['name']}', {spec['steps']:,} steps{extra}",
        fontsize=11,
    )


def _mark_critical(ax, info, label=True):
    """Minima (white stars, numbered by basin index; the donut's circle dashed), saddles
    (x), maxima (hollow triangles) and degenerate points (hollow squares)."""
    for m in info.minima:
        if m.kind == "circle":
            r = math.hypot(*m.location)
            ax.add_patch(Circle((0, 0), r, fill=False, ls="--", lw=1.6, ec="black", zorder=6))
            x, y = r / math.sqrt(2), r / math.sqrt(2)
        else:
            x, y = m.location
            ax.plot([x], [y], **MINIMUM, zorder=7)
        if label:
            ax.annotate(
                str(m.index), (x, y), xytext=(5, 5), textcoords="offset points",
                fontsize=10, weight="bold", path_effects=HALO, zorder=8,
            )  # fmt: skip
    for p in info.others:
        style = CRITICAL[p.kind]  # a white outline first: visible on black cells too
        halo = {**style, "mew": style["mew"] + 2.2, "ms": style["ms"] + 1.5}
        halo.update({k: "white" for k in ("color", "mec") if k in style})
        ax.plot([p.location[0]], [p.location[1]], **halo, zorder=7)
        ax.plot([p.location[0]], [p.location[1]], **style, zorder=7)


def _critical_handles(info):
    handles = []
    if info.minima:
        circle = any(m.kind == "circle" for m in info.minima)
        if any(m.kind != "circle" for m in info.minima):
            handles.append(Line2D([], [], **MINIMUM, label="listed minimum (basin index)"))
        if circle:
            handles.append(
                Line2D([], [], color="black", ls="--", lw=1.6, label="circle of minima (basin 0)")
            )
    kinds = {p.kind for p in info.others}
    for kind in ("saddle", "maximum", "degenerate"):
        if kind in kinds:
            name = "degenerate critical point" if kind == "degenerate" else kind
            handles.append(Line2D([], [], **CRITICAL[kind], label=name))
    return handles


def _outcome_handles(codes, counts=None, marker=False):
    handles = []
    for code in sorted(codes, key=lambda c: (c < 0, abs(c))):
        label = f"basin {code}" if code >= 0 else OTHER_SHORT[code]
        if counts is not None:
            label += f" ({counts.get(code, 0):,})"
        c = outcome_colour(code)
        if marker:
            handles.append(
                Line2D([], [], marker="o", ms=6, ls="none", mfc=c, mec="0.2", mew=0.5, label=label)
            )
        else:
            handles.append(Patch(fc=c, ec="0.4", lw=0.5, label=label))
    return handles


def _grid(n):
    ncols = 1 if n == 1 else 2 if n in (2, 4) else 3
    return ncols, -(-n // ncols)


def landscape(info, grid, levels, panels, spec, box, start):
    """Contours of f with the minima, saddles and maxima marked and the runs' final
    points overlaid, one panel per (eta, beta).

    grid: (x (n,), y (n,), F (n, n)) from ``analysis_landscape.landscape_grid``;
    levels: (levels, log) from ``contour_levels``; panels: list of dicts with eta, beta,
    x_final, y_final (finite points), code (their outcome codes), counts (outcome code ->
    runs, every run of the panel), past (indices of minima whose limit eta exceeds);
    box: (xmin, xmax, ymin, ymax) shown; start: ("point", (x, y)) or ("grid", (xmin,
    xmax, ymin, ymax), (nx, ny)).
    """
    n = len(panels)
    ncols, nrows = _grid(n)
    side = 4.6 if n == 1 else 3.2 if ncols == 2 else 2.35
    fig = Figure(figsize=(6.0 if n == 1 else WIDTH, side * nrows + 2.3), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    x, y, F = grid
    lv, log = levels
    band_norm = BoundaryNorm(lv, 256, extend="both")  # one grey per band, log or not
    shown = set()
    for ax, p in zip(axes.flat, panels, strict=False):
        ax.contourf(x, y, F, levels=lv, cmap=GREYS, norm=band_norm, extend="both")
        ax.contour(x, y, F, levels=lv, colors="0.45", linewidths=0.5)
        _mark_critical(ax, info)
        codes = np.asarray(p["code"])
        dot = 45 if len(codes) <= 3 else 18
        for code in np.unique(codes):
            sel = codes == code
            # a disc behind the minimum's star in its basin's colour (circles: small dots)
            at_min = code >= 0 and info.minima[code].kind == "point"
            ax.scatter(
                p["x_final"][sel], p["y_final"][sel], s=260 if at_min else dot,
                c=outcome_colour(code), edgecolors="0.15", linewidths=0.5,
                zorder=6.5 if at_min else 8,
            )  # fmt: skip
        if p.get("notes"):
            ax.text(
                0.03, 0.03, "\n".join(p["notes"]), transform=ax.transAxes, fontsize=SMALL,
                ha="left", va="bottom", path_effects=HALO, zorder=9, in_layout=False,
            )  # fmt: skip
        shown |= set(p["counts"])
        if start[0] == "point":
            ax.plot(*start[1], marker="o", ms=8, mfc="none", mec="#D55E00", mew=2, zorder=7)
        else:
            x0, x1, y0, y1 = start[1]
            ax.add_patch(
                Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ls=":", lw=1.3, ec="#0072B2")
            )
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_aspect("equal" if _square(box) else "auto")
        _panel_title(ax, p["eta"], p["beta"], spec["optimizer"], p["past"])
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_axis_off()
            continue
        if i + ncols >= n:
            ax.set_xlabel("x")
            ax.xaxis.set_tick_params(labelbottom=True)
        if i % ncols == 0:
            ax.set_ylabel("y")
    counts = {}
    for p in panels:
        for k, v in p["counts"].items():
            counts[k] = counts.get(k, 0) + v
    handles = _outcome_handles(shown, counts, marker=True) + _critical_handles(info)
    if start[0] == "point":
        handles.append(
            Line2D([], [], marker="o", ms=8, mfc="none", mec="#D55E00", mew=2, ls="none",
                   label=f"start ({start[1][0]:g}, {start[1][1]:g})")
        )  # fmt: skip
    else:
        label = f"start grid ({start[2][0]} × {start[2][1]})"
        handles.append(Patch(fill=False, ls=":", ec="#0072B2", label=label))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=SMALL, frameon=False)
    scale = "log-spaced" if log else "evenly spaced"
    runs = sum(counts.values())
    _title(
        fig, spec, "where the runs end",
        f", {runs:,} run{'s' * (runs != 1)}; contours of f {scale}",
    )  # fmt: skip
    return fig


def _square(box):
    w, h = box[1] - box[0], box[3] - box[2]
    return 0.4 <= w / h <= 2.5


def landscape_1d(info, curve, panels, spec, box, eta_curve=None, start=None):
    """1-D problems: f(x) with the minimum and the degenerate point marked and each
    panel's final x on the curve (one colour per eta); with ``eta_curve`` (dict eta (k,),
    x_final (k,), code (k,), limit: the local limit of eta) a second panel of final x vs
    eta, diverged runs as crosses in a band above the plot.

    curve: (x (n,), None, f (n,)); panels: list of dicts eta, beta, x_final (finite),
    code (and notes: a few words on where a single run ended); box: (xmin, xmax); start:
    the start x when all runs share it."""
    rows = 2 if eta_curve is not None else 1
    fig = Figure(figsize=(6.0, 3.6 * rows + 1.6), layout="constrained")
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    ax = axes[0]
    x, _, f = curve
    ax.plot(x, f, color="0.25", lw=1.6, label="f(x)")
    for m in info.minima:
        ax.plot([m.location[0]], [m.value], **MINIMUM, zorder=7)
        ax.annotate(
            f"minimum {m.index}: x = {m.location[0]:g}", (m.location[0], m.value),
            xytext=(8, -4), textcoords="offset points", fontsize=SMALL, path_effects=HALO,
        )  # fmt: skip
    for p in info.others:
        ax.plot([p.location[0]], [p.value], **CRITICAL[p.kind], zorder=7)
    cmap = colormaps["viridis"]
    etas = [p["eta"] for p in panels]
    enorm = LogNorm(min(etas), max(etas)) if max(etas) > min(etas) else None
    for p in panels:
        c = cmap(0.9 * enorm(p["eta"])) if enorm else cmap(0.3)
        xf = np.asarray(p["x_final"])
        inside = (xf >= box[0]) & (xf <= box[1])
        fx = info.values(xf[inside], None)
        label = f"η = {_eta(p['eta'])}" + (
            "" if spec["optimizer"] == "gd" else f", β = {p['beta']:.3g}"
        )
        out = int((~inside).sum()) + p.get("lost", 0)
        if p.get("notes"):
            label += ": " + "; ".join(n.replace("\n", " ") for n in p["notes"])
        elif out:
            label += f": {out} left the plot"
        ax.plot(xf[inside], fx, ls="none", marker="o", ms=8, mfc=c, mec="black", mew=0.6,
                alpha=0.9, label=label, zorder=8)  # fmt: skip
    if start is not None:
        fs = info.values(np.array([start]), None)
        ax.plot([start], fs, ls="none", marker="o", ms=10, mfc="none", mec="#D55E00", mew=2,
                label=f"start x₀ = {start:g}", zorder=7)  # fmt: skip
    lo, hi = np.nanmin(f), np.nanmax(f)
    ax.set_ylim(lo - 0.08 * (hi - lo), hi + 0.05 * (hi - lo))
    ax.set_xlim(box)
    ax.set(xlabel="x", ylabel="f(x)")
    handles = ax.get_legend_handles_labels()[0] + _critical_handles(info)
    ax.legend(handles=handles, fontsize=SMALL, loc="upper left", frameon=False)
    if eta_curve is not None:
        bx = axes[1]
        e, xf, code = eta_curve["eta"], eta_curve["x_final"], eta_curve["code"]
        ok = np.isfinite(xf) & (code != al.DIVERGED) & (code != al.ESCAPED)
        for c in np.unique(code[ok]):
            sel = ok & (code == c)
            bx.plot(e[sel], xf[sel], ls="none", marker="o", ms=4, color=outcome_colour(c),
                    mec="0.2", mew=0.4, label=OTHER_SHORT.get(int(c), f"basin {c}"))  # fmt: skip
        top = max(box[1], np.nanmax(np.where(ok, xf, -np.inf)))
        band = top + 0.12 * (box[1] - box[0])
        if (~ok).any():
            bx.plot(e[~ok], np.full(int((~ok).sum()), band), ls="none", marker="x", ms=5,
                    color=OTHER[al.DIVERGED], label="diverged (drawn at the top)")  # fmt: skip
        for m in info.minima:
            bx.axhline(m.location[0], color="0.4", lw=0.8, ls=":")
        label = f"theory: local limit η = 2/f''(x*) = {eta_curve['limit']:.4g}"
        bx.axvline(eta_curve["limit"], color="#D55E00", lw=1.5, ls="--", label=label)
        bx.set_xscale("log")
        bx.set(xlabel="step size η", ylabel="final x")
        bx.legend(fontsize=SMALL, loc="best", frameon=False)
    _title(fig, spec, "final points on f(x)")
    return fig


def basin_maps(maps, info, spec, fractions, pasts):
    """Basin-of-attraction maps over the start point (x0, y0), one panel per (eta, beta).

    maps: list of ``analysis_landscape.BasinMap``; fractions: per map, the dict of
    ``area_fractions``; pasts: per map, the minima whose local limit eta exceeds."""
    n = len(maps)
    ncols, nrows = _grid(n)
    side = 4.6 if n == 1 else 3.2 if ncols == 2 else 2.35
    fig = Figure(figsize=(6.0 if n == 1 else WIDTH, side * nrows + 2.0), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    m_count = len(info.minima)
    codes = [*range(m_count), al.ELSEWHERE, al.MOVING, al.DIVERGED, al.ESCAPED, al.MISSING]
    lo = min(codes)
    colours = [outcome_colour(c) for c in range(lo, m_count)]
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(lo, m_count + 1) - 0.5, cmap.N)
    present = set()
    for ax, bm, frac, past in zip(axes.flat, maps, fractions, pasts, strict=False):
        ax.pcolormesh(bm.x_edges, bm.y_edges, bm.code, cmap=cmap, norm=norm, rasterized=True)
        present |= {int(c) for c in np.unique(bm.code)}
        _mark_critical(ax, info)
        ax.set_xlim(bm.x_edges[0], bm.x_edges[-1])
        ax.set_ylim(bm.y_edges[0], bm.y_edges[-1])
        box = (bm.x_edges[0], bm.x_edges[-1], bm.y_edges[0], bm.y_edges[-1])
        ax.set_aspect("equal" if _square(box) else "auto")
        _panel_title(ax, bm.eta, bm.beta, spec["optimizer"], past)
        del frac
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_axis_off()
            continue
        if i + ncols >= n:
            ax.set_xlabel("start x₀")
            ax.xaxis.set_tick_params(labelbottom=True)
        if i % ncols == 0:
            ax.set_ylabel("start y₀")
    handles = _outcome_handles([c for c in codes if c in present or 0 <= c < m_count])
    handles += _critical_handles(info)
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=SMALL, frameon=False)
    bm = maps[0]
    _title(
        fig, spec, "basins of attraction over the start point",
        f", {len(bm.x)} × {len(bm.y)} starts per panel",
    )  # fmt: skip
    return fig
