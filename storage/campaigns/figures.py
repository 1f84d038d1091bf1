"""What one campaign came to, per language: invited, delivered, started, finished, ideas, out."""

from __future__ import annotations

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns.campaign import CampaignFigures
from handlers.ideas.status import IdeaStatus
from handlers.ports import ConversationStatus
from storage.tables import CampaignInvitationRow, ConversationRow, IdeaRow, table_of

_INVITATION = table_of(CampaignInvitationRow)
_CONVERSATION = table_of(ConversationRow)
_IDEA = table_of(IdeaRow)
# A flow run to its end: finished, or closed after staff took it over.
_FINISHED = (ConversationStatus.FINISHED.value, ConversationStatus.CLOSED.value)


async def campaign_figures(session: AsyncSession, *, campaign_id: int) -> list[CampaignFigures]:
    """The campaign's figures per language of its invitations, in language order."""
    invitations = (
        select(
            _INVITATION.c.language,
            func.count(),
            func.count(_INVITATION.c.delivered_at),
            func.count(_INVITATION.c.opted_out_at),
        )
        .where(_INVITATION.c.campaign_id == campaign_id)
        .group_by(_INVITATION.c.language)
    )
    figures = {
        language: CampaignFigures(language, invited, delivered, opted_out=opted_out)
        for language, invited, delivered, opted_out in await session.execute(invitations)
    }
    # A customer invited by several runs counts once, in the language of their first one.
    invited_in = (
        select(_INVITATION.c.customer_id, func.min(_INVITATION.c.language).label("language"))
        .where(_INVITATION.c.campaign_id == campaign_id)
        .group_by(_INVITATION.c.customer_id)
        .subquery()
    )
    recorded = _IDEA.c.status != IdeaStatus.DRAFT.value
    conversations = (
        select(
            invited_in.c.language,
            func.count(distinct(_CONVERSATION.c.id)),
            func.count(distinct(_CONVERSATION.c.id)).filter(_CONVERSATION.c.status.in_(_FINISHED)),
            func.count(distinct(_IDEA.c.id)).filter(recorded),
        )
        .select_from(_CONVERSATION)
        .join(invited_in, invited_in.c.customer_id == _CONVERSATION.c.customer_id)
        .outerjoin(_IDEA, _IDEA.c.conversation_id == _CONVERSATION.c.id)
        .where(_CONVERSATION.c.campaign_id == campaign_id)
        .group_by(invited_in.c.language)
    )
    for language, started, finished, ideas in await session.execute(conversations):
        invited = figures.get(language, CampaignFigures(language))
        figures[language] = CampaignFigures(
            language,
            invited.invited,
            invited.delivered,
            started,
            finished,
            ideas,
            invited.opted_out,
        )
    return [figures[language] for language in sorted(figures)]
