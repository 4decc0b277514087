"""The check against theory of an adaptive sweep (adam, rmsprop, adagrad, any problem):
``precond_sharpness`` against the frozen preconditioner's stability edge
(``fastdescent.theory.adaptive_edge``).

At a constant eta the second-moment sums shrink with the gradient, the preconditioned
sharpness a (the largest eigenvalue of D^-1/2 H D^-1/2, D the update's denominators
sqrt(s_hat_i) + eps; on a diagonal quadratic max_i lam_i / (sqrt(s_hat_i) + eps)) grows,
and a run that does not converge ends oscillating at the edge a*. The edge is a ceiling:
above it the frozen iteration is unstable, the gradient grows, s grows and a falls back.
So the check, on the noiseless rows at constant eta that ended as ``max_steps`` (the
runs that can have reached it):

- without momentum (Adam with beta1 = 0, RMSProp with mu = 0, Adagrad), a / a* <= 1.05.
  Derivation: at the edge the orbit is a flip, w_{t+1} = -w_t along the sharpest
  direction, so g^2 is constant and s (an average of g^2; Adam's s_hat once the bias
  correction is gone) tends to g^2: d -> 1 / (|g| + eps), and a flip needs
  eta lam d = 2, a = 2 / eta. Once the orbit has lasted many times 1 / (1 - beta2)
  steps this holds to rounding (1e-15 in tests/test_adaptive.py: 30,000 steps,
  beta2 <= 0.99); before that s still lags g^2 and a overshoots the edge a little: up to
  1 % on the shipped sweeps (beta2 = 0.999, 2,000-5,000 steps), so the bound leaves 5 %
  (Adagrad's G only grows, so its a only falls: its runs end below the edge).
- with momentum the final value is mostly a snapshot of an oscillation around the edge:
  0.84 to 1.34 times a* on the scan in tests/test_adaptive.py, up to 1.47 on the shipped
  ravine map. Derived (``theory.flip_orbit_radius``): the flip orbit at the edge exists
  for any momentum, but it repels above ``theory.flip_orbit_beta_limit`` (Adam's beta1
  about 0.17-0.18, RMSProp's mu about 0.24-0.25), so no run there settles on it; below
  the limit it attracts but need not be the only attractor. No bound on the
  oscillation is derived, so these rows are not checked: a note gives their range and
  how many lie above the limit.
- the check is for the diagonal quadratics (``problem = "quadratic"``). Where H is not
  diagonal (``linreg``: H = V diag(lambda) V^T; the landscapes) the derivation still
  holds for a settled flip orbit (g_i^2 is constant in every coordinate of any flip
  orbit, so s -> g^2 and D^-1 H u = (2 / eta) u along its direction u), and settled runs
  end there: 2 / eta to 1e-6 on full-batch linreg after 20,000 steps
  (tests/test_adaptive_linreg.py), within 1.1 % near Rosenbrock's minimum
  (tests/test_adaptive_landscapes.py). But the orbit need not be settled when the
  budget ends, and there a, a snapshot of the largest eigenvalue of D^-1 H with s
  still moving, overshoots: up to 1.40 a* on the shipped linreg RMSProp sweep (beta2 =
  0.9, eta = 0.002, 5,000 steps), 1.14 a* on the linreg Adam one. So on these problems
  the rows without momentum are reported (how many at the edge, the range), not
  checked; on a landscape only those that end within NEAR of a listed minimum (there it
  is its quadratic model); runs that stall far from a minimum, on a slope whose
  curvature changes along the orbit, end up to 1.11 a* (Adam, beta1 = 0, from (-1, 1)
  on the shipped Rosenbrock map, f = 0.5-4) and are reported apart.

The rows at the edge (at least 0.99 a*) are counted. The check fails on any row above
its bound; a sweep where no run without momentum ended as max_steps has nothing to check
(said in a note).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import CheckReport, CheckResult, constant_eta_rows

CEILING = 1.05  # without momentum (module docstring)
AT_EDGE = 0.99
NEAR = 0.05  # landscapes: rows that end this close to a listed minimum are checked


def near_minimum(df: pd.DataFrame, spec) -> np.ndarray:
    """Rows whose final point is within NEAR of one of the problem's listed minima (a
    circle of minima: of the circle); every row of a quadratic or linreg (the whole
    problem is its quadratic model)."""
    from .problems import get_problem

    module = get_problem(spec.problem)
    if not hasattr(module, "minima"):
        return np.ones(len(df), bool)
    x = df["x_final"].to_numpy()
    y = df["y_final"].to_numpy() if "y_final" in df else np.zeros(len(df))
    distance = np.full(len(df), np.inf)
    for m in module.minima(spec.problem_params):
        mx, my = m.location[0], m.location[1] if len(m.location) > 1 else 0.0
        if m.kind == "circle":
            d = np.abs(np.hypot(x, y) - np.hypot(mx, my))
        else:
            d = np.hypot(x - mx, y - my)
        distance = np.minimum(distance, d)
    return distance <= NEAR


def _repelled(optimizer, beta, beta2) -> int:
    """How many (beta, beta2) pairs lie above the flip orbit's stability limit."""
    from .theory import flip_orbit_beta_limit

    if optimizer not in ("adam", "rmsprop") or not len(beta):
        return 0
    limits = {b2: flip_orbit_beta_limit(optimizer, b2) for b2 in np.unique(beta2)}
    return int(sum(b > limits[b2] for b, b2 in zip(beta, beta2, strict=True)))


def check_adaptive(df: pd.DataFrame, spec, *, worst: int = 5, **_) -> CheckReport:
    """Check an adaptive sweep's table (``fastdescent.load``) against the edge (module
    docstring); ``spec``: the normalised spec dict or a SweepSpec."""
    from .spec import SweepSpec, parse_spec
    from .theory import adaptive_edge

    parsed = spec if isinstance(spec, SweepSpec) else parse_spec(spec)
    df, schedule_note = constant_eta_rows(df, parsed.to_dict())
    opt = parsed.optimizer
    rows = df[df["status"].astype(str) == "max_steps"]
    if "sigma" in rows:
        rows = rows[rows["sigma"] == 0.0]
    beta = rows["beta"].to_numpy() if "beta" in rows else np.zeros(len(rows))
    edge = adaptive_edge(opt, rows["eta"].to_numpy(), beta)
    ratio = rows["precond_sharpness"].to_numpy() / edge
    momentum = beta != 0.0
    spread = ratio[momentum]
    repelled = _repelled(opt, beta[momentum], rows["beta2"].to_numpy()[momentum]
                         if "beta2" in rows else np.zeros(int(momentum.sum())))  # fmt: skip
    near = near_minimum(rows, parsed)
    far = ratio[~momentum & ~near]
    rows, edge, ratio = rows[~momentum & near], edge[~momentum & near], ratio[~momentum & near]
    diagonal = parsed.problem == "quadratic"
    reported = ratio if not diagonal else ratio[:0]  # the other problems: reported only
    if not diagonal:
        rows, edge, ratio = rows.iloc[:0], edge[:0], ratio[:0]
    at_edge = ratio >= AT_EDGE
    bad = ~(ratio <= CEILING)  # NaN fails too
    table = rows.assign(edge=edge, ratio=ratio)
    cols = [c for c in ("traj", "lr", "beta", "beta2", "eps", "kappa", "eta") if c in table]
    order = np.argsort(-np.where(bad, np.inf, ratio), kind="stable")
    shown = table.iloc[order[:worst]][[*cols, "precond_sharpness", "edge", "ratio"]]
    checked = len(rows)
    result = CheckResult(
        "edge", checked, int(checked - bad.sum()), int(bad.sum()),
        len(df) - checked, np.abs(ratio - 1.0), shown,
        notes=[
            (f"{int(at_edge.sum()):,} of {checked:,} max_steps rows without momentum end at "
             f"the edge ({AT_EDGE:g} to {CEILING:g} times it); bound a / a* <= {CEILING:g}")
            if diagonal else f"checked on diagonal quadratics only; {parsed.problem}: reported",
            "converged, diverged and noisy rows are not checked"
            + ("; no run without momentum ended as max_steps: nothing to check"
               if checked == 0 and diagonal else ""),
            f"with momentum (not checked, no derived bound): {len(spread):,} max_steps rows"
            + (f", a / a* from {np.nanmin(spread):.3g} to {np.nanmax(spread):.3g}"
               if len(spread) and np.isfinite(spread).any() else "")
            + (f"; {repelled:,} of them above the momentum where the flip orbit at the edge "
               "repels (theory.flip_orbit_beta_limit)" if len(spread) else ""),
            *([f"without momentum on {parsed.problem} (not checked: H is not diagonal, and "
               "the derivation holds in a settled flip orbit only): "
               f"{len(reported):,} max_steps rows, "
               f"{int(((reported >= AT_EDGE) & (reported <= CEILING)).sum()):,} of them at "
               f"the edge ({AT_EDGE:g} to "
               f"{CEILING:g} times it)"
               + (f", a / a* from {np.nanmin(reported):.3g} to {np.nanmax(reported):.3g}"
                  if np.isfinite(reported).any() else "")]
              if not diagonal else []),
            *([f"without momentum, ended farther than {NEAR:g} from every listed minimum (not "
               f"checked: no quadratic model there): {len(far):,} max_steps rows"
               + (f", a / a* from {np.nanmin(far):.3g} to {np.nanmax(far):.3g}"
                  if np.isfinite(far).any() else "")] if len(far) else []),
        ],
    )  # fmt: skip
    header = [
        f"sweep {parsed.name}: {opt} on {parsed.problem}, {parsed.size:,} rows, "
        f"{parsed.steps} steps: "
        "precond_sharpness against the frozen preconditioner's edge "
        "(fastdescent.theory.adaptive_edge)",
    ]
    if schedule_note:
        header.append(schedule_note)
    return CheckReport(header, [result])
