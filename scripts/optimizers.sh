#!/usr/bin/env bash
# Comparing optimizers on quadratics: gd, heavy ball, Nesterov, Adam and RMSProp over
# kappa = 1 .. 1e3 (best steps to the tolerance on each grid, against theory's optimal
# tuning), on the diagonal quadratic and on the rotated one (linreg, full batch: its own
# figure), and Adam's (lr, beta1) and (lr, beta2) maps on the ravine x^2 + 100 y^2 and on
# Rosenbrock's valley (1 - x)^2 + 100 (y - x^2)^2.
# Sweeps go to results/optimizers/NAME (always afresh), figures to
# results/figures/optimizers/ (pass --out FIGDIR to put them elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
S=scripts/sweeps/optimizers
names=(gd heavy_ball nesterov adam rmsprop
       linreg_gd linreg_heavy_ball linreg_nesterov linreg_adam linreg_rmsprop
       adam_ravine_beta1 adam_ravine_beta2 adam_rosenbrock_beta1 adam_rosenbrock_beta2)
dirs=()
for name in "${names[@]}"; do
    # always afresh; an edited spec is refused in a DIR holding the old one, so start clean
    rm -rf "results/optimizers/$name"
    python -m fastdescent run "$S/$name.toml" --out "results/optimizers/$name" --quiet > /dev/null
    dirs+=("results/optimizers/$name")
done
python scripts/optimizers.py "${dirs[@]}" "$@"
if [[ $# -eq 0 ]]; then  # the README's copies
    mkdir -p results/figures/readme
    f=results/figures/optimizers
    cp "$f/steps_vs_kappa.png" results/figures/readme/optimizers_steps_vs_kappa.png
    cp "$f/steps_vs_kappa_linreg.png" results/figures/readme/optimizers_steps_vs_kappa_linreg.png
    for m in ravine_beta1 ravine_beta2 rosenbrock_beta1 rosenbrock_beta2; do
        cp "$f/maps_opt_adam_$m.png" "results/figures/readme/optimizers_adam_$m.png"
    done
fi
