"""An ASGI middleware that refuses request bodies over a size limit before anyone reads them."""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

TOO_LARGE = b'{"error":"request body too large"}'
BAD_LENGTH = b'{"error":"bad content-length"}'
TOO_SLOW = b'{"error":"request body not received in time"}'


class BodyLimit:
    """Reads at most ``max_bytes`` of a request body, then hands the whole body on, or 413.

    A declared Content-Length over the limit is refused before a byte is read; a chunked
    body is counted as it arrives and refused the moment it passes the limit. What the app
    behind sees is the complete body in one message, so no endpoint can be made to buffer
    more than the limit. A body not complete within ``timeout_seconds`` gets 408 and its
    connection is closed, so a sender that stalls cannot hold a connection and its buffer.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_seconds: float) -> None:
        self._app = app
        self._max_bytes = max_bytes
        self._timeout = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection: HTTP requests go through the limit, the rest straight on."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(send, status=400, body=BAD_LENGTH)
            return
        if declared is not None and declared > self._max_bytes:
            self._log_refusal(scope, declared)
            await _refuse(send, status=413, body=TOO_LARGE)
            return
        chunks: list[bytes] = []
        try:
            async with asyncio.timeout(self._timeout):
                complete = await self._read(scope, receive, send, chunks)
        except TimeoutError:
            chunks.clear()  # nothing of a body that did not arrive is kept
            logger.warning(
                "refused a request to %s: its body did not arrive within %s s",
                _path(scope),
                self._timeout,
            )
            await _refuse(send, status=408, body=TOO_SLOW, close=True)
            return
        if complete:
            await self._app(scope, _replay(b"".join(chunks), receive), send)

    async def _read(self, scope: Scope, receive: Receive, send: Send, chunks: list[bytes]) -> bool:
        """Read the body into ``chunks``; False if it was refused or the client went away."""
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return False  # the client went away; there is nothing to answer
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._max_bytes:
                self._log_refusal(scope, size)
                await _refuse(send, status=413, body=TOO_LARGE)
                return False
            chunks.append(chunk)
            if not message.get("more_body", False):
                return True

    def _log_refusal(self, scope: Scope, size: int) -> None:
        logger.warning(
            "refused a request to %s: body of %s bytes or more is over the limit of %s",
            _path(scope),
            size,
            self._max_bytes,
        )


def _path(scope: Scope) -> str:
    # The path is the sender's; ascii() keeps a newline in it from starting a new line.
    return ascii(str(scope.get("path", ""))[:80])


def _content_length(scope: Scope) -> int | None:
    """The declared Content-Length; None when absent, -1 when it is not a number."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else -1
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the buffered body once, then whatever the server says next."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _refuse(send: Send, *, status: int, body: bytes, close: bool = False) -> None:
    # No "Connection: close" for a body still arriving: closing then resets the connection
    # and the client never sees this answer. The server discards the rest of a body that
    # comes after the response (nothing of it is kept), and then the connection ends
    # normally. A stalled body (``close``) is not arriving, and its connection must end.
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
