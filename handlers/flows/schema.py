"""The schema of a question flow file, checked with pydantic."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)

LocalizedText = dict[str, str]
"""A text in each of the flow's languages, keyed by language code (``en``, ``nb``)."""

StepId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]

# Numbers are strict: YAML reads yes as true and 2.0 as a float, which pydantic would quietly
# turn into 1 and 2. Bounds keep every number within what the database column (a 32-bit
# INTEGER on PostgreSQL) and timedelta can hold.
MAX_VERSION = 1_000_000
# A rating is answered with 1 to 5 stars.
RATING_MIN, RATING_MAX = 1, 5
Rating = Annotated[StrictInt, Field(ge=RATING_MIN, le=RATING_MAX)]
# A year: longer than any reminder makes sense, and finite (.inf is a YAML float).
MAX_HOURS = 24 * 365
Hours = Annotated[StrictFloat, Field(gt=0, le=MAX_HOURS)]

END = "end"
# A step may go here to end the flow and hand the conversation to a person at once.
HUMAN = "human"
"""The step id that means "the flow is over"; no step may be called this."""


class AnswerKind(StrEnum):
    """How a step's answer is given and checked."""

    TEXT = "text"
    CHOICE = "choice"
    YES_NO = "yes_no"
    RATING = "rating"
    EMAIL = "email"


class IdeaField(StrEnum):
    """The idea field an answer fills; ``summary`` gives the idea its title and description."""

    SUMMARY = "summary"
    PROBLEM = "problem"
    FREQUENCY = "frequency"
    IMPORTANCE = "importance"
    MAY_CONTACT = "may_contact"
    EMAIL = "email"


class StrictModel(BaseModel):
    """A schema part that rejects unknown keys, so typos are caught."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ChoiceOption(StrictModel):
    """One option of a choice step."""

    id: StepId
    label: LocalizedText


class ShortAnswerFollowUp(StrictModel):
    """Ask for more when an answer has fewer words than ``min_words``."""

    min_words: StrictInt = Field(ge=1, le=100)
    question: LocalizedText


class KeywordFollowUp(StrictModel):
    """Ask a follow-up question when an answer mentions one of ``keywords``."""

    keywords: list[str] = Field(min_length=1)
    question: LocalizedText


class Branch(StrictModel):
    """Go to ``goto`` when the answer matches every condition given."""

    goto: str
    answer_in: list[str] | None = None
    answer_at_least: Rating | None = None
    answer_at_most: Rating | None = None
    answer_contains: list[str] | None = None

    @model_validator(mode="after")
    def has_a_condition(self) -> Self:
        """A branch without a condition would always be taken; say so."""
        conditions = (
            self.answer_in,
            self.answer_at_least,
            self.answer_at_most,
            self.answer_contains,
        )
        if all(condition is None for condition in conditions):
            raise ValueError(
                "a branch needs a condition: answer_in, answer_at_least, answer_at_most "
                "or answer_contains (use 'next' for where to go otherwise)"
            )
        return self


class Step(StrictModel):
    """One question of a flow and what to do with its answer."""

    id: StepId
    question: LocalizedText
    kind: AnswerKind = AnswerKind.TEXT
    fills: IdeaField | None = None
    optional: bool = False
    choices: list[ChoiceOption] | None = None
    retry: LocalizedText | None = None
    max_attempts: StrictInt = Field(default=3, ge=1, le=10)
    accepts_attachments: bool = False
    follow_up: ShortAnswerFollowUp | None = None
    keyword_follow_ups: list[KeywordFollowUp] = Field(default_factory=list)
    branches: list[Branch] = Field(default_factory=list)
    next: str | None = None

    @model_validator(mode="after")
    def choices_match_kind(self) -> Self:
        """Choices belong to choice steps, and choice steps need at least two."""
        if self.kind is AnswerKind.CHOICE and (self.choices is None or len(self.choices) < 2):
            raise ValueError("a 'choice' step needs a list 'choices' with at least two options")
        if self.kind is not AnswerKind.CHOICE and self.choices is not None:
            raise ValueError(f"'choices' only belong to 'choice' steps, this step is '{self.kind}'")
        if self.follow_up is not None and self.kind is not AnswerKind.TEXT:
            raise ValueError("'follow_up' only works on 'text' steps")
        if self.keyword_follow_ups and self.kind is not AnswerKind.TEXT:
            raise ValueError("'keyword_follow_ups' only work on 'text' steps")
        return self


class FlowEnd(StrictModel):
    """What happens when the last step is answered."""

    record_idea: bool = True
    # Hand the conversation to staff (a card in the staff channel) when the flow ends.
    handoff: bool = True
    thanks: LocalizedText
    next_steps: LocalizedText | None = None


class FlowReminder(StrictModel):
    """A nudge for a customer who stopped halfway, and when the answers become a draft idea."""

    enabled: bool = True
    after_hours: Hours = 24
    # Left this long, the answers so far are kept as a draft idea staff can see.
    draft_after_hours: Hours = 72
    text: LocalizedText | None = None

    @model_validator(mode="after")
    def draft_comes_later(self) -> Self:
        """The reminder must come before the answers are put away as a draft."""
        if self.draft_after_hours <= self.after_hours:
            raise ValueError("draft_after_hours must be longer than after_hours")
        return self


class FlowDefinition(StrictModel):
    """A whole question flow: its identity, languages, steps and end."""

    id: StepId
    # Given by the database when the flow is published; a file's own number only informs.
    version: StrictInt = Field(default=1, ge=1, le=MAX_VERSION)
    name: str = ""
    languages: list[str] = Field(min_length=1)
    default_language: str
    welcome: LocalizedText
    steps: list[Step] = Field(min_length=1)
    end: FlowEnd
    reminder: FlowReminder = Field(default_factory=FlowReminder)

    @property
    def first_step(self) -> Step:
        """The step every conversation of this flow starts with."""
        return self.steps[0]

    def step(self, step_id: str) -> Step:
        """The step called ``step_id``; KeyError if there is none."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def next_after(self, index: int) -> str:
        """The step that follows the one at ``index`` in file order, or the end."""
        return self.steps[index + 1].id if index + 1 < len(self.steps) else END


LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
