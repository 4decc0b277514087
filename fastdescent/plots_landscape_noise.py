"""Figures of noisy landscape sweeps (tables from ``fastdescent.analysis_landscape_noise``):
the escape time from the saddle against the noise level, and basin occupancy against
the noise level (noise as a temperature)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from . import theory
from .analysis_landscape_noise import SADDLE_CURVATURE
from .plots import NAMES

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]


def escape_time(table, spec):
    """Mean escape step (± 1 s.e. over seeds) against sigma, one line per (eta, beta),
    theory.escape_steps on top; lower panel: measured / theory."""
    fig, (ax, rx) = plt.subplots(2, 1, figsize=(7.2, 6.4), sharex=True,
                                 gridspec_kw={"height_ratios": [3, 1.3]})  # fmt: skip
    keys = [k for k in ("eta", "beta") if k in table]
    groups = list(table.groupby(keys, sort=True)) if keys else [((), table)]
    radius = spec["stop"]["radius"]
    opt = spec["optimizer"]
    for k, (key, g) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        point = dict(zip(keys, key, strict=True))
        colour = PALETTE[k % len(PALETTE)]
        label = f"η = {point['eta']:.3g}" + (
            f", β = {point['beta']:.2g}" if "beta" in point else ""
        )
        s = np.geomspace(g["sigma"].min() / 2, g["sigma"].max() * 2, 200)
        beta = None if opt == "gd" else point.get("beta", 0.0)
        curve = theory.escape_steps(opt, point["eta"], beta, SADDLE_CURVATURE, s, radius)
        ax.plot(s, curve, color=colour, lw=1.6)
        ax.errorbar(g["sigma"], g["mean_steps"], yerr=g["se"], fmt="o", ms=5, color=colour,
                    mfc="white", capsize=2, label=label)  # fmt: skip
        rx.errorbar(g["sigma"], g["mean_steps"] / g["theory"], yerr=g["se"] / g["theory"],
                    fmt="o", ms=4, color=colour, mfc="white", capsize=2)  # fmt: skip
    ax.set_xscale("log")
    ax.set_ylabel("mean escape step  t  (|w_t − w_0| > R)")
    ax.plot([], [], color="0.3", lw=1.6, label="theory: (ln(R/s) + (γ+ln 2)/2) / ln r₁ + ½")
    ax.legend(fontsize=8.5, loc="upper right")
    ax.grid(alpha=0.3)
    rx.axhline(1.0, color="0.4", lw=1)
    rx.set_ylim(0.9, 1.1)
    rx.set_ylabel("÷ theory")
    rx.set_xlabel("noise level σ  (gradient + σξ, ξ ~ N(0, I))")
    rx.grid(alpha=0.3)
    n = int(table["runs"].min()) if len(table) else 0
    fig.suptitle(
        f"{NAMES[opt]} on the saddle x² − y², started on its stable manifold (y₀ = 0)\n"
        f"escape time vs noise: R = {radius:g}, {n} seeds per point; "
        "no run escapes without noise",
        fontsize=10.5,
    )
    fig.tight_layout()
    return fig


def occupancy(table, gibbs, temperatures_of, info, spec, start):
    """Share of runs settled in each basin against sigma, one panel per (eta, beta), with
    Wilson intervals; the Gibbs shares at T = eta sigma^2 / (2 (1 - beta)) dashed.

    gibbs: function T (array) -> (len(T), n_minima) shares; temperatures_of(eta, beta,
    sigma) -> T."""
    keys = [k for k in ("eta", "beta") if k in table]
    groups = list(table.groupby(keys, sort=True)) if keys else [((), table)]
    n = len(groups)
    fig, axes = plt.subplots(1, n, figsize=(max(8.0, 5.2 * n + 0.6), 5.4), squeeze=False,
                             sharey=True)  # fmt: skip
    m = len(info.minima)
    for ax, (key, g) in zip(axes[0], groups, strict=True):
        key = key if isinstance(key, tuple) else (key,)
        point = dict(zip(keys, key, strict=True))
        beta = point.get("beta", 0.0)
        s = np.geomspace(g["sigma"].min(), g["sigma"].max(), 60)
        W = gibbs(temperatures_of(point["eta"], beta, s))
        for i, mn in enumerate(info.minima):
            colour = PALETTE[i % len(PALETTE)]
            lo, hi = g[f"p{i}"] - g[f"lo{i}"], g[f"hi{i}"] - g[f"p{i}"]
            x, y = mn.location[0], mn.location[1] if len(mn.location) > 1 else 0.0
            ax.errorbar(g["sigma"], g[f"p{i}"], yerr=[lo.clip(0), hi.clip(0)], fmt="o-",
                        ms=4, lw=1, color=colour, capsize=2,
                        label=f"basin {i} at ({x:.2f}, {y:.2f}), f = {mn.value:.3g}")  # fmt: skip
            ax.plot(s, W[:, i], "--", color=colour, lw=1.4)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("noise level σ  (gradient + σξ)")
        title = f"η = {point['eta']:.3g}"
        if spec["optimizer"] != "gd":
            title += f", β = {beta:.2g}"
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        top = ax.secondary_xaxis(
            "top",
            functions=(lambda v, e=point["eta"], b=beta: temperatures_of(e, b, v),
                       lambda t, e=point["eta"], b=beta: np.sqrt(2 * (1 - b) * t / e)),
        )  # fmt: skip
        top.set_xlabel("temperature T = ησ² / (2(1 − β))", fontsize=8.5)
        top.xaxis.set_minor_formatter(NullFormatter())
    axes[0][0].set_ylabel("share of runs settled in the basin")
    axes[0][0].set_ylim(-0.02, 1.02)
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], color="0.3", ls="--"))
    labels.append("Gibbs share: ∫ exp(−(f − f_min)/T) over the basin, normalised")
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8.5, frameon=False)
    runs = int(table["runs"].min()) if len(table) else 0
    fig.suptitle(
        f"{NAMES[spec['optimizer']]} on {spec['problem']}: where noisy runs settle\n"
        f"from ({start[0]:.3g}, {start[1]:.3g}), {spec['steps']:,} steps, {runs} seeds per "
        f"point, {m} minima; the basin is read with the noise switched off",
        fontsize=10.5,
    )
    fig.tight_layout(rect=(0, 0.06 + 0.035 * ((len(labels) + 1) // 2), 1, 1))
    return fig
