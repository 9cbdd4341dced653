"""Sub-commands of the ``seetrain`` CLI, one module each (see ``seetrain.cli.COMMANDS``)."""
