"""A fast path for the common shape of an ingestion request: ``{"events": [...]}`` where every
event is a well-formed ``call`` (or every event a well-formed ``message``).

:func:`decode_batch` decodes and checks such a body straight from its bytes (msgspec, in C)
and gives the events in their stored form (:class:`~ratecard.usage.events.NewEvent`: the
indexed columns and the canonical JSON), without building a pydantic model per event. It
answers ``None`` for ANY body it is not sure about (another event type, a mixed batch, a
time with an offset, surrounding whitespace, a missing or extra field, a float, invalid
JSON, ...): the caller then takes the general path (``json.loads`` and the pydantic models),
which accepts or refuses the body and words every problem exactly as before. So the fast
path never refuses anything and never decides an error message: it only accepts bodies the
general path accepts, with the same result (tested against it, field by field and byte by
byte of the canonical JSON).

What it checks beyond the decoder's types, and why it matches the models: strings must have
no surrounding whitespace (the models strip it; such a body falls back); account sids and
countries are checked once per distinct value with the models' patterns; a time must be UTC
in the canonical form the models write (``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``), so the JSON
encoder, which writes the fields in the models' order, writes the models' canonical JSON;
with a window (:class:`~ratecard.usage.events.TimeWindow`), every time must be inside it;
with a catalog, it must price every event's category in its country. A
body that may hold a control character falls back (:func:`_maybe_control`: any backslash, as
a JSON string holds C0 ones only escaped, or a raw DEL or C1 one), so the ids the models
refuse for one never take this path; a rare id with an escaped quote costs only speed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from ratecard.accounts import ACCOUNT_SID
from ratecard.usage.billable import priced_throughout
from ratecard.usage.events import COUNTRY, MAX_QUANTITY, NewEvent, TimeWindow
from ratecard.usage.metering import METERS, metering

if TYPE_CHECKING:
    from ratecard.catalog import Catalog

_COUNT = Annotated[int, msgspec.Meta(ge=0, le=int(MAX_QUANTITY))]
_ID = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
_NAME = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
_DIRECTION = Literal["inbound", "outbound"]


class _Call(msgspec.Struct, forbid_unknown_fields=True):
    """:class:`~ratecard.usage.events.CallEvent`, fields in the model's order."""

    id: _ID
    account: str
    time: str
    country: str
    type: Literal["call"]
    call_id: _NAME
    direction: _DIRECTION
    number_type: Literal["local", "tollfree", "mobile"]
    duration_seconds: _COUNT


class _Message(msgspec.Struct, forbid_unknown_fields=True):
    """:class:`~ratecard.usage.events.MessageEvent`, fields in the model's order."""

    id: _ID
    account: str
    time: str
    country: str
    type: Literal["message"]
    direction: _DIRECTION
    channel: Literal["longcode", "tollfree", "shortcode", "mms"]
    segments: _COUNT


class _Calls(msgspec.Struct, forbid_unknown_fields=True):
    events: list[_Call]


class _Messages(msgspec.Struct, forbid_unknown_fields=True):
    events: list[_Message]


_DECODERS = (msgspec.json.Decoder(_Calls), msgspec.json.Decoder(_Messages))
_ENCODER = msgspec.json.Encoder()


def decode_batch(
    raw: bytes, window: TimeWindow | None = None, catalog: Catalog | None = None
) -> list[NewEvent] | None:
    """The events of a request body of the common shape, in their stored form, each time in
    ``window`` and each priced by ``catalog`` (:mod:`ratecard.usage.billable`) when they are
    given; ``None`` when the body is anything else (the caller must then take the general
    path, which words the problems)."""
    if _maybe_control(raw):
        return None
    for decoder in _DECODERS:
        try:
            batch = decoder.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            continue
        rows = _stored(batch.events)
        if rows is None:
            return None
        if window is not None and not all(window.start <= r.time <= window.end for r in rows):
            return None
        if catalog is not None and not _priced(batch.events, rows, catalog):
            return None
        return rows
    return None


def _priced(events: list[_Call] | list[_Message], rows: list[NewEvent], catalog: Catalog) -> bool:
    """Whether the catalog prices every event's category in its country, checked once per
    distinct (category, country) for every catalog version in force over the batch."""
    category_of = METERS[events[0].type].category  # a batch is all calls or all messages
    pairs: set[tuple[str, str | None]] = {(category_of(e), e.country) for e in events}
    times = [row.time for row in rows]
    return priced_throughout(catalog, pairs, min(times), max(times))


#: A C1 control character (U+0080 to U+009F) in UTF-8.
_C1 = re.compile(b"\xc2[\x80-\x9f]")


def _maybe_control(raw: bytes) -> bool:
    """Whether a string of ``raw`` may hold a control character, which the models refuse
    in ids: C0 ones only as a JSON escape (so any backslash counts), DEL and C1 ones also
    raw. Byte searches, the regular expression only when a C1 lead byte is there at all."""
    return b"\\" in raw or b"\x7f" in raw or (b"\xc2" in raw and _C1.search(raw) is not None)


def _stored(events: list[_Call] | list[_Message]) -> list[NewEvent] | None:
    if not events:
        return None
    encode = _ENCODER.encode
    rows: list[NewEvent] = []
    append = rows.append
    for event in events:
        ident = event.id
        if ident.strip() != ident:
            return None
        if type(event) is _Call and event.call_id.strip() != event.call_id:
            return None
        moment = _utc(event.time)
        if moment is None:
            return None
        try:
            body = encode(event).decode()
        except UnicodeEncodeError:  # a lone surrogate: the models refuse it
            return None
        append(
            NewEvent(event.account, ident, event.type, moment, body, event.time, metering(event))
        )
    if not all(ACCOUNT_SID.fullmatch(sid) for sid in {row.account for row in rows}):
        return None
    if not all(COUNTRY.fullmatch(code) for code in {event.country for event in events}):
        return None
    return rows


def _utc(text: str) -> datetime | None:
    """The UTC time of ``text`` if it is in the canonical form the models write, else None."""
    if text[-1:] != "Z":
        return None
    iso = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return moment if moment.isoformat() == iso else None
