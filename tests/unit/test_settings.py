"""One settings reader: every SEETRAIN_* variable the SDK reads is in seetrain._settings, and
docs/settings.md is generated from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import seetrain
from seetrain._settings import VARIABLES, markdown_table, resolve, setting

ROOT = Path(__file__).resolve().parents[2]


def test_docs_table_is_generated_from_the_settings():
    assert markdown_table() in (ROOT / "docs" / "settings.md").read_text()


def test_no_module_reads_a_seetrain_variable_itself():
    pattern = re.compile(r"environ(?:\.get)?\(\s*[\"'](SEETRAIN_\w+)|getenv\(\s*[\"'](SEETRAIN_\w+)")
    offenders = []
    for path in (ROOT / "seetrain").rglob("*.py"):
        if path.name == "_settings.py":
            continue
        for match in pattern.finditer(path.read_text()):
            name = match.group(1) or match.group(2)
            if not name.startswith("SEETRAIN_SERVER_"):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_every_variable_named_in_the_code_is_in_the_table():
    named = set()
    for path in (ROOT / "seetrain").rglob("*.py"):
        named.update(re.findall(r"setting\(\"(SEETRAIN_\w+)\"\)", path.read_text()))
    assert named and named <= set(VARIABLES)


def test_environment_and_arguments(monkeypatch, tmp_path):
    monkeypatch.setenv("SEETRAIN_FLUSH_INTERVAL", "0.5")
    monkeypatch.setenv("SEETRAIN_LOGDIR", str(tmp_path / "env"))
    monkeypatch.setenv("SEETRAIN_UPLOAD_BATCH", "not a number")
    assert setting("SEETRAIN_UPLOAD_BATCH") == VARIABLES["SEETRAIN_UPLOAD_BATCH"].default
    settings = resolve(logdir=str(tmp_path / "arg"))
    assert settings.flush_interval == 0.5 and settings.logdir == str(tmp_path / "arg")
    assert resolve().logdir == str(tmp_path / "env")
    monkeypatch.setenv("SEETRAIN_SYSTEM_MONITOR", "off")
    assert setting("SEETRAIN_SYSTEM_MONITOR") is False
    monkeypatch.setenv("SEETRAIN_MODE", "sideways")
    with pytest.raises(ValueError, match="mode must be one of"):
        seetrain.init(project="p")
