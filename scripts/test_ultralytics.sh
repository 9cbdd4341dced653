#!/usr/bin/env bash
# Opt-in test lane for the Ultralytics adapter (wired into `make test-ultralytics`).
#
# Why a separate venv: Ultralytics imports torchvision, and no CPU torchvision wheel exists for the
# torch 2.13.0 pinned in the main venv (the PyPI torchvision 0.28.0 wheel needs the CUDA libraries
# and fails with "operator torchvision::nms does not exist"). torch 2.14.1 + torchvision 0.29.1
# install together from this machine's wheel folder and run on the CPU (about 80 s, 6 GB).
#
# Usage: scripts/test_ultralytics.sh [extra pytest args]
#   VENV=.venv-ultralytics   where the lane's venv lives (reused when it already works)
#   PYTHON=python3           interpreter used to create it
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv-ultralytics}"
PYTHON="${PYTHON:-python3}"
TORCH_PINS=(torch==2.14.1 torchvision==0.29.1)
ULTRALYTICS_PIN="${ULTRALYTICS_PIN:-ultralytics==8.4.190}"   # the version the adapter was tested with

if ! "$VENV/bin/python" -c "import ultralytics, torchvision, seetrain, pytest" >/dev/null 2>&1; then
    echo "== building $VENV (torch 2.14.1 + torchvision 0.29.1 + ultralytics)"
    "$PYTHON" -m venv "$VENV"
    # Plain pip only: uv/poetry ignore this machine's wheel folder and would fetch another build.
    "$VENV/bin/pip" install --quiet "${TORCH_PINS[@]}"
    # The torch pins are repeated so that nothing below can move them.
    "$VENV/bin/pip" install --quiet "${TORCH_PINS[@]}" "$ULTRALYTICS_PIN" pytest==9.1.1 pytest-timeout==2.4.0 -e "$ROOT"
fi

TMP_DIR="$(mktemp -d)"
trap 'rm -rf "$TMP_DIR"' EXIT
export YOLO_OFFLINE=1 YOLO_CONFIG_DIR="$TMP_DIR/yolo" MPLBACKEND=Agg DO_NOT_TRACK=true
export HOME="$TMP_DIR/home"
mkdir -p "$YOLO_CONFIG_DIR" "$HOME"

set +e
"$VENV/bin/python" -m pytest tests/integrations/ultralytics -q -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "test_ultralytics: pytest collected no test" >&2
fi
exit "$rc"
