"""``ideabot report``: the leadership's report of a month, as an HTML page or posted in Slack."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli_support import existing_database, fail, run_guarded, settings_or_exit
from bot.flow_links import CannotWrite, refuse_unwritable, write_whole

if TYPE_CHECKING:
    from handlers.ideas.report import Month, Report


def _month(words: str | None, *, timezone: str, now: datetime) -> Month:
    from handlers.ideas.report import Month, ReportError

    try:
        return Month.parse(words) if words else Month.last_full(now, timezone)
    except ReportError as error:
        raise fail(str(error)) from None


def report(
    month: Annotated[
        str | None,
        typer.Option(help="The month, YYYY-MM; default: the last full month in TIMEZONE."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write the page; default: report-YYYY-MM.html here."),
    ] = None,
    post: Annotated[
        bool, typer.Option("--post", help="Post its charts in the report's Slack channel.")
    ] = False,
) -> None:
    """Write the leadership's report of a month as one HTML page (and post it with --post)."""
    # The app's wiring only when the command runs: every `ideabot` start imports this module.
    from bot.app import report_desk
    from bot.database_access import open_database
    from handlers.ideas.report import ReportError
    from storage.types import utc_now

    settings = settings_or_exit()
    existing_database(settings)
    chosen = _month(month, timezone=settings.timezone, now=utc_now())
    page = out or Path(f"report-{chosen.key}.html")
    # Before any work: with --post the charts are queued before the page is written.
    try:
        refuse_unwritable(page)
    except CannotWrite as error:
        raise fail(str(error)) from None
    made: list[Report] = []

    async def build() -> None:
        async with open_database(settings) as sessions:
            desk = report_desk(settings, sessions)
            made.append(await desk.post(chosen) if post else await desk.build(chosen))

    try:
        run_guarded(build(), settings)
    except ReportError as error:
        typer.echo(f"ideabot: {error}", err=True)
        raise typer.Exit(code=1) from None
    made_report = made[0]
    if made_report.is_empty:
        typer.echo(f"ideabot: {made_report.nothing_to_report}", err=True)
        raise typer.Exit(code=1)
    # matplotlib takes a second to import: only the command that draws the page pays for it.
    from bot.report_page import report_html

    try:
        write_whole(page, report_html(made_report).encode("utf-8"))
    except CannotWrite as error:
        raise fail(str(error)) from None
    typer.echo(made_report.summary())
    typer.echo(f"Wrote {page}" + ("; the charts are queued for Slack." if post else "."))
