"""The ``ideabot flows`` commands: check, push, publish, roll back and read flows."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli_support import existing_database, fail, run_guarded, settings_or_exit
from bot.flow_links import CannotWrite, bot_username, qr_png, refuse_unwritable, write_whole
from handlers.flows.diff import describe_changes
from handlers.flows.export import flow_yaml
from handlers.flows.links import (
    BadSource,
    LinkFigures,
    could_be_flow_id,
    start_link,
    telegram_link,
)
from handlers.flows.loader import FlowFileError, LoadedFlow, load_flows
from handlers.flows.schema import FlowDefinition
from handlers.flows.upload import clash
from handlers.flows.versions import (
    LARGEST_VERSION,
    FlowChange,
    FlowDraft,
    FlowLibraryError,
    Published,
    UnknownFlow,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from handlers.ports import FlowLibrary

flows_app = typer.Typer(
    help="Question flows: what customers are asked, its versions and their history.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

NameArgument = Annotated[str, typer.Argument(help="The flow's id (`ideabot flows list`).")]
VersionOption = Annotated[
    int | None,
    typer.Option(
        "--version", min=1, max=LARGEST_VERSION, help="This version instead of the live one."
    ),
]


def admin() -> str:
    """Who the audit trail names for a change made on this command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        # A container may run as a user id with no name.
        return "cli:unknown"


def _checked(path: Path) -> list[LoadedFlow]:
    """The flows in ``path``; every problem printed with its line, and exit 1, if any."""
    try:
        flows = load_flows(path)
    except FlowFileError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        count = len(error.problems)
        typer.echo(f"{count} problem{'s' if count != 1 else ''} found", err=True)
        raise typer.Exit(code=1) from None
    for flow in flows:
        for note in flow.notes:
            typer.echo(str(note), err=True)
    return flows


def _with_database(
    work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[Any]],
    *,
    reading: bool = True,
    only_reads: bool = False,
) -> Any:
    """Run ``work`` on the configured database; one-line errors end the command.

    With ``only_reads``, SQLite is read without its write lock, so a long read does not
    hold up a running bot's writes.
    """
    # The database's parts are imported by the commands that use it, not by `ideabot`'s
    # every start (tests/test_cli_start.py).
    from bot.database_access import open_database
    from storage.database import reading_sessions

    settings = settings_or_exit()
    if reading:
        existing_database(settings)
    done: list[Any] = []

    async def run() -> None:
        async with open_database(settings) as sessions:
            if not only_reads:
                done.append(await work(sessions))
                return
            async with reading_sessions(settings.database_url, sessions) as reads:
                done.append(await work(reads))

    run_guarded(run(), settings)
    return done[0]


def _with_library(work: Callable[[FlowLibrary], Awaitable[Any]], *, reading: bool = True) -> Any:
    """Run ``work`` on the configured database's flows; one-line errors end the command."""
    from storage.flows.library import SqlFlowLibrary

    return _with_database(lambda sessions: work(SqlFlowLibrary(sessions)), reading=reading)


def _said(published: Published, *, verb: str) -> str:
    if not published.changed:
        return f"flow '{published.flow_id}' is unchanged: version {published.version} is live"
    before = "not published" if published.previous is None else f"was {published.previous}"
    return f"flow '{published.flow_id}' {verb} version {published.version} ({before})"


@flows_app.command("validate")
def flows_validate(
    path: Annotated[Path | None, typer.Argument(help="A flow file or a folder of them.")] = None,
) -> None:
    """Check flow files: each problem with its file, line and what to do."""
    for flow in _checked(path or settings_or_exit().flows_path):
        definition = flow.definition
        typer.echo(
            f"{flow.source}: ok (flow '{definition.id}', {len(definition.steps)} steps, "
            f"languages {', '.join(definition.languages)})"
        )


@flows_app.command("list")
def flows_list() -> None:
    """Each flow with its live version, who published it and when."""
    summaries = _with_library(lambda library: library.summaries())
    if not summaries:
        typer.echo("no flows are published")
    for flow in summaries:
        drafts = f", {flow.drafts} draft{'s' if flow.drafts != 1 else ''}" if flow.drafts else ""
        typer.echo(
            f"{flow.flow_id:<16} version {flow.live_version:<4} live since "
            f"{flow.published_at:%Y-%m-%d %H:%M} by {flow.published_by or 'an earlier ideabot'}"
            f" ({flow.versions} version{'s' if flow.versions != 1 else ''}{drafts})"
        )


@flows_app.command("show")
def flows_show(name: NameArgument, version: VersionOption = None) -> None:
    """A flow version's steps, with where it came from; and the flow's drafts."""

    async def read(library: FlowLibrary) -> Any:
        return await library.stored(flow_id=name, version=version), await library.drafts(
            flow_id=name
        )

    stored, drafts = _with_library(read)
    definition: FlowDefinition = stored.definition
    state = "live" if stored.live else "not live"
    typer.echo(
        f"flow '{definition.id}' version {definition.version} ({state}), stored "
        f"{stored.created_at:%Y-%m-%d %H:%M} by {stored.created_by or 'an earlier ideabot'}"
        f"{f' from {stored.source}' if stored.source else ''}"
    )
    language = definition.default_language
    for number, step in enumerate(definition.steps, start=1):
        typer.echo(f"  {number}. {step.id} ({step.kind}): {step.question.get(language, '')}")
    for draft in drafts:
        typer.echo(
            f"draft {draft.draft_id}: {draft.created_at:%Y-%m-%d %H:%M} by {draft.created_by}, "
            f"made when version {draft.based_on} was live"
        )


@flows_app.command("push")
def flows_push(
    file: Annotated[Path, typer.Argument(help="A flow file (.yaml).")],
    draft: Annotated[
        bool, typer.Option("--draft", help="Keep it as a draft; customers do not see it.")
    ] = False,
) -> None:
    """Publish a flow file as the next version (or keep it as a draft)."""
    (flow,) = _checked(file) if file.is_file() else _not_a_file(file)
    flow_id = flow.definition.id

    async def keep_draft(library: FlowLibrary) -> tuple[FlowDefinition | None, FlowDraft]:
        await _refuse_a_clash(library, file.name, flow_id)
        return await _live_of(library, flow_id), await library.draft(flow, actor=admin())

    async def publish(library: FlowLibrary) -> tuple[FlowDefinition | None, Published]:
        await _refuse_a_clash(library, file.name, flow_id)
        return await _live_of(library, flow_id), await library.push(flow, actor=admin())

    if draft:
        live, stored = _with_library(keep_draft, reading=False)
        typer.echo(
            f"flow '{flow_id}' draft {stored.draft_id} is stored; customers see it "
            f"once published: ideabot flows publish {flow_id} --draft-id {stored.draft_id}"
        )
        _echo_changes(live, flow.definition)
        return
    live, published = _with_library(publish, reading=False)
    typer.echo(_said(published, verb="is published as"))
    if published.changed:
        _echo_changes(live, flow.definition)


class FileNamesAnotherFlow(FlowLibraryError):
    """A pushed file named for another flow than the one it says it is."""


async def _refuse_a_clash(library: FlowLibrary, name: str, flow_id: str) -> None:
    """Refuse, as a Slack upload does, a file named for one flow that changes another."""
    existing = {summary.flow_id for summary in await library.summaries()}
    refusal = clash(name, flow_id, existing)
    if refusal is not None:
        raise FileNamesAnotherFlow(refusal)


async def _live_of(library: FlowLibrary, flow_id: str) -> FlowDefinition | None:
    """The flow's live version, or None when it has none yet."""
    try:
        return (await library.stored(flow_id=flow_id)).definition
    except UnknownFlow:
        return None


def _echo_changes(live: FlowDefinition | None, changed: FlowDefinition) -> None:
    """What ``changed`` alters in the live version; a first version has nothing to compare."""
    if live is None:
        return
    lines = describe_changes(live, changed)
    if not lines:
        typer.echo(f"no changes against version {live.version}")
        return
    typer.echo(f"changes against version {live.version}:")
    for line in lines:
        typer.echo(f"  {line}")


def _refuse_unwritable(path: Path) -> None:
    """End the command in one line if ``path`` is plainly no file to write, before any work."""
    try:
        refuse_unwritable(path)
    except CannotWrite as error:
        raise fail(str(error)) from None


def _write(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` whole, or end the command in one line."""
    try:
        write_whole(path, content)
    except CannotWrite as error:
        raise fail(str(error)) from None


def _not_a_file(path: Path) -> list[LoadedFlow]:
    raise fail(f"{path} is not a flow file (give one .yaml file)")


@flows_app.command("publish")
def flows_publish(
    name: NameArgument,
    # Draft ids are database integers as versions are: a larger number names none.
    draft_id: Annotated[
        int | None,
        typer.Option("--draft-id", min=1, max=LARGEST_VERSION, help="Publish this draft."),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(
            "--version", min=1, max=LARGEST_VERSION, help="Make this stored version live again."
        ),
    ] = None,
) -> None:
    """Make a draft the next live version, or a stored version live again."""
    actor = admin()
    if (draft_id is None) == (version is None):
        raise fail("give either --draft-id or --version")
    if draft_id is not None:
        published = _with_library(
            lambda library: library.publish_draft(flow_id=name, draft_id=draft_id, actor=actor)
        )
    else:
        assert version is not None
        published = _with_library(
            lambda library: library.publish_version(flow_id=name, version=version, actor=actor)
        )
    typer.echo(_said(published, verb="is live at"))


@flows_app.command("rollback")
def flows_rollback(
    name: NameArgument,
    to: Annotated[
        int | None, typer.Option("--to", help="This version (else the one before the live one).")
    ] = None,
) -> None:
    """Make an earlier version live again; conversations under way finish theirs."""
    actor = admin()
    published = _with_library(lambda library: library.rollback(flow_id=name, to=to, actor=actor))
    typer.echo(_said(published, verb="is rolled back to"))


def _history_line(change: FlowChange) -> str:
    versions = " → ".join(
        "-" if version is None else str(version)
        for version in (change.from_version, change.to_version)
    )
    draft = f" draft {change.draft_id}" if change.draft_id is not None else ""
    source = f" from {change.source}" if change.source else ""
    return (
        f"{change.at:%Y-%m-%d %H:%M:%S}  {change.action.value:<8} {versions:<9} "
        f"{change.actor}{draft}{source}"
    )


@flows_app.command("history")
def flows_history(name: NameArgument) -> None:
    """Every change of a flow: when, what, which versions, who."""
    changes = _with_library(lambda library: library.history(flow_id=name))
    if not changes:
        typer.echo(f"flow '{name}' has no recorded changes yet")
    for change in changes:
        typer.echo(_history_line(change))


@flows_app.command("stats")
def flows_stats(
    name: NameArgument,
    version: VersionOption = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since", formats=["%Y-%m-%d"], help="Only conversations started on or after (UTC)."
        ),
    ] = None,
    compare: Annotated[
        tuple[int, int] | None,
        typer.Option(
            "--compare",
            min=1,
            max=LARGEST_VERSION,
            help="Two versions side by side (instead of --version).",
        ),
    ] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Also draw the funnel as a PNG to this file.")
    ] = None,
) -> None:
    """Where customers stop: each step's reached, answered and left, finished, handed to staff."""
    from bot.funnel_text import funnel_text, link_lines
    from storage.flows.link_figures import SqlLinkFigures
    from storage.flows.stats import SqlFlowStats

    if compare is not None and version is not None:
        raise fail("give either --version or --compare")
    if chart is not None:
        _refuse_unwritable(chart)
    versions: list[int | None] = [version] if compare is None else list(compare)
    start = since.replace(tzinfo=UTC) if since is not None else None

    async def read(sessions: async_sessionmaker[AsyncSession]) -> Any:
        stats, links = SqlFlowStats(sessions), SqlLinkFigures(sessions)
        funnels = [
            await stats.flow_funnel(name, version=number, since=start) for number in versions
        ]
        figures = [
            await links.figures(flow_id=name, version=funnel.version, since=start)
            for funnel in funnels
        ]
        return funnels, figures

    funnels, figures = _with_database(read, only_reads=True)
    typer.echo(
        "\n\n".join(
            "\n\n".join([funnel_text(funnel), "\n".join(link_lines(links, heading=True))])
            if links
            else funnel_text(funnel)
            for funnel, links in zip(funnels, figures, strict=True)
        )
    )
    if chart is not None:
        # matplotlib takes a second to import: every `ideabot` command would pay it, so only
        # a chart does.
        from bot.flow_chart import funnel_chart_png

        _write(chart, funnel_chart_png(funnels))
        typer.echo(f"chart written to {chart}", err=True)


@flows_app.command("export")
def flows_export(
    name: NameArgument,
    version: VersionOption = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file, not the screen.")
    ] = None,
) -> None:
    """A flow version as a flow file, ready to edit and push."""
    if output is not None:
        _refuse_unwritable(output)
    stored = _with_library(lambda library: library.stored(flow_id=name, version=version))
    text = flow_yaml(stored.definition)
    if output is None:
        typer.echo(text, nl=False)
        return
    _write(output, text.encode("utf-8"))
    typer.echo(f"flow '{name}' version {stored.definition.version} written to {output}", err=True)


def _unknown_flow(name: str) -> typer.Exit:
    """Say there is no live flow of that name (not echoed if it cannot be one); exit 1."""
    named = f"'{name}'" if could_be_flow_id(name) else "of that name"
    typer.echo(
        f"ideabot: there is no live flow {named} (`ideabot flows list` shows them)", err=True
    )
    return typer.Exit(code=1)


@flows_app.command("link")
def flows_link(
    name: NameArgument,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The QR code's PNG file (default: <link>.png in this folder)."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="Where the link goes (poster, receipt): its conversations count apart."
        ),
    ] = None,
) -> None:
    """A live flow's Telegram link, printed, and its QR code written as a PNG to print."""
    from storage.flows.library import SqlFlowLibrary

    if not could_be_flow_id(name):
        raise _unknown_flow(name)
    try:
        link = start_link(name, source)
    except BadSource as error:
        raise fail(str(error)) from None
    path = out if out is not None else Path(f"{link.payload}.png")
    settings = settings_or_exit()
    _refuse_unwritable(path)

    async def read(sessions: async_sessionmaker[AsyncSession]) -> str | None:
        if await _live_of(SqlFlowLibrary(sessions), name) is None:
            return None
        return telegram_link(bot_username=await bot_username(settings), link=link)

    url = _with_database(read)
    if url is None:
        raise _unknown_flow(name)
    _write(path, qr_png(url))
    typer.echo(url)
    typer.echo(f"QR code written to {path}", err=True)


@flows_app.command("links")
def flows_links(
    name: Annotated[str | None, typer.Argument(help="Only this flow's links.")] = None,
) -> None:
    """Per start link: conversations started, finished, and ideas recorded."""
    from bot.funnel_text import link_lines
    from storage.flows.link_figures import SqlLinkFigures

    figures: list[LinkFigures] = _with_database(
        lambda sessions: SqlLinkFigures(sessions).figures(flow_id=name), only_reads=True
    )
    if not figures:
        of_flow = f" of flow '{name}'" if name is not None and could_be_flow_id(name) else ""
        typer.echo(f"no conversations{of_flow} have started from a link yet")
        return
    for line in link_lines(figures, heading=False):
        typer.echo(line)
