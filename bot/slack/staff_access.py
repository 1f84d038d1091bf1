"""Who may use ideabot's staff surfaces in Slack: the one rule, asked of Slack and cached."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

REFUSAL = "Only the team can use /ideas."
NO_STAFF_CHANNEL = (
    "ideabot has no staff channel: set SLACK_STAFF_CHANNEL (and invite the app there), "
    "then /ideas works."
)
CANNOT_CHECK = "ideabot cannot check who is on the team just now; please try again in a minute."
MEMBERS_PAGE = 200
# Slack's biggest channels have a few hundred thousand members; stop well before a loop runs away.
MAX_MEMBER_PAGES = 1000
# Slack wants an answer to a command or click within 3 s; the check must leave time for it.
CHECK_TIMEOUT_SECONDS = 2.0

TeamOf = Callable[[str], Awaitable[str]]


class Role(StrEnum):
    """What a Slack person is to ideabot."""

    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"


class AccessUnknown(Exception):
    """Slack could not say who is on the team; the caller must refuse (fail closed)."""


class RoleLookup(Protocol):
    """The one access rule (``StaffAccess.role_of``): a Slack person's role, by id and team."""

    async def __call__(self, *, user_id: str, team_id: str) -> Role: ...


async def is_admin(roles: RoleLookup, *, user_id: str, team_id: str) -> bool:
    """Whether the one access rule makes this person an admin; AccessUnknown if Slack can't say."""
    return await roles(user_id=user_id, team_id=team_id) is Role.ADMIN


class StaffAccess:
    """Staff: people of our workspace in the staff channel; admins: SLACK_ADMIN_USERS of it."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        staff_channel: str | None,
        admin_user_ids: frozenset[str],
        team_of: TeamOf,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._staff_channel = staff_channel
        self._admins = admin_user_ids
        self._team_of = team_of
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._own_team: str | None = None
        # One channel's members: bounded by the channel, replaced on every refresh.
        self._members: set[str] | None = None
        self._loaded_at = 0.0
        # The one load of the member list under way, shared by every check that waits for it.
        self._loading: asyncio.Task[set[str]] | None = None
        # Joins and leaves seen while a refresh runs; applied over what the refresh returns.
        self._changes_while_loading: dict[str, bool] | None = None

    @property
    def staff_channel(self) -> str | None:
        """The staff channel's id, if one is configured."""
        return self._staff_channel

    async def role_of(self, *, user_id: str, team_id: str) -> Role:
        """The person's role; ``team_id`` is the team the payload names (empty if none).

        Raises AccessUnknown when Slack cannot be asked in time.
        """
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                return await self._role_of(user_id, team_id)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            # Not who: the person may be a customer.
            logger.warning(
                "cannot check whether a Slack user is staff (%s); refusing", _brief(error)
            )
            raise AccessUnknown from error

    async def _role_of(self, user_id: str, team_id: str) -> Role:
        own_team = await self._team()
        if team_id and team_id != own_team:
            return Role.CUSTOMER
        if user_id in self._admins:
            role = Role.ADMIN
        elif self._staff_channel is not None and user_id in await self._current_members():
            role = Role.STAFF
        else:
            return Role.CUSTOMER
        # A shared channel has people of other workspaces too; their own team is what counts.
        return role if await self._team_of(user_id) == own_team else Role.CUSTOMER

    def membership_changed(self, *, channel: str, user_id: str, joined: bool) -> None:
        """Slack said ``user_id`` joined or left ``channel`` (member_joined/left_channel)."""
        if channel != self._staff_channel or not user_id:
            return
        if self._members is not None:
            if joined:
                self._members.add(user_id)
            else:
                self._members.discard(user_id)
        if self._changes_while_loading is not None:
            self._changes_while_loading[user_id] = joined

    async def _team(self) -> str:
        if self._own_team is None:
            response = await self._client.auth_test()
            self._own_team = str(response["team_id"])
        return self._own_team

    async def _current_members(self) -> set[str]:
        if self._members is not None and self._clock() - self._loaded_at < self._cache_seconds:
            return self._members
        if self._loading is None:
            self._loading = asyncio.create_task(self._load_members(), name="staff-channel-members")
            self._loading.add_done_callback(_retrieved)
        # The check's time limit ends this wait, not the load: a large channel takes several
        # pages, and the next check finds the list the load under way brings.
        return await asyncio.shield(self._loading)

    async def _load_members(self) -> set[str]:
        self._changes_while_loading = {}
        try:
            members = await self._fetch_members()
        finally:
            changes, self._changes_while_loading = self._changes_while_loading, None
            self._loading = None
        for user_id, joined in changes.items():
            (members.add if joined else members.discard)(user_id)
        self._members, self._loaded_at = members, self._clock()
        return members

    async def _fetch_members(self) -> set[str]:
        assert self._staff_channel is not None
        members: set[str] = set()
        cursor: str | None = None
        for _ in range(MAX_MEMBER_PAGES):
            response = await self._client.conversations_members(
                channel=self._staff_channel, limit=MEMBERS_PAGE, cursor=cursor
            )
            members.update(str(member) for member in response.get("members") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                break
        logger.info("the staff channel has %s members", len(members))
        return members


def _retrieved(load: asyncio.Task[set[str]]) -> None:
    """Mark a load's error as seen: the checks that waited may have given up before it ended."""
    if not load.cancelled():
        load.exception()


def _brief(error: BaseException) -> str:
    """An error's kind and Slack's error code, never a token or a message's words."""
    if isinstance(error, SlackApiError) and isinstance(error.response.data, dict):
        return f"{error.response.status_code} {error.response.data.get('error', '')}".strip()
    return type(error).__name__
