"""``/ideabot flows stats`` words: what they ask for, and one sentence with the usage if nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.slack.stats_words import STATS_USAGE, StatsQuery, StatsWordsError, stats_query

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("words", "query"),
    [
        ("idea", StatsQuery("idea")),
        ("idea --version 3", StatsQuery("idea", versions=(3,))),
        ("--version 3 idea", StatsQuery("idea", versions=(3,))),
        ("idea --compare 2 3", StatsQuery("idea", versions=(2, 3))),
        ("idea --since 2026-03-01", StatsQuery("idea", since=MARCH)),
        ("idea --compare 2 3 --since 2026-03-01", StatsQuery("idea", (2, 3), MARCH)),
    ],
)
def test_words_that_ask_for_funnels(words: str, query: StatsQuery) -> None:
    assert stats_query(words.split()) == query


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        ("", "name one flow"),
        ("idea spring", "name one flow"),
        ("idea --version", "--version needs a version number such as 2"),
        ("idea --version two", "--version needs a version number such as 2"),
        ("idea --version 0", "--version needs a version number such as 2"),
        ("idea --compare 2", "--compare needs a version number such as 2"),
        # Beyond a database integer: SQLite overflowed, PostgreSQL's int4 would (review R1, F1).
        ("idea --version 2147483648", "--version needs a version number such as 2"),
        ("idea --compare 1 99999999999999999999", "--compare needs a version number such as 2"),
        ("idea --version ²", "--version needs a version number such as 2"),
        ("idea --since 1 March", "--since needs a day such as 2026-03-01"),
        ("idea --since 2026-02-30", "--since needs a day such as 2026-03-01"),
        ("idea --version 2 --version 3", "--version is given twice"),
        ("idea --version 2 --compare 2 3", "give either --version or --compare"),
        ("idea --chart x.png", "--chart is not an option of stats"),
    ],
)
def test_words_that_ask_for_nothing_get_one_sentence_with_the_usage(
    words: str, problem: str
) -> None:
    with pytest.raises(StatsWordsError) as raised:
        stats_query(words.split())
    assert str(raised.value) == f"{problem}; type it as {STATS_USAGE}"
