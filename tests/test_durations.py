"""Durations as people type them (bot.durations), and as deploybot says them (blocks.text)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blocks.text import short_span, span
from bot.durations import LONGEST, SHORTEST, looks_like_a_duration, read_duration


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("30m", 1800),
        ("4h", 4 * 3600),
        ("2d", 2 * 86400),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("  90 min ", 5400),
        ("2D 4H", 2 * 86400 + 4 * 3600),
        ("30m1h", 5400),
        ("1m", 60),
        ("30d", 30 * 86400),
    ],
)
def test_minutes_hours_and_days_are_read_in_any_combination(typed: str, seconds: int) -> None:
    """Units m, min, h and d, in any case and order, with or without spaces, add up."""
    assert read_duration(typed) == (timedelta(seconds=seconds), [])


def test_an_empty_field_is_no_duration_and_no_problem() -> None:
    """Empty (or blank) means "not given": the caller decides what that means."""
    assert read_duration("") == (None, [])
    assert read_duration("   ") == (None, [])


@pytest.mark.parametrize("typed", ["4", "h", "4 hours", "4h!", "-4h", "1.5h", "4w", "four hours"])
def test_anything_else_is_refused_with_examples(typed: str) -> None:
    """A bare number, another unit or extra text is refused, quoting it and showing examples."""
    value, [problem] = read_duration(typed)
    assert value is None
    assert problem == (
        f"`{typed}` is not a duration: write minutes, hours or days, e.g. `30m`, `4h`, `2d` or "
        "`1h30m`."
    )


def test_durations_run_from_one_minute_to_thirty_days() -> None:
    """Under a minute and over 30 days are refused, naming the limit."""
    assert read_duration("0m") == (None, ["`0m` is too short: use at least `1m`."])
    assert read_duration("31d") == (None, ["`31d` is too long: use at most `30d`."])
    assert read_duration("29d 25h") == (None, ["`29d 25h` is too long: use at most `30d`."])
    assert (timedelta(minutes=1), timedelta(days=30)) == (SHORTEST, LONGEST)


def test_a_huge_number_is_refused_without_arithmetic_on_it() -> None:
    """Seven digits and more are not a duration at all: nothing is multiplied out."""
    assert read_duration("99999999999999h")[0] is None


def test_a_word_reads_as_a_duration_only_when_valid() -> None:
    """`/deploy freeze 2h reason`: the first word is a duration only if it reads as one."""
    assert looks_like_a_duration("2h")
    assert not looks_like_a_duration("hotfix")
    assert not looks_like_a_duration("31d")


def test_durations_are_said_in_words_and_as_typed() -> None:
    """`span` says a duration in words, `short_span` as a user would type it."""
    assert span(4 * 3600) == "4 hours"
    assert span(86400 + 2 * 3600 + 60) == "1 day 2 hours 1 minute"
    assert span(1800) == "30 minutes"
    assert span(59) == "less than a minute"
    assert short_span(5400) == "1h30m"
    assert short_span(2 * 86400) == "2d"


@given(st.integers(min_value=1, max_value=30 * 24 * 60))
def test_what_deploybot_shows_reads_back_as_the_same_duration(minutes: int) -> None:
    """Any whole number of minutes in range, shown as typed, is read back unchanged."""
    assert read_duration(short_span(minutes * 60)) == (timedelta(minutes=minutes), [])
