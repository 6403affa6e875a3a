"""Generate, validate, run and analyse experiment programs.

Submodules are imported on use: ``kosmos.execution.statistics`` is imported inside the
sandbox by generated programs and must stay cheap, so nothing heavy is imported here.
"""

__all__: list[str] = []
