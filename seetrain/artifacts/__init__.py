"""Artifacts: versioned, content-addressed files and models logged by runs.

``run.log_artifact(path, name=..., type=..., aliases=[...], metadata={...})`` stores a file or
folder as a new immutable version; ``run.use_artifact("name:best")`` resolves a version and
records lineage; ``seetrain.Api().artifact("project/name:v3").download(dir)`` reads it back
with verified hashes. See docs/artifacts.md.

Layout: ``<logdir>/<project>/_artifacts/registry.sqlite`` + ``objects/sha256/ab/cdef...``.
"""

from __future__ import annotations

from seetrain.artifacts.errors import ArtifactCorruptedError, ArtifactError, ArtifactNotFoundError
from seetrain.artifacts.log import log_artifact, use_artifact
from seetrain.artifacts.manifest import ArtifactFile
from seetrain.artifacts.reader import ArtifactCollection, ArtifactVersion

__all__ = ["ArtifactCollection", "ArtifactCorruptedError", "ArtifactError", "ArtifactFile",
           "ArtifactNotFoundError", "ArtifactVersion", "log_artifact", "use_artifact"]
