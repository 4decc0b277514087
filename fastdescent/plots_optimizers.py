"""Figures comparing optimizers (``scripts/optimizers.py``): matplotlib only, drawing the
tables of ``fastdescent.analysis_optimizers``. Sizes and fonts as ``fastdescent.plots``
(7.2 in wide, text >= 9 pt).

- ``steps_vs_kappa``: the best steps to the tolerance on each sweep's grid against kappa
  (log-log), one line with markers per sweep; theory's steps at the optimal tuning dashed
  for gd, heavy ball and Nesterov; a kappa where no run reached the tolerance is an open
  marker pinned at the step budget. One problem per figure (the script draws the diagonal
  quadratic and the rotated one, linreg, apart).
- ``hyper_maps``: one sweep's map over (eta, y) (y = beta1, or 1 - beta2 on a log axis),
  on a quadratic or a landscape: right, the steps to convergence of the runs that
  converged; left, where the others ended (log10 of the final loss over f0, or of
  f - f_min on a landscape), on a scale of their own, the converged cells one flat
  colour; diverged cells grey; runs that stalled at their stability edge
  (precond_sharpness within 0.8 to 1.4 times ``theory.adaptive_edge``, the README's
  measured band, ``EDGE_BAND``) dotted.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator, NullLocator

from .plots import SHORT, SMALL, WIDTH, cell_edges

__all__ = ["COLOURS", "LABELS", "hyper_maps", "steps_vs_kappa"]

LABELS = SHORT  # optimizer -> its name in legends and titles
COLOURS = {
    "gd": "#9467bd",
    "heavy_ball": "#ff7f0e",
    "nesterov": "#2ca02c",
    "adam": "#1f77b4",
    "rmsprop": "#d62728",
    "adagrad": "#8c564b",
}
MARKERS = {"gd": "o", "heavy_ball": "s", "nesterov": "D", "adam": "^", "rmsprop": "v"}
LAWS = {"gd": "≈ κ", "heavy_ball": "≈ √κ", "nesterov": "≈ √κ"}
DIVERGED = "#969696"
NOT_CONVERGED = "#f0f0f0"
CONVERGED = "#c6dbef"  # the left panel's converged cells: none of LOSS_CMAP's colours
#: the left panel's loss scale: YlOrRd without its near-white end (which the pale grey of
#: "did not reach tol" would resemble)
LOSS_CMAP = ListedColormap(colormaps["YlOrRd"](np.linspace(0.15, 1.0, 256)))
#: precond_sharpness / adaptive_edge of a run marked as stalled at its edge (README's band)
EDGE_BAND = (0.8, 1.4)


def steps_vs_kappa(series, laws, tol, budget, problem="", heading=None, reached=None):
    """``series``: list of (label, optimizer, table), ``table`` a ``best_per_kappa`` frame;
    ``laws``: {optimizer: (kappa (m,), steps (m,))}, theory's steps at the optimal tuning;
    ``tol``: the sweeps' tolerance; ``budget``: the largest step budget (where a kappa
    that no run converged on is pinned); ``problem``: a line naming the quadratic;
    ``heading``: the title's first words (e.g. "Diagonal quadratic"); ``reached``: the
    stop rule in the y label, "{tol}" standing for the tolerance (default
    "f ≤ {tol} · f₀")."""
    fig = Figure(figsize=(WIDTH * 0.85, 4.6), layout="constrained")
    ax = fig.subplots()
    for opt, (k, t) in laws.items():
        ax.plot(k, t, ls="--", lw=1.4, color=COLOURS[opt], alpha=0.9)
    for label, opt, table in series:
        c, m = COLOURS.get(opt, "black"), MARKERS.get(opt, "o")
        ok = table["metric"] == "steps"
        ax.plot(table["kappa"][ok], table["steps"][ok], color=c, marker=m, ms=4.5, lw=1.6,
                label=label)  # fmt: skip
        if (~ok).any():
            ax.plot(table["kappa"][~ok], np.full((~ok).sum(), budget), ls="none", marker=m,
                    ms=6, mfc="white", mec=c, mew=1.3, clip_on=False)  # fmt: skip
    handles, labels = ax.get_legend_handles_labels()
    for opt in laws:
        handles.append(Line2D([], [], ls="--", lw=1.4, color=COLOURS[opt]))
        tuning = "η*" if opt == "gd" else "η*, β*"
        labels.append(f"theory, {LABELS[opt]} at {tuning} ({LAWS[opt]})")
    if any((t["metric"] != "steps").any() for _, _, t in series):
        handles.append(Line2D([], [], ls="none", marker="o", mfc="white", mec="0.3"))
        labels.append(f"no run reached tol in {budget} steps")
    ax.legend(handles, labels, fontsize=SMALL, loc="upper left", ncols=2)
    ax.set(xscale="log", yscale="log", xlabel="condition number κ = λmax / λmin")
    rule = (reached or "f ≤ {tol} · f₀").format(tol=f"{tol:g}")
    ax.set_ylabel(f"steps to reach {rule}\n(best run on each grid)")
    top = max(budget, max((np.nanmax(t["steps"]) for _, _, t in series), default=1))
    ax.set_ylim(0.7, top * 3)
    ax.grid(True, which="major", color="0.9", lw=0.8)
    title = "Best steps to the tolerance against the condition number"
    if heading:
        title = f"{heading}: best steps to the tolerance against κ"
    fig.suptitle(title + (f"\n{problem}" if problem else ""), fontsize=11)
    return fig


def hyper_maps(loss, steps, edge, y, title, tol, loss_label=None, reached=None, left=None):
    """Two panels over (eta, ``y``), complementary: the right one says how fast the runs
    that converged got there, the left one where the others ended.

    - left: ``loss`` = ``map_table(..., "log_loss")`` of the runs that did not converge,
      on a colour scale spanning their values only (integer bounds); the converged cells
      (finite ``steps``) one flat colour, diverged cells grey. (A converged run stops as
      soon as it is below the tolerance, so its final loss says nothing more: a shared
      scale would spend most of the map on one colour.)
    - right: ``steps`` = ``map_table(..., "steps")`` on a log scale.
    - both: the runs that ran out of steps at their stability edge dotted, ``edge`` =
      ``map_table(..., "edge")`` (precond_sharpness / adaptive_edge) within ``EDGE_BAND``.

    ``y``: "beta" (beta1, linear) or "beta2" (drawn on a log axis of 1 - beta2, beta2
    growing upwards, ticks labelled in beta2). ``title``: the figure's title; ``tol``: the
    quadratic's tolerance (for the default labels); ``loss_label``: the left colour bar's
    label (default log10 of final loss / f0); ``reached``: what converging means, as in
    "steps to reach ..." (default "f ≤ tol · f₀"); ``left``: the legend's name for grey
    cells (default "diverged")."""
    loss_label = loss_label or "log₁₀ (final loss / f₀)"
    reached = reached or f"f ≤ {tol:g} · f₀"
    x = loss.columns.to_numpy(np.float64)
    yv = loss.index.to_numpy(np.float64)
    ylog = y == "beta2"
    yy = 1.0 - yv if ylog else yv
    order = np.argsort(yy)
    xe, ye = cell_edges(x, True), cell_edges(yy[order], ylog)
    fig = Figure(figsize=(WIDTH, 3.9), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    v = loss.to_numpy(np.float64)[order]
    s = steps.reindex(index=loss.index, columns=loss.columns).to_numpy(np.float64)[order]
    ok = np.isfinite(s)
    div = np.isposinf(v) & ~ok
    rest = ~ok & ~div & ~np.isnan(v)  # ran out of steps: -inf (at the minimum) is finite
    finite = v[rest & np.isfinite(v)]
    if finite.size:
        lo, hi = np.floor(finite.min()), np.ceil(finite.max())
    else:
        lo = hi = np.floor(np.log10(tol))
    hi = max(hi, lo + 1)
    ax = axes[0]
    mesh = ax.pcolormesh(xe, ye, np.ma.masked_where(~rest, np.clip(v, lo, hi)),
                         cmap=LOSS_CMAP, norm=Normalize(lo, hi),
                         rasterized=True)  # fmt: skip
    _flat(ax, xe, ye, ok, CONVERGED)
    _flat(ax, xe, ye, div, DIVERGED)
    bar = fig.colorbar(mesh, ax=ax, label=loss_label + "\nruns that did not converge",
                       pad=0.01)  # fmt: skip
    bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax = axes[1]
    if ok.any():
        norm = LogNorm(max(1.0, np.nanmin(s)), max(np.nanmax(s), np.nanmin(s) * 10))
        mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(s), cmap=colormaps["magma_r"],
                             norm=norm, rasterized=True)  # fmt: skip
        fig.colorbar(mesh, ax=ax, label=f"steps to reach {reached}", pad=0.01)
    _flat(ax, xe, ye, ~ok & ~div, NOT_CONVERGED)
    _flat(ax, xe, ye, div, DIVERGED)
    e = edge.reindex(index=loss.index, columns=loss.columns).to_numpy(np.float64)[order]
    at_edge = (e >= EDGE_BAND[0]) & (e <= EDGE_BAND[1])
    gx, gy = np.meshgrid(x, yy[order])
    for ax in axes:
        ax.plot(gx[at_edge], gy[at_edge], ls="none", marker=".", ms=2.5, color="white",
                mec="black", mew=0.3)  # fmt: skip
        ax.set(xscale="log", xlabel="step size η (absolute)")
    if ylog:
        axes[0].set_yscale("log")
        axes[0].set_ylim(ye[-1], ye[0])  # beta2 grows upwards
        ticks = [m for m in (0.5, 0.1, 1e-2, 1e-3, 1e-4, 1e-5) if ye[0] <= m <= ye[-1]]
        axes[0].yaxis.set_major_locator(FixedLocator(ticks))
        axes[0].yaxis.set_major_formatter(FixedFormatter([f"{1 - m:.6g}" for m in ticks]))
        axes[0].yaxis.set_minor_locator(NullLocator())
    axes[0].set_ylabel("β₂  (memory ≈ 1/(1 − β₂) steps)" if ylog else "β₁ (momentum)")
    dot = dict(ls="none", marker=".", ms=7, color="white", mec="black")
    handles = [
        Patch(fc=CONVERGED, ec="0.7", label=f"reached {reached}"),
        Patch(fc=NOT_CONVERGED, ec="0.7", label="did not"),
        Patch(fc=DIVERGED, label=left or "diverged"),
        Line2D([], [], **dot, label="stalled at its stability edge (a ≈ a*)"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=SMALL,
               handlelength=1.2, columnspacing=1.0)  # fmt: skip
    fig.suptitle(title, fontsize=11)
    return fig


def _flat(ax, xe, ye, mask, colour):
    """Paint the cells where ``mask`` holds in one colour."""
    if mask.any():
        ax.pcolormesh(xe, ye, np.ma.masked_where(~mask, np.ones(mask.shape)), cmap=_grey(colour),
                      rasterized=True)  # fmt: skip


def _grey(colour):
    return ListedColormap([colour])
