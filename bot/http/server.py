"""The one ASGI app: health, metrics and the platforms' webhooks."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.http.body_limit import BodyLimit
from bot.metrics import Metrics

Endpoint = Callable[[Request], Awaitable[Response]]


DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_BODY_TIMEOUT_SECONDS = 10.0


def build_http_app(
    *,
    metrics: Metrics,
    routes: Mapping[str, Endpoint],
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT_SECONDS,
) -> Starlette:
    """The Starlette app: health, metrics and the platforms' POST ``routes``, bodies capped."""

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    served = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *(Route(path, endpoint, methods=["POST"]) for path, endpoint in routes.items()),
    ]
    limit = Middleware(BodyLimit, max_bytes=max_body_bytes, timeout_seconds=body_timeout_seconds)
    return Starlette(routes=served, middleware=[limit])


class HttpServer(uvicorn.Server):
    """uvicorn, stopped by ideabot's own signal handling (``should_exit``), never by its own.

    uvicorn would take SIGTERM and SIGINT for itself and raise them again once it is done,
    which kills the process before the rest of ideabot has finished its work.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave the signals to ideabot."""
        yield

    def stop(self) -> None:
        """Accept no new connections; answer the requests under way, then return from serve."""
        self.should_exit = True
