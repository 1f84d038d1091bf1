"""A Slack Web API double on loopback, and a sender of signed Events API requests as Slack makes.

The double speaks real HTTP with Slack's JSON shapes (``ok``/``error``, 429 with Retry-After);
the sender signs each request with the signing secret the way Slack does (v0 HMAC-SHA256).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import aiohttp.web
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.doubles.loopback import serving

TEAM_ID = "T0IDEABOT"
OTHER_TEAM_ID = "T0ELSEWHERE"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
STAFF_CHANNEL = "C0STAFF"
BOT_TOKEN = "xoxb-test-token-for-the-slack-double"
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
APP_TOKEN = "xapp-1-test-app-token-for-socket-mode"


@dataclass
class SlackPerson:
    """A Slack user as the double knows them (staff in the channel, or a customer in a DM)."""

    user_id: str
    name: str
    locale: str = "en-US"
    team_id: str = TEAM_ID
    is_bot: bool = False

    @property
    def dm_channel(self) -> str:
        return "D" + self.user_id[1:]


@dataclass
class Posted:
    """A message the app posted (chat.postMessage) and the double accepted."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    username: str | None
    at: float

    def button(self, label: str) -> dict[str, Any]:
        for block in self.blocks:
            for element in block.get("elements", []):
                if element.get("type") == "button" and element["text"]["text"] == label:
                    return dict(element)
        raise KeyError(f"no button {label!r} in {self.blocks}")

    @property
    def button_labels(self) -> list[str]:
        return [
            element["text"]["text"]
            for block in self.blocks
            for element in block.get("elements", [])
            if element.get("type") == "button"
        ]

    @property
    def block_text(self) -> str:
        parts = []
        for block in self.blocks:
            if "text" in block and isinstance(block["text"], dict):
                parts.append(block["text"]["text"])
            for element in block.get("elements", []):
                if element.get("type") == "mrkdwn":
                    parts.append(element["text"])
        return "\n".join(parts)


@dataclass
class SlackCall:
    """Any Web API request the double answered."""

    method: str
    params: dict[str, Any]
    at: float
    status: int
    error: str = ""


@dataclass
class SlackWebApiDouble:
    """The fake Web API: records what the app does, fails on cue, tests wait on it."""

    port: int = 0
    people: dict[str, SlackPerson] = field(default_factory=dict)
    posts: list[Posted] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    reactions: list[dict[str, Any]] = field(default_factory=list)
    calls: list[SlackCall] = field(default_factory=list)
    # While true, every call answers 503 (Slack down).
    down: bool = False
    # method -> Retry-After seconds of the 429s its next calls get, in order
    rate_limits: dict[str, list[int]] = field(default_factory=dict)
    # method -> the Slack error code every call of it gets (e.g. "not_in_channel")
    errors: dict[str, str] = field(default_factory=dict)
    # file id -> (bytes, content type) that staff or customers "posted" in Slack
    stored_files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # files the app uploaded: filename, channel, thread and bytes
    uploads: list[dict[str, Any]] = field(default_factory=list)
    # messages the app deleted (chat.delete): channel and ts
    deletions: list[dict[str, Any]] = field(default_factory=list)
    # ids of files the app deleted (files.delete)
    deleted_files: list[str] = field(default_factory=list)
    # channel id -> its members' user ids, in the order they joined (conversations.members)
    channel_members: dict[str, list[str]] = field(default_factory=dict)

    # Where Socket Mode clients connect (set by a running SocketModeDouble).
    socket_url: str | None = None

    def __post_init__(self) -> None:
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/files/{file_id}", self._download, methods=["GET"]),
                Route("/upload/{file_id}", self._receive_upload, methods=["POST"]),
            ]
        )

    def add(self, person: SlackPerson) -> SlackPerson:
        self.people[person.user_id] = person
        return person

    def join(self, person: SlackPerson, channel: str = STAFF_CHANNEL) -> SlackPerson:
        """``person`` is a member of ``channel`` from now on (known to users.info too)."""
        self.add(person)
        members = self.channel_members.setdefault(channel, [])
        if person.user_id not in members:
            members.append(person.user_id)
        return person

    def leave(self, person: SlackPerson, channel: str = STAFF_CHANNEL) -> None:
        """``person`` is no longer a member of ``channel``."""
        members = self.channel_members.get(channel, [])
        if person.user_id in members:
            members.remove(person.user_id)

    def file_event_fields(self, file_id: str, name: str, data: bytes, mime: str) -> dict[str, Any]:
        """Store a file as if posted in Slack; the ``files`` entry of its message event."""
        self.stored_files[file_id] = (data, mime)
        return {
            "id": file_id,
            "name": name,
            "mimetype": mime,
            "size": len(data),
            "url_private": f"http://127.0.0.1:{self.port}/files/{file_id}",
            "url_private_download": f"http://127.0.0.1:{self.port}/files/{file_id}",
        }

    async def _download(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
            # Slack answers a request without the token with its sign-in page.
            return Response("<html>Sign in to Slack</html>", media_type="text/html")
        stored = self.stored_files.get(request.path_params["file_id"])
        if stored is None:
            return Response("not found", status_code=404)
        return Response(stored[0], media_type=stored[1])

    async def _receive_upload(self, request: Request) -> Response:
        upload = self._pending_uploads.get(request.path_params["file_id"])
        if upload is None:
            return Response("unknown upload", status_code=404)
        upload["data"] = await request.body()
        return Response("OK - uploaded")

    def _api_files_getUploadURLExternal(self, params: dict[str, Any]) -> Response:
        file_id = f"F{next(self._ts):08d}"
        self._pending_uploads[file_id] = {"filename": params.get("filename"), "data": b""}
        return _ok(upload_url=f"http://127.0.0.1:{self.port}/upload/{file_id}", file_id=file_id)

    def _api_files_completeUploadExternal(self, params: dict[str, Any]) -> Response:
        files = params["files"]
        files = json.loads(files) if isinstance(files, str) else files
        done = []
        for file in files:
            upload = self._pending_uploads.pop(file["id"])
            self.uploads.append(
                {
                    **upload,
                    "id": file["id"],
                    "channel": params.get("channel_id"),
                    "thread_ts": params.get("thread_ts"),
                    "initial_comment": params.get("initial_comment"),
                }
            )
            done.append({"id": file["id"], "name": upload["filename"]})
        return _ok(files=done)

    # --- the Web API -------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        params = await _params(request)
        response = await self._answer(method, params, request.headers.get("authorization", ""))
        body = json.loads(bytes(response.body)) if response.status_code != 503 else {}
        self.calls.append(
            SlackCall(method, params, time.monotonic(), response.status_code, body.get("error", ""))
        )
        async with self._changed:
            self._changed.notify_all()
        return response

    async def _answer(self, method: str, params: dict[str, Any], authorization: str) -> Response:
        if self.down:
            return Response("<html>Service Unavailable</html>", status_code=503)
        if method == "apps.connections.open":
            if authorization != f"Bearer {APP_TOKEN}" or self.socket_url is None:
                return _error("invalid_auth")
            return _ok(url=self.socket_url)
        if authorization != f"Bearer {BOT_TOKEN}":
            return _error("invalid_auth")
        planned = self.rate_limits.get(method)
        if planned:
            retry_after = planned.pop(0)
            return JSONResponse(
                {"ok": False, "error": "ratelimited"},
                status_code=429,
                headers={"Retry-After": str(retry_after)},
            )
        if method in self.errors:
            return _error(self.errors[method])
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return _error("unknown_method")
        answer: Response = handler(params)
        return answer

    def _api_auth_test(self, params: dict[str, Any]) -> Response:
        return _ok(team_id=TEAM_ID, user_id=BOT_USER_ID, bot_id=BOT_ID, team="ideabot tests")

    def _api_users_info(self, params: dict[str, Any]) -> Response:
        person = self.people.get(str(params.get("user")))
        if person is None:
            return _error("user_not_found")
        user = {
            "id": person.user_id,
            "team_id": person.team_id,
            "name": person.name.lower().replace(" ", "."),
            "real_name": person.name,
            "is_bot": person.is_bot,
            "profile": {"display_name": person.name, "real_name": person.name},
        }
        if params.get("include_locale") in (True, "true", "1", 1):
            user["locale"] = person.locale
        return _ok(user=user)

    def _api_conversations_members(self, params: dict[str, Any]) -> Response:
        """A page of a channel's members, with an opaque next_cursor as Slack pages them."""
        members = self.channel_members.get(str(params.get("channel")))
        if members is None:
            return _error("channel_not_found")
        limit = min(int(params.get("limit") or 100), 1000)
        cursor = str(params.get("cursor") or "")
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        except ValueError:
            return _error("invalid_cursor")
        page = members[start : start + limit]
        rest = start + limit < len(members)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if rest else ""
        return _ok(members=page, response_metadata={"next_cursor": next_cursor})

    def _api_chat_postMessage(self, params: dict[str, Any]) -> Response:
        ts = self._next_ts()
        self.posts.append(
            Posted(
                channel=str(params["channel"]),
                ts=ts,
                text=str(params.get("text", "")),
                blocks=_json_list(params.get("blocks")),
                thread_ts=params.get("thread_ts"),
                username=params.get("username"),
                at=time.monotonic(),
            )
        )
        return _ok(channel=params["channel"], ts=ts, message={"text": params.get("text", "")})

    def _api_chat_update(self, params: dict[str, Any]) -> Response:
        self.updates.append({**params, "blocks": _json_list(params.get("blocks"))})
        return _ok(channel=params["channel"], ts=params["ts"])

    def _api_chat_delete(self, params: dict[str, Any]) -> Response:
        """Only a message the app posted, once; else message_not_found as Slack answers."""
        channel, ts = str(params.get("channel")), str(params.get("ts"))
        posted = any(post.channel == channel and post.ts == ts for post in self.posts)
        if not posted or {"channel": channel, "ts": ts} in self.deletions:
            return _error("message_not_found")
        self.deletions.append({"channel": channel, "ts": ts})
        return _ok(channel=channel, ts=ts)

    def _api_files_delete(self, params: dict[str, Any]) -> Response:
        file_id = str(params.get("file"))
        uploaded = any(upload["id"] == file_id for upload in self.uploads)
        if not uploaded or file_id in self.deleted_files:
            return _error("file_not_found")
        self.deleted_files.append(file_id)
        return _ok()

    def _api_chat_postEphemeral(self, params: dict[str, Any]) -> Response:
        self.ephemerals.append(dict(params))
        return _ok(message_ts=self._next_ts())

    def _api_reactions_add(self, params: dict[str, Any]) -> Response:
        if any(
            r["timestamp"] == params["timestamp"] and r["name"] == params["name"]
            for r in self.reactions
        ):
            return _error("already_reacted")
        self.reactions.append(dict(params))
        return _ok()

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    # --- reading what happened -----------------------------------------------------------

    def posts_in(self, channel: str, *, thread_ts: str | None = None) -> list[Posted]:
        return [
            post
            for post in self.posts
            if post.channel == channel and (thread_ts is None or post.thread_ts == thread_ts)
        ]

    def cards(self) -> list[Posted]:
        return [p for p in self.posts if p.channel == STAFF_CHANNEL and p.thread_ts is None]

    async def wait_until(self, predicate: Callable[[], bool], *, timeout: float = 15.0) -> None:
        async def waiting() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        try:
            await asyncio.wait_for(waiting(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"the Slack double did not see that within {timeout} s; calls: "
                f"{[(c.method, c.status, c.error) for c in self.calls][-20:]}"
            ) from None

    # --- running it ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SlackWebApiDouble]:
        """Serve on 127.0.0.1 on a free port until the block ends."""
        async with serving(self.app) as port:
            self.port = port
            yield self


class SlackEvents:
    """Sends Events API callbacks, button clicks and slash commands to the app, signed."""

    def __init__(self, *, url: str, signing_secret: str = SIGNING_SECRET) -> None:
        self.url = url
        self.signing_secret = signing_secret
        # Built once: a new client's default context loads the CA bundle (tens of ms of CPU).
        self._tls = ssl.create_default_context()
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)

    def next_ts(self) -> str:
        return f"{1_800_000_000 + next(self._ts)}.000200"

    async def post(
        self,
        body: str,
        *,
        content_type: str,
        retry_num: int | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        """POST a raw body as Slack would: timestamp and v0 signature headers."""
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        base = f"v0:{stamp}:{body}".encode()
        signed = "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or signed,
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        async with httpx.AsyncClient(verify=self._tls) as client:
            return await client.post(self.url, content=body.encode(), headers=headers, timeout=10)

    def envelope(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0IDEABOT",
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "event": event,
        }

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> tuple[httpx.Response, dict[str, Any]]:
        """Deliver one event callback; the response and the envelope sent."""
        envelope = self.envelope(event, event_id=event_id)
        response = await self.post(
            json.dumps(envelope), content_type="application/json", retry_num=retry_num
        )
        return response, envelope

    async def staff_reply(
        self, person: SlackPerson, thread_ts: str, text: str, **extra: Any
    ) -> tuple[httpx.Response, dict[str, Any]]:
        """A person writes in a staff thread."""
        event = {
            "type": "message",
            "channel": STAFF_CHANNEL,
            "channel_type": "channel",
            "user": person.user_id,
            "team": person.team_id,
            "text": text,
            "ts": self.next_ts(),
            "thread_ts": thread_ts,
            **extra,
        }
        return await self.event(event)

    async def direct_message(
        self, person: SlackPerson, text: str, **extra: Any
    ) -> tuple[httpx.Response, dict[str, Any]]:
        """A person writes to the app in a direct message."""
        event = {
            "type": "message",
            "channel": person.dm_channel,
            "channel_type": "im",
            "user": person.user_id,
            "team": person.team_id,
            "text": text,
            "ts": self.next_ts(),
            **extra,
        }
        return await self.event(event)

    async def membership(
        self, person: SlackPerson, *, joined: bool, channel: str = STAFF_CHANNEL
    ) -> tuple[httpx.Response, dict[str, Any]]:
        """Slack says ``person`` joined (member_joined_channel) or left ``channel``."""
        event = {
            "type": "member_joined_channel" if joined else "member_left_channel",
            "user": person.user_id,
            "channel": channel,
            "channel_type": "C",
            "team": person.team_id,
            "event_ts": self.next_ts(),
        }
        return await self.event(event)

    async def click(self, person: SlackPerson, post: Posted, label: str) -> httpx.Response:
        """A person presses the button ``label`` on a message the app posted."""
        button = post.button(label)
        return await self._block_action(
            person,
            post,
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "b",
                "value": button["value"],
                "text": button["text"],
                "action_ts": str(time.time()),
            },
        )

    async def choose(self, person: SlackPerson, post: Posted, value: str) -> httpx.Response:
        """A person picks the option ``value`` in the menu on a message the app posted."""
        menu = next(
            element
            for block in post.blocks
            for element in block.get("elements", [])
            if element.get("type") == "static_select"
        )
        (option,) = [option for option in menu["options"] if option["value"] == value]
        return await self._block_action(
            person,
            post,
            {
                "type": "static_select",
                "action_id": menu["action_id"],
                "block_id": "b",
                "selected_option": option,
                "action_ts": str(time.time()),
            },
        )

    async def _block_action(
        self, person: SlackPerson, post: Posted, action: dict[str, Any]
    ) -> httpx.Response:
        """An interactivity payload for one action on ``post``, posted form-encoded."""
        payload = {
            "type": "block_actions",
            "team": {"id": person.team_id},
            "user": {"id": person.user_id, "team_id": person.team_id, "name": person.name},
            "api_app_id": "A0IDEABOT",
            "trigger_id": f"trigger-{next(self._ids)}",
            "container": {"type": "message", "message_ts": post.ts, "channel_id": post.channel},
            "channel": {"id": post.channel},
            "message": {"ts": post.ts, "text": post.text, "blocks": post.blocks},
            "actions": [action],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, content_type="application/x-www-form-urlencoded")

    async def command(
        self,
        person: SlackPerson,
        text: str,
        *,
        command: str = "/ideabot",
        channel: str | None = None,
    ) -> httpx.Response:
        """A person types a slash command (by default ``/ideabot`` in their DM with the app)."""
        body = urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": person.team_id,
                "channel_id": channel or person.dm_channel,
                "user_id": person.user_id,
                "user_name": person.name,
                "command": command,
                "text": text,
                "trigger_id": f"trigger-{next(self._ids)}",
                "response_url": "http://127.0.0.1:9/unused",
            }
        )
        return await self.post(body, content_type="application/x-www-form-urlencoded")


async def _params(request: Request) -> dict[str, Any]:
    body = await request.body()
    params: dict[str, Any] = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        params.update(json.loads(body or b"{}"))
    else:
        params.update(parse_qsl(body.decode()))
    return params


def _json_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        loaded: list[dict[str, Any]] = json.loads(value)
        return loaded
    return list(value or [])


def _ok(**fields: Any) -> Response:
    return JSONResponse({"ok": True, **fields})


def _error(code: str) -> Response:
    return JSONResponse({"ok": False, "error": code})


class SocketModeDouble:
    """Slack's Socket Mode end: the app connects by WebSocket, gets envelopes, and acks them."""

    def __init__(self, web_api: SlackWebApiDouble) -> None:
        self._web_api = web_api
        self._sockets: list[aiohttp.web.WebSocketResponse] = []
        self.acks: list[str] = []
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)

    async def _link(self, request: aiohttp.web.Request) -> aiohttp.web.WebSocketResponse:
        socket = aiohttp.web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "connection_info": {"app_id": "A0IDEABOT"},
                "debug_info": {"host": "double", "approximate_connection_time": 3600},
            }
        )
        self._sockets.append(socket)
        async with self._changed:
            self._changed.notify_all()
        async for message in socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                envelope_id = json.loads(message.data).get("envelope_id")
                if envelope_id:
                    self.acks.append(envelope_id)
                    async with self._changed:
                        self._changed.notify_all()
        self._sockets.remove(socket)
        return socket

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def wait_connected(self) -> None:
        await self.wait_for(lambda: bool(self._sockets))

    async def push(self, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Send an Events API envelope to the connected app; its envelope id."""
        envelope_id = f"envelope-{next(self._ids)}"
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return envelope_id

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SocketModeDouble]:
        app = aiohttp.web.Application()
        app.router.add_get("/link", self._link)
        runner = aiohttp.web.AppRunner(app)
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._web_api.socket_url = f"ws://127.0.0.1:{port}/link"
        try:
            yield self
        finally:
            for socket in list(self._sockets):
                await socket.close()
            await runner.cleanup()
