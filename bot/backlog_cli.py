"""``ideabot ideas import`` and ``ideabot ideas similar``: a backlog in, and the question out."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from bot.cli_support import configure_logging, existing_database, fail, run_guarded, say_database
from bot.cli_support import settings_or_exit as settings_from_environment

if TYPE_CHECKING:
    from bot.similar_answer import SimilarAnswer, SimilarAnswers
    from storage.idea_import import ImportResult

# Longer than any chat message a customer can send (Slack's limit is 40,000 characters).
LONGEST_TEXT = 40_000
# What an answer to a line that could not be looked up echoes of it.
ECHOED = 200
# The most bytes a line of LONGEST_TEXT characters takes in UTF-8, with its line break.
_LONGEST_LINE_BYTES = LONGEST_TEXT * 4 + 2
_TOO_LONG = f"is longer than {LONGEST_TEXT} characters (no chat message is)"


def ideas_import(
    file: Annotated[
        Path, typer.Argument(help="A JSON list of ideas, or a CSV file with a header.")
    ],
    columns: Annotated[
        str | None,
        typer.Option(
            help="Your file's column for each field, e.g. for Fider's CSV export "
            "id=number,votes=votes_count,created=created_at (fields: id, title, description, "
            "status, votes, created; unnamed ones keep their name)."
        ),
    ] = None,
) -> None:
    """Import ideas from another tool; an idea whose id was imported before is skipped."""
    # The database's parts only when the command runs: every `ideabot` start imports this.
    from bot.backlog_file import BacklogFileError, parse_columns, read_backlog
    from bot.database_access import open_database
    from storage.idea_import import import_ideas

    settings = settings_from_environment()
    configure_logging(settings, quiet=True)
    try:
        backlog = read_backlog(file, columns=parse_columns(columns))
    except BacklogFileError as error:
        raise fail(str(error)) from None
    result: list[ImportResult] = []

    async def store() -> None:
        async with open_database(settings) as sessions:
            result.append(await import_ideas(sessions, backlog.ideas))

    say_database(settings)
    run_guarded(store(), settings)
    (done,) = result
    skipped = backlog.skipped.copy()
    if done.already_there:
        skipped["already imported (the same id)"] += done.already_there
    if done.imported:
        typer.echo(f"imported {done.imported} ideas")
    else:
        typer.echo("imported no ideas: nothing changed")
    for reason, count in sorted(skipped.items(), key=lambda item: (-item[1], item[0])):
        typer.echo(f"skipped {count}: {reason}")


def ideas_similar(
    text: Annotated[
        str | None, typer.Argument(help="An idea as a customer would write it.")
    ] = None,
    stdin: Annotated[
        bool,
        typer.Option(
            "--stdin", help="Read one text a line; write one JSON object a line (JSON Lines)."
        ),
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=50, help="How many candidates staff see.")] = 5,
) -> None:
    """What the bot would ask a customer who wrote TEXT, and the open ideas staff would see."""
    # numpy and the embedding models only when the command runs: every `ideabot` start
    # imports this module.
    from bot.database_access import open_database
    from bot.embeddings.choice import configured_similarity
    from bot.similar_answer import SimilarAnswers
    from storage.dialogue.store import SqlDialogueStore

    if (text is None) == (not stdin):
        raise fail("give one TEXT, or --stdin to read texts one a line")
    if text is not None and line_problem(text) is not None:
        raise fail(f"TEXT {line_problem(text)}")
    settings = settings_from_environment()
    configure_logging(settings, quiet=True)
    existing_database(settings)
    failed: list[int] = []

    async def answer() -> None:
        async with (
            open_database(settings) as sessions,
            configured_similarity(settings) as choice,
        ):
            similar = choice.similar_ideas(settings)
            # A model needs the ideas' vectors: those not stored yet are made now, as the
            # backfill of `ideabot run` would (and kept for it).
            await SqlDialogueStore(sessions, similar).backfill_vectors()
            async with sessions() as session:
                answers = SimilarAnswers(
                    session, similar, threshold=settings.similar_idea_threshold, limit=limit
                )
                if text is not None:
                    _show(await answers.answer(text), threshold=settings.similar_idea_threshold)
                    return
                await _answer_lines(answers, failed)

    run_guarded(answer(), settings)
    if failed:
        typer.echo(
            f'ideabot: {len(failed)} line(s) not looked up (see their "error"): '
            + ", ".join(str(number) for number in failed[:10])
            + (" …" if len(failed) > 10 else ""),
            err=True,
        )
        raise typer.Exit(code=1)


async def _answer_lines(answers: SimilarAnswers, failed: list[int]) -> None:
    """One JSON line per line of standard input; the methods that answered, on standard error."""
    methods: Counter[str] = Counter()
    for number, raw in enumerate(read_lines(sys.stdin.buffer), 1):
        line, problem = decoded(raw)
        if problem is None:
            answer = await answers.answer(line)
            methods[answer.method] += 1
            document = answer.to_json()
        else:
            failed.append(number)
            document = _unanswered(line, f"line {number} {problem}")
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    for method, count in methods.most_common():
        typer.echo(f"ideabot: {count} line(s) answered by the {method} method", err=True)


def read_lines(stream: BinaryIO) -> Iterable[bytes]:
    """The stream's lines without their breaks; one longer than any text is cut, not held whole."""
    while raw := stream.readline(_LONGEST_LINE_BYTES + 1):
        if len(raw) > _LONGEST_LINE_BYTES and not raw.endswith(b"\n"):
            # The rest of the line is read in pieces and dropped: a gigabyte line costs no memory.
            while (rest := stream.readline(_LONGEST_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
        yield raw.rstrip(b"\r\n")


def decoded(raw: bytes) -> tuple[str, str | None]:
    """A line of standard input as text, and why it cannot be looked up (None when it can)."""
    if len(raw) > _LONGEST_LINE_BYTES:
        return raw[: ECHOED * 4].decode("utf-8", errors="replace"), _TOO_LONG
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), "is not UTF-8 text"
    return line, line_problem(line)


def line_problem(text: str) -> str | None:
    """Why ``text`` is no idea to look up, or None."""
    if not text.strip():
        return "is empty"
    if len(text) > LONGEST_TEXT:
        return _TOO_LONG
    if any(ord(character) < 32 and character not in "\t\n" for character in text):
        return "holds control characters (binary data, not text)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not UTF-8 text"
    return None


def _unanswered(line: str, problem: str) -> dict[str, object]:
    shown = line if len(line) <= ECHOED else line[: ECHOED - 1] + "…"
    # Keep the line's place in the output: one object a line, and say why it has no answer.
    shown = shown.encode("utf-8", errors="replace").decode("utf-8")
    return {"text": shown, "offer": None, "candidates": [], "error": problem}


def _show(answer: SimilarAnswer, *, threshold: float) -> None:
    from storage.similar_ideas import LEXICAL

    if answer.offer is not None:
        typer.echo(
            f"The customer is asked: is your idea the same as «{answer.offer.title}»? "
            f"(#{answer.offer.idea_id}, score {answer.offer.score:.2f})"
        )
    elif threshold > 0:
        # A model has its own threshold (SIMILAR_IDEA_SEMANTIC_THRESHOLD).
        reached = (
            f"scores {threshold:.2f} or more" if answer.method == LEXICAL else "is close enough"
        )
        typer.echo(f"The customer is asked nothing (no open idea {reached}): the idea is recorded.")
    else:
        typer.echo(
            "The customer is asked nothing (SIMILAR_IDEA_THRESHOLD is 0: the question is off)."
        )
    if not answer.candidates:
        typer.echo("Staff see no similar open ideas.")
    else:
        typer.echo("Staff see as possibly the same:")
        for candidate in answer.candidates:
            typer.echo(f"  #{candidate.idea_id}  {candidate.score:.2f}  {candidate.title}")
    typer.echo(f"Found by the {answer.method} method.")
