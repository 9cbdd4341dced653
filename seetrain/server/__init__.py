"""The dashboard server: a JSON API over a :class:`DataSource` plus a static web front end."""

from __future__ import annotations

from seetrain.server.datasource import DataSource

__all__ = ["DataSource"]
