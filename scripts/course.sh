#!/usr/bin/env bash
# Every figure of the course (../shared/course: the week plan's exercises, the starter
# notebook's cells, the theory's suggested experiments, the calculus refresh's Rosenbrock
# milestone), each drawn from a sweep, into a gallery: results/figures/course/NN_name.png
# and results/figures/course/README.md, which names the course section each reproduces,
# the sweep and the command. A few minutes on two cores, most of it compiling kernels
# once. Sweeps go to results/<name>/ (always afresh).
#
#   bash scripts/course.sh            # every figure
#   bash scripts/course.sh 05 12      # only these (their sweeps run if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
gallery=results/figures/course
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$gallery"
only=" $* "
declare -A done_sweeps=()
index="$tmp/index.md"
: > "$index"

sweep() {  # sweep NAME SPEC: run SPEC into results/NAME once per invocation
    local name=$1 spec=$2
    if [[ -z ${done_sweeps[$name]:-} ]]; then
        python -m fastdescent run "$spec" --out "results/$name" --quiet --no-resume > /dev/null
        done_sweeps[$name]=1
    fi
}

# figure ID SLUG "COURSE SECTION" "WHAT IT SHOWS" SWEEP SPEC SCRIPT FILE [ARGS...]
# runs SCRIPT on results/SWEEP and keeps its FILE.png as NN_SLUG.png
figure() {
    local id=$1 slug=$2 section=$3 what=$4 name=$5 spec=$6 script=$7 file=$8
    shift 8
    if [[ $only != "  " && $only != *" $id "* ]]; then
        return
    fi
    sweep "$name" "$spec"
    rm -rf "$tmp/fig" && mkdir -p "$tmp/fig"
    python "scripts/$script.py" "results/$name" --out "$tmp/fig" --dpi 80 "$@" > /dev/null
    mv "$tmp/fig/$file.png" "$gallery/${id}_$slug.png"
    local cmd="python scripts/$script.py results/$name${*:+ $*}"
    printf '| %s | %s | %s | `%s` | ![%s](%s_%s.png) |\n' \
        "$id" "$section" "$what" "$cmd" "$slug" "$id" "$slug" >> "$index"
    echo "$gallery/${id}_$slug.png"
}

S=scripts/sweeps
C=scripts/sweeps/course
figure 01 multimodal_landscape "Notebook cell 3; theory 3.4, 7.2" \
    "the multimodal loss sin x cos y + 0.1(x² + y²): contours, minima, where GD runs end" \
    multimodal_map $S/multimodal_map.toml landscape landscape --lr 0.1
figure 02 gd_path "Notebook cell 5; theory 4.2, 4.3" \
    "GD on x² + 3y² from (2, −1), η = 0.1, 50 steps: faster along the steep y" \
    course_paths $S/course_paths.toml paths gd --where lr=0.1 beta=0 --stem gd
figure 03 gd_vs_momentum "Notebook cell 7; theory 6.2, 6.3" \
    "GD against momentum (β = 0.9) from (2, −1), η = 0.1" \
    course_paths $S/course_paths.toml paths momentum --where lr=0.1 --stem momentum
figure 04 lr_sweep_paths "Notebook cell 8; theory 4.4, 8.1" \
    "the learning-rate sweep's paths, η = 0.01 … 0.5 (0.5 > 2/λmax = 1/3 diverges)" \
    course_paths $S/course_paths.toml paths lr --where beta=0 --stem lr
figure 05 final_loss_vs_lr "Notebook cell 8; theory 4.4, 8.1" \
    "final loss after the notebook's 30 steps against η (400 values): the U, deepest at η* = 0.25, the cliff at 1/3" \
    course_lr_budget $C/lr_budget.toml lr_sweep lr_sweep
figure 06 steps_vs_lr "Theory 4.3, 4.4; exercise 5 (divergence)" \
    "steps to reach the tolerance against η: theory's ln(tol)/(2 ln ρ), η* = 0.25, divergence beyond 1/3" \
    course_gd $S/course_gd.toml lr_sweep lr_sweep_steps
figure 07 divergence_boundary "Theory 6.2, 8.1; exercise 5" \
    "heavy ball on x² + 3y²: the largest stable η against β, measured and 2(1 + β)/λmax" \
    course_momentum $S/course_momentum.toml divergence_boundary divergence_boundary
figure 08 momentum_rate_map "Theory 4.3, 6.3" \
    "heavy ball on x² + 3y²: the measured rate over (η, β), theory's boundary and optimum" \
    course_momentum $S/course_momentum.toml rate_heatmaps rate_heatmaps
figure 09 ravine_lr_sweep "Theory 4.3, suggested experiment (x² + 100y²)" \
    "on the ravine the working range shrinks to η < 2/200 and convergence is slow" \
    ravine_gd $S/ravine_gd.toml lr_sweep lr_sweep_steps
figure 10 ravine_momentum_paths "Theory 6.3, suggested experiment (x² + 50y²)" \
    "GD zigzags across the ravine; momentum damps it; β = 0.99 overshoots" \
    course_ravine_paths $C/ravine_paths.toml paths paths
figure 11 rate_vs_kappa "Theory 4.3, 6.3, 7.3" \
    "best rate per κ: GD's (κ−1)/(κ+1) against heavy ball's (√κ−1)/(√κ+1), 1,048,576 runs" \
    momentum $S/momentum.toml rate_vs_kappa rate_vs_kappa
figure 12 sgd_paths "Notebook cell 10 (exercise 1); theory 5" \
    "SGD as GD with noisy gradients on x² + 3y²: noisy paths, a cloud at the minimum" \
    course_sgd_paths $C/sgd_paths.toml paths paths --panel-by sigma
figure 13 sgd_batch_curves "Theory 5.2, suggested experiment (B ∈ {1, 4, 16, 64, n})" \
    "mini-batch SGD on least squares: each batch size's loss curve levels at its noise floor" \
    course_sgd_curves $C/sgd_curves.toml loss_curves loss_curves
figure 14 batch_size_map "Theory 5.2, 5.3 (linear scaling)" \
    "tail loss over (B, η) with the mean-square edge and the linear-scaling line" \
    batch_size $S/batch_size.toml batch_size batch_heatmap
figure 15 saddle_paths "Notebook cell 11 (exercise 2); theory 7.2, 7.4" \
    "GD at the saddle x² − y²: repelled along y; from the stable line only noise lets it out" \
    course_saddle_paths $C/saddle_paths.toml paths paths
figure 16 saddle_escape "Theory 7.4, suggested experiment (noise at the saddle)" \
    "escape time from the saddle against the noise σ, on theory.escape_steps" \
    saddle_noise $S/saddle_noise.toml landscape_noise escape_time
figure 17 schedules "Notebook cell 12 (exercise 3); theory 8.2; PyTorch StepLR" \
    "constant, StepLR, cosine, warm-up + cosine and a triangular cycle on mini-batch SGD" \
    course_schedules $C/schedules.toml loss_curves loss_curves
figure 18 lr_range_test "Theory 8.3, suggested experiment (LR range test)" \
    "Leslie Smith's range test on least squares: loss against η, the rules' suggestions, the cliff against 2(1 + β)/λmax" \
    lr_range_linreg $S/lr_range_linreg.toml lr_range_test lr_range_curves --beta 0 0.9
figure 18b lr_range_cliff "Theory 8.1, 8.3" \
    "the range test's cliff over seeds against theory's limit 2(1 + β)/λmax, per κ and β" \
    lr_range_linreg $S/lr_range_linreg.toml lr_range_test lr_range_cliff
figure 19 diagnostics "Theory 9, suggested experiment (grad-norm tracker)" \
    "loss and gradient norm against the step on x² + 3y²: η = 0.1 decays, η = 0.5 grows" \
    course_paths $S/course_paths.toml loss_curves diagnostics --where beta=0 lr=0.1,0.5 --stem diagnostics
figure 20 annealing "Theory 10 (simulated annealing), suggested experiment (wells)" \
    "share of noisy runs ending in the deepest well against σ per schedule, with the Gibbs share" \
    course_annealing $C/annealing.toml annealing annealing
figure 21 annealing_paths "Theory 10, suggested experiment (cosine annealing)" \
    "noisy paths on the wells: constant η keeps hopping, cosine decay settles in the deep well" \
    annealing_paths $S/annealing_paths.toml paths paths --panel-by schedule
figure 22 surface_3d "Notebook cell 13 (exercise 4); theory 3.4" \
    "x² + 3y² as a surface with GD and momentum on it" \
    course_paths $S/course_paths.toml paths surface --where lr=0.1 --3d --stem surface
figure 23 rosenbrock_milestone "Calculus refresh: the week-1 milestone" \
    "GD on Rosenbrock from (−1, 1), η = 0.001 (and 0.0005, 0.0019), 10,000 steps, log-spaced contours" \
    rosenbrock_paths $S/rosenbrock_paths.toml paths paths
figure 24 rosenbrock_curves "Calculus refresh: the milestone; theory 9" \
    "the milestone's loss and gradient norm: a fast drop into the valley, then a slow crawl" \
    rosenbrock_paths $S/rosenbrock_paths.toml loss_curves loss_curves
figure 25 quartic "Calculus refresh: f(x) = x⁴ − 3x³ + 2" \
    "GD on the quartic: where runs end against η, the flat inflection at 0 and the minimum at 9/4" \
    quartic_eta $S/quartic_eta.toml landscape landscape

{
    echo "# The course's figures, drawn from sweeps"
    echo
    echo "Made by \`bash scripts/course.sh\`. Each row: the course section (../shared/course:"
    echo "the starter notebook's cells, the theory's sections and suggested experiments, the"
    echo "calculus refresh), what the figure shows, and the command that draws it from its"
    echo "sweep (scripts/sweeps/, scripts/sweeps/course/)."
    echo
    echo "| # | course | what it shows | command | figure |"
    echo "|---|---|---|---|---|"
    sort "$index"
} > "$tmp/README.md"
if [[ $only == "  " ]]; then
    mv "$tmp/README.md" "$gallery/README.md"
    echo "$gallery/README.md"
fi
