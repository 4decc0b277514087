"""Figures comparing optimizers (``scripts/optimizers.py``): matplotlib only, drawing the
tables of ``fastdescent.analysis_optimizers``. Sizes and fonts as ``fastdescent.plots``
(7.2 in wide, text >= 9 pt).

- ``steps_vs_kappa``: the best steps to the tolerance on each sweep's grid against kappa
  (log-log), one line with markers per sweep; theory's steps at the optimal tuning dashed
  for gd, heavy ball and Nesterov; a kappa where no run reached the tolerance is an open
  marker pinned at the step budget.
- ``hyper_maps``: one sweep's map over (eta, y) (y = beta1, or 1 - beta2 on a log axis): the
  final loss log10(f / f0) and the steps to the tolerance, each with a colour bar; diverged
  cells grey, runs that stalled at their stability edge (precond_sharpness within 0.8 to
  1.4 times ``theory.adaptive_edge``, the README's measured band) dotted.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedFormatter, FixedLocator, FuncFormatter, NullLocator

from .plots import SMALL, WIDTH

__all__ = ["COLOURS", "LABELS", "hyper_maps", "steps_vs_kappa"]

LABELS = {
    "gd": "GD",
    "heavy_ball": "heavy ball",
    "nesterov": "Nesterov",
    "adam": "Adam",
    "rmsprop": "RMSProp",
    "adagrad": "Adagrad",
}
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
DIVERGED = "#bdbdbd"
NOT_CONVERGED = "#f0f0f0"


def steps_vs_kappa(series, laws, tol, budget, problem=""):
    """``series``: list of (label, optimizer, table), ``table`` a ``best_per_kappa`` frame;
    ``laws``: {optimizer: (kappa (m,), steps (m,))}, theory's steps at the optimal tuning;
    ``tol``: the sweeps' tolerance; ``budget``: the largest step budget (where a kappa
    that no run converged on is pinned); ``problem``: a line naming the quadratic."""
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
    ax.set_ylabel(f"steps to reach f ≤ {tol:g} · f₀\n(best run on each grid)")
    top = max(budget, max((np.nanmax(t["steps"]) for _, _, t in series), default=1))
    ax.set_ylim(0.7, top * 3)
    ax.grid(True, which="major", color="0.9", lw=0.8)
    title = "Best steps to the tolerance against the condition number"
    fig.suptitle(title + (f"\n{problem}" if problem else ""), fontsize=11)
    return fig


def _edges(centres, log):
    """Cell edges around sorted centres: float64 (n + 1,) (geometric midpoints if log)."""
    c = np.log(centres) if log else np.asarray(centres, np.float64)
    if len(c) == 1:
        e = np.array([c[0] - 0.5, c[0] + 0.5])
    else:
        mid = 0.5 * (c[1:] + c[:-1])
        e = np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])
    return np.exp(e) if log else e


def hyper_maps(loss, steps, edge, y, title, tol):
    """Two panels over (eta, ``y``): ``loss`` = ``map_table(..., "log_loss")`` (coloured
    from log10(tol) up: a converged run stops anywhere below tol), ``steps`` =
    ``map_table(..., "steps")``, ``edge`` = ``map_table(..., "edge")`` (precond_sharpness
    / adaptive_edge of runs that ran out of steps, NaN elsewhere); ``y``: "beta" (beta1,
    linear) or "beta2" (drawn on a log axis of 1 - beta2, beta2 growing upwards, ticks
    labelled in beta2). ``title``: the figure's title; ``tol``: the sweep's tolerance."""
    x = loss.columns.to_numpy(np.float64)
    yv = loss.index.to_numpy(np.float64)
    ylog = y == "beta2"
    yy = 1.0 - yv if ylog else yv
    order = np.argsort(yy)
    xe, ye = _edges(x, True), _edges(yy[order], ylog)
    fig = Figure(figsize=(WIDTH, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    v = loss.to_numpy(np.float64)[order]
    div = np.isposinf(v)
    finite = v[np.isfinite(v)]
    lo = np.log10(tol)
    hi = max(np.max(finite), lo + 1) if finite.size else lo + 1
    vv = np.clip(np.where(np.isfinite(v), v, lo), lo, hi)
    ax = axes[0]
    mesh = ax.pcolormesh(xe, ye, np.ma.masked_where(div, vv), cmap=colormaps["viridis"],
                         norm=Normalize(lo, hi), rasterized=True)  # fmt: skip
    ax.pcolormesh(xe, ye, np.ma.masked_where(~div, np.ones_like(v)), cmap=_grey(DIVERGED),
                  rasterized=True)  # fmt: skip
    bar = fig.colorbar(mesh, ax=ax, label="log₁₀ (final loss / f₀)", pad=0.01)
    bar.ax.yaxis.set_major_formatter(
        FuncFormatter(lambda v, _: f"≤ {v:g}" if v <= lo else f"{v:g}")
    )
    s = steps.reindex(index=loss.index, columns=loss.columns).to_numpy(np.float64)[order]
    ax = axes[1]
    ok = np.isfinite(s)
    if ok.any():
        norm = LogNorm(max(1.0, np.nanmin(s)), max(np.nanmax(s), np.nanmin(s) * 10))
        mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(s), cmap=colormaps["magma_r"],
                             norm=norm, rasterized=True)  # fmt: skip
        fig.colorbar(mesh, ax=ax, label="steps to reach tol", pad=0.01)
    ax.pcolormesh(xe, ye, np.ma.masked_where(ok | div, np.ones_like(s)),
                  cmap=_grey(NOT_CONVERGED), rasterized=True)  # fmt: skip
    ax.pcolormesh(xe, ye, np.ma.masked_where(~div, np.ones_like(s)), cmap=_grey(DIVERGED),
                  rasterized=True)  # fmt: skip
    e = edge.reindex(index=loss.index, columns=loss.columns).to_numpy(np.float64)[order]
    at_edge = (e >= 0.8) & (e <= 1.4)
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
        Patch(fc=DIVERGED, label="diverged"),
        Patch(fc=NOT_CONVERGED, ec="0.7", label="did not reach tol"),
        Line2D([], [], **dot, label="stalled at its stability edge (a ≈ a*)"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=SMALL)
    fig.suptitle(title, fontsize=11)
    return fig


def _grey(colour):
    from matplotlib.colors import ListedColormap

    return ListedColormap([colour])
