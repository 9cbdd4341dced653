"""Sending a run to a tracking server: the ``replicator`` reads the local store (the outbox) and
hands batches to a ``transport``, wrapped in the retry and circuit breaker of ``resilience``."""
