"""Splitting a month at the effective time of a processed deflexification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ratecard.deflex.effective import (
    Interval,
    effective_time,
    is_flex_billed,
    partition,
    split_month,
)
from ratecard.deflex.workflow import (
    accept_billing_change,
    file_request,
    process,
    submit,
)
from ratecard.errors import DeflexError
from ratecard.periods import Month

from .conftest import ACCOUNT, AGENT, CUSTOMER, at

JULY = Month(2026, 7)
EFFECTIVE = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


def test_mid_month_effective_time_splits_the_month_in_two() -> None:
    assert split_month(JULY, EFFECTIVE) == (
        Interval(JULY.start, EFFECTIVE, "flex"),
        Interval(EFFECTIVE, JULY.end, "standard"),
    )


def test_the_effective_moment_itself_is_standard_billed() -> None:
    assert is_flex_billed(EFFECTIVE - timedelta(microseconds=1), EFFECTIVE)
    assert not is_flex_billed(EFFECTIVE, EFFECTIVE)


def test_no_effective_time_means_flex_billing_all_month() -> None:
    assert split_month(JULY, None) == (Interval(JULY.start, JULY.end, "flex"),)
    assert is_flex_billed(at(31), None)


def test_month_before_the_effective_month_is_all_flex() -> None:
    assert split_month(Month(2026, 6), EFFECTIVE) == (
        Interval(Month(2026, 6).start, JULY.start, "flex"),
    )


def test_month_after_the_effective_month_is_all_standard() -> None:
    august = Month(2026, 8)
    assert split_month(august, EFFECTIVE) == (Interval(august.start, august.end, "standard"),)


def test_effective_at_the_first_instant_of_the_month_is_all_standard() -> None:
    assert split_month(JULY, JULY.start) == (Interval(JULY.start, JULY.end, "standard"),)


def test_effective_at_the_next_month_start_leaves_this_month_flex() -> None:
    assert split_month(JULY, JULY.end) == (Interval(JULY.start, JULY.end, "flex"),)


def test_effective_time_with_an_offset_splits_at_the_same_instant() -> None:
    # 2026-07-31 20:00 at UTC-7 is 2026-08-01 03:00 UTC: July stays all Flex.
    late = datetime(2026, 7, 31, 20, 0, tzinfo=timezone(timedelta(hours=-7)))
    assert split_month(JULY, late) == (Interval(JULY.start, JULY.end, "flex"),)
    (flex, standard) = split_month(Month(2026, 8), late)
    assert flex.end == datetime(2026, 8, 1, 3, 0, tzinfo=UTC)
    assert standard.billing == "standard"


def test_naive_effective_time_is_refused() -> None:
    with pytest.raises(DeflexError, match="no UTC offset"):
        split_month(JULY, datetime(2026, 7, 15))


def test_clip_cuts_a_session_that_straddles_the_effective_time() -> None:
    flex, standard = split_month(JULY, EFFECTIVE)
    start, end = EFFECTIVE - timedelta(hours=2), EFFECTIVE + timedelta(hours=1)
    assert flex.clip(start, end) == (start, EFFECTIVE)
    assert standard.clip(start, end) == (EFFECTIVE, end)
    assert standard.clip(start, EFFECTIVE) is None
    assert flex.contains(start)
    assert not flex.contains(EFFECTIVE)


def test_mid_month_usage_is_partitioned_before_and_after_the_effective_time() -> None:
    # A July with a deflexification effective on the 15th at noon: tasks, engagements and calls
    # before it belong to the Flex plan (tasks and engagements included in the Flex price,
    # voice unbundled); those at or after it are rated on standard billing (each task and
    # engagement billed, standard voice).
    usage = [
        ("task-1", at(3)),
        ("engagement-1", at(14, 23, 59)),
        ("call-1", EFFECTIVE - timedelta(seconds=1)),
        ("task-2", EFFECTIVE),
        ("engagement-2", at(20)),
        ("call-2", at(31, 23, 59)),
    ]
    flex, standard = partition(usage, EFFECTIVE, time=lambda item: item[1])
    assert [name for name, _ in flex] == ["task-1", "engagement-1", "call-1"]
    assert [name for name, _ in standard] == ["task-2", "engagement-2", "call-2"]


def test_only_a_processed_request_has_an_effective_time() -> None:
    draft = file_request(ACCOUNT, "named-user", "stop_billing", CUSTOMER, at(10), [], 150)
    submitted = submit(accept_billing_change(draft, CUSTOMER, at(10, 13)), CUSTOMER, at(10, 14))
    assert effective_time(submitted) is None
    processed = process(submitted, AGENT, at(14), effective=EFFECTIVE)
    assert effective_time(processed) == EFFECTIVE
    assert split_month(JULY, effective_time(processed))[1].start == EFFECTIVE
