"""Run the real Kosmos operator against an emulated API server, and wait on conditions.

``running_operator(base_url)`` starts kopf with the operator's handlers, logged in to the
emulator, on its own event loop in a thread, and stops it on exit. (On shutdown kopf cancels
every task created on its loop after it started, which would include the test's fake
controller; a loop of its own keeps the two apart, as two processes would be in a cluster.)
``wait_for`` polls a condition with a bound, never a bare sleep.
"""

from __future__ import annotations

import asyncio
import threading
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
    base_url: str, settings: OperatorSettings | None = None, *, generator: Any = None, timeout: float = 20.0,
    metrics: Metrics | None = None,
) -> AsyncIterator[Runtime]:
    """The operator running in a thread with its own loop, logged in to ``base_url``."""

    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=base_url, default_namespace="default")

    runtime = Runtime(settings=settings or OperatorSettings.defaults(), metrics=metrics or Metrics(), login=login,
                      generator=generator)
    stop, ready = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def main() -> None:
        async def run() -> None:
            try:
                await operator_task(runtime, stop_flag=stop, ready_flag=ready)
            finally:
                await runtime.close()

        try:
            asyncio.run(run())
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=main, name="kosmos-operator", daemon=True)
    thread.start()
    try:
        if not await asyncio.to_thread(ready.wait, timeout) or failure:
            raise RuntimeError(f"the operator did not start: {failure or 'timeout'}")
        yield runtime
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, timeout)
        if thread.is_alive():
            raise RuntimeError("the operator did not stop in time")
