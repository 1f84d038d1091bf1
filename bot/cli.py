"""The ``ideabot`` command line."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from enum import StrEnum
from importlib.metadata import version as package_version
from typing import TYPE_CHECKING, Annotated, Any

import typer

# Each command imports the heavy parts (the platforms' libraries, the app's wiring, the
# database, the charts) when it runs: every `ideabot` start, `--help` included, would
# otherwise pay seconds for them (tests/test_cli_start.py keeps it so).
from bot.backlog_cli import ideas_import, ideas_similar
from bot.campaigns_cli import campaigns_app
from bot.cli_support import configure_logging as _configure_logging
from bot.cli_support import existing_database as _existing_database
from bot.cli_support import fail as _fail
from bot.cli_support import guarded as _guarded
from bot.cli_support import run_guarded as _run
from bot.cli_support import say_database as _say_database
from bot.cli_support import settings_or_exit as _settings
from bot.csv_cells import write_csv
from bot.customers_cli import customers_app
from bot.flows_cli import flows_app
from bot.report_cli import report
from bot.shutdown import run_to_the_end
from handlers.ideas.status import IdeaStatus, MergeChange, StatusChange, parse_status

if TYPE_CHECKING:
    from bot.settings import Settings
    from handlers.ideas.desk import ChangeResult
    from handlers.ideas.digest import Digest
    from handlers.ideas.status import StatusLabels
    from storage.dead_letters import DeadLetter, SqlDeadLetters
    from storage.idea_queries import IdeaFilter

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
# Pretty tracebacks print local variables, and those can hold tokens and message bodies.
app = typer.Typer(
    help="ideabot: talk with customers about their ideas.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings=HELP_OPTIONS,
)
ideas_app = typer.Typer(help="Recorded ideas.", no_args_is_help=True, context_settings=HELP_OPTIONS)
app.add_typer(flows_app, name="flows")
app.add_typer(ideas_app, name="ideas")
app.add_typer(customers_app, name="customers")
app.add_typer(campaigns_app, name="campaigns")
app.command()(report)
ideas_app.command("import")(ideas_import)
ideas_app.command("similar")(ideas_similar)
deadletters_app = typer.Typer(
    help="Updates and events that could not be read or handled, kept aside.",
    no_args_is_help=True,
)
app.add_typer(deadletters_app, name="deadletters")


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"ideabot {package_version('ideabot')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and stop."
        ),
    ] = False,
) -> None:
    """ideabot: talk with customers about their ideas."""


class ExportFormat(StrEnum):
    """The formats ``ideas export`` writes."""

    JSON = "json"
    CSV = "csv"


def _labels(settings: Settings) -> StatusLabels:
    from bot.status_labels import StatusLabelsError, load_status_labels

    try:
        return load_status_labels(settings)
    except StatusLabelsError as error:
        raise _fail(str(error)) from None


@app.command()
def chat() -> None:
    """Talk to the bot as a customer in this terminal (no tokens needed)."""
    from bot.app import chat as run_chat

    settings = _settings()
    _configure_logging(settings, quiet=True)
    _say_database(settings)
    _guarded(lambda: run_chat(settings), settings)


@app.command()
def run() -> None:
    """Serve Telegram and/or Slack (and the HTTP endpoints) as configured."""
    from bot.app import serve

    settings = _settings()
    _configure_logging(settings)
    # A service that swallows a cancel must not keep the process up after the stop.
    _guarded(lambda: run_to_the_end(serve(settings)), settings)


@app.command()
def status() -> None:
    """Show the configuration, whether Telegram and Slack answer, and the outbox's state."""
    from bot.status import status_report

    settings = _settings()
    _configure_logging(settings, quiet=True)
    report = asyncio.run(status_report(settings))
    for line in report.lines:
        typer.echo(line)
    if not report.healthy:
        raise typer.Exit(code=1)


@app.command()
def digest(
    post: Annotated[
        bool, typer.Option("--post", help="Also post it in the Slack staff channel.")
    ] = False,
) -> None:
    """Print the ideas digest since the last scheduled one (what the staff channel gets)."""
    from bot.app import digest_now
    from bot.digest_format import digest_text

    settings = _settings()
    _configure_logging(settings, quiet=True)
    made: list[Digest] = []

    async def build() -> None:
        made.append(await digest_now(settings, post=post))

    _run(build(), settings)
    typer.echo(digest_text(made[0], _labels(settings)))


@app.command()
def migrate() -> None:
    """Apply the database migrations (also done on every start)."""
    from storage.database import create_engine
    from storage.migrate import migrate as apply_migrations

    settings = _settings()
    _configure_logging(settings)

    async def upgrade() -> None:
        engine = create_engine(settings.database_url)
        try:
            await apply_migrations(engine)
        finally:
            await engine.dispose()

    _run(upgrade(), settings)
    typer.echo("database is up to date")


StatusOption = Annotated[
    str | None, typer.Option(help="Only ideas with this status (new, planned, in progress...).")
]
TagOption = Annotated[str | None, typer.Option(help="Only ideas with this tag.")]
SearchOption = Annotated[
    str | None, typer.Option("--search", help="Only ideas whose title or text has these words.")
]
TopOption = Annotated[bool, typer.Option("--top", help="The most requested first.")]


def _ideas(where: IdeaFilter | None = None) -> list[dict[str, Any]]:
    from bot.database_access import open_database
    from storage.idea_queries import export_ideas

    settings = _settings()
    found: list[dict[str, Any]] = []
    if where is not None and where.status is not None:
        status = parse_status(where.status, _labels(settings))
        if status is None:
            raise _fail(f"“{where.status}” is not a status")
        where = replace(where, status=status.value)

    async def read() -> None:
        async with open_database(settings) as sessions:
            found.extend(await export_ideas(sessions, where=where))

    _existing_database(settings)
    _say_database(settings)
    _run(read(), settings)
    return found


@ideas_app.command("list")
def ideas_list(
    status: StatusOption = None,
    tag: TagOption = None,
    search: SearchOption = None,
    top: TopOption = False,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
) -> None:
    """List the recorded ideas, one line each."""
    from storage.idea_queries import IdeaFilter

    ideas = _ideas(IdeaFilter(status=status, tag=tag, text=search, top=top, limit=limit))
    if not ideas:
        typer.echo("no ideas found")
        return
    for idea in ideas:
        customer = idea["customer"]
        tags = " ".join(f"#{tag}" for tag in idea["tags"])
        typer.echo(
            f"#{idea['id']:<5} {idea['status']:<12} {idea['created_at'][:16]}  "
            f"{idea['language']:<3} {len(idea['linked_customers']):>3} linked  "
            f"{customer['platform']}:{customer['name'] or '?':<16} {idea['title']}"
            + (f"  {tags}" if tags else "")
        )


def _shown(answer: dict[str, Any]) -> str:
    value = answer.get("label", answer.get("value"))
    if value is None:
        return "(skipped)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@ideas_app.command("show")
def ideas_show(idea_id: Annotated[int, typer.Argument(help="The idea's number.")]) -> None:
    """Show one idea with all its answers and the conversation."""
    from bot.database_access import open_database
    from storage.idea_queries import idea_with_transcript

    settings = _settings()
    found: list[dict[str, Any]] = []

    async def read() -> None:
        async with open_database(settings) as sessions:
            document = await idea_with_transcript(sessions, idea_id)
            if document is not None:
                found.append(document)

    _existing_database(settings)
    _run(read(), settings)
    if not found:
        raise _fail(f"there is no idea #{idea_id}")
    idea = found[0]
    customer = idea["customer"]
    typer.echo(f"Idea #{idea['id']}: {idea['title']}")
    typer.echo(f"Status:   {idea['status']}")
    if idea["duplicate_of"] is not None:
        typer.echo(f"Merged:   duplicate of #{idea['duplicate_of']}")
    typer.echo(f"Customer: {customer['name']} ({customer['platform']}, {customer['language']})")
    typer.echo(f"Recorded: {idea['created_at']}")
    typer.echo("")
    typer.echo(idea["description"])
    typer.echo("")
    for answer in idea["answers"].values():
        typer.echo(f"- {answer['question']}\n  {_shown(answer)}")
        if answer.get("more"):
            typer.echo(f"  {answer['more']}")
    if idea["attachments"]:
        typer.echo(f"\nAttachments: {len(idea['attachments'])}")
    if idea["tags"]:
        typer.echo("\nTags: " + " ".join(f"#{tag}" for tag in idea["tags"]))
    linked = idea["linked_customers"]
    typer.echo(f"\nLinked customers: {len(linked)} ({idea['votes']} vote(s))")
    for change in idea["status_history"]:
        said = f": {change['message']}" if change["message"] else ""
        typer.echo(
            f"  {change['at'][:16]} {change['from']} → {change['to']} by {change['by']}{said}"
        )
    typer.echo("\nConversation:")
    speakers = {"in": "customer", "out": "bot", "staff": "staff", "note": "note"}
    for message in idea["transcript"]:
        who = speakers.get(message["direction"], message["direction"])
        if message["author"]:
            who = f"{who} ({message['author']})"
        typer.echo(f"  [{message['at'][11:19]}] {who}: {message['text']}")


@ideas_app.command("status")
def ideas_status(
    idea_id: Annotated[int, typer.Argument(help="The idea's number.")],
    status: Annotated[str, typer.Argument(help="new, under review, planned, in progress, ...")],
    message: Annotated[
        str, typer.Option("--message", "-m", help="Words for the customers, with the news.")
    ] = "",
    by: Annotated[str, typer.Option(help="Who made the change, for the history.")] = "",
) -> None:
    """Change an idea's status; every linked customer hears of it (sent by `ideabot run`)."""
    from handlers.ideas.desk import ChangeOutcome

    settings = _settings()
    _configure_logging(settings, quiet=True)
    labels = _labels(settings)
    chosen = parse_status(status, labels)
    if chosen is None:
        names = ", ".join(labels.label(known, "en").lower() for known in IdeaStatus)
        raise _fail(f"“{status}” is not a status; use one of: {names}")
    result = _change(settings, idea_id, chosen, message, by)
    if result.outcome is ChangeOutcome.UNCHANGED:
        typer.echo(f"idea #{idea_id} is already {labels.label(chosen, 'en').lower()}")
        return
    typer.echo(
        f"idea #{idea_id} is now {labels.label(chosen, 'en').lower()}; "
        f"{result.notified} customer(s) will be told"
    )


@ideas_app.command("update")
def ideas_update(
    idea_id: Annotated[int, typer.Argument(help="The idea's number.")],
    message: Annotated[str, typer.Argument(help="What to tell every customer of the idea.")],
    by: Annotated[str, typer.Option(help="Who sends it, for the history.")] = "",
) -> None:
    """Tell every customer linked to an idea something, without changing its status."""
    settings = _settings()
    _configure_logging(settings, quiet=True)
    if not message.strip():
        raise _fail("the message is empty")
    result = _change(settings, idea_id, None, message, by)
    typer.echo(f"idea #{idea_id}: {result.notified} customer(s) will get the update")


def _change(
    settings: Settings, idea_id: int, status: IdeaStatus | None, message: str, by: str
) -> ChangeResult:
    """Apply a status change (or an update, with no status) as ``by``; fail if no such idea."""
    from bot.app import change_idea_status
    from handlers.ideas.desk import ChangeOutcome

    change = StatusChange(
        external_id=f"cli:{uuid.uuid4()}",
        idea_id=idea_id,
        status=status,
        changed_by=by or getpass.getuser(),
        message=message,
    )
    result = _outcome(lambda: change_idea_status(settings, change), settings)
    if result.outcome is ChangeOutcome.NOT_FOUND:
        raise _fail(f"there is no idea #{idea_id}")
    return result


def _outcome(work: Callable[[], Awaitable[ChangeResult]], settings: Settings) -> ChangeResult:
    """Run one idea change to its result, with the command line's error handling."""
    results: list[ChangeResult] = []

    async def apply() -> None:
        results.append(await work())

    _existing_database(settings)
    _run(apply(), settings)
    return results[0]


@ideas_app.command("merge")
def ideas_merge(
    duplicate_id: Annotated[int, typer.Argument(help="The idea that is a duplicate.")],
    original_id: Annotated[int, typer.Argument(help="The idea it is the same as.")],
    by: Annotated[str, typer.Option(help="Who merged them, for the history.")] = "",
) -> None:
    """Merge a duplicate into its original: its customers move there and are told."""
    _merge(MergeChange(f"cli:{uuid.uuid4()}", duplicate_id, by or getpass.getuser(), original_id))


@ideas_app.command("unmerge")
def ideas_unmerge(
    duplicate_id: Annotated[int, typer.Argument(help="The idea that was merged.")],
    by: Annotated[str, typer.Option(help="Who took the merge back.")] = "",
) -> None:
    """Take a merge back: the idea's customers and status return to it."""
    _merge(MergeChange(f"cli:{uuid.uuid4()}", duplicate_id, by or getpass.getuser(), undo=True))


def _merge(change: MergeChange) -> None:
    from bot.app import merge_ideas
    from handlers.ideas.desk import ChangeOutcome

    settings = _settings()
    _configure_logging(settings, quiet=True)
    result = _outcome(lambda: merge_ideas(settings, change), settings)
    outcome = result.outcome
    if outcome is ChangeOutcome.NOT_FOUND:
        raise _fail("there is no such idea")
    if outcome is ChangeOutcome.WORDS_ERASED:
        raise _fail(
            f"idea #{change.original_id} keeps no words since its author's data was erased: "
            "nothing can be merged into it"
        )
    if outcome is ChangeOutcome.UNCHANGED:
        raise _fail(
            f"nothing to undo for idea #{change.duplicate_id}"
            if change.undo
            else "those ideas cannot be merged (the same idea, or one already a duplicate)"
        )
    if change.undo:
        typer.echo(f"idea #{change.duplicate_id} is on its own again")
    else:
        typer.echo(
            f"idea #{change.duplicate_id} is merged into #{change.original_id}; "
            f"{result.notified} customer(s) will be told"
        )


@ideas_app.command("export")
def ideas_export(
    output_format: Annotated[
        ExportFormat,
        typer.Option(
            "--format", help="json (as stored) or csv (for spreadsheets: formulas kept as text)."
        ),
    ] = ExportFormat.JSON,
    status: StatusOption = None,
    tag: TagOption = None,
    search: SearchOption = None,
    top: TopOption = False,
) -> None:
    """Write the ideas (all, or those the filters pick) to standard output as JSON or CSV.

    JSON is written as stored. CSV is for spreadsheets: UTF-8 with a BOM, and a cell that
    begins with = + - @, a tab or a carriage return (after any spaces) gets a ' in front, so
    a spreadsheet shows it as text instead of running it as a formula.
    """
    from storage.idea_queries import IdeaFilter

    ideas = _ideas(IdeaFilter(status=status, tag=tag, text=search, top=top))
    if output_format is ExportFormat.JSON:
        json.dump(ideas, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    columns = [
        "id",
        "title",
        "description",
        "status",
        "problem",
        "frequency",
        "importance",
        "may_contact",
        "email",
        "language",
        "customer_platform",
        "customer_name",
        "customer_id",
        "answers",
        "tags",
        "votes",
        "linked_customers",
        "status_history",
        "created_at",
    ]
    sys.stdout.flush()
    write_csv(
        sys.stdout.buffer,
        columns=columns,
        rows=(
            {
                **idea,
                "customer_platform": idea["customer"]["platform"],
                "customer_name": idea["customer"]["name"],
                "customer_id": idea["customer"]["id"],
                "answers": json.dumps(idea["answers"], ensure_ascii=False),
                "tags": " ".join(idea["tags"]),
                "linked_customers": len(idea["linked_customers"]),
                "status_history": json.dumps(idea["status_history"], ensure_ascii=False),
            }
            for idea in ideas
        ),
    )


IdsArgument = Annotated[
    list[int] | None, typer.Argument(help="The dead letters' numbers (see `list`).")
]
AllOption = Annotated[bool, typer.Option("--all", help="Every dead letter.")]


def _letters(work: Callable[[SqlDeadLetters], Awaitable[Any]]) -> Any:
    from bot.database_access import open_database
    from storage.dead_letters import SqlDeadLetters

    settings = _settings()
    _existing_database(settings)
    done: list[Any] = []

    async def run() -> None:
        async with open_database(settings) as sessions:
            done.append(await work(SqlDeadLetters(sessions)))

    _run(run(), settings)
    return done[0]


def _chosen(ids: list[int] | None, every: bool) -> list[int] | None:
    """The ids asked for (None: all), or a usage error when neither or both were given."""
    if every == bool(ids):
        raise _fail("give the numbers of dead letters, or --all")
    return None if every else ids


@deadletters_app.command("list")
def deadletters_list(
    show: Annotated[
        int | None, typer.Option("--show", help="Also print this one's raw payload.")
    ] = None,
) -> None:
    """List dead letters: number, platform, when, why, size (not the customers' words)."""
    letters: list[DeadLetter] = _letters(lambda store: store.all())
    if not letters:
        typer.echo("no dead letters")
    for letter in letters:
        typer.echo(
            f"#{letter.id:<5} {letter.platform:<9} {letter.created_at:%Y-%m-%d %H:%M}  "
            f"{letter.external_id:<20} {letter.size_bytes:>7} bytes  {letter.reason}"
        )
    if show is not None:
        _print_payload(letters, show)


@deadletters_app.command("show")
def deadletters_show(
    letter_id: Annotated[int, typer.Argument(help="The dead letter's number.")],
) -> None:
    """Print one dead letter's raw payload, as the platform sent it (JSON)."""
    _print_payload(_letters(lambda store: store.all()), letter_id)


def _print_payload(letters: list[DeadLetter], letter_id: int) -> None:
    for letter in letters:
        if letter.id == letter_id:
            typer.echo(json.dumps(json.loads(letter.payload), indent=2, ensure_ascii=True))
            return
    raise _fail(f"there is no dead letter #{letter_id}")


@deadletters_app.command("retry")
def deadletters_retry(ids: IdsArgument = None, every: AllOption = False) -> None:
    """Send dead letters back to be handled by the running `ideabot run` (any process)."""
    chosen = _chosen(ids, every)
    platforms = {letter.id: letter.platform for letter in _letters(lambda store: store.all())}
    done = _letters(lambda store: store.retry(ids=chosen))
    _tell_done("queued again", done=done, chosen=chosen)
    # A letter of a platform this configuration lacks waits; without a word it looks lost.
    for platform in sorted({platforms.get(found, "") for found in done} - _set_up(_settings())):
        if platform:
            typer.echo(
                f"note: {platform} is not set up here; `ideabot run` handles its letters once "
                "it is (`ideabot status` counts them as waiting stored events)"
            )


def _set_up(settings: Settings) -> set[str]:
    """The platforms ``settings`` would run."""
    running = {"telegram"} if settings.telegram_bot_token is not None else set()
    return running | ({"slack"} if settings.slack_bot_token is not None else set())


@deadletters_app.command("drop")
def deadletters_drop(ids: IdsArgument = None, every: AllOption = False) -> None:
    """Delete dead letters for good."""
    chosen = _chosen(ids, every)
    _tell_done("dropped", done=_letters(lambda store: store.drop(ids=chosen)), chosen=chosen)


def _tell_done(done_what: str, *, done: list[int], chosen: list[int] | None) -> None:
    """Name the dead letters acted on; fail for the numbers asked for that were not there."""
    missing = sorted(set(chosen or ()) - set(done))
    if done:
        typer.echo(f"{done_what}: {', '.join(f'#{found}' for found in done)}")
    if missing:
        raise _fail(f"there is no dead letter {', '.join(f'#{absent}' for absent in missing)}")
    if not done:
        typer.echo("no dead letters")


def main() -> None:
    """The console script's entry point."""
    app()
