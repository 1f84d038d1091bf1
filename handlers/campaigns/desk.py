"""The campaign use cases: create, preview, start, pause, resume, figures, and the tick."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from handlers.campaigns.audience import Audience, printable
from handlers.campaigns.campaign import (
    AudienceSize,
    Campaign,
    CampaignClash,
    CampaignFigures,
    CampaignProblem,
    CampaignState,
    NewCampaign,
    Respect,
)
from handlers.campaigns.invitation import invitation_message
from handlers.campaigns.schedule import CampaignSchedule, ScheduleProblem, parse_schedule
from handlers.ports import (
    Campaigns,
    FlowCatalog,
    InvitationBatch,
    InvitationRound,
    OutboxSignal,
)

logger = logging.getLogger(__name__)
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_SAMPLE = 5
# An invitation is one chat message: Slack shows 3,000 characters in one, Telegram 4,096.
LONGEST_INVITATION = 2000
# A century of silence; more is no audience, and the date it names is off the calendar.
MOST_INACTIVE_DAYS = 36_500
# Ideas are numbered in a 32-bit integer column.
LARGEST_IDEA_NUMBER = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Preview:
    """A campaign and who it would invite now."""

    campaign: Campaign
    audience: AudienceSize


class CampaignDesk:
    """What staff and the command line do with campaigns, each step checked before it acts."""

    def __init__(
        self,
        *,
        campaigns: Campaigns,
        flows: FlowCatalog,
        respect: Respect,
        outbox_signal: OutboxSignal,
        clock: Callable[[], datetime],
        batch_size: int,
    ) -> None:
        self._campaigns = campaigns
        self._flows = flows
        self._respect = respect
        self._outbox_signal = outbox_signal
        self._clock = clock
        self._batch_size = batch_size

    async def create(self, campaign: NewCampaign) -> Campaign:
        """Store a campaign as a draft, after checking its name, flow, texts and schedule."""
        if _NAME.fullmatch(campaign.name) is None:
            raise CampaignProblem(
                f"“{campaign.name}” cannot name a campaign: use lower-case letters, digits, "
                "- and _ (up to 64)"
            )
        if self._flows.live(campaign.flow_id) is None:
            raise CampaignProblem(
                f"there is no live flow “{campaign.flow_id}” (see `ideabot flows list`)"
            )
        _check_texts(campaign.texts)
        _check_audience(campaign.audience)
        self._schedule_of(campaign.schedule)
        created = await self._campaigns.create(campaign)
        if created is None:
            raise CampaignProblem(f"there is already a campaign called “{campaign.name}”")
        return created

    async def all(self) -> list[Campaign]:
        """Every campaign, the newest first."""
        return await self._campaigns.all()

    async def preview(self, name: str) -> Preview:
        """The campaign and how many it would invite now, with a sample and no names."""
        campaign = await self._named(name)
        return Preview(campaign, await self._size(campaign.audience))

    async def start(self, name: str, *, actor: str) -> Preview:
        """Start inviting; refused for an empty audience, a missing text or shared customers."""
        ready = await self.ready_to_start(name)
        await self._run_alone(ready.campaign, expected=CampaignState.DRAFT, actor=actor)
        return ready

    async def ready_to_start(self, name: str) -> Preview:
        """Who a start would invite now, changing nothing; CampaignProblem if it would refuse."""
        campaign = await self._named(name)
        if campaign.state is not CampaignState.DRAFT:
            raise CampaignProblem(f"“{name}” is {campaign.state}: only a draft can be started")
        self._schedule_of(campaign.schedule)
        if self._flows.live(campaign.flow_id) is None:
            raise CampaignProblem(f"the flow “{campaign.flow_id}” is no longer live")
        size = await self._size(campaign.audience)
        if size.total == 0:
            raise CampaignProblem(f"“{name}” would invite nobody now (its audience is empty)")
        _refuse_missing_texts(campaign, size)
        await self._refuse_shared_customers(campaign)
        return Preview(campaign, size)

    async def pause(self, name: str, *, actor: str) -> int:
        """Stop inviting and drop the invitations not yet sent; how many were dropped."""
        campaign = await self._named(name)
        if campaign.state is CampaignState.RUNNING:
            await self._move(campaign, CampaignState.RUNNING, CampaignState.PAUSED, actor)
        elif campaign.state is not CampaignState.PAUSED:
            raise CampaignProblem(f"“{name}” is {campaign.state}: only a running one can pause")
        # Also after an earlier pause: a process stopped between the two steps left rows.
        return await self._campaigns.hold(campaign_id=campaign.id)

    async def resume(self, name: str, *, actor: str) -> None:
        """Invite again where the campaign stopped; the dropped invitations are sent anew."""
        campaign = await self._named(name)
        if campaign.state is not CampaignState.PAUSED:
            raise CampaignProblem(f"“{name}” is {campaign.state}: only a paused one can resume")
        # Its audience may have changed while it was held.
        _refuse_missing_texts(campaign, await self._size(campaign.audience))
        await self._run_alone(campaign, expected=CampaignState.PAUSED, actor=actor)

    async def figures(self, name: str) -> tuple[Campaign, list[CampaignFigures]]:
        """The campaign's figures per language, with the deliveries made since the last tick."""
        campaign = await self._named(name)
        await self._campaigns.record_deliveries()
        return campaign, await self._campaigns.figures(campaign_id=campaign.id)

    async def tick(self) -> int:
        """Enqueue one batch of each running campaign's invitations (none at night); how many."""
        now = self._clock()
        await self._campaigns.record_deliveries()
        if self._respect.is_quiet(now):
            return 0
        invited = 0
        without_text: dict[int, dict[str, int]] = {}
        for campaign in await self._campaigns.running():
            batch = await self._invite(campaign, now)
            invited += batch.invited
            if batch.without_text:
                without_text[campaign.id] = batch.without_text
        if invited:
            self._outbox_signal.outbox_changed()
        if without_text:
            _log_without_text(without_text)
        return invited

    async def _invite(self, campaign: Campaign, now: datetime) -> InvitationBatch:
        schedule = self._schedule_of(campaign.schedule, check=False)
        run = schedule.current_run(now, self._respect.zone)
        if run is None:
            return InvitationBatch(invited=0, without_text={})
        messages = {
            language: invitation_message(
                campaign_id=campaign.id, invitation_text=words, language=language
            )
            for language, words in campaign.texts.items()
        }
        invitation_round = InvitationRound(
            campaign_id=campaign.id,
            run=run,
            audience=campaign.audience,
            messages=messages,
            respect=self._respect,
            now=now,
            limit=self._batch_size,
        )
        batch = await self._campaigns.invite(invitation_round)
        through = schedule.next_firing(now, self._respect.zone) is None
        if batch.invited == 0 and through:
            # False when another process's tick (or a pause) came first: nothing to do then.
            await self._campaigns.set_state(
                campaign_id=campaign.id,
                state=CampaignState.DONE,
                expected=CampaignState.RUNNING,
                actor="campaign tick",
            )
        logger.info(
            "campaign %s: %d invitation(s) enqueued for run %s", campaign.id, batch.invited, run
        )
        return batch

    async def _named(self, name: str) -> Campaign:
        campaign = await self._campaigns.named(name)
        if campaign is None:
            raise CampaignProblem(f"there is no campaign “{name}” (see `ideabot campaigns list`)")
        return campaign

    async def _size(self, audience: Audience) -> AudienceSize:
        # Also for a campaign stored before `create` checked its audience.
        _check_audience(audience)
        return await self._campaigns.audience_size(
            audience=audience, respect=self._respect, now=self._clock(), sample=_SAMPLE
        )

    def _schedule_of(self, rule: str, *, check: bool = True) -> CampaignSchedule:
        try:
            return parse_schedule(rule, now=self._clock(), zone=self._respect.zone, check=check)
        except ScheduleProblem as problem:
            raise CampaignProblem(str(problem)) from None

    async def _refuse_shared_customers(self, campaign: Campaign) -> None:
        clash = await self._campaigns.clash(
            campaign_id=campaign.id, audience=campaign.audience, now=self._clock()
        )
        if clash is not None:
            raise _clash_problem(clash)

    async def _run_alone(self, campaign: Campaign, *, expected: CampaignState, actor: str) -> None:
        """Run the campaign, checked against the running ones in the same locked transaction."""
        outcome = await self._campaigns.run_alone(
            campaign_id=campaign.id,
            audience=campaign.audience,
            expected=expected,
            actor=actor,
            now=self._clock(),
        )
        if isinstance(outcome, CampaignClash):
            raise _clash_problem(outcome)
        if not outcome:
            raise CampaignProblem(f"“{campaign.name}” changed meanwhile: try again")

    async def _move(
        self, campaign: Campaign, expected: CampaignState, state: CampaignState, actor: str
    ) -> None:
        moved = await self._campaigns.set_state(
            campaign_id=campaign.id, state=state, expected=expected, actor=actor
        )
        if not moved:
            raise CampaignProblem(f"“{campaign.name}” changed meanwhile: try again")


def _log_without_text(without_text: dict[int, dict[str, int]]) -> None:
    """One line per tick: how many a missing text left out, by campaign and language."""
    total = sum(sum(counts.values()) for counts in without_text.values())
    # Numbers and language codes only: no customer names, no invitation texts.
    where = "; ".join(
        f"campaign {campaign_id}: "
        + ", ".join(f"{language} {count}" for language, count in sorted(counts.items()))
        for campaign_id, counts in sorted(without_text.items())
    )
    logger.info(
        "campaign tick: %d customer(s) not invited, no invitation text in their language (%s)",
        total,
        where,
    )


def _clash_problem(clash: CampaignClash) -> CampaignProblem:
    """The one sentence for a start or resume while another campaign invites the same people."""
    return CampaignProblem(
        f"“{clash.name}” is inviting {clash.shared} of the same customers: pause it or "
        "wait until it is done"
    )


def _refuse_missing_texts(campaign: Campaign, size: AudienceSize) -> None:
    """Refuse a campaign whose audience speaks a language it has no invitation text in."""
    missing = sorted(set(size.by_language) - set(campaign.texts))
    if missing:
        raise CampaignProblem(
            f"“{campaign.name}” has no invitation text in {', '.join(missing)}, which "
            f"{sum(size.by_language[language] for language in missing)} of its audience speak"
        )


def _check_texts(texts: dict[str, str]) -> None:
    """Refuse a campaign without an invitation, or with one no chat shows as one message."""
    if not texts or not all(words.strip() for words in texts.values()):
        raise CampaignProblem("a campaign needs an invitation text: --text LANGUAGE=TEXT")
    for language, words in texts.items():
        if len(words) > LONGEST_INVITATION:
            raise CampaignProblem(
                f"the {language} invitation is {len(words)} characters long: at most "
                f"{LONGEST_INVITATION} fit in one chat message"
            )


def _check_audience(audience: Audience) -> None:
    """Refuse filters no customer can match and the database cannot be asked about."""
    for option, values in (
        ("--platform", audience.platforms),
        ("--language", audience.languages),
        ("--tag", audience.tags),
    ):
        for value in values:
            if not value.isprintable():
                raise CampaignProblem(
                    f"a {option} cannot hold control characters: “{printable(value)}”"
                )
    if audience.inactive_days is not None and audience.inactive_days > MOST_INACTIVE_DAYS:
        raise CampaignProblem(f"--inactive-days must be at most {MOST_INACTIVE_DAYS} (a century)")
    for idea_id in audience.follows:
        if not 0 < idea_id <= LARGEST_IDEA_NUMBER:
            raise CampaignProblem(
                f"there is no idea #{idea_id} to follow (see `ideabot ideas list`)"
            )
