"""Figures for scripts/: matplotlib only. Each function draws tables made by
``fastdescent.analysis`` and returns a Figure; it computes nothing but the drawing.

Sizes are for print: 7.2 in wide (a two-column page), text 9-11 pt at that size,
constrained layout. Colour maps are perceptually uniform (viridis); categorical cells
are greys. Importing this module does not choose a backend (scripts pick Agg).
"""

from __future__ import annotations

import matplotlib.patheffects as pe
import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colors import ListedColormap, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullLocator

__all__ = ["divergence_boundary", "loss_vs_lr", "rate_heatmaps", "rate_vs_kappa"]

WIDTH = 7.2  # inches
SMALL = 9  # pt: the smallest text drawn
NAMES = {"gd": "Gradient descent", "heavy_ball": "Heavy ball", "nesterov": "Nesterov"}
SHORT = {"gd": "GD", "heavy_ball": "heavy ball", "nesterov": "Nesterov", "adam": "Adam",
         "rmsprop": "RMSProp", "adagrad": "Adagrad"}  # fmt: skip
LIMITS = {"gd": "2", "heavy_ball": "2(1+β)", "nesterov": "2(1+β)/(1+2β)"}
H = "η·λmax"
DIVERGED, UNSTABLE, MISSING = "#d9d9d9", "#8c8c8c", "white"
NO_RATE = dict(fc="white", hatch="////", ec="#8c8c8c")  # run, not diverged, rate NaN
THEORY = "#d62728"  # red reads on every viridis colour and on grey
OPT = "#ff4fd8"  # theory's optimum: magenta, unlike the white iso-rates and red limit
ISO = dict(colors="white", linewidths=0.9)  # measured iso-rate contours
OUTLINE = [pe.withStroke(linewidth=2.2, foreground="black")]
THIN = [pe.withStroke(linewidth=1.8, foreground="black")]
HALO = [pe.withStroke(linewidth=2.5, foreground="white")]
STAR = dict(marker="*", ms=14, mfc=OPT, mec="black", mew=1.0, ls="none")
OPT_LINE = dict(color=OPT, lw=2.4, ls="-", path_effects=OUTLINE)  # gd's h*(kappa)
REGION_LINE = dict(colors="white", linewidths=1.0, linestyles=":", path_effects=THIN)
REGION_TEXT = dict(fontsize=SMALL, style="italic", ha="center", va="center", path_effects=HALO)


def cell_edges(centres, log=False):
    """Cell edges around sorted cell centres, for pcolormesh: float64 (n + 1,), the
    midpoints and the ends as far out as the first / last midpoint is in (geometric
    midpoints if log); a single centre gets a cell of width 1 (in log: a factor e)."""
    c = np.log(centres) if log else np.asarray(centres, dtype=np.float64)
    if len(c) == 1:
        e = np.array([c[0] - 0.5, c[0] + 0.5])
    else:
        mid = 0.5 * (c[1:] + c[:-1])
        e = np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])
    return np.exp(e) if log else e


def _title(fig, spec, what, extra=""):
    """Two-line figure title: optimizer and figure; then sweep, step budget, ``extra``."""
    fig.suptitle(
        f"{NAMES[spec['optimizer']]}: {what}\nsweep '{spec['name']}', {spec['steps']} steps{extra}",
        fontsize=11,
    )


def _sci(v):
    """1e+10 -> '1e10'."""
    return f"{v:.0e}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def _pow10(y):
    """Tick label 10^k as mathtext."""
    return f"$10^{{{round(np.log10(y))}}}$"


def _kappa(k):
    return f"κ = {k:.3g}" if k < 1e4 else f"κ = {k:.3g}".replace("e+0", "e").replace("e+", "e")


def _mesh(ax, m, values, **kw):
    """pcolormesh of (ny, nx) values on the map's cell edges (row by row when rows differ)."""
    if np.allclose(m.h_edges, m.h_edges[:1]):
        return ax.pcolormesh(m.h_edges[0], m.y_edges, values, rasterized=True, **kw)
    for i in range(len(m.y)):
        ax.pcolormesh(m.h_edges[i], m.y_edges[i : i + 2], values[i : i + 1], rasterized=True, **kw)
    return None


def _layer(ax, m, mask, colour, **kw):
    if mask.any():
        values = np.ma.masked_where(~mask, np.ones(mask.shape))
        _mesh(ax, m, values, cmap=ListedColormap([colour]), **kw)


def _hatch(ax, m, mask):
    """The cells of ``mask`` as hatched rectangles (NO_RATE), one per run of cells along
    a row (a QuadMesh draws no hatching)."""
    rects = []
    for i in np.flatnonzero(mask.any(axis=1)):
        row = np.concatenate([[False], mask[i], [False]])
        starts = np.flatnonzero(row[1:] & ~row[:-1])
        stops = np.flatnonzero(~row[1:] & row[:-1])
        y0, y1 = m.y_edges[i], m.y_edges[i + 1]
        for a, b in zip(starts, stops, strict=True):
            x0, x1 = m.h_edges[i, a], m.h_edges[i, b]
            rects.append([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
    if rects:
        ax.add_collection(
            PolyCollection(rects, facecolors=NO_RATE["fc"], edgecolors=NO_RATE["ec"],
                           hatch=NO_RATE["hatch"], linewidths=0.0, zorder=1.5)
        )  # fmt: skip


def _label_places(cs, m, avoid, margin=0.07):
    """One label position per contour level: the vertex of its longest piece farthest
    (in axes fractions) from the frame, from the theory optimum ``avoid`` (arrays x, y:
    the star, or GD's optimum line) and from the labels placed before it, so that no
    label is clipped by the frame or drawn on the optimum or on another label; none for
    a level whose every vertex lies within ``margin`` of the frame. Labels are drawn
    horizontal (a label along a near-vertical contour would otherwise read upside down)."""
    x0, x1 = float(np.min(m.h_edges)), float(np.max(m.h_edges))
    y0, y1 = float(np.min(m.y_edges)), float(np.max(m.y_edges))

    def frac(x, y):
        with np.errstate(all="ignore"):
            fx = np.log(x / x0) / np.log(x1 / x0) if m.x_log else (x - x0) / (x1 - x0)
            fy = np.log(y / y0) / np.log(y1 / y0) if m.y_log else (y - y0) / (y1 - y0)
        return np.asarray(fx, dtype=np.float64), np.asarray(fy, dtype=np.float64)

    ox, oy = frac(*avoid)
    keep = np.isfinite(ox) & np.isfinite(oy)
    ox, oy = ox[keep], oy[keep]
    places = []
    for segs in cs.allsegs:
        best, where = -np.inf, None
        for seg in segs:
            if len(seg) < 2:
                continue
            fx, fy = frac(seg[:, 0], seg[:, 1])
            edge = np.minimum.reduce([fx, 1 - fx, fy, 1 - fy])
            if len(ox):
                near = np.hypot(fx[:, None] - ox[None, :], fy[:, None] - oy[None, :]).min(axis=1)
            else:
                near = np.ones(len(fx))
            score = np.where(edge >= margin, np.minimum(edge, 0.5 * near), np.nan)
            if not np.isfinite(score).any():
                continue
            k = int(np.nanargmax(score))
            if score[k] > best:
                best, where = score[k], (float(seg[k, 0]), float(seg[k, 1]))
        if where is not None:
            places.append(where)
            px, py = frac(*where)  # later labels keep away from this one too
            ox, oy = np.append(ox, px), np.append(oy, py)
    return places


def _draw_map(ax, m, ov, vmax, levels):
    _mesh(ax, m, np.ma.masked_invalid(m.decades), cmap="viridis", norm=Normalize(0.0, vmax))
    _layer(ax, m, m.diverged, DIVERGED)
    _layer(ax, m, m.unstable, UNSTABLE)
    _hatch(ax, m, m.no_rate)
    ys = np.broadcast_to(m.y[:, None], m.h.shape)
    d = np.ma.masked_invalid(m.interior)
    if len(levels[0]) and d.count() > 3 and min(m.h.shape) > 1:
        cs = ax.contour(m.h, ys, d, levels=levels[0], **ISO)
        cs.set(path_effects=THIN)
        fmt = dict(zip(cs.levels, levels[1], strict=True))
        avoid = (np.atleast_1d(ov["opt_h"]), np.atleast_1d(ov["opt_y"]))
        places = _label_places(cs, m, avoid)
        if places:
            for t in ax.clabel(cs, fmt=fmt, fontsize=SMALL, inline=False, manual=places):
                t.set(color="black", path_effects=HALO, rotation=0)
    reg = ov.get("regions")
    if reg is not None:
        for k in range(3):
            mask = (reg["codes"] == k).astype(float)
            ax.contour(reg["h"], reg["beta"], mask, levels=[0.5], **REGION_LINE)
        for name, h, b in reg["labels"]:
            ax.text(h, b, name, **REGION_TEXT)
    ax.plot(ov["limit_h"], ov["limit_y"], color=THEORY, lw=1.8, ls="--")
    if m.y_name == "beta":
        ax.plot(ov["opt_h"], ov["opt_y"], **STAR, clip_on=False, zorder=5)
    elif np.size(ov["opt_h"]):
        ax.plot(ov["opt_h"], ov["opt_y"], **OPT_LINE, zorder=1.9)  # under the limit
    lo, hi = m.h_edges.min(), m.h_edges.max()
    ax.set_xlim(0.0 if not m.x_log and 0 < lo < 0.05 * hi else lo, hi)
    ax.set_ylim(m.y_edges[0], m.y_edges[-1])
    if m.x_log:
        ax.set_xscale("log")
    if m.y_log:
        ax.set_yscale("log")


def _legend_handles(spec, maps, overlays, levels, regions):
    """One entry for every colour and line drawn on the maps (and only those)."""
    opt = spec["optimizer"]
    handles = []
    if any(m.diverged.any() for m in maps):
        handles.append(Patch(fc=DIVERGED, ec="0.5", label="diverged"))
    if any(m.unstable.any() for m in maps):
        steps = spec["steps"]
        handles.append(Patch(fc=UNSTABLE, ec="0.5", label=f"ρ ≥ 1, not diverged in {steps} steps"))
    if any(m.no_rate.any() for m in maps):
        handles.append(Patch(**NO_RATE, label="no rate estimate (not diverged)"))
    if any(m.missing.any() for m in maps):
        handles.append(Patch(fc=MISSING, ec="0.5", label="not computed"))
    limit = LIMITS[opt]
    if maps[0].y_name == "kappa" and opt != "gd":
        limit = limit.replace("β", f"{maps[0].beta:.3g}")
    handles.append(Line2D([], [], color=THEORY, lw=1.8, ls="--", label=f"theory: {H} = {limit}"))
    if maps[0].y_name == "beta":
        handles.append(Line2D([], [], **STAR, label="theory optimum (η*, β*)"))
    elif any(np.size(ov["opt_h"]) for ov in overlays):
        handles.append(Line2D([], [], **OPT_LINE, label=f"theory optimum {H} = 2κ/(1+κ)"))
    if len(levels[0]):
        handles.append(
            Line2D([], [], color=ISO["colors"], lw=ISO["linewidths"], path_effects=THIN,
                   label="measured iso-rate ρ")
        )  # fmt: skip
    if regions:
        handles.append(
            Line2D(
                [],
                [],
                color="white",
                lw=1.0,
                ls=":",
                path_effects=THIN,
                label="theory: region edges",
            )
        )
    return handles


def _legend(fig, axes, n, handles, ncols, in_slot=True):
    """The figure's legend in the first unused panel slot (if ``in_slot``; the unused
    slots' axes are removed, so that no empty frame or blank panel remains), else below
    the panels."""
    spare = list(axes.flat[n:])
    for ax in spare[1 if in_slot else 0 :]:
        ax.remove()
    if spare and in_slot:
        spare[0].set_axis_off()
        return spare[0].legend(handles=handles, loc="center", fontsize=SMALL, frameon=False)
    return fig.legend(handles=handles, loc="outside lower center", ncols=ncols, fontsize=SMALL,
                      frameon=False)  # fmt: skip


def rate_heatmaps(maps, overlays, spec, vmax, levels, ticks):
    """Small multiples of measured rate maps sharing one colour scale.

    maps: list of analysis.RateMap (one per kappa, or a single kappa map for gd);
    overlays: matching list of analysis.heatmap_overlay dicts; vmax: top of the colour
    scale in decades (-log10(1 - rho)); levels: (positions in decades, labels) of the
    iso-rate contours, from analysis.iso_rates;
    ticks: (positions, labels) from analysis.decade_ticks (at most 6, distinct).
    A single beta map whose lr axis is the step size eta itself (not relative to
    lambda_max) gets a top axis in eta, the course's units.
    """
    n = len(maps)
    ncols = 1 if n == 1 else min(3, n)
    nrows = -(-n // ncols)
    panel_h = 4.0 if n == 1 else 2.3
    fig = Figure(figsize=(WIDTH if n > 1 else 6.0, panel_h * nrows + 1.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    regions = False
    for ax, m, ov in zip(axes.flat, maps, overlays, strict=False):
        _draw_map(ax, m, ov, vmax, levels)
        regions |= ov.get("regions") is not None
        if m.y_name == "beta":
            ax.set_title(f"{_kappa(m.kappa)},  ρ* = {ov['opt_rho']:.3g}", fontsize=10)
        elif spec["optimizer"] != "gd":
            ax.set_title(f"β = {m.beta:.3g}", fontsize=10)
    for i, ax in enumerate(axes.flat[:n]):
        if i + ncols >= n:  # lowest panel of its column
            ax.set_xlabel(f"step size {H}")
            ax.xaxis.set_tick_params(labelbottom=True)
        if i % ncols == 0:
            ax.set_ylabel("momentum β" if maps[0].y_name == "beta" else "condition number κ")
    m0 = maps[0]
    if n == 1 and m0.y_name == "beta" and spec["axes"]["lr"].get("relative_to") != "lambda_max":
        lam = m0.lambda_max
        sec = axes[0, 0].secondary_xaxis("top", functions=(lambda h: h / lam, lambda e: e * lam))
        sec.set_xlabel("step size η", fontsize=SMALL)
    sm = ScalarMappable(norm=Normalize(0.0, vmax), cmap="viridis")
    cb = fig.colorbar(sm, ax=axes[:, :], extend="max", fraction=0.05, aspect=30, pad=0.02)
    cb.set_ticks(ticks[0], labels=ticks[1])
    cb.minorticks_off()
    cb.set_label("measured rate ρ (per step)\ncolour scale: −log₁₀(1 − ρ)")
    handles = _legend_handles(spec, maps, overlays, levels, regions)
    _legend(fig, axes, n, handles, 2 if n == 1 else 3, in_slot=False)  # a slot is too narrow
    _title(fig, spec, "measured convergence rate")
    return fig


def divergence_boundary(pooled, dense, spec):
    """Measured vs theoretical divergence boundary, with a residual panel.

    pooled: analysis.pool_boundary output, one row per beta (or per kappa for gd);
    dense: dict x (n,), h_theory (n,): theory's limit on a fine grid of the same axis.
    """
    by = "kappa" if "kappa" in pooled.columns else "beta"
    x = pooled[by].to_numpy()
    fig = Figure(figsize=(6.0, 5.4), layout="constrained")
    top, bot = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1.0])
    top.plot(
        dense["x"],
        dense["h_theory"],
        color=THEORY,
        lw=1.3,
        zorder=4,
        label=f"theory: {H} = {LIMITS[spec['optimizer']]}",
    )
    pool = by == "beta" and pooled["n"].max() > 1
    what = "median over κ, bar: range" if pool and not pooled["agree"].all() else ""
    for col, style, label in [
        ("h_div", dict(marker="o", ms=3.5, color="black"), "measured: smallest diverged"),
        (
            "h_unstable",
            dict(marker="s", ms=6, mfc="none", color="#1f77b4"),
            "measured: smallest with ρ ≥ 1 or diverged",
        ),
    ]:
        err = np.vstack([pooled[col] - pooled[col + "_lo"], pooled[col + "_hi"] - pooled[col]])
        label = f"{label} ({what})" if what else label
        top.errorbar(x, pooled[col], yerr=err, ls="none", lw=1, **style, label=label)
    shown = np.concatenate([np.asarray(dense["h_theory"], dtype=np.float64).ravel()] + [
        pooled[c].to_numpy(np.float64) for c in ("h_div", "h_div_lo", "h_div_hi",
                                                 "h_unstable", "h_unstable_lo", "h_unstable_hi")
    ])  # fmt: skip
    shown = shown[np.isfinite(shown)]
    if shown.size:  # theory and every point inside the frame, never on it
        y0, y1 = shown.min(), shown.max()
        pad = max(0.15 * (y1 - y0), 1e-3 * max(abs(y1), 1.0))
        top.set_ylim(y0 - pad, y1 + pad)
    if len(x) == 1 and by == "kappa":  # one kappa: theory as a line across, plain ticks
        top.axhline(float(np.asarray(dense["h_theory"]).ravel()[0]), color=THEORY, lw=1.3)
        top.set_xlim(x[0] / 1.5, x[0] * 1.5)
    top.set_ylabel(f"divergence boundary {H}")
    top.legend(fontsize=SMALL, loc="best")
    bot.axhspan(-1, 1, color="0.9", lw=0, label="±1 grid step")
    bot.axhline(0, color=THEORY, lw=1.2)
    bot.plot(
        x,
        pooled["residual_finite"],
        color="0.35",
        lw=1.2,
        ls="--",
        marker="_" if len(x) == 1 else None,
        ms=18,
        label=f"theory: loss passes {_sci(spec['stop']['diverge'])} × loss0 "
        f"within {spec['steps']} steps",
    )
    bot.plot(x, pooled["residual"], "o", ms=3.5, color="black", ls="none")
    bot.plot(x, pooled["residual_unstable"], "s", ms=6, mfc="none", color="#1f77b4", ls="none")
    bot.set_ylabel("measured − theory\n(lr grid steps)")
    lo = min(-1.2, np.nanmin(pooled["residual_lo"]) - 0.3)
    hi = max(1.2, np.nanmax(pooled[["residual_hi", "residual_finite"]].to_numpy()) + 0.3)
    bot.set_ylim(lo, hi)
    bot.legend(fontsize=SMALL, loc="lower right")
    if by == "kappa":
        bot.set_xscale("log")
        bot.set_xlabel("condition number κ")
        if len(x) == 1:
            bot.set_xticks([x[0] / 1.25, x[0], x[0] * 1.25])
            bot.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
            bot.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    else:
        bot.set_xlabel("momentum β")
    n_k = int(pooled["n"].max()) if pool else 0
    sub = f"; all {n_k} κ agree" if pool and pooled["agree"].all() else ""
    _title(fig, spec, "measured vs theoretical divergence boundary", sub)
    return fig


def rate_vs_kappa(best, laws, spec):
    """Best rate per kappa as 1 - rho on log-log axes, with a panel relative to theory.

    best: analysis.best_rate output (kappa, rate, grid_rate, rho_opt);
    laws: analysis.rate_laws on a fine kappa grid.
    """
    opt = spec["optimizer"]
    fig = Figure(figsize=(6.0, 5.6), layout="constrained")
    top, bot = fig.subplots(2, 1, sharex=True, height_ratios=[2.4, 1.0])
    k = laws["kappa"]
    law_styles = [
        ("gd", "GD optimum: (κ−1)/(κ+1),  1−ρ ≈ 2/κ", "#9467bd", "-"),
        ("heavy_ball", "heavy ball optimum: (√κ−1)/(√κ+1),  1−ρ ≈ 2/√κ", "#ff7f0e", "-"),
    ]
    if opt == "nesterov":
        law_styles.append(("nesterov", "Nesterov optimum: 1 − 2/√(3κ+1)", "#2ca02c", "-"))
    for col, label, colour, ls in law_styles:
        lw = 2.0 if col == opt else 1.2
        top.plot(k, 1 - laws[col], color=colour, lw=lw, ls=ls, label=label)
    top.plot(
        best["kappa"],
        1 - best["grid_rate"],
        color="0.3",
        lw=1.0,
        ls="--",
        label="theory, best point on this grid",
    )
    top.plot(
        best["kappa"],
        1 - best["rate"],
        "o",
        ms=4,
        mfc="none",
        mec="black",
        label="measured, best on this grid",
    )
    top.set(xscale="log", yscale="log", ylabel="1 − ρ  (ρ: best rate per step)")
    top.legend(fontsize=SMALL, loc="lower left")
    rel = (1 - best["rate"]) / (1 - best["rho_opt"])
    grid_rel = (1 - best["grid_rate"]) / (1 - best["rho_opt"])
    bot.axhline(1, color="0.6", lw=1)
    bot.plot(best["kappa"], grid_rel, color="0.3", lw=1.0, ls="--")
    bot.plot(best["kappa"], rel, "o", ms=4, mfc="none", mec="black")
    bot.set(xscale="log", xlabel="condition number κ", ylim=(0, 1.15))
    bot.set_ylabel(f"(1 − ρ) / (1 − ρ*)\n{SHORT[opt]} optimum = 1")
    _title(fig, spec, "best rate on the grid vs condition number")
    return fig


MARKERS = "osD^v<>ph"
NESTED = "curves that coincide are drawn nested: wider = smaller κ"


def _nested(i, n):
    """Line width, marker and marker size of the i-th of n kappa curves: drawn in order,
    each narrower than the one before, so that coinciding curves all stay visible as
    nested bands (and markers as concentric shapes)."""
    k = n - 1 - i
    return dict(lw=1.2 + 0.9 * k, marker=MARKERS[i % len(MARKERS)], ms=3.0 + 0.9 * k)


def _beta_panels(curves, single_width, row_height):
    """(betas, kappas, figure, axes (nrows, ncols), colour of a kappa) for figures with
    one panel per beta (two columns) and one viridis line per kappa (log-spaced)."""
    betas = np.unique(curves["beta"])
    kappas = np.unique(curves["kappa"])
    n = len(betas)
    ncols = 1 if n == 1 else 2
    nrows = -(-n // ncols)
    extra = 1.2 if single_width <= 6.0 else 1.3
    fig = Figure(figsize=(single_width if n == 1 else WIDTH, row_height * nrows + extra),
                 layout="constrained")  # fmt: skip
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    cnorm = LogNorm(kappas.min(), kappas.max()) if kappas.max() > kappas.min() else None

    def colour(kappa):
        return colormaps["viridis"](0.85 * cnorm(kappa) if cnorm else 0.3)

    return betas, kappas, fig, axes, colour


def loss_vs_lr(curves, limits, spec):
    """Final loss / initial loss vs step size, one panel per beta, one line per kappa.

    curves: analysis.loss_curves output (draws ``shown``); limits: dict beta -> theory's
    limit h_max. Diverged cells are drawn as crosses, one row per kappa, in a band above
    the divergence threshold; ticks are labelled only up to the threshold.
    """
    betas, kappas, fig, axes, colour = _beta_panels(curves, 6.0, 3.3)
    tol, div = spec["stop"]["tol"], spec["stop"]["diverge"]
    n = len(betas)
    band = [div * 10.0 ** (2.0 + 1.3 * i) for i in range(len(kappas))]
    for ax, b in zip(axes.flat, betas, strict=False):
        sub = curves[curves["beta"] == b]
        for i, kap in enumerate(kappas):
            g = sub[sub["kappa"] == kap]
            c = colour(kap)
            ok = g[~g["diverged"]]
            lw = _nested(i, len(kappas))["lw"] if len(kappas) > 1 else 1.5
            ax.plot(ok["h"], ok["shown"], color=c, lw=lw, label=_kappa(kap), zorder=2 + 0.01 * i)
            dv = g[g["diverged"]]
            ax.plot(
                dv["h"], np.full(len(dv), band[i]), ls="none", marker="x", ms=3, mew=0.8, color=c
            )
        ax.axvline(limits[b], color=THEORY, lw=1.5, ls="--", zorder=3)
        ax.axhline(div, color="0.4", lw=0.8, ls=":")
        ax.axhline(tol, color="0.4", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_xlabel(f"step size {H}")
        if spec["optimizer"] != "gd":
            ax.set_title(f"β = {b:.3g}", fontsize=10)
    for ax in axes[:, 0]:
        ax.set_ylabel("final loss / initial loss")
    ax0 = axes.flat[0]
    ax0.set_ylim(tol * 1e-3, band[-1] * 10.0**1.5)
    lo, hi = round(np.log10(tol)), round(np.log10(div))
    ax0.set_yticks([10.0**k for k in sorted({lo, hi, *range(5 * -(-lo // 5), hi, 5)})])
    ax0.yaxis.set_major_formatter(FuncFormatter(lambda y, _: _pow10(y)))
    ax0.yaxis.set_minor_locator(NullLocator())
    handles = ax0.get_legend_handles_labels()[0]
    extra = [
        Line2D([], [], ls="none", marker="x", color="0.3", label="diverged (a row per κ)"),
        Line2D(
            [],
            [],
            color=THEORY,
            lw=1.5,
            ls="--",
            label=f"theory: divergence at {H} = {LIMITS[spec['optimizer']]}",
        ),
        Line2D(
            [],
            [],
            color="0.4",
            lw=0.8,
            ls=":",
            label=f"stop thresholds: {_sci(tol)} (converged), {_sci(div)} (diverged)",
        ),
    ]
    if len(kappas) > 1:
        extra.append(Line2D([], [], ls="none", label=NESTED))
    _legend(fig, axes, n, handles + extra, 2)
    _title(fig, spec, "final loss vs learning rate")
    return fig


def steps_vs_lr(curves, limits, optima, spec):
    """Steps to reach the tolerance against the step size: the course's U shape. One
    panel per beta, one line per kappa (measured, dots; theory's ln(tol) / (2 ln rho)
    dashed); theory's optimum h* (dotted, per kappa) and divergence limit (red dashed);
    diverged cells as crosses on the frame's top. With one kappa the top axis gives eta
    itself, the course's units.

    curves: analysis.steps_curves; limits: beta -> h_max; optima: (beta, kappa) -> h*."""
    betas, kappas, fig, axes, colour = _beta_panels(curves, 6.4, 3.4)
    n = len(betas)
    top = np.nanmax(np.where(np.isfinite(curves["steps"]), curves["steps"], np.nan))
    top = spec["steps"] if not np.isfinite(top) else max(top, 10)
    for ax, b in zip(axes.flat, betas, strict=False):
        sub = curves[curves["beta"] == b]
        for i, kap in enumerate(kappas):
            g = sub[sub["kappa"] == kap]
            c = colour(kap)
            st = _nested(i, len(kappas)) if len(kappas) > 1 else dict(marker="o", ms=3)
            ax.plot(g["h"], g["steps"], ls="none", marker=st["marker"], ms=st["ms"], mew=0,
                    color=c, label=_kappa(kap), zorder=2 + 0.01 * i)  # fmt: skip
            th = g["theory"].where(np.isfinite(g["theory"]))
            ax.plot(g["h"], th, "--", lw=1.2, color=c)
            dv = g[g["diverged"]]
            ax.plot(dv["h"], np.full(len(dv), top * 3.0), ls="none", marker="x", ms=3,
                    mew=0.8, color=c)  # fmt: skip
            h_opt = optima.get((b, kap))
            if h_opt is not None:
                ax.axvline(h_opt, color=c, lw=1.0, ls=":")
        ax.axvline(limits[b], color=THEORY, lw=1.5, ls="--")
        ax.set_yscale("log")
        low = np.nanmin(np.where(curves["steps"] > 0, curves["steps"], np.nan))
        floor = 10.0 ** np.floor(np.log10(low / 2.0)) if np.isfinite(low) else 0.7
        ax.set_ylim(max(0.7, floor), top * 6.0)
        ax.set_xlabel(f"step size {H}")
        if spec["optimizer"] != "gd":
            ax.set_title(f"β = {b:.3g}", fontsize=10)
        if len(kappas) == 1:
            lam_max = float(sub["lambda_max"].iloc[0]) if len(sub) else 1.0
            sec = ax.secondary_xaxis(
                "top", functions=(lambda h, m=lam_max: h / m, lambda e, m=lam_max: e * m)
            )
            sec.set_xlabel("step size η", fontsize=SMALL)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"steps to reach loss gap ≤ {spec['stop']['tol']:g} × start")
    handles = axes.flat[0].get_legend_handles_labels()[0]
    extra = [
        Line2D([], [], color="0.3", lw=1.2, ls="--", label="theory: ln(tol) / (2 ln ρ(η))"),
        *([Line2D([], [], color="0.3", lw=1.0, ls=":", label="theory: fastest step η* (per κ)")]
          if optima else []),
        Line2D([], [], color=THEORY, lw=1.5, ls="--",
               label=f"theory: divergence at {H} = {LIMITS[spec['optimizer']]}"),
        Line2D([], [], ls="none", marker="x", color="0.3", label="diverged"),
        *([Line2D([], [], ls="none", label=NESTED.replace("wider", "larger"))]
          if len(kappas) > 1 else []),
    ]  # fmt: skip
    _legend(fig, axes, n, handles + extra, 2)
    fig.suptitle(
        f"{NAMES[spec['optimizer']]}: steps to converge vs learning rate\n"
        f"sweep '{spec['name']}', at most {spec['steps']} steps",
        fontsize=11,
    )
    return fig
