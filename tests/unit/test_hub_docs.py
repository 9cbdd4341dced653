"""Every Python snippet of docs/integrations/hub_api.md runs as written, in a fresh process in an
empty directory, and prints what the page says it prints (where the page says so in a comment)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "integrations" / "hub_api.md"


def _snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def _expected(code: str) -> list[str]:
    """The comment after each top-level print(...) that states a literal result."""
    out = []
    for line in code.splitlines():
        match = re.match(r"print\(.*\)\s+# (.+)$", line)
        if match:
            out.append(match.group(1).split(":")[0].strip() if not match.group(1).startswith("{")
                       else match.group(1).strip())
    return out


@pytest.mark.parametrize("index", range(len(_snippets())))
def test_snippet_runs_and_prints_what_the_doc_says(index, tmp_path):
    code = _snippets()[index]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    printed = result.stdout
    for expected in _expected(code):
        assert expected in printed, f"{expected!r} not in {printed!r}"
