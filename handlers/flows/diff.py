"""What a new flow definition changes against the live one, in short lines naming steps by id."""

from __future__ import annotations

from collections.abc import Iterable

from handlers.flows.schema import ChoiceOption, FlowDefinition, LocalizedText, Step

# Step settings described by what they are for; the rest is named as it is in the file.
_SETTINGS_OF_THEIR_OWN = {"id", "question", "kind", "choices", "branches", "next"}


def _languages_differing(old: LocalizedText | None, new: LocalizedText | None) -> list[str]:
    """The languages whose text differs, is added or is removed, sorted."""
    before, after = old or {}, new or {}
    return sorted(
        code for code in before.keys() | after.keys() if before.get(code) != after.get(code)
    )


def _in(languages: Iterable[str]) -> str:
    return ", ".join(languages)


def _choice_changes(old: list[ChoiceOption] | None, new: list[ChoiceOption] | None) -> list[str]:
    """What happened to a step's choices: added, removed, relabelled, reordered."""
    before = {choice.id: choice.label for choice in old or []}
    after = {choice.id: choice.label for choice in new or []}
    kept = [choice_id for choice_id in after if choice_id in before]
    parts = [
        f"{what} {_in(choice_ids)}"
        for what, choice_ids in (
            ("added", [choice_id for choice_id in after if choice_id not in before]),
            ("removed", [choice_id for choice_id in before if choice_id not in after]),
            (
                "relabelled",
                [choice_id for choice_id in kept if before[choice_id] != after[choice_id]],
            ),
        )
        if choice_ids
    ]
    if not parts and kept != [choice_id for choice_id in before if choice_id in after]:
        parts.append("reordered")
    return parts


def _step_changes(old: Step, new: Step) -> list[str]:
    """One line per kind of change to one step that both versions have."""
    lines = []
    if reworded := _languages_differing(old.question, new.question):
        lines.append(f"step '{new.id}': question reworded ({_in(reworded)})")
    if old.kind != new.kind:
        lines.append(f"step '{new.id}': kind {old.kind} → {new.kind}")
    if choices := _choice_changes(old.choices, new.choices):
        lines.append(f"step '{new.id}': choices {'; '.join(choices)}")
    if (old.branches, old.next) != (new.branches, new.next):
        lines.append(f"step '{new.id}': branches changed")
    before = old.model_dump(exclude=_SETTINGS_OF_THEIR_OWN)
    after = new.model_dump(exclude=_SETTINGS_OF_THEIR_OWN)
    if settings := [name for name in after if before[name] != after[name]]:
        lines.append(f"step '{new.id}': {_in(settings)} changed")
    return lines


def _steps_changes(live: FlowDefinition, draft: FlowDefinition) -> list[str]:
    """Steps added, removed, moved and changed, in the draft's order."""
    before = {step.id: step for step in live.steps}
    after = {step.id: step for step in draft.steps}
    lines = [f"step '{step_id}' added" for step_id in after if step_id not in before]
    lines += [f"step '{step_id}' removed" for step_id in before if step_id not in after]
    kept = [step_id for step_id in after if step_id in before]
    if kept != [step_id for step_id in before if step_id in after]:
        lines.append(f"steps reordered: {_in(kept)}")
    for step_id in kept:
        lines += _step_changes(before[step_id], after[step_id])
    return lines


def _flow_changes(live: FlowDefinition, draft: FlowDefinition) -> list[str]:
    """Changes outside the steps: name, languages, welcome, closing texts, end and reminder."""
    lines = []
    if live.name != draft.name:
        lines.append(f"name '{live.name}' → '{draft.name}'")
    if (live.languages, live.default_language) != (draft.languages, draft.default_language):
        lines.append(
            f"languages {_in(live.languages)} (default {live.default_language}) → "
            f"{_in(draft.languages)} (default {draft.default_language})"
        )
    if reworded := _languages_differing(live.welcome, draft.welcome):
        lines.append(f"welcome text changed ({_in(reworded)})")
    closing = _languages_differing(live.end.thanks, draft.end.thanks)
    closing += _languages_differing(live.end.next_steps, draft.end.next_steps)
    if closing:
        lines.append(f"closing text changed ({_in(sorted(set(closing)))})")
    if (live.end.record_idea, live.end.handoff) != (draft.end.record_idea, draft.end.handoff):
        lines.append(
            f"at the end: record idea {draft.end.record_idea}, hand to staff {draft.end.handoff}"
        )
    if live.reminder != draft.reminder:
        lines.append("reminder changed")
    return lines


def describe_changes(live: FlowDefinition | None, draft: FlowDefinition) -> list[str]:
    """Short lines saying what ``draft`` changes against ``live``; empty when nothing does."""
    if live is None:
        return [f"a new flow '{draft.id}' with {len(draft.steps)} steps"]
    return _flow_changes(live, draft) + _steps_changes(live, draft)
