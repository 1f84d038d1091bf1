"""What a draft changes: short lines naming steps by id, for the push output and Slack."""

from __future__ import annotations

import pytest

from handlers.flows.diff import describe_changes
from handlers.flows.loader import parse_flow
from handlers.flows.schema import FlowDefinition
from tests.conftest import SHIPPED_FLOWS

SHIPPED = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
EMAIL_STEP = SHIPPED[SHIPPED.index("  - id: email") : SHIPPED.index("# A customer who stops")]


def flow(text: str) -> FlowDefinition:
    return parse_flow(text, source="idea.yaml").definition


def edited(*replacements: tuple[str, str]) -> FlowDefinition:
    """The shipped flow with each ``(old, new)`` replaced once, checked like a pushed file."""
    text = SHIPPED
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return flow(text)


@pytest.mark.parametrize(
    ("draft", "changes"),
    [
        pytest.param(edited(), [], id="nothing"),
        pytest.param(
            flow(SHIPPED).model_copy(update={"version": 9}),
            [],
            id="the version number alone",
        ),
        pytest.param(
            edited(("What problem would it solve for you?", "Which problem would this fix?")),
            ["step 'problem': question reworded (en)"],
            id="reworded in one language",
        ),
        pytest.param(
            edited(
                ("Hvor ofte møter du på dette?", "Hvor ofte skjer dette?"),
                ("How often do you run into this?", "How often does it happen?"),
            ),
            ["step 'frequency': question reworded (en, nb)"],
            id="reworded in both",
        ),
        pytest.param(
            edited(
                ("        label: {en: Now and then, nb: Av og til}\n", ""),
                (
                    "      - id: rarely\n",
                    "      - id: yearly\n        label: {en: Yearly, nb: Årlig}\n",
                ),
                ("label: {en: Every week, nb: Hver uke}", "label: {en: Weekly, nb: Hver uke}"),
            ),
            ["step 'frequency': choices added yearly; removed rarely; relabelled weekly"],
            id="choices",
        ),
        pytest.param(
            edited(("kind: rating", "kind: text")),
            ["step 'importance': kind rating → text"],
            id="kind",
        ),
        pytest.param(
            edited(('answer_in: ["yes"]', 'answer_in: ["no"]')),
            ["step 'contact': branches changed"],
            id="branch condition",
        ),
        pytest.param(
            edited(("    optional: true\n", "")),
            ["step 'email': optional changed"],
            id="another setting",
        ),
        pytest.param(
            edited(
                ("        goto: email\n    next: end\n", "        goto: end\n    next: end\n"),
                (EMAIL_STEP, ""),
            ),
            ["step 'email' removed", "step 'contact': branches changed"],
            id="step removed",
        ),
        pytest.param(
            edited(
                (
                    "  - id: importance\n",
                    "  - id: budget\n    question: {en: What budget, nb: Hvilket budsjett}\n\n"
                    "  - id: importance\n",
                )
            ),
            ["step 'budget' added"],
            id="step added",
        ),
        pytest.param(
            edited(("Hi! We build our product", "Hello! We build our product")),
            ["welcome text changed (en)"],
            id="welcome",
        ),
        pytest.param(
            edited(
                ("Thank you! Your idea is recorded.", "Thanks, noted!"),
                ("Teamet vårt leser hver idé", "Teamet leser hver idé"),
            ),
            ["closing text changed (en, nb)"],
            id="closing texts",
        ),
        pytest.param(
            edited(("  record_idea: true\n", "  record_idea: true\n  handoff: false\n")),
            ["at the end: record idea True, hand to staff False"],
            id="end",
        ),
        pytest.param(
            edited(("  after_hours: 24\n", "  after_hours: 12\n")),
            ["reminder changed"],
            id="reminder",
        ),
    ],
)
def test_describe_changes_names_what_differs(draft: FlowDefinition, changes: list[str]) -> None:
    assert describe_changes(flow(SHIPPED), draft) == changes


def test_steps_moved_are_named_once_in_their_new_order() -> None:
    live = flow(SHIPPED)
    steps = list(live.steps)
    steps[1], steps[2] = steps[2], steps[1]
    moved = live.model_copy(update={"steps": steps})
    assert describe_changes(live, moved) == [
        "steps reordered: idea, frequency, problem, importance, contact, email"
    ]


def test_a_flow_without_a_live_version_is_new() -> None:
    assert describe_changes(None, flow(SHIPPED)) == ["a new flow 'idea' with 6 steps"]


def test_choices_moved_are_reordered() -> None:
    live = flow(SHIPPED)
    frequency = live.step("frequency")
    assert frequency.choices is not None
    turned = frequency.model_copy(update={"choices": frequency.choices[::-1]})
    steps = [turned if step.id == "frequency" else step for step in live.steps]
    assert describe_changes(live, live.model_copy(update={"steps": steps})) == [
        "step 'frequency': choices reordered"
    ]
