"""SeeTrain's integration hub: one adapter module per framework, imported on first use.

``import integrations`` imports no framework; see ``integrations.registry`` for the table and
``integrations.main`` for the unified interface.
"""

from __future__ import annotations

__all__ = ["registry", "main", "errors"]
