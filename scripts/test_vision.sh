#!/usr/bin/env bash
# Opt-in test lane for the torchvision-based adapters, fastai and timm (`make test-vision`).
#
# Why a separate venv: fastai and timm import torchvision, and no CPU torchvision wheel exists for
# the torch 2.13.0 pinned in the main venv (see scripts/test_ultralytics.sh). torch 2.14.1 +
# torchvision 0.29.1 install together from PyPI (the CUDA build of torch, which runs on the CPU).
# Measured on the 2-core CI machine: building the venv takes about 180 s (107 s torch +
# torchvision, 73 s fastai/timm and their deps) and 6.2 GB; the tests take about 20 s. Too heavy
# for `.ci/run` (budget: a lane there must install in < 2 min), so the default `make test`
# shows these tests as skipped with this target named.
#
# Usage: scripts/test_vision.sh [extra pytest args]
#   VENV=.venv-vision   where the lane's venv lives (reused when it already works)
#   PYTHON=python3      interpreter used to create it
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv-vision}"
PYTHON="${PYTHON:-python3}"
TORCH_PINS=(torch==2.14.1 torchvision==0.29.1)
FRAMEWORK_PINS=(fastai==2.8.12 timm==1.0.31)   # the versions the adapters were tested with

if ! "$VENV/bin/python" -c "import fastai, timm, torchvision, seetrain, pytest" >/dev/null 2>&1; then
    echo "== building $VENV (torch 2.14.1 + torchvision 0.29.1 + fastai + timm)"
    "$PYTHON" -m venv "$VENV"
    # Plain pip only: uv/poetry ignore this machine's pip configuration.
    "$VENV/bin/pip" install --quiet "${TORCH_PINS[@]}"
    # The torch pins are repeated so that nothing below can move them.
    "$VENV/bin/pip" install --quiet "${TORCH_PINS[@]}" "${FRAMEWORK_PINS[@]}" pytest==9.1.1 pytest-timeout==2.4.0 \
        -e "$ROOT"
fi

TMP_DIR="$(mktemp -d)"
trap 'rm -rf "$TMP_DIR"' EXIT
export MPLBACKEND=Agg HOME="$TMP_DIR/home" PYTHONPATH="$ROOT"
mkdir -p "$HOME"

set +e
"$VENV/bin/python" -m pytest tests/integrations/fastai tests/integrations/timm tests/integrations/test_examples.py \
    tests/integrations/test_contract.py tests/integrations/test_adapter_docs.py \
    -k "fastai or timm" -q -rs -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "test_vision: pytest collected no test" >&2
fi
exit "$rc"
