"""What an erasure leaves behind: an idea's kept title, the neutral card, the report, digests."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from handlers.ideas.digest import Digest, DigestChange, DigestIdea

# Defined with the idea it names (the desk refuses merges into it); erasures import it here.
from handlers.ideas.status import ERASED_TITLE as ERASED_TITLE
from handlers.staff.room import StaffCard

CUSTOMER_ERASURE = "customer"
RETENTION = "retention"


def kept_title(staff_title: str | None) -> str:
    """The title an idea keeps when its author's words go: staff's own, else the placeholder."""
    return staff_title.strip() if staff_title and staff_title.strip() else ERASED_TITLE


def without_titles(text: str, old_titles: Mapping[str, str | None]) -> str:
    """``text`` with each old title, longest first, replaced by the kept title or placeholder."""
    for old in sorted((title for title in old_titles if title.strip()), key=len, reverse=True):
        text = text.replace(old, old_titles[old] or ERASED_TITLE)
    return text


def erased_card_text(erasure_id: int, conversation_id: int) -> str:
    """The one neutral line a staff card becomes, so its thread stays findable."""
    return f"Conversation {conversation_id}: the customer's data was erased (erasure {erasure_id})."


def report_text(
    erasure_id: int, *, kind: str, removed: Mapping[str, int], links: Sequence[str]
) -> str:
    """The erasure report for staff and admins: what went, and what staff must remove by hand."""
    what = (
        "a customer's data"
        if kind == CUSTOMER_ERASURE
        else "conversations past the retention period"
    )
    counts = ", ".join(
        f"{name.replace('_', ' ')}: {count}" for name, count in sorted(removed.items()) if count
    )
    lines = [f"Erasure {erasure_id}: {what} erased in ideabot and in ideabot's own Slack posts."]
    if counts:
        lines.append(f"Removed: {counts}.")
    if links:
        lines.append(
            "A bot cannot delete staff messages. A workspace admin should delete these by hand:"
        )
        lines.extend(f"• {link}" for link in links)
    else:
        lines.append("No staff messages are left to delete by hand.")
    return "\n".join(lines)


def staff_message_link(*, channel: str, ts: str, thread_ts: str | None) -> str:
    """A link to a message in Slack, built from its channel and ts as Slack's permalinks are."""
    link = f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return f"{link}?thread_ts={thread_ts}&cid={channel}" if thread_ts and thread_ts != ts else link


def digest_without(
    digest: Digest,
    *,
    removed_ideas: Collection[int],
    renamed_ideas: Mapping[int, str],
    conversations: Collection[int],
    old_titles: Mapping[str, str | None],
) -> Digest | None:
    """``digest`` without erased ideas and conversations, kept ideas renamed; None if unchanged.

    Themes name an idea by its title alone: ``old_titles`` maps an old title to the kept one,
    or to None when the idea was removed.
    """

    def ideas(items: list[DigestIdea]) -> list[DigestIdea]:
        return [
            replace(item, title=renamed_ideas.get(item.id, item.title))
            for item in items
            if item.id not in removed_ideas
        ]

    def changes(items: list[DigestChange]) -> list[DigestChange]:
        return [
            replace(item, title=renamed_ideas.get(item.idea_id, item.title))
            for item in items
            if item.idea_id not in removed_ideas
        ]

    cleaned = replace(
        digest,
        new_ideas=ideas(digest.new_ideas),
        most_requested=ideas(digest.most_requested),
        status_changes=changes(digest.status_changes),
        themes=[
            (old_titles.get(name) or name, count)
            for name, count in digest.themes
            if not (name in old_titles and old_titles[name] is None)
        ],
        waiting=[item for item in digest.waiting if item.conversation_id not in conversations],
        duplicates=[
            replace(
                pair,
                first_title=renamed_ideas.get(pair.first_id, pair.first_title),
                second_title=renamed_ideas.get(pair.second_id, pair.second_title),
            )
            for pair in digest.duplicates
            if pair.first_id not in removed_ideas and pair.second_id not in removed_ideas
        ],
    )
    return None if cleaned == digest else cleaned


def card_without(
    card: StaffCard, *, removed_ideas: Collection[int], renamed_ideas: Mapping[int, str]
) -> StaffCard | None:
    """``card`` with erased candidates gone and kept ones renamed; None if unchanged."""
    similar = tuple(
        replace(candidate, title=renamed_ideas.get(candidate.idea_id, candidate.title))
        for candidate in card.similar
        if candidate.idea_id not in removed_ideas
    )
    return None if similar == card.similar else replace(card, similar=similar)
