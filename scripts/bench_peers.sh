#!/usr/bin/env bash
# Build .venv-bench with every peer tracker (including the ones that do not fit the main venv:
# trackio, swanlab, aim) next to an editable seetrain, then run the log-path benchmark there so
# that all trackers are measured side by side in one process tree on the same machine.
#
#   bash scripts/bench_peers.sh              # build (once) and run the full benchmark
#   bash scripts/bench_peers.sh --quick      # arguments go to benchmarks/log_overhead.py
#   BENCH_SKIP_INSTALL=1 bash scripts/bench_peers.sh   # reuse the venv as it is
#   BENCH_INSTALL_ONLY=1 bash scripts/bench_peers.sh   # build the venv, do not run
#
# Plain pip only (the machine's pip config supplies the local wheel indexes; uv would not).
set -u
cd "$(dirname "$0")/.."
VENV=${BENCH_VENV:-.venv-bench}
PYTHON=${PYTHON:-python3}
LOGDIR=${VENV}/install-logs

# Peers in the main venv first (same pins as requirements/), then the ones that live only here.
PEERS=(
  "wandb==0.31.0"
  "tensorboardX==2.6.5"
  "mlflow==3.17.2"
  "trackio==0.43.0"
  "swanlab==0.10.3"
  "aim==3.29.1"
)

if [ -z "${BENCH_SKIP_INSTALL:-}" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV" || exit 1
  mkdir -p "$LOGDIR"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/pip" install -q -e . psutil || { echo "bench_peers: seetrain itself did not install" >&2; exit 1; }
  for spec in "${PEERS[@]}"; do
    name=${spec%%==*}
    start=$(date +%s)
    # One pip command per peer: a peer that refuses to install is reported and skipped,
    # and never takes the others down with it.
    if "$VENV/bin/pip" install "$spec" >"$LOGDIR/$name.log" 2>&1; then
      echo "bench_peers: installed $spec in $(( $(date +%s) - start ))s"
    else
      echo "bench_peers: could not install $spec (see $LOGDIR/$name.log); last lines:" >&2
      tail -n 5 "$LOGDIR/$name.log" >&2
    fi
  done
  # A later peer may have moved a shared dependency under an earlier one: say so, do not fail.
  "$VENV/bin/pip" check >"$LOGDIR/pip-check.log" 2>&1 || {
    echo "bench_peers: pip check reports conflicts (see $LOGDIR/pip-check.log):" >&2
    head -n 20 "$LOGDIR/pip-check.log" >&2
  }
fi

[ -n "${BENCH_INSTALL_ONLY:-}" ] && exit 0
exec "$VENV/bin/python" -m benchmarks.log_overhead "$@"
