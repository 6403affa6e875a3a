"""Run the real Kosmos operator on the current event loop against an emulated API server.

``running_operator(base_url)`` starts kopf with the operator's handlers, logged in to the
emulator, and stops it on exit; ``wait_for`` polls a condition with a bound (never a bare sleep).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import kopf

from kosmos.operator.handlers import Runtime
from kosmos.operator.main import operator_task
from kosmos.operator.metrics import Metrics
from kosmos.operator.settings import OperatorSettings

__all__ = ["running_operator", "wait_for"]

T = TypeVar("T")


async def wait_for(
    condition: Callable[[], T | Awaitable[T]], *, timeout: float = 30.0, interval: float = 0.02, what: str = "condition"
) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


@asynccontextmanager
async def running_operator(
    base_url: str, settings: OperatorSettings | None = None, *, generator: Any = None, timeout: float = 20.0
) -> AsyncIterator[Runtime]:
    """The operator running as a task on this loop, logged in to ``base_url``."""

    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=base_url, default_namespace="default")

    runtime = Runtime(settings=settings or OperatorSettings.defaults(), metrics=Metrics(), login=login,
                      generator=generator)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(operator_task(runtime, stop_flag=stop, ready_flag=ready))
    try:
        await asyncio.wait_for(ready.wait(), timeout)
        yield runtime
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
