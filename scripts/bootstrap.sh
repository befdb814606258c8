#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install distmatch into it.
#
#   VENV=.venv            where the environment lives (default: .venv in the repo)
#   PYTHON=python3        interpreter used to create it
#
#   TORCH_SPEC=...        what `pip install` gets for torch when the environment has none (default
#                         torch==2.13.0); split into words, so it may carry pip options, e.g. a CPU build
#                         from the PyTorch index on a machine without a local wheel:
#                           TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu" make test
#
# torch: if the environment already has a torch (e.g. your own CUDA build, or a venv made
# with --system-site-packages), it is kept. Otherwise TORCH_SPEC is installed first. The pin
# `torch==2.13.0` avoids several GB of CUDA packages only where pip is configured with a local
# CPU wheel (find-links in pip.conf or PIP_FIND_LINKS); elsewhere pip takes the PyPI wheel, which
# on Linux is the CUDA build: use the --index-url form above for a CPU-only install.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
stamp="$VENV/.distmatch-installed"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
    exit 0
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    echo "bootstrap: no torch in $VENV, installing $TORCH_SPEC" >&2
    read -r -a torch_args <<< "$TORCH_SPEC"  # words: a requirement and pip options
    "$VENV/bin/python" -m pip install --quiet "${torch_args[@]}"
fi
"$VENV/bin/python" -m pip install --quiet -e ".[dev,images,distributed]"
touch "$stamp"
