"""Who a campaign may invite, as one query: its audience filter and the respect rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, select

from handlers.campaigns.audience import Audience
from handlers.campaigns.campaign import Respect
from handlers.ideas.status import IdeaStatus
from handlers.ports import ConversationStatus
from storage.privacy.records import ERASED_PLATFORM
from storage.tables import (
    CampaignInvitationRow,
    ConversationRow,
    CustomerRow,
    IdeaFollowerRow,
    IdeaRow,
    IdeaTagRow,
    table_of,
)

_CUSTOMER = table_of(CustomerRow)
_CONVERSATION = table_of(ConversationRow)
_FOLLOWER = table_of(IdeaFollowerRow)
_IDEA = table_of(IdeaRow)
_TAG = table_of(IdeaTagRow)
_INVITATION = table_of(CampaignInvitationRow)
# A conversation in these is under way: an invitation would cut into it.
_UNDER_WAY = (ConversationStatus.ACTIVE.value, ConversationStatus.WITH_STAFF.value)


def audience_query(audience: Audience, *, now: datetime) -> Select[Any]:
    """Customers who allow contact and match the filter, by number; respect aside."""
    query = (
        select(
            _CUSTOMER.c.id,
            _CUSTOMER.c.platform,
            _CUSTOMER.c.chat_id,
            _CUSTOMER.c.platform_user_id,
            _CUSTOMER.c.language,
        )
        .where(_CUSTOMER.c.platform != ERASED_PLATFORM)
        .where(_CUSTOMER.c.unreachable.is_(False))
        .where(_CUSTOMER.c.wants_invitations.is_(True))
        .order_by(_CUSTOMER.c.id)
    )
    if audience.platforms:
        query = query.where(_CUSTOMER.c.platform.in_(audience.platforms))
    if audience.languages:
        query = query.where(_CUSTOMER.c.language.in_(audience.languages))
    if audience.inactive_days is not None:
        since = now - timedelta(days=audience.inactive_days)
        query = query.where(~_conversations().where(_CONVERSATION.c.updated_at > since))
    if audience.follows:
        query = query.where(_followed().where(_FOLLOWER.c.idea_id.in_(audience.follows)))
    if audience.tags:
        tagged = select(_TAG.c.idea_id).where(_TAG.c.tag.in_(audience.tags))
        query = query.where(_followed().where(_FOLLOWER.c.idea_id.in_(tagged)))
    if audience.shipped:
        shipped = select(_IDEA.c.id).where(_IDEA.c.status == IdeaStatus.DONE.value)
        query = query.where(_followed().where(_FOLLOWER.c.idea_id.in_(shipped)))
    return query


def respectful(query: Select[Any], respect: Respect, *, now: datetime) -> Select[Any]:
    """The query without those the cap or a conversation under way keeps from an invitation."""
    recently = now - timedelta(days=respect.cap_days)
    invited_recently = (
        exists()
        .where(_INVITATION.c.customer_id == _CUSTOMER.c.id)
        .where(_INVITATION.c.created_at > recently)
    )
    under_way = _conversations().where(_CONVERSATION.c.status.in_(_UNDER_WAY))
    return query.where(~invited_recently).where(~under_way)


def not_invited_in(query: Select[Any], *, campaign_id: int, run: str) -> Select[Any]:
    """The query without those this run of the campaign invited already."""
    invited = (
        exists()
        .where(_INVITATION.c.customer_id == _CUSTOMER.c.id)
        .where(_INVITATION.c.campaign_id == campaign_id)
        .where(_INVITATION.c.run == run)
    )
    return query.where(~invited)


def speaking(query: Select[Any], languages: tuple[str, ...]) -> Select[Any]:
    """The query's customers who speak one of the languages."""
    return query.where(_CUSTOMER.c.language.in_(languages))


def not_speaking(query: Select[Any], languages: tuple[str, ...]) -> Select[Any]:
    """The query's customers who speak none of the languages, unordered."""
    return query.where(_CUSTOMER.c.language.not_in(languages)).order_by(None)


def customer_ids(query: Select[Any]) -> Select[Any]:
    """The query's customer numbers alone, unordered (to combine with another)."""
    return query.with_only_columns(_CUSTOMER.c.id).order_by(None)


def _conversations() -> Any:
    return exists().where(_CONVERSATION.c.customer_id == _CUSTOMER.c.id)


def _followed() -> Any:
    return exists().where(_FOLLOWER.c.customer_id == _CUSTOMER.c.id)
