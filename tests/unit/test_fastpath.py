"""The fast path (usage.fastpath.decode_batch) accepts only what the general path accepts and
gives exactly its result: the same columns and, byte for byte, the same canonical JSON."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from event_data import SID, call
from hypothesis import given, settings
from hypothesis import strategies as st

from ratecard.usage.events import CallEvent, MessageEvent, NewEvent, new_event, parse_batch
from ratecard.usage.fastpath import _Call, _Message, decode_batch


def message(n: int, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "id": f"m{n}",
        "account": SID,
        "time": "2026-07-01T09:00:00.250000Z",
        "direction": "inbound",
        "country": "GB",
        "channel": "longcode",
        "segments": 2,
    }
    return event | extra


def general(body: Any) -> list[NewEvent] | None:
    """What the general path stores for ``body`` (None: it refuses the body)."""
    if not isinstance(body, dict) or set(body) != {"events"}:
        return None
    items = body["events"]
    if not isinstance(items, list) or not items:
        return None
    events, problems = parse_batch([(f"events[{i}]", item) for i, item in enumerate(items)])
    return None if problems else [new_event(event) for _, event in events]


def fast(body: Any, ensure_ascii: bool = True) -> list[NewEvent] | None:
    return stored(decode_batch(json.dumps(body, ensure_ascii=ensure_ascii).encode()))


def stored(rows: list[NewEvent] | None) -> list[NewEvent] | None:
    """The rows as the general path gives them: the fast path also keeps each time's text
    (for writing rows as text), which must be the same instant as the time column."""
    if rows is None:
        return None
    for row in rows:
        assert datetime.fromisoformat(row.stamp) == row.time
    return [row._replace(stamp="") for row in rows]


def test_the_fast_structs_list_the_fields_in_the_models_order() -> None:
    # the canonical JSON is the struct's encoding: its field order must be the model's
    assert list(_Call.__struct_fields__) == list(CallEvent.model_fields)
    assert list(_Message.__struct_fields__) == list(MessageEvent.model_fields)


@pytest.mark.parametrize("make", [call, message])
def test_a_batch_of_the_common_shape_gives_exactly_the_general_result(make: Any) -> None:
    body = {"events": [make(n) for n in range(20)]}
    rows = fast(body)
    assert rows is not None
    assert rows == general(body)


@pytest.mark.parametrize(
    "body",
    [
        {"events": [call(1, time="2026-07-01T11:00:00+02:00")]},  # an offset: not canonical
        {"events": [call(1, time="2026-07-01T09:00:00z")]},
        {"events": [call(1, time="2026-07-01T09:00:00.5Z")]},  # the models write .500000
        {"events": [call(1, time="2026-07-01 09:00:00Z")]},
        {"events": [call(1, time="2026-W27-3T09:00:00Z")]},
        {"events": [call(1, time=" 2026-07-01T09:00:00Z")]},
        {"events": [call(1, id=" e1")]},  # the models strip it
        {"events": [call(1, call_id="CA1\n")]},
        {"events": [call(1, account=SID + "\n")]},
        {"events": [call(1, country=" US")]},
        {"events": [call(1, duration_seconds="30")]},  # the models accept a digit string
        {"events": [call(1), message(2)]},  # a mixed batch
        {"events": [call(1, extra="x")]},  # refused by the models: the general path says so
        {"events": [call(1, duration_seconds=1.5)]},
        {"events": [call(1, duration_seconds=True)]},
        {"events": [call(1, duration_seconds=10**12 + 1)]},
        {"events": [call(1, duration_seconds=-1)]},
        {"events": [call(1, account="AC" + "A" * 32)]},
        {"events": [call(1, country="us")]},
        {"events": [call(1, id="")]},
        {"events": [call(1, id="x" * 129)]},
        {"events": [call(1, time="2026-02-30T09:00:00Z")]},
        {"events": [{k: v for k, v in call(1).items() if k != "type"}]},
        {"events": []},
        {"events": [call(1)], "more": 1},
        {"events": {"0": call(1)}},
        [call(1)],
    ],
)
def test_anything_unusual_is_left_to_the_general_path(body: Any) -> None:
    assert fast(body) is None


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"events": [' + json.dumps(call(1)).encode() + b"]} x",
        b'{"events": [' + json.dumps(call(1)).encode() + b"]}".replace(b"}", b", }", 1),
        json.dumps({"events": [call(1)]}).encode("utf-16"),
        b'{"events": [' + json.dumps(call(1), allow_nan=True).replace("1,", "NaN,", 1).encode(),
        json.dumps({"events": [call(1, id="\ud800")]}).encode(),  # a lone surrogate
    ],
)
def test_bodies_that_are_not_plain_valid_json_are_left_to_the_general_path(raw: bytes) -> None:
    assert decode_batch(raw) is None


def test_repeated_keys_are_read_as_json_loads_reads_them_the_last_wins() -> None:
    text = json.dumps({"events": [call(1)]}).replace('"id": "e1"', '"id": "e1", "id": "e2"')
    rows = stored(decode_batch(text.encode()))
    assert rows is not None
    assert rows == general(json.loads(text))
    assert rows[0].event_id == "e2"


# Strings and times chosen to sit on every edge the fast path checks: whitespace the models
# strip (ASCII and not), control characters and quotes the JSON encoders escape, characters
# outside the BMP (lengths in code points), lengths at the limits.
_texts = st.one_of(
    st.text(min_size=0, max_size=6),
    st.text(alphabet=' \t\n\r\x0b\x1c\x85\xa0\u2028\u3000"\\/é😀\x00\x7fAZaz09', max_size=6),
    st.sampled_from(["x" * 128, "x" * 129, "y" * 256, "y" * 257, "😀" * 128, "😀" * 129]),
)
_times = st.one_of(
    st.datetimes(timezones=st.just(None)).map(lambda d: d.isoformat() + "Z"),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        ["2026-07-01T09:00:00Z", "2026-07-01T09:00:00.000001Z", "0001-01-01T00:00:00Z",
         "2026-07-01T24:00:00Z", "2026-07-01T09:00:00.1234567Z", "2026-07-01T09:00Z", "Z"]
    ),
)  # fmt: skip
_counts = st.one_of(
    st.integers(min_value=-2, max_value=10**12 + 2),
    st.sampled_from([0, 10**12, 2**63, 2**64, 1.0, True, "7", None]),
)


@st.composite
def _event(draw: st.DrawFn) -> dict[str, Any]:
    make = draw(st.sampled_from([call, call, call, message]))
    event = make(draw(st.integers(0, 3)))

    def change() -> bool:
        return draw(st.integers(0, 3)) == 0

    for name in ("id", "call_id", "account", "country"):
        if name in event and change():
            event[name] = draw(st.one_of(_texts, st.just(SID), st.just("US")))
    if change():
        event["time"] = draw(_times)
    for name in ("duration_seconds", "segments"):
        if name in event and change():
            event[name] = draw(_counts)
    if draw(st.integers(0, 9)) == 0:
        del event[draw(st.sampled_from(sorted(event)))]
    return event


@settings(max_examples=400, deadline=None)
@given(events=st.lists(_event(), min_size=1, max_size=4), ensure_ascii=st.booleans())
def test_the_fast_path_never_accepts_more_nor_answers_otherwise(
    events: list[dict[str, Any]], ensure_ascii: bool
) -> None:
    body = {"events": events}
    rows = fast(body, ensure_ascii)
    if rows is not None:
        assert rows == general(body)
