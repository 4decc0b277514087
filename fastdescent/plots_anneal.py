"""Figures of annealing sweeps (tables from ``fastdescent.analysis_anneal``): the share of
runs ending in the deepest well against the noise level, one curve per learning-rate
schedule with its 95 % Wilson band; and maps of that share over the start grid.

Sizes and text as ``fastdescent.plots`` (7.2 in wide, text >= 9 pt, constrained
layout); schedule colours from the Okabe-Ito palette (constant eta in dark grey, the
baseline); contours as ``fastdescent.plots_landscape``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .plots import NAMES, SMALL, WIDTH, cell_edges
from .plots_landscape import _mark_critical

__all__ = ["deep_fraction", "deep_maps", "schedule_colours"]

PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442"]
BASELINE = "0.2"


def schedule_colours(names) -> dict[str, str]:
    """Colour per schedule name: constant eta dark grey, the others Okabe-Ito."""
    out, k = {}, 0
    for n in names:
        if n == "constant":
            out[n] = BASELINE
        else:
            out[n] = PALETTE[k % len(PALETTE)]
            k += 1
    return out


def _where(info, deep):
    m = info.minima[deep]
    return f"({m.location[0]:.2f}, {m.location[1]:.2f}), f = {m.value:.3g}"


def deep_fraction(table, factors, labels, spec, info, deep, gibbs=None):
    """Share of runs ending in the deepest well against sigma, one curve per schedule
    (95 % Wilson band), one row of panels per (eta, beta); left of each, the schedules'
    eta_t / eta against the step.

    table: ``analysis_anneal.deep_table`` (rows with sigma > 0 are drawn; the sigma = 0
    rows give the no-noise share, drawn as a dotted line); factors: {schedule: s(t)};
    labels: {schedule: legend text}; gibbs: None or function T (array) -> deep-well
    Gibbs share (dashed)."""
    keys = [k for k in ("eta", "beta") if k in table]
    groups = list(table.groupby(keys, sort=True)) if keys else [((), table)]
    names = list(factors)
    colours = schedule_colours(names)
    nrows = len(groups)
    fig = Figure(figsize=(WIDTH, 3.9 * nrows + 1.9), layout="constrained")
    axes = fig.subplots(nrows, 2, squeeze=False, gridspec_kw={"width_ratios": [1, 2.3]})
    opt = spec["optimizer"]
    for (sax, ax), (key, g) in zip(axes, groups, strict=True):
        key = key if isinstance(key, tuple) else (key,)
        point = dict(zip(keys, key, strict=True))
        eta, beta = point.get("eta", np.nan), point.get("beta", 0.0)
        head = f"η = {eta:.3g}" + ("" if opt == "gd" else f", β = {beta:.2g}")
        # the schedules
        for name, s in factors.items():
            t = np.arange(len(s))
            sax.plot(t, s, color=colours[name], lw=1.6)
        sax.set_xlabel("step t")
        sax.set_ylabel("η_t / η  (temperature T_t / T)")
        sax.set_ylim(-0.03, 1.08)
        sax.set_title(f"schedules, {head}", fontsize=10)
        sax.grid(alpha=0.3)
        sax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v else "0"))
        # the shares
        noisy = g[g["sigma"] > 0] if "sigma" in g else g.iloc[:0]
        by = noisy.groupby("schedule", sort=False) if "schedule" in noisy else [("", noisy)]
        for name, h in by:
            c = colours.get(name, BASELINE)
            h = h.sort_values("sigma")
            ax.fill_between(h["sigma"], h["lo"], h["hi"], color=c, alpha=0.18, lw=0)
            ax.plot(
                h["sigma"], h["p"], "o-", color=c, ms=4, lw=1.6, zorder=3 + (name != "constant")
            )
        if len(noisy):
            s = np.geomspace(noisy["sigma"].min(), noisy["sigma"].max(), 60)
            if gibbs is not None:
                T = eta * s**2 / (2.0 * (1.0 - beta))
                ax.plot(s, gibbs(T), "--", color="black", lw=1.3, zorder=2)
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
            top = ax.secondary_xaxis(
                "top",
                functions=(
                    lambda v, e=eta, b=beta: e * v**2 / (2 * (1 - b)),
                    lambda T, e=eta, b=beta: np.sqrt(np.abs(2 * (1 - b) * T / e)),
                ),
            )
            top.set_xlabel("temperature T = ησ² / (2(1 − β)) at the base η", fontsize=SMALL)
            top.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            top.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            top.xaxis.set_minor_formatter(NullFormatter())
            top.tick_params(labelsize=SMALL)
        start = float(g["start_deep"].iloc[0])
        ax.axhline(start, color="0.45", ls=":", lw=1.4, zorder=1)
        low = min(float(g["lo"].min()), start) if len(g) else 0.0
        ax.set_ylim(max(-0.02, np.floor(low * 10) / 10 - 0.05), 1.03)
        ax.set_xlabel("noise level σ  (gradient + σξ, ξ ~ N(0, I))")
        ax.set_ylabel(f"share of runs ending in the deep well {deep}")
        ax.grid(alpha=0.3)
    handles = [
        Line2D([], [], color=colours[n], lw=1.8, marker="o", ms=4, label=labels[n]) for n in names
    ]
    handles.append(Patch(fc="0.6", alpha=0.35, label="95 % Wilson interval (effective runs)"))
    if gibbs is not None:
        text = "Gibbs share of the deep basin at T:\nwhere constant η ends, given time"
        handles.append(Line2D([], [], color="black", ls="--", lw=1.3, label=text))
    quiet = table[table["sigma"] == 0] if "sigma" in table else table.iloc[:0]
    text = "share of start points in the deep basin"
    if len(quiet):
        text += f"\n(σ = 0: {quiet['p'].mean():.2f} end deep, {quiet['stayed'].mean():.0%} "
        text += "in their start basin)"
    handles.append(Line2D([], [], color="0.45", ls=":", lw=1.4, label=text))
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=SMALL, frameon=False)
    runs, eff = int(table["runs"].min()), float(table["n_eff"].min())
    fig.suptitle(
        f"{NAMES[opt]} on {spec['problem']}: annealing into the deep well {_where(info, deep)}\n"
        f"sweep '{spec['name']}', {spec['steps']:,} steps, {runs:,} runs per point "
        f"(≥ {eff:.0f} effective)\nthe well a run ends in: where it settles with the noise "
        "off",
        fontsize=10,
    )
    return fig


def deep_maps(maps, info, grid, levels, spec, deep, temperatures):
    """Share of seeds ending in the deep well per start point: rows = schedules, columns
    = sigma values. maps: ``analysis_anneal.deep_maps``; grid, levels: from
    ``analysis_landscape.landscape_grid`` / ``contour_levels``; temperatures: {sigma: T}."""
    rows = list(dict.fromkeys(s for s, _ in maps))
    cols = list(dict.fromkeys(sg for _, sg in maps))
    nr, nc = len(rows), len(cols)
    first = next(iter(maps.values()))
    ex, ey = cell_edges(first[0]), cell_edges(first[1])
    aspect = (ey[-1] - ey[0]) / (ex[-1] - ex[0])
    side = (WIDTH - 1.4) / nc
    fig = Figure(figsize=(WIDTH, side * aspect * nr + 1.3), layout="constrained")
    axes = fig.subplots(nr, nc, squeeze=False, sharex=True, sharey=True)
    x, y, F = grid
    lv, _ = levels
    norm = BoundaryNorm(np.linspace(0, 1, 11), 256)
    mesh = None
    for i, s in enumerate(rows):
        for j, sg in enumerate(cols):
            ax = axes[i][j]
            mx, my, share = maps[(s, sg)]
            mesh = ax.pcolormesh(cell_edges(mx), cell_edges(my), share, cmap="viridis", norm=norm)
            ax.contour(x, y, F, levels=lv, colors="white", linewidths=0.5, alpha=0.6)
            _mark_critical(ax, info, label=False)
            ax.set_xlim(cell_edges(mx)[0], cell_edges(mx)[-1])
            ax.set_ylim(cell_edges(my)[0], cell_edges(my)[-1])
            ax.set_aspect("equal")
            ax.tick_params(labelsize=SMALL - 1)
            if i == 0:
                ax.set_title(f"σ = {sg:g}\nT = {temperatures[sg]:.3g}", fontsize=SMALL)
            if j == 0:
                ax.set_ylabel(f"{s}\ny₀", fontsize=SMALL)
            if i == nr - 1:
                ax.set_xlabel("x₀", fontsize=SMALL)
    cb = fig.colorbar(mesh, ax=axes, shrink=0.8, pad=0.02)
    cb.set_label(f"share of seeds ending in well {deep}", fontsize=SMALL)
    cb.ax.tick_params(labelsize=SMALL)
    fig.suptitle(
        f"{NAMES[spec['optimizer']]} on {spec['problem']}: which start points end in the deep "
        f"well {_where(info, deep)}\nper start point (x₀, y₀), by schedule (rows) and noise σ "
        "(columns); ☆ minima, × saddles",
        fontsize=10,
    )
    return fig
