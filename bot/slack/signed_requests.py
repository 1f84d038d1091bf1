"""Slack's HTTP requests checked before bolt sees them, and bolt's log lines kept free of bodies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from slack_bolt.request.internals import extract_content_type, parse_body
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.http.json_body import TooDeep, check_depth, why_unread

logger = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]

# Slack's own rule: a request signed more than five minutes ago may be a replay.
MAX_AGE_SECONDS = 300
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
TIMESTAMP_DIGITS = 20


class SignedSlackRequests:
    """An endpoint that answers 401 to anything not signed by Slack, whatever its shape.

    bolt parses the body before it checks the signature, so a malformed unsigned body gave a
    500 with a traceback, and a refused one was logged whole. Here the signature (constant
    time, timestamp within five minutes) is checked on the raw bytes first; only signed
    requests reach ``endpoint``. The body was already capped by the HTTP server's limit.
    """

    def __init__(self, *, signing_secret: str, endpoint: Endpoint) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._endpoint = endpoint

    async def handle(self, request: Request) -> Response:
        """Pass a signed request on; refuse any other with a one-line log and a 401."""
        body = await request.body()
        problem = self.problem(body=body, headers=request.headers)
        if problem is not None:
            # One line, of our own words: the body and headers are the sender's, never logged.
            logger.warning("refused a Slack request (%s bytes): %s", len(body), problem)
            return JSONResponse({"error": "invalid request"}, status_code=401)
        unread = _unreadable(body, request.headers.get("content-type"))
        if unread is not None:
            logger.warning("refused a signed Slack request (%s bytes): %s", len(body), unread)
            return JSONResponse({"error": "unreadable request"}, status_code=400)
        return await self._endpoint(request)

    def problem(self, *, body: bytes, headers: Mapping[str, str]) -> str | None:
        """Why the request is not Slack's, or None when it is."""
        timestamp = headers.get(TIMESTAMP_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if not timestamp or not signature:
            return "it is not signed"
        # Unix seconds have ten digits; int() refuses over 4,300 with a ValueError.
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > TIMESTAMP_DIGITS:
            return "its timestamp is not a number"
        if abs(self._verifier.clock.now() - int(timestamp)) > MAX_AGE_SECONDS:
            return "its timestamp is more than five minutes off"
        if not self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            return "its signature does not match"
        return None


def _unreadable(body: bytes, content_type: str | None) -> str | None:
    """Why bolt could not read this body (a 500 with a traceback in bolt), or None if it can.

    The body is read by bolt's own rule, so what passes here is what bolt will read; a body
    too deeply nested would fail in bolt or in any recursive walk over it later.
    """
    try:
        headers: dict[str, Sequence[str]] = {"content-type": [content_type or ""]}
        check_depth(parse_body(body.decode("utf-8"), extract_content_type(headers)))
    except RecursionError:
        return str(TooDeep())
    except ValueError as error:
        return why_unread(error)
    return None


# bolt's log lines that carry a request body (its own f-strings), cut where the body begins.
_BODY_CARRYING = (
    "Invalid request signature detected",
    "Unhandled request",
    "A global middleware",
    "request body:",
)


class WithoutRequestBodies(logging.Filter):
    """Rewrites bolt's log lines that would print a request body so that only their start stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record; withhold the body of those that carry one."""
        message = record.getMessage()
        for start in _BODY_CARRYING:
            if message.startswith(start):
                record.msg = f"{start} (request details withheld)"
                record.args = ()
                break
        return True
