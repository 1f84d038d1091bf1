"""Staff's ``/ideabot campaigns …`` in their DM with the app, via CampaignDesk and the outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.delivery.campaign_charts import campaign_chart
from bot.slack.campaign_words import (
    USAGE,
    AskToStart,
    CampaignCommand,
    CampaignStats,
    CreateCampaign,
    ListCampaigns,
    PauseCampaign,
    PreviewCampaign,
    ResumeCampaign,
    ShowUsage,
)
from handlers.campaigns.campaign import Campaign, CampaignProblem, CampaignState, NewCampaign
from handlers.campaigns.desk import CampaignDesk, Preview
from handlers.messages import (
    Button,
    ButtonsUsed,
    ConversationKey,
    OutboundAction,
    OutgoingMessage,
)
from handlers.ports import CustomerOutbox, Inbox, OutboxSignal, Store

logger = logging.getLogger(__name__)

PLATFORM = "slack"
CAMPAIGNS_REFUSAL = "Only the team can use /ideabot campaigns."
CAMPAIGNS_ONLY_IN_DM = "Use `/ideabot campaigns …` in your direct message with the app."
UNREADABLE_BUTTON = (
    "That button could not be read, so nothing was changed; "
    "type `/ideabot campaigns` for the campaigns."
)
# The buttons' payloads: "campaigns:<button>:<campaign id>:<campaign name>".
CAMPAIGNS_PAYLOAD = "campaigns:"
LIST_SHOWN = 25
# A preview shows the start of each invitation text, not all of it.
TEXT_SHOWN = 200
# Campaign ids are PostgreSQL integers.
_LARGEST_ID = 2**31 - 1


class CampaignButton(StrEnum):
    """The buttons of campaign messages: ask to start, start for real, or not."""

    START = "start"
    CONFIRM = "confirm"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class CampaignTarget:
    """A pressed button and the campaign it was shown for, by id and name."""

    button: CampaignButton
    campaign_id: int
    name: str

    @property
    def payload(self) -> str:
        """The button's payload."""
        return f"{CAMPAIGNS_PAYLOAD}{self.button.value}:{self.campaign_id}:{self.name}"


def campaign_button(label: str, button: CampaignButton, campaign: Campaign) -> Button:
    """A button about ``campaign``; its payload names it by id and name."""
    return Button(label, CampaignTarget(button, campaign.id, campaign.name).payload)


def parse_campaign_payload(payload: str) -> CampaignTarget | None:
    """The button and campaign a payload names; None if it is not one ideabot writes."""
    if not payload.startswith(CAMPAIGNS_PAYLOAD):
        return None
    button, _, rest = payload.removeprefix(CAMPAIGNS_PAYLOAD).partition(":")
    number, _, name = rest.partition(":")
    if button not in set(CampaignButton) or not name or ":" in name:
        return None
    if not (number.isascii() and number.isdigit() and len(number) <= len(str(_LARGEST_ID))):
        return None
    if not 0 < int(number) <= _LARGEST_ID:
        return None
    return CampaignTarget(CampaignButton(button), int(number), name)


@dataclass(frozen=True, slots=True)
class CampaignsAsked:
    """Staff's ``/ideabot campaigns …`` in their DM, read."""

    external_id: str
    channel: str
    user_id: str
    command: CampaignCommand


@dataclass(frozen=True, slots=True)
class CampaignsRefused:
    """Someone who is not staff asked for campaigns or pressed a campaign button."""

    external_id: str
    channel: str
    user_id: str


@dataclass(frozen=True, slots=True)
class CampaignsNotUnderstood:
    """Staff's campaign command could not be read; they get ``answer`` and nothing else."""

    external_id: str
    channel: str
    user_id: str
    answer: str


@dataclass(frozen=True, slots=True)
class CampaignClicked:
    """Staff pressed a campaign button; ``target`` is None when its payload could not be read."""

    external_id: str
    channel: str
    user_id: str
    target: CampaignTarget | None
    message_ts: str = ""
    message_text: str = ""


CampaignsRequest = CampaignsAsked | CampaignsRefused | CampaignsNotUnderstood | CampaignClicked


class CampaignsTransaction(Inbox, CustomerOutbox, Protocol):
    """What answering staff writes: the request once, and the answers to their DM."""


def _by_language(counts: dict[str, int], texts: dict[str, str]) -> str:
    return ", ".join(
        f"{language} {count}" + ("" if language in texts else " (no invitation text!)")
        for language, count in sorted(counts.items())
    )


def _about(campaign: Campaign) -> str:
    return (
        f"“{campaign.name}” ({campaign.state}) · flow {campaign.flow_id} · schedule "
        f"{campaign.schedule} · audience: {campaign.audience.describe()}"
    )


def list_text(campaigns: list[Campaign]) -> str:
    """Every campaign, newest first, a line each (the first LIST_SHOWN)."""
    if not campaigns:
        return "No campaigns yet: `/ideabot campaigns create NAME --flow FLOW --text en=TEXT`."
    lines = [f"• {_about(campaign)}" for campaign in campaigns[:LIST_SHOWN]]
    if len(campaigns) > LIST_SHOWN:
        lines.append(f"…and {len(campaigns) - LIST_SHOWN} more (`ideabot campaigns list`).")
    return "\n".join(lines)


def preview_text(preview: Preview) -> str:
    """Who a campaign would invite now, a sample of customer numbers, and its texts' openings."""
    campaign, size = preview.campaign, preview.audience
    lines = [
        _about(campaign),
        f"Would invite {size.total} customer(s) now"
        + (f": {_by_language(size.by_language, campaign.texts)}" if size.total else ""),
    ]
    if size.sample:
        sample = " · ".join(
            f"#{number} {platform} {language}" for number, platform, language in size.sample
        )
        lines.append(f"For example (customer number, platform, language): {sample}")
    for language, words in sorted(campaign.texts.items()):
        shown = words if len(words) <= TEXT_SHOWN else words[: TEXT_SHOWN - 1] + "…"
        lines.append(f"Invitation ({language}): {shown}")
    lines.append("Nothing was sent: this is a preview.")
    return "\n".join(lines)


def _confirmation(preview: Preview) -> OutgoingMessage:
    campaign, size = preview.campaign, preview.audience
    question = (
        f"Start “{campaign.name}”? It would invite {size.total} customer(s) now "
        f"({_by_language(size.by_language, campaign.texts)}) to the flow {campaign.flow_id}, "
        f"schedule {campaign.schedule}, within the respect rules. "
        "Nothing is sent until you press Yes."
    )
    return OutgoingMessage(
        question,
        (
            campaign_button("Yes, start inviting", CampaignButton.CONFIRM, campaign),
            campaign_button("Cancel", CampaignButton.CANCEL, campaign),
        ),
    )


class SlackCampaigns:
    """Answers staff's campaign commands and buttons in their DM; every answer is an outbox row."""

    def __init__(
        self,
        *,
        desk: CampaignDesk,
        store: Store[CampaignsTransaction],
        outbox_signal: OutboxSignal,
    ) -> None:
        self._desk = desk
        self._store = store
        self._outbox_signal = outbox_signal

    async def handle(self, request: CampaignsRequest) -> None:
        """Do what staff asked and queue the answer for their DM, once per request."""
        # The desk commits its own change, so the request is claimed with its answer, after it:
        # claimed first, a kill or an outage in between left it claimed and never carried out.
        # Done again, the desk's states refuse a second create, start or resume, and a second
        # pause holds back nothing more; that answer is dropped by the claim.
        answers = await self._answers(request)
        key = ConversationKey(platform=PLATFORM, chat_id=request.channel, user_id=request.user_id)
        async with self._store.transaction() as transaction:
            if not await transaction.claim_inbound(
                platform=PLATFORM, external_id=request.external_id
            ):
                return
            await transaction.enqueue(key=key, actions=answers)
        self._outbox_signal.outbox_changed()

    async def _answers(self, request: CampaignsRequest) -> list[OutboundAction]:
        match request:
            case CampaignsRefused():
                logger.info("refused a Slack user at the campaigns: not staff")
                return [OutgoingMessage(CAMPAIGNS_REFUSAL)]
            case CampaignsNotUnderstood():
                return [OutgoingMessage(request.answer)]
            case CampaignsAsked():
                actor = f"slack:{request.user_id}"
                try:
                    return [await self._command(request.command, actor=actor)]
                except CampaignProblem as problem:
                    return [OutgoingMessage(f"Nothing was changed: {problem}.")]
            case CampaignClicked():
                return await self._clicked(request)

    async def _command(self, command: CampaignCommand, *, actor: str) -> OutgoingMessage:
        match command:
            case ListCampaigns():
                return OutgoingMessage(list_text(await self._desk.all()))
            case ShowUsage():
                return OutgoingMessage(USAGE)
            case PreviewCampaign():
                return await self._preview(command.name)
            case CreateCampaign():
                return await self._create(command, actor=actor)
            case AskToStart():
                return _confirmation(await self._desk.ready_to_start(command.name))
            case PauseCampaign():
                dropped = await self._desk.pause(command.name, actor=actor)
                return OutgoingMessage(
                    f"“{command.name}” is paused; {dropped} invitation(s) not yet sent were held "
                    f"back. `/ideabot campaigns resume {command.name}` goes on."
                )
            case ResumeCampaign():
                await self._desk.resume(command.name, actor=actor)
                return OutgoingMessage(
                    f"“{command.name}” is inviting again, within the respect rules."
                )
            case CampaignStats():
                return await self._stats(command.name)

    async def _preview(self, name: str) -> OutgoingMessage:
        preview = await self._desk.preview(name)
        if preview.campaign.state is not CampaignState.DRAFT:
            return OutgoingMessage(preview_text(preview))
        start = campaign_button("Start…", CampaignButton.START, preview.campaign)
        return OutgoingMessage(preview_text(preview), (start,))

    async def _create(self, command: CreateCampaign, *, actor: str) -> OutgoingMessage:
        campaign = await self._desk.create(
            NewCampaign(
                name=command.name,
                flow_id=command.flow_id,
                texts=command.texts,
                audience=command.audience,
                schedule=command.schedule,
                created_by=actor,
            )
        )
        return OutgoingMessage(
            f"Campaign {_about(campaign)} is stored as a draft; nothing is sent yet. "
            f"Next: `/ideabot campaigns preview {campaign.name}`, then "
            f"`/ideabot campaigns start {campaign.name}`."
        )

    async def _stats(self, name: str) -> OutgoingMessage:
        campaign, figures = await self._desk.figures(name)
        if not figures:
            return OutgoingMessage(
                f"“{campaign.name}” ({campaign.state}) has invited nobody yet, "
                "so there is nothing to draw."
            )
        # The figures are read again and drawn when the row is sent, the table beside the chart.
        return OutgoingMessage("", attachments=(campaign_chart(campaign),))

    async def _clicked(self, click: CampaignClicked) -> list[OutboundAction]:
        target = click.target
        campaign = None if target is None else await self._shown(target)
        if target is None or campaign is None:
            # A forged or outdated payload changes nothing, not even the message it came from.
            return [OutgoingMessage(UNREADABLE_BUTTON)]
        used: list[OutboundAction] = []
        if click.message_ts:
            chosen = {CampaignButton.CANCEL: "Cancelled", CampaignButton.CONFIRM: "Yes"}
            said = chosen.get(target.button, "Start…")
            used.append(ButtonsUsed(click.message_ts, f"{click.message_text}\n✔ {said}"))
        try:
            return [*used, await self._pressed(target.button, campaign, click.user_id)]
        except CampaignProblem as problem:
            return [*used, OutgoingMessage(f"Nothing was changed: {problem}.")]

    async def _shown(self, target: CampaignTarget) -> Campaign | None:
        """The campaign a button was shown for: its id and name must both still match."""
        for campaign in await self._desk.all():
            if campaign.id == target.campaign_id:
                return campaign if campaign.name == target.name else None
        return None

    async def _pressed(
        self, button: CampaignButton, campaign: Campaign, user_id: str
    ) -> OutgoingMessage:
        match button:
            case CampaignButton.START:
                return _confirmation(await self._desk.ready_to_start(campaign.name))
            case CampaignButton.CANCEL:
                return OutgoingMessage(f"Nothing was changed: “{campaign.name}” stays as it was.")
            case CampaignButton.CONFIRM:
                started = await self._desk.start(campaign.name, actor=f"slack:{user_id}")
                return OutgoingMessage(
                    f"“{campaign.name}” started: {started.audience.total} customer(s) to invite. "
                    "Invitations go out in batches within the respect rules (none at night); "
                    f"`/ideabot campaigns stats {campaign.name}` shows how it goes."
                )
