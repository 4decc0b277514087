"""Figures of the stochastic-gradient sweeps (``scripts/sgd_noise.py``,
``scripts/batch_size.py``): matplotlib only, drawing tables of ``fastdescent.analysis_sgd``.
Theory is drawn on top of the measurements: solid lines are exact theory, dashed lines the
small-step (SDE) approximations, points are measurements (mean over seeds, error bars one
standard error). Sizes and fonts as ``fastdescent.plots`` (7.2 in wide, text >= 9 pt).

- ``stationary_loss``: stationary excess loss vs eta * lambda_max per sigma, a panel per
  beta; below, measured / exact and small-step / exact.
- ``ratio_heatmap``: measured / exact over (eta * lambda_max, beta) per sigma (or over
  (eta * lambda_max, sigma)), diverging colours centred at 1.
- ``batch_heatmap``: a linreg sweep's tail excess loss over (B, eta * lambda_max), with the
  mean-square stability edge and the linear-scaling (iso-noise) line.
- ``gradient_noise``: gradient-noise variance vs B against the exact law.
- ``loss_vs_batch``: stationary excess loss vs B per eta, measured vs exact vs small-step.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from .analysis import edges
from .plots import DIVERGED, HALO, LIMITS, NAMES, SMALL, THEORY, WIDTH

__all__ = ["batch_heatmap", "gradient_noise", "loss_vs_batch", "ratio_heatmap", "stationary_loss"]

H = "η·λmax"
RATIO_SPAN = 1.1  # the heatmap's colours saturate at measured / exact = 1/1.1 and 1.1
HATCH = "////"
CONVERGED = "#d9f0d3"
LIMIT_COLOUR = "black"
SAMPLING = {
    "subset": "subset (B distinct samples per step)",
    "replacement": "with replacement",
    "epoch": "epoch (random reshuffling)",
}


def _colours(n):
    cmap = colormaps["viridis"]
    return [cmap(0.85 * i / max(1, n - 1)) for i in range(n)]


def _title(fig, spec, what, extra=""):
    fig.suptitle(
        f"{NAMES[spec['optimizer']]}: {what}\nsweep '{spec['name']}', {spec['steps']} steps, "
        f"tail = last {spec.get('metrics', {}).get('tail', 0.5):g} of the steps{extra}",
        fontsize=11,
    )


def _g(x):
    return f"{x:.3g}"


def _sigma(s):
    return f"σ = {s:g}"


def _log_ticks(ax, axis="y"):
    fmt = FuncFormatter(lambda v, _: f"$10^{{{round(np.log10(v))}}}$" if v > 0 else "")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


# ---------------------------------------------------------------------- noisy quadratics


def stationary_loss(cells, curves, spec):
    """Stationary excess loss vs h = eta * lambda_max: a column of panels per beta, one
    colour per sigma. Top: measured (mean of loss_tail_mean over seeds, error bar one
    standard error; hollow where the point is not usable: too few seeds, a transient left
    at the tail), the exact discrete theory (solid, up to the edge), the small-step
    approximation eta sigma^2 d / (4 (1 - beta)) (dashed) and the stability edge (vertical
    dotted line). Bottom: measured / exact (points) and small-step / exact (dashed).

    cells: ``analysis_sgd.noise_cells`` for one kappa; curves: dict (beta, sigma) ->
    ``analysis_sgd.noise_curves``."""
    opt = spec["optimizer"]
    betas = np.unique(cells["beta"])
    sigmas = np.unique(cells["sigma"])
    n = len(betas)
    fig = Figure(figsize=(WIDTH if n > 1 else 6.0, 6.6), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False, sharex="col", height_ratios=[2.3, 1.0])
    colours = dict(zip(sigmas, _colours(len(sigmas)), strict=True))
    for j, b in enumerate(betas):
        top, bot = axes[0, j], axes[1, j]
        for s in sigmas:
            c = colours[s]
            cur = curves[(b, s)]
            top.plot(cur["h"], cur["exact"], color=c, lw=1.6)
            top.plot(cur["h"], cur["small"], color=c, lw=1.1, ls="--")
            bot.plot(cur["h"], cur["small"] / cur["exact"], color=c, lw=1.1, ls="--")
            g = cells[(cells["beta"] == b) & (cells["sigma"] == s) & cells["measured"].notna()]
            for usable, mfc in ((True, c), (False, "white")):
                p = g[g["usable"] == usable]
                if not len(p):
                    continue
                kw = dict(ls="none", marker="o", ms=3.6, color=c, mfc=mfc, mew=0.9, capsize=0)
                top.errorbar(p["h"], p["measured"], yerr=p["se"], **kw)
                bot.errorbar(p["h"], p["ratio"], yerr=p["ratio_se"], **kw)
        limit = cells.loc[cells["beta"] == b, "limit_h"].iloc[0]
        for ax in (top, bot):
            ax.axvline(limit, color=LIMIT_COLOUR, lw=1.0, ls=":")
            ax.set_xscale("log")
        top.set_yscale("log")
        _log_ticks(top)
        bot.axhline(1.0, color="0.5", lw=0.8)
        bot.set_ylim(0.0, 1.3)
        bot.set_xlabel(f"step size {H}")
        beta_text = f"β = {b:g}, " if opt != "gd" else ""
        top.set_title(f"{beta_text}edge {H} = {limit:.3g}", fontsize=10 if n < 3 else SMALL)
    axes[0, 0].set_ylabel("stationary excess loss  E[f(w) − f*]")
    axes[1, 0].set_ylabel("÷ exact theory")
    for ax in axes[0, 1:]:
        ax.sharey(axes[0, 0])
    sig = [Line2D([], [], color=colours[s], lw=2.5, label=_sigma(s)) for s in sigmas[::-1]]
    axes[0, 0].legend(handles=sig, loc="upper left", fontsize=SMALL, handlelength=1.5)
    if len(sigmas) > 1:  # the same draws xi_t scaled by sigma: the ratios coincide
        axes[1, 0].text(
            0.03,
            0.06,
            "every σ: same noise draws,\nso the ratios coincide",
            transform=axes[1, 0].transAxes,
            fontsize=SMALL - 1,
            color="0.3",
        )
    seeds = int(cells["seeds"].max())
    beta_text = "" if opt == "gd" else "(1 − β)"
    handles = [
        Line2D(
            [],
            [],
            ls="none",
            marker="o",
            ms=4,
            color="0.3",
            label=f"measured: mean over {seeds} seeds ± 1 s.e.",
        ),
        Line2D([], [], color="0.3", lw=1.6, label="exact discrete theory"),
        Line2D(
            [], [], color="0.3", lw=1.1, ls="--", label=f"small-step (SDE): η σ² d / 4{beta_text}"
        ),
        Line2D(
            [], [], color=LIMIT_COLOUR, lw=1.0, ls=":", label=f"stability edge {H} = {LIMITS[opt]}"
        ),
    ]
    if (~cells.loc[cells["measured"].notna(), "usable"]).any():
        handles.insert(
            1,
            Line2D(
                [],
                [],
                ls="none",
                marker="o",
                ms=4,
                color="0.3",
                mfc="white",
                label="not compared (near the edge, or transient)",
            ),
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=SMALL, frameon=False)
    d = int(cells["d"].iloc[0])
    lam = f"λ ∈ [{cells['lambda_min'].iloc[0]:g}, {cells['lambda_max'].iloc[0]:g}], d = {d}"
    _title(fig, spec, "stationary loss under gradient noise σ", f"; {lam}")
    return fig


def _ratio_colour():
    cmap = colormaps["RdBu_r"]
    norm = Normalize(-np.log(RATIO_SPAN), np.log(RATIO_SPAN))
    return cmap, norm


def ratio_heatmap(cells, spec):
    """measured / exact stationary loss as a heatmap: x = eta * lambda_max (log cells),
    rows = beta values (one panel per sigma) or, without a beta axis, rows = sigma values
    (one panel). Colour: log(measured / exact), diverging (blue below 1, red above),
    saturating at 1/1.1 and 1.1; diverged cells grey, cells not comparable (fewer than 8
    seeds, a diverged seed, a transient left at the tail) hatched; the stability edge of
    each row a black line."""
    opt = spec["optimizer"]
    betas, sigmas = np.unique(cells["beta"]), np.unique(cells["sigma"])
    by_beta = len(betas) > 1
    panels = sigmas if by_beta else [None]
    n = len(panels)
    rows = betas if by_beta else sigmas
    height = 1.0 + 0.42 * len(rows) + 1.6
    fig = Figure(figsize=(WIDTH if n > 1 else 6.0, max(3.6, height)), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False, sharey=True)[0]
    cmap, norm = _ratio_colour()
    h_all = np.unique(cells["h"])
    h_edges = edges(h_all, log=True)
    for ax, s in zip(axes, panels, strict=True):
        sub = cells if s is None else cells[cells["sigma"] == s]
        for i, r in enumerate(rows):
            g = sub[(sub["beta"] == r)] if by_beta else sub[sub["sigma"] == r]
            g = g.set_index("h").reindex(h_all)
            y = [i - 0.5, i + 0.5]
            with np.errstate(divide="ignore", invalid="ignore"):
                val = np.log(g["ratio"].to_numpy(dtype=float))[None, :]
            ax.pcolormesh(
                h_edges, y, np.ma.masked_invalid(val), cmap=cmap, norm=norm, rasterized=True
            )
            div = (g["diverged"] > 0).to_numpy() & g["measured"].isna().to_numpy()
            bad = ~g["usable"].fillna(False).to_numpy(dtype=bool) & ~div
            if div.any():
                ax.pcolormesh(
                    h_edges,
                    y,
                    np.ma.masked_where(~div[None, :], np.ones((1, len(div)))),
                    cmap=ListedColormap([DIVERGED]),
                    rasterized=True,
                )
            for k in np.flatnonzero(bad):
                ax.fill_between(
                    h_edges[k : k + 2],
                    y[0],
                    y[1],
                    facecolor="none",
                    edgecolor="0.35",
                    hatch=HATCH,
                    lw=0,
                )
            limit = g["limit_h"].dropna()
            if len(limit):
                ax.plot([limit.iloc[0]] * 2, y, color=LIMIT_COLOUR, lw=2.0)
        ax.set_xscale("log")
        ax.set_xlim(h_edges[0], h_edges[-1])
        ax.set_ylim(-0.5, len(rows) - 0.5)
        ax.set_xlabel(f"step size {H}")
        if s is not None:
            ax.set_title(_sigma(s), fontsize=10)
    axes[0].set_yticks(range(len(rows)), [f"{r:g}" for r in rows])
    axes[0].set_ylabel("momentum β" if by_beta else "noise σ")
    axes[0].yaxis.set_minor_locator(NullLocator())
    cb = fig.colorbar(_mappable(cmap, norm), ax=list(axes), shrink=0.9, pad=0.02)
    ticks = [1 / RATIO_SPAN, 0.95, 0.98, 1.0, 1.02, 1.05, RATIO_SPAN]
    cb.set_ticks(np.log(ticks), labels=[f"{t:.3g}" for t in ticks])
    cb.set_label("measured ÷ exact stationary loss")
    handles = [
        Line2D([], [], color=LIMIT_COLOUR, lw=2.0, label=f"stability edge {H} = {LIMITS[opt]}")
    ]
    if (cells["measured"].isna() & (cells["diverged"] > 0)).any():
        handles.append(Patch(facecolor=DIVERGED, edgecolor="0.5", label="diverged"))
    if (~cells["usable"] & cells["measured"].notna()).any():
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="0.35",
                hatch=HATCH,
                label="not compared: within 2 % of the edge, < 8 seeds, a diverged "
                "seed or a transient",
            )
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=1, fontsize=SMALL, frameon=False)
    lam = f"; λ ∈ [{cells['lambda_min'].iloc[0]:g}, {cells['lambda_max'].iloc[0]:g}]"
    if len(sigmas) > 1:
        lam += "\nevery σ scales the same draws ξ (common random numbers): the same ratios"
    _title(fig, spec, "measured ÷ exact stationary loss (1 = theory)", lam)
    return fig


def _mappable(cmap, norm):
    from matplotlib.cm import ScalarMappable

    return ScalarMappable(norm=norm, cmap=cmap)


# ---------------------------------------------------------------- mini-batch least squares


def _batch_label(B, n):
    return f"{B:d} = n" if B == n else f"{B:d}"


def batch_heatmap(cells, edge, iso, crit, spec, note=""):
    """Tail excess loss (mean over seeds) over (batch size B, h = eta * lambda_max).

    cells: ``analysis_sgd.batch_cells`` rows of one (kappa, beta, sigma); edge: DataFrame
    batch_size, h_max, sampling_used on dense B (``analysis_sgd.ms_edges``); iso:
    DataFrame batch_size, h (the linear-scaling line, anchored at half the edge of the
    smallest B); crit: where that line meets the edge (NaN if it does not); ``note`` is
    added to the edge's legend entry. Diverged cells grey; cells beyond the mean-square
    edge whose runs had not diverged yet (their loss still growing) grey with crosses;
    cells with some seeds diverged hatched; full-batch runs that converged light green."""
    n = spec["problem_params"]["n"]
    Bs = np.unique(cells["batch_size"])
    hs = np.unique(cells["h"])
    b_edges, h_edges = edges(Bs.astype(float), log=True), edges(hs, log=True)
    fig = Figure(figsize=(6.4, 6.4), layout="constrained")
    ax = fig.subplots()
    g = cells.set_index(["h", "batch_size"]).reindex([(h, B) for h in hs for B in Bs])
    shape = (len(hs), len(Bs))

    def mask(values):
        return np.asarray(values, dtype=bool).reshape(shape)

    meas = g["measured"].to_numpy(dtype=float).reshape(shape)
    alldiv = mask(g["diverged"] == g["seeds"])
    somediv = mask((g["diverged"] > 0) & (g["diverged"] < g["seeds"]))
    conv = mask(g["converged"] == g["seeds"]) & ~alldiv
    beyond = ~alldiv & ~conv
    if "exact" in g:
        beyond &= mask(np.isinf(g["exact"].to_numpy(dtype=float)))
    else:
        beyond &= False
    show = np.where(conv | alldiv | beyond | ~(meas > 0), np.nan, meas)
    finite = show[np.isfinite(show)]
    vmin, vmax = (finite.min(), finite.max()) if finite.size else (1e-3, 1.0)
    norm = LogNorm(vmin, max(vmax, vmin * 10))
    ax.pcolormesh(
        b_edges, h_edges, np.ma.masked_invalid(show), cmap="viridis", norm=norm, rasterized=True
    )
    for m, colour in ((alldiv | beyond, DIVERGED), (conv, CONVERGED)):
        if m.any():
            ax.pcolormesh(
                b_edges,
                h_edges,
                np.ma.masked_where(~m, np.ones(shape)),
                cmap=ListedColormap([colour]),
                rasterized=True,
            )
    for m, hatch, colour in ((somediv, HATCH, "white"), (beyond, "xx", "0.45")):
        for i, j in zip(*np.nonzero(m), strict=True):
            ax.fill_between(
                b_edges[j : j + 2],
                h_edges[i],
                h_edges[i + 1],
                facecolor="none",
                edgecolor=colour,
                hatch=hatch,
                lw=0,
            )
    ax.plot(edge["batch_size"], edge["h_max"], color=THEORY, lw=2.2, path_effects=HALO)
    ok = np.isfinite(iso["h"]) & (iso["h"] <= h_edges[-1] * 1.5)
    ax.plot(iso["batch_size"][ok], iso["h"][ok], color="white", lw=1.8, ls="--")
    if np.isfinite(crit):
        hc = float(np.interp(np.log(crit), np.log(edge["batch_size"]), edge["h_max"]))
        ax.plot([crit], [hc], marker="*", ms=15, mfc="white", mec="black", ls="none")
        ax.annotate(
            f"B ≈ {crit:.3g}",
            (crit, hc),
            xytext=(9, -14),
            textcoords="offset points",
            fontsize=10,
            color="white",
            fontweight="bold",
        )
    limit = edge["h_max"].iloc[-1] if full_batch_last(edge, n, spec) else None
    if limit is not None:
        ax.axhline(limit, color="0.85", lw=1.0, ls=":")
    ax.set(
        xscale="log", yscale="log", xlim=(b_edges[0], b_edges[-1]), ylim=(h_edges[0], h_edges[-1])
    )
    ax.xaxis.set_major_locator(FixedLocator(Bs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _batch_label(round(v), n)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("batch size B")
    ax.set_ylabel(f"step size {H}")
    cb = fig.colorbar(_mappable(colormaps["viridis"], norm), ax=ax, pad=0.02)
    cb.set_label("tail excess loss f(w) − f(ŵ), mean over seeds")
    sampling = spec["problem_params"].get("sampling", "epoch")
    handles = [
        Line2D([], [], color=THEORY, lw=2.2, label=f"mean-square stability edge η_max(B){note}"),
        Line2D(
            [],
            [],
            color="0.3",
            lw=1.8,
            ls="--",
            label="linear scaling η ∝ B(n−1)/(n−B) from η_max(1)/2 (fixed small-step noise)",
        ),
        Line2D(
            [],
            [],
            ls="none",
            marker="*",
            ms=12,
            mfc="white",
            mec="black",
            label="critical batch size: the linear rule meets the edge",
        ),
        Patch(facecolor=DIVERGED, edgecolor="0.5", label="diverged (every seed)"),
    ]
    if beyond.any():
        handles.append(
            Patch(
                facecolor=DIVERGED,
                edgecolor="0.45",
                hatch="xx",
                label="beyond the edge, loss growing (not yet diverged)",
            )
        )
    if somediv.any():
        handles.append(
            Patch(facecolor="0.5", edgecolor="white", hatch=HATCH, label="some seeds diverged")
        )
    if conv.any():
        handles.append(
            Patch(facecolor=CONVERGED, edgecolor="0.5", label="converged: full batch, no noise")
        )
    if limit is not None:
        handles.append(
            Line2D(
                [],
                [],
                color="0.6",
                lw=1.0,
                ls=":",
                label=f"full-batch limit {H} = {LIMITS[spec['optimizer']]}",
            )
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=1, fontsize=SMALL, frameon=False)
    _title(
        fig,
        spec,
        "tail loss over batch size and step size",
        f"\nn = {n}, sampling {SAMPLING[sampling]}",
    )
    return fig


def full_batch_last(edge, n, spec):
    """Whether the edge table ends at the full batch (its h_max is the full-batch limit)."""
    return (
        int(edge["batch_size"].iloc[-1]) >= n
        and spec["problem_params"].get("sampling", "epoch") != "replacement"
    )


def gradient_noise(table, dense, spec, draws=0):
    """Gradient-noise variance E|g_S(w) - grad f(w)|^2 vs batch size B at each point
    (colours): measured with the kernel's sampler (points, ± 1 s.e.), the exact law
    tr(S_pop)/B * (n - B)/(n - 1) (solid; "replacement": without the factor) and the plain
    1/B law tr(S_pop)/B (dashed). Bottom: measured / exact and plain / exact.

    table: ``analysis_sgd.noise_variance_table``; dense: the same columns point,
    batch_size, exact, plain on dense B (no measurement)."""
    n = spec["problem_params"]["n"]
    sampling = spec["problem_params"].get("sampling", "epoch")
    fig = Figure(figsize=(6.4, 7.0), layout="constrained")
    top, bot = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1.0])
    points = list(dict.fromkeys(table["point"]))
    colours = dict(zip(points, ["#1f77b4", "#d62728", "#2ca02c"], strict=False))
    for p in points:
        c = colours[p]
        d = dense[dense["point"] == p]
        t = table[table["point"] == p]
        top.plot(d["batch_size"], d["exact"], color=c, lw=1.6)
        top.plot(d["batch_size"], d["plain"], color=c, lw=1.0, ls="--")
        top.errorbar(
            t["batch_size"],
            t["measured"],
            yerr=t["se"],
            ls="none",
            marker="o",
            ms=4,
            color=c,
            capsize=2,
        )
        bot.plot(d["batch_size"], d["plain"] / d["exact"], color=c, lw=1.0, ls="--")
        bot.errorbar(
            t["batch_size"],
            t["measured"] / t["exact"],
            yerr=t["se"] / t["exact"],
            ls="none",
            marker="o",
            ms=4,
            color=c,
            capsize=2,
        )
    top.set(xscale="log", yscale="log")
    top.set_ylabel("gradient-noise variance\nE |g_B(w) − ∇f(w)|²")
    bot.axhline(1.0, color="0.5", lw=0.8)
    bot.set_xlabel("batch size B")
    bot.set_ylabel("÷ exact law")
    top_ratio = float(np.nanmax((dense["plain"] / dense["exact"]).to_numpy()))
    if top_ratio > 3:  # the plain law's error (n-1)/(n-B) grows without bound near n
        bot.set_yscale("log")
        bot.set_ylim(0.8, 1.3 * top_ratio)
        ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500) if t <= 1.3 * top_ratio]
        bot.yaxis.set_major_locator(FixedLocator(ticks))
        bot.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        bot.yaxis.set_minor_locator(NullLocator())
    else:
        bot.set_ylim(0.9, max(1.2, 1.1 * top_ratio))
    bot.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    law = "(n − B)/(n − 1) · tr(S_pop)/B" if sampling != "replacement" else "tr(S_pop)/B"
    handles = [Line2D([], [], color=colours[p], lw=2.5, label=f"at {p}") for p in points]
    handles += [
        Line2D(
            [],
            [],
            ls="none",
            marker="o",
            ms=4,
            color="0.3",
            label="measured with the kernel's sampler ± 1 s.e."
            + (f" ({draws:,} batches per B)" if draws else ""),
        ),
        Line2D([], [], color="0.3", lw=1.6, label=f"exact: {law}"),
        Line2D([], [], color="0.3", lw=1.0, ls="--", label="plain 1/B law tr(S_pop)/B"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=1, fontsize=SMALL, frameon=False)
    extra = f"\nn = {n}, sampling {SAMPLING[sampling]}"
    if sampling != "replacement":
        extra += "\nB = n: every batch is the whole data set, no noise (not drawn)"
    fig.suptitle(
        f"Mini-batch gradient noise vs batch size\nsweep '{spec['name']}'{extra}", fontsize=11
    )
    return fig


def _small_step_label(spec):
    """The small-step law as drawn, for the legend."""
    sampling = spec["problem_params"].get("sampling", "epoch")
    if sampling == "epoch":
        return "small-step law for random reshuffling (theory.small_step_excess_loss_epoch)"
    fpc = "(n−B)/(n−1) · " if sampling == "subset" else ""
    beta = "(1−β)" if spec["optimizer"] != "gd" else ""
    sigma = " + σ²d" if "sigma" in spec["axes"] else ""
    return f"small-step law η/4{beta} · ({fpc}tr(S_pop)/B{sigma})"


def loss_vs_batch(cells, dense, spec, exact_label="exact theory", lambda_max=None):
    """Stationary excess loss vs batch size B, one colour per step size: measured (mean of
    the tail loss over seeds ± 1 s.e.; hollow where not comparable), exact theory (solid;
    ``exact_label``), the small-step law eta/(4(1-beta)) (tr(S_pop) fpc / B + sigma^2 d)
    (dashed). Bottom: measured / exact and small-step / exact.

    cells: ``analysis_sgd.batch_cells`` of one (kappa, beta, sigma), restricted to the step
    sizes to draw; dense: ``analysis_sgd.loss_vs_batch`` for those step sizes; lambda_max
    of H (default: from the cells)."""
    n = spec["problem_params"]["n"]
    hs = np.unique(cells["h"])
    lmax = lambda_max if lambda_max else float((cells["h"] / cells["eta"]).iloc[0])
    colours = dict(zip(hs, _colours(len(hs)), strict=True))
    fig = Figure(figsize=(6.4, 6.6), layout="constrained")
    top, bot = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1.0])
    has_exact = dense["exact"].notna().any()
    has_small = dense["small"].notna().any()
    for h in hs:
        c = colours[h]
        d = dense[np.isclose(dense["eta"] * lmax, h)]
        ref = d["exact"] if has_exact else d["small"]
        if has_exact:
            ok = np.isfinite(d["exact"])
            top.plot(d["batch_size"][ok], d["exact"][ok], color=c, lw=1.6)
        if has_small:
            top.plot(d["batch_size"], d["small"], color=c, lw=1.0, ls="--")
        with np.errstate(divide="ignore", invalid="ignore"):
            if has_small:
                bot.plot(d["batch_size"], d["small"] / ref, color=c, lw=1.0, ls="--")
        g = cells[(cells["h"] == h) & cells["stochastic"] & (cells["measured"] > 0)]
        g = g[(g["diverged"] == 0) & ~np.isinf(g["exact"])]  # beyond the edge: no floor
        for usable, mfc in ((True, c), (False, "white")):
            p = g[g["usable"] == usable] if "usable" in g else g
            if not len(p):
                continue
            kw = dict(ls="none", marker="o", ms=4, color=c, mfc=mfc, mew=0.9, capsize=2)
            top.errorbar(p["batch_size"], p["measured"], yerr=p["se"], **kw)
            r = p["exact"] if has_exact else p["small"]
            bot.errorbar(p["batch_size"], p["measured"] / r, yerr=p["se"] / r, **kw)
    top.set(xscale="log", yscale="log")
    top.set_ylabel("stationary excess loss  E[f(w) − f(ŵ)]")
    bot.axhline(1.0, color="0.5", lw=0.8)
    bot.set_ylim(0.0, 1.6)
    bot.set_xlabel("batch size B")
    bot.set_ylabel("÷ solid line" if has_exact else "÷ small-step law")
    bot.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    sampling = spec["problem_params"].get("sampling", "epoch")
    handles = [Line2D([], [], color=colours[h], lw=2.5, label=f"{H} = {h:.3g}") for h in hs]
    handles += [
        Line2D(
            [],
            [],
            ls="none",
            marker="o",
            ms=4,
            color="0.3",
            label=f"measured: mean over {int(cells['seeds'].max())} seeds ± 1 s.e.",
        ),
    ]
    shown = cells[cells["stochastic"] & (cells["diverged"] == 0) & ~np.isinf(cells["exact"])]
    if "usable" in shown and (~shown["usable"] & (shown["measured"] > 0)).any():
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="o",
                ms=4,
                color="0.3",
                mfc="white",
                label="measured, not compared (within 10 % of the edge, or a transient)",
            )
        )
    if has_exact:
        handles.append(Line2D([], [], color="0.3", lw=1.6, label=exact_label))
    if has_small:
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                lw=1.0,
                ls="--",
                label=_small_step_label(spec),
            )
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=SMALL, frameon=False)
    extra = f"\nn = {n}, sampling {SAMPLING[sampling]}"
    extra += "\nnot drawn: B = n (no noise) and runs beyond the edge"
    _title(fig, spec, "stationary loss vs batch size", extra)
    return fig
