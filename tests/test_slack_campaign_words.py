"""Issue 13: ``/ideabot campaigns …`` words read as typed commands, or one sentence each."""

from __future__ import annotations

import pytest

from bot.slack.campaign_admin import (
    CampaignButton,
    CampaignTarget,
    parse_campaign_payload,
)
from bot.slack.campaign_words import (
    MAX_COMMAND_CHARACTERS,
    AskToStart,
    CampaignCommand,
    CampaignStats,
    CampaignWordsError,
    CreateCampaign,
    ListCampaigns,
    PauseCampaign,
    PreviewCampaign,
    ResumeCampaign,
    ShowUsage,
    is_campaigns_command,
    parse_campaigns_command,
)
from handlers.campaigns.audience import Audience

HELLO = {"en": "Got a minute? Tell us one idea."}


def _created(
    texts: dict[str, str] | None = None, schedule: str = "now", **audience: object
) -> CreateCampaign:
    return CreateCampaign(
        name="spring",
        flow_id="idea",
        texts=texts or HELLO,
        audience=Audience(**audience),  # type: ignore[arg-type]
        schedule=schedule,
    )


@pytest.mark.parametrize(
    ("words", "command"),
    [
        ("campaigns", ListCampaigns()),
        ("Campaigns  LIST", ListCampaigns()),
        ("campaigns help", ShowUsage()),
        ("campaigns launch spring", ShowUsage()),
        ("campaigns preview spring", PreviewCampaign("spring")),
        ("campaigns start spring", AskToStart("spring")),
        ("campaigns pause spring", PauseCampaign("spring")),
        ("campaigns resume spring", ResumeCampaign("spring")),
        ("campaigns stats spring", CampaignStats("spring")),
        (
            "campaigns create spring --flow idea --text en=Got a minute? Tell us one idea.",
            _created(),
        ),
        # Quotes are optional; curly ones (as macOS types them) count, apostrophes are text.
        (
            "campaigns create spring --text “en=We'd love one idea --tag x” --flow idea",
            _created({"en": "We'd love one idea --tag x"}),
        ),
        (
            "campaigns create spring --flow idea --text en=Hi --text NB=Hei du "
            "--schedule monthly 1 mon 10:00 until 2027-06-30",
            _created({"en": "Hi", "nb": "Hei du"}, "monthly 1 mon 10:00 until 2027-06-30"),
        ),
        (
            "campaigns create spring --flow idea --text en=Got a minute? Tell us one idea. "
            "--platform Telegram --platform slack --language nb --inactive-days 90 "
            "--follows #12 --follows 12 --tag Dark --tag #ui --shipped",
            _created(
                platforms=("telegram", "slack"),
                languages=("nb",),
                inactive_days=90,
                follows=(12,),
                tags=("dark", "ui"),
                shipped=True,
            ),
        ),
    ],
)
def test_words_that_are_campaign_commands(words: str, command: CampaignCommand) -> None:
    assert parse_campaigns_command(words) == command


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        ("campaigns preview", "Name the campaign: `/ideabot campaigns preview NAME`"),
        ("campaigns start spring autumn", "Give one campaign name"),
        ("campaigns list everything", "list takes no more words"),
        ("campaigns create", "Name the campaign first"),
        ("campaigns create --flow idea", "Name the campaign first"),
        ("campaigns create spring --text en=Hi", "create needs --flow FLOW"),
        ("campaigns create spring --flow", "--flow needs a value"),
        ("campaigns create spring --flow --text en=Hi", "--flow needs a value"),
        ("campaigns create spring --flow idea --flow other", "--flow is given twice"),
        ("campaigns create spring --flow idea --text", "--text needs a value"),
        ("campaigns create spring --flow idea --text Hello", "“Hello” is no text"),
        ("campaigns create spring --flow idea --text english=Hi", "“english” is no language"),
        ("campaigns create spring --flow idea --text en=Hi --text EN=Yo", "en= is given twice"),
        ("campaigns create spring --colour red --flow idea", "“--colour” is not an option"),
        # Within a text, a word like an option that is none is the text's own.
        ("campaigns create spring --text en=Hi --colour red", "create needs --flow"),
        ("campaigns create spring idea", "“idea” is not understood here"),
        ("campaigns create spring --flow idea --platform fax", "“fax” is no platform"),
        ("campaigns create spring --flow idea --language <!channel>", "is no language code"),
        ("campaigns create spring --flow idea --inactive-days 0", "is no number of days"),
        ("campaigns create spring --flow idea --inactive-days -3", "is no number of days"),
        ("campaigns create spring --flow idea" + " --inactive-days 9" * 2, "is given twice"),
        # A tag is one word: the next is no option's.
        ("campaigns create spring --flow idea --tag Dark Mode", "“Mode” is not understood"),
        ("campaigns create spring --flow idea --inactive-days " + "9" * 3000, "is no number"),
        ("campaigns create spring --flow idea --follows 2147483648", "is no idea number"),
        ("campaigns create spring --flow idea --follows \u0663", "is no idea number"),
        ("campaigns create spring --flow idea --shipped --shipped", "--shipped is given twice"),
        ("campaigns create spring --flow idea" + " --tag t" * 21, "more than 20 times"),
        ("campaigns " + "x" * MAX_COMMAND_CHARACTERS, "keep it to 4000"),
        ("campaigns create spring --flow idea --" + "x" * 3000, "“--xxxxxxx"),
    ],
)
def test_each_bad_input_gets_one_sentence(words: str, problem: str) -> None:
    with pytest.raises(CampaignWordsError) as raised:
        parse_campaigns_command(words)
    said = str(raised.value)
    assert problem in said
    assert said.endswith("nothing was changed (`/ideabot campaigns help` shows how to write it).")
    assert said.count("\n") == 0
    assert len(said) < 400


@pytest.mark.parametrize(
    ("words", "about"),
    [
        ("campaigns", True),
        ("  CAMPAIGNS list", True),
        ("campaign list", False),
        ("customers find x", False),
        ("", False),
    ],
)
def test_which_words_are_about_campaigns(words: str, about: bool) -> None:
    assert is_campaigns_command(words) is about


@pytest.mark.parametrize(
    ("payload", "target"),
    [
        (
            CampaignTarget(CampaignButton.CONFIRM, 3, "spring").payload,
            CampaignTarget(CampaignButton.CONFIRM, 3, "spring"),
        ),
        ("campaigns:start:3:spring", CampaignTarget(CampaignButton.START, 3, "spring")),
        ("campaigns:cancel:3:spring", CampaignTarget(CampaignButton.CANCEL, 3, "spring")),
        ("campaigns:launch:3:spring", None),
        ("campaigns:confirm:abc:spring", None),
        ("campaigns:confirm:0:spring", None),
        ("campaigns:confirm:-3:spring", None),
        ("campaigns:confirm:\u0663:spring", None),
        ("campaigns:confirm:2147483648:spring", None),
        ("campaigns:confirm:" + "9" * 5000 + ":spring", None),
        ("campaigns:confirm:3:", None),
        ("campaigns:confirm:3:spring:autumn", None),
        ("campaigns:confirm", None),
        ("customers:erase:3", None),
    ],
)
def test_button_payloads_read_back_only_as_written(
    payload: str, target: CampaignTarget | None
) -> None:
    assert parse_campaign_payload(payload) == target
