"""Kosmos: run computational experiments safely, on a laptop and on Kubernetes.

The package is layered (see DESIGN.md): ``kosmos.api`` holds the models, ``kosmos.execution``
generates, validates, runs and analyses programs, ``kosmos.operator`` reconciles Experiment
resources, and ``kosmos.cli`` is the ``kosmos`` command. Importing ``kosmos`` imports nothing
heavy, so the in-sandbox runner can use ``kosmos.execution.statistics`` cheaply.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
