"""``ideabot run`` with its HTTP port taken: the others stop cleanly and the exit code is 3."""

from __future__ import annotations

import asyncio
import socket

from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import BotFactory
from tests.e2e.test_startup import spawn


async def test_a_taken_port_stops_the_others_cleanly_and_exits_3(
    bot_factory: BotFactory,
) -> None:
    bot: BotProcess = bot_factory()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", bot.port))
        taken.listen()
        await spawn(bot)
        code = await asyncio.wait_for(bot.wait_exit(), 60)
    log = bot.log()
    assert code == 3, log
    assert "ideabot is stopping (http ended)" in log
    assert "Task exception was never retrieved" not in log
    assert "abandoned" not in log
