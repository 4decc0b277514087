#!/usr/bin/env bash
# The README's main job: the W1 sweep (1,048,576 heavy-ball trajectories over
# lr x beta x kappa), its check against theory, then its headline figures.
set -euo pipefail
cd "$(dirname "$0")/.."
# --no-resume: always computed afresh (a second; results of an older version are replaced)
python -m fastdescent run scripts/sweeps/momentum.toml --out results/momentum --no-resume
python scripts/check_theory.py results/momentum
echo
echo "figures:"
python scripts/rate_heatmaps.py results/momentum --kappa 1 10 100 1000 10000
python scripts/divergence_boundary.py results/momentum
python scripts/rate_vs_kappa.py results/momentum
