"""The flow engine as plain functions: answers in, state and replies out."""

from __future__ import annotations

import pytest

from handlers.flows.engine import (
    SKIP_VALUE,
    Answer,
    FlowState,
    advance,
    begin,
    parse_answer,
    question,
    revise,
)
from handlers.flows.loader import LoadedFlow, parse_flow
from handlers.flows.schema import END, FlowDefinition

SMALL_FLOW = """
id: small
version: 1
languages: [en, nb]
default_language: en
welcome: {en: "Welcome", nb: "Velkommen"}
steps:
  - id: idea
    fills: summary
    accepts_attachments: true
    question: {en: "Your idea?", nb: "Din idé?"}
    follow_up:
      min_words: 4
      question: {en: "Tell me more?", nb: "Fortell mer?"}
    keyword_follow_ups:
      - keywords: [crash, "stops working"]
        question: {en: "When does it crash?", nb: "Når krasjer det?"}
  - id: often
    kind: choice
    fills: frequency
    question: {en: "How often?", nb: "Hvor ofte?"}
    choices:
      - {id: daily, label: {en: "Every day", nb: "Hver dag"}}
      - {id: rarely, label: {en: "Rarely", nb: "Sjelden"}}
  - id: score
    kind: rating
    fills: importance
    max_attempts: 2
    question: {en: "Score?", nb: "Poeng?"}
    branches:
      - answer_at_least: 4
        goto: contact
    next: end
  - id: contact
    kind: yes_no
    fills: may_contact
    question: {en: "Contact you?", nb: "Kontakte deg?"}
    branches:
      - answer_in: ["yes"]
        goto: email
    next: end
  - id: email
    kind: email
    fills: email
    optional: true
    question: {en: "Email?", nb: "E-post?"}
end:
  thanks: {en: "Thanks", nb: "Takk"}
"""


@pytest.fixture
def flow() -> FlowDefinition:
    loaded: LoadedFlow = parse_flow(SMALL_FLOW, source="small.yaml")
    return loaded.definition


def at(step: str, **answers: object) -> FlowState:
    return FlowState(step=step, answers=dict(answers))  # type: ignore[arg-type]


def test_begin_welcomes_and_asks_the_first_question(flow: FlowDefinition) -> None:
    transition = begin(flow, "nb")
    assert [reply.text for reply in transition.replies] == ["Velkommen", "Din idé?"]
    assert transition.state.step == "idea"


@pytest.mark.parametrize(
    ("step", "text", "expected"),
    [
        ("often", "1", "daily"),
        ("often", "every day", "daily"),
        ("often", "Sjelden", "rarely"),
        ("often", "rarely.", "rarely"),
        ("often", "3", None),
        ("often", "sometimes", None),
        ("often", "²", None),  # a digit to isdigit(), but no number: asked again, no crash
        ("often", "١", "daily"),  # Arabic-Indic one
        ("often", "1" * 5000, None),  # past int()'s 4300 digits (a Slack DM can hold it)
        ("score", "4", 4),
        ("score", "7" * 5000, None),
        ("score", "0" * 4999 + "4", None),
        ("score", "I'd say 5", 5),
        ("score", "6", None),
        ("score", "4 or 5", None),
        ("score", "", None),
        ("contact", "Yes please", True),
        ("contact", "ja", True),
        ("contact", "nei", False),
        ("contact", "maybe", None),
        ("email", "kari@example.no", "kari@example.no"),
        ("email", "kari at example", None),
        ("email", "k" * 300 + "@example.no", None),  # longer than the column holds
        ("email", "k" * 243 + "@example.no", "k" * 243 + "@example.no"),
        ("email", "<a@b.c>", None),
        ("idea", "  dark mode ", "dark mode"),
    ],
)
def test_answers_are_parsed_by_kind(
    flow: FlowDefinition, step: str, text: str, expected: object
) -> None:
    assert parse_answer(flow.step(step), Answer(text=text), flow) == expected


@pytest.mark.parametrize(
    ("answer", "follow_up"),
    [
        ("dark mode", "Tell me more?"),
        ("the export to excel crash every monday", "When does it crash?"),
        ("it stops working when I upload files", "When does it crash?"),
        ("please add a dark mode for the evening", None),
    ],
)
def test_follow_ups_for_short_answers_and_keywords(
    flow: FlowDefinition, answer: str, follow_up: str | None
) -> None:
    transition = advance(flow, at("idea"), Answer(text=answer), "en")
    if follow_up is None:
        assert transition.state.step == "often"
        assert not transition.state.follow_up_asked
    else:
        assert transition.state.step == "idea"
        assert transition.state.follow_up_asked
        assert transition.replies[-1].text == follow_up


def test_follow_up_answer_is_kept_and_the_flow_moves_on(flow: FlowDefinition) -> None:
    asked = advance(flow, at("idea"), Answer(text="dark mode"), "en").state
    moved = advance(flow, asked, Answer(text="for reading at night"), "en")
    assert moved.state.step == "often"
    assert moved.state.answers["idea"] == "dark mode"
    assert moved.state.answers["idea.more"] == "for reading at night"
    assert moved.answered == "idea.more"
    assert [button.label for button in moved.replies[-1].buttons] == ["Every day", "Rarely"]


@pytest.mark.parametrize(
    ("score", "next_step"),
    [("5", "contact"), ("4", "contact"), ("3", END), ("1", END)],
)
def test_branches_on_rating(flow: FlowDefinition, score: str, next_step: str) -> None:
    transition = advance(flow, at("score"), Answer(text=score), "en")
    assert transition.state.step == next_step


@pytest.mark.parametrize(("reply", "next_step"), [("yes", "email"), ("no", END)])
def test_branches_on_yes_no(flow: FlowDefinition, reply: str, next_step: str) -> None:
    assert advance(flow, at("contact"), Answer(button_value=reply), "en").state.step == next_step


def test_invalid_answer_gets_the_retry_text_then_moves_on_at_the_limit(
    flow: FlowDefinition,
) -> None:
    first = advance(flow, at("score"), Answer(text="very"), "en")
    assert first.state.step == "score"
    assert first.state.attempts == 1
    assert first.replies[0].text == "Please answer with a number from 1 to 5."
    assert len(first.replies[0].buttons) == 5
    second = advance(flow, first.state, Answer(text="extremely"), "en")
    assert second.state.step == END
    # Nothing is lost: the words are kept as the answer.
    assert second.state.answers["score"] == "extremely"


def test_optional_step_can_be_skipped_and_required_cannot(flow: FlowDefinition) -> None:
    skipped = advance(flow, at("email"), Answer(button_value=SKIP_VALUE), "en")
    assert skipped.state.step == END
    assert skipped.state.answers["email"] is None
    refused = advance(flow, at("often"), Answer(skip=True), "en")
    assert refused.state.step == "often"
    assert refused.replies[0].text.startswith("This question can't be skipped")


def test_optional_step_shows_a_skip_button(flow: FlowDefinition) -> None:
    buttons = question(flow, at("email"), "nb").buttons
    assert [(button.label, button.payload) for button in buttons] == [
        ("Hopp over", f"email:{SKIP_VALUE}")
    ]


def test_attachment_without_words_is_kept_on_a_step_that_accepts_it(
    flow: FlowDefinition,
) -> None:
    from handlers.messages import Attachment, AttachmentKind

    photo = Attachment(AttachmentKind.PHOTO, file_id="abc")
    kept = advance(flow, at("idea"), Answer(attachments=(photo,)), "en")
    assert kept.state.step == "idea"
    assert kept.state.attachments == (photo,)
    refused = advance(flow, at("often"), Answer(attachments=(photo,)), "en")
    assert refused.state.attachments == ()
    assert "please answer in words" in refused.replies[0].text


def test_finishing_records_an_idea_with_every_answer(flow: FlowDefinition) -> None:
    state = at(
        "email",
        idea="Dark mode. It would help at night",
        often="daily",
        score=5,
        contact=True,
    )
    transition = advance(flow, state, Answer(text="kari@example.no"), "en")
    assert transition.state.finished
    assert transition.replies[-1].text == "Thanks"
    idea = transition.idea
    assert idea is not None
    assert idea.title == "Dark mode."
    assert idea.description == "Dark mode. It would help at night"
    assert (idea.frequency, idea.importance, idea.may_contact, idea.email) == (
        "daily",
        5,
        True,
        "kari@example.no",
    )
    assert idea.answers["often"]["label"] == "Every day"


def test_long_titles_are_cut_on_a_word() -> None:
    from handlers.flows.engine import _title

    title = _title("word " * 40)
    assert len(title) <= 80
    assert title.endswith("…")
    assert not title.endswith(" …")


def test_revise_updates_an_open_answer_and_refuses_invalid_ones(flow: FlowDefinition) -> None:
    state = at("score", idea="dark mode", often="daily")
    assert revise(flow, state, "often", "rarely") == at("score", idea="dark mode", often="rarely")
    assert revise(flow, state, "often", "whenever") is None
    assert revise(flow, state, "score", "5") is None  # not answered yet


def test_state_survives_a_round_trip_through_json(flow: FlowDefinition) -> None:
    state = advance(flow, at("idea"), Answer(text="dark mode"), "en").state
    assert FlowState.from_json(state.to_json()) == state


def test_follow_up_that_an_edit_made_moot_falls_back_to_the_question(
    flow: FlowDefinition,
) -> None:
    asked = advance(flow, at("idea"), Answer(text="dark mode"), "en").state
    revised = revise(flow, asked, "idea", "a dark mode for the app in the evening please")
    assert revised is not None
    assert question(flow, revised, "en").text == "Your idea?"
