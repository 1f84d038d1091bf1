"""A Telegram Bot API double on loopback: real HTTP, real update and message JSON, faults on cue."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.doubles.loopback import serving

BOT_USER = {
    "id": 7000001,
    "is_bot": True,
    "first_name": "ideabot",
    "username": "ideabot_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Customer:
    """A simulated Telegram user writing to the bot from a private chat."""

    user_id: int
    first_name: str = "Kari"
    language_code: str = "en"

    @property
    def chat_id(self) -> int:
        return self.user_id

    def as_user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }


@dataclass
class SentMessage:
    """A message the bot sent (and the double accepted)."""

    message_id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    at: float

    @property
    def buttons(self) -> list[dict[str, str]]:
        if not self.reply_markup:
            return []
        return [button for row in self.reply_markup["inline_keyboard"] for button in row]

    def button(self, label: str) -> dict[str, str]:
        for button in self.buttons:
            if button["text"] == label:
                return button
        raise KeyError(f"no button {label!r} in {[b['text'] for b in self.buttons]}")


@dataclass
class FaultPlan:
    """Random failures on chosen methods, from a seeded RNG so a failing run can be replayed.

    A 5xx or a 429 is answered before the method does anything: the message is not sent. For
    getUpdates the offset is applied first, as Telegram confirms updates on the request itself.
    """

    seed: int
    server_error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    methods: frozenset[str] = frozenset({"sendMessage", "getUpdates"})
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def fault_for(self, method: str) -> int | None:
        """The status code to fail this call with, or None to answer it."""
        if method not in self.methods:
            return None
        draw = self.rng.random()
        if draw < self.server_error_rate:
            return 502 if self.rng.random() < 0.5 else 500
        if draw < self.server_error_rate + self.rate_limit_rate:
            return 429
        return None


@dataclass
class ApiCall:
    """Any Bot API request the double answered."""

    method: str
    params: dict[str, Any]
    at: float
    status: int


@dataclass
class TelegramBotApiDouble:
    """The fake Bot API: customers inject updates, the bot polls and sends, tests wait on it."""

    token: str = "123456:TEST-token-for-the-double"
    port: int = 0
    clock: Callable[[], float] = time.monotonic
    pending_updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    calls: list[ApiCall] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    blocked_chats: set[int] = field(default_factory=set)
    # chat id -> the retry_after values of the 429s its next sends get, in order
    rate_limits: dict[int, list[int]] = field(default_factory=dict)
    # Telegram's limits, as token buckets: about 30 messages a second for a bot, of which
    # a second's worth may come at once (so a sender that keeps to the rate passes however
    # its requests bunch up on the way, and one that sends faster is refused within a
    # second or two); about one a second in one chat, with short bursts. Sends, edits and
    # files count; one over a limit gets a 429 and is not sent.
    global_limit_per_second: int | None = None
    chat_limit_per_second: float | None = None
    chat_limit_burst: int = 4
    # Every 429 the limits above gave ("bot" or the chat id), not planned or random ones.
    flooded: list[str] = field(default_factory=list)
    handed_out: set[int] = field(default_factory=set)
    held_sends: int = 0
    # getUpdates calls waiting for an update right now (long polls under way)
    polls_waiting: int = 0
    sent_by_chat: dict[int, list[SentMessage]] = field(default_factory=dict)
    # Random 5xx and 429 answers (None: no random faults); ``injected`` counts them by method.
    faults: FaultPlan | None = None
    injected: Counter[str] = field(default_factory=Counter)
    # file id -> bytes of the files customers "sent", served by getFile and /file/
    stored_files: dict[str, bytes] = field(default_factory=dict)
    # files the bot sent: method, chat id, file name, bytes
    sent_files: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        # Tests wait on the condition (few waiters); the benchmark's many customers wait on
        # an event per chat, so a message wakes only its own chat's waiter.
        self._changed = asyncio.Condition()
        self._chat_events: dict[int, asyncio.Event] = {}
        self._updates_arrived = asyncio.Event()
        self._sends_open = asyncio.Event()
        self._sends_open.set()
        self._drop_held = False
        # "bot" or a chat id -> (tokens left, when counted) of its limit
        self._tokens: dict[str, tuple[float, float]] = {}
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            ]
        )

    # --- the customer's side -------------------------------------------------------------

    async def send_document(
        self, customer: Customer, name: str, data: bytes, *, claimed_size: int | None = None
    ) -> dict[str, Any]:
        """The customer sends a file; ``claimed_size`` overrides the size Telegram reports."""
        file_id = f"doc-{next(self._message_ids)}"
        self.stored_files[file_id] = data
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": customer.as_user(),
            "chat": {"id": customer.chat_id, "type": "private", "first_name": customer.first_name},
            "date": int(time.time()),
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_name": name,
                "mime_type": "application/pdf",
                "file_size": claimed_size if claimed_size is not None else len(data),
            },
        }
        return await self.push({"message": message})

    async def send_text(self, customer: Customer, text: str) -> dict[str, Any]:
        """The customer writes ``text``; returns the queued update."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": customer.as_user(),
            "chat": {"id": customer.chat_id, "type": "private", "first_name": customer.first_name},
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self.push({"message": message})

    async def send_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue any update body as given, however malformed; returns it with its id."""
        return await self.push(payload)

    def message_from(self, customer: Customer, **fields: Any) -> dict[str, Any]:
        """A well-formed private message of ``customer``; ``fields`` add to or replace its own."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": customer.as_user(),
            "chat": {"id": customer.chat_id, "type": "private", "first_name": customer.first_name},
            "date": int(time.time()),
            **fields,
        }
        return message

    async def press(self, customer: Customer, message: SentMessage, label: str) -> dict[str, Any]:
        """The customer taps the button ``label`` under ``message``."""
        button = message.button(label)
        return await self.push(
            {
                "callback_query": {
                    "id": str(next(self._update_ids)),
                    "from": customer.as_user(),
                    "chat_instance": f"ci-{customer.chat_id}",
                    "data": button["callback_data"],
                    "message": {
                        "message_id": message.message_id,
                        "from": BOT_USER,
                        "chat": {"id": message.chat_id, "type": "private"},
                        "date": int(time.time()),
                        "text": message.text,
                        "reply_markup": message.reply_markup,
                    },
                }
            }
        )

    async def push(self, body: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **body}
        await self.redeliver(update)
        return update

    async def redeliver(self, update: dict[str, Any]) -> None:
        """Queue an update (again), as Telegram does when it was not confirmed."""
        self.pending_updates.append(update)
        self.pending_updates.sort(key=lambda item: item["update_id"])
        self._updates_arrived.set()
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- what tests wait for -------------------------------------------------------------

    def messages_to(self, customer: Customer) -> list[SentMessage]:
        return list(self.sent_by_chat.get(customer.chat_id, []))

    async def wait_until(self, predicate: Callable[[], bool], *, timeout: float = 15.0) -> None:
        """Wait until ``predicate`` holds (re-checked on every change), or fail after timeout."""

        async def waiting() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        try:
            await asyncio.wait_for(waiting(), timeout)
        except TimeoutError:
            raise AssertionError(f"condition not met within {timeout} s") from None

    async def wait_for_messages(
        self, customer: Customer, count: int, *, timeout: float = 15.0
    ) -> list[SentMessage]:
        """Wait until ``customer`` has received ``count`` messages in all; return them."""
        arrived = self._chat_events.setdefault(customer.chat_id, asyncio.Event())

        async def waiting() -> None:
            while len(self.sent_by_chat.get(customer.chat_id, ())) < count:
                arrived.clear()
                await arrived.wait()

        try:
            await asyncio.wait_for(waiting(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"chat {customer.chat_id} did not get {count} messages within {timeout} s"
            ) from None
        return self.messages_to(customer)

    def hold_sends(self) -> None:
        """Leave sendMessage requests unanswered until ``release_sends``."""
        self._drop_held = False
        self._sends_open.clear()

    def release_sends(self, *, drop_held: bool = False) -> None:
        """Answer held sends again; ``drop_held``: those held never arrived (the sender died)."""
        self._drop_held = drop_held
        self._sends_open.set()

    # --- the Bot API -----------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        params = await _params(request)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        response: Response = await self._injected_fault(method, params) or await handler(params)
        self.calls.append(ApiCall(method, params, self.clock(), response.status_code))
        await self._notify()
        return response

    async def _injected_fault(self, method: str, params: dict[str, Any]) -> Response | None:
        status = self.faults.fault_for(method) if self.faults is not None else None
        if status is None:
            return None
        assert self.faults is not None
        self.injected[method] += 1
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        if status == 429:
            retry_after = self.faults.retry_after
            return _error(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        return _error(status, "Bad Gateway" if status == 502 else "Internal Server Error")

    async def _api_getMe(self, params: dict[str, Any]) -> Response:
        return _ok(BOT_USER)

    async def _api_setWebhook(self, params: dict[str, Any]) -> Response:
        self.webhook = dict(params)
        return _ok(True)

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Response:
        self.commands[params.get("language_code", "")] = params["commands"]
        return _ok(True)

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Response:
        self.webhook = {}
        return _ok(True)

    async def _api_getUpdates(self, params: dict[str, Any]) -> Response:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        # Updates below the offset are confirmed: Telegram forgets them.
        self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        if not self.pending_updates:
            self._updates_arrived.clear()
            self.polls_waiting += 1
            await self._notify()
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._updates_arrived.wait(), timeout)
            finally:
                self.polls_waiting -= 1
        batch = [u for u in self.pending_updates if u["update_id"] >= offset][:limit]
        self.handed_out.update(update["update_id"] for update in batch)
        return _ok(batch)

    async def _api_sendMessage(self, params: dict[str, Any]) -> Response:
        if not self._sends_open.is_set():
            self.held_sends += 1
            await self._notify()
            await self._sends_open.wait()
            if self._drop_held:
                return _error(503, "Service Unavailable: the request was lost")
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked_chats:
            return _error(403, "Forbidden: bot was blocked by the user")
        planned = self.rate_limits.get(chat_id)
        if planned:
            retry_after = planned.pop(0)
            return _error(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        if (flooded := self._flooded(chat_id)) is not None:
            return flooded
        text = params.get("text", "")
        if not text:
            return _error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        message = SentMessage(
            message_id=next(self._message_ids),
            chat_id=chat_id,
            text=text,
            reply_markup=markup,
            at=self.clock(),
        )
        self.sent.append(message)
        self.sent_by_chat.setdefault(chat_id, []).append(message)
        arrived = self._chat_events.get(chat_id)
        if arrived is not None:
            arrived.set()
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        if markup:
            body["reply_markup"] = markup
        return _ok(body)

    @property
    def refused_for_flooding(self) -> int:
        """How many 429s the limits gave."""
        return len(self.flooded)

    def _flooded(self, chat_id: int) -> Response | None:
        """A 429 if this message (a send, an edit or a file) passes a limit, else None."""
        now = self.clock()
        takes = []
        if self.chat_limit_per_second is not None:
            takes.append((str(chat_id), self.chat_limit_per_second, self.chat_limit_burst))
        if self.global_limit_per_second is not None:
            limit = self.global_limit_per_second
            takes.append(("bot", limit, limit))
        for key, rate, capacity in takes:
            tokens, updated = self._tokens.get(key, (float(capacity), now))
            tokens = min(float(capacity), tokens + (now - updated) * rate)
            self._tokens[key] = (tokens, now)
            if tokens < 1:
                self.flooded.append(key)
                return _error(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        for key, _, _ in takes:
            tokens, updated = self._tokens[key]
            self._tokens[key] = (tokens - 1, updated)
        return None

    async def _api_editMessageText(self, params: dict[str, Any]) -> Response:
        if (flooded := self._flooded(int(params["chat_id"]))) is not None:
            return flooded
        self.edits.append(dict(params))
        return _ok(
            {
                "message_id": int(params["message_id"]),
                "from": BOT_USER,
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "date": int(time.time()),
                "text": params.get("text", ""),
            }
        )

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Response:
        return _ok(True)

    async def _api_getFile(self, params: dict[str, Any]) -> Response:
        file_id = str(params["file_id"])
        if file_id not in self.stored_files:
            return _error(400, "Bad Request: invalid file_id")
        return _ok(
            {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": len(self.stored_files[file_id]),
                "file_path": f"documents/{file_id}.bin",
            }
        )

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response("Unauthorized", status_code=401)
        file_id = request.path_params["path"].split("/")[-1].removesuffix(".bin")
        data = self.stored_files.get(file_id)
        if data is None:
            return Response("Not Found", status_code=404)
        return Response(data, media_type="application/octet-stream")

    async def _api_sendDocument(self, params: dict[str, Any]) -> Response:
        return await self._file_sent("sendDocument", "document", params)

    async def _api_sendPhoto(self, params: dict[str, Any]) -> Response:
        return await self._file_sent("sendPhoto", "photo", params)

    async def _file_sent(self, method: str, field_name: str, params: dict[str, Any]) -> Response:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked_chats:
            return _error(403, "Forbidden: bot was blocked by the user")
        if (flooded := self._flooded(chat_id)) is not None:
            return flooded
        upload = params[field_name]
        self.sent_files.append(
            {"method": method, "chat_id": chat_id, "name": upload[0], "data": upload[1]}
        )
        return _ok(
            {
                "message_id": next(self._message_ids),
                "from": BOT_USER,
                "chat": {"id": chat_id, "type": "private"},
                "date": int(time.time()),
                "document": {"file_id": "sent", "file_unique_id": "sent"},
            }
        )

    # --- running it ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[TelegramBotApiDouble]:
        """Serve on 127.0.0.1 (a free port unless one was given) until the block ends."""
        async with serving(self.app, port=self.port) as port:
            self.port = port
            try:
                yield self
            finally:
                self.release_sends()
                self._updates_arrived.set()


async def _params(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        params: dict[str, Any] = {}
        for name, value in form.multi_items():
            if isinstance(value, str):
                params[name] = value
            else:
                params[name] = (value.filename, await value.read())
        return params
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        loaded: dict[str, Any] = json.loads(body or b"{}")
        return loaded
    params = dict(parse_qsl(body.decode()))
    params.update(request.query_params)
    for name in ("reply_markup", "allowed_updates", "entities", "commands"):
        if isinstance(params.get(name), str):
            params[name] = json.loads(params[name])
    return params


def _ok(result: Any) -> Response:
    # ASCII escapes, as Telegram sends them: a lone surrogate in an update cannot be UTF-8.
    body = json.dumps({"ok": True, "result": result}, ensure_ascii=True)
    return Response(body, media_type="application/json")


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code)
