"""Implementation of :mod:`kosmos.execution.statistics`; import from there, not from here."""

__all__: list[str] = []
