"""SeeTrain's own exception and warning hierarchy."""

from __future__ import annotations


class SeeTrainError(Exception):
    """Base class of every error SeeTrain raises on purpose."""


class NotInitializedError(SeeTrainError):
    """A module-level call (``seetrain.log`` ...) came before ``seetrain.init``."""


class InvalidValueError(SeeTrainError, ValueError):
    """Bad input rejected in ``strict`` mode (in normal mode it is a counted warning)."""


class RunFinishedError(SeeTrainError):
    """Logging into a run that has already finished."""


class SeeTrainWarning(UserWarning):
    """Warnings about bad input: the data is skipped, training goes on."""


class RunInUseError(SeeTrainError):
    """Another live process writes this run (two processes resuming one run id)."""
