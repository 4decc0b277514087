#!/usr/bin/env bash
# Every example sweep in scripts/sweeps/, every figure, and the check against theory.
# (The course's own figures, with the sweeps in scripts/sweeps/course/: scripts/course.sh.)
# Figures go to results/figures/<sweep>/; the README's copies to results/figures/readme/.
# A few minutes on two cores (the landscape sweeps compile their kernels once).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for spec in scripts/sweeps/*.toml; do
    name=$(basename "$spec" .toml)
    dir=results/$name
    python -m fastdescent run "$spec" --out "$dir" --quiet --no-resume  # always afresh
    if grep -qE '^kind = "exp_range"' "$spec"; then  # a learning-rate range test
        python scripts/lr_range_test.py "$dir"
    elif grep -qE '^sigma ' "$spec" && grep -qE '^problem = "quadratic"' "$spec"; then
        python scripts/sgd_noise.py "$dir"  # noisy quadratic: stationary loss vs theory
    elif grep -qE '^problem = "linreg"' "$spec"; then
        if grep -qE '^batch_size ' "$spec"; then   # mini-batch SGD on least squares
            python scripts/batch_size.py "$dir"
        fi
    elif grep -qE '^problem = "quadratic"' "$spec"; then
        if grep -qE '^(beta|kappa) ' "$spec"; then   # a 2-D map needs a second axis
            python scripts/rate_heatmaps.py "$dir"
        fi
        python scripts/divergence_boundary.py "$dir"
        python scripts/lr_sweep.py "$dir"
        if grep -qE '^kappa ' "$spec"; then
            python scripts/rate_vs_kappa.py "$dir"
        fi
    elif grep -qE '^schedule ' "$spec" && grep -qE '^sigma ' "$spec" && grep -qE '^x0 ' "$spec"; then
        python scripts/annealing.py "$dir"  # noise x schedule over a start grid: annealing
    elif grep -qE '^sigma ' "$spec"; then  # a noisy landscape: escape or basin hopping
        python scripts/landscape_noise.py "$dir"
    else  # a landscape: where the runs end; basin maps over a start grid
        python scripts/landscape.py "$dir"
        if grep -qE '^x0 ' "$spec" && grep -qE '^y0 ' "$spec"; then
            python scripts/basins.py "$dir"
        fi
    fi
    if grep -qE '^\[record\]' "$spec" && ! grep -qE '^kind = "exp_range"' "$spec"; then
        panel=()  # recorded trajectories: their loss curves and (2-D) paths
        if grep -qE '^schedule ' "$spec"; then panel=(--panel-by schedule); fi
        python scripts/loss_curves.py "$dir"
        if ! grep -qE '^problem = "linreg"' "$spec"; then
            python scripts/paths.py "$dir" "${panel[@]}"
        fi
    fi
    python scripts/check_theory.py "$dir" || status=1
done
mkdir -p results/figures/readme
for fig in momentum/rate_heatmaps momentum/divergence_boundary momentum/rate_vs_kappa \
           course_gd/lr_sweep_steps noisy_heavy_ball/stationary_loss batch_size/batch_heatmap \
           batch_size/gradient_noise saddle_noise/escape_time multimodal_noise/basin_occupancy; do
    cp "results/figures/$fig.png" "results/figures/readme/${fig//\//_}.png"
done
# one small picture per landscape (drawn again at a lower resolution: < 150 KB each)
readme=results/figures/readme
for fig in multimodal_map/basins saddle_grid/basins rosenbrock_milestone/landscape \
           rosenbrock_map_heavy_ball/basins donut/basins wells/basins himmelblau_eta/basins \
           camel/basins quartic_eta/landscape; do
    sweep=${fig%/*}
    dpi=90
    [[ $sweep == rosenbrock_milestone ]] && dpi=80  # smooth contours compress less
    python "scripts/${fig#*/}.py" "results/$sweep" --out "$readme" --dpi $dpi > /dev/null
    mv "$readme/${fig#*/}.png" "$readme/${fig//\//_}.png"
done
exit $status
