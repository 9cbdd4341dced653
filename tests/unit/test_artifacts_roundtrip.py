"""Hypothesis: any tree of files logged as an artifact downloads back byte for byte."""

from __future__ import annotations

import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seetrain.artifacts.log import store_version
from seetrain.artifacts.registry import Registry

_SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789_-. ", min_size=1, max_size=12).filter(
    lambda s: s.strip(" ") == s and s not in (".", ".."))
_TREE = st.dictionaries(st.lists(_SEGMENT, min_size=1, max_size=3).map(tuple),
                        st.binary(max_size=2048), min_size=1, max_size=8)


def _consistent(tree: dict[tuple[str, ...], bytes]) -> dict[tuple[str, ...], bytes]:
    """Drop paths that would need a file and a folder of the same name."""
    out: dict[tuple[str, ...], bytes] = {}
    for parts, data in sorted(tree.items(), key=lambda kv: len(kv[0])):
        prefixes = {parts[:i] for i in range(1, len(parts))}
        if prefixes & set(out) or any(p[:len(parts)] == parts for p in out):
            continue
        out[parts] = data
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees=st.lists(_TREE, min_size=1, max_size=3))
def test_random_trees_round_trip(trees):
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(os.path.join(tmp, "store"))
        logged = []
        for n, raw in enumerate(trees):
            tree = _consistent(raw)
            src = os.path.join(tmp, f"src{n}")
            for parts, data in tree.items():
                path = os.path.join(src, *parts)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(data)
            version, _ = store_version(registry, "p", src, name="tree")
            logged.append((version, tree))
        distinct = {data for _, tree in logged for data in tree.values()}
        assert len(list(registry.blobs.iter_digests())) == len(distinct)  # each content stored once
        for i, (version, tree) in enumerate(logged):
            out = version.download(os.path.join(tmp, f"out{i}"))
            found = {}
            for folder, _, files in os.walk(out):
                for name in files:
                    full = os.path.join(folder, name)
                    with open(full, "rb") as fh:
                        found[tuple(os.path.relpath(full, out).split(os.sep))] = fh.read()
            assert found == tree
