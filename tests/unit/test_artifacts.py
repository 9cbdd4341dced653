"""Artifacts: versions, dedup, aliases, lineage, verified downloads, garbage collection."""

from __future__ import annotations

import hashlib
import os
import warnings

import pytest

import seetrain
from seetrain.artifacts import ArtifactCorruptedError, ArtifactError, ArtifactNotFoundError
from seetrain.artifacts.registry import Registry


def _write(path, data: bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


def _blobs(logdir, project="p") -> list[str]:
    root = os.path.join(logdir, project, "_artifacts", "objects", "sha256")
    return sorted(fan + name for fan in os.listdir(root) for name in os.listdir(os.path.join(root, fan)))


def test_versions_dedup_and_aliases(logdir, tmp_path):
    model = tmp_path / "model"
    _write(model / "weights.bin", b"w" * 10_000)
    _write(model / "config.json", b'{"layers": 2}')
    run = seetrain.init(project="p", logdir=str(logdir))
    v0 = run.log_artifact(model, name="net", type="model", aliases=["best"], metadata={"acc": 0.5})
    assert (v0.version, v0.number, v0.type, v0.aliases) == ("v0", 0, "model", ["best", "latest"])
    assert [(f.path, f.size) for f in v0.files] == [("config.json", 13), ("weights.bin", 10_000)]
    assert v0.metadata == {"acc": 0.5} and v0.created_by == run.id and v0.size == 10_013
    # Changing one file: a new version; the unchanged file is not stored again.
    _write(model / "config.json", b'{"layers": 3}')
    v1 = seetrain.log_artifact(str(model), name="net", type="model")
    assert v1.version == "v1" and v1.aliases == ["latest"]
    assert len(_blobs(logdir)) == 3  # weights once, two configs
    assert run.get_stats()["artifact_bytes_stored"] == 10_000 + 13 + 13
    # The same content again is the same version (as in W&B), aliases still apply.
    again = run.log_artifact(model, name="net", type="model", aliases=["prod"])
    assert again.version == "v1" and again.aliases == ["latest", "prod"]
    # Aliases move: "best" leaves v0 for v1.
    moved = run.log_artifact(model, name="net", type="model", aliases=["best"])
    assert moved.aliases == ["best", "latest", "prod"]
    api = seetrain.Api(logdir)
    assert api.artifact("p/net:v0").aliases == []
    assert api.artifact("p/net:best").version == "v1"
    assert api.artifact("p/net").version == "v1"  # latest
    [coll] = api.artifacts("p")
    assert coll.versions == ["v0", "v1"] and coll.aliases == {"best": "v1", "latest": "v1", "prod": "v1"}
    assert [v.version for v in api.artifact_versions("p/net")] == ["v0", "v1"]
    run.finish()
    # The artifact store is not mistaken for a run.
    assert [r.id for r in api.runs("p")] == [run.id]


def test_same_file_in_two_runs_and_names_is_stored_once(logdir, tmp_path):
    ckpt = _write(tmp_path / "a.ckpt", os.urandom(50_000))
    first = seetrain.init(project="p", logdir=str(logdir))
    first.log_artifact(ckpt, name="one", type="model")
    first.finish()
    second = seetrain.init(project="p", logdir=str(logdir))
    v = second.log_artifact(ckpt, name="two", type="model")
    assert v.files[0].path == "a.ckpt" and len(_blobs(logdir)) == 1
    assert second.get_stats()["artifact_bytes_stored"] == 0  # only hashed


def test_download_round_trip_and_blobs_are_read_only(logdir, tmp_path):
    src = tmp_path / "data"
    payload = {"x/y/z.txt": b"deep", "top.bin": os.urandom(3 * 1024 * 1024 + 7), "empty": b""}
    for rel, data in payload.items():
        _write(src / rel, data)
    run = seetrain.init(project="p", logdir=str(logdir))
    v = run.log_artifact(src, name="ds", type="dataset")
    out = v.download(tmp_path / "out")
    for rel, data in payload.items():
        assert (tmp_path / "out" / rel).read_bytes() == data
    assert out == str(tmp_path / "out")
    blob = v.blob_path("top.bin")
    assert not os.stat(blob).st_mode & 0o222
    assert v.verify() == []


def test_corrupted_blob_is_detected_on_download(logdir, tmp_path):
    src = _write(tmp_path / "m.pt", b"good bytes" * 1000)
    run = seetrain.init(project="p", logdir=str(logdir))
    v = run.log_artifact(src, name="m", type="model")
    blob = v.blob_path("m.pt")
    os.chmod(blob, 0o644)
    with open(blob, "r+b") as f:
        f.write(b"BAD")
    art = seetrain.Api(logdir).artifact("p/m:latest")
    with pytest.raises(ArtifactCorruptedError, match="m.pt.*corrupted") as info:
        art.download(tmp_path / "out")
    assert info.value.expected == v.files[0].sha256 and info.value.actual != info.value.expected
    assert not (tmp_path / "out" / "m.pt").exists()  # the bad copy is not left behind
    assert len(art.verify()) == 1
    os.unlink(blob)
    with pytest.raises(ArtifactCorruptedError, match="missing"):
        art.download(tmp_path / "out")


def test_lineage_created_by_and_used_by(logdir, tmp_path):
    src = _write(tmp_path / "train.csv", b"a,b\n1,2\n")
    producer = seetrain.init(project="p", logdir=str(logdir))
    producer.log_artifact(src, name="train-set", type="dataset", aliases=["golden"])
    producer.finish()
    consumer = seetrain.init(project="p", logdir=str(logdir))
    used = seetrain.use_artifact("train-set:golden")
    assert used.version == "v0" and used.used_by == [consumer.id]
    assert consumer.use_artifact("p/train-set:v0").used_by == [consumer.id]  # recorded once
    with pytest.raises(ArtifactNotFoundError):
        consumer.use_artifact("train-set:v9")
    with pytest.raises(ArtifactNotFoundError):
        consumer.use_artifact("nothing:latest")
    consumer.finish()
    art = seetrain.Api(logdir).artifact("p/train-set:golden")
    assert art.created_by == producer.id and art.used_by == [consumer.id]
    made, used_rows = Registry(os.path.join(logdir, "p", "_artifacts")).versions_by_run(consumer.id)
    assert made == [] and [r.name for r in used_rows] == ["train-set"]


def test_failures_warn_and_return_none(logdir, tmp_path):
    run = seetrain.init(project="p", logdir=str(logdir))
    src = _write(tmp_path / "f.txt", b"x")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run.log_artifact(tmp_path / "missing", name="m") is None
        assert run.log_artifact(src, name="bad/name") is None
        assert run.log_artifact(src, name="ok", aliases=["v3"]) is None  # reserved alias form
        assert run.log_artifact(src, name="ok", type="model") is not None
        assert run.log_artifact(src, name="ok", type="dataset") is None  # type mismatch
    assert run.get_stats()["warnings"]["artifact"] == 4
    assert any("log_artifact" in str(w.message) for w in caught)
    run.finish()
    with pytest.warns(seetrain.SeeTrainWarning, match="finished"):
        assert run.log_artifact(src, name="late") is None  # a finished run ignores it
    strict = seetrain.init(project="p", logdir=str(logdir), strict=True)
    with pytest.raises(seetrain.InvalidValueError):
        strict.log_artifact(tmp_path / "missing", name="m")


def test_disabled_and_not_initialised(tmp_path):
    with pytest.raises(seetrain.NotInitializedError):
        seetrain.log_artifact(tmp_path, name="x")
    seetrain.init(mode="disabled")
    assert seetrain.log_artifact(tmp_path, name="x") is None
    assert seetrain.use_artifact("x:latest") is None


def test_rm_frees_only_unreferenced_blobs(logdir, tmp_path):
    shared = os.urandom(20_000)
    src = tmp_path / "m"
    _write(src / "shared.bin", shared)
    _write(src / "head.bin", b"head-0")
    run = seetrain.init(project="p", logdir=str(logdir))
    run.log_artifact(src, name="m", type="model", aliases=["best"])
    _write(src / "head.bin", b"head-1")
    run.log_artifact(src, name="m", type="model")
    other = run.log_artifact(src / "shared.bin", name="other", type="model")
    registry = Registry(os.path.join(logdir, "p", "_artifacts"))
    from seetrain.artifacts.manifest import parse_ref

    with pytest.raises(ArtifactError, match="aliases"):
        registry.delete(parse_ref("m:v0"))
    before = set(_blobs(logdir))
    freed = registry.delete(parse_ref("m:v0"), force=True)
    assert freed.freed_blobs == 1 and freed.freed_bytes == 6  # only head-0; shared.bin is still used
    assert before - set(_blobs(logdir)) == {hashlib.sha256(b"head-0").hexdigest()}
    assert seetrain.Api(logdir).artifact("p/m:v1").download(tmp_path / "o1")
    freed = registry.delete(parse_ref("m:latest"))
    assert freed.freed_blobs == 1  # head-1; shared.bin is still in "other"
    assert seetrain.Api(logdir).artifacts("p")[0].name == "other"
    assert other.download(tmp_path / "o2") and (tmp_path / "o2" / "shared.bin").read_bytes() == shared
    registry.delete(parse_ref("other:v0"))
    assert _blobs(logdir) == []


def test_latest_moves_back_when_newest_version_is_deleted(logdir, tmp_path):
    from seetrain.artifacts.manifest import parse_ref

    run = seetrain.init(project="p", logdir=str(logdir))
    for i in range(3):
        run.log_artifact(_write(tmp_path / "f.txt", f"{i}".encode()), name="f")
    registry = Registry(os.path.join(logdir, "p", "_artifacts"))
    registry.delete(parse_ref("f:v2"))
    api = seetrain.Api(logdir)
    assert api.artifact("p/f:latest").version == "v1"
    # Numbers are never reused while the artifact exists.
    assert run.log_artifact(_write(tmp_path / "f.txt", b"new"), name="f").version == "v3"


def test_gc_removes_orphans_left_by_a_killed_logger(logdir, tmp_path):
    run = seetrain.init(project="p", logdir=str(logdir))
    run.log_artifact(_write(tmp_path / "keep.bin", b"keep"), name="k")
    registry = Registry(os.path.join(logdir, "p", "_artifacts"))
    # A blob stored by a process that died before committing its version.
    registry.blobs.put(_write(tmp_path / "orphan.bin", b"orphan"))
    assert len(_blobs(logdir)) == 2
    freed = registry.collect_garbage()
    assert freed.freed_blobs == 1 and len(_blobs(logdir)) == 1
    assert seetrain.Api(logdir).artifact("p/k").verify() == []


def test_commit_restores_a_blob_collected_between_hash_and_commit(logdir, tmp_path):
    from seetrain.artifacts.log import store_version

    registry = Registry(os.path.join(logdir, "p", "_artifacts"))
    src = _write(tmp_path / "x.bin", b"xyz" * 100)
    original = registry.commit
    calls = []

    def commit_after_gc(*args, **kwargs):
        if not calls:
            calls.append(1)
            registry.collect_garbage()  # the fresh blob is unreferenced until the commit: removed
        return original(*args, **kwargs)

    registry.commit = commit_after_gc
    version, _ = store_version(registry, "p", src, name="x")
    assert version.verify() == []


def test_hardlink_mode_links_instead_of_copying(logdir, tmp_path, monkeypatch):
    monkeypatch.setenv("SEETRAIN_ARTIFACT_LINK", "hardlink")
    src = _write(tmp_path / "big.bin", os.urandom(10_000))
    run = seetrain.init(project="p", logdir=str(logdir))
    v = run.log_artifact(src, name="big")
    assert os.path.samefile(v.blob_path("big.bin"), src)


def test_cli_ls_get_rm_gc(logdir, tmp_path):
    from click.testing import CliRunner

    from seetrain.cli import main

    src = tmp_path / "m"
    _write(src / "shared.bin", b"s" * 5000)
    _write(src / "head.bin", b"0")
    run = seetrain.init(project="p", logdir=str(logdir))
    run.log_artifact(src, name="net", type="model", aliases=["best"])
    _write(src / "head.bin", b"1")
    run.log_artifact(src, name="net", type="model")
    run.finish()
    cli = CliRunner()
    out = cli.invoke(main, ["artifact", "ls", "--logdir", str(logdir)])
    assert out.exit_code == 0, out.output
    assert "p/net" in out.output and "model" in out.output and "best=v0" in out.output and "latest=v1" in out.output
    out = cli.invoke(main, ["artifact", "ls", "p/net", "--logdir", str(logdir)])
    assert out.exit_code == 0 and "v0" in out.output and "v1" in out.output and run.id in out.output
    out = cli.invoke(main, ["artifact", "get", "p/net:best", "--dir", str(tmp_path / "got"), "--logdir", str(logdir)])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "got" / "head.bin").read_bytes() == b"0" and "p/net:v0" in out.output
    out = cli.invoke(main, ["artifact", "verify", "p/net:best", "--logdir", str(logdir)])
    assert out.exit_code == 0 and "p/net:v0: 2 files intact" in out.output
    blob = seetrain.Api(logdir).artifact("p/net:v0").blob_path("head.bin")
    os.chmod(blob, 0o644)
    _write(blob, b"X")
    out = cli.invoke(main, ["artifact", "verify", "p/net:v0", "--logdir", str(logdir)])
    assert out.exit_code == 1 and "head.bin" in out.output and "corrupted" in out.output
    out = cli.invoke(main, ["artifact", "rm", "p/net:v0", "--logdir", str(logdir)])
    assert out.exit_code != 0 and "aliases" in out.output
    out = cli.invoke(main, ["artifact", "rm", "p/net:v0", "--force", "--logdir", str(logdir)])
    assert out.exit_code == 0 and "freed 1 files" in out.output
    out = cli.invoke(main, ["artifact", "get", "p/net:v0", "--logdir", str(logdir)])
    assert out.exit_code != 0 and "no artifact" in out.output
    out = cli.invoke(main, ["artifact", "gc", "--logdir", str(logdir)])
    assert out.exit_code == 0 and "p: freed 0 files" in out.output


def test_docs_snippets_run(tmp_path):
    """The first three snippets of docs/artifacts.md (log, use, read back) run as written."""
    import re

    from tests.helpers import ROOT, run_python

    text = (ROOT / "docs" / "artifacts.md").read_text()
    snippets = re.findall(r"```python\n(.*?)```", text, re.S)[:3]
    assert "log_artifact" in snippets[0] and "use_artifact" in snippets[1] and "Api(" in snippets[2]
    for code in snippets:
        proc = run_python(code, cwd=tmp_path, env={"SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0"})
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "restored-model" / "weights.bin").read_bytes() == (tmp_path / "model" / "weights.bin").read_bytes()
    assert (tmp_path / "my-model-best" / "config.json").read_text() == '{"layers": 2}'


def test_logging_the_folder_that_holds_the_store_skips_the_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text("print('hi')\n")
    run = seetrain.init(project="p", logdir="logs")
    run.log_artifact(tmp_path / "train.py", name="first")
    code = run.log_artifact(".", name="code", type="code")
    assert code is not None
    assert not [f.path for f in code.files if "_artifacts" in f.path]
    assert "train.py" in [f.path for f in code.files]
