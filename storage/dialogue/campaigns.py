"""A customer's answer to an invitation, inside their turn's transaction."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import CampaignInvitationRow, CampaignRow, CustomerRow, table_of
from storage.types import utc_now

_CAMPAIGN = table_of(CampaignRow)
_INVITATION = table_of(CampaignInvitationRow)
_CUSTOMER = table_of(CustomerRow)


class CampaignTransactionPart:
    """The invitation methods of the turn's transaction (mixed into SqlDialogueTransaction)."""

    _session: AsyncSession

    async def campaign_flow(self, *, campaign_id: int) -> str | None:
        """The flow the campaign opens; None if there is no such campaign."""
        found = await self._session.execute(
            select(_CAMPAIGN.c.flow_id).where(_CAMPAIGN.c.id == campaign_id)
        )
        flow_id: str | None = found.scalar()
        return flow_id

    async def stop_invitations(self, *, customer_id: int, campaign_id: int) -> None:
        """Invite the customer no more, and count the opt-out for the campaign."""
        now = utc_now()
        await self._session.execute(
            update(_CUSTOMER)
            .where(_CUSTOMER.c.id == customer_id)
            .values(wants_invitations=False, updated_at=now)
        )
        await self._session.execute(
            update(_INVITATION)
            .where(_INVITATION.c.customer_id == customer_id)
            .where(_INVITATION.c.campaign_id == campaign_id)
            .where(_INVITATION.c.opted_out_at.is_(None))
            .values(opted_out_at=now)
        )

    async def wants_invitations(self, *, customer_id: int) -> bool:
        """Whether campaigns may invite the customer (they did not opt out, or came back)."""
        found = await self._session.execute(
            select(_CUSTOMER.c.wants_invitations).where(_CUSTOMER.c.id == customer_id)
        )
        return bool(found.scalar())

    async def set_wants_invitations(self, *, customer_id: int, wants: bool) -> None:
        """Remember whether campaigns may invite the customer, chosen by /invitations."""
        await self._session.execute(
            update(_CUSTOMER)
            .where(_CUSTOMER.c.id == customer_id)
            .values(wants_invitations=wants, updated_at=utc_now())
        )
