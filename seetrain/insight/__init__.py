"""Training insight beside the metrics a user logs: system monitor, console capture, model watch,
attention maps, model graph and timers. Each is reached through ``seetrain.<name>``; none is
imported by ``import seetrain``."""
