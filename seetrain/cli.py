"""The ``seetrain`` command. Each sub-command lives in its own module and is imported only
when invoked, so ``seetrain ls`` never pays for the web server's imports."""

from __future__ import annotations

import importlib
from typing import Any

import click

COMMANDS = {
    "ls": ("seetrain.commands.ls", "ls"),
    "export": ("seetrain.commands.export", "export"),
    "status": ("seetrain.commands.status", "status"),
    "demo": ("seetrain.commands.demo", "demo"),
    "ui": ("seetrain.commands.ui", "ui"),
    "server": ("seetrain.commands.server", "server"),
    "sync": ("seetrain.commands.sync", "sync"),
    "compare": ("seetrain.commands.compare", "compare"),
    "artifact": ("seetrain.commands.artifact", "artifact"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        try:
            module = importlib.import_module(target[0])
        except ModuleNotFoundError as exc:
            if exc.name != target[0]:
                raise
            return None
        command: click.Command = getattr(module, target[1])
        return command


@click.group(cls=LazyGroup)
@click.version_option(package_name="seetrain")
def main() -> None:
    """SeeTrain: track experiments, browse them in a dashboard, sync them to a server."""


def run(argv: list[str] | None = None) -> Any:
    return main.main(args=argv, standalone_mode=False)


if __name__ == "__main__":
    main()
