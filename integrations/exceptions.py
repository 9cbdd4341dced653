"""The hub's exceptions, in a module of their own so that the registry, the errors facade and the
adapters can all import them without importing each other."""

from __future__ import annotations

from seetrain._errors import SeeTrainError

__all__ = ["FrameworkNotInstalledError", "IntegrationError", "UnknownIntegrationError"]


class IntegrationError(SeeTrainError):
    """Base class of the hub's errors."""


class UnknownIntegrationError(IntegrationError, KeyError):
    """``init("name")`` with a name the registry does not know; the message lists the known ones."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown integration {name!r}; known integrations: {', '.join(sorted(known))}")
        self.name = name
        self.known = known

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class FrameworkNotInstalledError(IntegrationError, ImportError):
    """The framework an adapter needs is missing or too old."""

    def __init__(self, integration: str, package: str, extra: str, min_version: str,
                 found: str | None = None) -> None:
        problem = f"{package} {found} is older than the minimum {min_version}" if found else \
            f"{package} is not installed"
        super().__init__(f"integration {integration!r} needs {package}>={min_version}: {problem}. "
                         f"Install it with: pip install 'seetrain[{extra}]'")
        self.integration = integration
        self.package = package
        self.extra = extra
        self.min_version = min_version
