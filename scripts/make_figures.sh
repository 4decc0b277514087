#!/usr/bin/env bash
# Every example sweep in scripts/sweeps/, every figure, and the check against theory.
# Figures go to results/figures/<sweep>/; the README's copies to results/figures/readme/.
# About a minute on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for spec in scripts/sweeps/*.toml; do
    name=$(basename "$spec" .toml)
    dir=results/$name
    python -m fastdescent run "$spec" --out "$dir" --quiet --no-resume  # always afresh
    if grep -qE '^(beta|kappa) ' "$spec"; then   # a 2-D map needs a second axis
        python scripts/rate_heatmaps.py "$dir"
    fi
    python scripts/divergence_boundary.py "$dir"
    python scripts/lr_sweep.py "$dir"
    if grep -qE '^kappa ' "$spec"; then
        python scripts/rate_vs_kappa.py "$dir"
    fi
    python scripts/check_theory.py "$dir" || status=1
done
mkdir -p results/figures/readme
for fig in momentum/rate_heatmaps momentum/divergence_boundary momentum/rate_vs_kappa \
           course_gd/lr_sweep; do
    cp "results/figures/$fig.png" "results/figures/readme/${fig//\//_}.png"
done
exit $status
