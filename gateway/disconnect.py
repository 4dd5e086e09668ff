"""Stop working for a client that has gone: cancel the request when its HTTP client disconnects.

A plain (non-streaming) Starlette endpoint keeps running after its client hangs up; an insight
that takes a minute would keep a ClickHouse query busy for nobody. This middleware listens for
`http.disconnect` while the endpoint runs and cancels it; the cancellation reaches the Store,
which kills the ClickHouse query (gateway/store.py), unless another request still waits for
the same result (gateway/cache.py).

The middleware is the only reader of the server's `receive`: it hands body chunks on to the
endpoint one at a time (so a large body is not buffered here), and after the last chunk it
keeps listening for the disconnect even if the endpoint never asks.
"""

from __future__ import annotations

import asyncio

import anyio

DISCONNECT = {"type": "http.disconnect"}
# Where requests run queries. Ingestion is left alone: an accepted batch is written whether or
# not its sender waits for the acknowledgement.
QUERYING = ("/api/", "/graphql")


class CancelOnDisconnect:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(QUERYING):
            return await self.app(scope, receive, send)
        inbox: asyncio.Queue = asyncio.Queue()
        gone = asyncio.Event()
        started = False
        error: Exception | None = None

        async def app_receive():
            if gone.is_set() and inbox.empty():
                return DISCONNECT
            message = await inbox.get()
            inbox.task_done()
            return message

        async def app_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        async with anyio.create_task_group() as group:

            async def listen():
                while True:
                    message = await receive()
                    inbox.put_nowait(message)
                    if message["type"] == "http.disconnect":
                        gone.set()
                        if not started:  # once answering, let the response finish its way
                            group.cancel_scope.cancel()
                        return
                    if message.get("more_body"):
                        await inbox.join()  # the endpoint reads the body at its own pace

            group.start_soon(listen)
            try:
                await self.app(scope, app_receive, app_send)
            except Exception as exc:  # raised below as itself, not wrapped in an ExceptionGroup
                error = exc
            group.cancel_scope.cancel()  # answered (or failed): stop listening
        if error is not None:
            raise error
