#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install distmatch into it.
#
#   VENV=.venv            where the environment lives (default: .venv in the repo)
#   PYTHON=python3        interpreter used to create it
#
# torch: if the environment already has a torch (e.g. your own CUDA build, or a venv made
# with --system-site-packages), it is kept. Otherwise `torch==2.13.0` is installed first,
# which pip resolves to the local CPU wheel on machines that ship one (find-links) and which
# keeps pip from pulling several GB of CUDA packages for an unpinned `torch`.
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
    "$VENV/bin/python" -m pip install --quiet "$TORCH_SPEC"
fi
"$VENV/bin/python" -m pip install --quiet -e ".[dev,images]"
touch "$stamp"
