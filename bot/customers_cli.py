"""The ``ideabot customers`` commands: find a customer, export their data, erase it."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.cli_support import existing_database, fail, run_guarded, settings_or_exit
from bot.flows_cli import admin

if TYPE_CHECKING:
    from handlers.ports import CustomerMatch, ErasureOutcome
    from handlers.privacy.desk import PrivacyDesk

customers_app = typer.Typer(
    help="Customers' data: find a customer, export everything stored about them, erase it.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
IdArgument = Annotated[int, typer.Argument(help="The customer's number (`customers find`).")]
_Result = TypeVar("_Result")


def _with_desk(work: Callable[[PrivacyDesk], Awaitable[_Result]]) -> _Result:
    """Run ``work`` on a privacy desk over the configured database."""
    # The app's wiring only when a command runs: every `ideabot` start imports this module.
    from bot.app import privacy_desk
    from bot.database_access import open_database

    settings = settings_or_exit()
    existing_database(settings)
    done: list[_Result] = []

    async def run() -> None:
        async with open_database(settings) as sessions:
            done.append(await work(privacy_desk(settings, sessions)))

    run_guarded(run(), settings)
    return done[0]


@customers_app.command("find")
def customers_find(
    text: Annotated[str, typer.Argument(help="Part of a name, an e-mail or a platform id.")],
) -> None:
    """List customers whose name, e-mail or platform id contains TEXT."""
    found: list[CustomerMatch] = _with_desk(lambda desk: desk.find(text))
    if not found:
        typer.echo(f"no customer matches “{text}”")
        return
    typer.echo(f"{'id':>6}  {'platform':<9} {'platform id':<16} {'name':<24} conv.  e-mail")
    for match in found:
        typer.echo(
            f"{match.id:>6}  {match.platform:<9} {match.platform_user_id:<16} "
            f"{match.display_name[:24]:<24} {match.conversations:>5}  {', '.join(match.emails)}"
        )


@customers_app.command("export")
def customers_export(
    customer_id: IdArgument,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON to this file (else stdout).")
    ] = None,
) -> None:
    """Write everything stored about one customer as JSON."""
    exported: dict[str, Any] | None = _with_desk(lambda desk: desk.export(customer_id))
    if exported is None:
        raise fail(f"there is no customer {customer_id} (see `ideabot customers find`)")
    text = json.dumps(exported, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    # Personal data: readable by its owner only.
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    typer.echo(f"customer {customer_id}'s data written to {out}", err=True)


@customers_app.command("erase")
def customers_erase(
    customer_id: IdArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
) -> None:
    """Erase one customer's data here and in Slack; leaves an audit entry without it."""
    if not yes:
        if not sys.stdin.isatty():
            raise fail("erasing cannot be undone: add --yes to erase without a terminal")
        typer.confirm(
            f"Erase everything of customer {customer_id}? This cannot be undone", abort=True
        )
    outcome: ErasureOutcome | None = _with_desk(
        lambda desk: desk.erase(customer_id, requested_by=admin())
    )
    if outcome is None:
        raise fail(
            f"there is no customer {customer_id} (erased customers have nothing left to erase)"
        )
    removed = ", ".join(f"{name}: {count}" for name, count in sorted(outcome.removed.items()))
    typer.echo(f"erasure {outcome.erasure_id}: removed {removed}")
    if outcome.remote_steps:
        typer.echo(
            f"{outcome.remote_steps} Slack step(s) queued: `ideabot run` carries them out, "
            "`ideabot status` shows what is left"
        )
    if outcome.could_not:
        typer.echo("staff messages a bot cannot delete (a workspace admin must):")
        for link in outcome.could_not:
            typer.echo(f"  {link}")
