"""Telegram updates (payloads in the Bot API's own format) become the core's IncomingMessage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, Update

from bot.telegram.translate import for_this_bot, to_incoming_message
from bot.telegram.updates import external_id
from handlers.messages import AttachmentKind, ConversationKey, IncomingMessage

PAYLOADS = Path(__file__).parent / "data" / "telegram"
KARI = ConversationKey(platform="telegram", chat_id="111222333", user_id="111222333")
BOT_USERNAME = "ideabot_test_bot"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def translate(name: str, data: dict[str, Any] | None = None) -> IncomingMessage | None:
    data = data or payload(name)
    key = external_id(data, data["update_id"])
    update = Update.de_json(data, Bot("1:unused"))
    return to_incoming_message(update, external_id=key, bot_username=BOT_USERNAME)


def test_private_text() -> None:
    message = translate("private_text")
    assert message == IncomingMessage(
        key=KARI,
        external_id="870311001:message:111222333:52",
        earlier_external_id="870311001",
        text="Mørk modus, takk <b>nå</b>",
        display_name="Kari Nordmann",
        language_code="nb",
        platform_message_id="52",
    )


def test_command_loses_our_name_and_keeps_its_language() -> None:
    message = translate("command_with_bot_name")
    assert message is not None
    assert (message.text, message.language_code) == ("/start", "en-GB")


@pytest.mark.parametrize(
    ("text", "command_length", "for_us"),
    [
        ("/start", 6, "/start"),
        ("/start@ideabot_test_bot", 23, "/start"),
        ("/language@IdeaBot_Test_Bot nb", 26, "/language nb"),
        ("/help@ideabot_test_bot\nplease", 22, "/help\nplease"),
        ("/start@otherbot", 15, None),
        ("/start@ideabot_test_bot_two", 27, None),
        ("Write to kari@example.com", 0, "Write to kari@example.com"),
        ("/start and mail kari@example.com", 6, "/start and mail kari@example.com"),
        # Telegram marks only "/home" as a command: the rest is the customer's words.
        ("/home/kari@work is where the file is", 5, "/home/kari@work is where the file is"),
    ],
)
def test_only_our_name_is_taken_off_a_command(
    text: str, command_length: int, for_us: str | None
) -> None:
    found = for_this_bot(text, command_length=command_length, bot_username=BOT_USERNAME)
    assert found == for_us


def test_without_our_name_known_nothing_is_taken_off() -> None:
    assert for_this_bot("/start@x", command_length=8, bot_username=None) == "/start@x"


def _with_command(name: str, text: str) -> dict[str, Any]:
    data = payload(name)
    data["message"]["text"] = text
    data["message"]["entities"] = [
        {"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}
    ]
    return data


def test_a_command_for_another_bot_in_a_group_is_not_ours() -> None:
    assert translate("group_command", _with_command("group_command", "/start@otherbot")) is None


def test_a_command_for_another_bot_in_our_private_chat_still_reaches_the_core() -> None:
    message = translate("private_text", _with_command("private_text", "/start@otherbot"))
    assert message is not None
    assert message.text == "/start@otherbot"


def test_a_path_with_an_at_sign_is_not_a_command_for_another_bot() -> None:
    text = "/home/kari@work is where the file is"
    data = payload("group_command")
    data["message"]["text"] = text
    data["message"]["entities"] = [{"offset": 0, "length": 5, "type": "bot_command"}]
    message = translate("group_command", data)
    assert message is not None
    assert message.text == text


def test_photo_takes_the_largest_size_and_the_caption() -> None:
    message = translate("photo_with_caption")
    assert message is not None
    assert message.text == "Slik ser det ut nå"
    (photo,) = message.attachments
    assert (photo.kind, photo.file_id, photo.size_bytes) == (
        AttachmentKind.PHOTO,
        "AgACAgQAAxkBAAMlarge",
        48211,
    )


def test_button_press_carries_the_payload_and_the_message() -> None:
    message = translate("callback_query")
    assert message is not None
    assert message.key == KARI
    assert message.button_payload == "frequency:weekly"
    assert (message.button_message_id, message.button_message_text) == (
        "60",
        "Hvor ofte møter du på dette?",
    )


def test_edit_points_at_the_original_message() -> None:
    message = translate("edited_message")
    assert message is not None
    assert message.edited
    assert (message.platform_message_id, message.text) == ("52", "Mørk modus i appen")


def test_group_message_is_marked_as_not_private() -> None:
    message = translate("group_command")
    assert message is not None
    assert not message.is_private_chat
    assert message.key.chat_id == "-1001234567890"


@pytest.mark.parametrize(
    ("name", "kind", "detail"),
    [
        ("sticker", AttachmentKind.STICKER, ("emoji", "👍")),
        ("location", AttachmentKind.LOCATION, ("latitude", 59.913868)),
        ("document", AttachmentKind.DOCUMENT, None),
    ],
)
def test_things_other_than_words_become_attachments(
    name: str, kind: AttachmentKind, detail: tuple[str, object] | None
) -> None:
    message = translate(name)
    assert message is not None
    assert message.text == ""
    (attachment,) = message.attachments
    assert attachment.kind is kind
    if detail is not None:
        assert attachment.details[detail[0]] == detail[1]
    if kind is AttachmentKind.DOCUMENT:
        assert (attachment.file_name, attachment.mime_type) == ("skjerm.pdf", "application/pdf")


def test_channel_posts_are_not_customers() -> None:
    assert translate("channel_post") is None
