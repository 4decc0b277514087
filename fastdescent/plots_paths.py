"""Figures of chosen trajectories (data from ``fastdescent.analysis_paths``): their paths
over the contours of the loss, several per panel, start ● and end ★ marked, as the
course draws them; and their convergence diagnostics, the (excess) loss and the gradient
norm against the step on log axes.

Sizes and text as ``fastdescent.plots`` (7.2 in wide, text >= 9 pt, constrained
layout); contours in the light greys of ``fastdescent.plots_landscape``, minima and
saddles marked as there; one Okabe-Ito colour per trajectory within a panel.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import analysis_landscape as al
from .plots import HALO, NAMES, SMALL, WIDTH
from .plots_landscape import GREYS, MINIMUM, _critical_handles, _mark_critical

__all__ = ["COLOURS", "loss_curves", "paths", "surface3d"]

COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
DOTS_UP_TO = 80  # points along a path drawn as dots when it has at most this many


def _levels(surf, F):
    """(levels, log): the landscape's own levels (``analysis_landscape.contour_levels``:
    log-spaced for Rosenbrock and the like), else 16 evenly spaced ones."""
    if surf.info is not None:
        return al.contour_levels(surf.info, F, n=16)
    finite = F[np.isfinite(F)]
    lo, hi = float(finite.min()), float(np.percentile(finite, 99))
    return np.linspace(lo, hi, 18)[1:], False


def _contours(ax, surf, box, n=300):
    x = np.linspace(box[0], box[1], n)
    y = np.linspace(box[2], box[3], n)
    X, Y = np.meshgrid(x, y)
    F = surf.f(X, Y)
    if surf.info is not None:  # the levels of the problem's own region, wherever the frame
        r = surf.info.region()
        RX, RY = np.meshgrid(np.linspace(r[0], r[1], 200), np.linspace(r[2], r[3], 200))
        lv, log = _levels(surf, surf.f(RX, RY))
    else:
        lv, log = _levels(surf, F)
    ax.contourf(
        x, y, F, levels=lv, cmap=GREYS, norm=BoundaryNorm(lv, 256, extend="both"), extend="both"
    )
    ax.contour(x, y, F, levels=lv, colors="0.45", linewidths=0.5)
    if surf.info is not None:
        _mark_critical(ax, surf.info, label=len(surf.info.minima) > 1)
    else:
        for mx, my, _ in surf.minima:
            ax.plot([mx], [my], **MINIMUM, zorder=7)
    return log


def paths(panels, surf, box, spec, notes=(), fixed="", noisy=False, what=None):
    """One panel per entry of ``panels`` (dicts: title, paths = [{x, y, label}], and
    optionally its own surface): the contours of ``surf`` over ``box``, each path a
    line in its colour (dots at the iterates for short paths), its start ● (white when
    the panel's paths share it) and its end ★ (when in the frame). One legend below the
    panels when every panel names its paths alike, else one inside each panel."""
    n = len(panels)
    ncols = 1 if n == 1 else 2 if n in (2, 4) else 3
    nrows = -(-n // ncols)
    w, h = box[1] - box[0], box[3] - box[2]
    aspect = min(max(h / w, 0.45), 1.6)
    fig_w = 6.4 if n == 1 else WIDTH
    panel_w = (fig_w - 0.7) / ncols
    texts = [[_text(p, box) for p in panel["paths"]] for panel in panels]
    shared = all(t == texts[0] for t in texts)
    legend_rows = -(-len(texts[0]) // 2) + 1 if shared else 1
    # each panel's legend, below it when the panels are narrow (three columns)
    own_rows = 0 if shared or ncols < 3 else max(len(t) for t in texts)
    fig_h = panel_w * aspect * nrows + 0.35 * nrows + 0.9 + 0.24 * legend_rows
    fig_h += 0.22 * own_rows * nrows
    fig = Figure(figsize=(fig_w, fig_h), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    log = False
    handles = []
    for ax, panel, text in zip(axes.flat, panels, texts, strict=False):
        log = _contours(ax, panel.get("surface", surf), box)
        handles = []
        starts = {(float(p["x"][0]), float(p["y"][0])) for p in panel["paths"]}
        for k, (p, label) in enumerate(zip(panel["paths"], text, strict=True)):
            c = COLOURS[k % len(COLOURS)]
            x, y = np.asarray(p["x"]), np.asarray(p["y"])
            ok = np.isfinite(x) & np.isfinite(y)
            x, y = x[ok], y[ok]
            dots = len(x) <= DOTS_UP_TO
            # the first paths widest: paths that share their course (the same flow at
            # different step sizes) stay visible under the later ones
            lw = 1.4 + 3.6 * (len(text) - 1 - k) / max(len(text) - 1, 1)
            lw = 0.8 if noisy else lw
            ax.plot(
                x,
                y,
                "-",
                color=c,
                lw=lw,
                marker="o" if dots else None,
                ms=2.6,
                zorder=4,
                solid_capstyle="round",
                alpha=0.8 if noisy else 1.0,
            )
            if len(starts) > 1:
                ax.plot(x[:1], y[:1], "o", ms=8, mfc=c, mec="black", mew=0.8, zorder=9)
            if _inside(x, y, box):
                ax.plot(x[-1:], y[-1:], "*", ms=13, mfc=c, mec="black", mew=0.8, zorder=9)
            handles.append(Line2D([], [], color=c, lw=1.8, label=label))
        if len(starts) == 1:
            ((sx, sy),) = starts
            ax.plot([sx], [sy], "o", ms=9, mfc="white", mec="black", mew=1.2, zorder=9)
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_aspect("equal" if 0.45 <= h / w <= 2.2 else "auto")
        if panel.get("title"):
            ax.set_title(panel["title"], fontsize=10)
        if not shared and ncols < 3:  # each panel names its own paths
            ax.legend(handles=handles, loc="upper right", fontsize=SMALL - 1, framealpha=0.85)
        elif not shared:  # below a narrow panel: inside, it would hide the paths
            ax.legend(
                handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.24),
                fontsize=SMALL - 1.5, frameon=False, handlelength=1.2,
            )  # fmt: skip
        if not noisy:
            _zoom_on_ends(ax, panel["paths"], panel.get("surface", surf), box)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_axis_off()
            continue
        ax.set_xlabel("x" if surf.info is not None else "w₁ = x")
        ax.xaxis.set_tick_params(labelbottom=True)
        if i % ncols == 0:
            ax.set_ylabel("y" if surf.info is not None else "w₂ = y")
    marks = [
        Line2D([], [], marker="o", ms=8, mfc="white", mec="black", ls="none", label="start"),
        Line2D([], [], marker="*", ms=12, mfc="0.6", mec="black", ls="none", label="end"),
    ]
    if surf.info is not None:
        marks += _critical_handles(surf.info)
    else:
        marks.append(Line2D([], [], **MINIMUM, label="minimum"))
    every = (handles if shared else []) + marks
    fig.legend(
        handles=every,
        loc="outside lower center",
        ncols=2 if shared else len(marks),
        fontsize=SMALL,
        frameon=False,
    )
    scale = "log-spaced" if log else "evenly spaced"
    fig.suptitle(
        f"{NAMES.get(spec['optimizer'], spec['optimizer'])} on f = {what or surf.text}: paths"
        f"{', ' + fixed if fixed else ''}\nsweep '{spec['name']}', up to {spec['steps']:,} "
        f"steps; contours of f {scale}" + "".join(f"\n{t}" for t in notes),
        fontsize=10.5,
    )
    return fig


def _zoom_on_ends(ax, paths, surf, box):
    """An inset magnifying the ends when several lie within 6 % of the frame of each
    other (the Rosenbrock milestone: the same valley path, stopped at different
    places); it shows the last stretch of every path, the ends and the minima."""
    ends = []
    for p in paths:
        x, y = np.asarray(p["x"]), np.asarray(p["y"])
        ok = np.isfinite(x) & np.isfinite(y)
        if _inside(x[ok], y[ok], box):
            ends.append((x[ok][-1], y[ok][-1]))
    if len(ends) < 2:
        return
    e = np.array(ends)
    w, h = box[1] - box[0], box[3] - box[2]
    span = max(np.ptp(e[:, 0]) / w, np.ptp(e[:, 1]) / h)
    if span > 0.06 or span == 0.0:
        return
    if surf.minima:  # ends at a minimum (converged runs): nothing to magnify
        m = np.array([mm[:2] for mm in surf.minima])
        gap = np.hypot(e[:, None, 0] - m[None, :, 0], e[:, None, 1] - m[None, :, 1]).min(axis=1)
        if gap.max() < 0.005 * max(w, h):
            return
    mins = [m for m in surf.minima if abs(m[0] - e[:, 0].mean()) < 0.06 * w]
    pts = np.vstack([e, np.array([m[:2] for m in mins])]) if mins else e
    cx, cy = (pts[:, 0].min() + pts[:, 0].max()) / 2, (pts[:, 1].min() + pts[:, 1].max()) / 2
    half = 0.65 * max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]) * w / h, 1e-9 * w)
    zoom = (cx - half, cx + half, cy - half * h / w, cy + half * h / w)
    inset = ax.inset_axes((0.13, 0.56, 0.4, 0.4))
    _contours(inset, surf, zoom, n=160)
    for k, p in enumerate(paths):
        c = COLOURS[k % len(COLOURS)]
        x, y = np.asarray(p["x"]), np.asarray(p["y"])
        inset.plot(x, y, "-", color=c, lw=1.4, zorder=4)
        if _inside(x, y, box):
            inset.plot(x[-1:], y[-1:], "*", ms=11, mfc=c, mec="black", mew=0.8, zorder=9)
    inset.set_xlim(zoom[0], zoom[1])
    inset.set_ylim(zoom[2], zoom[3])
    inset.tick_params(labelsize=SMALL - 2)
    inset.set_title("the ends, magnified", fontsize=SMALL - 1, pad=2)
    ax.indicate_inset_zoom(inset, edgecolor="0.2")


def _varies(values):
    """Whether the finite values differ (the final state's eta_t is NaN: no update)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return len(v) > 1 and v.max() > v.min()


def _inside(x, y, box):
    return bool(len(x)) and box[0] <= x[-1] <= box[1] and box[2] <= y[-1] <= box[3]


def _text(p, box):
    x, y = np.asarray(p["x"]), np.asarray(p["y"])
    ok = np.isfinite(x) & np.isfinite(y)
    return p["label"] + ("" if _inside(x[ok], y[ok], box) else " — leaves the frame")


def loss_curves(curves, spec, loss_text, notes=(), hint=True, fixed="", problem=None):
    """Semilog (excess) loss and gradient norm against the step, one line per trajectory
    (curves: dicts step, loss, grad_norm, eta, label); a third panel with eta_t when a
    step size changes along a run (schedules). ``hint``: note that a straight line is
    linear convergence (noiseless runs); ``fixed``: the shared axis values, for the
    title; ``problem``: the title's name of f (default: the problem's name)."""
    schedule = any(_varies(c["eta"]) for c in curves)
    ncols = 3 if schedule else 2
    fig = Figure(
        figsize=(WIDTH + (2.4 if schedule else 0), 3.8 + 0.22 * -(-len(curves) // 2) + 0.4),
        layout="constrained",
    )
    axes = fig.subplots(1, ncols, sharex=True)
    handles = []
    for k, c in enumerate(curves):
        colour = COLOURS[k % len(COLOURS)]
        step = np.asarray(c["step"])
        for ax, key in zip(axes[:2], ("loss", "grad_norm"), strict=True):
            v = np.asarray(c[key], dtype=np.float64)
            v = np.where(np.isfinite(v) & (v > 0), v, np.nan)
            dots = len(step) <= DOTS_UP_TO
            ax.plot(step, v, "-", color=colour, lw=1.4, marker="o" if dots else None, ms=2.2)
        if schedule:
            axes[2].plot(step, c["eta"], "-", color=colour, lw=1.4)
        handles.append(Line2D([], [], color=colour, lw=1.8, label=c["label"]))
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[0].set_ylabel(loss_text + "  (log scale)")
    axes[1].set_ylabel("gradient norm ‖∇f(w_t)‖  (log scale)")
    axes[0].set_title("loss", fontsize=10)
    axes[1].set_title("gradient norm", fontsize=10)
    if schedule:
        axes[2].set_ylabel("step size η_t")
        axes[2].set_title("schedule", fontsize=10)
    for ax in axes:
        ax.set_xlabel("step t")
        ax.grid(alpha=0.3, which="both" if ax.get_yscale() == "log" else "major")
        ax.grid(alpha=0.12, which="minor")
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=2 if len(curves) > 1 else 1,
        fontsize=SMALL,
        frameon=False,
    )
    fig.suptitle(
        f"{NAMES.get(spec['optimizer'], spec['optimizer'])} on {problem or spec['problem']}: "
        f"convergence diagnostics{', ' + fixed if fixed else ''}\nsweep '{spec['name']}', "
        f"up to {spec['steps']:,} steps" + "".join(f"\n{t}" for t in notes),
        fontsize=10.5,
    )
    for ax in axes[:2] if hint else ():
        ax.text(
            0.98,
            0.97,
            "straight line = linear convergence",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=SMALL - 1,
            color="0.35",
            path_effects=HALO,
        )
    return fig


def surface3d(paths, surf, box, spec, notes=(), fixed="", what=None, n=120):
    """The loss as a 3-D surface over ``box`` with the paths lifted onto it, (x_t, y_t,
    f(x_t, y_t)), start ● and end ★ (the notebook's exercise: a perspective that shows
    the bowl, the valley or the saddle the contours flatten). One panel; ``paths``:
    [{x, y, label}]. Log-spaced landscapes (Rosenbrock) are drawn as log10(1 + f - f_min)
    so the valley floor is visible."""
    x = np.linspace(box[0], box[1], n)
    y = np.linspace(box[2], box[3], n)
    X, Y = np.meshgrid(x, y)
    F = surf.f(X, Y)
    fmin = float(np.nanmin(F)) if not np.isfinite(surf.fmin) else surf.fmin
    log = bool(surf.log)

    def height(v):
        return np.log10(1.0 + np.maximum(v - fmin, 0.0)) if log else v

    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.add_subplot(projection="3d")
    ax.computed_zorder = False  # the paths over the surface, not cut by its facets
    ax.plot_surface(X, Y, height(F), cmap="viridis", alpha=0.6, linewidth=0,
                    antialiased=True, rcount=60, ccount=60, zorder=1)  # fmt: skip
    handles = []
    for k, p in enumerate(paths):
        c = COLOURS[k % len(COLOURS)]
        px, py = np.asarray(p["x"]), np.asarray(p["y"])
        ok = np.isfinite(px) & np.isfinite(py) & _inside_mask(px, py, box)
        px, py = px[ok], py[ok]
        if not len(px):
            continue
        pz = height(surf.f(px, py))
        ax.plot(px, py, pz, "-", color=c, lw=2.0, zorder=10)
        ax.plot(px[:1], py[:1], pz[:1], "o", ms=7, mfc="white", mec="black", zorder=11)
        ax.plot(px[-1:], py[-1:], pz[-1:], "*", ms=12, mfc=c, mec="black", zorder=11)
        handles.append(Line2D([], [], color=c, lw=2, label=p["label"]))
    ax.set_xlabel("x" if surf.info is not None else "w₁ = x")
    ax.set_ylabel("y" if surf.info is not None else "w₂ = y")
    ax.set_zlabel("log₁₀(1 + f − f_min)" if log else "f(x, y)")
    ax.view_init(elev=35, azim=-60)
    handles += [
        Line2D([], [], marker="o", ms=7, mfc="white", mec="black", ls="none", label="start"),
        Line2D([], [], marker="*", ms=11, mfc="0.6", mec="black", ls="none", label="end"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=SMALL,
               frameon=False)  # fmt: skip
    fig.suptitle(
        f"{NAMES.get(spec['optimizer'], spec['optimizer'])} on f = {what or surf.text}: "
        f"paths on the surface{', ' + fixed if fixed else ''}\nsweep '{spec['name']}', up to "
        f"{spec['steps']:,} steps" + "".join(f"\n{t}" for t in notes),
        fontsize=10.5,
    )
    return fig


def _inside_mask(x, y, box):
    return (x >= box[0]) & (x <= box[1]) & (y >= box[2]) & (y <= box[3])
