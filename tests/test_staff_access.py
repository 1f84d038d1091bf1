"""The one access rule, asked of the Slack double over real HTTP: staff, admin, or neither."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import staff_access
from bot.slack.channel import SlackUsers
from bot.slack.staff_access import AccessUnknown, Role, StaffAccess
from tests.doubles.slack_api import (
    BOT_TOKEN,
    OTHER_TEAM_ID,
    STAFF_CHANNEL,
    TEAM_ID,
    SlackPerson,
    SlackWebApiDouble,
)
from tests.waiting import eventually

ANNE = SlackPerson("U0ANNE", "Anne Staff")
PARTNER = SlackPerson("U0PARTNER", "Pat Partner", team_id=OTHER_TEAM_ID)
BOSS = SlackPerson("U0BOSS", "Bo Boss")
SIRI = SlackPerson("U0SIRI", "Siri")


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackWebApiDouble]:
    double = SlackWebApiDouble()
    double.join(ANNE)
    double.join(PARTNER)  # a shared channel: a person of another workspace is in it
    double.add(BOSS)
    double.add(SIRI)
    async with double.running():
        yield double


def access_to(
    slack_api: SlackWebApiDouble,
    clock: Clock | None = None,
    *,
    staff_channel: str | None = STAFF_CHANNEL,
) -> StaffAccess:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_api.base_url)
    users = SlackUsers(client)

    async def team_of(user_id: str) -> str:
        return (await users.get(user_id)).team_id

    return StaffAccess(
        client=client,
        staff_channel=staff_channel,
        admin_user_ids=frozenset({BOSS.user_id}),
        team_of=team_of,
        cache_seconds=300.0,
        clock=clock or Clock(),
    )


def member_lookups(slack_api: SlackWebApiDouble) -> int:
    return sum(1 for call in slack_api.calls if call.method == "conversations.members")


async def test_a_member_of_the_staff_channel_in_our_workspace_is_staff(
    slack_api: SlackWebApiDouble,
) -> None:
    access = access_to(slack_api)
    assert await access.role_of(user_id=ANNE.user_id, team_id=TEAM_ID) is Role.STAFF
    assert await access.role_of(user_id=ANNE.user_id, team_id="") is Role.STAFF
    assert await access.role_of(user_id=SIRI.user_id, team_id=TEAM_ID) is Role.CUSTOMER


async def test_a_person_of_another_workspace_in_the_channel_is_never_staff(
    slack_api: SlackWebApiDouble,
) -> None:
    access = access_to(slack_api)
    assert await access.role_of(user_id=PARTNER.user_id, team_id=OTHER_TEAM_ID) is Role.CUSTOMER
    # Even when the payload names our team (the channel's host), their own team decides.
    assert await access.role_of(user_id=PARTNER.user_id, team_id=TEAM_ID) is Role.CUSTOMER


async def test_an_admin_is_admin_outside_the_channel_but_not_from_another_team(
    slack_api: SlackWebApiDouble,
) -> None:
    access = access_to(slack_api)
    assert await access.role_of(user_id=BOSS.user_id, team_id=TEAM_ID) is Role.ADMIN
    assert await access.role_of(user_id=BOSS.user_id, team_id=OTHER_TEAM_ID) is Role.CUSTOMER
    without_channel = access_to(slack_api, staff_channel=None)
    assert await without_channel.role_of(user_id=BOSS.user_id, team_id=TEAM_ID) is Role.ADMIN
    assert await without_channel.role_of(user_id=ANNE.user_id, team_id=TEAM_ID) is Role.CUSTOMER


async def test_joins_and_leaves_take_effect_at_once_and_the_list_is_refreshed_after_its_time(
    slack_api: SlackWebApiDouble,
) -> None:
    clock = Clock()
    access = access_to(slack_api, clock)
    assert await access.role_of(user_id=ANNE.user_id, team_id=TEAM_ID) is Role.STAFF

    slack_api.leave(ANNE)
    access.membership_changed(channel=STAFF_CHANNEL, user_id=ANNE.user_id, joined=False)
    assert await access.role_of(user_id=ANNE.user_id, team_id=TEAM_ID) is Role.CUSTOMER

    slack_api.join(SIRI)
    access.membership_changed(channel="C0OTHER", user_id=SIRI.user_id, joined=True)
    assert await access.role_of(user_id=SIRI.user_id, team_id=TEAM_ID) is Role.CUSTOMER
    access.membership_changed(channel=STAFF_CHANNEL, user_id=SIRI.user_id, joined=True)
    assert await access.role_of(user_id=SIRI.user_id, team_id=TEAM_ID) is Role.STAFF
    assert member_lookups(slack_api) == 1  # the events were enough

    slack_api.leave(SIRI)  # a leave this process never heard of
    clock.now += 301
    assert await access.role_of(user_id=SIRI.user_id, team_id=TEAM_ID) is Role.CUSTOMER
    assert member_lookups(slack_api) == 2


async def test_every_page_of_a_large_channel_is_read(slack_api: SlackWebApiDouble) -> None:
    slack_api.channel_members[STAFF_CHANNEL] = [f"U{n:06d}" for n in range(450)]
    last = slack_api.join(SlackPerson("U0LAST", "Last In"))
    access = access_to(slack_api)
    assert await access.role_of(user_id=last.user_id, team_id=TEAM_ID) is Role.STAFF
    assert member_lookups(slack_api) == 3
    cursors = [
        c.params.get("cursor") for c in slack_api.calls if c.method == "conversations.members"
    ]
    assert cursors[0] is None
    assert all(cursors[1:])


@pytest.mark.parametrize("method", ["conversations.members", "users.info"])
async def test_when_slack_cannot_say_nobody_gets_in(
    slack_api: SlackWebApiDouble, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    slack_api.errors[method] = "missing_scope" if method == "conversations.members" else "fatal"
    access = access_to(slack_api)
    with pytest.raises(AccessUnknown):
        await access.role_of(user_id=ANNE.user_id, team_id=TEAM_ID)
    assert "cannot check whether a Slack user is staff" in caplog.text
    assert ANNE.user_id not in caplog.text
    del slack_api.errors[method]
    assert await access.role_of(user_id=ANNE.user_id, team_id=TEAM_ID) is Role.STAFF


async def test_slack_down_is_refused_too(slack_api: SlackWebApiDouble) -> None:
    slack_api.down = True
    with pytest.raises(AccessUnknown):
        await access_to(slack_api).role_of(user_id=ANNE.user_id, team_id=TEAM_ID)


class SlowMembersClient(AsyncWebClient):
    """The double's client, but conversations.members answers only once the test lets it."""

    def __init__(self, *, base_url: str) -> None:
        super().__init__(token=BOT_TOKEN, base_url=base_url)
        self.gate = asyncio.Event()
        self.member_calls = 0

    async def conversations_members(self, **kwargs: Any) -> Any:
        self.member_calls += 1
        await self.gate.wait()
        return await super().conversations_members(**kwargs)


async def test_a_member_list_slower_than_one_check_is_not_thrown_away(
    slack_api: SlackWebApiDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staff_access, "CHECK_TIMEOUT_SECONDS", 0.05)
    client = SlowMembersClient(base_url=slack_api.base_url)
    users = SlackUsers(client)

    async def team_of(user_id: str) -> str:
        return (await users.get(user_id)).team_id

    access = StaffAccess(
        client=client,
        staff_channel=STAFF_CHANNEL,
        admin_user_ids=frozenset(),
        team_of=team_of,
        cache_seconds=300.0,
        clock=Clock(),
    )
    with pytest.raises(AccessUnknown):
        await access.role_of(user_id=ANNE.user_id, team_id=TEAM_ID)
    client.gate.set()  # the list arrives after the first check gave up

    async def staff() -> bool:
        try:
            return await access.role_of(user_id=ANNE.user_id, team_id=TEAM_ID) is Role.STAFF
        except AccessUnknown:
            return False

    await eventually(staff, what="Anne known as staff")
    # The first load went on past its check: it was not cancelled and started over.
    assert client.member_calls == 1
