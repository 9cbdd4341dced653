"""Two processes logging versions of one artifact name at once get distinct versions."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import seetrain
from tests.helpers import ROOT

_LOGGER = textwrap.dedent("""
    import os, sys, seetrain
    logdir, tag, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    run = seetrain.init(project="p", logdir=logdir, system_monitor=False, capture_console=False)
    while not os.path.exists(go):  # start together
        pass
    for i in range(count):
        path = os.path.join(logdir, f"{tag}-{i}.bin")
        with open(path, "wb") as f:
            f.write(f"{tag}:{i}".encode() * 1000)
        version = run.log_artifact(path, name="shared", type="model", metadata={"tag": tag, "i": i})
        assert version is not None, run.get_stats()
        print(version.version, flush=True)
    run.finish()
""")


def test_two_processes_get_distinct_versions(logdir, tmp_path):
    go = tmp_path / "go"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", _LOGGER, str(logdir), tag, "15", str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for tag in ("a", "b")]
    go.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
    reported = [line for out, _ in outputs for line in out.split()]
    assert len(reported) == 30 and len(set(reported)) == 30
    versions = seetrain.Api(logdir).artifact_versions("p/shared")
    assert sorted(v.number for v in versions) == list(range(30))
    assert {(v.metadata["tag"], v.metadata["i"]) for v in versions} == {(t, i) for t in "ab" for i in range(15)}
    assert all(v.verify() == [] for v in versions)
    assert seetrain.Api(logdir).artifact("p/shared:latest").number == 29
