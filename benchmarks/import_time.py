"""Time of ``import seetrain`` in a fresh interpreter, and proof that it imports no framework.

    .venv/bin/python -m benchmarks.import_time [--runs 15]

Median of N subprocess runs of ``python -c "import seetrain"`` minus the median of
``python -c pass`` (interpreter start), both timed from the parent with perf_counter.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

# Modules that ``import seetrain`` must never pull in (frameworks, heavy optional libraries).
FORBIDDEN = (
    "torch", "tensorflow", "jax", "lightning", "pytorch_lightning", "transformers", "accelerate",
    "keras", "mmengine", "ray", "optuna", "mlflow", "wandb", "tensorboard", "tensorboardX",
    "openai", "anthropic", "zhipuai", "numpy", "pandas", "PIL", "matplotlib", "fastapi", "uvicorn",
    "sqlalchemy", "httpx",
)
_PROBE = ("import sys, json; import seetrain; "
          "print(json.dumps(sorted(m for m in {mods!r} if m in sys.modules)))")


def _time(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t0


def measure_import(runs: int = 15) -> dict[str, Any]:
    """Median wall time in ms of ``import seetrain`` and of a bare interpreter, interleaved."""
    _time("import seetrain")  # warm the page cache and the .pyc files once
    bare, full = [], []
    for _ in range(runs):
        bare.append(_time("pass"))
        full.append(_time("import seetrain"))
    probe = subprocess.run([sys.executable, "-c", _PROBE.format(mods=FORBIDDEN)], check=True,
                           capture_output=True, text=True)
    bare_ms, full_ms = statistics.median(bare) * 1e3, statistics.median(full) * 1e3
    return {"runs": runs, "bare_ms": bare_ms, "import_ms": full_ms, "net_ms": full_ms - bare_ms,
            "frameworks": json.loads(probe.stdout)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    r = measure_import(args.runs)
    print(f"python -c pass:            {r['bare_ms']:.1f} ms (median of {r['runs']})")
    print(f"python -c 'import seetrain': {r['import_ms']:.1f} ms")
    print(f"import seetrain itself:      {r['net_ms']:.1f} ms (target < 100 ms)")
    print(f"forbidden modules imported:  {', '.join(r['frameworks']) or 'none'}")
    return 0 if not r["frameworks"] else 1


if __name__ == "__main__":
    sys.exit(main())
