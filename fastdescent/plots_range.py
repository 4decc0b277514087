"""Figures of the learning-rate range test (``scripts/lr_range_test.py``): matplotlib only,
drawing the tables of ``fastdescent.analysis_range``. Sizes and fonts as
``fastdescent.plots`` (7.2 in wide, text >= 9 pt).

- ``range_curves``: a panel per (beta, kappa): the smoothed loss against eta (log-log),
  the median over seeds with a band spanning the seeds, one seed's raw loss in grey, the
  stop threshold diverge_th x best, each rule's suggestion as a marker on the curve with
  a horizontal bar spanning the seeds, the measured cliff (solid line, shaded over the
  seeds) and theory's limit 2 / lambda_max or 2 (1 + beta) / lambda_max (dashed red).
- ``cliff_vs_kappa``: the cliff / limit against kappa per (beta, sigma), seeds' spread as
  bars, the band 1 +- 5 %; beside it, each rule's suggestion / limit.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullFormatter

from .analysis_range import RULES
from .plots import NAMES, SMALL, THEORY, WIDTH

__all__ = ["RULE_STYLE", "cliff_vs_kappa", "range_curves"]

#: marker, colour and label of each suggestion rule
RULE_STYLE = {
    "steepest": ("o", "#1f77b4", "steepest (lr-finder)"),
    "minimum": ("v", "#2ca02c", "minimum/10 (fastai)"),
    "steep": ("D", "#9467bd", "steep (fastai)"),
    "valley": ("*", "#ff7f0e", "valley (fastai)"),
}
CLIFF = "black"
LIBRARY = {
    "fastai": "fastai: debiased EMA β = {beta:g}, stop at {th:g} × best",
    "lr_finder": "lr-finder: EMA smooth_f = {smooth_f:g}, stop at {th:g} × best",
}
LIMIT_TEXT = {"gd": "2/λmax", "heavy_ball": "2(1+β)/λmax", "nesterov": "2(1+β)/((1+2β)λmax)"}


def _g(x):
    return f"{x:.3g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def _key_text(key, optimizer, names):
    parts = []
    for k in names:
        if k == "beta" and optimizer == "gd":
            continue
        symbol = {"beta": "β", "kappa": "κ", "sigma": "σ", "batch_size": "B", "lr": "lr"}[k]
        parts.append(f"{symbol} = {_g(key[k])}")
    return ", ".join(parts)


def _kappa(g):
    """The condition number of each row: the kappa axis, else lambda_max / lambda_min."""
    if "kappa" in g:
        return g["kappa"].to_numpy(float)
    if "lambda_min" in g:
        return (g["lambda_max"] / g["lambda_min"]).to_numpy(float)
    return np.ones(len(g))


def _on_curve(curve, eta):
    """The median curve's value at ``eta`` (log-log interpolation over finite rows)."""
    ok = np.isfinite(curve["median"]) & (curve["median"] > 0)
    if not ok.any() or not np.isfinite(eta):
        return np.nan
    x, y = np.log(curve["eta"][ok]), np.log(curve["median"][ok])
    return float(np.exp(np.interp(np.log(eta), x, y)))


def range_curves(panels, spec, library):
    """The range-test curves. ``panels``: list of (curve, row) pairs in drawing order, each
    a group's ``analysis_range.curves`` dict and its ``summarise`` row (a dict; with
    ``efolds``: the slow direction's e-folds at the limit); the panels are laid out with
    one row per beta and one column per kappa (as the keys vary). ``library``: {"name":
    "fastai" | "lr_finder", "th": diverge_th, and its smoothing parameter}."""
    rows_of = sorted({p[0]["key"].get("beta", 0.0) for p in panels})
    cols_of = sorted({tuple(v for k, v in p[0]["key"].items() if k != "beta") for p in panels})
    nr, nc = len(rows_of), len(cols_of)
    fig = Figure(figsize=(WIDTH, 2.35 * nr + 1.6), layout="constrained")
    axes = fig.subplots(nr, nc, squeeze=False)
    lib, cliff_col = library["name"], f"cliff_{library['name']}"
    names = list(panels[0][0]["key"])
    varying = [k for k in names if len({p[0]["key"][k] for p in panels}) > 1]
    same = [k for k in names if k not in varying]
    fixed = _key_text(panels[0][0]["key"], spec["optimizer"], same)
    for curve, row in panels:
        key = curve["key"]
        r = rows_of.index(key.get("beta", 0.0))
        c = cols_of.index(tuple(v for k, v in key.items() if k != "beta"))
        ax = axes[r, c]
        eta = curve["eta"]
        ax.plot(eta, curve["raw"], color="0.75", lw=0.6, zorder=1)
        lo, hi = curve["lo"], np.where(np.isfinite(curve["hi"]), curve["hi"], 1e300)
        ax.fill_between(eta, lo, hi, color="#9ecae1", alpha=0.7, lw=0, zorder=2)
        ax.plot(eta, curve["median"], color="#08519c", lw=1.4, zorder=3)
        best = np.nanmin(np.where(np.isfinite(curve["median"]), curve["median"], np.nan))
        ax.axhline(library["th"] * best, color="0.35", lw=0.8, ls=":", zorder=2)
        ax.axvline(row["limit"], color=THEORY, lw=1.6, ls="--", zorder=4)
        if np.isfinite(row[cliff_col]):
            ax.axvspan(row[f"{cliff_col}_lo"], row[f"{cliff_col}_hi"], color="0.5", alpha=0.3,
                       lw=0, zorder=1)  # fmt: skip
            ax.axvline(row[cliff_col], color=CLIFF, lw=1.1, zorder=4)
        for rule in RULES:
            m, colour, _ = RULE_STYLE[rule]
            x = row[rule]
            if not np.isfinite(x):
                continue
            y = _on_curve(curve, x)
            err = [[x - row[f"{rule}_lo"]], [row[f"{rule}_hi"] - x]]
            ax.errorbar([x], [y], xerr=err, fmt=m, color=colour, mec="black", mew=0.6,
                        ms=9 if m == "*" else 6, capsize=2, lw=1.0, zorder=5)  # fmt: skip
        ratio = row[f"ratio_{lib}"]
        text = f"cliff {ratio:.3f} × limit" if np.isfinite(ratio) else "no cliff in range"
        if "efolds" in row and np.isfinite(row["efolds"]):
            text += f", N = {row['efolds']:.2g}".replace("e+0", "e").replace("e+", "e")
        finite = curve["median"][np.isfinite(curve["median"])]
        low = np.nanmin(np.where(lo > 0, lo, np.nan)) if np.any(lo > 0) else best
        top = max(library["th"] * best, finite[0] if len(finite) else best)
        ax.set(xscale="log", yscale="log", xlim=(eta[0], eta[-1]), ylim=(low / 3, top * 30))
        head = _key_text(key, spec["optimizer"], varying)
        ax.set_title(f"{head}\n{text}" if head else text, fontsize=SMALL)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(labelsize=SMALL)
    for ax in axes[-1, :]:
        ax.set_xlabel("step size η (log)")
    for ax in axes[:, 0]:
        ax.set_ylabel("smoothed loss")
    handles = [
        Line2D([], [], color="#08519c", lw=1.4, label="smoothed, median of seeds"),
        Patch(color="#9ecae1", label="seeds' range"),
        Line2D([], [], color="0.75", lw=0.8, label="one seed, raw"),
        Line2D([], [], color="0.35", lw=0.8, ls=":", label=f"{library['th']:g} × best"),
        Line2D([], [], color=CLIFF, lw=1.1, label="cliff, seeds shaded"),
        Line2D([], [], color=THEORY, lw=1.6, ls="--",
               label=f"theory η < {LIMIT_TEXT[spec['optimizer']]}"),
    ] + [Line2D([], [], ls="none", marker=RULE_STYLE[r][0], color=RULE_STYLE[r][1], mec="black",
                ms=7, label=RULE_STYLE[r][2]) for r in RULES]  # fmt: skip
    if any("efolds" in row for _, row in panels):
        handles.append(Line2D([], [], ls="none", label="N: slow e-folds at the limit"))  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=SMALL,
               frameon=False)  # fmt: skip
    smooth = LIBRARY[lib].format(**library)
    sched = spec.get("schedule", {})
    fig.suptitle(
        f"{NAMES[spec['optimizer']]}: learning-rate range test, sweep '{spec['name']}'"
        f"{', ' + fixed if fixed else ''}\n"
        f"exp_range over {spec['steps']} steps (η × {sched.get('end_factor', float('nan')):g}"
        f"); {smooth}",
        fontsize=11,
    )
    return fig


def cliff_vs_kappa(summarised, spec, series_keys, library, suggested=None):
    """Three panels against kappa, one series per combination of ``series_keys`` (e.g.
    beta, sigma), medians over seeds with the seeds' range as bars: the cliff / limit on a
    log scale (a cliff that never came: an open triangle at the top), the same zoomed
    to 1 +- 15 % with the band 1 +- 5 %, and each rule's suggestion / limit (one marker
    per rule, one colour per series) of the rows of ``suggested`` (default: all)."""
    fig = Figure(figsize=(WIDTH, 4.3), layout="constrained")
    wide, zoom, right = fig.subplots(1, 3, sharex=True)
    lib = library["name"]
    col = f"ratio_{lib}"
    groups = list(summarised.groupby(series_keys, sort=True)) if series_keys else [((), summarised)]
    cmap = colormaps["viridis"]
    top = np.nanmax(summarised[f"{col}_hi"].to_numpy(float), initial=1.0)
    for i, (key, g) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        colour = cmap(0.85 * i / max(1, len(groups) - 1))
        symbols = {"beta": "β", "sigma": "σ", "batch_size": "B"}
        pairs = zip(series_keys, key, strict=True)
        label = ", ".join(f"{symbols.get(k, k)} = {v:g}" for k, v in pairs) or "this sweep"
        g = g.iloc[np.argsort(_kappa(g), kind="stable")]
        x = _kappa(g)
        y = g[col].to_numpy(float)
        err = np.array([y - g[f"{col}_lo"].to_numpy(float), g[f"{col}_hi"].to_numpy(float) - y])
        for ax in (wide, zoom):
            ax.errorbar(x, y, yerr=err, fmt="o-", color=colour, ms=4, capsize=2, lw=1.2,
                        label=label)  # fmt: skip
        none = ~np.isfinite(y)
        if none.any():
            wide.plot(x[none], np.full(none.sum(), top * 1.3), "^", mfc="none", mec=colour,
                      ls="none")  # fmt: skip
        if suggested is not None and not g.index.isin(suggested.index).any():
            continue
        for rule in RULES:
            m = RULE_STYLE[rule][0]
            ry = (g[rule] / g["limit"]).to_numpy(float)
            rerr = np.array([ry - (g[f"{rule}_lo"] / g["limit"]).to_numpy(float),
                             (g[f"{rule}_hi"] / g["limit"]).to_numpy(float) - ry])  # fmt: skip
            right.errorbar(x, ry, yerr=rerr, fmt=m, color=colour, mec="black", mew=0.5,
                           ms=8 if m == "*" else 5, capsize=2, lw=0.8, ls="-")  # fmt: skip
    for ax in (wide, zoom, right):
        ax.axhline(1.0, color=THEORY, lw=1.4, ls="--", zorder=0)
        ax.set(xscale="log", xlabel="condition number κ")
        ax.tick_params(labelsize=SMALL)
    for ax in (wide, zoom):
        ax.axhspan(0.95, 1.05, color=THEORY, alpha=0.15, lw=0, zorder=0)
    wide.set(yscale="log", ylabel=f"cliff / ({LIMIT_TEXT[spec['optimizer']]})")
    lows = summarised[f"{col}_lo"].to_numpy(float)
    bottom = min(0.9, np.nanmin(lows, initial=1.0) / 1.2)
    wide.set_ylim(bottom, max(1.1, top * 1.6))
    lo_y, hi_y = wide.get_ylim()
    ticks = [t * 10.0**k for k in range(-4, 3) for t in (1, 2, 5)]
    ticks += [1.1, 1.2, 1.5] if hi_y / lo_y < 5 else []
    wide.set_yticks(sorted(t for t in ticks if lo_y <= t <= hi_y))
    wide.set_title(f"cliff ({lib}, {library['th']:g} × best)", fontsize=10)
    handles, labels = wide.get_legend_handles_labels()
    if not np.isfinite(summarised[col].to_numpy(float)).all():
        handles.append(Line2D([], [], ls="none", marker="^", mfc="none", mec="black"))
        labels.append("no cliff within the range")
    for r in RULES:
        handles.append(Line2D([], [], ls="none", marker=RULE_STYLE[r][0], color="0.6",
                              mec="black", ms=7))  # fmt: skip
        labels.append(RULE_STYLE[r][2])
    fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)),
               fontsize=SMALL, frameon=False)  # fmt: skip
    zoom.set_ylim(0.85, 1.15)
    zoom.set_title("zoom: band ±5 %", fontsize=10)
    right.set(yscale="log", ylabel="suggestion / limit")
    one = suggested if suggested is not None else summarised
    single = "sigma" in one and one["sigma"].nunique() == 1
    only = f", σ = {one['sigma'].iloc[0]:g}" if single else ""
    right.set_title(f"suggestions{only}", fontsize=10)
    for ax in (wide, right):  # plain numbers: these ratios span a few decades at most
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    fig.suptitle(
        f"{NAMES[spec['optimizer']]}: range-test cliff and suggestions against theory's limit, "
        f"sweep '{spec['name']}'\nmedian over seeds, bars: the seeds' range",
        fontsize=11,
    )
    return fig
