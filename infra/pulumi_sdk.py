"""Every use of the Pulumi SDK's private parts, in one place.

Offline synthesis drives the SDK's mock monitor more closely than its public API allows:
it pumps the SDK's event loop (`_sync_await`), recognises secret and asset wrappers by
their signature key (`rpc._special_sig_key`), switches off source-position capture
(`resource._get_stack_trace`) and reads a resource class's type token. pyproject.toml
pins `pulumi` to the tested range, and `tests/infra/test_pulumi_sdk.py` fails loudly when
a release renames or reshapes any of these.

Event loops: the SDK calls the monitor through `loop.run_in_executor`, which would hand
every registration to a worker thread and back. Offline the monitor answers at once, so
`run_program` gives each synthesis its own loop whose executor runs each call inline on
the loop's thread (`_InlineExecutor`); the monitor's own awaits (`serialize`) pump that
running loop through the SDK's `_sync_await`. This halves a synthesis's CPU time and leaves
no thread with an unclosed loop (which printed `Exception ignored in: <function
BaseEventLoop.__del__>` at exit). `thread_event_loop` gives any other thread a loop it closes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
from pulumi.runtime import resource as _resource_runtime
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from pulumi.type_token import _PULUMI_TYPE

__all__ = [
    "SECRET_OR_ASSET_KEY",
    "MockMonitor",
    "deserialize",
    "register_response",
    "run_program",
    "serialize",
    "thread_event_loop",
    "type_token",
]

#: The key that marks a serialized secret, asset or resource reference.
SECRET_OR_ASSET_KEY: str = rpc._special_sig_key


def type_token(resource_class: type) -> str | None:
    """`aws:s3/bucket:Bucket` for `pulumi_aws.s3.Bucket`; None for a class without one."""
    token = getattr(resource_class, _PULUMI_TYPE, None)
    return token if isinstance(token, str) else None


@contextlib.contextmanager
def thread_event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop set for this thread, closed and unset on exit."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def deserialize(struct: Any) -> Any:
    """A monitor request's properties as Python values (needs the calling thread's event loop)."""
    return rpc.deserialize_properties(struct)


def serialize(state: dict[str, Any]) -> Any:
    """Python values as a monitor response's properties (needs the calling thread's event loop)."""
    return _sync_await(rpc.serialize_properties(state, {}))


def register_response(urn: str, resource_id: str = "", properties: Any = None) -> Any:
    """The monitor's answer to a RegisterResource request."""
    if properties is None:
        return resource_pb2.RegisterResourceResponse(urn=urn)
    return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=properties)


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """An executor that runs each call at once on the calling thread (a synthesis's loop).

    asyncio accepts only a `ThreadPoolExecutor` as a loop's default executor; this one never
    starts a thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # handed to the awaiting coroutine, as a worker thread would
            future.set_exception(e)
        return future


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def run_program(program: Callable[[], None], *, mocks: Any, monitor: Any, project: str, stack: str) -> None:
    """Set the mocks and run a Pulumi program to completion on its own event loop.

    Source positions are not captured: they serve the engine's diagnostics, offline nobody
    reads them, and walking the (deep, component-nested) Python stack per resource is most
    of a synthesis's cost. Monitor calls run inline on the loop's thread (`_InlineExecutor`);
    the loop is closed afterwards.
    """
    capture = _resource_runtime._get_stack_trace
    _resource_runtime._get_stack_trace = _no_stack_trace
    try:
        with thread_event_loop() as loop:
            loop.set_default_executor(_InlineExecutor(max_workers=1))
            try:
                pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
                loop.run_until_complete(run_pulumi_func(program))
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        _resource_runtime._get_stack_trace = capture
