"""How ideabot's messages look in Slack: escaped text, Block Kit cards and question buttons."""

from __future__ import annotations

import re
from typing import Any

from handlers.ideas.status import IdeaStatus, StatusLabels
from handlers.staff.room import CardActionKind, CardCandidate, StaffCard

# Block Kit limits: a section's text and a button's label and value.
SECTION_LIMIT = 3000
BUTTON_LABEL_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
CARD_ACTION_PREFIX = "staff_"
STATUS_ACTION = "idea_status"
# A Merge button's action id starts so (each is unique on its card); its value is
# "duplicate:original". The Undo button's value is the merged idea.
MERGE_ACTION_PREFIX = "idea_merge_"
UNMERGE_ACTION = "idea_unmerge"
CANDIDATE_TITLE_LIMIT = 80
# Staff read the card in one language; the labels' English names are used there.
STAFF_LANGUAGE = "en"
CUSTOMER_ACTION_PREFIX = "answer_"

_PLATFORM_NAMES = {"telegram": "Telegram", "slack": "Slack", "console": "Console"}
_LANGUAGE_NAMES = {"en": "English", "nb": "Norwegian (bokmål)"}
_REASONS = {
    "idea_recorded": "New idea",
    "customer_asked": "Customer asked for a person",
    "flow_asked": "The flow handed over",
}


# Slack keeps a message that starts with "/" for its own commands, so a customer gives
# ideabot's commands through the app's one: "/privacy" in the bot's words is "/ideabot privacy".
_CUSTOMER_COMMAND = re.compile(
    r"(?<![\w/])/(start|help|cancel|restart|skip|human|language|subscribe|unsubscribe"
    r"|invitations|privacy|mydata|forget)\b"
)


def with_app_command(text: str) -> str:
    """The bot's words to a Slack customer, its commands written as ``/ideabot <command>``."""
    return _CUSTOMER_COMMAND.sub(r"/ideabot \1", text)


def escape(text: str) -> str:
    """Text shown as written: no mentions, @channel, links or markup from ``<``, ``>``, ``&``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(markdown: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(markdown, SECTION_LIMIT)}}


def card_blocks(
    card: StaffCard, labels: StatusLabels | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The card's notification text and blocks; every customer word in it is escaped."""
    name = escape(card.customer_name)
    headline = _REASONS.get(card.reason.value, "Conversation")
    title = escape(card.title) if card.title else "(no idea recorded yet)"
    shown = f"*{title}*"
    if card.staff_title:
        # Staff's own title leads; the customer's words stay beneath it until an erasure.
        title = escape(card.staff_title)
        shown = f"*{title}*\n_{escape(card.title)}_" if card.title else f"*{title}*"
    fallback = f"{headline} from {name}: {title}"
    who = (
        f"*{name}* · {_PLATFORM_NAMES.get(card.platform, card.platform)}"
        f" · {_LANGUAGE_NAMES.get(card.language, card.language)}"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(headline, 150)}},
        _section(f"{who}\n{shown}"),
    ]
    for answer in card.answers:
        blocks.append(_section(f"*{escape(answer.question)}*\n{escape(answer.answer)}"))
    blocks.extend(_similar_blocks(card))
    labels = labels or StatusLabels.default()
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _status(card, labels)}]}
    )
    elements = _card_buttons(card)
    if card.idea_id is not None:
        elements.insert(0, _status_select(card.idea_id, _current(card), labels))
    blocks.append({"type": "actions", "elements": elements})
    return fallback, blocks


def _similar_blocks(card: StaffCard) -> list[dict[str, Any]]:
    """The card's candidates ("possibly the same as"), with Merge buttons while it may merge.

    A merged idea shows an Undo button instead; a decided one shows the candidates only.
    """
    if card.idea_id is None:
        return []
    status = _current(card)
    if status is IdeaStatus.DUPLICATE:
        undo = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Undo merge"},
            "action_id": UNMERGE_ACTION,
            "value": str(card.idea_id),
        }
        return [{"type": "actions", "elements": [undo]}]
    if not card.similar:
        return []
    lines = "\n".join(_candidate_line(candidate) for candidate in card.similar)
    blocks = [_section(f"*Possibly the same as:*\n{lines}")]
    if status not in (IdeaStatus.DONE, IdeaStatus.DECLINED):
        merges = [_merge_button(card.idea_id, candidate) for candidate in card.similar]
        blocks.append({"type": "actions", "elements": merges})
    return blocks


def _candidate_line(candidate: CardCandidate) -> str:
    followers = "1 follower" if candidate.followers == 1 else f"{candidate.followers} followers"
    title = escape(_clip(candidate.title, CANDIDATE_TITLE_LIMIT))
    return f"#{candidate.idea_id} {title} · {followers}"


def _merge_button(idea_id: int, candidate: CardCandidate) -> dict[str, Any]:
    """Merge the card's idea into the candidate; Slack asks first, as customers are told."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": f"Merge into #{candidate.idea_id}"},
        "action_id": f"{MERGE_ACTION_PREFIX}{candidate.idea_id}",
        "value": f"{idea_id}:{candidate.idea_id}",
        "confirm": {
            "title": {"type": "plain_text", "text": "Merge these ideas?"},
            "text": {
                "type": "plain_text",
                "text": _clip(
                    f"Merge this idea #{idea_id} into #{candidate.idea_id}; "
                    "its customers join it and are told.",
                    300,
                ),
            },
            "confirm": {"type": "plain_text", "text": "Merge"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        },
    }


def _current(card: StaffCard) -> IdeaStatus:
    try:
        return IdeaStatus(card.idea_status or IdeaStatus.NEW)
    except ValueError:
        return IdeaStatus.NEW


def _status_select(idea_id: int, current: IdeaStatus, labels: StatusLabels) -> dict[str, Any]:
    """A menu of statuses; each option carries the idea, so a click says what to change."""
    options = [
        {
            "text": {"type": "plain_text", "text": labels.label(status, STAFF_LANGUAGE)},
            "value": f"{idea_id}:{status.value}",
        }
        for status in IdeaStatus
    ]
    return {
        "type": "static_select",
        "action_id": STATUS_ACTION,
        "placeholder": {"type": "plain_text", "text": "Status"},
        "options": options,
        "initial_option": options[list(IdeaStatus).index(current)],
    }


def _status(card: StaffCard, labels: StatusLabels) -> str:
    parts = []
    if card.idea_id is not None:
        status = labels.label(_current(card), STAFF_LANGUAGE)
        parts.append(f"Idea #{card.idea_id} · status: {status}")
    parts.append(f"Closed by {escape(card.closed_by)}" if card.closed else "Open")
    parts.append(
        f"Assigned to {escape(card.assignee)}" if card.assignee else "Nobody has taken it yet"
    )
    if card.tags:
        parts.append(" ".join(f"#{escape(tag)}" for tag in card.tags))
    if card.internal_only:
        parts.append("Internal only: replies are not sent")
    parts.append(
        "Reply in the thread to answer the customer; start with `note:` to keep it internal"
    )
    return " · ".join(parts)


def _card_buttons(card: StaffCard) -> list[dict[str, Any]]:
    value = str(card.conversation_id)
    take = "Let it go" if card.assignee else "I'll take it"
    buttons = [_button(take, CardActionKind.ASSIGN, value)]
    if card.closed:
        buttons.append(_button("Reopen", CardActionKind.REOPEN, value))
    else:
        buttons.append(_button("Close conversation", CardActionKind.CLOSE, value, style="danger"))
    internal = "Reply to customer" if card.internal_only else "Internal only"
    buttons.append(_button(internal, CardActionKind.INTERNAL_ONLY, value))
    return buttons


def _button(label: str, kind: CardActionKind, value: str, style: str = "") -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": CARD_ACTION_PREFIX + kind.value,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def question_blocks(text: str, buttons: list[dict[str, str]]) -> list[dict[str, Any]]:
    """A bot message to a Slack customer: the text, and its choices as buttons."""
    blocks: list[dict[str, Any]] = [_section(escape(text))]
    if buttons:
        elements = [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": _clip(button["label"], BUTTON_LABEL_LIMIT)},
                # Unique per message: Slack refuses two buttons with one action_id.
                "action_id": f"{CUSTOMER_ACTION_PREFIX}{number}",
                "value": button["payload"][:BUTTON_VALUE_LIMIT],
            }
            for number, button in enumerate(buttons)
        ]
        # An actions block holds at most 25 elements.
        for start in range(0, len(elements), 25):
            blocks.append({"type": "actions", "elements": elements[start : start + 25]})
    return blocks
