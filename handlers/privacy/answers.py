"""A customer's number as typed, and the erase-or-keep buttons that carry it, read back typed."""

from __future__ import annotations

import re
from dataclasses import dataclass

# ASCII digits only (str.isdecimal takes ٣ and int() takes "-1", " 1", "1_0"); at most nine,
# as ids are PostgreSQL integers and a longer number names no customer.
_NUMBER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class ErasureAnswer:
    """A press under an erasure's confirmation: erase or keep, and whose data it was for."""

    erase: bool
    customer_id: int


def customer_number(word: str) -> int | None:
    """The customer's number in ``12`` or ``#12``; None for anything else."""
    digits = word.removeprefix("#")
    return int(digits) if _NUMBER.fullmatch(digits) else None


def answer_payload(prefix: str, answer: str, customer_id: int) -> str:
    """A confirmation button's payload: ``<prefix><answer>:<customer id>``."""
    return f"{prefix}{answer}:{customer_id}"


def read_answer(payload: str, *, prefix: str, erase: str, keep: str) -> ErasureAnswer | None:
    """The answer a payload of ``answer_payload`` carries; None if it is not one exactly."""
    if not payload.startswith(prefix):
        return None
    answer, _, number = payload.removeprefix(prefix).partition(":")
    customer_id = None if number.startswith("#") else customer_number(number)
    if answer not in (erase, keep) or customer_id is None:
        return None
    return ErasureAnswer(erase=answer == erase, customer_id=customer_id)
