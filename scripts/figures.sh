#!/usr/bin/env bash
# `make figures`: the analytic studies and the quick (CPU-sized) version of every training study, one after another,
# into results/. Each line says which study runs and how many are left; progress bars are on only when stderr is a
# terminal (the studies' --progress default). A study whose stored parts are all there recomputes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
runs=(
    "studies.toy_gradients"
    "studies.alpha_sweep"
    "studies.image_gan --dataset mnist5k --arch dcgan --loss ns --quick --device cpu"
    "studies.mode_coverage --quick --jobs 2 --device cpu"
    "studies.loss_comparison --quick --jobs 2 --device cpu"
)
n=${#runs[@]}
i=0
for run in "${runs[@]}"; do
    i=$((i + 1))
    echo "== make figures [$i/$n]: python -m $run ($((n - i)) left after this one)"
    read -r -a words <<< "$run"
    "$PY" -m "${words[@]}"
done
echo "== make figures: all $n done"
