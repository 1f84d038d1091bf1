"""The ``ideabot campaigns`` commands: invite customers to talk, politely, and count what came."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bot.cli_support import existing_database, fail, run_guarded, settings_or_exit
from bot.flows_cli import admin
from handlers.campaigns.audience import Audience, printable
from handlers.campaigns.campaign import CampaignProblem, NewCampaign
from handlers.flows.loader import load_flows
from handlers.ideas.status import normalize_tag

if TYPE_CHECKING:
    from handlers.campaigns.desk import CampaignDesk, Preview

campaigns_app = typer.Typer(
    help="Invitation campaigns: ask customers to talk, within the respect rules, and count.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
NameArgument = Annotated[str, typer.Argument(help="The campaign's name (`campaigns list`).")]
_Result = TypeVar("_Result")


def _with_desk(work: Callable[[CampaignDesk], Awaitable[_Result]]) -> _Result:
    """Run ``work`` on a campaign desk over the configured database; a problem exits 2."""
    # The app's wiring and the database's parts only when a command runs: every `ideabot`
    # start imports this module (tests/test_cli_start.py).
    from bot.app import campaign_desk, import_flows
    from bot.database_access import open_database
    from storage.database import reading_sessions
    from storage.flows.catalog import SqlFlowCatalog
    from storage.flows.library import SqlFlowLibrary

    settings = settings_or_exit()
    existing_database(settings)
    flows = load_flows(settings.flows_path)
    done: list[_Result] = []

    async def run() -> None:
        async with (
            open_database(settings) as sessions,
            reading_sessions(settings.database_url, sessions) as reads,
        ):
            # As `ideabot run` does at start: the flows folder's files are live flows.
            await import_flows(SqlFlowLibrary(sessions), flows)
            catalog = await SqlFlowCatalog.load(
                sessions=reads, default_flow_id=settings.default_flow
            )
            done.append(await work(campaign_desk(settings, sessions, catalog)))

    try:
        run_guarded(run(), settings)
    except CampaignProblem as problem:
        raise fail(str(problem)) from None
    return done[0]


def _texts(pairs: list[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for pair in pairs:
        language, equals, words = pair.partition("=")
        if not equals or not language.strip():
            raise fail(f"“{pair}” is no text: write --text LANGUAGE=TEXT, e.g. --text en=Hello")
        language = language.strip().casefold()
        if language in texts:
            # The later text would silently replace the earlier: the admin meant one of them.
            raise fail(f"--text gives {language} twice: give each language once")
        texts[language] = words.strip()
    return texts


@campaigns_app.command("create")
def campaigns_create(
    name: NameArgument,
    flow: Annotated[str, typer.Option("--flow", help="The live flow a Start opens.")],
    text: Annotated[
        list[str], typer.Option("--text", help="LANGUAGE=TEXT, the invitation; once a language.")
    ],
    schedule: Annotated[
        str, typer.Option("--schedule", help="now, or e.g. 'monthly 1 mon 10:00'.")
    ] = "now",
    platform: Annotated[list[str] | None, typer.Option("--platform")] = None,
    language: Annotated[list[str] | None, typer.Option("--language")] = None,
    inactive_days: Annotated[
        int | None, typer.Option("--inactive-days", min=1, help="Nothing from them for N days.")
    ] = None,
    follows: Annotated[
        list[int] | None, typer.Option("--follows", help="An idea's number.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="They follow an idea so tagged.")
    ] = None,
    shipped: Annotated[
        bool, typer.Option("--shipped", help="They follow an idea that is done.")
    ] = False,
) -> None:
    """Store a campaign as a draft; `preview` then `start` it."""
    audience = Audience(
        platforms=tuple(platform or ()),
        languages=tuple(language or ()),
        inactive_days=inactive_days,
        follows=tuple(follows or ()),
        # Stored tags are normalised (as `/ideas tag` and Slack's --tag write them).
        tags=tuple(normalize_tag(word) for word in tag or ()),
        shipped=shipped,
    )
    campaign = NewCampaign(
        name=name,
        flow_id=flow,
        texts=_texts(text),
        audience=audience,
        schedule=schedule,
        created_by=admin(),
    )
    _with_desk(lambda desk: desk.create(campaign))
    typer.echo(f"campaign “{name}” stored as a draft: `ideabot campaigns preview {name}` next")


@campaigns_app.command("list")
def campaigns_list() -> None:
    """Every campaign with its state, flow, schedule and audience."""
    campaigns = _with_desk(lambda desk: desk.all())
    if not campaigns:
        typer.echo("no campaigns yet (`ideabot campaigns create`)")
        return
    typer.echo(f"{'name':<20} {'state':<8} {'flow':<12} {'schedule':<22} audience")
    for campaign in campaigns:
        # Stored before `create` refused control characters, a field could move the terminal.
        typer.echo(
            f"{printable(campaign.name):<20} {campaign.state:<8} {printable(campaign.flow_id):<12} "
            f"{printable(campaign.schedule):<22} {printable(campaign.audience.describe())}"
        )


def _print_preview(preview: Preview) -> None:
    size = preview.audience
    typer.echo(f"“{preview.campaign.name}” would invite {size.total} customer(s) now")
    for language, count in sorted(size.by_language.items()):
        written = "" if language in preview.campaign.texts else "  (no text in this language!)"
        typer.echo(f"  {language}: {count}{written}")
    if size.sample:
        typer.echo("for example (customer number, platform, language):")
        for customer_id, platform, language in size.sample:
            typer.echo(f"  {customer_id:>6}  {platform:<9} {language}")


@campaigns_app.command("preview")
def campaigns_preview(name: NameArgument) -> None:
    """How many customers the campaign would invite now, and a few of them; sends nothing."""
    _print_preview(_with_desk(lambda desk: desk.preview(name)))


@campaigns_app.command("start")
def campaigns_start(name: NameArgument) -> None:
    """Start inviting: `ideabot run` sends the invitations, paced, within the respect rules."""
    preview = _with_desk(lambda desk: desk.start(name, actor=admin()))
    typer.echo(
        f"“{name}” started: {preview.audience.total} customer(s) to invite; "
        "`ideabot run` sends them"
    )


@campaigns_app.command("pause")
def campaigns_pause(name: NameArgument) -> None:
    """Stop inviting; invitations not yet sent are dropped and sent again on resume."""
    dropped = _with_desk(lambda desk: desk.pause(name, actor=admin()))
    typer.echo(f"“{name}” paused; {dropped} invitation(s) not yet sent were held back")


@campaigns_app.command("resume")
def campaigns_resume(name: NameArgument) -> None:
    """Invite again where the campaign stopped."""
    _with_desk(lambda desk: desk.resume(name, actor=admin()))
    typer.echo(f"“{name}” resumed")


@campaigns_app.command("stats")
def campaigns_stats(name: NameArgument) -> None:
    """What the campaign came to, per language."""
    campaign, figures = _with_desk(lambda desk: desk.figures(name))
    typer.echo(f"“{campaign.name}” ({campaign.state}), flow {campaign.flow_id}")
    columns = ("invited", "delivered", "started", "finished", "ideas", "opted out")
    typer.echo(f"{'language':<9}" + "".join(f"{column:>11}" for column in columns))
    for row in figures:
        values = (row.invited, row.delivered, row.started, row.finished, row.ideas, row.opted_out)
        typer.echo(f"{row.language:<9}" + "".join(f"{value:>11}" for value in values))
    if len(figures) > 1:
        totals = [
            sum(getattr(row, field) for row in figures)
            for field in ("invited", "delivered", "started", "finished", "ideas", "opted_out")
        ]
        typer.echo(f"{'all':<9}" + "".join(f"{value:>11}" for value in totals))
