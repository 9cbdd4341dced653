"""SeeTrain's integration hub: one adapter module per framework, imported on first use.

``import integrations`` imports no framework; see ``integrations.registry`` for the table and
``integrations.main`` for the unified interface (guide: docs/integrations/hub_api.md).
"""

from __future__ import annotations

from integrations.lazy import LazyModule, is_available, is_loaded, resolve

__all__ = ["LazyModule", "errors", "is_available", "is_loaded", "main", "registry", "resolve"]
