"""Fetches customers' and staff's files from the platform they live on, within its size limits."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.delivery.worker import PermanentDeliveryError, TransientDeliveryError
from handlers.messages import Attachment, FileLimits, megabytes

# What bots may do with files: Telegram lets them fetch 20 MB and send 50 MB; Slack takes 1 GB.
TELEGRAM_FILE_LIMITS = FileLimits(fetch_bytes=20_000_000, send_bytes=50_000_000)
SLACK_FILE_LIMITS = FileLimits(fetch_bytes=1_000_000_000, send_bytes=1_000_000_000)


@dataclass(frozen=True, slots=True)
class FetchedFile:
    """A file's bytes with the name and type to send it under."""

    data: bytes
    name: str
    mime_type: str
    # A table to show beside the file in a fixed-width font (a chart's figures), if any.
    figures: str = ""


class FileSource(Protocol):
    """Fetches files from one platform."""

    async def fetch(self, attachment: Attachment) -> FetchedFile:
        """The attachment's bytes; PermanentDeliveryError if it cannot be had at all."""
        ...


def _too_large(
    attachment: Attachment, size: int, limit: int, platform: str
) -> PermanentDeliveryError:
    return PermanentDeliveryError(
        f"{attachment.describe()} is {megabytes(size)} MB; a bot can fetch at most "
        f"{megabytes(limit)} MB from {platform}"
    )


class TelegramFiles:
    """Files customers sent on Telegram, fetched with getFile."""

    def __init__(
        self, bot: Bot, *, limit_bytes: int = TELEGRAM_FILE_LIMITS.fetch_bytes or 0
    ) -> None:
        self._bot = bot
        self._limit = limit_bytes

    async def fetch(self, attachment: Attachment) -> FetchedFile:
        """Download the file, refusing before the download when it is known to be too large."""
        if attachment.size_bytes and attachment.size_bytes > self._limit:
            raise _too_large(attachment, attachment.size_bytes, self._limit, "Telegram")
        try:
            file = await self._bot.get_file(attachment.file_id)
            if file.file_size and file.file_size > self._limit:
                raise _too_large(attachment, file.file_size, self._limit, "Telegram")
            data = bytes(await file.download_as_bytearray())
        except BadRequest as error:
            raise PermanentDeliveryError(
                f"Telegram would not give the file: {error.message}"
            ) from error
        except TelegramError as error:
            raise TransientDeliveryError(f"fetching a Telegram file: {error.message}") from error
        name = attachment.file_name or posixpath.basename(file.file_path or "") or "file"
        return FetchedFile(data=data, name=name, mime_type=attachment.mime_type)


class SlackFiles:
    """Files posted in Slack, downloaded with the bot token from Slack's own hosts only."""

    def __init__(
        self,
        *,
        token: str,
        api_base_url: str,
        limit_bytes: int = SLACK_FILE_LIMITS.fetch_bytes or 0,
    ) -> None:
        self._token = token
        self._limit = limit_bytes
        # The token goes nowhere but Slack (or the Web API address configured for tests).
        self._hosts = {"files.slack.com", urlsplit(api_base_url).netloc}

    async def fetch(self, attachment: Attachment) -> FetchedFile:
        """Download the file, refusing a page of HTML in its place (a login or an error page)."""
        url = str(attachment.details.get("url_private") or "")
        if urlsplit(url).netloc not in self._hosts:
            raise PermanentDeliveryError(f"{attachment.describe()} is not at a Slack file address")
        if attachment.size_bytes and attachment.size_bytes > self._limit:
            raise _too_large(attachment, attachment.size_bytes, self._limit, "Slack")
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with (
                httpx.AsyncClient(timeout=60, follow_redirects=False) as client,
                client.stream("GET", url, headers=headers) as response,
            ):
                if response.status_code == 429 or response.status_code >= 500:
                    raise TransientDeliveryError(
                        f"Slack file download: HTTP {response.status_code}"
                    )
                if response.status_code != 200:
                    raise PermanentDeliveryError(
                        f"Slack would not give {attachment.describe()}: HTTP {response.status_code}"
                    )
                if response.headers.get("content-type", "").startswith("text/html"):
                    raise PermanentDeliveryError(
                        f"Slack sent a web page instead of {attachment.describe()} "
                        "(does the app have the files:read scope?)"
                    )
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > self._limit:
                        raise _too_large(attachment, len(data), self._limit, "Slack")
        except httpx.HTTPError as error:
            raise TransientDeliveryError(f"Slack file download: {type(error).__name__}") from error
        return FetchedFile(
            data=bytes(data), name=attachment.file_name or "file", mime_type=attachment.mime_type
        )


class Files:
    """Fetches an attachment from whichever platform it lives on."""

    def __init__(self, sources: Mapping[str, FileSource]) -> None:
        self._sources = dict(sources)

    def add(self, platform: str, source: FileSource) -> None:
        """Fetch ``platform``'s files from ``source`` too (one known only once the database is)."""
        self._sources[platform] = source

    async def fetch(self, attachment: Attachment) -> FetchedFile:
        """The attachment's bytes, from its own platform."""
        source = self._sources.get(attachment.platform)
        if source is None:
            raise PermanentDeliveryError(
                f"{attachment.describe()} lives on {attachment.platform or 'an unknown platform'}, "
                "which ideabot is not connected to"
            )
        return await source.fetch(attachment)
