"""Admins work on flows in their DM with the app: upload, Try a draft, publish, roll back, Stats."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.files import FileSource
from bot.delivery.worker import PermanentDeliveryError
from bot.slack.flow_requests import (
    FLOW_ACTION_PREFIX,
    FlowButton,
    FlowClick,
    FlowNotUnderstood,
    FlowOverview,
    FlowRefused,
    FlowRequest,
    FlowStatsAsked,
    FlowTarget,
    FlowTry,
    FlowUpload,
)
from bot.slack.flow_stats import (
    RECENT,
    FlowProgress,
    SlackFlowStats,
    in_progress_text,
    recent_text,
)
from bot.slack.format import escape
from bot.slack.stats_words import StatsQuery
from bot.slack.translate import PLATFORM
from handlers.dialogue.trial import FlowTrials, TrialStart
from handlers.flows.diff import describe_changes
from handlers.flows.export import flow_yaml
from handlers.flows.loader import FlowFileError, LoadedFlow, flow_checksum
from handlers.flows.upload import (
    MAX_UPLOAD_BYTES,
    NOT_ADMIN,
    TOO_LARGE,
    UploadRefused,
    clash,
    problems_reply,
    read_upload,
)
from handlers.flows.versions import (
    NOTHING_LIVE,
    ChangedMeanwhile,
    FlowAction,
    FlowDraft,
    FlowLibraryError,
    FlowSummary,
    UnknownDraft,
    UnknownFlow,
)
from handlers.messages import ConversationKey, IncomingMessage
from handlers.ports import FlowLibrary
from storage.types import utc_now

logger = logging.getLogger(__name__)

# How many entries of a flow's audit trail the History button shows, newest last.
HISTORY_SHOWN = 15
# Slack refuses a section of more than 3000 characters; a long list of problems is cut.
SECTION_LIMIT = 2900
# A message's fallback text (notifications); Slack cuts it at 40,000 characters anyway.
FALLBACK_LIMIT = 3000
NO_DRAFT_ON_BUTTON = "That button does not name a draft, so nothing was changed."


def _button(label: str, button: FlowButton, target: FlowTarget, *, style: str = "") -> Any:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": FLOW_ACTION_PREFIX + button.value,
        "value": target.as_value(),
    }
    if style:
        element["style"] = style
    return element


def _message(text: str, buttons: list[Any]) -> list[dict[str, Any]]:
    shown = escape(text)
    if len(shown) > SECTION_LIMIT:
        shown = shown[:SECTION_LIMIT] + "…"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": shown}}]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


def _summary_line(summary: FlowSummary) -> str:
    return (
        f"*{summary.flow_id}* ({summary.name or 'no name'}): live version "
        f"{summary.live_version}, published by {summary.published_by} on "
        f"{summary.published_at:%Y-%m-%d %H:%M} UTC; {summary.versions} versions, "
        f"{summary.drafts} drafts"
    )


def _refusal(error: FlowLibraryError) -> str:
    """Why a change was refused, saying once that nothing was changed."""
    if isinstance(error, ChangedMeanwhile):
        return (
            f"Nothing was changed: flow '{error.flow_id}' was changed by someone else just now; "
            "see its History and try again."
        )
    return f"Nothing was changed: {error}."


def _live_stats(click: FlowClick) -> FlowStatsAsked:
    """The Stats button asks for the live version's funnel, all conversations."""
    return FlowStatsAsked(
        external_id=click.external_id,
        channel=click.channel,
        user_id=click.user_id,
        query=StatsQuery(flow_id=click.target.flow_id),
    )


class SlackFlowAdmin:
    """Answers admins' flow requests in their direct message; the library keeps the audit trail."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        library: FlowLibrary,
        files: FileSource,
        stats: SlackFlowStats,
        progress: FlowProgress,
        trials: FlowTrials | None = None,
    ) -> None:
        self._client = client
        self._library = library
        self._files = files
        self._stats = stats
        self._progress = progress
        self._trials = trials

    async def handle(self, request: FlowRequest) -> None:
        """Do what the admin asked and answer in the same direct message."""
        match request:
            case FlowRefused():
                logger.info("refused a Slack user at the flows: not an admin")
                await self._say(request.channel, NOT_ADMIN)
            case FlowUpload():
                await self._upload(request)
            case FlowOverview():
                await self._overview(request.channel)
            case FlowClick():
                await self._click(request)
            case FlowStatsAsked():
                await self._stats.answer(request)
            case FlowNotUnderstood():
                await self._say(request.channel, request.answer)
            case FlowTry():
                await self._try(request)

    async def take_trial_turn(self, message: IncomingMessage) -> bool:
        """An admin's words or click in their DM, if a trial takes it (see ``FlowTrials.take``)."""
        return self._trials is not None and await self._trials.take(message)

    async def _say(self, channel: str, text: str, buttons: list[Any] | None = None) -> None:
        blocks = _message(text, buttons or [])
        # The text is the notification's fallback; the blocks carry the message itself.
        fallback = text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"
        await self._client.chat_postMessage(channel=channel, text=fallback, blocks=blocks)

    async def _upload(self, upload: FlowUpload) -> None:
        name = upload.file.file_name or "the file"
        if (upload.file.size_bytes or 0) > MAX_UPLOAD_BYTES:
            await self._say(upload.channel, TOO_LARGE)
            return
        try:
            fetched = await self._files.fetch(upload.file)
        except PermanentDeliveryError as error:
            await self._say(upload.channel, f"{error}; nothing was stored.")
            return
        if len(fetched.data) > MAX_UPLOAD_BYTES:
            await self._say(upload.channel, TOO_LARGE)
            return
        try:
            # PyYAML is pure Python: in a thread, a large file does not stall other chats.
            flow = await asyncio.to_thread(read_upload, fetched.data, name=name)
        except UploadRefused as error:
            await self._say(upload.channel, str(error))
            return
        except FlowFileError as error:
            text = fetched.data.decode("utf-8", errors="replace")
            reply = await asyncio.to_thread(problems_reply, name, text, error.problems)
            await self._say(upload.channel, reply)
            return
        await self._draft(upload, flow, name)

    async def _draft(self, upload: FlowUpload, flow: LoadedFlow, name: str) -> None:
        flow_id = flow.definition.id
        existing = {summary.flow_id for summary in await self._library.summaries()}
        refusal = clash(name, flow_id, existing)
        if refusal is not None:
            await self._say(upload.channel, refusal)
            return
        try:
            live = await self._library.stored(flow_id=flow_id)
        except UnknownFlow:
            live = None
        draft = await self._draft_once(flow, actor=f"slack:{upload.user_id}")
        live_version = live.definition.version if live is not None else None
        changes = describe_changes(live.definition if live else None, flow.definition)
        against = f"live version {live_version}" if live_version else "nothing live yet"
        target = FlowTarget(
            flow_id=flow_id, draft_id=draft.draft_id, seen_live=live_version or NOTHING_LIVE
        )
        said = "\n".join(f"• {change}" for change in changes) or "• no change from it"
        await self._say(
            upload.channel,
            f"Draft {draft.draft_id} of flow '{flow_id}' is stored (against {against}). "
            f"What it changes:\n{said}\nCustomers see nothing of it until it is published.",
            [
                _button("Try", FlowButton.TRY, target),
                _button("Publish", FlowButton.PUBLISH, target, style="primary"),
                _button("Discard", FlowButton.DISCARD, target),
            ],
        )

    async def _draft_once(self, flow: LoadedFlow, *, actor: str) -> FlowDraft:
        """The admin's draft of this content: a handling tried again must not store it twice."""
        for kept in await self._library.drafts(flow_id=flow.definition.id):
            if kept.created_by == actor and flow_checksum(kept.definition) == flow.checksum:
                return kept
        return await self._library.draft(flow, actor=actor)

    async def _overview(self, channel: str) -> None:
        summaries = await self._library.summaries()
        if not summaries:
            await self._say(channel, "No flow is published yet: upload a flow file here.")
            return
        under_way = await self._progress.in_progress()
        recent_since = utc_now() - RECENT
        for summary in summaries:
            target = FlowTarget(flow_id=summary.flow_id, seen_live=summary.live_version)
            buttons = [
                _button("Download", FlowButton.DOWNLOAD, target),
                _button("History", FlowButton.HISTORY, target),
                _button("Stats", FlowButton.STATS, target),
                _button("Roll back", FlowButton.ROLLBACK, target),
            ]
            if summary.drafts:
                newest = (await self._library.drafts(flow_id=summary.flow_id))[-1]
                tried = FlowTarget(
                    flow_id=summary.flow_id,
                    draft_id=newest.draft_id,
                    seen_live=summary.live_version,
                )
                buttons.append(_button(f"Try draft {newest.draft_id}", FlowButton.TRY, tried))
            recent = await self._progress.completion(
                flow_id=summary.flow_id, version=summary.live_version, since=recent_since
            )
            await self._say(
                channel,
                f"{_summary_line(summary)}\n"
                f"In progress: {in_progress_text(under_way.get(summary.flow_id, {}))}\n"
                f"Last 30 days: {recent_text(recent)}",
                buttons,
            )

    async def _try(self, request: FlowTry) -> None:
        """Start a trial of the draft (the flow's newest, when none is named) in the admin's DM."""
        if self._trials is None:
            await self._say(request.channel, "Trying drafts is not available here.")
            return
        if not request.flow_id:
            await self._say(request.channel, "Name the flow to try: /ideabot flows try NAME.")
            return
        drafts = [
            draft
            for draft in await self._library.drafts(flow_id=request.flow_id)
            if request.draft_id is None or draft.draft_id == request.draft_id
        ]
        if not drafts:
            which = "draft" if request.draft_id is None else f"draft {request.draft_id}"
            await self._say(
                request.channel,
                f"Flow '{request.flow_id}' has no {which} to try: upload its file here first.",
            )
            return
        try:
            live: int = (await self._library.stored(flow_id=request.flow_id)).definition.version
        except UnknownFlow:
            live = NOTHING_LIVE
        await self._trials.start(
            TrialStart(
                external_id=request.external_id,
                key=ConversationKey(
                    platform=PLATFORM, chat_id=request.channel, user_id=request.user_id
                ),
                draft=drafts[-1],
                seen_live=live,
                language_code=request.language_code,
            )
        )

    async def _click(self, click: FlowClick) -> None:
        target = click.target
        try:
            match click.button:
                case FlowButton.PUBLISH:
                    await self._confirm(click, f"Publish draft {target.draft_id}", "publish")
                case FlowButton.ROLLBACK:
                    await self._confirm(click, "Roll back", "rollback")
                case FlowButton.PUBLISH_CONFIRMED | FlowButton.ROLLBACK_CONFIRMED:
                    await self._change(click)
                case FlowButton.DISCARD:
                    await self._discard(click)
                case FlowButton.DOWNLOAD:
                    await self._download(click)
                case FlowButton.HISTORY:
                    await self._history(click)
                case FlowButton.STATS:
                    await self._stats.answer(_live_stats(click))
                case FlowButton.CANCEL:
                    await self._say(click.channel, "Nothing was changed.")
        except FlowLibraryError as error:
            await self._say(click.channel, _refusal(error))

    async def _confirm(self, click: FlowClick, what: str, kind: str) -> None:
        """Ask once more before customers see a change: the second button does it."""
        target = click.target
        confirmed = (
            FlowButton.PUBLISH_CONFIRMED if kind == "publish" else FlowButton.ROLLBACK_CONFIRMED
        )
        await self._say(
            click.channel,
            f"{what} of flow '{target.flow_id}' (live now: version {target.seen_live or '-'})? "
            "New conversations follow it at once; conversations under way keep their version.",
            [
                _button(f"Yes, {what.lower()}", confirmed, target, style="danger"),
                _button("Cancel", FlowButton.CANCEL, target),
            ],
        )

    async def _change(self, click: FlowClick) -> None:
        target = click.target
        actor = f"slack:{click.user_id}"
        if click.button is FlowButton.PUBLISH_CONFIRMED:
            if target.draft_id is None:
                await self._say(click.channel, NO_DRAFT_ON_BUTTON)
                return
            try:
                published = await self._library.publish_draft(
                    flow_id=target.flow_id,
                    draft_id=target.draft_id,
                    actor=actor,
                    seen_live=target.seen_live,
                )
            except UnknownDraft:
                await self._say(click.channel, await self._gone_draft(target, target.draft_id))
                return
        else:
            published = await self._library.rollback(
                flow_id=target.flow_id, to=None, actor=actor, seen_live=target.seen_live
            )
        if not published.changed:
            await self._say(
                click.channel,
                f"Flow '{target.flow_id}' already is that: version {published.version} is live.",
            )
            return
        await self._say(
            click.channel,
            f"Flow '{target.flow_id}' version {published.version} is live "
            f"(was {published.previous or '-'}); new conversations follow it within seconds.",
        )

    async def _gone_draft(self, target: FlowTarget, draft_id: int) -> str:
        """Why a draft is not there: published already (a retried click), or thrown away."""
        for change in reversed(await self._library.history(flow_id=target.flow_id)):
            if change.action is FlowAction.PUBLISH and change.draft_id == draft_id:
                return (
                    f"Draft {draft_id} of flow '{target.flow_id}' was already published "
                    f"as version {change.to_version}; nothing was changed."
                )
        return f"Nothing was changed: {UnknownDraft(target.flow_id, draft_id)}."

    async def _discard(self, click: FlowClick) -> None:
        target = click.target
        if target.draft_id is None:
            await self._say(click.channel, NO_DRAFT_ON_BUTTON)
            return
        await self._library.discard_draft(
            flow_id=target.flow_id, draft_id=target.draft_id, actor=f"slack:{click.user_id}"
        )
        await self._say(
            click.channel,
            f"Draft {target.draft_id} of flow '{target.flow_id}' is thrown away; "
            "the live version is unchanged.",
        )

    async def _download(self, click: FlowClick) -> None:
        stored = await self._library.stored(flow_id=click.target.flow_id)
        name = f"{click.target.flow_id}-v{stored.definition.version}.yaml"
        await self._client.files_upload_v2(
            channel=click.channel,
            content=flow_yaml(stored.definition),
            filename=name,
            title=name,
        )

    async def _history(self, click: FlowClick) -> None:
        changes = await self._library.history(flow_id=click.target.flow_id)
        lines = [
            f"{change.at:%Y-%m-%d %H:%M} {change.action.value} "
            f"{change.from_version or '-'} → {change.to_version or '-'} by {change.actor}"
            for change in changes[-HISTORY_SHOWN:]
        ]
        await self._say(
            click.channel,
            f"Flow '{click.target.flow_id}', last changes:\n" + "\n".join(lines)
            if lines
            else f"Flow '{click.target.flow_id}' has no recorded changes yet.",
        )
